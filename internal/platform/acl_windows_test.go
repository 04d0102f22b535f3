//go:build windows

package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Run on Windows (or under wine64: GOOS=windows go test -c, then wine64 the .exe).
func TestSecureDirSetsProtectedDACL(t *testing.T) {
	skipUnderWine(t)
	dir := filepath.Join(t.TempDir(), "Dictum")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckSecureDir(dir); err == nil {
		t.Fatal("a fresh directory passed the DACL check")
	}
	if err := SecureDir(dir); err != nil {
		t.Fatal(err)
	}
	got, err := CheckSecureDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "SY") {
		t.Fatalf("CheckSecureDir = %q", got)
	}
}

func TestKeyFileACL(t *testing.T) {
	skipUnderWine(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(key)
	if err := CheckKeyFile(key, fi); err == nil {
		t.Error("a key file with the temp dir's inherited ACL passed CheckKeyFile")
	} else {
		t.Logf("inherited ACL refused: %v", err)
	}
	if err := SecureKeyFile(key); err != nil {
		t.Fatal(err)
	}
	got, err := readDACL(key)
	if err != nil {
		t.Fatal(err)
	}
	if got != normalSDDL(KeySDDL) {
		t.Errorf("key DACL = %s, want %s", got, KeySDDL)
	}
	if err := CheckKeyFile(key, fi); err != nil {
		t.Errorf("CheckKeyFile after SecureKeyFile: %v", err)
	}
	adm := filepath.Join(dir, "admin.txt")
	if err := os.WriteFile(adm, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SecureAdminFile(adm); err != nil {
		t.Fatal(err)
	}
	if got, _ := readDACL(adm); got != normalSDDL(AdminFileSDDL) {
		t.Errorf("admin file DACL = %s, want %s", got, AdminFileSDDL)
	}
}

func TestDefaultPathsUseProgramData(t *testing.T) {
	t.Setenv("ProgramData", `D:\PD`)
	if got := DefaultDataDir(); got != `D:\PD\Dictum` {
		t.Errorf("DefaultDataDir = %q", got)
	}
	if got := DefaultConfigFile(); got != `D:\PD\Dictum\dictum.toml` {
		t.Errorf("DefaultConfigFile = %q", got)
	}
}

func skipUnderWine(t *testing.T) {
	if UnderWine() {
		t.Skip("Wine keeps no file ACLs (SetNamedSecurityInfo succeeds, the read-back ACL is made up from the Unix mode)")
	}
}
