package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/testrig"
)

// The test binary doubles as the dictum binary: with DICTUM_TEST_MAIN=1 it runs main.
func TestMain(m *testing.M) {
	if os.Getenv("DICTUM_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// dictum runs the CLI in a child process (so exit codes, files and signals are real).
func dictum(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "DICTUM_TEST_MAIN=1", "DICTUM_AUTH_ARGON2_MEMORY_KIB=8192"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, o.String(), e.String()}
}

func initData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("admin-password-1\n"), 0o600)
	r := dictum(t, "", nil, "init", "--data", data, "--admin-user", "boss", "--admin-password-file", pw)
	if r.code != 0 {
		t.Fatalf("init: %d %s %s", r.code, r.stdout, r.stderr)
	}
	return data
}

func sha(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestInitAndUsers(t *testing.T) {
	data := initData(t)
	fi, err := os.Stat(filepath.Join(data, "master.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi, err)
	}
	head := make([]byte, 16)
	f, _ := os.Open(filepath.Join(data, "dictum.db"))
	io.ReadFull(f, head)
	f.Close()
	if bytes.HasPrefix(head, []byte("SQLite format 3")) {
		t.Fatal("database is not encrypted")
	}
	before := sha(t, filepath.Join(data, "dictum.db"))
	if r := dictum(t, "", nil, "init", "--data", data); r.code == 0 || !strings.Contains(r.stderr, "already initialised") {
		t.Fatalf("second init: %d %s", r.code, r.stderr)
	}
	if sha(t, filepath.Join(data, "dictum.db")) != before {
		t.Fatal("second init changed the database")
	}
	r := dictum(t, "some-password-9\n", nil, "user", "add", "--data", data, "--username", "carol", "--role", "billing", "--password-file", "-")
	if r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	if r := dictum(t, "", nil, "user", "add", "--data", data, "--username", "carol", "--role", "billing"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("duplicate user: %d %s", r.code, r.stderr)
	}
	if r := dictum(t, "", nil, "user", "add", "--data", data, "--username", "x", "--role", "boss"); r.code == 0 || !strings.Contains(r.stderr, "--role") {
		t.Fatalf("bad role: %s", r.stderr)
	}
	if r := dictum(t, "", nil, "user", "disable", "--data", data, "--username", "carol"); r.code != 0 {
		t.Fatalf("disable: %s", r.stderr)
	}
	list := dictum(t, "", nil, "user", "list", "--data", data)
	if !strings.Contains(list.stdout, "carol") || !strings.Contains(list.stdout, "disabled") || !strings.Contains(list.stdout, "boss") {
		t.Fatalf("list: %s", list.stdout)
	}
	tok := dictum(t, "", nil, "token", "create", "--data", data, "--username", "boss")
	if tok.code != 0 || !strings.HasPrefix(tok.stdout, "dct_") {
		t.Fatalf("token: %d %s %s", tok.code, tok.stdout, tok.stderr)
	}
	if r := dictum(t, "", nil, "audit", "verify", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("audit verify: %s %s", r.stdout, r.stderr)
	}
	if r := dictum(t, "", nil, "doctor", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "sqlcipher") {
		t.Fatalf("doctor: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestWrongOrExposedKey(t *testing.T) {
	data := initData(t)
	keyPath := filepath.Join(data, "master.key")
	db := filepath.Join(data, "dictum.db")
	before := sha(t, db)
	os.Chmod(keyPath, 0o644)
	r := dictum(t, "", nil, "user", "list", "--data", data)
	if r.code == 0 || !strings.Contains(r.stderr, keyPath) || !strings.Contains(r.stderr, "chmod 600") {
		t.Fatalf("world-readable key accepted: %d %s", r.code, r.stderr)
	}
	os.Chmod(keyPath, 0o600)
	orig, _ := os.ReadFile(keyPath)
	os.WriteFile(keyPath, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	for _, args := range [][]string{{"user", "list"}, {"serve", "--listen", "127.0.0.1:0"}, {"doctor"}} {
		r := dictum(t, "", nil, append(args, "--data", data)...)
		if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "wrong key") || !strings.Contains(r.stderr+r.stdout, keyPath) {
			t.Fatalf("%v with a wrong key: %d %s %s", args, r.code, r.stdout, r.stderr)
		}
	}
	os.Remove(keyPath)
	if r := dictum(t, "", nil, "user", "list", "--data", data); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("missing key: %s", r.stderr)
	}
	if sha(t, db) != before {
		t.Fatal("database changed by failed opens")
	}
	os.WriteFile(keyPath, orig, 0o600)
	if r := dictum(t, "", nil, "user", "list", "--data", data); r.code != 0 {
		t.Fatalf("right key again: %s", r.stderr)
	}
}

func TestKeyRotateAndDBHex(t *testing.T) {
	data := initData(t)
	old, _ := os.ReadFile(filepath.Join(data, "master.key"))
	hex1 := dictum(t, "", nil, "key", "db-hex", "--data", data)
	if hex1.code != 0 || len(strings.TrimSpace(hex1.stdout)) != 64 || !strings.Contains(hex1.stderr, "WARNING") {
		t.Fatalf("db-hex: %d %q %s", hex1.code, hex1.stdout, hex1.stderr)
	}
	r := dictum(t, "", nil, "key", "rotate", "--data", data)
	if r.code != 0 {
		t.Fatalf("rotate: %s %s", r.stdout, r.stderr)
	}
	now, _ := os.ReadFile(filepath.Join(data, "master.key"))
	if bytes.Equal(old, now) {
		t.Fatal("master key unchanged")
	}
	if _, err := os.Stat(filepath.Join(data, "master.key.next")); !os.IsNotExist(err) {
		t.Fatal("next key left behind")
	}
	hex2 := dictum(t, "", nil, "key", "db-hex", "--data", data)
	if hex2.stdout == hex1.stdout {
		t.Fatal("database key unchanged")
	}
	if r := dictum(t, "", nil, "user", "list", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "boss") {
		t.Fatalf("after rotate: %s", r.stderr)
	}
	// Debian's sqlcipher opens the database with the printed key.
	prefix := os.Getenv("DICTUM_SQLCIPHER_PREFIX")
	if prefix == "" {
		t.Skip("DICTUM_SQLCIPHER_PREFIX not set (run through make)")
	}
	cmd := exec.Command(filepath.Join(prefix, "usr/bin/sqlcipher"), filepath.Join(data, "dictum.db"))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(prefix, "usr/lib/x86_64-linux-gnu"))
	cmd.Stdin = strings.NewReader(fmt.Sprintf("PRAGMA key = \"x'%s'\";\nSELECT username FROM users;\n", strings.TrimSpace(hex2.stdout)))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "boss") {
		t.Fatalf("sqlcipher with db-hex: %v %s", err, out)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("data_dir = \"/srv/dictum\"\n[transcribe]\nworkers = 2\n"), 0o600)
	if r := dictum(t, "", nil, "config", "check", "--config", good); r.code != 0 {
		t.Fatalf("good config: %s", r.stderr)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[transcribe]\nworkers = 0\nmodle = \"x\"\n"), 0o600)
	r := dictum(t, "", nil, "config", "check", "--config", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "transcribe.modle") {
		t.Fatalf("bad config: %d %s", r.code, r.stderr)
	}
	r = dictum(t, "", []string{"DICTUM_TRANSCRIBE_WORKERS=0"}, "config", "check", "--config", good)
	if r.code == 0 || !strings.Contains(r.stderr, "transcribe.workers") {
		t.Fatalf("bad env: %d %s", r.code, r.stderr)
	}
	if r := dictum(t, "", nil, "config", "defaults"); !strings.Contains(r.stdout, "DICTUM_TRANSCRIBE_MODEL") {
		t.Fatalf("defaults: %s", r.stdout)
	}
}

func TestServeRefusesPlainHTTPOnLAN(t *testing.T) {
	data := initData(t)
	r := dictum(t, "", nil, "serve", "--data", data, "--listen", "0.0.0.0:0", "--tls", "off")
	if r.code == 0 || !strings.Contains(r.stderr, "--insecure-http") {
		t.Fatalf("plain http on LAN: %d %s", r.code, r.stderr)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server starts `dictum serve` as a child process.
func server(t *testing.T, data, addr string, env ...string) *exec.Cmd {
	t.Helper()
	cmd, logf := startProc(t, data, addr, env...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("server did not become ready: %s", b)
	return nil
}

// startProc starts `dictum serve` without waiting for it; its log goes to the returned file.
func startProc(t *testing.T, data, addr string, env ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--data", data, "--listen", addr)
	cmd.Env = append(append(os.Environ(), "DICTUM_TEST_MAIN=1", "DICTUM_AUTH_ARGON2_MEMORY_KIB=8192"), env...)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, logf
}

func api(t *testing.T, method, url, token string, body io.Reader, ct string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// A transcription that is running when the server is killed with SIGKILL is retried and
// completes after a restart; the draft entry appears exactly once.
func TestQueueSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts whisper")
	}
	data := initData(t)
	model := testrig.TestModel(t)
	tok := strings.TrimSpace(dictum(t, "", nil, "token", "create", "--data", data, "--username", "boss").stdout)
	addr := freePort(t)
	env := []string{"DICTUM_TRANSCRIBE_MODEL=" + model, "DICTUM_TRANSCRIBE_NO_TEMPERATURE_FALLBACK=true"}
	srv := server(t, data, addr, env...)
	var wav bytes.Buffer
	samples := make([]float32, 16000*8)
	for i := range samples {
		samples[i] = float32((i%200)-100) / 400
	}
	audio.EncodeWAV16(&wav, samples)
	code, m := api(t, "POST", "http://"+addr+"/api/v1/recordings", tok, &wav, "audio/wav")
	if code != 202 {
		t.Fatalf("upload: %d %v", code, m)
	}
	id := m["id"].(string)
	waitStatus := func(want string, d time.Duration) map[string]any {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			_, m := api(t, "GET", "http://"+addr+"/api/v1/recordings/"+id, tok, nil, "")
			if m["status"] == want {
				return m
			}
			if m["status"] == "failed" {
				t.Fatalf("recording failed: %v", m)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("recording never reached %s", want)
		return nil
	}
	waitStatus("transcribing", 60*time.Second)
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()
	server(t, data, addr, env...)
	done := waitStatus("done", 5*time.Minute)
	if done["entry_id"] == nil {
		t.Fatalf("no draft: %v", done)
	}
	_, list := api(t, "GET", "http://"+addr+"/api/v1/entries", tok, nil, "")
	if list["count"].(float64) != 1 {
		t.Fatalf("entries after restart: %v", list)
	}
}

// SIGTERM lets a running transcription finish before the process exits.
func TestGracefulShutdownFinishesJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts whisper")
	}
	data := initData(t)
	model := testrig.TestModel(t)
	tok := strings.TrimSpace(dictum(t, "", nil, "token", "create", "--data", data, "--username", "boss").stdout)
	addr := freePort(t)
	env := []string{"DICTUM_TRANSCRIBE_MODEL=" + model, "DICTUM_TRANSCRIBE_NO_TEMPERATURE_FALLBACK=true", "DICTUM_SERVER_SHUTDOWN_TIMEOUT=5m"}
	srv := server(t, data, addr, env...)
	var wav bytes.Buffer
	samples := make([]float32, 16000*4)
	for i := range samples {
		samples[i] = float32((i%160)-80) / 300
	}
	audio.EncodeWAV16(&wav, samples)
	code, m := api(t, "POST", "http://"+addr+"/api/v1/recordings", tok, &wav, "audio/wav")
	if code != 202 {
		t.Fatalf("upload: %d %v", code, m)
	}
	id := m["id"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, m = api(t, "GET", "http://"+addr+"/api/v1/recordings/"+id, tok, nil, "")
		if m["status"] == "transcribing" || m["status"] == "drafting" || m["status"] == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never started: %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// The job finished before exit: a fresh server shows it done without running it again.
	server(t, data, addr, "DICTUM_TRANSCRIBE_MODEL=/nonexistent/model.bin")
	_, m = api(t, "GET", "http://"+addr+"/api/v1/recordings/"+id, tok, nil, "")
	if m["status"] != "done" || m["entry_id"] == nil {
		t.Fatalf("after graceful shutdown: %v", m)
	}
}
