package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteLoadAndDerive(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "master.key")
	m, err := GenerateMaster()
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(p, m); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	k, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	db, blob, bak := k.DB(), k.Blob(), k.Backup()
	if db == blob || db == bak || blob == bak {
		t.Fatal("derived keys must differ")
	}
	if bytes.Equal(db[:], m[:]) {
		t.Fatal("derived key equals master")
	}
	if k2 := NewKeys(m); k2.DB() != db {
		t.Fatal("derivation not deterministic")
	}
	if err := Write(p, m); err == nil {
		t.Fatal("overwrite allowed")
	}
}

func TestLoadFailures(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		want    error
		msg     string
	}{
		{"missing", "", 0, ErrKeyMissing, "dictum init"},
		{"world readable", strings.Repeat("ab", 32), 0o644, ErrKeyPermissions, "chmod 600"},
		{"group readable", strings.Repeat("ab", 32), 0o640, ErrKeyPermissions, "chmod 600"},
		{"short", "abcd", 0o600, nil, "expected 32 raw bytes"},
		{"bad hex", strings.Repeat("zz", 32), 0o600, nil, "not a hex key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if tc.mode != 0 {
				if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(p, tc.mode)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("expected error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), p) {
				t.Fatalf("message %q should name the file and say %q", err, tc.msg)
			}
		})
	}
	// 32 raw bytes are accepted too (systemd credentials).
	p := filepath.Join(dir, "raw")
	os.WriteFile(p, bytes.Repeat([]byte{7}, 32), 0o600)
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
}
