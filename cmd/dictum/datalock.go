package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"dictum/internal/platform"
)

// LockFile is the data directory's lock: `dictum serve` holds an exclusive lock on it (flock; LockFileEx on Windows)
// for its whole life, and commands that must run with the server stopped (key rotate)
// take it too, so the two can never run at once. The kernel drops the lock when the
// process dies, so a crash never leaves a stale lock behind.
const LockFile = "dictum.lock"

type dataLock struct{ f *os.File }

// lockDataDir takes the data directory's lock for command ("serve", "key rotate") or
// says who holds it.
func lockDataDir(dataDir, command string) (*dataLock, error) {
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s does not exist (run `dictum init` first)", dataDir)
	}
	path := filepath.Join(dataDir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the data dir lock %s: %w", path, err)
	}
	if err := platform.TryLock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, platform.ErrLocked) {
			return nil, heldError(string(holder))
		}
		return nil, fmt.Errorf("lock the data dir %s: %w", path, err)
	}
	// Who holds it, for the message of the next one to try (not a lock by itself).
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+command+"\n"), 0)
	}
	return &dataLock{f: f}, nil
}

func heldError(holder string) error {
	pid, cmd, _ := strings.Cut(strings.TrimSpace(holder), " ")
	if _, err := strconv.Atoi(pid); err != nil {
		pid = "unknown"
	}
	switch cmd {
	case "serve", "":
		return fmt.Errorf("dictum serve is running on this data dir (pid %s); stop it first", pid)
	default:
		return fmt.Errorf("dictum %s is running on this data dir (pid %s); wait for it to finish", cmd, pid)
	}
}

// release drops the lock (also dropped by the kernel at exit).
func (l *dataLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Truncate(0)
		_ = l.f.Close()
		l.f = nil
	}
}
