package main

// Hidden commands the Windows installer (packaging/windows/dictum.wxs) runs as custom
// actions. They are plain CLI commands so the MSI stays a table of command lines (wixl,
// the Linux MSI builder, has no UI and no file search), and so their logic is tested here
// on Linux:
//
//	msi-init      first install: `init` on an empty data dir; existing data (an upgrade, or
//	              a reinstall over data an uninstall kept): `migrate`
//	msi-backup    in the OLD package, when a newer one replaces it: backup now + verify
//	              (the .deb's prerm does the same); a failure stops the upgrade
//	msi-rollback  the rollback half of msi-init: when the upgrade fails after msi-init
//	              migrated the data, restore the pre-upgrade backup with the old exe kept
//	              beside it (the .deb's postinst does the same), so the old version that
//	              Windows Installer puts back finds data it can read
//	msi-firewall  add --port N | remove: the inbound rule "Dictum" (netsh, Windows only)
//	msi-finish    the final message box (URL, firm CA, password file); Windows only

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"dictum/internal/buildinfo"
	"dictum/internal/config"
	"dictum/internal/lifecycle"
	"dictum/internal/platform"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// FirewallRuleName is the Windows Firewall rule the MSI adds with OPEN_FIREWALL=1.
const FirewallRuleName = "Dictum"

// msiLog appends a copy of a custom action's output to a log file: Windows Installer
// drops an EXE custom action's stdout and stderr, so without it a failed install would
// say only "a program run as part of the setup did not finish as expected".
func (e *cliEnv) msiLog(path string) func() {
	if path == "" {
		return func() {}
	}
	var buf bytes.Buffer
	out, errOut := e.stdout, e.stderr
	e.stdout = io.MultiWriter(out, &buf)
	e.stderr = io.MultiWriter(errOut, &buf)
	return func() {
		e.stdout, e.stderr = out, errOut
		if buf.Len() == 0 {
			return
		}
		// The data dir may not exist (init failed before making it): fall back to the temp dir
		// (C:\Windows\Temp for the installer's LocalSystem), where msiexec's own logs go too.
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			path = filepath.Join(os.TempDir(), "dictum-"+filepath.Base(path))
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintf(errOut, "dictum: cannot write the installer log %s: %v\n", path, err)
			return
		}
		defer f.Close()
		fmt.Fprintf(f, "---- %s dictum %s\n%s", time.Now().UTC().Format(time.RFC3339), strings.Join(os.Args[1:], " "), buf.Bytes())
	}
}

// msiConfig loads the configuration like every command, except that a missing config file
// is not an error: on a first install `init` writes it.
func (e *cliEnv) msiConfig() (*config.Config, bool, error) {
	exists := true
	if e.configPath != "" {
		if _, err := os.Stat(e.configPath); errors.Is(err, os.ErrNotExist) {
			exists = false
		}
	}
	cfg, warnings, err := config.Load(e.configPath, false, os.Environ())
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "dictum: warning:", w)
	}
	if err != nil {
		return nil, exists, err
	}
	if e.dataDir != "" {
		abs, err := filepath.Abs(e.dataDir)
		if err != nil {
			return nil, exists, fmt.Errorf("--data %s: %w", e.dataDir, err)
		}
		cfg.DataDir = abs
	}
	if err := cfg.Validate(); err != nil {
		return nil, exists, err
	}
	return &cfg, exists, nil
}

// commonArgs are the --config/--data flags to hand on to another command.
func (e *cliEnv) commonArgs(configExists bool) []string {
	var a []string
	if e.configPath != "" && configExists {
		a = append(a, "--config", e.configPath)
	}
	if e.dataDir != "" {
		a = append(a, "--data", e.dataDir)
	}
	return a
}

// cmdMSIInit: init an empty data dir, migrate an existing one.
func (e *cliEnv) cmdMSIInit(args []string) int {
	fs := e.flags("msi-init")
	pwOut := fs.String("admin-password-out", "", "file for the one-time admin password (only Administrators can read it)")
	logFile := fs.String("log", "", "append this command's output to FILE")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	defer e.msiLog(*logFile)()
	if *pwOut == "" {
		return e.fail("msi-init: --admin-password-out is required")
	}
	cfg, configExists, err := e.msiConfig()
	if err != nil {
		return e.fail("msi-init: %v", err)
	}
	// A restore point left by an earlier install must never be rolled back to.
	marker := filepath.Join(cfg.DataDir, restorePointFile)
	if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return e.fail("msi-init: %v", err)
	}
	if _, err := os.Stat(cfg.DBPath()); err == nil {
		fmt.Fprintf(e.stdout, "dictum: %s holds existing data: keeping it and bringing it to this version's schema\n", cfg.DataDir)
		if rp, ok := findRestorePoint(cfg.DataDir, time.Now()); ok {
			if err := os.WriteFile(marker, []byte(rp.Backup+"\n"+rp.Program+"\n"), 0o600); err != nil {
				return e.fail("msi-init: record the restore point: %v", err)
			}
			fmt.Fprintf(e.stdout, "dictum: if this upgrade fails, %s is restored with %s\n", rp.Backup, rp.Program)
		}
		rc := e.cmdMigrate(e.commonArgs(configExists))
		if rc == exitSchemaTooNew {
			fmt.Fprintf(e.stderr, "dictum: the data in %s was written by a newer dictum: this older version cannot use it. "+
				"Nothing was changed; install the newer version again, or restore a backup made by this version.\n", cfg.DataDir)
		}
		return rc
	} else if !errors.Is(err, os.ErrNotExist) {
		return e.fail("msi-init: %v", err)
	}
	fmt.Fprintf(e.stdout, "dictum: first install: initialising %s\n", cfg.DataDir)
	// A missing config file is not handed on (an explicit --config must exist): init then
	// uses the default path, where the Windows build writes the commented default
	// dictum.toml that the service's --config names.
	initArgs := append([]string{"--admin-password-out", *pwOut}, e.commonArgs(configExists)...)
	if !configExists && e.dataDir == "" {
		initArgs = append(initArgs, "--data", cfg.DataDir)
	}
	return e.cmdInit(initArgs)
}

// cmdMSIBackup: the pre-upgrade backup, verified. Run by the old version's exe while the
// service is stopped; the installer stops the upgrade if it exits non-zero.
func (e *cliEnv) cmdMSIBackup(args []string) int {
	fs := e.flags("msi-backup")
	to := fs.String("to", "", "directory for the backup (pre-upgrade-<old version>)")
	logFile := fs.String("log", "", "append this command's output to FILE")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	defer e.msiLog(*logFile)()
	if *to == "" {
		return e.fail("msi-backup: --to is required")
	}
	cfg, _, err := e.msiConfig()
	if err != nil {
		return e.fail("msi-backup: %v", err)
	}
	if _, err := os.Stat(cfg.DBPath()); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stdout, "dictum: no database in %s: nothing to back up before the upgrade\n", cfg.DataDir)
		return 0
	}
	ctx := context.Background()
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return e.fail("the pre-upgrade backup failed: the upgrade is stopped and nothing was changed: %v", err)
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k, CacheMiB: 2, NoMigrate: true})
	if err != nil {
		return e.fail("the pre-upgrade backup failed: the upgrade is stopped and nothing was changed: %v", err)
	}
	defer st.Close()
	if err := os.MkdirAll(*to, 0o700); err != nil {
		return e.fail("the pre-upgrade backup failed: the upgrade is stopped and nothing was changed: %v", err)
	}
	fmt.Fprintf(e.stdout, "dictum: backing up %s into %s before the upgrade\n", cfg.DataDir, *to)
	svc := lifecycle.NewBackups(lifecycle.BackupDeps{Config: cfg, Store: st, Keys: keys, Dir: *to})
	res, err := svc.Run(ctx, cliActor())
	if err != nil {
		return e.fail("the pre-upgrade backup failed: the upgrade is stopped and nothing was changed: %v", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s, %d blobs, audit head %d) in %s\n", res.File, humanBytes(res.Size),
		res.Manifest.Blobs, res.Manifest.AuditHead.ID, res.Took.Round(time.Millisecond))
	if _, err := svc.Verify(ctx, cliActor(), res.File); err != nil {
		return e.fail("the pre-upgrade backup %s does not verify: the upgrade is stopped and nothing was changed: %v", res.File, err)
	}
	fmt.Fprintf(e.stdout, "ok: %s verifies\n", res.File)
	// Like the .deb, keep this version's program beside its backup: restoring the backup
	// with the version that wrote it needs no old MSI.
	if exe, err := os.Executable(); err == nil {
		dst := filepath.Join(*to, "dictum-"+versionSlug()+filepath.Ext(exe))
		if err := platform.CopyFile(exe, dst, 0o700); err != nil {
			fmt.Fprintf(e.stderr, "dictum: warning: could not keep a copy of this dictum in %s: %v\n", dst, err)
		} else {
			fmt.Fprintf(e.stdout, "kept this version's program as %s\n", dst)
		}
	}
	return 0
}

func versionSlug() string {
	v := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' {
			return r
		}
		return '_'
	}, buildinfo.Version)
	if v == "" {
		return "unknown"
	}
	return v
}

// restorePointFile records, for the length of one install, the pre-upgrade backup and the
// old program that can restore it (msi-init writes it, msi-rollback reads it).
const restorePointFile = "msi-restore-point"

type restorePoint struct{ Backup, Program string }

// findRestorePoint is the pre-upgrade backup the old version's msi-backup wrote in this
// upgrade: the newest backups/pre-upgrade-*/ with a backup and the old program, made in
// the last hour (an older one belongs to an earlier upgrade).
func findRestorePoint(dataDir string, now time.Time) (restorePoint, bool) {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "backups", "pre-upgrade-*"))
	var best restorePoint
	var bestAt time.Time
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.backup"))
		progs, _ := filepath.Glob(filepath.Join(d, "dictum-*"))
		prog := ""
		for _, p := range progs {
			if !strings.HasSuffix(p, ".backup") && !strings.HasSuffix(p, ".tmp") {
				prog = p
			}
		}
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil || prog == "" || now.Sub(fi.ModTime()) > time.Hour || !fi.ModTime().After(bestAt) {
				continue
			}
			best, bestAt = restorePoint{Backup: f, Program: prog}, fi.ModTime()
		}
	}
	return best, best.Backup != ""
}

// cmdMSIRollback restores the pre-upgrade backup recorded by msi-init. It runs only when
// Windows Installer rolls back a failed upgrade, with the new service already stopped.
func (e *cliEnv) cmdMSIRollback(args []string) int {
	fs := e.flags("msi-rollback")
	logFile := fs.String("log", "", "append this command's output to FILE")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	defer e.msiLog(*logFile)()
	cfg, configExists, err := e.msiConfig()
	if err != nil {
		return e.fail("msi-rollback: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, restorePointFile))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(e.stdout, "dictum: no restore point recorded by this install: the data is left as it is")
		return 0
	} else if err != nil {
		return e.fail("msi-rollback: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		return e.fail("msi-rollback: %s is not a restore point", restorePointFile)
	}
	rp := restorePoint{Backup: strings.TrimSpace(lines[0]), Program: strings.TrimSpace(lines[1])}
	fmt.Fprintf(e.stdout, "dictum: the upgrade failed: restoring %s with %s\n", rp.Backup, rp.Program)
	// restore --force moves the data dir aside: work from copies outside it.
	tmp, err := os.MkdirTemp("", "dictum-rollback-")
	if err != nil {
		return e.fail("msi-rollback: %v", err)
	}
	defer os.RemoveAll(tmp)
	bak := filepath.Join(tmp, filepath.Base(rp.Backup))
	prog := filepath.Join(tmp, filepath.Base(rp.Program))
	for src, dst := range map[string]string{rp.Backup: bak, rp.Program: prog} {
		if err := platform.CopyFile(src, dst, 0o700); err != nil {
			return e.fail("msi-rollback: the data is left as the failed upgrade left it; restore %s by hand (docs/windows.md, Rolling back): %v", rp.Backup, err)
		}
	}
	restoreArgs := []string{"restore", "--data", cfg.DataDir, "--force"}
	if configExists && e.configPath != "" {
		conf := filepath.Join(tmp, "dictum.toml")
		if err := platform.CopyFile(e.configPath, conf, 0o700); err != nil {
			return e.fail("msi-rollback: %v", err)
		}
		restoreArgs = append(restoreArgs, "--config", conf)
	}
	restoreArgs = append(restoreArgs, bak)
	out, err := runProgram(prog, restoreArgs...)
	fmt.Fprint(e.stdout, out)
	if err != nil {
		return e.fail("msi-rollback: the restore failed (%v): the data is left as the failed upgrade left it; restore %s by hand (docs/windows.md, Rolling back)", err, rp.Backup)
	}
	oldDir := ""
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "the previous data dir was moved to "); ok {
			oldDir = v
		}
	}
	// What a backup does not carry comes back from the moved-aside dir.
	if oldDir != "" {
		for _, name := range []string{"dictum.toml", "models", "backups", "install.log"} {
			src, dst := filepath.Join(oldDir, name), filepath.Join(cfg.DataDir, name)
			if _, err := os.Stat(src); err != nil {
				continue
			}
			if _, err := os.Stat(dst); err == nil {
				continue
			}
			if err := os.Rename(src, dst); err != nil {
				fmt.Fprintf(e.stderr, "dictum: warning: could not move %s back: %v\n", src, err)
			}
		}
	}
	fmt.Fprintf(e.stdout, "dictum: the data was restored from %s for the previous version; the data the failed upgrade left is in %s\n", rp.Backup, oldDir)
	return 0
}

// firewallArgs are netsh.exe's arguments for the rule: "add" replaces any rule of that
// name (a reinstall does not stack duplicates), "remove" deletes it.
func firewallArgs(action string, port int) ([][]string, error) {
	del := []string{"advfirewall", "firewall", "delete", "rule", "name=" + FirewallRuleName}
	switch action {
	case "add":
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("--port must be 1-65535, got %d", port)
		}
		return [][]string{del, {"advfirewall", "firewall", "add", "rule", "name=" + FirewallRuleName,
			"dir=in", "action=allow", "protocol=TCP", "localport=" + strconv.Itoa(port)}}, nil
	case "remove":
		return [][]string{del}, nil
	}
	return nil, fmt.Errorf("usage: dictum msi-firewall add --port N | remove")
}

func (e *cliEnv) cmdMSIFirewall(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum msi-firewall add --port N | remove")
	}
	action := args[0]
	fs := e.flags("msi-firewall " + action)
	port := fs.Int("port", 443, "add: the TCP port to open")
	logFile := fs.String("log", "", "append this command's output to FILE")
	if _, err := parse(fs, args[1:]); err != nil {
		return 2
	}
	defer e.msiLog(*logFile)()
	cmds, err := firewallArgs(action, *port)
	if err != nil {
		return e.fail("%v", err)
	}
	return e.runFirewall(action, cmds)
}

// finishInfo is what the final message says.
type finishInfo struct {
	URLs          []string // where to open Dictum
	CAPath        string   // the firm root certificate
	CAFingerprint string   // its SHA-256, "" when it could not be read
	PasswordFile  string   // the one-time admin password, "" on an upgrade
	PasswordKnown bool     // false: the file could not be checked (no access)
	DataDir       string
}

// gatherFinish reads what it can: the installer runs msi-finish in the user's session,
// often without access to the data dir (SYSTEM and Administrators only, and the user's
// token is not elevated), so every piece has a fallback.
func gatherFinish(dataDir, hostname string) finishInfo {
	fi := finishInfo{DataDir: dataDir, CAPath: filepath.Join(tlsca.RootDir(dataDir), tlsca.RootCertFile)}
	listen, tlsMode := ":443", "local"
	if cfg, _, err := config.Load(filepath.Join(dataDir, "dictum.toml"), true, nil); err == nil {
		listen, tlsMode = cfg.Server.Listen, cfg.Server.TLS
	}
	fi.URLs = serverURLs(listen, tlsMode, hostname)
	if b, err := os.ReadFile(fi.CAPath); err == nil {
		if blk, _ := pem.Decode(b); blk != nil && blk.Type == "CERTIFICATE" {
			fi.CAFingerprint = tlsca.Fingerprint(blk.Bytes)
		}
	}
	pw := filepath.Join(dataDir, "initial-admin-password.txt")
	if _, err := os.Stat(pw); err == nil {
		fi.PasswordFile, fi.PasswordKnown = pw, true
	} else if errors.Is(err, os.ErrNotExist) {
		fi.PasswordKnown = true
	} else {
		fi.PasswordFile = pw
	}
	return fi
}

// serverURLs is where the firm's PCs reach the server, from [server] listen and tls.
func serverURLs(listen, tlsMode, hostname string) []string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "", "443"
	}
	scheme := "https"
	ip := net.ParseIP(host)
	if tlsMode == "off" || tlsMode == "" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		scheme = "http"
	}
	suffix := ":" + port
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		suffix = ""
	}
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		if hostname == "" {
			hostname = "localhost"
		}
		return []string{scheme + "://" + strings.ToLower(hostname) + suffix + "/"}
	case ip != nil && ip.To4() == nil:
		return []string{scheme + "://[" + host + "]" + suffix + "/"}
	}
	return []string{scheme + "://" + host + suffix + "/"}
}

// finishMessage is the text of the final message box.
func finishMessage(fi finishInfo) string {
	var b strings.Builder
	b.WriteString("Dictum is installed and its service (\"Dictum dictation server\") is running.\r\n\r\n")
	b.WriteString("Open from the firm's PCs:\r\n")
	for _, u := range fi.URLs {
		b.WriteString("    " + u + "\r\n")
	}
	b.WriteString("\r\nFirm CA certificate (install it on every PC that uses Dictum; it is also served at /ca.crt):\r\n    " + fi.CAPath + "\r\n")
	if fi.CAFingerprint != "" {
		b.WriteString("    SHA-256 " + fi.CAFingerprint + "\r\n")
	} else {
		b.WriteString("    Its SHA-256 fingerprint is on the page " + strings.TrimSuffix(fi.URLs[0], "/") + "/ca (also at https://localhost/ca on this server): compare it on each PC.\r\n")
	}
	switch {
	case fi.PasswordFile != "" && fi.PasswordKnown:
		b.WriteString("\r\nFirst login: user admin, with the one-time password in\r\n    " + fi.PasswordFile +
			"\r\n(readable by Administrators only). Change it at the first login, then delete the file.\r\n")
	case fi.PasswordFile != "":
		b.WriteString("\r\nFirst install: the one-time password of the user admin is in\r\n    " + fi.PasswordFile +
			"\r\n(readable by Administrators only; open it from an elevated Notepad). Delete it after the first login.\r\n")
	default:
		b.WriteString("\r\nExisting data was kept; sign in as before.\r\n")
	}
	b.WriteString("\r\nNext: install a speech model (elevated prompt): dictum model pull base.en\r\n")
	b.WriteString("Data: " + fi.DataDir + " (kept if Dictum is uninstalled).\r\n")
	return b.String()
}

// cmdMSIFinish shows the final message, for the full and reduced UI levels only.
func (e *cliEnv) cmdMSIFinish(args []string) int {
	fs := e.flags("msi-finish")
	uiLevel := fs.Int("ui-level", 5, "the installer's UILevel: 4 (reduced) and 5 (full) show the message, lower levels nothing")
	printOnly := fs.Bool("print", false, "print the message instead of showing it")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	dataDir := e.dataDir
	if dataDir == "" {
		return e.fail("msi-finish: --data is required")
	}
	host, _ := os.Hostname()
	msg := finishMessage(gatherFinish(dataDir, host))
	if *printOnly {
		fmt.Fprint(e.stdout, strings.ReplaceAll(msg, "\r\n", "\n"))
		return 0
	}
	if *uiLevel < 4 {
		return 0
	}
	return e.showFinish(msg)
}

// runProgram runs another dictum (the old version's) and returns what it printed.
func runProgram(prog string, args ...string) (string, error) {
	out, err := exec.Command(prog, args...).CombinedOutput()
	return string(out), err
}
