//go:build !windows

package config

import "testing"

// The platform defaults keep the Linux paths exactly as the .deb and systemd unit expect.
func TestLinuxDefaultPaths(t *testing.T) {
	if DefaultPath != "/etc/dictum/dictum.toml" {
		t.Errorf("DefaultPath = %q", DefaultPath)
	}
	if d := Defaults(); d.DataDir != "/var/lib/dictum" {
		t.Errorf("default data_dir = %q", d.DataDir)
	}
}

// On Linux the log stays on stdout (the journal) unless log.file is set; a Windows
// service logs to <data_dir>/logs/dictum.log.
func TestLogFile(t *testing.T) {
	c := Defaults()
	c.DataDir = "/srv/dictum"
	if got := c.LogFile(false); got != "" {
		t.Errorf("LogFile(not a service) = %q, want stdout", got)
	}
	if got := c.LogFile(true); got != "/srv/dictum/logs/dictum.log" {
		t.Errorf("LogFile(service) = %q", got)
	}
	c.Log.File = "/var/log/dictum/dictum.log"
	if got := c.LogFile(false); got != c.Log.File {
		t.Errorf("LogFile with log.file = %q", got)
	}
	if c.Log.MaxMB != 10 || c.Log.Keep != 5 {
		t.Errorf("log defaults max_mb=%d keep=%d, want 10 and 5", c.Log.MaxMB, c.Log.Keep)
	}
}
