package store_test

// Tests of the store that need people and matters run on a testrig world. They live in
// the external test package because testrig imports store.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

const marker = "ZEBRA-MARKER-7731-privileged"

func TestEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithMatters())
	s, p := w.Store, w.Config.DBPath()
	if _, err := s.CipherVersion(ctx); err != nil {
		t.Fatal(err)
	}
	u := w.User("alice")
	m := w.AddMatter(store.Matter{Number: "2026-1", Client: "Client " + marker, Name: "Matter " + marker})
	if _, err := s.CreateEntry(ctx, identity.Actor{Username: "alice"}, store.NewEntry{UserID: u.ID, Fields: entry.Fields{Date: "2026-11-20", Tenths: 3, Narrative: marker, MatterID: m.ID}}); err != nil {
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
	key := w.Keys.DB()
	s2, err := store.Open(ctx, p, store.Options{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.UserByName(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
}

func TestEntryLifecycle(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	s := w.Store
	alice, bob := w.User("alice"), w.User("bob")
	m := w.Matter("2026-001")
	pa, pb := alice.Actor(), bob.Actor()
	e, err := s.CreateEntry(ctx, pa, store.NewEntry{UserID: alice.ID, Fields: entry.Fields{Date: "2026-11-20", Billable: true}})
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
	if _, err := s.UpdateEntry(ctx, pb, e.ID, store.EntryPatch{}); !errors.Is(err, entry.ErrNotFound) {
		t.Fatalf("bob edits alice's entry: %v", err)
	}
	bogus := "no-such-matter"
	if _, err := s.UpdateEntry(ctx, pa, e.ID, store.EntryPatch{MatterID: &bogus}); !errors.Is(err, entry.ErrInvalid) {
		t.Fatalf("bogus matter: %v", err)
	}
	tenths, act, narr := 3, "A103", "Drafted motion."
	if _, err := s.UpdateEntry(ctx, pa, e.ID, store.EntryPatch{MatterID: &m.ID, Tenths: &tenths, Activity: &act, Narrative: &narr}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Approve(ctx, pa, e.ID, today)
	if err != nil || got.Status != entry.Approved || got.Hours != 0.3 {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if _, err := s.UpdateEntry(ctx, pa, e.ID, store.EntryPatch{Narrative: &narr}); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("edit approved: %v", err)
	}
	if list, _ := s.Entries(ctx, store.EntryFilter{UserID: alice.ID, Status: "approved"}); len(list) != 1 {
		t.Fatalf("approved list %d", len(list))
	}
	if _, err := s.Reopen(ctx, pa, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteEntry(ctx, pa, e.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Entries(ctx, store.EntryFilter{UserID: alice.ID}); len(list) != 0 {
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
	w := testrig.New(t)
	s := w.Store
	u := w.User("alice")
	blob := "b1"
	r := &store.Recording{UserID: u.ID, BlobID: &blob, Format: "wav"}
	if err := s.CreateRecording(ctx, identity.Actor{}, r, 2); err != nil {
		t.Fatal(err)
	}
	j, err := s.ClaimJob(ctx, store.JobTranscribe)
	if err != nil || j.Ref != r.ID || j.Attempts != 1 {
		t.Fatalf("claim %+v %v", j, err)
	}
	if _, err := s.ClaimJob(ctx, store.JobTranscribe); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("claimed twice")
	}
	// Crash: running job is recovered and claimable again.
	if n, _ := s.RecoverJobs(ctx); n != 1 {
		t.Fatal("not recovered")
	}
	j, _ = s.ClaimJob(ctx, store.JobTranscribe)
	if j == nil || j.Attempts != 2 {
		t.Fatalf("reclaim %+v", j)
	}
	final, err := s.FailJob(ctx, j, "boom", 0)
	if err != nil || !final {
		t.Fatalf("fail final=%v %v", final, err)
	}
}
