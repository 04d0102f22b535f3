package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dictum/internal/auth"
	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/platform"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// createRoot makes the firm's local CA (used by `serve --tls local`), or keeps an existing
// one. A new root is name-constrained to this machine: the configured server.hosts and
// server.ca_dns_names, else the host name, its FQDNs and the machine's current addresses.
func createRoot(cfg *config.Config, keys *vault.Keys) (string, error) {
	firm := cfg.Firm.Name
	if firm == "" {
		firm, _ = os.Hostname()
	}
	dir := tlsca.RootDir(cfg.DataDir)
	names := tlsca.MachineConstraints(cfg.Server.Hosts, cfg.Server.DNSNames)
	if err := tlsca.CreateRoot(dir, firm, keys.TLS(), time.Now(), names); err != nil && !errors.Is(err, tlsca.ErrRootExists) {
		return "", fmt.Errorf("create the firm root CA: %w", err)
	}
	root, err := tlsca.LoadRoot(dir, keys.TLS())
	if err != nil {
		return "", err
	}
	return root.Fingerprint(), nil
}

func (e *cliEnv) cmdInit(args []string) int {
	fs := e.flags("init")
	admin := fs.String("admin-user", "admin", "username of the first admin")
	pwFile := fs.String("admin-password-file", "", "file holding the admin's password ('-' = stdin); without it a one-time password is generated and printed")
	pwOut := fs.String("admin-password-out", "", "write the generated one-time admin password to this new file (owner-only; Administrators-only on Windows) and print its path instead of the password")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	if *pwOut != "" && *pwFile != "" {
		fmt.Fprintln(e.stderr, "dictum: --admin-password-out is for a generated password; it cannot be combined with --admin-password-file")
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	ctx := context.Background()
	if _, _, err := store.Engine(); err != nil { // before anything is written
		return e.fail("%v", err)
	}
	if _, err := os.Stat(cfg.DBPath()); err == nil {
		return e.fail("%s is already initialised (database %s exists); nothing changed", cfg.DataDir, cfg.DBPath())
	}
	password, generated := "", false
	if *pwFile != "" {
		if password, err = e.readSecretFile(*pwFile); err != nil {
			return e.fail("%v", err)
		}
		if err := auth.CheckPassword(password, cfg.Auth.MinPassword); err != nil {
			return e.fail("admin password: %v", err)
		}
	} else {
		if password, err = auth.GeneratePassword(20); err != nil {
			return e.fail("%v", err)
		}
		generated = true
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return e.fail("create data directory: %v", err)
	}
	// Mode 0700 on Linux (best effort, as before: packaging owns the directory); on Windows
	// the protected SYSTEM + Administrators ACL, which everything created below inherits.
	if err := platform.SecureDir(cfg.DataDir); err != nil && platform.DirACLCheck {
		return e.fail("%v", err)
	}
	var pwOutFile *os.File
	if *pwOut != "" {
		if pwOutFile, err = createSecretFile(*pwOut); err != nil {
			return e.fail("--admin-password-out: %v", err)
		}
		defer func() {
			if pwOutFile != nil { // init failed before the password was written: leave no empty file
				pwOutFile.Close()
				os.Remove(pwOutFile.Name())
			}
		}()
	}
	keyPath := cfg.MasterKeyPath()
	keys, created, err := vault.LoadOrCreate(keyPath)
	if err != nil {
		return e.fail("%v", err)
	}
	if !created {
		fmt.Fprintf(e.stderr, "dictum: using the existing master key %s\n", keyPath)
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k, Create: true})
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	if _, err := blob.Open(cfg.BlobDir(), keys.Blob()); err != nil {
		return e.fail("%v", err)
	}
	caFingerprint, err := createRoot(cfg, keys)
	if err != nil {
		return e.fail("%v", err)
	}
	if err := os.MkdirAll(cfg.ModelsDir(), 0o750); err != nil {
		return e.fail("create models directory: %v", err)
	}
	hash, err := auth.Hash(password, auth.Params{MemoryKiB: cfg.Auth.Argon2MemoryKiB, Time: cfg.Auth.Argon2Time, Threads: cfg.Auth.Argon2Threads})
	if err != nil {
		return e.fail("%v", err)
	}
	u := &store.User{Username: *admin, DisplayName: "Administrator", Role: store.RoleAdmin, PasswordHash: hash, MustChangePassword: generated}
	if err := st.CreateUser(ctx, cliActor(), u); err != nil {
		return e.fail("create admin: %v", err)
	}
	_ = st.Audit(ctx, cliActor(), "firm.init", "firm", "", map[string]any{"key_fingerprint": keys.Fingerprint()})
	fmt.Fprintf(e.stdout, "Initialised %s\n  database:   %s (encrypted: %s)\n  master key: %s (keep a copy offline: without it the data is lost)\n  admin user: %s\n",
		cfg.DataDir, cfg.DBPath(), store.EngineString(), keyPath, *admin)
	fmt.Fprintf(e.stdout, "  firm root CA: %s (install it on the firm's PCs; SHA-256 %s)\n", filepath.Join(tlsca.RootDir(cfg.DataDir), tlsca.RootCertFile), caFingerprint)
	switch {
	case pwOutFile != nil:
		path := pwOutFile.Name()
		_, werr := pwOutFile.WriteString(password + "\n")
		if err := pwOutFile.Close(); werr == nil {
			werr = err
		}
		pwOutFile = nil
		if werr != nil {
			os.Remove(path)
			return e.fail("--admin-password-out: write %s: %v (the admin %q exists: set a password with `dictum user passwd`)", path, werr, *admin)
		}
		fmt.Fprintf(e.stdout, "  one-time admin password: in %s\n  (readable by administrators only; delete it after the first login, where the password must be changed)\n", path)
	case generated:
		fmt.Fprintf(e.stdout, "  one-time admin password: %s\n  (shown once; change it after the first login)\n", password)
	}
	// Windows: a commented dictum.toml for firm IT to edit. The data is initialised
	// whatever happens here, so a failure is a warning, not a failed init.
	if err := writeDefaultConfig(cfg.DataDir); err != nil {
		fmt.Fprintf(e.stderr, "dictum: warning: %v\n", err)
	}
	return 0
}

// createSecretFile creates path exclusively (an existing file is an error, never
// overwritten) and restricts it before anything secret is written: mode 0600 on Linux,
// Administrators + SYSTEM only on Windows.
func createSecretFile(path string) (*os.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := platform.SecureAdminFile(abs); err != nil {
		f.Close()
		os.Remove(abs)
		return nil, err
	}
	return f, nil
}

// writeDefaultConfig writes the commented defaults (`dictum config defaults --toml`) to
// <data>/dictum.toml when the platform keeps its config there (Windows) and none exists.
func writeDefaultConfig(dataDir string) error {
	if !platform.ConfigInDataDir {
		return nil
	}
	return writeConfigIfMissing(filepath.Join(dataDir, "dictum.toml"), dataDir)
}

// writeConfigIfMissing writes the commented defaults to path unless a file is there, with
// data_dir set to dataDir (when not empty): the service reads this file, and must find the
// data it was installed with whatever %ProgramData% its account's environment says.
func writeConfigIfMissing(path, dataDir string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write default config: %w", err)
	}
	werr := writeInstalledConfig(f, dataDir)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("write default config %s: %w", path, werr)
	}
	return nil
}

// writeInstalledConfig is the config an installed server starts with (the MSI's, like the
// .deb's conffile): every key commented with its default, data_dir pinned to the data
// directory (when given), and the firm's network served over HTTPS on port 443 with the
// firm-local CA that init made.
func writeInstalledConfig(w io.Writer, dataDir string) error {
	var buf bytes.Buffer
	if err := writeConfigTOML(&buf); err != nil {
		return err
	}
	var out bytes.Buffer
	if dataDir != "" {
		fmt.Fprintf(&out, "# The data directory `dictum init` made (top-level keys come before any [section]).\ndata_dir = %s\n\n", tomlString(dataDir))
	}
	served := false
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		out.WriteString(line)
		if strings.TrimSpace(line) == "[server]" && !served {
			out.WriteString("\n# Set by the installer: serve the firm's network over HTTPS with the firm-local CA made by\n# `dictum init` (its certificate is <data_dir>/ca/ca.crt, also at /ca.crt).\nlisten = \":443\"\ntls = \"local\"\n")
			served = true
		}
	}
	if !served {
		return errors.New("write default config: no [server] section in the defaults")
	}
	_, err := w.Write(out.Bytes())
	return err
}

// tomlString quotes s as a TOML string: a literal string ('C:\ProgramData\Dictum', no
// escapes) unless s holds a quote or a control character.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n\r\t") {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
