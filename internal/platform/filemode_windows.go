//go:build windows

package platform

import "os"

// TooOpen is always false on Windows: Go reports a fixed 0666/0444 mode there, and what
// protects a secret file is its ACL, which init sets (SYSTEM and Administrators only) and
// `dictum doctor` checks.
func TooOpen(fi os.FileInfo) bool { return false }

// RenameOpenDirs: Windows refuses to rename a directory while a file in it is open.
const RenameOpenDirs = false
