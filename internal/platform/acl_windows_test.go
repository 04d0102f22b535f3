//go:build windows

package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// Run on Windows (or under wine64: GOOS=windows go test -c, then wine64 the .exe).
func TestSecureDirSetsProtectedDACL(t *testing.T) {
	skipUnderWine(t)
	dir := filepath.Join(tempDir(t), "Dictum")
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
	dir := tempDir(t)
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
	sd, err := readDACL(key)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := sameDACL(sd, KeySDDL); !ok || err != nil {
		t.Errorf("key DACL = %s, want %s (%v)", sd, KeySDDL, err)
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
	if sd, err := readDACL(adm); err != nil {
		t.Fatal(err)
	} else if ok, err := sameDACL(sd, AdminFileSDDL); !ok || err != nil {
		t.Errorf("admin file DACL = %s, want %s (%v)", sd, AdminFileSDDL, err)
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

// sameDACL compares entries, not spelling: order and the inherited mark do not matter,
// a missing protection or an extra entry does. Pure descriptor logic: runs under wine too.
func TestSameDACL(t *testing.T) {
	cases := []struct {
		have string
		want bool
	}{
		{"D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", true},
		{"D:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)", true},
		{"D:PAI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)", true},
		{"D:AI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", false},                  // not protected
		{"D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)", false}, // Users may read
		{"D:PAI(A;OICI;FA;;;SY)", false},
		{"D:PAI(A;;FA;;;SY)(A;;FA;;;BA)", false}, // not inherited by what is created inside
	}
	for _, tc := range cases {
		sd, err := windows.SecurityDescriptorFromString(tc.have)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := sameDACL(sd, DirSDDL); got != tc.want {
			t.Errorf("sameDACL(%s) = %v (%v), want %v", tc.have, got, err, tc.want)
		}
	}
}

// keyReaders is the Windows counterpart of the 0600 check: only SYSTEM, Administrators
// and the owner may be allowed in. Pure descriptor logic: runs under wine too.
func TestKeyReaders(t *testing.T) {
	cases := []struct {
		sddl string
		ok   bool
	}{
		{KeySDDL, true},
		{"O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)", true},
		{"O:S-1-5-21-1-2-3-1001D:P(A;;FA;;;SY)(A;;FR;;;S-1-5-21-1-2-3-1001)", true}, // the owner
		{"D:P(D;;FA;;;WD)(A;;FA;;;SY)", true},                                       // a deny entry
		{"D:P(A;;FA;;;SY)(A;;FR;;;WD)", false},                                      // Everyone
		{"D:(A;;FA;;;SY)(A;;0x1200a9;;;BU)", false},                                 // Users
		{"D:P(A;;FA;;;SY)(A;;FR;;;S-1-5-21-1-2-3-1001)", false},                     // a user, not the owner
	}
	for _, tc := range cases {
		sd, err := windows.SecurityDescriptorFromString(tc.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tc.sddl, err)
		}
		if err := keyReaders("master.key", sd); (err == nil) != tc.ok {
			t.Errorf("keyReaders(%s) = %v, want ok=%v", tc.sddl, err, tc.ok)
		}
	}
	// A NULL DACL lets everyone in (built by hand: wine parses D:NO_ACCESS_CONTROL as an empty one).
	sd, err := windows.NewSecurityDescriptor()
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.SetDACL(nil, true, false); err != nil {
		t.Fatal(err)
	}
	if err := keyReaders("master.key", sd); err == nil || !strings.Contains(err.Error(), "no ACL") {
		t.Errorf("keyReaders(NULL DACL) = %v", err)
	}
}
