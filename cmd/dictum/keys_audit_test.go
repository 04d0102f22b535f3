package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// `dictum key rotate` refuses to run while `dictum serve` holds the data dir, and
// changes nothing; it works once the server is stopped.
func TestKeyRotateRefusedWhileServing(t *testing.T) {
	data := initData(t)
	keyPath := filepath.Join(data, "master.key")
	before, _ := os.ReadFile(keyPath)
	srv := server(t, data, freePort(t))
	r := dictum(t, "", nil, "key", "rotate", "--data", data)
	want := "dictum serve is running on this data dir (pid " + strconv.Itoa(srv.Process.Pid) + "); stop it first"
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("rotate while serving: %d %q, want %q", r.code, r.stderr, want)
	}
	if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, before) {
		t.Fatal("the refused rotation changed the master key")
	}
	if _, err := os.Stat(keyPath + ".next"); !os.IsNotExist(err) {
		t.Fatal("the refused rotation left a next key")
	}
	// A second server on the same data dir is refused the same way.
	r = dictum(t, "", nil, "serve", "--data", data, "--listen", freePort(t))
	if r.code == 0 || !strings.Contains(r.stderr, "dictum serve is running on this data dir") {
		t.Fatalf("second serve: %d %s", r.code, r.stderr)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	if r := dictum(t, "", nil, "key", "rotate", "--data", data); r.code != 0 {
		t.Fatalf("rotate after stop: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// httpsClient trusts only the data dir's firm root.
func httpsClient(t *testing.T, data string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mustReadFile(t, filepath.Join(data, "ca", "ca.crt"))) {
		t.Fatal("ca.crt holds no certificate")
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tlsServer starts `dictum serve --tls local` and waits until /readyz answers over HTTPS
// with a certificate the firm root verifies. It returns the process, its leaf and its log.
func tlsServer(t *testing.T, data, addr string) (*exec.Cmd, *x509.Certificate, string) {
	t.Helper()
	cmd, logf := startProc(t, data, addr, "DICTUM_SERVER_TLS=local")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(data, "ca", "ca.crt")); err != nil { // serve may be creating it
			time.Sleep(100 * time.Millisecond)
			continue
		}
		res, err := httpsClient(t, data).Get("https://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return cmd, res.TLS.PeerCertificates[0], logf.Name()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("TLS server did not become ready: %s", b)
	return nil, nil, ""
}

func fetchCRL(t *testing.T, data, url string) *x509.RevocationList {
	t.Helper()
	res, err := httpsClient(t, data).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	der, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, res.Header.Get("Content-Type"))
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("CRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(mustParseRoot(t, filepath.Join(data, "ca", "ca.crt"))); err != nil {
		t.Fatalf("CRL not signed by the firm root: %v", err)
	}
	return crl
}

// After `dictum key rotate`, `serve --tls local` still works with the same root (PCs keep
// trusting it), the root key no longer opens with the old master key, the old leaf is
// revoked in the published CRL and a new leaf (new key) is served.
func TestServeTLSLocalAfterKeyRotate(t *testing.T) {
	data := initData(t)
	rootBefore := mustReadFile(t, filepath.Join(data, "ca", "ca.crt"))
	oldKeyCopy := filepath.Join(t.TempDir(), "old.key")
	os.WriteFile(oldKeyCopy, mustReadFile(t, filepath.Join(data, "master.key")), 0o600)
	addr := freePort(t)
	srv, leaf1, logPath := tlsServer(t, data, addr)
	wantCDP := "https://" + addr + "/ca.crl"
	if !slices.Equal(leaf1.CRLDistributionPoints, []string{wantCDP}) {
		t.Fatalf("leaf CRL distribution points %v, want %s", leaf1.CRLDistributionPoints, wantCDP)
	}
	if life := leaf1.NotAfter.Sub(leaf1.NotBefore); life < 89*24*time.Hour {
		t.Fatalf("leaf lifetime %v, want 90 days", life)
	}
	if crl := fetchCRL(t, data, wantCDP); len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("fresh CRL lists %d certificates", len(crl.RevokedCertificateEntries))
	}
	// The audit head is in the journal at startup.
	head := dictum(t, "", nil, "audit", "head", "--data", data)
	var h struct {
		ID   int64  `json:"id"`
		Hash string `json:"hash"`
	}
	json.Unmarshal([]byte(head.stdout), &h)
	if logb := mustReadFile(t, logPath); !bytes.Contains(logb, []byte(`"msg":"audit chain head"`)) || !bytes.Contains(logb, []byte(`"audit_head_hash":"`+h.Hash+`"`)) {
		t.Fatalf("no audit head %s in the serve log: %s", h.Hash, logb)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	r := dictum(t, "", nil, "key", "rotate", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "firm root CA key is re-sealed") || !strings.Contains(r.stdout, "certificate(s) revoked") {
		t.Fatalf("rotate: %d %s %s", r.code, r.stdout, r.stderr)
	}
	old, err := vault.Load(oldKeyCopy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlsca.LoadRoot(filepath.Join(data, "ca"), old.TLS()); !errors.Is(err, tlsca.ErrWrongWrapKey) {
		t.Fatalf("the root key still opens with the old master key: %v", err)
	}
	if !bytes.Equal(mustReadFile(t, filepath.Join(data, "ca", "ca.crt")), rootBefore) {
		t.Fatal("rotation replaced the root certificate (every PC would have to trust a new one)")
	}

	srv2, leaf2, _ := tlsServer(t, data, addr)
	if leaf2.SerialNumber.Cmp(leaf1.SerialNumber) == 0 || leaf2.PublicKey.(*ecdsa.PublicKey).Equal(leaf1.PublicKey) {
		t.Fatal("the same leaf (or leaf key) is served after rotation")
	}
	crl := fetchCRL(t, data, wantCDP)
	var revoked []string
	for _, e := range crl.RevokedCertificateEntries {
		revoked = append(revoked, e.SerialNumber.Text(16))
	}
	if !slices.Contains(revoked, leaf1.SerialNumber.Text(16)) || slices.Contains(revoked, leaf2.SerialNumber.Text(16)) {
		t.Fatalf("CRL lists %v; want the old leaf %s and not the new one", revoked, leaf1.SerialNumber.Text(16))
	}
	srv2.Process.Signal(syscall.SIGTERM)
	srv2.Wait()

	// The playbook's root replacement (old key and ca.key both stolen): retire the CA
	// directory; serve makes a new root, says so, and serves leaves from it.
	if err := os.Rename(filepath.Join(data, "ca"), filepath.Join(data, "ca.retired")); err != nil {
		t.Fatal(err)
	}
	_, leaf3, log3 := tlsServer(t, data, addr)
	if bytes.Equal(mustReadFile(t, filepath.Join(data, "ca", "ca.crt")), rootBefore) {
		t.Fatal("no new root")
	}
	if !bytes.Contains(mustReadFile(t, log3), []byte("created a new firm root CA")) {
		t.Fatal("serve did not say it created a new root")
	}
	if leaf3.CheckSignatureFrom(mustParseRoot(t, filepath.Join(data, "ca.retired", "ca.crt"))) == nil {
		t.Fatal("the new leaf is signed by the retired root")
	}
	// The new root is what the server hands out for PCs to install.
	res, err := httpsClient(t, data).Get("https://" + addr + "/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(served, mustReadFile(t, filepath.Join(data, "ca", "ca.crt"))) {
		t.Fatalf("/ca.crt after the new root: %d %q", res.StatusCode, served)
	}
}

func mustParseRoot(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(mustReadFile(t, path))
	if blk == nil {
		t.Fatalf("%s is not PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chainHash is the store's audit chain hash, recomputed here the way someone holding
// the database key would.
func chainHash(prev []byte, fields ...string) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, f := range fields {
		b, _ := json.Marshal(f)
		h.Write(b)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// openRaw opens the database with the key from `dictum key db-hex`, bypassing dictum.
func openRaw(t *testing.T, data string) *sql.DB {
	t.Helper()
	r := dictum(t, "", nil, "key", "db-hex", "--yes", "--data", data)
	if r.code != 0 {
		t.Fatalf("db-hex: %s", r.stderr)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "dictum.db")+"?key=x%27"+strings.TrimSpace(r.stdout)+"%27&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rewriteFrom changes the detail of every event from id on and recomputes the chain.
func rewriteFrom(t *testing.T, db *sql.DB, id int64) {
	t.Helper()
	ctx := context.Background()
	var prev []byte
	if err := db.QueryRowContext(ctx, "SELECT prev_hash FROM audit_events WHERE id = ?", id).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "SELECT id, at, actor, action, object_type, object_id, ip FROM audit_events WHERE id >= ? ORDER BY id", id)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		id                             int64
		at, actor, action, ot, oid, ip string
	}
	var evs []ev
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.id, &e.at, &e.actor, &e.action, &e.ot, &e.oid, &e.ip); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	rows.Close()
	for _, e := range evs {
		detail := `{"rewritten":true}`
		h := chainHash(prev, e.at, e.actor, e.action, e.ot, e.oid, detail, e.ip)
		if _, err := db.ExecContext(ctx, "UPDATE audit_events SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?", detail, prev, h, e.id); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

func auditHead(t *testing.T, data, out string) (id int64, hash string) {
	t.Helper()
	r := dictum(t, "", nil, "audit", "head", "--data", data, "--out", out)
	if r.code != 0 {
		t.Fatalf("audit head: %d %s", r.code, r.stderr)
	}
	var h struct {
		ID   int64  `json:"id"`
		At   string `json:"at"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil || h.ID == 0 || len(h.Hash) != 64 || h.At == "" {
		t.Fatalf("audit head output %q: %v", r.stdout, err)
	}
	if got := mustReadFile(t, out); string(got) != r.stdout {
		t.Fatalf("head file %q differs from the printed head %q", got, r.stdout)
	}
	return h.ID, h.Hash
}

// A tail rewritten with the database key (chain recomputed) passes `audit verify` but
// not `audit verify --against` a recorded head; neither does a cut tail.
func TestAuditVerifyAgainstHead(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, db *sql.DB, headID int64)
		wantErr string
	}{
		{name: "rewritten tail", wantErr: "the log was rewritten at or before event", tamper: func(t *testing.T, db *sql.DB, headID int64) {
			rewriteFrom(t, db, headID-1)
		}},
		{name: "cut tail", wantErr: "its tail was cut", tamper: func(t *testing.T, db *sql.DB, headID int64) {
			if _, err := db.Exec("DELETE FROM audit_events WHERE id >= ?", headID-1); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "cut and regrown tail", wantErr: "the log was rewritten at or before event", tamper: func(t *testing.T, db *sql.DB, headID int64) {
			if _, err := db.Exec("DELETE FROM audit_events WHERE id >= ?", headID-1); err != nil {
				t.Fatal(err)
			}
			var last []byte
			db.QueryRow("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").Scan(&last)
			for i := 0; i < 3; i++ { // new ids take the place of the deleted ones
				at := time.Now().UTC().Format(time.RFC3339Nano)
				h := chainHash(last, at, "cli:x", "user.list", "", "", "{}", "")
				if _, err := db.Exec("INSERT INTO audit_events(at, actor, action, object_type, object_id, detail, ip, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
					at, "cli:x", "user.list", "", "", "{}", "", last, h); err != nil {
					t.Fatal(err)
				}
				last = h
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := initData(t)
			for _, u := range []string{"carol", "dave"} {
				if r := dictum(t, "pw-"+u+"-123456\n", nil, "user", "add", "--data", data, "--username", u, "--role", "timekeeper", "--password-file", "-"); r.code != 0 {
					t.Fatalf("user add: %s", r.stderr)
				}
			}
			headFile := filepath.Join(t.TempDir(), "head.json")
			headID, _ := auditHead(t, data, headFile)
			// The log grows after the head was recorded: still fine.
			if r := dictum(t, "", nil, "token", "create", "--data", data, "--username", "carol"); r.code != 0 {
				t.Fatalf("token: %s", r.stderr)
			}
			if r := dictum(t, "", nil, "audit", "verify", "--data", data, "--against", headFile); r.code != 0 || !strings.Contains(r.stdout, "still holds the head") {
				t.Fatalf("verify against an intact log: %d %s %s", r.code, r.stdout, r.stderr)
			}
			tc.tamper(t, openRaw(t, data), headID)
			if r := dictum(t, "", nil, "audit", "verify", "--data", data); r.code != 0 {
				t.Fatalf("plain verify should not see a recomputed chain (that is the point of the anchor): %d %s", r.code, r.stderr)
			}
			r := dictum(t, "", nil, "audit", "verify", "--data", data, "--against", headFile)
			if r.code == 0 || !strings.Contains(r.stderr, "FAILED") || !strings.Contains(r.stderr, tc.wantErr) {
				t.Fatalf("verify --against after tampering: %d %s %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestAuditHeadFileErrors(t *testing.T) {
	data := initData(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("not json"), 0o644)
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"other":1}`), 0o644)
	badHash := filepath.Join(dir, "badhash.json")
	os.WriteFile(badHash, []byte(`{"id":1,"at":"x","hash":"zz"}`), 0o644)
	manifest := filepath.Join(dir, "manifest.json")
	headFile := filepath.Join(dir, "head.json")
	auditHead(t, data, headFile)
	os.WriteFile(manifest, []byte(`{"version":1,"audit_head":`+string(mustReadFile(t, headFile))+`}`), 0o644)
	for _, tc := range []struct {
		file, want string
		code       int
	}{
		{filepath.Join(dir, "missing.json"), "read the head file", 1},
		{bad, "is not JSON", 1},
		{empty, "holds no audit head", 1},
		{badHash, "64-hex-digit", 1},
		{manifest, "still holds the head", 0},
	} {
		r := dictum(t, "", nil, "audit", "verify", "--data", data, "--against", tc.file)
		if r.code != tc.code || !strings.Contains(r.stderr+r.stdout, tc.want) {
			t.Errorf("%s: %d %s %s, want %d %q", filepath.Base(tc.file), r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
	if r := dictum(t, "", nil, "audit", "head", "--data", data, "--out", filepath.Join(dir, "no", "such", "dir.json")); r.code == 0 || !strings.Contains(r.stderr, "write") {
		t.Errorf("head --out into a missing dir: %d %s", r.code, r.stderr)
	}
}
