package lifecycle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/lifecycle"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// world is a firm with two timekeepers' recordings, entries and exports on two matters,
// each item carrying a marker string that must appear only in archives of its scope.
type world struct {
	*testrig.World
	ctx    context.Context
	svc    *lifecycle.Archives
	m1, m2 *store.Matter
	// markers by owner and matter: "alice/m1" -> text that appears only in that item.
	entries map[string]string // narrative markers -> entry id
	audio   map[string][]byte // recording id -> audio bytes
	exports map[string]string // "solo" (alice, m1) and "mixed" (alice m1 + bob m2) -> export id
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: testrig.New(t, testrig.WithStoreClock()), ctx: context.Background(),
		entries: map[string]string{}, audio: map[string][]byte{}, exports: map[string]string{}}
	w.m1, w.m2 = w.Matters[0], w.Matters[1]
	w.svc = lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: w.Store, Blobs: w.Blobs, Now: w.Clock.Now})
	t.Cleanup(w.svc.Close)
	// alice: a dictated entry on m1, a manual one on m2; bob: a dictated one on m1, a manual one on m2.
	w.dictate(t, "alice", w.m1, "ALICE-M1-NARRATIVE")
	w.manual(t, "alice", w.m2, "ALICE-M2-NARRATIVE")
	w.dictate(t, "bob", w.m1, "BOB-M1-NARRATIVE")
	w.manual(t, "bob", w.m2, "BOB-M2-NARRATIVE")
	w.exports["solo"] = w.export(t, "SOLO-EXPORT-BODY", "../../dictum-entries\x01.csv", w.entries["ALICE-M1-NARRATIVE"])
	w.exports["mixed"] = w.export(t, "MIXED-EXPORT-BODY", "mixed.csv", w.entries["ALICE-M1-NARRATIVE"], w.entries["BOB-M2-NARRATIVE"])
	return w
}

func (w *world) blob(t *testing.T, b []byte) string {
	t.Helper()
	bw, err := w.Blobs.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bw.Write(b); err != nil {
		t.Fatal(err)
	}
	id, _, err := bw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *world) dictate(t *testing.T, who string, m *store.Matter, marker string) {
	t.Helper()
	u := w.User(who)
	audio := []byte("RIFF-" + strings.ToUpper(who) + "-AUDIO-" + marker + strings.Repeat("\x00\x01", 5000))
	id := w.blob(t, audio)
	rec := &store.Recording{UserID: u.ID, BlobID: &id, ContentType: "audio/wav", Format: "wav", SizeBytes: int64(len(audio))}
	if err := w.Store.CreateRecording(w.ctx, u.Actor(), rec, 3); err != nil {
		t.Fatal(err)
	}
	if err := w.Store.SetTranscript(w.ctx, rec.ID, strings.ToUpper(who)+"-TRANSCRIPT-"+marker, `[{"start":0,"text":"x"}]`, 1000); err != nil {
		t.Fatal(err)
	}
	eid, err := w.Store.FinishRecording(w.ctx, rec.ID, store.NewEntry{UserID: u.ID, Engine: "rules",
		Fields: entry.Fields{MatterID: m.ID, Date: "2026-11-20", Tenths: 3, Activity: "A103", Narrative: marker, Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	w.entries[marker], w.audio[rec.ID] = eid, audio
}

func (w *world) manual(t *testing.T, who string, m *store.Matter, marker string) {
	t.Helper()
	u := w.User(who)
	e, err := w.Store.CreateEntry(w.ctx, u.Actor(), store.NewEntry{UserID: u.ID,
		Fields: entry.Fields{MatterID: m.ID, Date: "2026-11-19", Tenths: 2, Activity: "A104", Narrative: marker, Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	w.entries[marker] = e.ID
}

func (w *world) export(t *testing.T, body, filename string, ids ...string) string {
	t.Helper()
	x := &store.Export{Format: "csv", Params: json.RawMessage(`{}`), EntryIDs: ids, BlobID: w.blob(t, []byte(body)), SizeBytes: int64(len(body)), Filename: filename}
	if err := w.Store.SaveExport(w.ctx, w.User("bill").Actor(), x, 5, false); err != nil {
		t.Fatal(err)
	}
	return x.ID
}

// archive writes the archive of a scope through the CLI path and opens it.
func (w *world) archive(t *testing.T, scope string) (string, *zip.Reader, map[string][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.WriteTo(w.ctx, identity.Actor{Username: "cli:test"}, scope, f); err != nil {
		t.Fatalf("archive %s: %v", scope, err)
	}
	f.Close()
	zr, files := readZip(t, path)
	return path, zr, files
}

func readZip(t *testing.T, path string) (*zip.Reader, map[string][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("member %s: %v", f.Name, err)
		}
		files[f.Name] = data
	}
	return zr, files
}

func unzipTest(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("unzip"); err != nil {
		t.Skipf("unzip is not installed (scripts/deps.sh installs it): %v", err)
	}
	out, err := exec.Command("unzip", "-t", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t %s: %v\n%s", path, err, out)
	}
}

func manifest(t *testing.T, files map[string][]byte) lifecycle.ArchiveManifest {
	t.Helper()
	var m lifecycle.ArchiveManifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return m
}

func TestArchiveUnzipsAndManifestMatches(t *testing.T) {
	w := newWorld(t)
	path, zr, files := w.archive(t, "firm")
	unzipTest(t, path)
	if zr.File[len(zr.File)-1].Name != "manifest.json" {
		t.Errorf("manifest.json is not the last member")
	}
	m := manifest(t, files)
	head, _ := w.Store.AuditHead(w.ctx)
	if m.AuditHead.Hash == "" || m.AuditHead.ID > head.ID || m.Scope != "firm" || m.CreatedBy != "cli:test" || m.Format != "dictum-archive" {
		t.Errorf("manifest header: %+v (head now %+v)", m, head)
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Name] = true
		data, ok := files[f.Name]
		if !ok {
			t.Errorf("manifest lists %s, which is not in the archive", f.Name)
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("%s: manifest says %s/%d, content is %x/%d", f.Name, f.SHA256, f.Size, sum, len(data))
		}
	}
	for name := range files {
		if name != "manifest.json" && !listed[name] {
			t.Errorf("%s is in the archive but not in the manifest", name)
		}
	}
	want := map[string]int{"entries": 4, "recordings": 2, "audio_files": 2, "transcripts": 2, "exports": 2, "matters": 4}
	for k, v := range want {
		if m.Counts[k] != v {
			t.Errorf("count %s = %d, want %d (all %v)", k, m.Counts[k], v, m.Counts)
		}
	}
	// The audio is the original, byte for byte.
	for id, audio := range w.audio {
		if got := files["recordings/"+id+"/audio.wav"]; !bytes.Equal(got, audio) {
			t.Errorf("recording %s: audio differs from the upload (%d vs %d bytes)", id, len(got), len(audio))
		}
	}
	if !bytes.Contains(files["exports/"+w.exports["solo"]+"/dictum-entries.csv"], []byte("SOLO-EXPORT-BODY")) {
		t.Errorf("solo export missing; members: %v", names(files))
	}
}

func names(files map[string][]byte) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	return out
}

// scopeCases: what each scope must and must not contain, by marker.
func TestArchiveScopesHoldNothingOfOthers(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		scope     string
		want, not []string
	}{
		{"user:alice", []string{"ALICE-M1-NARRATIVE", "ALICE-M2-NARRATIVE", "ALICE-TRANSCRIPT", "ALICE-AUDIO", "SOLO-EXPORT-BODY"},
			[]string{"BOB-", "MIXED-EXPORT-BODY"}},
		{"user:bob", []string{"BOB-M1-NARRATIVE", "BOB-M2-NARRATIVE", "BOB-TRANSCRIPT", "BOB-AUDIO"},
			[]string{"ALICE-", "SOLO-EXPORT-BODY", "MIXED-EXPORT-BODY"}},
		{"matter:" + w.Matters[0].ID, []string{"ALICE-M1-NARRATIVE", "BOB-M1-NARRATIVE", "ALICE-AUDIO", "BOB-AUDIO", "SOLO-EXPORT-BODY"},
			[]string{"M2-NARRATIVE", "MIXED-EXPORT-BODY", w.Matters[1].ID, w.Matters[1].Number}},
		{"matter:" + w.Matters[1].ID, []string{"ALICE-M2-NARRATIVE", "BOB-M2-NARRATIVE"},
			[]string{"M1-NARRATIVE", "AUDIO", "TRANSCRIPT", "EXPORT-BODY", w.Matters[0].ID, w.Matters[0].Number}},
	}
	// Ids of the other side must not appear either (entries, recordings, exports).
	ids := map[string]string{}
	for marker, id := range w.entries {
		ids[marker] = id
	}
	for _, c := range cases {
		t.Run(c.scope, func(t *testing.T) {
			path, _, files := w.archive(t, c.scope)
			unzipTest(t, path)
			var all bytes.Buffer
			for name, data := range files {
				all.WriteString(name + "\n")
				all.Write(data)
			}
			for _, s := range c.want {
				if !bytes.Contains(all.Bytes(), []byte(s)) {
					t.Errorf("%s lacks %q", c.scope, s)
				}
			}
			for _, s := range c.not {
				if i := bytes.Index(all.Bytes(), []byte(s)); i >= 0 {
					t.Errorf("%s holds %q: ...%s...", c.scope, s, all.Bytes()[max(0, i-80):min(all.Len(), i+40)])
				}
				// ...nor the id of any entry carrying that marker (in the audit log, say).
				for marker, id := range ids {
					if strings.Contains(marker, strings.TrimSuffix(s, "-")) && bytes.Contains(all.Bytes(), []byte(id)) {
						t.Errorf("%s holds id %s of the %s entry", c.scope, id, marker)
					}
				}
			}
			if c.scope == "user:alice" {
				if bytes.Contains(all.Bytes(), []byte(w.exports["mixed"])) {
					t.Errorf("user:alice names the mixed export, which holds bob's entry")
				}
				// Audit rows about bob's account (created by the test setup) stay out.
				rows := readCSV(t, files["audit/audit.csv"])
				for _, r := range rows[1:] {
					if r[4] == "user" && r[5] != "alice" {
						t.Errorf("user:alice audit holds an event on user %s: %v", r[5], r)
					}
				}
			}
		})
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

func TestArchiveCSVInjectionAndUnsafeNames(t *testing.T) {
	w := newWorld(t)
	alice := w.User("alice")
	if _, err := w.Store.CreateEntry(w.ctx, alice.Actor(), store.NewEntry{UserID: alice.ID,
		Fields: entry.Fields{MatterID: w.m1.ID, Date: "2026-11-18", Tenths: 1, Narrative: `=HYPERLINK("http://evil","x")`}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Store.Audit(w.ctx, identity.Actor{Username: "@evil", IP: "+1"}, "login.fail", "user", "=cmd|' /C calc'!A0", nil); err != nil {
		t.Fatal(err)
	}
	_, zr, files := w.archive(t, "firm")
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") || strings.ContainsAny(f.Name, "\x00\x01\\") {
			t.Errorf("unsafe member name %q", f.Name)
		}
	}
	for _, name := range []string{"entries/entries.csv", "entries/history.csv", "audit/audit.csv"} {
		for _, row := range readCSV(t, files[name]) {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q would be evaluated by a spreadsheet", name, cell)
				}
			}
		}
	}
	if !bytes.Contains(files["entries/entries.csv"], []byte(`'=HYPERLINK(`)) || !bytes.Contains(files["audit/audit.csv"], []byte(`'=cmd|`)) ||
		!bytes.Contains(files["audit/audit.csv"], []byte(`'@evil`)) {
		t.Errorf("formula cells were not neutralised with a quote")
	}
}

func TestSafeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"recordings/rec_1/audio.wav", "recordings/rec_1/audio.wav"},
		{"../../etc/passwd", "etc/passwd"},
		{"/abs/path", "abs/path"},
		{`C:\Windows\system.ini`, "C_/Windows/system.ini"},
		{"a/./b/../c", "a/b/c"},
		{"ctl\x00\x1f\x7fname", "ctlname"},
		{"e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"}, // NFD becomes NFC
		{"invoice\u202Egpj.exe", "invoicegpj.exe"},  // bidi override removed
		{"zero\u200bwidth", "zerowidth"},
		{`what?*<>|".csv`, "what______.csv"},
		{"trailing. ", "trailing"},
		{"..", "unnamed"},
		{"", "unnamed"},
		{"bad\xffutf8", "bad_utf8"},
		{strings.Repeat("x", 300), strings.Repeat("x", 120)},
	}
	for _, c := range cases {
		if got := lifecycle.SafeName(c.in); got != c.want {
			t.Errorf("SafeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestArchiveRequestPermissions(t *testing.T) {
	w := newWorld(t)
	alice, bob, bill, ada := w.User("alice").Actor(), w.User("bob").Actor(), w.User("bill").Actor(), w.User("ada").Actor()
	m := "matter:" + w.m1.ID
	cases := []struct {
		who   identity.Actor
		scope string
		want  lifecycle.ArchiveKind // 0 = accepted
	}{
		{alice, "firm", lifecycle.Forbidden},
		{alice, "user:bob", lifecycle.Forbidden},
		{alice, "user:nobody", lifecycle.Forbidden}, // refused before any lookup: no user enumeration
		{alice, m, lifecycle.Forbidden},
		{alice, "user:alice", 0},
		{bill, "firm", lifecycle.Forbidden},
		{bill, "user:alice", lifecycle.Forbidden},
		{bill, "matter:nope", lifecycle.BadScope},
		{bill, m, 0},
		{ada, "bogus", lifecycle.BadScope},
		{ada, "user:", lifecycle.BadScope},
		{ada, "firm", 0},
		{bob, "user:BOB", 0},
	}
	for _, c := range cases {
		x, err := w.svc.Request(w.ctx, c.who, c.scope)
		var ae *lifecycle.ArchiveError
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s asking for %s: %v", c.who.Username, c.scope, err)
		case c.want != 0 && (!errors.As(err, &ae) || ae.Kind != c.want):
			t.Errorf("%s asking for %s: got %v, want kind %d", c.who.Username, c.scope, err, c.want)
		case c.want == 0:
			w.svc.Wait()
			got, err := w.svc.Get(w.ctx, c.who, x.ID)
			if err != nil || got.Status != store.ArchiveDone {
				t.Errorf("%s's archive %s: %+v %v", c.who.Username, c.scope, got, err)
			}
		}
	}
	// Seeing someone else's archive: 404 for a timekeeper, even for an existing id.
	list, _ := w.svc.List(w.ctx, ada)
	for _, x := range list {
		_, errAlice := w.svc.Get(w.ctx, alice, x.ID)
		_, errBill := w.svc.Get(w.ctx, bill, x.ID)
		mine := x.RequestedBy == "alice"
		if mine != (errAlice == nil) {
			t.Errorf("alice and archive %s of %s: %v", x.Scope, x.RequestedBy, errAlice)
		}
		if !mine && errAlice != nil && !errors.Is(errAlice, store.ErrNotFound) {
			t.Errorf("alice gets %v, want not found", errAlice)
		}
		if billSees := strings.HasPrefix(x.Scope, "matter:") || x.RequestedBy == "bill"; billSees != (errBill == nil) {
			t.Errorf("bill and archive %s of %s: %v", x.Scope, x.RequestedBy, errBill)
		}
	}
}

func TestArchiveJobEncryptedAtRestThenExpires(t *testing.T) {
	w := newWorld(t)
	ada := w.User("ada").Actor()
	x, err := w.svc.Request(w.ctx, ada, "firm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Request(w.ctx, ada, "firm"); err == nil {
		// The first may already be done on a fast machine; only a refusal while it runs is checked.
		if cur, _ := w.Store.ArchiveByID(w.ctx, x.ID); cur.Status != store.ArchiveDone {
			t.Errorf("a second archive while the first runs was accepted")
		}
	}
	w.svc.Wait()
	got, err := w.svc.Get(w.ctx, ada, x.ID)
	if err != nil || got.Status != store.ArchiveDone || got.Progress != 100 || got.SHA256 == "" || got.ExpiresAt == nil {
		t.Fatalf("archive: %+v %v", got, err)
	}
	// At rest only ciphertext: no ZIP header, no audio, no transcript in any blob file.
	err = filepath.WalkDir(w.Config.BlobDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{"PK\x03\x04", "ALICE-AUDIO", "TRANSCRIPT", "manifest.json"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("blob %s holds plaintext %q", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := w.svc.Open(w.ctx, ada, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), dl.Filename)
	b, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	os.WriteFile(path, b, 0o600)
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != got.SHA256 || int64(len(b)) != got.SizeBytes {
		t.Errorf("download hash/size %x/%d, job says %s/%d", sum, len(b), got.SHA256, got.SizeBytes)
	}
	unzipTest(t, path)
	evs, _ := w.Store.AuditEvents(w.ctx, "archive", x.ID, 10)
	actions := map[string]bool{}
	for _, e := range evs {
		actions[e.Action] = true
	}
	for _, a := range []string{"archive.request", "archive.complete", "archive.download"} {
		if !actions[a] {
			t.Errorf("no %s event (have %v)", a, actions)
		}
	}
	// Seven days later the expiry job deletes the file.
	w.Clock.Advance(lifecycle.ArchiveTTL - time.Minute)
	if n, err := w.svc.ExpireDue(w.ctx); n != 0 || err != nil {
		t.Fatalf("expired early: %d %v", n, err)
	}
	w.Clock.Advance(2 * time.Minute)
	blobID := func() string {
		var id string
		w.Store.DB().QueryRow("SELECT coalesce(blob_id,'') FROM archives WHERE id=?", x.ID).Scan(&id)
		return id
	}()
	if n, err := w.svc.ExpireDue(w.ctx); n != 1 || err != nil {
		t.Fatalf("expire: %d %v", n, err)
	}
	if ok, _ := w.Blobs.Exists(blobID); ok {
		t.Errorf("the expired archive's blob is still there")
	}
	_, err = w.svc.Open(w.ctx, ada, x.ID)
	var ae *lifecycle.ArchiveError
	if !errors.As(err, &ae) || ae.Kind != lifecycle.Gone {
		t.Errorf("download after expiry: %v, want Gone", err)
	}
}

func TestArchiveInterruptedJobMarkedFailed(t *testing.T) {
	w := newWorld(t)
	x, err := w.Store.CreateArchive(w.ctx, w.User("ada").Actor(), "firm")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Store.StartArchive(w.ctx, x.ID); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// A new process starts: the running job belonged to the one that died.
	n, err := lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: w.Store, Blobs: w.Blobs}).Recover(w.ctx)
	if err != nil || n != 1 {
		t.Fatalf("recover: %d %v", n, err)
	}
	got, _ := w.Store.ArchiveByID(w.ctx, x.ID)
	if got.Status != store.ArchiveFailed || !strings.Contains(got.Error, "interrupted") {
		t.Errorf("after restart: %+v", got)
	}
	// And asking again works (the failed one does not count as busy).
	if _, err := w.svc.Request(w.ctx, w.User("ada").Actor(), "firm"); err != nil {
		t.Errorf("request after a failed one: %v", err)
	}
	w.svc.Wait()
}

func TestAuditCSVIsInjectionSafe(t *testing.T) {
	evs := []store.Event{{ID: 1, At: "2026-11-20T15:00:00Z", Actor: "=1+1", Action: "-x", ObjectType: "@sum", ObjectID: "\tA1", IP: "+44",
		Detail: map[string]any{"diff": map[string]any{"hours": map[string]any{"from": 0.3, "to": 0.5}}}}}
	var buf bytes.Buffer
	n, err := lifecycle.AuditCSV(&buf, func(fn func(store.Event) error) error {
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	rows := readCSV(t, buf.Bytes())
	want := []string{"1", "2026-11-20T15:00:00Z", "'=1+1", "'-x", "'@sum", "'\tA1", "'+44", `hours: "0.3" -> "0.5"`}
	for i, w := range want {
		if rows[1][i] != w {
			t.Errorf("column %s = %q, want %q", rows[0][i], rows[1][i], w)
		}
	}
}
