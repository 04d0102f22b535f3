//go:build windows

package platform

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// programData is %ProgramData% (C:\ProgramData on a default install): the environment
// variable when set, else the known folder, else the documented default.
func programData() string {
	if p := os.Getenv("ProgramData"); p != "" && filepath.IsAbs(p) {
		return p
	}
	if p, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil && p != "" {
		return p
	}
	return `C:\ProgramData`
}

// DefaultDataDir is the data directory used when neither data_dir nor --data is set:
// %ProgramData%\Dictum, as the MSI installs it.
func DefaultDataDir() string { return filepath.Join(programData(), "Dictum") }

// DefaultConfigFile is the config file read when --config is not given (if it exists):
// %ProgramData%\Dictum\dictum.toml.
func DefaultConfigFile() string { return filepath.Join(DefaultDataDir(), "dictum.toml") }

// ConfigInDataDir says whether `dictum init` writes a commented default dictum.toml into
// the data directory: yes on Windows, so firm IT has %ProgramData%\Dictum\dictum.toml to edit.
const ConfigInDataDir = true
