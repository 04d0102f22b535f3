// Package blob stores encrypted files (audio, documents, exports) under one directory.
//
// Each blob is a vault stream (chunked AES-256-GCM, one random data key per file wrapped
// by the store's key-encryption key) at <dir>/<id[:2]>/<id[2:]>, where id is 128 random
// bits in lowercase hex. Only ciphertext ever reaches the disk: a Writer encrypts as data
// arrives into a temp file ".tmp-*" in the blob's own shard directory, fsyncs it and
// renames it into place on Commit, then fsyncs the directory. Abort or any write error
// removes the temp file; Sweep removes temp files left by a crash.
//
// Key rotation (RewrapAll) rewrites only the 60-byte wrapped key in each header, in place.
// It is crash-safe through a journal: before touching a blob it saves the old header to
// <dir>/.rewrap/<id> (written to a temp name, fsynced, renamed, directory fsynced), then
// rewrites and fsyncs the blob, then drops the journal entry. Open replays leftover
// entries: a blob whose header no longer unwraps under the store's key gets its saved
// header back, so a torn header write can never lose a file; running RewrapAll again
// finishes the rotation (blobs already under the new key are skipped).
package blob

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"dictum/internal/vault"

	"dictum/internal/platform"
)

const (
	idLen       = 32 // hex characters
	tmpPrefix   = ".tmp-"
	journalDir  = ".rewrap"
	staleTmpAge = time.Hour
)

var (
	// ErrInvalidID is returned for an id that is not 32 lowercase hex characters.
	ErrInvalidID = errors.New("blob: invalid id")
	// ErrNotFound is returned when no blob has the id.
	ErrNotFound = errors.New("blob: not found")
	// ErrDone is returned when a Writer is used after Commit or Abort.
	ErrDone = errors.New("blob: writer already committed or aborted")
)

// Store is a directory of encrypted blobs. Its methods are safe for concurrent use.
type Store struct {
	dir string

	mu  sync.RWMutex
	kek [32]byte
}

// Open opens (creating it with mode 0700 if needed) the blob directory dir, whose blobs'
// data keys are wrapped by kek, and replays any key-rotation journal a crash left behind.
func Open(dir string, kek [32]byte) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create store directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: store directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("blob: store path %s is not a directory", dir)
	}
	s := &Store{dir: dir, kek: kek}
	if err := s.recoverJournal(kek); err != nil {
		return nil, err
	}
	return s, nil
}

// ValidID reports whether id has the form of a blob id (32 lowercase hex characters).
// Only such ids are ever turned into paths, so no id can escape the store directory.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return filepath.Join(s.dir, id[:2], id[2:]), nil
}

func (s *Store) key() [32]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.kek
}

// Writer encrypts one new blob. Call Commit to keep it or Abort to drop it; calling Abort
// after Commit is a no-op, so `defer w.Abort()` is safe. A Writer is not safe for
// concurrent use.
type Writer struct {
	id    string
	shard string
	tmp   *os.File
	enc   io.WriteCloser
	n     int64
	err   error // first write error; the temp file is gone by then
	done  bool
	root  string
	final string
}

// Create starts a new blob with a fresh random id.
func (s *Store) Create() (*Writer, error) {
	var raw [idLen / 2]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("blob: new id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	final, _ := s.path(id)
	shard := filepath.Dir(final)
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create shard directory: %w", err)
	}
	tmp, err := os.CreateTemp(shard, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("blob: create temp file: %w", err)
	}
	enc, err := vault.NewWriter(tmp, s.key())
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("blob: start encryption: %w", err)
	}
	return &Writer{id: id, shard: shard, tmp: tmp, enc: enc, root: s.dir, final: final}, nil
}

// Write encrypts p into the blob. On error the temp file is removed at once and the
// Writer is dead: Commit returns the error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, ErrDone
	}
	n, err := w.enc.Write(p)
	w.n += int64(n)
	if err != nil {
		w.fail(fmt.Errorf("blob: write: %w", err))
		return n, w.err
	}
	return n, nil
}

func (w *Writer) fail(err error) {
	w.err = err
	w.done = true
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// Commit writes the final chunk, fsyncs the file, renames it into place and fsyncs the
// directory. It returns the new id and the plaintext size. On any error nothing is
// committed and the temp file is removed.
func (w *Writer) Commit() (id string, size int64, err error) {
	if w.err != nil {
		return "", 0, w.err
	}
	if w.done {
		return "", 0, ErrDone
	}
	step := func(what string, err error) error {
		if err != nil {
			w.fail(fmt.Errorf("blob: commit: %s: %w", what, err))
			return w.err
		}
		return nil
	}
	if err := step("final chunk", w.enc.Close()); err != nil {
		return "", 0, err
	}
	if err := step("fsync", w.tmp.Sync()); err != nil {
		return "", 0, err
	}
	if err := step("close", w.tmp.Close()); err != nil {
		return "", 0, err
	}
	if err := step("rename", os.Rename(w.tmp.Name(), w.final)); err != nil {
		return "", 0, err
	}
	w.done = true
	// The shard directory may be new, so sync its parent too.
	if err := errors.Join(syncDir(w.shard), syncDir(w.root)); err != nil {
		os.Remove(w.final)
		w.err = fmt.Errorf("blob: commit: fsync directory: %w", err)
		return "", 0, w.err
	}
	return w.id, w.n, nil
}

// Abort drops the blob and removes its temp file. It is a no-op after Commit or a failed
// write.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.err = ErrDone
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: abort: %w", err)
	}
	return nil
}

type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }

func (s *Store) openFile(id string) (*os.File, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", id, err)
	}
	return f, nil
}

// Open returns a streaming reader of the blob's plaintext. Integrity failures surface as
// read errors wrapping vault.ErrTampered or vault.ErrTruncated.
func (s *Store) Open(id string) (io.ReadCloser, error) {
	f, err := s.openFile(id)
	if err != nil {
		return nil, err
	}
	r, err := vault.NewReader(f, s.key())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", id, err)
	}
	return readCloser{r, f}, nil
}

type seekCloser struct {
	*vault.SectionReader
	f *os.File
}

func (s seekCloser) Close() error { return s.f.Close() }

// OpenSeeker returns a random-access reader of the blob's plaintext (for HTTP Range
// requests: reads decrypt only the chunks they cover) and the plaintext size, which is
// authenticated before OpenSeeker returns. The reader also implements io.ReaderAt.
func (s *Store) OpenSeeker(id string) (io.ReadSeekCloser, int64, error) {
	f, err := s.openFile(id)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob %s: %w", id, err)
	}
	r, err := vault.NewReaderAt(f, fi.Size(), s.key())
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob %s: %w", id, err)
	}
	return seekCloser{r, f}, r.Size(), nil
}

// Delete removes a blob. A missing blob is not an error.
func (s *Store) Delete(id string) error {
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("blob: delete %s: %w", id, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("blob: delete %s: %w", id, err)
	}
	return nil
}

// Exists reports whether a blob with this id exists.
func (s *Store) Exists(id string) (bool, error) {
	p, err := s.path(id)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob: stat %s: %w", id, err)
	}
	return true, nil
}

// Sweep removes temp files older than an hour: uploads a crash or a lost Abort left
// behind. An upload in progress touches its temp file with every chunk, so only one idle
// for an hour is removed. It returns how many files it removed.
func (s *Store) Sweep() (int, error) {
	cutoff := time.Now().Add(-staleTmpAge)
	shards, err := s.shards()
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, shard := range append(shards, filepath.Join(s.dir, journalDir)) {
		entries, err := os.ReadDir(shard)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tmpPrefix) {
				continue
			}
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(shard, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("blob: sweep: %w", err)
	}
	return removed, nil
}

// shards lists the shard directories (two hex characters) of the store.
func (s *Store) shards() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("blob: list store: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 2 && ValidID(e.Name()+strings.Repeat("0", idLen-2)) {
			out = append(out, filepath.Join(s.dir, e.Name()))
		}
	}
	return out, nil
}

func syncDir(dir string) error { return platform.SyncDir(dir) }
