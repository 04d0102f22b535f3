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
