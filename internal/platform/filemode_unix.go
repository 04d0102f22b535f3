//go:build !windows

package platform

import "os"

// TooOpen reports whether a secret file (master key, key files named in the config) can
// be read by anyone but its owner: any group or other permission bit.
func TooOpen(fi os.FileInfo) bool { return fi.Mode().Perm()&0o077 != 0 }

// RenameOpenDirs: a directory can be renamed while files in it are open (POSIX).
const RenameOpenDirs = true
