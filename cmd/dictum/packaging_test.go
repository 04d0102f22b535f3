package main

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"dictum/internal/config"
	"dictum/internal/store"
	"dictum/internal/vault"
)

// setSchema forces the database's schema version, as a newer dictum would have left it
// (through the SQLCipher driver directly, with the database key).
func setSchema(t *testing.T, data string, v int) {
	t.Helper()
	keys, err := vault.Load(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	k := keys.DB()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "dictum.db")+"?key=x%27"+hex.EncodeToString(k[:])+"%27&mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := db.QueryRow("PRAGMA user_version").Scan(&got); err != nil || got != v {
		t.Fatalf("user_version %d %v", got, err)
	}
}

func TestMigrate(t *testing.T) {
	data := initData(t)
	r := dictum(t, "", nil, "migrate", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("schema version %d: up to date", store.SchemaVersion())) {
		t.Fatalf("migrate on a current database: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// A database written by a newer dictum (a downgrade) is refused, untouched.
	newer := store.SchemaVersion() + 1
	setSchema(t, data, newer)
	before := sha(t, filepath.Join(data, "dictum.db"))
	r = dictum(t, "", nil, "migrate", "--data", data)
	if r.code != exitSchemaTooNew {
		t.Fatalf("migrate on a newer schema: exit %d, want %d; %q", r.code, exitSchemaTooNew, r.stderr)
	}
	for _, want := range []string{"refusing", fmt.Sprintf("schema version %d", newer), fmt.Sprintf("knows up to %d", store.SchemaVersion()), "nothing was changed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("message %q lacks %q", r.stderr, want)
		}
	}
	if after := sha(t, filepath.Join(data, "dictum.db")); after != before {
		t.Error("the refused database file changed")
	}
	// serve and doctor refuse it the same way (the downgrade message reaches the admin).
	r = dictum(t, "", nil, "doctor", "--data", data)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "newer") {
		t.Errorf("doctor on a newer schema: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestMigrateWithoutDatabase(t *testing.T) {
	data := t.TempDir()
	r := dictum(t, "", nil, "migrate", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "master") && !strings.Contains(r.stderr, "init") {
		t.Fatalf("migrate without init: %d %q", r.code, r.stderr)
	}
}

func TestReady(t *testing.T) {
	data := initData(t)
	addr := freePort(t)
	server(t, data, addr)
	r := dictum(t, "", []string{"DICTUM_SERVER_LISTEN=" + addr}, "ready", "--data", data, "--timeout", "10s")
	if r.code != 0 || !strings.Contains(r.stdout, "ready: http://"+addr+"/readyz") {
		t.Fatalf("ready: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// migrate refuses to run beside the server (the data dir lock).
	if r := dictum(t, "", nil, "migrate", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "dictum serve is running on this data dir") {
		t.Fatalf("migrate beside serve: %d %q", r.code, r.stderr)
	}
	// Nothing listening: a clear failure after the timeout.
	other := freePort(t)
	r = dictum(t, "", []string{"DICTUM_SERVER_LISTEN=" + other}, "ready", "--data", data, "--timeout", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "not ready after 1s") {
		t.Fatalf("ready with no server: %d %q", r.code, r.stderr)
	}
}

func TestConfigDefaultsTOML(t *testing.T) {
	r := dictum(t, "", nil, "config", "defaults", "--toml")
	if r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	dir := t.TempDir()
	commented := filepath.Join(dir, "commented.toml")
	os.WriteFile(commented, []byte(r.stdout), 0o600)
	// Uncommenting every key gives a valid file holding exactly the defaults.
	open := regexp.MustCompile(`(?m)^#([a-z0-9_]+ = )`).ReplaceAllString(r.stdout, "$1")
	uncommented := filepath.Join(dir, "open.toml")
	os.WriteFile(uncommented, []byte(open), 0o600)
	for _, p := range []string{commented, uncommented} {
		cfg, _, err := config.Load(p, true, nil)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		d := config.Defaults()
		if got, want := strings.Join(cfg.Describe(), "\n"), strings.Join(d.Describe(), "\n"); got != want {
			t.Errorf("%s does not load as the defaults", filepath.Base(p))
		}
	}
	// Every key the config knows is in the file, commented out.
	d := config.Defaults()
	for _, l := range d.Describe() {
		key := strings.Fields(l)[0]
		name := key[strings.LastIndex(key, ".")+1:]
		if !regexp.MustCompile(`(?m)^#` + name + ` = `).MatchString(r.stdout) {
			t.Errorf("key %s missing from the TOML", key)
		}
	}
}

func TestManPageAndCompletion(t *testing.T) {
	r := dictum(t, "", nil, "help", "--man")
	if r.code != 0 || !strings.HasPrefix(r.stdout, `.\"`) || !strings.Contains(r.stdout, ".TH DICTUM 8") {
		t.Fatalf("man: %d %q", r.code, r.stderr)
	}
	_, sections, _ := parseUsage()
	n := 0
	for _, s := range sections {
		for _, c := range s.cmds {
			n++
			if !strings.Contains(r.stdout, ".SS "+roff(c.name)+"\n") {
				t.Errorf("man page lacks command %s", c.name)
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d commands parsed from the usage text", n)
	}
	for _, want := range []string{`\-admin\-user`, "DICTUM_SERVER_LISTEN", "/var/lib/dictum/master.key"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if out, err := exec.Command("man", "--warnings", "-l", "-E", "UTF-8", "-T", "utf8", writeTemp(t, r.stdout)).CombinedOutput(); err == nil && strings.Contains(string(out), "warning") {
		t.Errorf("man warnings: %s", out)
	}

	r = dictum(t, "", nil, "completion", "bash")
	if r.code != 0 {
		t.Fatalf("completion: %d %q", r.code, r.stderr)
	}
	script := writeTemp(t, r.stdout)
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v %s", err, out)
	}
	// Complete "dictum user a" and "dictum init --adm" in a real bash.
	probe := `source ` + script + `
COMP_WORDS=(dictum user a); COMP_CWORD=2; _dictum; echo "${COMPREPLY[*]}"
COMP_WORDS=(dictum init --adm); COMP_CWORD=2; _dictum; echo "${COMPREPLY[*]}"
COMP_WORDS=(dictum mig); COMP_CWORD=1; _dictum; echo "${COMPREPLY[*]}"`
	out, err := exec.Command("bash", "-c", probe).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if got, want := string(out), "add\n--admin-password-file --admin-password-out --admin-user\nmigrate\n"; got != want {
		t.Errorf("completions %q, want %q", got, want)
	}
	if r := dictum(t, "", nil, "completion", "zsh"); r.code != 1 || !strings.Contains(r.stderr, "usage: dictum completion bash") {
		t.Errorf("completion zsh: %d %q", r.code, r.stderr)
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// doctor is a check: on a database one migration behind it warns and changes nothing (after
// a rolled-back upgrade, the new binary's doctor must not migrate the restored data again).
func TestDoctorNeverMigrates(t *testing.T) {
	data := initData(t)
	behind := store.SchemaVersion() - 1
	setSchema(t, data, behind)
	r := dictum(t, "", nil, "doctor", "--data", data)
	if !strings.Contains(r.stdout, fmt.Sprintf("version %d (this dictum: %d)", behind, store.SchemaVersion())) ||
		!strings.Contains(r.stdout, "1 pending: `dictum migrate` (or serve) applies them") {
		t.Fatalf("doctor: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = dictum(t, "", nil, "doctor", "--data", data)
	if !strings.Contains(r.stdout, fmt.Sprintf("version %d (this dictum", behind)) {
		t.Fatalf("the first doctor run migrated the database: %q", r.stdout)
	}
}
