package blob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/vault"
)

var marker = []byte("PRIVILEGED-CLIENT-MARKER-7f3a")

func key(t *testing.T) [32]byte {
	t.Helper()
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

// markerData returns n bytes made of the marker repeated.
func markerData(n int) []byte {
	return bytes.Repeat(marker, n/len(marker)+1)[:n]
}

func openStore(t *testing.T) (*Store, string, [32]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	k := key(t)
	s, err := Open(dir, k)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir, k
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func noMarkerOnDisk(t *testing.T, dir string) {
	t.Helper()
	for _, f := range files(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker) {
			t.Fatalf("%s contains plaintext", f)
		}
	}
}

func write(t *testing.T, w *Writer, data []byte, step int) {
	t.Helper()
	for rest := data; len(rest) > 0; {
		n := min(step, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
}

func TestCommit(t *testing.T) {
	s, dir, _ := openStore(t)
	for _, size := range []int{0, 1, 100_000, 1<<20 + 7} {
		data := markerData(size)
		w, err := s.Create()
		if err != nil {
			t.Fatal(err)
		}
		write(t, w, data, 10_000)
		before := files(t, dir)
		tmps := 0
		for _, f := range before {
			if strings.HasPrefix(filepath.Base(f), tmpPrefix) {
				tmps++
			}
		}
		if tmps != 1 {
			t.Fatalf("before commit: files %v, want exactly one temp file", before)
		}
		noMarkerOnDisk(t, dir) // the temp file holds ciphertext only
		id, n, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidID(id) || n != int64(size) {
			t.Fatalf("Commit = %q, %d", id, n)
		}
		after := files(t, dir)
		if len(after) != len(before) || !contains(after, filepath.Join(id[:2], id[2:])) {
			t.Fatalf("after commit: files %v, want the temp file renamed to %s", after, id)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort after Commit = %v", err)
		}
		if _, _, err := w.Commit(); !errors.Is(err, ErrDone) {
			t.Fatalf("second Commit = %v, want ErrDone", err)
		}
		if ok, err := s.Exists(id); !ok || err != nil {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
		r, err := s.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Open: %d bytes, %v", len(got), err)
		}
		rs, sz, err := s.OpenSeeker(id)
		if err != nil || sz != int64(size) {
			t.Fatalf("OpenSeeker = %d, %v", sz, err)
		}
		if size > 70_000 {
			if _, err := rs.Seek(65_530, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 20)
			if _, err := io.ReadFull(rs, buf); err != nil || !bytes.Equal(buf, data[65_530:65_550]) {
				t.Fatalf("range read: %v", err)
			}
		}
		rs.Close()
	}
	noMarkerOnDisk(t, dir)
	for _, f := range files(t, dir) {
		if fi, _ := os.Stat(filepath.Join(dir, f)); fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAbortLeavesNothing(t *testing.T) {
	s, dir, _ := openStore(t)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, markerData(300_000), 4096)
	if len(files(t, dir)) != 1 {
		t.Fatalf("files while writing: %v", files(t, dir))
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after Abort: %v", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("second Abort = %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	if _, _, err := w.Commit(); !errors.Is(err, ErrDone) {
		t.Fatalf("Commit after Abort = %v, want ErrDone", err)
	}
}

// TestWriteErrorLeavesNothing makes the temp file fail underneath the writer, as a full
// disk would: the error is returned, the temp file is gone and nothing is committed.
func TestWriteErrorLeavesNothing(t *testing.T) {
	tests := []struct {
		name     string
		inWrite  bool // fail during Write (else during Commit)
		preWrite int
	}{
		{"during write", true, 10},
		{"during commit", false, 10},
		{"during commit, empty blob", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, dir, _ := openStore(t)
			w, err := s.Create()
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, markerData(tc.preWrite), 100)
			w.tmp.Close() // every further write to it fails
			if tc.inWrite {
				if _, err := w.Write(markerData(200_000)); err == nil {
					t.Fatal("Write succeeded on a failed file")
				}
			}
			if _, _, err := w.Commit(); err == nil {
				t.Fatal("Commit succeeded after a write error")
			}
			if got := files(t, dir); len(got) != 0 {
				t.Fatalf("files left: %v", got)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after failure = %v", err)
			}
		})
	}
}

func TestInvalidIDs(t *testing.T) {
	s, dir, _ := openStore(t)
	// A file a traversal would reach if ids were used unchecked.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"",
		"../secret",
		"../../../../etc/passwd",
		"ab/../../secret",
		"..",
		"0123456789abcdef0123456789abcde",   // 31
		"0123456789abcdef0123456789abcdef0", // 33
		"0123456789ABCDEF0123456789ABCDEF",  // upper case
		"0123456789abcdef0123456789abcdeg",
		"01/3456789abcdef0123456789abcdef",
		"..23456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcd\x00f",
		"0123456789abcdef0123456789abc\\ef",
	}
	for _, id := range ids {
		if _, err := s.Open(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Open(%q) = %v, want ErrInvalidID", id, err)
		}
		if _, _, err := s.OpenSeeker(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("OpenSeeker(%q) = %v, want ErrInvalidID", id, err)
		}
		if err := s.Delete(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidID", id, err)
		}
		if ok, err := s.Exists(id); ok || !errors.Is(err, ErrInvalidID) {
			t.Errorf("Exists(%q) = %v, %v, want false, ErrInvalidID", id, ok, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "secret")); err != nil {
		t.Fatal("a traversal id removed a file outside the store")
	}
}

func TestDeleteAndNotFound(t *testing.T) {
	s, dir, _ := openStore(t)
	w, _ := s.Create()
	write(t, w, []byte("hello"), 10)
	id, _, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after Delete: %v", got)
	}
	if err := s.Delete(id); err != nil {
		t.Fatalf("Delete of a missing blob = %v", err)
	}
	if ok, err := s.Exists(id); ok || err != nil {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if _, err := s.Open(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete = %v, want ErrNotFound", err)
	}
	if _, _, err := s.OpenSeeker(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenSeeker after Delete = %v, want ErrNotFound", err)
	}
}

func TestTamperedOnDisk(t *testing.T) {
	s, dir, _ := openStore(t)
	w, _ := s.Create()
	write(t, w, markerData(200_000), 1<<20)
	id, _, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, id[:2], id[2:])
	b, _ := os.ReadFile(p)
	b[vault.HeaderSize+70_000] ^= 4 // second chunk
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, vault.ErrTampered) {
		t.Fatalf("read = %v, want ErrTampered", err)
	}
	// Undo that and cut off the last chunk: the seeker refuses the file up front.
	b[vault.HeaderSize+70_000] ^= 4
	if err := os.WriteFile(p, b[:vault.HeaderSize+2*(vault.DefaultChunkSize+16)], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OpenSeeker(id); !errors.Is(err, vault.ErrTruncated) {
		t.Fatalf("OpenSeeker = %v, want ErrTruncated", err)
	}
}

func TestSweep(t *testing.T) {
	s, dir, _ := openStore(t)
	stale, _ := s.Create()
	write(t, stale, []byte("abc"), 10)
	fresh, _ := s.Create()
	write(t, fresh, []byte("def"), 10)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale.tmp.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep()
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(stale.tmp.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("stale temp file survived Sweep")
	}
	if _, err := os.Stat(fresh.tmp.Name()); err != nil {
		t.Fatal("Sweep removed a fresh temp file")
	}
	if _, _, err := fresh.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v", n, err)
	}
	if len(files(t, dir)) != 1 {
		t.Fatalf("files: %v", files(t, dir))
	}
}

func commitN(t *testing.T, s *Store, n int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i := range n {
		data := markerData(1000 + i*70_000)
		w, err := s.Create()
		if err != nil {
			t.Fatal(err)
		}
		write(t, w, data, 8192)
		id, _, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		out[id] = data
	}
	return out
}

func readAll(s *Store, id string) ([]byte, error) {
	r, err := s.Open(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestRewrapAll(t *testing.T) {
	s, dir, oldKEK := openStore(t)
	blobs := commitN(t, s, 3)
	bodies := map[string][]byte{}
	for id := range blobs {
		b, _ := os.ReadFile(filepath.Join(dir, id[:2], id[2:]))
		bodies[id] = b[vault.HeaderSize:]
	}
	newKEK := key(t)
	n, err := s.RewrapAll(oldKEK, newKEK)
	if err != nil || n != 3 {
		t.Fatalf("RewrapAll = %d, %v; want 3", n, err)
	}
	for id, data := range blobs {
		got, err := readAll(s, id)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %s after rewrap: %v", id, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, id[:2], id[2:]))
		if !bytes.Equal(b[vault.HeaderSize:], bodies[id]) {
			t.Fatal("RewrapAll rewrote chunks")
		}
	}
	// The old key no longer opens anything.
	oldStore, err := Open(dir, oldKEK)
	if err != nil {
		t.Fatal(err)
	}
	for id := range blobs {
		if _, err := readAll(oldStore, id); !errors.Is(err, vault.ErrWrongKey) {
			t.Fatalf("old key: %v, want ErrWrongKey", err)
		}
	}
	// New blobs use the new key; a second run has nothing to do.
	commitN(t, s, 1)
	if n, err := s.RewrapAll(oldKEK, newKEK); err != nil || n != 0 {
		t.Fatalf("second RewrapAll = %d, %v; want 0", n, err)
	}
	if got := files(t, filepath.Join(dir, journalDir)); len(got) != 0 {
		t.Fatalf("journal left: %v", got)
	}
	// A blob under neither key is reported, and the rest still succeed.
	third := key(t)
	other, _ := Open(dir, third)
	commitN(t, other, 1)
	newer := key(t)
	n, err = s.RewrapAll(newKEK, newer)
	if n != 4 || !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("RewrapAll with a foreign blob = %d, %v; want 4 and ErrWrongKey", n, err)
	}
}

// TestRewrapCrashRecovery simulates crashes in the middle of RewrapAll by leaving journal
// entries next to blobs in each possible state.
func TestRewrapCrashRecovery(t *testing.T) {
	s, dir, oldKEK := openStore(t)
	blobs := commitN(t, s, 3)
	var ids []string
	for id := range blobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	newKEK := key(t)
	path := func(id string) string { return filepath.Join(dir, id[:2], id[2:]) }
	if err := os.MkdirAll(filepath.Join(dir, journalDir), 0o700); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		b, _ := os.ReadFile(path(id))
		if err := os.WriteFile(filepath.Join(dir, journalDir, id), b[:vault.HeaderSize], 0o600); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0: // crashed before the in-place write: header untouched
		case 1: // torn write: wrapped key half new, half old
			for j := vault.HeaderSize - 20; j < vault.HeaderSize; j++ {
				b[j] ^= 0xff
			}
			if err := os.WriteFile(path(id), b, 0o600); err != nil {
				t.Fatal(err)
			}
		case 2: // crashed after the write, before the journal entry was removed
			f, _ := os.OpenFile(path(id), os.O_RDWR, 0)
			if err := vault.Rewrap(f, oldKEK, newKEK); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	// A journal temp file that was never renamed into place.
	if err := os.WriteFile(filepath.Join(dir, journalDir, tmpPrefix+"123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The rotation is resumed: the store is opened with the new key, RewrapAll runs again.
	s2, err := Open(dir, newKEK)
	if err != nil {
		t.Fatal(err)
	}
	if got := files(t, filepath.Join(dir, journalDir)); len(got) != 0 {
		t.Fatalf("journal after recovery: %v", got)
	}
	n, err := s2.RewrapAll(oldKEK, newKEK)
	if err != nil || n != 2 {
		t.Fatalf("resumed RewrapAll = %d, %v; want 2", n, err)
	}
	for id, data := range blobs {
		got, err := readAll(s2, id)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("blob %s after recovery: %v", id, err)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, dir, _ := openStore(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			w, err := s.Create()
			if err != nil {
				errs[i] = err
				return
			}
			defer w.Abort()
			if _, err := w.Write(markerData(50_000 + i)); err != nil {
				errs[i] = err
				return
			}
			if i%2 == 1 {
				return // aborted by the defer
			}
			ids[i], _, errs[i] = w.Commit()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 4 {
		t.Fatalf("files: %v, want 4", got)
	}
	for i, id := range ids {
		if i%2 == 1 {
			continue
		}
		got, err := readAll(s, id)
		if err != nil || !bytes.Equal(got, markerData(50_000+i)) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
	noMarkerOnDisk(t, dir)
}

func TestOpenRejectsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p, key(t)); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}

func BenchmarkCommit1MiB(b *testing.B) {
	dir := b.TempDir()
	var k [32]byte
	s, err := Open(dir, k)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w, err := s.Create()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		id, _, err := w.Commit()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Delete(id); err != nil {
			b.Fatal(err)
		}
	}
}
