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
