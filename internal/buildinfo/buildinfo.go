// Package buildinfo carries the version stamped in at link time.
package buildinfo

// Version is set with -ldflags "-X dictum/internal/buildinfo.Version=...".
var Version = "dev"
