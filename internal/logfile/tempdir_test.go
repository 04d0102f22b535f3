package logfile

import (
	"os"
	"testing"
)

// tempDir is t.TempDir whose cleanup is best effort: these tests also run as Windows
// binaries under wine64 (make test-windows), where Go's os.RemoveAll fails ("Invalid
// function": wine 8 has no POSIX-semantics delete) and t.TempDir would fail every test.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dictum-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}
