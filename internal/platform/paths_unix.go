//go:build !windows

package platform

// DefaultDataDir is the data directory used when neither data_dir nor --data is set.
func DefaultDataDir() string { return "/var/lib/dictum" }

// DefaultConfigFile is the config file read when --config is not given (if it exists).
func DefaultConfigFile() string { return "/etc/dictum/dictum.toml" }

// ConfigInDataDir says whether `dictum init` writes a commented default dictum.toml into
// the data directory (Windows: the config lives there; Linux: the .deb ships
// /etc/dictum/dictum.toml).
const ConfigInDataDir = false
