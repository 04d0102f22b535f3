package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// ErrDataDirNotEmpty is returned when restore would overwrite a data directory.
var ErrDataDirNotEmpty = errors.New("the data directory is not empty (add --force to move it aside and restore anyway)")

// RestoreOptions say what to restore where.
type RestoreOptions struct {
	// File is the backup file.
	File string
	// DataDir is the data directory to restore into. It must not exist, or be empty, or
	// Force must be set.
	DataDir string
	// BackupKey opens the backup: the backup key of the server that made it.
	BackupKey [32]byte
	// Target is the master key the restored data is re-keyed to: the database gets
	// Target.DB() and every blob's data key is re-wrapped under Target.Blob().
	Target *vault.Keys
	// MasterKeyFile, when set, is where Target's master key is written once everything
	// else succeeded (a new server that has no key yet). A path inside DataDir is written
	// into the restored directory.
	MasterKeyFile string
	// Force moves a non-empty DataDir aside to <DataDir>.old-<timestamp>.
	Force bool
	// Actor is recorded in the restored audit log.
	Actor identity.Actor
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// BeforeSwap, when set, runs once everything is verified, just before the old data
	// dir is moved aside: Windows refuses to rename a directory with an open file in it,
	// so the CLI drops its data-dir lock there.
	BeforeSwap func()
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	DataDir     string    `json:"data_dir"`
	OldDir      string    `json:"old_dir,omitempty"` // where --force moved the previous data dir
	Manifest    *Manifest `json:"manifest"`
	AuditEvents int       `json:"audit_events"`
	Took        time.Duration
}

// Restore restores a backup into a data directory. It works in a staging directory next
// to the target and only moves it into place once every member was authenticated, every
// hash matched the manifest, the database passed integrity_check and the audit chain
// verified; any failure leaves the target untouched and removes the staging directory. A
// wrong key fails before anything is written.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.Target == nil {
		return nil, errors.New("restore: no target key")
	}
	target, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("restore: data dir: %w", err)
	}
	empty, err := dirEmpty(target)
	if err != nil {
		return nil, fmt.Errorf("restore: data dir %s: %w", target, err)
	}
	if !empty && !o.Force {
		return nil, fmt.Errorf("restore into %s: %w", target, ErrDataDirNotEmpty)
	}
	f, err := os.Open(o.File)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	// Check the key on the header before creating anything.
	if err := vault.CheckKey(f, o.BackupKey); err != nil {
		if errors.Is(err, vault.ErrWrongKey) {
			return nil, ErrBackupKey
		}
		return nil, fmt.Errorf("%w: %v", ErrBackupDamaged, err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".restoring-")
	if err != nil {
		return nil, fmt.Errorf("restore: staging directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(staging)
		}
	}()
	man, events, err := restoreInto(ctx, f, staging, o)
	if err != nil {
		return nil, err
	}
	if o.MasterKeyFile != "" && within(o.MasterKeyFile, target) {
		rel, _ := filepath.Rel(target, o.MasterKeyFile)
		p := filepath.Join(staging, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := o.Target.Save(p); err != nil {
			return nil, fmt.Errorf("restore: write master key: %w", err)
		}
	}
	if o.MasterKeyFile != "" && !within(o.MasterKeyFile, target) {
		if _, err := os.Stat(o.MasterKeyFile); err == nil {
			return nil, fmt.Errorf("restore: master key file %s already exists; refusing to overwrite it", o.MasterKeyFile)
		}
		if err := os.MkdirAll(filepath.Dir(o.MasterKeyFile), 0o700); err != nil {
			return nil, err
		}
		if err := o.Target.Save(o.MasterKeyFile); err != nil {
			return nil, fmt.Errorf("restore: write master key: %w", err)
		}
	}
	res := &RestoreResult{DataDir: target, Manifest: man, AuditEvents: events}
	if o.BeforeSwap != nil {
		o.BeforeSwap()
	}
	if !empty {
		res.OldDir = fmt.Sprintf("%s.old-%s", target, now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(target, res.OldDir); err != nil {
			return nil, fmt.Errorf("restore: move the old data dir aside: %w", err)
		}
	} else if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(staging, target); err != nil {
		if res.OldDir != "" {
			_ = os.Rename(res.OldDir, target)
		}
		return nil, fmt.Errorf("restore: move the restored data into place: %w", err)
	}
	ok = true
	_ = syncDir(filepath.Dir(target))
	res.Took = time.Since(start)
	return res, nil
}

// restoreInto extracts, re-keys and checks a backup in dir (the staging directory).
func restoreInto(ctx context.Context, f *os.File, dir string, o RestoreOptions) (*Manifest, int, error) {
	in := innerKeys(o.BackupKey)
	innerDB := in.db
	newKEK := o.Target.Blob()
	dbPath := filepath.Join(dir, "dictum.db")
	blobDir := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobDir, 0o700); err != nil {
		return nil, 0, err
	}
	var ca caFiles
	man, err := readBackup(f, o.BackupKey, func(name string, size int64, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch name {
		case memberDB:
			return writeFile(dbPath, r)
		case memberCACert, memberCAKey:
			return ca.read(name, size, r)
		}
		rel := strings.TrimPrefix(name, blobPrefix) // aa/<30 hex>, checked by readBackup
		p := filepath.Join(blobDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		hdr := make([]byte, vault.HeaderSize)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return fmt.Errorf("%w: blob header: %v", ErrBackupDamaged, err)
		}
		if err := blobHeaderRewrap(hdr, in.blob, newKEK); err != nil {
			return fmt.Errorf("%w: blob key: %v", ErrBackupDamaged, err)
		}
		return writeFile(p, io.MultiReader(strings.NewReader(string(hdr)), r))
	})
	if err != nil {
		return nil, 0, err
	}
	if err := ca.restore(filepath.Join(dir, "ca"), in.tls, o.Target.TLS()); err != nil {
		return nil, 0, err
	}
	if err := syncTree(dir); err != nil {
		return nil, 0, fmt.Errorf("restore: fsync: %w", err)
	}
	// Re-key the database to the target's key, then check it under that key.
	st, err := store.Open(ctx, dbPath, store.Options{Key: &innerDB, CacheMiB: 2})
	if err != nil {
		return nil, 0, &MemberError{Member: memberDB, Err: err}
	}
	targetDB := o.Target.DB()
	if err := st.Rekey(ctx, targetDB); err != nil {
		st.Close()
		return nil, 0, fmt.Errorf("restore: re-key the database: %w", err)
	}
	if err := st.Close(); err != nil {
		return nil, 0, fmt.Errorf("restore: close database: %w", err)
	}
	st, err = store.Open(ctx, dbPath, store.Options{Key: &targetDB, CacheMiB: 2})
	if err != nil {
		return nil, 0, fmt.Errorf("restore: reopen the re-keyed database: %w", err)
	}
	defer st.Close()
	n, err := checkDB(ctx, st, man)
	if err != nil {
		return nil, 0, &MemberError{Member: memberDB, Err: err}
	}
	detail := map[string]any{"file": filepath.Base(o.File), "backup_created_at": man.CreatedAt,
		"backup_audit_head": man.AuditHead.ID, "blobs": man.Blobs}
	if err := st.Audit(ctx, o.Actor, "backup.restore", "backup", filepath.Base(o.File), detail); err != nil {
		return nil, 0, err
	}
	return man, n, nil
}

// checkDB runs integrity_check and cipher_integrity_check, verifies the audit chain, and
// compares the audit head and the row counts with the manifest. It returns the number of
// audit events verified.
func checkDB(ctx context.Context, st *store.Store, man *Manifest) (int, error) {
	problems, err := st.IntegrityCheck(ctx)
	if err != nil {
		return 0, err
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("%w: integrity check: %s", ErrBackupDamaged, strings.Join(problems, "; "))
	}
	bad, n, err := st.VerifyAudit(ctx)
	if err != nil {
		return 0, err
	}
	if bad != 0 {
		return 0, fmt.Errorf("%w: the audit chain is broken at event %d", ErrBackupDamaged, bad)
	}
	head, err := st.AuditHead(ctx)
	if err != nil {
		return 0, err
	}
	if head.ID != man.AuditHead.ID || head.Hash != man.AuditHead.Hash {
		return 0, fmt.Errorf("%w: audit head %d does not match the manifest's %d", ErrBackupDamaged, head.ID, man.AuditHead.ID)
	}
	counts, err := countRows(ctx, st)
	if err != nil {
		return 0, err
	}
	for table, want := range man.Counts {
		if got := counts[table]; got != want {
			return 0, fmt.Errorf("%w: table %s has %d rows, the manifest says %d", ErrBackupDamaged, table, got, want)
		}
	}
	return n, nil
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

// dirEmpty reports whether dir is missing or empty.
func dirEmpty(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(ents) == 0, nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// VerifyFile checks a backup end to end without keeping anything: every byte of the file
// (GCM), every member's SHA-256 against the manifest, every chunk of every blob inside,
// and the database (opened keyed in a scratch directory under scratch: integrity_check,
// cipher_integrity_check, the audit chain, the row counts). Failures name the member.
func VerifyFile(ctx context.Context, path string, backupKey [32]byte, scratch string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, fmt.Errorf("verify: scratch directory: %w", err)
	}
	tmp, err := os.MkdirTemp(scratch, "verify-")
	if err != nil {
		return nil, fmt.Errorf("verify: scratch directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	in := innerKeys(backupKey)
	innerDB := in.db
	dbPath := filepath.Join(tmp, "dictum.db")
	var ca caFiles
	man, err := readBackup(f, backupKey, func(name string, size int64, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch name {
		case memberDB:
			return writeFile(dbPath, r)
		case memberCACert, memberCAKey:
			return ca.read(name, size, r)
		}
		dec, err := vault.NewReader(r, in.blob)
		if err != nil {
			return fmt.Errorf("%w: blob: %v", ErrBackupDamaged, err)
		}
		if _, err := io.Copy(io.Discard, dec); err != nil {
			return fmt.Errorf("%w: blob: %v", ErrBackupDamaged, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ca.check(in.tls); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, dbPath, store.Options{Key: &innerDB, CacheMiB: 2})
	if err != nil {
		return nil, &MemberError{Member: memberDB, Err: err}
	}
	defer st.Close()
	if _, err := checkDB(ctx, st, man); err != nil {
		return nil, &MemberError{Member: memberDB, Err: err}
	}
	return man, nil
}

// caFiles holds the firm root CA members of a backup (small files) until both are read.
type caFiles struct{ cert, key []byte }

func (c *caFiles) read(name string, size int64, r io.Reader) error {
	if size > maxCAFile {
		return fmt.Errorf("%w: %d bytes", ErrBackupDamaged, size)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if name == memberCACert {
		c.cert = b
	} else {
		c.key = b
	}
	return nil
}

// check proves the CA key opens under the backup's TLS key.
func (c *caFiles) check(tlsKey [32]byte) error {
	if c.cert == nil && c.key == nil {
		return nil
	}
	if c.cert == nil || c.key == nil {
		return &MemberError{Member: memberCAKey, Err: fmt.Errorf("%w: the CA certificate and key must come together", ErrBackupDamaged)}
	}
	if _, err := tlsca.ResealRootKey(c.cert, c.key, tlsKey, tlsKey); err != nil {
		return &MemberError{Member: memberCAKey, Err: fmt.Errorf("%w: %v", ErrBackupDamaged, err)}
	}
	return nil
}

// restore writes the CA into dir with its key re-sealed from the backup's TLS key to the
// target's.
func (c *caFiles) restore(dir string, from, to [32]byte) error {
	if err := c.check(from); err != nil || c.cert == nil {
		return err
	}
	key, err := tlsca.ResealRootKey(c.cert, c.key, from, to)
	if err != nil {
		return &MemberError{Member: memberCAKey, Err: err}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, tlsca.RootKeyFile), strings.NewReader(string(key))); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, tlsca.RootCertFile), strings.NewReader(string(c.cert))); err != nil {
		return err
	}
	return os.Chmod(filepath.Join(dir, tlsca.RootCertFile), 0o644)
}
