//go:build windows

package platform

import (
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DirACLCheck says whether `dictum doctor` checks the data directory's DACL.
const DirACLCheck = true

// The DACLs Dictum sets, in SDDL. P = protected (nothing inherited from above), AI =
// auto-inherited to children; OICI = files and subfolders inherit the entry.
const (
	// DirSDDL: the data directory and everything created in it: SYSTEM (the service
	// account) and BUILTIN\Administrators full control, nobody else.
	DirSDDL = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	// KeySDDL: the master key file: the service account (LocalSystem) only.
	KeySDDL = "D:P(A;;FA;;;SY)"
	// AdminFileSDDL: the one-time admin password file: Administrators and SYSTEM only.
	AdminFileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
)

// KeyAccessHint says who may read the master key, for "access denied" messages.
const KeyAccessHint = "only the service account (LocalSystem) may read it: run admin commands as SYSTEM, e.g. Sysinternals `psexec -s dictum ...`"

// SecureDir replaces dir's DACL with DirSDDL (protected: inherited entries such as
// BUILTIN\Users on C:\ProgramData are dropped) and propagates it to what is inside.
func SecureDir(dir string) error { return setDACL(dir, DirSDDL) }

// SecureKeyFile gives the master key file KeySDDL: readable by LocalSystem only.
func SecureKeyFile(path string) error { return setDACL(path, KeySDDL) }

// SecureAdminFile gives a file holding a one-time admin secret AdminFileSDDL.
func SecureAdminFile(path string) error { return setDACL(path, AdminFileSDDL) }

func setDACL(path, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("restrict %s: parse %s: %w", path, sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION)
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, info, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("restrict %s (set ACL %s): %w", path, sddl, err)
	}
	return nil
}

// readDACL returns path's DACL in SDDL.
func readDACL(path string) (string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", fmt.Errorf("read the ACL of %s: %w", path, err)
	}
	return sd.String(), nil
}

// normalSDDL is the SDDL Windows writes back for s (ordering and spelling normalised), so
// a descriptor read from disk compares equal to the constant it was set from.
func normalSDDL(s string) string {
	sd, err := windows.SecurityDescriptorFromString(s)
	if err != nil {
		return s
	}
	return sd.String()
}

// CheckKeyFile refuses a master key file whose DACL lets anyone but SYSTEM, the
// Administrators group or the file's owner read it (the Windows counterpart of mode 0600).
func CheckKeyFile(path string, _ fs.FileInfo) error {
	if UnderWine() { // Wine keeps no ACLs: every file would fail; the Linux side of the test checks modes
		return nil
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the ACL of %s: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("read the ACL of %s: %w", path, err)
	}
	if dacl == nil {
		return fmt.Errorf("%s has no ACL (everyone may read it); run `dictum init` again or set %s", path, KeySDDL)
	}
	owner, _, _ := sd.Owner()
	for i := 0; i < int(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, uint32(i), &ace); err != nil {
			return fmt.Errorf("read the ACL of %s: %w", path, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if trustedSID(sid) || (owner != nil && sid.Equals(owner)) {
			continue
		}
		return fmt.Errorf("%s is readable by %s; its ACL must be %s (only the service account)", path, sidName(sid), KeySDDL)
	}
	return nil
}

func trustedSID(sid *windows.SID) bool {
	return sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid)
}

func sidName(sid *windows.SID) string {
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		if dom != "" {
			return dom + `\` + acct
		}
		return acct
	}
	return sid.String()
}

// CheckSecureDir reports whether dir carries exactly the protected DirSDDL DACL.
func CheckSecureDir(dir string) (string, error) {
	if UnderWine() {
		return "", ErrACLUnsupported
	}
	got, err := readDACL(dir)
	if err != nil {
		return "", err
	}
	if got != normalSDDL(DirSDDL) {
		return "", fmt.Errorf("%s has ACL %s, want %s (SYSTEM and Administrators only): `dictum service install` re-applies it", dir, got, DirSDDL)
	}
	return fmt.Sprintf("%s ACL %s (SYSTEM and Administrators only)", dir, got), nil
}
