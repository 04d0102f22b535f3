// Package logfile is a size-rotated log file: dictum.log grows to a limit, then becomes
// dictum.log.1 (the previous .1 becomes .2, and so on; past the kept count they are
// deleted). Used where nobody reads standard output (a Windows service) or where an
// admin asked for a file (log.file).
package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Writer appends to a log file and rotates it by size. Each Write lands whole in one
// file (slog's handlers write one record per call), and concurrent Writes do not
// interleave.
type Writer struct {
	path     string
	maxBytes int64
	keep     int
	// CheckEvery is how often Write checks that the file it appends to is still at path
	// (deleted or moved away by an admin or a cleanup tool: it is then re-created).
	CheckEvery time.Duration

	mu        sync.Mutex
	f         *os.File
	size      int64
	lastCheck time.Time
}

// Open opens (creating it and its directory) the log file at path, rotating at maxBytes
// and keeping keep old files.
func Open(path string, maxBytes int64, keep int) (*Writer, error) {
	if maxBytes < 1 {
		return nil, fmt.Errorf("log file %s: size limit must be positive", path)
	}
	if keep < 0 {
		keep = 0
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	w := &Writer{path: path, maxBytes: maxBytes, keep: keep, CheckEvery: time.Second}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	w.f, w.size, w.lastCheck = f, fi.Size(), time.Now()
	return nil
}

// Write appends p, rotating first when p would take the file past the limit.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	if time.Since(w.lastCheck) >= w.CheckEvery {
		w.lastCheck = time.Now()
		if w.moved() {
			w.f.Close()
			if err := w.open(); err != nil {
				w.f = nil
				return 0, err
			}
		}
	}
	if w.size > 0 && w.size+int64(len(p)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// moved reports whether the open file is no longer the one at path.
func (w *Writer) moved() bool {
	at, err := os.Stat(w.path)
	if err != nil {
		return true
	}
	open, err := w.f.Stat()
	return err != nil || !os.SameFile(at, open)
}

// rotate shifts dictum.log -> .1 -> .2 ... and starts a new file. The file is closed
// first (Windows cannot rename an open file). When a rename fails (a viewer holding an
// old file open on Windows, say) logging goes on in the current file and rotation is
// retried after another maxBytes.
func (w *Writer) rotate() error {
	w.f.Close()
	var err error
	if w.keep == 0 {
		err = os.Remove(w.path)
	} else {
		os.Remove(w.name(w.keep))
		for i := w.keep - 1; i >= 1; i-- {
			if e := os.Rename(w.name(i), w.name(i+1)); e != nil && !os.IsNotExist(e) && err == nil {
				err = e
			}
		}
		if e := os.Rename(w.path, w.name(1)); e != nil && err == nil {
			err = e
		}
	}
	if oerr := w.open(); oerr != nil {
		w.f = nil
		return oerr
	}
	if err != nil {
		w.size = 0 // retry after another maxBytes instead of on every write
	}
	return nil
}

func (w *Writer) name(i int) string { return fmt.Sprintf("%s.%d", w.path, i) }

// Close closes the file; later Writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
