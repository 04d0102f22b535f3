package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func backupFiles(t *testing.T, dir string) (complete, partial []string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			partial = append(partial, e.Name())
		case strings.HasSuffix(e.Name(), ".backup"):
			complete = append(complete, e.Name())
		}
	}
	return complete, partial
}

// TestBackupRestoreCLI: backup now, list, verify, key backup-hex, and restores onto a
// new server with --key-file and with --backup-key-file; the restored dir passes doctor.
func TestBackupRestoreCLI(t *testing.T) {
	data := initData(t)
	if r := dictum(t, "", nil, "bench-blobs", "--data", data, "--mib", "3", "--min-kib", "200", "--max-kib", "900"); r.code != 0 {
		t.Fatalf("bench-blobs: %s %s", r.stdout, r.stderr)
	}
	nas := filepath.Join(t.TempDir(), "nas")
	r := dictum(t, "", nil, "backup", "now", "--data", data, "--to", nas)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+nas) {
		t.Fatalf("backup now: %d %s %s", r.code, r.stdout, r.stderr)
	}
	files, _ := backupFiles(t, nas)
	if len(files) != 1 {
		t.Fatalf("backup files in %s: %v", nas, files)
	}
	file := filepath.Join(nas, files[0])
	r = dictum(t, "", nil, "backup", "now", "--data", data)
	if r.code != 0 {
		t.Fatalf("backup now (default dir): %d %s", r.code, r.stderr)
	}
	r = dictum(t, "", nil, "backup", "list", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "dictum-") || !strings.Contains(r.stdout, "never verified") {
		t.Fatalf("backup list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = dictum(t, "", nil, "backup", "verify", "--data", data, file)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: ") {
		t.Fatalf("backup verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = dictum(t, "", nil, "key", "backup-hex", "--data", data)
	hexKey := strings.TrimSpace(r.stdout)
	if r.code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(hexKey) || !strings.Contains(r.stderr, "offline") {
		t.Fatalf("key backup-hex: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, hexKey) {
		t.Fatal("the backup key went to stderr")
	}

	// A new server: no key yet. Without --key-file it cannot restore, and writes nothing.
	newData := filepath.Join(t.TempDir(), "new")
	r = dictum(t, "", nil, "restore", "--data", newData, file)
	if r.code == 0 || !strings.Contains(r.stderr, "--key-file") {
		t.Fatalf("restore without a key: %d %s", r.code, r.stderr)
	}
	// The wrong master key: a clear error, nothing written.
	other := initData(t)
	r = dictum(t, "", nil, "restore", "--data", newData, "--key-file", filepath.Join(other, "master.key"), file)
	if r.code == 0 || !strings.Contains(r.stderr, "does not open the backup") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("restore with the wrong key: %d %s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(filepath.Dir(newData)); len(ents) != 0 {
		t.Fatalf("a failed restore left files: %v", ents)
	}
	// The right one (the old server's master key) restores; the new server keeps that key.
	r = dictum(t, "", nil, "restore", "--data", newData, "--key-file", filepath.Join(data, "master.key"), file)
	if r.code != 0 || !strings.Contains(r.stdout, "restored") {
		t.Fatalf("restore: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if sha(t, filepath.Join(newData, "master.key")) != sha(t, filepath.Join(data, "master.key")) {
		t.Fatal("the restored dir did not get the given master key")
	}
	doctorOK(t, newData)
	// A second restore over it needs --force, which moves the old one aside.
	r = dictum(t, "", nil, "restore", "--data", newData, file)
	if r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("restore over a data dir: %d %s", r.code, r.stderr)
	}
	r = dictum(t, "", nil, "restore", "--data", newData, "--force", file)
	if r.code != 0 || !strings.Contains(r.stdout, "moved to "+newData+".old-") {
		t.Fatalf("forced restore: %d %s %s", r.code, r.stdout, r.stderr)
	}
	doctorOK(t, newData)

	// With only the backup key (kept offline): a new master key is made for the new server.
	kf := filepath.Join(t.TempDir(), "backup.key")
	os.WriteFile(kf, []byte(hexKey+"\n"), 0o600)
	third := filepath.Join(t.TempDir(), "third")
	r = dictum(t, "", nil, "restore", "--data", third, "--backup-key-file", kf, file)
	if r.code != 0 || !strings.Contains(r.stdout, "master key written to") {
		t.Fatalf("restore with the backup key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if sha(t, filepath.Join(third, "master.key")) == sha(t, filepath.Join(data, "master.key")) {
		t.Fatal("expected a new master key")
	}
	if sha(t, filepath.Join(third, "ca", "ca.crt")) != sha(t, filepath.Join(data, "ca", "ca.crt")) {
		t.Fatal("the firm root CA was not restored")
	}
	doctorOK(t, third)
	r = dictum(t, "", nil, "backup", "drill", "--data", third)
	if r.code == 0 {
		t.Fatalf("drill with no backups in the new server's dir should fail: %s", r.stdout)
	}
}

// doctorOK runs doctor on a restored data dir: keys, database, integrity and audit chain
// must pass (free disk space and the speech model depend on the machine).
func doctorOK(t *testing.T, data string) {
	t.Helper()
	r := dictum(t, "", nil, "doctor", "--data", data)
	for _, want := range []string{"ok    master key", "ok    integrity", "ok    audit chain", "ok    schema"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("doctor on %s: missing %q:\n%s%s", data, want, r.stdout, r.stderr)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "FAIL") && !strings.Contains(line, "disk") {
			t.Fatalf("doctor on %s: %s", data, line)
		}
	}
}

// TestBackupKill9: a backup killed with SIGKILL mid-write leaves no file that looks like
// a backup (list shows none), and the next run completes, removes the partial file and
// records the interrupted run as failed.
func TestBackupKill9(t *testing.T) {
	data := initData(t)
	if r := dictum(t, "", nil, "bench-blobs", "--data", data, "--mib", "160", "--min-kib", "2000", "--max-kib", "4000"); r.code != 0 {
		t.Fatalf("bench-blobs: %s %s", r.stdout, r.stderr)
	}
	dir := filepath.Join(data, "backups")
	cmd := exec.Command(os.Args[0], "backup", "now", "--data", data)
	cmd.Env = append(os.Environ(), "DICTUM_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !killed {
		_, partial := backupFiles(t, dir)
		if len(partial) == 1 {
			if fi, err := os.Stat(filepath.Join(dir, partial[0])); err == nil && fi.Size() > 8<<20 {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	err := cmd.Wait()
	if !killed {
		t.Fatalf("the backup finished (%v) before it could be killed mid-write; make the store larger", err)
	}
	complete, partial := backupFiles(t, dir)
	if len(complete) != 0 || len(partial) != 1 {
		t.Fatalf("after kill -9: complete %v partial %v", complete, partial)
	}
	r := dictum(t, "", nil, "backup", "list", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "no backups") {
		t.Fatalf("list after kill -9: %s %s", r.stdout, r.stderr)
	}
	r = dictum(t, "", nil, "backup", "now", "--data", data)
	if r.code != 0 {
		t.Fatalf("backup after kill -9: %d %s", r.code, r.stderr)
	}
	complete, partial = backupFiles(t, dir)
	if len(complete) != 1 || len(partial) != 0 {
		t.Fatalf("after the next run: complete %v partial %v", complete, partial)
	}
	if ents, _ := os.ReadDir(filepath.Join(data, ".backup-tmp")); len(ents) != 1 || ents[0].Name() != "backup.lock" {
		t.Fatalf("snapshot scratch files left: %v", ents)
	}
	r = dictum(t, "", nil, "backup", "verify", "--data", data, filepath.Join(dir, complete[0]))
	if r.code != 0 {
		t.Fatalf("verify after kill -9 + rerun: %s", r.stderr)
	}
	r = dictum(t, "", nil, "audit", "list", "--data", data)
	if !strings.Contains(r.stdout, "backup.failed") || !strings.Contains(r.stdout, "backup.ok") {
		t.Fatalf("the interrupted run is not recorded as failed:\n%s%s", r.stdout, r.stderr)
	}
}

// A restore over the data dir of a running server is refused: the server would keep the
// old database open and write into a directory that was just moved aside.
func TestRestoreRefusedWhileServing(t *testing.T) {
	data := initData(t)
	dir := t.TempDir()
	if r := dictum(t, "", nil, "backup", "now", "--data", data, "--to", dir); r.code != 0 {
		t.Fatalf("backup now: %d %s %s", r.code, r.stdout, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.backup"))
	if len(files) != 1 {
		t.Fatalf("backups in %s: %v", dir, files)
	}
	srv := server(t, data, freePort(t))
	r := dictum(t, "", nil, "restore", "--data", data, "--force", files[0])
	if r.code == 0 || !strings.Contains(r.stderr, "dictum serve is running on this data dir") {
		t.Fatalf("restore while serving: %d %q", r.code, r.stderr)
	}
	if old, _ := filepath.Glob(data + ".old-*"); len(old) != 0 {
		t.Fatalf("the refused restore moved the data dir aside: %v", old)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	if r := dictum(t, "", nil, "restore", "--data", data, "--force", files[0]); r.code != 0 {
		t.Fatalf("restore after stop: %d %s %s", r.code, r.stdout, r.stderr)
	}
}
