package lifecycle

import (
	"archive/tar"
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"dictum/internal/blob"
	"dictum/internal/buildinfo"
	"dictum/internal/config"
	"dictum/internal/identity"
	"dictum/internal/platform"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// ErrBusy is returned when a backup (or a drill) is already running, in this process or
// another one (the CLI while the server runs).
var ErrBusy = errors.New("a backup is already running; try again when it has finished")

// ErrNoBackup is returned when the backup directory holds no backup.
var ErrNoBackup = errors.New("no backup found")

// BackupDeps are the collaborators of the backup service.
type BackupDeps struct {
	Config *config.Config
	Store  *store.Store
	Keys   *vault.Keys
	Log    *slog.Logger
	// Dir overrides [backup] dir (the CLI's --to).
	Dir string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Backups writes, lists, rotates and verifies backups and runs restore drills.
type Backups struct {
	st         *store.Store
	keys       *vault.Keys
	log        *slog.Logger
	now        func() time.Time
	dir        string
	dataDir    string
	blobDir    string
	keepDaily  int
	keepWeekly int
	loc        *time.Location
	wg         sync.WaitGroup
}

// NewBackups builds the service.
func NewBackups(d BackupDeps) *Backups {
	b := &Backups{st: d.Store, keys: d.Keys, log: d.Log, now: d.Now, dir: d.Dir,
		dataDir: d.Config.DataDir, blobDir: d.Config.BlobDir(),
		keepDaily: d.Config.Backup.KeepDaily, keepWeekly: d.Config.Backup.KeepWeekly}
	if b.dir == "" {
		b.dir = d.Config.BackupDir()
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.now == nil {
		b.now = time.Now
	}
	if loc, err := d.Config.Location(); err == nil {
		b.loc = loc
	} else {
		b.loc = time.UTC
	}
	return b
}

// Dir is the backup directory.
func (b *Backups) Dir() string { return b.dir }

// Wait waits for backups started with Start (server shutdown, tests).
func (b *Backups) Wait() { b.wg.Wait() }

// Result describes a finished backup.
type Result struct {
	RunID    string        `json:"id"`
	File     string        `json:"file"` // full path
	Size     int64         `json:"size_bytes"`
	Manifest *Manifest     `json:"manifest"`
	Took     time.Duration `json:"-"`
}

// Run writes a backup now and rotates old ones. It fails with ErrBusy when another backup
// holds the lock.
func (b *Backups) Run(ctx context.Context, a identity.Actor) (*Result, error) {
	unlock, err := b.lock("backup")
	if err != nil {
		return nil, err
	}
	defer unlock()
	run, err := b.begin(ctx, a)
	if err != nil {
		return nil, err
	}
	return b.run(ctx, a, run)
}

// Start begins a backup in the background and returns its run id (the API's 202).
func (b *Backups) Start(ctx context.Context, a identity.Actor) (string, error) {
	unlock, err := b.lock("backup")
	if err != nil {
		return "", err
	}
	run, err := b.begin(ctx, a)
	if err != nil {
		unlock()
		return "", err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer unlock()
		if _, err := b.run(context.WithoutCancel(ctx), a, run); err != nil {
			b.log.Error("backup failed", "run", run.ID, "err", err.Error())
		}
	}()
	return run.ID, nil
}

// Scheduled is the cron job: a backup, then a verify of the file written; a busy lock is
// not an error.
func (b *Backups) Scheduled(ctx context.Context) error {
	res, err := b.Run(ctx, identity.System())
	if errors.Is(err, ErrBusy) {
		b.log.Info("scheduled backup skipped: another backup is running")
		return nil
	}
	if err != nil {
		return err
	}
	b.log.Info("backup written", "file", filepath.Base(res.File), "bytes", res.Size, "blobs", res.Manifest.Blobs, "took", res.Took.String())
	// Read the file back from where it landed (a NAS, say): a backup nobody has read is a
	// hope. The result is the file's "last verify" in the list.
	if _, err := b.Verify(ctx, identity.System(), res.File); err != nil {
		return fmt.Errorf("the backup just written does not verify: %w", err)
	}
	return nil
}

// begin cleans up after interrupted runs (the caller holds the lock, so no other backup
// is alive) and records the new run.
func (b *Backups) begin(ctx context.Context, a identity.Actor) (*store.BackupRun, error) {
	if n, err := b.st.FailStaleBackupRuns(ctx, identity.System(), store.BackupKindBackup); err != nil {
		return nil, err
	} else if n > 0 {
		b.log.Warn("marked interrupted backups as failed", "count", n)
	}
	b.removeTemps()
	return b.st.StartBackupRun(ctx, a, store.BackupKindBackup, "")
}

func (b *Backups) run(ctx context.Context, a identity.Actor, run *store.BackupRun) (*Result, error) {
	start := time.Now()
	res, err := b.write(ctx, a)
	if err != nil {
		msg := err.Error()
		if ferr := b.st.FinishBackupRun(ctx, a, run.ID, store.BackupFailed, "", 0, msg, nil); ferr != nil {
			b.log.Error("record failed backup", "err", ferr.Error())
		}
		return nil, err
	}
	res.RunID, res.Took = run.ID, time.Since(start)
	detail := map[string]any{"blobs": res.Manifest.Blobs, "schema_version": res.Manifest.SchemaVersion,
		"audit_head": res.Manifest.AuditHead.ID, "took_ms": res.Took.Milliseconds()}
	status, msg := store.BackupOK, ""
	if len(res.Manifest.SkippedBlobs) > 0 {
		// The file is complete and restorable, but a firm must hear about damaged blobs.
		status = store.BackupFailed
		msg = fmt.Sprintf("written without %d damaged blob(s): %s (see `dictum doctor`)", len(res.Manifest.SkippedBlobs), strings.Join(res.Manifest.SkippedBlobs, ", "))
	}
	if err := b.st.FinishBackupRun(ctx, a, run.ID, status, filepath.Base(res.File), res.Size, msg, detail); err != nil {
		return nil, err
	}
	removed, err := b.Rotate(ctx)
	if err != nil {
		b.log.Error("backup rotation failed", "err", err.Error())
	} else if len(removed) > 0 {
		b.log.Info("old backups removed by rotation", "files", strings.Join(removed, ", "))
	}
	if msg != "" {
		return res, errors.New(msg)
	}
	return res, nil
}

const (
	filePrefix = "dictum-"
	fileSuffix = ".backup"
	tmpPrefix  = ".tmp-"
	nameTime   = "20060102T150405Z"
)

// backupTime parses the time out of a backup file name; ok is false for other files.
func backupTime(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
		return time.Time{}, false
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix)
	if len(mid) < len(nameTime) {
		return time.Time{}, false
	}
	t, err := time.Parse(nameTime, mid[:len(nameTime)])
	if err != nil {
		return time.Time{}, false
	}
	if rest := mid[len(nameTime):]; rest != "" && !isCounter(rest) {
		return time.Time{}, false
	}
	return t, true
}

func isCounter(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// scratchDir is where snapshots and drills put their (always encrypted) working files:
// on the data dir's disk, not on the backup target (a NAS may not do SQLite locking).
func (b *Backups) scratchDir() string { return filepath.Join(b.dataDir, ".backup-tmp") }

// removeTemps deletes what an interrupted run left: temp backup files and snapshots.
// Only called with the lock held.
func (b *Backups) removeTemps() {
	if ents, err := os.ReadDir(b.dir); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				if err := os.Remove(filepath.Join(b.dir, e.Name())); err == nil {
					b.log.Info("removed an incomplete backup left by an interrupted run", "file", e.Name())
				}
			}
		}
	}
	if ents, err := os.ReadDir(b.scratchDir()); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "snap-") {
				_ = os.RemoveAll(filepath.Join(b.scratchDir(), e.Name()))
			}
		}
	}
}

// lock takes an exclusive, non-blocking flock on <data>/.backup-tmp/<what>.lock: one per
// data dir, whichever backup directory (--to) a run writes to. The kernel drops it when
// the process dies, so kill -9 never leaves a stale lock.
func (b *Backups) lock(what string) (func(), error) {
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", b.dir, err)
	}
	if err := os.MkdirAll(b.scratchDir(), 0o700); err != nil {
		return nil, fmt.Errorf("backup scratch directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(b.scratchDir(), what+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	if err := platform.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, platform.ErrLocked) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	return func() {
		_ = platform.Unlock(f)
		f.Close()
	}, nil
}

// write produces one backup file: temp name, fsync, atomic rename, fsync of the directory.
func (b *Backups) write(ctx context.Context, a identity.Actor) (res *Result, err error) {
	now := b.now().UTC()
	name := filePrefix + now.Format(nameTime) + fileSuffix
	for i := 1; ; i++ {
		if _, err := os.Stat(filepath.Join(b.dir, name)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s%s-%d%s", filePrefix, now.Format(nameTime), i, fileSuffix)
	}
	final := filepath.Join(b.dir, name)
	tmp := filepath.Join(b.dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bk := b.keys.Backup()
	in := innerKeys(bk)
	bw := bufio.NewWriterSize(f, 256<<10)
	enc, err := vault.NewWriter(bw, bk)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(enc)
	man := &Manifest{Format: FormatVersion, CreatedAt: now.Format(time.RFC3339), CreatedBy: a.Username,
		DictumVersion: buildinfo.Version, MasterFingerprint: b.keys.Fingerprint(), Counts: map[string]int64{}}

	// 1. The database: a consistent snapshot, encrypted from its first byte.
	if err := os.MkdirAll(b.scratchDir(), 0o700); err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	snapDir, err := os.MkdirTemp(b.scratchDir(), "snap-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	defer os.RemoveAll(snapDir)
	snap := filepath.Join(snapDir, "dictum.db")
	if err := Snapshot(ctx, b.st, snap, in.db); err != nil {
		return nil, err
	}
	if err := describeSnapshot(ctx, snap, in.db, man); err != nil {
		return nil, err
	}
	m, err := copyFileMember(tw, memberDB, snap, now.Unix())
	if err != nil {
		return nil, err
	}
	man.Members = append(man.Members, m)
	_ = os.RemoveAll(snapDir)

	// 2. The firm root CA, its key re-sealed under the backup's TLS key.
	ms, err := b.caMembers(tw, in.tls, now.Unix())
	if err != nil {
		return nil, err
	}
	man.Members = append(man.Members, ms...)

	// 3. Every blob, its data key re-wrapped under the backup's blob key.
	oldKEK := b.keys.Blob()
	err = walkBlobs(b.blobDir, func(id, path string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := blobMemberFrom(tw, id, path, oldKEK, in.blob)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // deleted since the walk listed it
		case errors.Is(err, errSkipBlob):
			b.log.Error("blob not backed up: its header is damaged or under another key", "blob", id, "err", err.Error())
			man.SkippedBlobs = append(man.SkippedBlobs, id)
			return nil
		case err != nil:
			return err
		}
		man.Members = append(man.Members, m)
		man.Blobs++
		man.BlobBytes += m.Size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("back up blobs: %w", err)
	}

	// 4. The manifest, then seal and publish the file.
	mb, err := json.MarshalIndent(man, "", " ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if _, err := writeMember(tw, memberManifest, int64(len(mb)), now.Unix(), func(w io.Writer) error {
		_, err := w.Write(mb)
		return err
	}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish archive: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("finish encryption: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("fsync %s: %w", tmp, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("publish backup: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		return nil, fmt.Errorf("fsync %s: %w", b.dir, err)
	}
	return &Result{File: final, Size: fi.Size(), Manifest: man}, nil
}

// Snapshot writes a transactionally consistent copy of the live database to path,
// SQLCipher-encrypted under key, while other connections keep reading and writing.
//
// It ATTACHes a new database keyed with key and runs sqlcipher_export (store.ExportTo:
// the same steps in SQL on the Windows build's engine) inside one
// deferred read transaction (BEGIN DEFERRED: writers are not blocked; WAL gives the
// export a fixed snapshot). Measured against VACUUM INTO on the keyed connection (which
// on SQLCipher 4.6 writes a file encrypted under the live key, not plaintext): the same
// speed (~250 ms for 24 MB), but VACUUM INTO would need a second full pass (PRAGMA rekey,
// ~300 ms) to put the copy under the backup's own key; sqlcipher_export writes it under
// that key in one pass. Plaintext never touches the disk either way.
func Snapshot(ctx context.Context, st *store.Store, path string, key [32]byte) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("snapshot: %s already exists", path)
	}
	if strings.ContainsAny(path, "'\x00") {
		return fmt.Errorf("snapshot: unsupported character in path %q", path)
	}
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer conn.Close()
	// This connection had a keyed database attached: never hand it back to the pool,
	// whatever state an error left it in.
	defer func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }()
	// The key is a raw x'..' key; the statement is never logged and errors are ours.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ATTACH DATABASE '%s' AS backup_snap KEY \"x'%s'\"", path, hex.EncodeToString(key[:]))); err != nil {
		return errors.New("snapshot: attach the snapshot file failed")
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE backup_snap") }()
	if _, err := conn.ExecContext(ctx, "PRAGMA backup_snap.cache_size = -2048"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return fmt.Errorf("snapshot: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := store.ExportTo(ctx, conn, "backup_snap"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// sqlcipher_export copies schema and rows but not user_version (the schema version).
	var uv int
	if err := conn.QueryRowContext(ctx, "PRAGMA main.user_version").Scan(&uv); err != nil {
		return fmt.Errorf("snapshot: schema version: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA backup_snap.user_version = %d", uv)); err != nil {
		return fmt.Errorf("snapshot: set schema version: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("snapshot: commit: %w", err)
	}
	committed = true
	return nil
}

// describeSnapshot fills the manifest's schema version, row counts and audit head from
// the snapshot itself, so they describe exactly what the backup holds.
func describeSnapshot(ctx context.Context, path string, key [32]byte, man *Manifest) error {
	st, err := store.Open(ctx, path, store.Options{Key: &key, CacheMiB: 2})
	if err != nil {
		return fmt.Errorf("open snapshot: %w", err)
	}
	defer st.Close()
	if man.SchemaVersion, err = st.Version(ctx); err != nil {
		return fmt.Errorf("snapshot schema version: %w", err)
	}
	if man.Counts, err = countRows(ctx, st); err != nil {
		return err
	}
	if man.AuditHead, err = st.AuditHead(ctx); err != nil {
		return err
	}
	return nil
}

// countRows counts the rows of every table.
func countRows(ctx context.Context, st *store.Store) (map[string]int64, error) {
	rows, err := st.DB().QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			return nil, fmt.Errorf("count %s: %w", n, err)
		}
		out[n] = c
	}
	return out, nil
}

func copyFileMember(tw *tar.Writer, name, path string, mod int64) (Member, error) {
	f, err := os.Open(path)
	if err != nil {
		return Member{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Member{}, err
	}
	return writeMember(tw, name, fi.Size(), mod, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// caMembers writes the firm root CA (certificate as is, key re-sealed from this server's
// TLS key to tlsKey). A data dir without a CA (TLS off or ACME) has none: no members.
func (b *Backups) caMembers(tw *tar.Writer, tlsKey [32]byte, mod int64) ([]Member, error) {
	dir := tlsca.RootDir(b.dataDir)
	cert, err := readSmall(filepath.Join(dir, tlsca.RootCertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("firm root CA: %w", err)
	}
	sealed, err := readSmall(filepath.Join(dir, tlsca.RootKeyFile))
	if err != nil {
		return nil, fmt.Errorf("firm root CA key: %w", err)
	}
	resealed, err := tlsca.ResealRootKey(cert, sealed, b.keys.TLS(), tlsKey)
	if err != nil {
		return nil, fmt.Errorf("firm root CA key: %w", err)
	}
	var out []Member
	for _, f := range []struct {
		name string
		data []byte
	}{{memberCACert, cert}, {memberCAKey, resealed}} {
		m, err := writeMember(tw, f.name, int64(len(f.data)), mod, func(w io.Writer) error {
			_, err := w.Write(f.data)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCAFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCAFile)
	}
	return b, nil
}

var errSkipBlob = errors.New("damaged blob header")

// blobMemberFrom writes one blob: its header with the data key re-wrapped, then its
// chunks as they are on disk.
func blobMemberFrom(tw *tar.Writer, id, path string, oldKEK, newKEK [32]byte) (Member, error) {
	f, err := os.Open(path)
	if err != nil {
		return Member{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Member{}, err
	}
	hdr := make([]byte, vault.HeaderSize)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return Member{}, fmt.Errorf("%w: %s: %v", errSkipBlob, id, err)
	}
	if err := blobHeaderRewrap(hdr, oldKEK, newKEK); err != nil {
		return Member{}, fmt.Errorf("%w: %s: %v", errSkipBlob, id, err)
	}
	return writeMember(tw, blobPrefix+id[:2]+"/"+id[2:], fi.Size(), fi.ModTime().Unix(), func(w io.Writer) error {
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		_, err := io.CopyN(w, f, fi.Size()-int64(len(hdr)))
		return err
	})
}

// walkBlobs calls fn for every committed blob file under dir (temp files of uploads in
// progress and the key-rotation journal are skipped), in a stable order.
func walkBlobs(dir string, fn func(id, path string) error) error {
	shards, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if !sh.IsDir() || len(sh.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(dir, sh.Name()))
		if err != nil {
			return err
		}
		for _, e := range ents {
			id := sh.Name() + e.Name()
			if !e.Type().IsRegular() || !blob.ValidID(id) {
				continue
			}
			if err := fn(id, filepath.Join(dir, sh.Name(), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func syncDir(dir string) error { return platform.SyncDir(dir) }

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

// BackupFile is a backup in the backup directory.
type BackupFile struct {
	Name       string           `json:"name"`
	Size       int64            `json:"size_bytes"`
	CreatedAt  time.Time        `json:"created_at"`
	AgeSeconds int64            `json:"age_seconds"`
	LastVerify *store.BackupRun `json:"last_verify,omitempty"`
}

// Files lists the complete backups in the directory, newest first. Temp files of a run in
// progress or of an interrupted one are never listed.
func (b *Backups) Files(ctx context.Context) ([]BackupFile, error) {
	ents, err := os.ReadDir(b.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []BackupFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var verifies map[string]*store.BackupRun
	if b.st != nil {
		if verifies, err = b.st.LastVerifies(ctx); err != nil {
			return nil, err
		}
	}
	now := b.now()
	out := []BackupFile{}
	for _, e := range ents {
		t, ok := backupTime(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, BackupFile{Name: e.Name(), Size: fi.Size(), CreatedAt: t,
			AgeSeconds: int64(now.Sub(t).Seconds()), LastVerify: verifies[e.Name()]})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

// Rotate deletes backups beyond the newest of each of the last keep_daily days and of the
// last keep_weekly ISO weeks (days and weeks in the firm's time zone). The newest backup
// is always kept. It returns the names removed.
func (b *Backups) Rotate(ctx context.Context) ([]string, error) {
	files, err := b.Files(ctx)
	if err != nil {
		return nil, err
	}
	keep := retain(files, b.keepDaily, b.keepWeekly, b.loc)
	var removed []string
	for _, f := range files {
		if keep[f.Name] {
			continue
		}
		if err := os.Remove(filepath.Join(b.dir, f.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("rotate: %w", err)
		}
		removed = append(removed, f.Name)
	}
	if len(removed) > 0 {
		_ = syncDir(b.dir)
		if err := b.st.Audit(ctx, identity.System(), "backup.rotate", "backup_dir", "", map[string]any{"removed": removed}); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// retain picks the files rotation keeps (files are newest first).
func retain(files []BackupFile, daily, weekly int, loc *time.Location) map[string]bool {
	keep := map[string]bool{}
	if len(files) > 0 {
		keep[files[0].Name] = true
	}
	days, weeks := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		t := f.CreatedAt.In(loc)
		day := t.Format("2006-01-02")
		y, w := t.ISOWeek()
		week := fmt.Sprintf("%d-W%02d", y, w)
		if !days[day] && len(days) < daily {
			days[day] = true
			keep[f.Name] = true
		}
		if !weeks[week] && len(weeks) < weekly {
			weeks[week] = true
			keep[f.Name] = true
		}
	}
	return keep
}

// Path resolves a backup name from the directory listing (no path separators).
func (b *Backups) Path(name string) (string, error) {
	if _, ok := backupTime(name); !ok || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%q is not a backup file name", name)
	}
	return filepath.Join(b.dir, name), nil
}

// SizeText is the size for people (MiB with one decimal, or KiB for small files).
func (f BackupFile) SizeText() string {
	if f.Size < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(f.Size)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(f.Size)/(1<<20))
}
