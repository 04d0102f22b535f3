//go:build !linux

package web

import "testing"

// watchCreates needs inotify: the temp-file tests run on Linux only.
func watchCreates(t *testing.T, dir string) func() []string {
	t.Helper()
	t.Skip("watching " + dir + " for temp files needs inotify (Linux)")
	return nil
}
