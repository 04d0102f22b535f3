package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
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

// purgeWorld is a data directory whose closed matter retention soft-deleted 60 days ago
// (so the next real run purges it), with recordings (audio blobs), entries and an export.
type purgeWorld struct {
	w       *testrig.World
	matter  string
	blobs   []string
	secrets []string
}

func newPurgeWorld(t *testing.T) *purgeWorld {
	t.Helper()
	ctx := context.Background()
	ms := testrig.DefaultMatters()[:3]
	w := testrig.New(t, testrig.WithStoreClock(), testrig.WithMatters(ms...), testrig.WithTime(time.Now().Add(-400*day).Truncate(time.Second)))
	pw := &purgeWorld{w: w, matter: w.Matter("2026-003").ID}
	if _, err := settings.New(w.Store).Update(ctx, w.User("ada").Actor(), settings.Patch{RetentionDays: ptrTo(90), RetentionAutoDelete: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	put := func(content string) string {
		bw, err := w.Blobs.Create()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(bw, content)
		id, _, err := bw.Commit()
		if err != nil {
			t.Fatal(err)
		}
		pw.blobs = append(pw.blobs, id)
		return id
	}
	var entries []string
	for i, user := range []string{"alice", "bob", "alice"} {
		u := w.User(user)
		secret := []string{"Kilimanjaro-kinkajou-31", "Lisbon-lemur-47", "Madras-mongoose-59"}[i]
		pw.secrets = append(pw.secrets, secret)
		blobID := put("AUDIO-" + secret)
		rec := &store.Recording{UserID: u.ID, BlobID: &blobID, Format: "wav"}
		if err := w.Store.CreateRecording(ctx, u.Actor(), rec, 3); err != nil {
			t.Fatal(err)
		}
		if err := w.Store.SetTranscript(ctx, rec.ID, "TRANSCRIPT-"+secret, "[]", 1000); err != nil {
			t.Fatal(err)
		}
		id, err := w.Store.FinishRecording(ctx, rec.ID, store.NewEntry{UserID: u.ID, Fields: entry.Fields{MatterID: pw.matter,
			Date: w.Clock.Now().Format("2006-01-02"), Tenths: 3, Activity: "A103", Narrative: "NARRATIVE-" + secret, Billable: true}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Store.Approve(ctx, u.Actor(), id, w.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, id)
	}
	x := &store.Export{Format: "csv", Params: json.RawMessage(`{}`), EntryIDs: entries, BlobID: put("EXPORT"), Filename: "x.csv"}
	if err := w.Store.SaveExport(ctx, w.User("bill").Actor(), x, 9, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.UpdateMatter(ctx, w.User("bill").Actor(), pw.matter, store.MatterPatch{Status: ptrTo("closed")}); err != nil {
		t.Fatal(err)
	}
	// 60 days ago the window (90 days) had passed: soft-delete it then, in-process.
	w.Clock.Set(time.Now().Add(-60 * day))
	r := lifecycle.NewRetention(lifecycle.RetentionDeps{Store: w.Store, Blobs: w.Blobs, Settings: settings.New(w.Store), Now: w.Clock.Now})
	rep, err := r.Run(ctx, identity.System(), false)
	if err != nil || len(rep.SoftDeleted.Matters) != 1 {
		t.Fatalf("soft delete: %+v %v", rep, err)
	}
	w.Store.Close() // the CLI owns the database from here
	return pw
}

func ptrTo[T any](v T) *T { return &v }

// open opens the data directory's store again (after the CLI ran).
func (pw *purgeWorld) open(t *testing.T) *store.Store {
	t.Helper()
	k := pw.w.Keys.DB()
	st, err := store.Open(context.Background(), pw.w.Config.DBPath(), store.Options{Key: &k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type purgeState struct {
	matterRows, entryRows, recordingRows, exportRows, pendingBlobs, pendingVacuum, blobsLeft int
}

func (pw *purgeWorld) state(t *testing.T) purgeState {
	t.Helper()
	st := pw.open(t)
	defer st.Close()
	var s purgeState
	for q, n := range map[string]*int{
		"SELECT count(*) FROM matters WHERE id = ?1":                            &s.matterRows,
		"SELECT count(*) FROM entries WHERE matter_id = ?1":                     &s.entryRows,
		"SELECT count(*) FROM recordings WHERE deleted_with = ?1":               &s.recordingRows,
		"SELECT count(*) FROM exports WHERE deleted_with = ?1":                  &s.exportRows,
		"SELECT count(*) FROM purge_pending WHERE kind = 'blob' AND ?1 != ''":   &s.pendingBlobs,
		"SELECT count(*) FROM purge_pending WHERE kind = 'vacuum' AND ?1 != ''": &s.pendingVacuum,
	} {
		if err := st.DB().QueryRow(q, pw.matter).Scan(n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, id := range pw.blobs {
		if _, err := os.Stat(pw.w.Config.BlobDir() + "/" + id[:2] + "/" + id[2:]); err == nil {
			s.blobsLeft++
		}
	}
	return s
}

// runUntilPaused starts `dictum retention run` with the pause hook, waits until it stops
// at phase, and kills it with SIGKILL.
func runUntilPaused(t *testing.T, data, phase string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "retention", "run", "--data", data)
	cmd.Env = append(os.Environ(), "DICTUM_TEST_MAIN=1", pauseEnv+"="+phase)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	paused := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var all []string
		for sc.Scan() {
			all = append(all, sc.Text())
			if sc.Text() == "paused at "+phase {
				paused <- ""
				io.Copy(io.Discard, stderr)
				return
			}
		}
		paused <- strings.Join(all, "\n")
	}()
	select {
	case out := <-paused:
		if out != "" {
			t.Fatalf("retention run ended before pausing at %s: %s", phase, out)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("retention run never paused at %s", phase)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
}

func TestRetentionRunKill9DuringPurge(t *testing.T) {
	for _, c := range []struct {
		phase string
		// after the kill: what is already gone
		rowsGone, blobsGone bool
	}{
		{lifecycle.PhaseBeforeCommit, false, false},
		{lifecycle.PhaseCommitted, true, false},
		{lifecycle.PhaseBlobsRemoved, true, true},
	} {
		t.Run(c.phase, func(t *testing.T) {
			pw := newPurgeWorld(t)
			data := pw.w.Dir
			before := pw.state(t)
			if before.matterRows != 1 || before.entryRows != 3 || before.recordingRows != 3 || before.exportRows != 1 || before.blobsLeft != 4 {
				t.Fatalf("fixture: %+v", before)
			}
			runUntilPaused(t, data, c.phase)

			// Killed mid-purge: all or nothing of the rows, and what is left is on the to-do list.
			mid := pw.state(t)
			switch {
			case !c.rowsGone && (mid != before):
				t.Fatalf("killed before commit, but the rows changed: %+v", mid)
			case c.rowsGone && (mid.matterRows+mid.entryRows+mid.recordingRows+mid.exportRows != 0 || mid.pendingVacuum != 1):
				t.Fatalf("killed after commit, but rows are left or no free-page clearing is queued: %+v", mid)
			case c.rowsGone && !c.blobsGone && (mid.blobsLeft != 4 || mid.pendingBlobs != 4):
				t.Fatalf("killed before removing blobs: %+v", mid)
			case c.blobsGone && (mid.blobsLeft != 0 || mid.pendingBlobs != 0):
				t.Fatalf("killed after removing blobs: %+v", mid)
			}

			// The next run completes it.
			r := dictum(t, "", nil, "retention", "run", "--data", data)
			if r.code != 0 {
				t.Fatalf("rerun: %d %s %s", r.code, r.stdout, r.stderr)
			}
			var rep lifecycle.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("rerun output: %v\n%s", err, r.stdout)
			}
			if !c.rowsGone && rep.Counts.MattersPurged != 1 {
				t.Fatalf("rerun did not purge: %+v", rep.Counts)
			}
			if c.rowsGone && !c.blobsGone && rep.PendingBlobs != 4 {
				t.Fatalf("rerun did not take up the queued blobs: %+v", rep)
			}
			if rep.FreePages == nil {
				t.Fatal("rerun did not clear the free pages")
			}
			after := pw.state(t)
			if after != (purgeState{}) {
				t.Fatalf("after the rerun: %+v", after)
			}
			for _, s := range pw.secrets {
				if testrig.DecryptedPagesContain(t, pw.w.Config.DBPath(), pw.w.Keys.DB(), "NARRATIVE-"+s) ||
					testrig.DecryptedPagesContain(t, pw.w.Config.DBPath(), pw.w.Keys.DB(), "TRANSCRIPT-"+s) {
					t.Fatalf("%s still in the database's pages", s)
				}
			}
			st := pw.open(t)
			if probs, err := st.IntegrityCheck(context.Background()); len(probs) != 0 || err != nil {
				t.Fatalf("integrity: %v %v", probs, err)
			}
			st.Close()
			if r := dictum(t, "", nil, "audit", "verify", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "intact") {
				t.Fatalf("audit verify: %s %s", r.stdout, r.stderr)
			}
		})
	}
}

func TestRetentionRunDryRunCLI(t *testing.T) {
	pw := newPurgeWorld(t)
	data := pw.w.Dir
	d := dictum(t, "", nil, "retention", "run", "--data", data, "--dry-run")
	if d.code != 0 {
		t.Fatalf("dry run: %d %s", d.code, d.stderr)
	}
	var dry, real lifecycle.Report
	if err := json.Unmarshal([]byte(d.stdout), &dry); err != nil {
		t.Fatalf("dry-run output is not JSON: %v\n%s", err, d.stdout)
	}
	if !dry.DryRun || len(dry.Purged.Matters) != 1 || dry.Purged.Matters[0].ID != pw.matter || dry.Counts.BlobsRemoved != 4 {
		t.Fatalf("dry run: %s", d.stdout)
	}
	if s := pw.state(t); s.matterRows != 1 || s.blobsLeft != 4 {
		t.Fatalf("the dry run changed something: %+v", s)
	}
	list := dictum(t, "", nil, "retention", "deleted", "--data", data)
	if list.code != 0 || !strings.Contains(list.stdout, `"kind":"matter"`) || !strings.Contains(list.stdout, pw.matter) {
		t.Fatalf("deleted: %s %s", list.stdout, list.stderr)
	}
	// Past the grace period restore-item refuses, with the reason.
	if r := dictum(t, "", nil, "restore-item", "--data", data, "matter", pw.matter); r.code == 0 || !strings.Contains(r.stderr, "grace period") {
		t.Fatalf("restore-item after the grace: %d %s", r.code, r.stderr)
	}
	if r := dictum(t, "", nil, "restore-item", "--data", data, "folder", "x"); r.code == 0 || !strings.Contains(r.stderr, "matter or entry") {
		t.Fatalf("restore-item with a bad kind: %d %s", r.code, r.stderr)
	}
	dumpBefore := sqlcipherDump(t, pw)
	rr := dictum(t, "", nil, "retention", "run", "--data", data)
	if rr.code != 0 {
		t.Fatalf("run: %d %s", rr.code, rr.stderr)
	}
	if err := json.Unmarshal([]byte(rr.stdout), &real); err != nil {
		t.Fatal(err)
	}
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if j(dry.Purged) != j(real.Purged) || j(dry.Counts) != j(real.Counts) || j(dry.SoftDeleted) != j(real.SoftDeleted) {
		t.Fatalf("dry run and real run differ:\n%s\n%s", d.stdout, rr.stdout)
	}
	// Debian's sqlcipher with the key: the dump (every table, audit log included) holds
	// live rows but nothing of the purged matter; before the run it held the secrets.
	if dumpBefore != "" {
		out := sqlcipherDump(t, pw)
		if !strings.Contains(out, "'alice'") || !strings.Contains(out, "retention.purge") {
			t.Fatalf("sqlcipher dump: %.500s", out)
		}
		for _, sec := range pw.secrets {
			if !strings.Contains(dumpBefore, sec) {
				t.Fatalf("the dump before the purge lacks %q: the check proves nothing", sec)
			}
			if strings.Contains(out, sec) {
				t.Fatalf("sqlcipher with the key still shows %q", sec)
			}
		}
	}
	st := pw.open(t)
	ev, err := st.AuditEvents(context.Background(), "retention", "", 10)
	if err != nil || len(ev) != 2 || ev[0].Action != "retention.run" || ev[0].Detail["matters_purged"] != float64(1) || !strings.HasPrefix(ev[0].Actor, "cli") {
		t.Fatalf("the real run is audited with counts (the dry run is not): %+v %v", ev, err)
	}
}

func TestRestoreItemCLI(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithMatters(testrig.DefaultMatters()[:1]...))
	alice := w.User("alice")
	e, err := w.Store.CreateEntry(ctx, alice.Actor(), store.NewEntry{UserID: alice.ID, Fields: entry.Fields{Date: "2026-11-02", Tenths: 2, Narrative: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.DeleteEntry(ctx, alice.Actor(), e.ID); err != nil {
		t.Fatal(err)
	}
	w.Store.Close()
	r := dictum(t, "", nil, "restore-item", "--data", w.Dir, "entry", e.ID)
	if r.code != 0 || !strings.Contains(r.stdout, "restored entry "+e.ID) {
		t.Fatalf("restore-item entry: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := dictum(t, "", nil, "restore-item", "--data", w.Dir, "entry", e.ID); r.code == 0 || !strings.Contains(r.stderr, "not deleted") {
		t.Fatalf("restoring twice: %d %s", r.code, r.stderr)
	}
	if r := dictum(t, "", nil, "restore-item", "--data", w.Dir, "entry"); r.code == 0 || !strings.Contains(r.stderr, "usage") {
		t.Fatalf("missing id: %d %s", r.code, r.stderr)
	}
}

// sqlcipherDump is Debian's sqlcipher CLI's .dump of the database, opened with the key
// ("" when the CLI is not available: run through make).
func sqlcipherDump(t *testing.T, pw *purgeWorld) string {
	t.Helper()
	prefix := os.Getenv("DICTUM_SQLCIPHER_PREFIX")
	if prefix == "" {
		return ""
	}
	k := pw.w.Keys.DB()
	cmd := exec.Command(prefix+"/usr/bin/sqlcipher", pw.w.Config.DBPath())
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+prefix+"/usr/lib/x86_64-linux-gnu")
	cmd.Stdin = strings.NewReader("PRAGMA key = \"x'" + hex.EncodeToString(k[:]) + "'\";\n.dump\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sqlcipher: %v %.500s", err, out)
	}
	return string(out)
}
