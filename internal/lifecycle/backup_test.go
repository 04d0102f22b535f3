package lifecycle

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

var admin = identity.Actor{Username: "ada", Role: store.RoleAdmin}

func newBackups(t *testing.T, w *testrig.World) *Backups {
	t.Helper()
	return NewBackups(BackupDeps{Config: w.Config, Store: w.Store, Keys: w.Keys})
}

// addBlob stores size random bytes and returns the blob id and the plaintext's SHA-256.
func addBlob(t testing.TB, bs *blob.Store, size int) (string, string) {
	t.Helper()
	buf := make([]byte, size)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	w, err := bs.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	id, _, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(buf)
	return id, hex.EncodeToString(h[:])
}

func plainHash(t testing.TB, bs *blob.Store, id string) string {
	t.Helper()
	r, err := bs.Open(id)
	if err != nil {
		t.Fatalf("open blob %s: %v", id, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("read blob %s: %v", id, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newKeys(t testing.TB) *vault.Keys {
	t.Helper()
	m, err := vault.GenerateMaster()
	if err != nil {
		t.Fatal(err)
	}
	return vault.NewKeys(m)
}

// TestBackupWhileWritingThenRestore: writes go on during the backup; the restore onto a
// "new server" (another master key, opened with the old server's backup key) has exactly
// the snapshot's row counts, every blob with the same plaintext, and a valid audit chain.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	before := map[string]string{}
	for i := 0; i < 12; i++ {
		id, h := addBlob(t, w.Blobs, 1000+i*37_000)
		before[id] = h
	}
	if err := tlsca.CreateRoot(tlsca.RootDir(w.Dir), "Firm", w.Keys.TLS(), time.Now(), tlsca.Constraints{DNS: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	b := newBackups(t, w)

	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if err := w.Store.Audit(ctx, admin, "test.write", "thing", fmt.Sprint(i), nil); err != nil {
				t.Errorf("write during backup: %v", err)
				return
			}
			if i%10 == 0 {
				addBlob(t, w.Blobs, 20_000)
			}
			writes.Add(1)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	res, err := b.Run(ctx, admin)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if writes.Load() < 2 {
		t.Fatalf("the writer made only %d writes; the test did not overlap", writes.Load())
	}
	man := res.Manifest
	if man.Counts["users"] != 4 || man.Counts["audit_events"] == 0 || man.SchemaVersion != store.SchemaVersion() {
		t.Fatalf("manifest: counts %v schema %d", man.Counts, man.SchemaVersion)
	}
	if man.AuditHead.ID == 0 || man.MasterFingerprint != w.Keys.Fingerprint() || man.Format != FormatVersion {
		t.Fatalf("manifest head/fingerprint/format: %+v", man)
	}
	raw, err := os.ReadFile(res.File)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"SQLite format 3", "test.write", "password", "manifest.json", "blobs/"} {
		if strings.Contains(string(raw), leak) {
			t.Fatalf("backup file contains %q in the clear", leak)
		}
	}
	// One vault header (the file's own); the blobs' headers are inside the encryption.
	if !strings.HasPrefix(string(raw), "DCTBLOB") || strings.Count(string(raw), "DCTBLOB") != 1 {
		t.Fatalf("backup is not one vault stream")
	}

	// Restore onto a new server whose own master key differs.
	target := newKeys(t)
	dir := filepath.Join(t.TempDir(), "restored")
	rr, err := Restore(ctx, RestoreOptions{File: res.File, DataDir: dir, BackupKey: w.Keys.Backup(), Target: target,
		MasterKeyFile: filepath.Join(dir, "master.key"), Actor: admin})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if rr.AuditEvents == 0 || rr.OldDir != "" {
		t.Fatalf("restore result: %+v", rr)
	}
	k, err := vault.Load(filepath.Join(dir, "master.key"))
	if err != nil || k.Fingerprint() != target.Fingerprint() {
		t.Fatalf("restored master key: %v", err)
	}
	dbKey := target.DB()
	st, err := store.Open(ctx, filepath.Join(dir, "dictum.db"), store.Options{Key: &dbKey})
	if err != nil {
		t.Fatalf("open restored db with the target key: %v", err)
	}
	defer st.Close()
	counts, err := countRows(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range man.Counts {
		want := n
		if table == "audit_events" {
			want++ // the restore itself is audited
		}
		if counts[table] != want {
			t.Errorf("table %s: restored %d rows, snapshot had %d", table, counts[table], n)
		}
	}
	if bad, _, err := st.VerifyAudit(ctx); err != nil || bad != 0 {
		t.Fatalf("restored audit chain: bad=%d err=%v", bad, err)
	}
	rb, err := blob.Open(filepath.Join(dir, "blobs"), target.Blob())
	if err != nil {
		t.Fatal(err)
	}
	for id, h := range before {
		if got := plainHash(t, rb, id); got != h {
			t.Errorf("blob %s: restored plaintext differs", id)
		}
	}
	if man.Blobs < len(before) {
		t.Fatalf("manifest has %d blobs, %d existed before the backup", man.Blobs, len(before))
	}
	// Every blob in the backup opens under the new key.
	n := 0
	_ = walkBlobs(filepath.Join(dir, "blobs"), func(id, _ string) error {
		plainHash(t, rb, id)
		n++
		return nil
	})
	if n != man.Blobs {
		t.Fatalf("restored %d blobs, manifest says %d", n, man.Blobs)
	}
	// The firm root CA came along, its key now sealed under the new server's key.
	root, err := tlsca.LoadRoot(tlsca.RootDir(dir), target.TLS())
	if err != nil {
		t.Fatalf("restored CA: %v", err)
	}
	orig, _ := tlsca.LoadRoot(tlsca.RootDir(w.Dir), w.Keys.TLS())
	if root.Fingerprint() != orig.Fingerprint() {
		t.Fatal("restored CA differs")
	}
	runs, _ := w.Store.BackupRuns(ctx, store.BackupKindBackup, 5)
	if len(runs) != 1 || runs[0].Status != store.BackupOK || runs[0].File != filepath.Base(res.File) || runs[0].SizeBytes != res.Size {
		t.Fatalf("recorded runs: %+v", runs)
	}
}

// memberCipherOffset finds where, in the encrypted file, byte `into` of member name's
// content lies (into < 0: the middle of the member).
func memberCipherOffset(t *testing.T, path string, key [32]byte, name string, into int64) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := vault.NewReader(f, key)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countReader{r: dec}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("member %s not found: %v", name, err)
		}
		if h.Name == name {
			if into < 0 {
				into = h.Size / 2
			}
			if h.Size < 2*vault.DefaultChunkSize {
				t.Fatalf("member %s is %d bytes: too small to hold a chunk of its own", name, h.Size)
			}
			p := cr.n + into
			cs := int64(vault.DefaultChunkSize)
			return vault.HeaderSize + (p/cs)*(cs+16) + p%cs
		}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyFlippedByteNamesMember(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	addBlob(t, w.Blobs, 5000)
	big, _ := addBlob(t, w.Blobs, 400_000)
	addBlob(t, w.Blobs, 7000)
	b := newBackups(t, w)
	res, err := b.Run(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, admin, res.File); err != nil {
		t.Fatalf("verify of an intact backup: %v", err)
	}
	member := "blobs/" + big[:2] + "/" + big[2:]
	cases := []struct {
		name   string
		member string
		into   int64
	}{
		{"blob middle", member, 200_000},
		{"database", memberDB, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), filepath.Base(res.File))
			copyFile(t, res.File, cp)
			flipByte(t, cp, memberCipherOffset(t, cp, w.Keys.Backup(), tc.member, tc.into))
			_, err := b.Verify(ctx, admin, cp)
			var me *MemberError
			if err == nil || !errors.As(err, &me) || me.Member != tc.member || !errors.Is(err, ErrBackupDamaged) {
				t.Fatalf("verify after a flipped byte in %s: %v", tc.member, err)
			}
			if !strings.Contains(err.Error(), tc.member) {
				t.Fatalf("message does not name the member: %v", err)
			}
			runs, _ := w.Store.BackupRuns(ctx, store.BackupKindVerify, 1)
			if len(runs) != 1 || runs[0].Status != store.BackupFailed || runs[0].Detail["member"] != tc.member {
				t.Fatalf("recorded verify run: %+v", runs[0])
			}
		})
	}
	// A file cut short (as a crash mid-write would leave it) fails too.
	cp := filepath.Join(t.TempDir(), "cut.backup")
	copyFile(t, res.File, cp)
	fi, _ := os.Stat(cp)
	if err := os.Truncate(cp, fi.Size()-70_000); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(ctx, cp, w.Keys.Backup(), t.TempDir()); !errors.Is(err, ErrBackupDamaged) {
		t.Fatalf("verify of a truncated backup: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreWrongKeyWritesNothing(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	addBlob(t, w.Blobs, 3000)
	res, err := newBackups(t, w).Run(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "restored")
	other := newKeys(t)
	_, err = Restore(ctx, RestoreOptions{File: res.File, DataDir: dir, BackupKey: other.Backup(), Target: other,
		MasterKeyFile: filepath.Join(dir, "master.key"), Actor: admin})
	if !errors.Is(err, ErrBackupKey) || !strings.Contains(err.Error(), "--key-file") {
		t.Fatalf("restore with the wrong key: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("a failed restore left %d entries in %s (%s)", len(ents), parent, ents[0].Name())
	}
	// Same with --force over an existing data dir: it is left as it was.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, RestoreOptions{File: res.File, DataDir: dir, BackupKey: other.Backup(), Target: other, Force: true})
	if !errors.Is(err, ErrBackupKey) {
		t.Fatalf("forced restore with the wrong key: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Fatalf("a failed forced restore changed %s: %v", parent, ents)
	}
}

func TestRestoreRefusesNonEmptyDirUnlessForced(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	res, err := newBackups(t, w).Run(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.txt"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := RestoreOptions{File: res.File, DataDir: dir, BackupKey: w.Keys.Backup(), Target: w.Keys, Actor: admin}
	if _, err := Restore(ctx, opts); !errors.Is(err, ErrDataDirNotEmpty) {
		t.Fatalf("restore into a non-empty dir: %v", err)
	}
	opts.Force = true
	rr, err := Restore(ctx, opts)
	if err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(rr.OldDir, "old.txt")); err != nil || string(b) != "old" {
		t.Fatalf("old data dir not kept aside at %q: %v", rr.OldDir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dictum.db")); err != nil {
		t.Fatalf("restored db: %v", err)
	}
}

func TestDrill(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithStoreClock())
	addBlob(t, w.Blobs, 150_000)
	b := NewBackups(BackupDeps{Config: w.Config, Store: w.Store, Keys: w.Keys, Now: w.Clock.Now})
	if _, err := b.Drill(ctx, admin); !errors.Is(err, ErrNoBackup) {
		t.Fatalf("drill without a backup: %v", err)
	}
	if _, err := b.Run(ctx, admin); err != nil {
		t.Fatal(err)
	}
	res, err := b.Drill(ctx, admin)
	if err != nil || res.Manifest.Blobs != 1 {
		t.Fatalf("drill of a good backup: %+v %v", res, err)
	}
	st, err := b.Status(ctx)
	if err != nil || !st.DrillOK || st.LastDrill == nil || st.LastDrill.Status != store.BackupOK {
		t.Fatalf("status after a good drill: %+v %v", st, err)
	}
	if ents, _ := os.ReadDir(b.scratchDir()); len(ents) != 2 { // backup.lock, drill.lock
		t.Fatalf("the drill left entries in its scratch dir: %v", ents)
	}
	// Nine days later the drill is stale.
	w.Clock.Advance(9 * 24 * time.Hour)
	if st, _ := b.Status(ctx); st.DrillOK || !strings.Contains(st.DrillProblem, "8 days") {
		t.Fatalf("status after 9 days: %+v", st)
	}
	// A corrupt newest backup: the drill fails and says why.
	w.Clock.Advance(time.Hour)
	newest, err := b.Run(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(newest.File)
	flipByte(t, newest.File, fi.Size()/2)
	if _, err := b.Drill(ctx, admin); !errors.Is(err, ErrBackupDamaged) {
		t.Fatalf("drill of a corrupt backup: %v", err)
	}
	st, _ = b.Status(ctx)
	if st.DrillOK || st.LastDrill.Status != store.BackupFailed || st.LastDrill.File != filepath.Base(newest.File) ||
		!strings.Contains(st.DrillProblem, "failed") {
		t.Fatalf("status after a failed drill: %+v / %+v", st, st.LastDrill)
	}
	if st.Backups[0].LastVerify == nil || st.Backups[0].LastVerify.Status != store.BackupFailed {
		t.Fatalf("the newest backup's last check: %+v", st.Backups[0].LastVerify)
	}
}

func TestRotation(t *testing.T) {
	day := func(d, h int) BackupFile {
		at := time.Date(2026, 11, d, h, 0, 0, 0, time.UTC)
		return BackupFile{Name: "dictum-" + at.Format(nameTime) + ".backup", CreatedAt: at}
	}
	// Newest first: two a day from Nov 30 back to Nov 1.
	var files []BackupFile
	for d := 30; d >= 1; d-- {
		files = append(files, day(d, 14), day(d, 2))
	}
	cases := []struct {
		daily, weekly int
		want          []string
	}{
		{1, 0, []string{day(30, 14).Name}},
		{3, 0, []string{day(30, 14).Name, day(29, 14).Name, day(28, 14).Name}},
		// Nov 30 2026 is a Monday: weeks start Nov 30, Nov 23 (Mon), Nov 16.
		{2, 3, []string{day(30, 14).Name, day(29, 14).Name, day(22, 14).Name}},
	}
	for _, tc := range cases {
		keep := retain(files, tc.daily, tc.weekly, time.UTC)
		if len(keep) != len(tc.want) {
			t.Errorf("daily %d weekly %d: kept %v, want %v", tc.daily, tc.weekly, keep, tc.want)
			continue
		}
		for _, n := range tc.want {
			if !keep[n] {
				t.Errorf("daily %d weekly %d: %s not kept (kept %v)", tc.daily, tc.weekly, n, keep)
			}
		}
	}
}

func TestRunRotatesAndListsOnlyComplete(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithConfig(func(c *config.Config) { c.Backup.KeepDaily = 2; c.Backup.KeepWeekly = 0 }))
	clock := time.Date(2026, 11, 20, 2, 30, 0, 0, time.UTC)
	b := NewBackups(BackupDeps{Config: w.Config, Store: w.Store, Keys: w.Keys, Now: func() time.Time { return clock }})
	for i := 0; i < 4; i++ {
		if _, err := b.Run(ctx, admin); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(24 * time.Hour)
	}
	// A leftover temp file from an interrupted run is not listed and is removed by the next run.
	stale := filepath.Join(b.Dir(), tmpPrefix+"dictum-20261101T000000Z.backup")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := b.Files(ctx)
	if err != nil || len(files) != 2 || files[0].Name != "dictum-20261123T023000Z.backup" {
		t.Fatalf("files after rotation: %+v %v", files, err)
	}
	if _, err := b.Run(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temp file still there: %v", err)
	}
	ev, _ := w.Store.AuditEvents(ctx, "backup_dir", "", 5)
	if len(ev) == 0 || ev[0].Action != "backup.rotate" {
		t.Fatalf("rotation not audited: %+v", ev)
	}
}

func TestBusy(t *testing.T) {
	w := testrig.New(t)
	b := newBackups(t, w)
	unlock, err := b.lock("backup")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background(), admin); !errors.Is(err, ErrBusy) {
		t.Fatalf("second backup: %v", err)
	}
	unlock()
	if _, err := b.Run(context.Background(), admin); err != nil {
		t.Fatal(err)
	}
}

func TestScheduledBackupIsVerified(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	addBlob(t, w.Blobs, 70_000)
	b := newBackups(t, w)
	if err := b.Scheduled(ctx); err != nil {
		t.Fatal(err)
	}
	files, err := b.Files(ctx)
	if err != nil || len(files) != 1 {
		t.Fatalf("files: %v %v", files, err)
	}
	v := files[0].LastVerify
	if v == nil || v.Kind != store.BackupKindVerify || v.Status != store.BackupOK || v.Actor != "system" {
		t.Fatalf("last verify of the scheduled backup: %+v", v)
	}
	// Another backup directory (the CLI's --to) shares the data dir's lock.
	other := NewBackups(BackupDeps{Config: w.Config, Store: w.Store, Keys: w.Keys, Dir: t.TempDir()})
	unlock, err := b.lock("backup")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := other.Run(ctx, admin); !errors.Is(err, ErrBusy) {
		t.Fatalf("a backup to another dir while one runs: %v", err)
	}
}
