package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"dictum/internal/vault"
)

// RewrapAll re-wraps the data key of every blob from oldKEK to newKEK without rewriting any
// chunk, and makes newKEK the store's key for new and opened blobs. It is idempotent:
// blobs already wrapped by newKEK are skipped, so after a crash or an error simply run it
// again. It keeps going past a blob it cannot rewrap and returns all such errors joined;
// n counts the blobs rewritten. Run it while nothing else writes to the store (the key
// rotation command runs with the server stopped): an upload still in flight from before
// the call is wrapped by oldKEK.
func (s *Store) RewrapAll(oldKEK, newKEK [32]byte) (n int, err error) {
	s.mu.Lock()
	s.kek = newKEK
	s.mu.Unlock()
	if err := s.recoverJournal(newKEK); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, journalDir), 0o700); err != nil {
		return 0, fmt.Errorf("blob: rewrap: journal directory: %w", err)
	}
	shards, err := s.shards()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, shard := range shards {
		entries, err := os.ReadDir(shard)
		if err != nil {
			errs = append(errs, fmt.Errorf("blob: rewrap: %w", err))
			continue
		}
		for _, e := range entries {
			id := filepath.Base(shard) + e.Name()
			if !e.Type().IsRegular() || !ValidID(id) {
				continue
			}
			done, err := s.rewrapOne(id, oldKEK, newKEK)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if done {
				n++
			}
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("blob: rewrap: %d blob(s) failed: %w", len(errs), errors.Join(errs...))
	}
	return n, nil
}

// rewrapOne rewraps one blob under the journal protocol described in the package comment.
// It reports false when the blob was already wrapped by newKEK.
func (s *Store) rewrapOne(id string, oldKEK, newKEK [32]byte) (bool, error) {
	p, _ := s.path(id)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("blob %s: rewrap: %w", id, err)
	}
	defer f.Close()
	if vault.CheckKey(f, newKEK) == nil {
		return false, nil
	}
	if err := vault.CheckKey(f, oldKEK); err != nil {
		return false, fmt.Errorf("blob %s: rewrap: %w", id, err)
	}
	hdr := make([]byte, vault.HeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return false, fmt.Errorf("blob %s: rewrap: read header: %w", id, err)
	}
	journal := filepath.Join(s.dir, journalDir, id)
	if err := writeJournal(journal, hdr); err != nil {
		return false, fmt.Errorf("blob %s: rewrap: %w", id, err)
	}
	if err := vault.Rewrap(f, oldKEK, newKEK); err != nil {
		return false, fmt.Errorf("blob %s: %w", id, s.restore(f, hdr, journal, err))
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("blob %s: rewrap: fsync: %w", id, s.restore(f, hdr, journal, err))
	}
	// If this removal is lost in a crash, recovery finds the header valid under newKEK
	// and just drops the entry.
	if err := os.Remove(journal); err != nil {
		return true, fmt.Errorf("blob %s: rewrap: remove journal entry: %w", id, err)
	}
	return true, nil
}

// restore puts the saved header back after a failed in-place write and returns cause.
func (s *Store) restore(f *os.File, hdr []byte, journal string, cause error) error {
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("%w (header restore failed: %v; journal kept at %s)", cause, err, journal)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w (header restore not synced: %v; journal kept at %s)", cause, err, journal)
	}
	os.Remove(journal)
	return cause
}

// writeJournal durably saves a header copy: temp file, fsync, rename, fsync directory.
func writeJournal(path string, hdr []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = tmp.Write(hdr)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// recoverJournal replays entries left by a crash during RewrapAll. A blob whose header
// unwraps under kek is fine and its entry is dropped; any other blob (torn header, or
// rewrapped to a key other than kek) gets the saved header back, which unwraps under the
// rotation's old key.
func (s *Store) recoverJournal(kek [32]byte) error {
	dir := filepath.Join(s.dir, journalDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: rewrap journal: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			// Never renamed into place, so its blob was not touched yet.
			os.Remove(filepath.Join(dir, name))
			continue
		}
		if !ValidID(name) {
			continue
		}
		if err := s.recoverOne(filepath.Join(dir, name), name, kek); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("blob: rewrap journal recovery: %w", err)
	}
	return nil
}

func (s *Store) recoverOne(journal, id string, kek [32]byte) error {
	hdr, err := os.ReadFile(journal)
	if err != nil {
		return fmt.Errorf("blob %s: %w", id, err)
	}
	if len(hdr) != vault.HeaderSize {
		return fmt.Errorf("blob %s: journal entry is %d bytes, want %d", id, len(hdr), vault.HeaderSize)
	}
	p, _ := s.path(id)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Remove(journal) // deleted since
	}
	if err != nil {
		return fmt.Errorf("blob %s: %w", id, err)
	}
	defer f.Close()
	if vault.CheckKey(f, kek) != nil {
		if _, err := f.WriteAt(hdr, 0); err != nil {
			return fmt.Errorf("blob %s: restore header: %w", id, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("blob %s: restore header: %w", id, err)
		}
	}
	if err := os.Remove(journal); err != nil {
		return fmt.Errorf("blob %s: %w", id, err)
	}
	return nil
}
