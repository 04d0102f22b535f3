package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

func testKey(b byte) *[32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return &k
}

// open creates a fresh keyed store in a temp dir.
func open(t testing.TB) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dictum.db")
	s, err := Open(context.Background(), p, Options{Key: testKey(1), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p
}

func fileSHA(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestWrongKeyNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	s, p := open(t)
	s.Close()
	before := fileSHA(t, p)
	for _, create := range []bool{false, true} {
		_, err := Open(ctx, p, Options{Key: testKey(9), Create: create})
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("create=%v: got %v, want ErrWrongKey", create, err)
		}
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error should name the file: %v", err)
		}
		if strings.Contains(err.Error(), hex.EncodeToString(testKey(9)[:])) {
			t.Fatal("error leaks the key")
		}
	}
	if after := fileSHA(t, p); after != before {
		t.Fatal("database file changed after a wrong-key open")
	}
	// Corrupt (random) file: clear error, untouched.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte{0x42}, 8192), 0o600)
	if _, err := Open(ctx, junk, Options{Key: testKey(1), Create: true}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("junk: %v", err)
	}
	if b, _ := os.ReadFile(junk); !bytes.Equal(b, bytes.Repeat([]byte{0x42}, 8192)) {
		t.Fatal("junk file modified")
	}
	// Missing file without Create.
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "none.db"), Options{Key: testKey(1)}); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("missing: %v", err)
	}
}

func TestPlainSQLiteRefused(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "plain.db")
	s, err := Open(ctx, p, Options{Create: true}) // unkeyed
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, p, Options{Key: testKey(1)}); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("got %v", err)
	}
}

// Debian's own sqlcipher CLI (4.6.1) opens the database with the raw key: the firm's
// recovery path documented for `dictum key db-hex`.
func TestSQLCipherCLIInterop(t *testing.T) {
	cli := sqlcipherCLI(t)
	ctx := context.Background()
	s, p := open(t)
	if err := s.CreateUser(ctx, identity.Actor{Username: "t"}, &User{Username: "interop-user", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cmd := cli(p)
	cmd.Stdin = strings.NewReader("PRAGMA key = \"x'" + hex.EncodeToString(testKey(1)[:]) + "'\";\nSELECT username FROM users;\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sqlcipher: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "interop-user") {
		t.Fatalf("sqlcipher output: %s", out)
	}
}

func TestMigrationsAndVersion(t *testing.T) {
	s, p := open(t)
	v, err := s.Version(context.Background())
	if err != nil || v != SchemaVersion() {
		t.Fatalf("version %d %v", v, err)
	}
	s.Close()
	s2, err := Open(context.Background(), p, Options{Key: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	s2.db.Exec("PRAGMA user_version = 999")
	s2.Close()
	if _, err := Open(context.Background(), p, Options{Key: testKey(1)}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestRekey(t *testing.T) {
	ctx := context.Background()
	s, p := open(t)
	if err := s.Rekey(ctx, *testKey(5)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, p, Options{Key: testKey(1)}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key still works: %v", err)
	}
	s2, err := Open(ctx, p, Options{Key: testKey(5)})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestAuditChain(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	for i := 0; i < 5; i++ {
		if err := s.Audit(ctx, identity.Actor{Username: "a"}, "test.event", "x", "1", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	bad, n, err := s.VerifyAudit(ctx)
	if err != nil || bad != 0 || n != 5 {
		t.Fatalf("verify: bad=%d n=%d err=%v", bad, n, err)
	}
	s.db.Exec("UPDATE audit_events SET actor='mallory' WHERE id=3")
	bad, _, _ = s.VerifyAudit(ctx)
	if bad != 3 {
		t.Fatalf("tampered event not found: %d", bad)
	}
}

func BenchmarkStore(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "plain"
		var key *[32]byte
		if keyed {
			name, key = "sqlcipher", testKey(3)
		}
		ctx := context.Background()
		p := filepath.Join(b.TempDir(), "bench.db")
		s, err := Open(ctx, p, Options{Key: key, Create: true})
		if err != nil {
			b.Fatal(err)
		}
		u := &User{Username: "bench", Role: RoleTimekeeper, PasswordHash: "x"}
		s.CreateUser(ctx, identity.Actor{}, u)
		var ids []string
		b.Run("insert/"+name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e, err := s.CreateEntry(ctx, identity.Actor{Username: "bench"}, NewEntry{UserID: u.ID, Fields: entry.Fields{Date: "2026-11-20", Tenths: 3, Narrative: "Drafted a motion to compel discovery."}})
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, e.ID)
			}
		})
		b.Run("read/"+name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.EntryByID(ctx, ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

// A database written by Debian's sqlcipher CLI opens in the store with the same raw key:
// with the SQLite3 Multiple Ciphers build (make test-sqlite3mc) this is the Windows
// engine reading a Linux-written file.
func TestSQLCipherCLIWrittenFileOpens(t *testing.T) {
	cli := sqlcipherCLI(t)
	p := filepath.Join(t.TempDir(), "cli.db")
	cmd := cli(p)
	cmd.Stdin = strings.NewReader("PRAGMA key = \"x'" + hex.EncodeToString(testKey(3)[:]) + "'\";\nPRAGMA journal_mode = WAL;\nCREATE TABLE cli_notes(body TEXT);\nINSERT INTO cli_notes VALUES ('written-by-sqlcipher-cli');\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlcipher: %v: %s", err, out)
	}
	if _, err := Open(context.Background(), p, Options{Key: testKey(4)}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	s, err := Open(context.Background(), p, Options{Key: testKey(3)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var body string
	if err := s.db.QueryRow("SELECT body FROM cli_notes").Scan(&body); err != nil || body != "written-by-sqlcipher-cli" {
		t.Fatalf("body = %q, %v", body, err)
	}
	if v, err := s.CipherVersion(context.Background()); err != nil || v == "" {
		t.Fatalf("CipherVersion = %q, %v", v, err)
	}
}

// sqlcipherCLI returns a maker of commands running Debian's sqlcipher CLI (from the
// cache prefix make sets up) on a database file.
func sqlcipherCLI(t *testing.T) func(db string) *exec.Cmd {
	t.Helper()
	prefix := os.Getenv("DICTUM_SQLCIPHER_PREFIX")
	if prefix == "" {
		t.Skip("DICTUM_SQLCIPHER_PREFIX not set (run through make)")
	}
	cli := filepath.Join(prefix, "usr/bin/sqlcipher")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("sqlcipher CLI missing at %s: run make deps", cli)
	}
	return func(db string) *exec.Cmd {
		cmd := exec.Command(cli, db)
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(prefix, "usr/lib/x86_64-linux-gnu"))
		return cmd
	}
}
