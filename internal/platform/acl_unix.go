//go:build !windows

package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// DirACLCheck says whether `dictum doctor` checks the data directory's DACL (Windows only;
// on Linux the directory mode is set by init and the packaging).
const DirACLCheck = false

// ErrACLUnsupported is returned by CheckSecureDir where file ACLs are not kept (Wine).
var ErrACLUnsupported = errors.New("file ACLs are not kept here; not checked")

// UnderWine reports whether this process runs under Wine (never, on Linux builds).
func UnderWine() bool { return false }

// KeyProtection describes how the master key file is protected, for `dictum doctor`.
const KeyProtection = "mode 0600"

// KeyAccessHint says who may read the master key, for "permission denied" messages.
const KeyAccessHint = "only the service account may read it: run admin commands as the dictum user, e.g. `sudo -u dictum dictum ...`"

// SecureDir makes dir private to its owner (mode 0700).
func SecureDir(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	return nil
}

// SecureKeyFile makes the master key file readable by its owner only (mode 0600): on
// Linux the service runs as the dictum user that owns the data directory.
func SecureKeyFile(path string) error { return chmodFile(path) }

// SecureAdminFile makes a file holding a one-time admin secret readable by its owner only
// (mode 0600).
func SecureAdminFile(path string) error { return chmodFile(path) }

func chmodFile(path string) error {
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return nil
}

// CheckKeyFile refuses a master key file that others than its owner can read (group or
// other permission bits set).
func CheckKeyFile(path string, fi fs.FileInfo) error {
	if TooOpen(fi) {
		return fmt.Errorf("%s has mode %04o; run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	return nil
}

// CheckSecureDir reports how dir is protected; see DirACLCheck.
func CheckSecureDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o, want 0700", dir, fi.Mode().Perm())
	}
	return fmt.Sprintf("%s mode %04o", dir, fi.Mode().Perm()), nil
}
