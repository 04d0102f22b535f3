package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `init --admin-password-out FILE` (the MSI's first install) writes the one-time password
// to a new owner-only file and prints only the path; the password in it signs in.
func TestInitAdminPasswordOut(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out := filepath.Join(t.TempDir(), "admin-password.txt")
	r := dictum(t, "", nil, "init", "--data", data, "--admin-password-out", out)
	if r.code != 0 {
		t.Fatalf("init: %d %s %s", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %04o, want 0600", out, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(out)
	password := strings.TrimSpace(string(b))
	if len(password) < 16 {
		t.Fatalf("password file holds %q", b)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Fatal("the password was printed although --admin-password-out was given")
	}
	if !strings.Contains(r.stdout, out) {
		t.Fatalf("stdout does not name %s: %s", out, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(data, "dictum.toml")); !os.IsNotExist(err) {
		t.Fatalf("Linux init wrote a dictum.toml into the data dir (%v): the .deb ships /etc/dictum/dictum.toml", err)
	}

	addr := freePort(t)
	server(t, data, addr)
	login := func(pw string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
		res, err := http.Post("http://"+addr+"/api/v1/session", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	if code, m := login(password); code != 200 || m["must_change_password"] != true {
		t.Fatalf("login with the file's password: %d %v", code, m)
	}
	if code, _ := login(password + "x"); code == 200 {
		t.Fatal("a wrong password signed in")
	}
}

func TestInitAdminPasswordOutRefusals(t *testing.T) {
	t.Run("existing file is never overwritten", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		out := filepath.Join(t.TempDir(), "pw.txt")
		os.WriteFile(out, []byte("keep me\n"), 0o600)
		r := dictum(t, "", nil, "init", "--data", data, "--admin-password-out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "--admin-password-out") || !strings.Contains(r.stderr, "exists") {
			t.Fatalf("init over an existing file: %d %s", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(out); string(b) != "keep me\n" {
			t.Fatalf("existing file changed: %q", b)
		}
		if _, err := os.Stat(filepath.Join(data, "dictum.db")); !os.IsNotExist(err) {
			t.Fatalf("a database was created although init failed: %v", err)
		}
		// The refusal leaves nothing half-done: the same command works with a free path.
		out2 := filepath.Join(filepath.Dir(out), "pw2.txt")
		if r := dictum(t, "", nil, "init", "--data", data, "--admin-password-out", out2); r.code != 0 {
			t.Fatalf("init after the refusal: %d %s", r.code, r.stderr)
		}
	})
	t.Run("not with a given password", func(t *testing.T) {
		pw := filepath.Join(t.TempDir(), "pw")
		os.WriteFile(pw, []byte("admin-password-1\n"), 0o600)
		out := filepath.Join(t.TempDir(), "out.txt")
		r := dictum(t, "", nil, "init", "--data", filepath.Join(t.TempDir(), "d"), "--admin-password-file", pw, "--admin-password-out", out)
		if r.code != 2 || !strings.Contains(r.stderr, "cannot be combined") {
			t.Fatalf("both flags: %d %s", r.code, r.stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("an output file was created")
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		r := dictum(t, "", nil, "init", "--data", data, "--admin-password-out", filepath.Join(t.TempDir(), "no", "such", "pw.txt"))
		if r.code != 1 || !strings.Contains(r.stderr, "--admin-password-out") {
			t.Fatalf("missing directory: %d %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(data, "master.key")); !os.IsNotExist(err) {
			t.Fatalf("a master key was created although init failed: %v", err)
		}
	})
}

// On Windows init writes the commented defaults as <data>\dictum.toml; the writer never
// replaces a file firm IT edited, and what it writes loads as the defaults.
func TestWriteConfigIfMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dictum.toml")
	data := filepath.Join(t.TempDir(), "it's data") // a quote: the basic-string form
	if err := writeConfigIfMissing(p, data); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !bytes.Contains(b, []byte("# Dictum configuration")) || !bytes.Contains(b, []byte("[log]")) {
		t.Fatalf("default config:\n%s", b)
	}
	r := dictum(t, "", nil, "config", "check", "--config", p)
	if r.code != 0 {
		t.Fatalf("the written defaults do not load: %s", r.stderr)
	}
	if !strings.Contains(string(b), "\nlisten = \":443\"\ntls = \"local\"\n") {
		t.Fatalf("the installed config does not serve the network over HTTPS:\n%s", b)
	}
	if !strings.Contains(r.stdout, data) {
		t.Fatalf("data_dir %q not pinned in the written config:\n%s", data, r.stdout)
	}
	if got := tomlString(`C:\ProgramData\Dictum`); got != `'C:\ProgramData\Dictum'` {
		t.Fatalf("tomlString = %s", got)
	}
	os.WriteFile(p, []byte("# edited\n"), 0o644)
	if err := writeConfigIfMissing(p, data); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "# edited\n" {
		t.Fatalf("an edited config was replaced: %q", b)
	}
}
