// Package platform holds the few operating-system differences Dictum has between its
// Linux (.deb) and Windows (MSI) builds: advisory file locks, free disk space, default
// paths and data-directory permissions. Everything else in the tree is portable Go.
package platform

import "errors"

// ErrLocked is returned by TryLock when another process (or another open file in this
// process) holds the lock.
var ErrLocked = errors.New("locked by another process")
