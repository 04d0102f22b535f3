package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"dictum/internal/identity"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/entry"
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

const marker = "ZEBRA-MARKER-7731-privileged"

func TestEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	s, p := open(t)
	if _, err := s.CipherVersion(ctx); err != nil {
		t.Fatal(err)
	}
	u := &User{Username: "alice", Role: RoleTimekeeper, PasswordHash: "x"}
	if err := s.CreateUser(ctx, identity.Actor{Username: "test"}, u); err != nil {
		t.Fatal(err)
	}
	m := &Matter{Number: "2026-1", Client: "Client " + marker, Name: "Matter " + marker}
	if err := s.CreateMatter(ctx, identity.Actor{Username: "test"}, m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEntry(ctx, identity.Actor{Username: "alice"}, NewEntry{UserID: u.ID, Fields: entry.Fields{Date: "2026-11-20", Tenths: 3, Narrative: marker, MatterID: m.ID}}); err != nil {
		t.Fatal(err)
	}
	// Before the checkpoint, the rows are in the -wal file: it must not show them either.
	for _, f := range []string{p, p + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if f == p+"-wal" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("alice")) {
			t.Fatalf("%s contains plaintext", filepath.Base(f))
		}
	}
	s.Close()
	b, _ := os.ReadFile(p)
	if bytes.HasPrefix(b, []byte("SQLite format 3")) {
		t.Fatal("database file has the plain SQLite header")
	}
	if bytes.Contains(b, []byte(marker)) {
		t.Fatal("marker found in database file")
	}
	// `strings` too, as an admin would check it.
	if out, err := exec.Command("strings", p).Output(); err == nil && strings.Contains(string(out), marker) {
		t.Fatal("strings finds the marker")
	}
	// Reopen with the right key: data is there.
	s2, err := Open(ctx, p, Options{Key: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.UserByName(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
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
	prefix := os.Getenv("DICTUM_SQLCIPHER_PREFIX")
	cli := filepath.Join(prefix, "usr/bin/sqlcipher")
	if prefix == "" {
		t.Skip("DICTUM_SQLCIPHER_PREFIX not set (run through make)")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("sqlcipher CLI missing at %s: run make deps", cli)
	}
	ctx := context.Background()
	s, p := open(t)
	if err := s.CreateUser(ctx, identity.Actor{Username: "t"}, &User{Username: "interop-user", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cmd := exec.Command(cli, p)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(prefix, "usr/lib/x86_64-linux-gnu"))
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

func TestEntryLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	alice := &User{Username: "alice", Role: RoleTimekeeper, PasswordHash: "x"}
	bob := &User{Username: "bob", Role: RoleTimekeeper, PasswordHash: "x"}
	for _, u := range []*User{alice, bob} {
		if err := s.CreateUser(ctx, identity.Actor{Username: "t"}, u); err != nil {
			t.Fatal(err)
		}
	}
	m := &Matter{Number: "1", Client: "C", Name: "N"}
	if err := s.CreateMatter(ctx, identity.Actor{}, m); err != nil {
		t.Fatal(err)
	}
	pa := identity.Actor{UserID: alice.ID, Username: "alice", Role: RoleTimekeeper}
	pb := identity.Actor{UserID: bob.ID, Username: "bob", Role: RoleTimekeeper}
	e, err := s.CreateEntry(ctx, pa, NewEntry{UserID: alice.ID, Fields: entry.Fields{Date: "2026-11-20", Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if _, err := s.Approve(ctx, pa, e.ID, today); !errors.Is(err, entry.ErrInvalid) {
		t.Fatalf("incomplete approve: %v", err)
	}
	if _, err := s.EntryFor(ctx, pb, e.ID); !errors.Is(err, entry.ErrNotFound) {
		t.Fatalf("bob reads alice's entry: %v", err)
	}
	if _, err := s.UpdateEntry(ctx, pb, e.ID, EntryPatch{}); !errors.Is(err, entry.ErrNotFound) {
		t.Fatalf("bob edits alice's entry: %v", err)
	}
	bogus := "no-such-matter"
	if _, err := s.UpdateEntry(ctx, pa, e.ID, EntryPatch{MatterID: &bogus}); !errors.Is(err, entry.ErrInvalid) {
		t.Fatalf("bogus matter: %v", err)
	}
	tenths, act, narr := 3, "A103", "Drafted motion."
	if _, err := s.UpdateEntry(ctx, pa, e.ID, EntryPatch{MatterID: &m.ID, Tenths: &tenths, Activity: &act, Narrative: &narr}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Approve(ctx, pa, e.ID, today)
	if err != nil || got.Status != entry.Approved || got.Hours != 0.3 {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if _, err := s.UpdateEntry(ctx, pa, e.ID, EntryPatch{Narrative: &narr}); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("edit approved: %v", err)
	}
	if list, _ := s.Entries(ctx, EntryFilter{UserID: alice.ID, Status: "approved"}); len(list) != 1 {
		t.Fatalf("approved list %d", len(list))
	}
	if _, err := s.Reopen(ctx, pa, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteEntry(ctx, pa, e.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Entries(ctx, EntryFilter{UserID: alice.ID}); len(list) != 0 {
		t.Fatal("deleted entry listed")
	}
	r, err := s.RestoreEntry(ctx, pa, e.ID)
	if err != nil || r.Status != entry.Draft {
		t.Fatalf("restore: %v %v", r, err)
	}
	if bad, n, _ := s.VerifyAudit(ctx); bad != 0 || n < 6 {
		t.Fatalf("audit chain bad=%d n=%d", bad, n)
	}
}

func TestJobs(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u := &User{Username: "u", Role: RoleTimekeeper, PasswordHash: "x"}
	s.CreateUser(ctx, identity.Actor{}, u)
	blob := "b1"
	r := &Recording{UserID: u.ID, BlobID: &blob, Format: "wav"}
	if err := s.CreateRecording(ctx, identity.Actor{}, r, 2); err != nil {
		t.Fatal(err)
	}
	j, err := s.ClaimJob(ctx, JobTranscribe)
	if err != nil || j.Ref != r.ID || j.Attempts != 1 {
		t.Fatalf("claim %+v %v", j, err)
	}
	if _, err := s.ClaimJob(ctx, JobTranscribe); !errors.Is(err, ErrNotFound) {
		t.Fatal("claimed twice")
	}
	// Crash: running job is recovered and claimable again.
	if n, _ := s.RecoverJobs(ctx); n != 1 {
		t.Fatal("not recovered")
	}
	j, _ = s.ClaimJob(ctx, JobTranscribe)
	if j == nil || j.Attempts != 2 {
		t.Fatalf("reclaim %+v", j)
	}
	final, err := s.FailJob(ctx, j, "boom", 0)
	if err != nil || !final {
		t.Fatalf("fail final=%v %v", final, err)
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
