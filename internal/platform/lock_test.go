package platform

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Two opens of the same file in one process stand for two processes: flock and LockFileEx
// both lock per open file description / handle.
func TestTryLockExcludesSecondHolder(t *testing.T) {
	path := filepath.Join(tempDir(t), "x.lock")
	a, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := TryLock(a); err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if err := TryLock(b); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock = %v, want ErrLocked", err)
	}
	// The holder's note stays readable while locked (Windows locks are mandatory).
	if _, err := a.WriteAt([]byte("123 serve\n"), 0); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "123 serve\n" {
		t.Fatalf("read while locked = %q, %v", got, err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if err := TryLock(b); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

func TestFreeBytes(t *testing.T) {
	n, err := FreeBytes(tempDir(t))
	if err != nil || n == 0 {
		t.Fatalf("FreeBytes = %d, %v", n, err)
	}
	if _, err := FreeBytes(filepath.Join(tempDir(t), "missing")); err == nil {
		t.Fatal("FreeBytes of a missing directory: want an error")
	}
}

func TestCopyFile(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("new content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(src, dst, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "new content" {
		t.Fatalf("dst = %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("a temp file was left behind: %v", ents)
	}
	if err := CopyFile(filepath.Join(dir, "missing"), dst, 0o644); err == nil {
		t.Fatal("copying a missing file: want an error")
	}
	if b, _ := os.ReadFile(dst); string(b) != "new content" {
		t.Fatalf("a failed copy changed dst: %q", b)
	}
}
