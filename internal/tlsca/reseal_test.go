package tlsca

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResealRootKey(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := [32]byte{1}, [32]byte{2}
	if err := CreateRoot(dir, "Firm", oldKey, time.Now(), Constraints{DNS: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	cert, _ := os.ReadFile(filepath.Join(dir, RootCertFile))
	sealed, _ := os.ReadFile(filepath.Join(dir, RootKeyFile))
	if _, err := ResealRootKey(cert, sealed, newKey, newKey); !errors.Is(err, ErrWrongWrapKey) {
		t.Fatalf("reseal with the wrong old key: %v", err)
	}
	out, err := ResealRootKey(cert, sealed, oldKey, newKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, RootKeyFile), out, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRoot(dir, newKey); err != nil {
		t.Fatalf("load under the new key: %v", err)
	}
	if _, err := LoadRoot(dir, oldKey); !errors.Is(err, ErrWrongWrapKey) {
		t.Fatalf("load under the old key: %v", err)
	}
}
