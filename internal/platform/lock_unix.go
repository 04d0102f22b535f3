//go:build !windows

package platform

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// TryLock takes an exclusive advisory lock on f without waiting (flock). The kernel drops
// it when the process dies, so a crash never leaves a stale lock behind.
func TryLock(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrLocked
		}
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return nil
}

// Unlock drops a lock taken with TryLock.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// FreeBytes is the space available to this (unprivileged) process on dir's file system.
func FreeBytes(dir string) (uint64, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return s.Bavail * uint64(s.Bsize), nil
}

// SyncDir makes a rename or create in dir durable (fsync of the directory).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
