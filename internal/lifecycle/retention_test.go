package lifecycle_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/lifecycle"
	"dictum/internal/settings"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

const day = 24 * time.Hour

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

// fixture is a recording (with audio) whose entry is approved in a matter.
type fixture struct {
	recID, entryID, blobID string
	// secret is the plaintext that only this fixture's rows and blob hold.
	secret string
}

func newRetention(w *testrig.World) *lifecycle.Retention {
	return lifecycle.NewRetention(lifecycle.RetentionDeps{Store: w.Store, Blobs: w.Blobs, Settings: settings.New(w.Store), Now: w.Clock.Now})
}

func setPolicy(t *testing.T, w *testrig.World, p settings.Patch) {
	t.Helper()
	if _, err := settings.New(w.Store).Update(ctx, w.User("ada").Actor(), p); err != nil {
		t.Fatal(err)
	}
}

func putBlob(t *testing.T, w *testrig.World, content string) string {
	t.Helper()
	bw, err := w.Blobs.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(bw, content); err != nil {
		t.Fatal(err)
	}
	id, _, err := bw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dictate makes a recording with audio, its transcript and an approved entry in the matter.
func dictate(t *testing.T, w *testrig.World, user, matterID, secret string) fixture {
	t.Helper()
	u := w.User(user)
	f := fixture{secret: secret}
	f.blobID = putBlob(t, w, "AUDIO-"+secret)
	rec := &store.Recording{UserID: u.ID, BlobID: &f.blobID, Format: "wav", SizeBytes: 10}
	if err := w.Store.CreateRecording(ctx, u.Actor(), rec, 3); err != nil {
		t.Fatal(err)
	}
	f.recID = rec.ID
	if err := w.Store.SetTranscript(ctx, rec.ID, "TRANSCRIPT-"+secret, "[]", 1000); err != nil {
		t.Fatal(err)
	}
	day := w.Clock.Now().Format("2006-01-02")
	id, err := w.Store.FinishRecording(ctx, rec.ID, store.NewEntry{UserID: u.ID, Engine: "rules",
		Fields: entry.Fields{MatterID: matterID, Date: day, Tenths: 5, Activity: "A103", Narrative: "NARRATIVE-" + secret, Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	f.entryID = id
	if _, err := w.Store.Approve(ctx, u.Actor(), id, w.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

func export(t *testing.T, w *testrig.World, secret string, entryIDs ...string) *store.Export {
	t.Helper()
	x := &store.Export{Format: "csv", Params: json.RawMessage(`{}`), EntryIDs: entryIDs, BlobID: putBlob(t, w, "EXPORT-"+secret), Filename: "x.csv"}
	if err := w.Store.SaveExport(ctx, w.User("bill").Actor(), x, 10, true); err != nil {
		t.Fatal(err)
	}
	return x
}

func closeMatter(t *testing.T, w *testrig.World, id string) {
	t.Helper()
	if _, err := w.Store.UpdateMatter(ctx, w.User("bill").Actor(), id, store.MatterPatch{Status: ptr("closed")}); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, r *lifecycle.Retention, dry bool) *lifecycle.Report {
	t.Helper()
	rep, err := r.Run(ctx, identity.System(), dry)
	if err != nil {
		t.Fatalf("retention run (dry=%v): %v", dry, err)
	}
	return rep
}

func count(t *testing.T, w *testrig.World, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.Store.DB().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func blobExists(t *testing.T, w *testrig.World, id string) bool {
	t.Helper()
	ok, err := w.Blobs.Exists(id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// sameRun compares what a dry run said with what the real run then did (the timestamps
// are equal too: the store runs on the test clock).
func sameRun(t *testing.T, dry, real *lifecycle.Report) {
	t.Helper()
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, c := range []struct {
		what     string
		dry, got any
	}{
		{"soft_deleted", dry.SoftDeleted, real.SoftDeleted},
		{"audio_deleted", dry.AudioDeleted, real.AudioDeleted},
		{"purged", dry.Purged, real.Purged},
		{"counts", dry.Counts, real.Counts},
	} {
		if j(c.dry) != j(c.got) {
			t.Fatalf("dry run and real run differ in %s:\ndry:  %s\nreal: %s", c.what, j(c.dry), j(c.got))
		}
	}
	if !dry.DryRun || real.DryRun {
		t.Fatal("dry_run flags wrong")
	}
}

func TestRetentionSoftDeleteRestorePurge(t *testing.T) {
	ms := testrig.DefaultMatters()[:3] // all open
	w := testrig.New(t, testrig.WithStoreClock(), testrig.WithMatters(ms...))
	r := newRetention(w)
	setPolicy(t, w, settings.Patch{RetentionDays: ptr(90), RetentionAutoDelete: ptr(true)})
	old, open := w.Matter("2026-003"), w.Matter("2026-001")

	// In the matter that will close: two dictated entries, an export of them alone, and an
	// export shared with the open matter.
	a1 := dictate(t, w, "alice", old.ID, "Zanzibar-quokka-7731")
	a2 := dictate(t, w, "bob", old.ID, "Yellowknife-narwhal-4410")
	// In the open matter: one exported, one synced to Clio, one approved.
	o1 := dictate(t, w, "alice", open.ID, "Oslo-ocelot-1111")
	o2 := dictate(t, w, "alice", open.ID, "Osaka-orca-2222")
	o3 := dictate(t, w, "bob", open.ID, "Ottawa-otter-3333")
	xOld := export(t, w, "Xanadu-export-5150", a1.entryID)
	xShared := export(t, w, "Shared-export-6160", a2.entryID, o1.entryID)
	if err := w.Store.MarkClioSynced(ctx, w.User("bill").Actor(), o2.entryID, 42); err != nil {
		t.Fatal(err)
	}
	userDel := dictate(t, w, "alice", old.ID, "Userdeleted-urchin-9090")
	if _, err := w.Store.Reopen(ctx, w.User("alice").Actor(), userDel.entryID); err != nil {
		t.Fatal(err)
	}
	closeMatter(t, w, old.ID)
	openBefore := count(t, w, "SELECT count(*) FROM entries WHERE matter_id = ? AND deleted_at IS NULL", open.ID)

	// Inside the window nothing happens.
	w.Clock.Advance(89 * day)
	if rep := run(t, r, false); len(rep.SoftDeleted.Matters) != 0 || len(rep.Purged.Matters) != 0 {
		t.Fatalf("inside the window: %+v", rep)
	}

	// An entry a user deletes on their own in the matter: not brought back by a matter restore.
	if _, err := w.Store.DeleteEntry(ctx, w.User("alice").Actor(), userDel.entryID); err != nil {
		t.Fatal(err)
	}
	// Past it, the dry run says what the real run then does.
	w.Clock.Advance(2 * day)
	dry := run(t, r, true)
	if len(dry.SoftDeleted.Matters) != 1 || dry.SoftDeleted.Matters[0].ID != old.ID {
		t.Fatalf("dry run: %+v", dry.SoftDeleted)
	}
	if _, err := w.Store.MatterByID(ctx, old.ID); err != nil {
		t.Fatalf("the dry run changed something: %v", err)
	}
	real := run(t, r, false)
	sameRun(t, dry, real)
	m := real.SoftDeleted.Matters[0]
	// The shared export stays: it holds an entry of the open matter. The recording of the
	// entry its user deleted goes with the matter: no live entry uses it.
	if m.Entries != 2 || m.Recordings != 3 || m.Exports != 1 {
		t.Fatalf("soft-deleted with the matter: %+v", m)
	}
	if _, err := w.Store.MatterByID(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted matter still visible: %v", err)
	}
	if _, err := w.Store.ExportByID(ctx, xOld.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("export of the deleted matter still visible: %v", err)
	}
	if _, err := w.Store.ExportByID(ctx, xShared.ID); err != nil {
		t.Fatalf("shared export gone: %v", err)
	}
	if _, err := w.Store.RecordingFor(ctx, w.User("alice").Actor(), a1.recID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("recording of the deleted matter still visible: %v", err)
	}
	// A timekeeper cannot pull one entry out of a deleted matter.
	if _, err := w.Store.RestoreEntry(ctx, w.User("alice").Actor(), a1.entryID); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("restoring one entry of a deleted matter: %v", err)
	}
	openUntouched := func() {
		t.Helper()
		if n := count(t, w, "SELECT count(*) FROM entries WHERE matter_id = ? AND deleted_at IS NULL", open.ID); n != openBefore {
			t.Fatalf("open matter lost entries: %d of %d", n, openBefore)
		}
		for id, want := range map[string]string{o1.entryID: entry.Exported, o2.entryID: entry.Synced, o3.entryID: entry.Approved} {
			e, err := w.Store.EntryByID(ctx, id)
			if err != nil || e.Status != want || !strings.Contains(e.Narrative, "NARRATIVE-") {
				t.Fatalf("open matter's entry %s: %+v %v", id, e, err)
			}
		}
		for _, f := range []fixture{o1, o2, o3} {
			if !blobExists(t, w, f.blobID) {
				t.Fatalf("audio of the open matter's entry %s removed", f.entryID)
			}
		}
	}
	openUntouched()

	items, err := r.Deleted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, it := range items {
		kinds[it.ID] = it.Kind
	}
	if kinds[old.ID] != store.DeletedMatter || kinds[userDel.entryID] != store.DeletedEntry || len(items) != 2 {
		t.Fatalf("deleted items: %+v", items)
	}

	// Restore inside the grace period: everything deleted with the matter comes back,
	// the entry the user deleted does not, and the window starts again.
	w.Clock.Advance(10 * day)
	got, err := r.Restore(ctx, w.User("ada").Actor(), store.DeletedMatter, old.ID)
	if err != nil || got.Entries != 2 || got.Recordings != 3 || got.Exports != 1 {
		t.Fatalf("restore: %+v %v", got, err)
	}
	if mm, err := w.Store.MatterByID(ctx, old.ID); err != nil || mm.Status != "closed" {
		t.Fatalf("restored matter: %+v %v", mm, err)
	}
	if e, _ := w.Store.EntryByID(ctx, userDel.entryID); e.DeletedAt == nil {
		t.Fatal("a matter restore brought back an entry its user deleted")
	}
	if _, err := w.Store.ExportByID(ctx, xOld.ID); err != nil {
		t.Fatalf("restored export: %v", err)
	}
	if rep := run(t, r, false); len(rep.SoftDeleted.Matters) != 0 {
		t.Fatalf("a restored matter was deleted again at once: %+v", rep.SoftDeleted)
	}

	// A full window after the restore it goes again; past the grace it cannot be restored.
	w.Clock.Advance(91 * day)
	// The same run purges the entry its user deleted 103 days ago.
	if rep := run(t, r, false); len(rep.SoftDeleted.Matters) != 1 || len(rep.Purged.Entries) != 1 || rep.Purged.Entries[0] != userDel.entryID {
		t.Fatalf("second soft delete: %+v %+v", rep.SoftDeleted, rep.Purged)
	}
	dbKey := w.Keys.DB()
	// The scanner finds the plaintext while the rows exist (else its "absent" means nothing).
	for _, f := range []fixture{a1, a2} {
		if !testrig.DecryptedPagesContain(t, w.Config.DBPath(), dbKey, "NARRATIVE-"+f.secret) {
			t.Fatalf("page scanner does not find a live narrative: the check below would prove nothing")
		}
	}
	// An entry of the open matter its user deletes now: purged with the matter's purge.
	userDel2 := dictate(t, w, "bob", open.ID, "Userdeleted-vole-8080")
	if _, err := w.Store.Reopen(ctx, w.User("bob").Actor(), userDel2.entryID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.DeleteEntry(ctx, w.User("bob").Actor(), userDel2.entryID); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(30*day + time.Hour)
	if _, err := r.Restore(ctx, w.User("ada").Actor(), store.DeletedMatter, old.ID); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("restore after the grace period: %v", err)
	}

	dry = run(t, r, true)
	if len(dry.Purged.Matters) != 1 || dry.Purged.Matters[0].ID != old.ID || len(dry.Purged.Entries) != 1 || dry.Purged.Entries[0] != userDel2.entryID {
		t.Fatalf("dry purge: %+v", dry.Purged)
	}
	real = run(t, r, false)
	sameRun(t, dry, real)
	if real.FreePages == nil || real.FreePages.WALBusy {
		t.Fatalf("free pages not cleared: %+v", real.FreePages)
	}
	if c := real.Counts; c.MattersPurged != 1 || c.EntriesPurged != 3 || c.RecordingsPurged != 3 || c.ExportsPurged != 1 || c.BlobsRemoved != 4 {
		t.Fatalf("purge counts: %+v", c)
	}
	t.Logf("free pages: %+v", *real.FreePages)

	// Rows gone (the keyed database, through queries) ...
	for _, q := range []string{
		"SELECT count(*) FROM matters WHERE id = ?1",
		"SELECT count(*) FROM entries WHERE matter_id = ?1",
	} {
		if n := count(t, w, q, old.ID); n != 0 {
			t.Fatalf("%s: %d rows left", q, n)
		}
	}
	for _, f := range []fixture{a1, a2, userDel} {
		if n := count(t, w, "SELECT count(*) FROM entries WHERE id = ? OR narrative LIKE ?", f.entryID, "%"+f.secret+"%"); n != 0 {
			t.Fatalf("entry %s left", f.entryID)
		}
		{
			if n := count(t, w, "SELECT count(*) FROM recordings WHERE id = ? OR transcript LIKE ?", f.recID, "%"+f.secret+"%"); n != 0 {
				t.Fatalf("recording %s left", f.recID)
			}
			if blobExists(t, w, f.blobID) {
				t.Fatalf("audio blob of %s left", f.recID)
			}
		}
	}
	if blobExists(t, w, xOld.BlobID) || !blobExists(t, w, xShared.BlobID) {
		t.Fatal("export blobs: the purged one must go, the shared one stay")
	}
	if n := count(t, w, "SELECT count(*) FROM purge_pending"); n != 0 {
		t.Fatalf("%d purge to-dos left", n)
	}
	openUntouched()

	// ... and no byte of it in the database file or its WAL, read raw, decrypted page by
	// page with the key, or through a fresh keyed connection; nor in the blob directory.
	secrets := []string{"NARRATIVE-" + userDel2.secret}
	for _, f := range []fixture{a1, a2, userDel} {
		secrets = append(secrets, f.secret)
	}
	if n := count(t, w, "SELECT count(*) FROM entries WHERE id = ?", userDel2.entryID); n != 0 {
		t.Fatal("the user-deleted entry past its grace is still there")
	}
	if rec, err := w.Store.RecordingByID(ctx, userDel2.recID); err != nil || !blobExists(t, w, userDel2.blobID) || rec.EntryID != nil {
		t.Fatalf("the recording of a purged user-deleted entry stays, unlinked: %+v %v", rec, err)
	}
	assertGone(t, w, secrets)

	// Audit events stay, with ids and counts only; the chain is intact.
	evs, err := w.Store.AuditEvents(ctx, "matter", old.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range evs {
		actions[e.Action]++
		b, _ := json.Marshal(e)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Fatalf("audit event holds content: %s", b)
			}
		}
	}
	if actions["retention.soft_delete"] != 2 || actions["retention.restore"] != 1 || actions["retention.purge"] != 1 || actions["matter.create"] != 1 {
		t.Fatalf("audit of the matter: %v", actions)
	}
	runs, err := w.Store.AuditEvents(ctx, "retention", "", 100)
	if err != nil || len(runs) != 5 || runs[0].Detail["matters_purged"] != float64(1) {
		t.Fatalf("audited runs (dry runs are not audited): %d %+v %v", len(runs), runs, err)
	}
	if bad, _, err := w.Store.VerifyAudit(ctx); bad != 0 || err != nil {
		t.Fatalf("audit chain: %d %v", bad, err)
	}
	if probs, err := w.Store.IntegrityCheck(ctx); len(probs) != 0 || err != nil {
		t.Fatalf("integrity: %v %v", probs, err)
	}
}

// assertGone checks that no secret is left anywhere on disk.
func assertGone(t *testing.T, w *testrig.World, secrets []string) {
	t.Helper()
	db := w.Config.DBPath()
	key := w.Keys.DB()
	for _, s := range secrets {
		for _, p := range []string{db, db + "-wal"} {
			raw, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(s)) {
				t.Fatalf("%s holds %q in clear", filepath.Base(p), s)
			}
		}
		if testrig.DecryptedPagesContain(t, db, key, s) {
			t.Fatalf("the decrypted pages of the database or its WAL still hold %q", s)
		}
	}
	// A fresh keyed connection, as an auditor with the key would open it.
	conn, err := sql.Open("sqlite3", "file:"+db+"?key=x%27"+hex.EncodeToString(key[:])+"%27&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range secrets {
		var n int
		err := conn.QueryRow(`SELECT (SELECT count(*) FROM entries WHERE narrative LIKE ?1) + (SELECT count(*) FROM recordings WHERE transcript LIKE ?1)
			+ (SELECT count(*) FROM audit_events WHERE detail LIKE ?1)`, "%"+s+"%").Scan(&n)
		if err != nil || n != 0 {
			t.Fatalf("keyed query finds %q: %d %v", s, n, err)
		}
	}
	// Blobs are encrypted, so look for the blobs themselves: none but live ones remain.
	live := map[string]bool{}
	rows, err := w.Store.DB().QueryContext(ctx, "SELECT blob_id FROM recordings WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM exports")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		live[id] = true
	}
	rows.Close()
	filepath.WalkDir(w.Config.BlobDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		id := filepath.Base(filepath.Dir(p)) + d.Name()
		if !live[id] {
			t.Errorf("blob dir holds %s, which no live row uses", p)
		}
		raw, _ := os.ReadFile(p)
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("blob %s holds %q in clear", p, s)
			}
		}
		return nil
	})
}

func TestRetentionOffByDefault(t *testing.T) {
	w := testrig.New(t, testrig.WithStoreClock())
	r := newRetention(w)
	closed := w.Matter("2025-090")
	f := dictate(t, w, "alice", w.Matter("2026-002").ID, "Default-dingo-1")
	if _, err := w.Store.Reopen(ctx, w.User("alice").Actor(), f.entryID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.DeleteEntry(ctx, w.User("alice").Actor(), f.entryID); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(10 * 365 * day)
	rep := run(t, r, false)
	if rep.Policy.AutoDelete || rep.Policy.RetentionDays != 0 || rep.Policy.AudioRetentionDays != 0 || rep.Counts != (lifecycle.RunCounts{}) {
		t.Fatalf("with the defaults a run must do nothing: %+v", rep)
	}
	if _, err := w.Store.MatterByID(ctx, closed.ID); err != nil {
		t.Fatalf("closed matter deleted with auto-delete off: %v", err)
	}
	if n := count(t, w, "SELECT count(*) FROM entries WHERE id = ?", f.entryID); n != 1 || !blobExists(t, w, f.blobID) {
		t.Fatal("a user-deleted entry or audio was purged with auto-delete off")
	}
	// Even a run that does nothing is audited.
	if ev, err := w.Store.AuditEvents(ctx, "retention", "", 10); err != nil || len(ev) != 1 || ev[0].Action != "retention.run" {
		t.Fatalf("run audit: %+v %v", ev, err)
	}
}

func TestRetentionAudioWindow(t *testing.T) {
	w := testrig.New(t, testrig.WithStoreClock())
	r := newRetention(w)
	setPolicy(t, w, settings.Patch{AudioRetentionDays: ptr(30)})
	m := w.Matter("2026-001").ID
	approved := dictate(t, w, "alice", m, "Audio-aardvark-1")
	reopened := dictate(t, w, "bob", m, "Audio-badger-2")
	if _, err := w.Store.Reopen(ctx, w.User("bob").Actor(), reopened.entryID); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(29 * day)
	if rep := run(t, r, false); len(rep.AudioDeleted) != 0 {
		t.Fatalf("inside the audio window: %+v", rep.AudioDeleted)
	}
	w.Clock.Advance(2 * day)
	dry := run(t, r, true)
	real := run(t, r, false)
	sameRun(t, dry, real)
	if len(real.AudioDeleted) != 1 || real.AudioDeleted[0].RecordingID != approved.recID || real.Counts.BlobsRemoved != 1 {
		t.Fatalf("audio window: %+v", real)
	}
	rec, err := w.Store.RecordingByID(ctx, approved.recID)
	if err != nil || rec.HasAudio() || rec.AudioDeletedAt == nil || rec.Transcript == nil || !strings.Contains(*rec.Transcript, approved.secret) {
		t.Fatalf("after the audio window the transcript stays, the audio goes: %+v %v", rec, err)
	}
	if blobExists(t, w, approved.blobID) || !blobExists(t, w, reopened.blobID) {
		t.Fatal("audio blobs: the approved one must go, the draft's stay")
	}
	if e, err := w.Store.EntryByID(ctx, approved.entryID); err != nil || e.Status != entry.Approved || e.DeletedAt != nil {
		t.Fatalf("the audio window touched the entry: %+v %v", e, err)
	}
	if len(real.SoftDeleted.Matters) != 0 || real.Policy.AutoDelete {
		t.Fatal("the audio window must not turn on matter deletion")
	}
}

func TestRetentionRestoreErrors(t *testing.T) {
	w := testrig.New(t, testrig.WithStoreClock())
	r := newRetention(w)
	ada := w.User("ada").Actor()
	if _, err := r.Restore(ctx, ada, "user", "x"); !errors.Is(err, lifecycle.ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := r.Restore(ctx, ada, store.DeletedMatter, "mat_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown matter: %v", err)
	}
	if _, err := r.Restore(ctx, ada, store.DeletedMatter, w.Matter("2026-001").ID); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("matter not deleted: %v", err)
	}
}
