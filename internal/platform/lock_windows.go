//go:build windows

package platform

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the locked byte range starts. Windows locks are mandatory: a locked
// range cannot be read by anyone else, so the lock sits far past the end of the file and
// the file's own content (who holds the lock) stays readable.
const lockOffset = 1 << 40

// TryLock takes an exclusive lock on f without waiting (LockFileEx). Windows releases it
// when the process dies, so a crash never leaves a stale lock behind.
func TryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	ol.OffsetHigh = uint32(lockOffset >> 32)
	ol.Offset = uint32(lockOffset & 0xffffffff)
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
			return ErrLocked
		}
		return fmt.Errorf("LockFileEx %s: %w", f.Name(), err)
	}
	return nil
}

// Unlock drops a lock taken with TryLock.
func Unlock(f *os.File) error {
	ol := new(windows.Overlapped)
	ol.OffsetHigh = uint32(lockOffset >> 32)
	ol.Offset = uint32(lockOffset & 0xffffffff)
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

// FreeBytes is the space available to this process's user on dir's volume.
func FreeBytes(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return avail, nil
}

// SyncDir is a no-op on Windows: a directory cannot be opened for FlushFileBuffers
// ("Access denied"), and NTFS journals its metadata, so a completed rename survives a
// crash without it.
func SyncDir(dir string) error { return nil }
