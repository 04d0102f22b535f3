//go:build windows

package platform

import (
	"errors"
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

// KeyProtection describes how the master key file is protected, for `dictum doctor`.
const KeyProtection = "ACL: LocalSystem only"

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

// readDACL returns path's security descriptor (DACL only).
func readDACL(path string) (*windows.SECURITY_DESCRIPTOR, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("read the ACL of %s: %w", path, err)
	}
	return sd, nil
}

// sameDACL reports whether sd's DACL is protected and holds exactly the entries of the
// SDDL want (type, inheritance flags, rights and account; the order and the "inherited"
// marks Windows adds do not matter), so the comparison does not depend on how Windows
// spells the descriptor when it writes it back.
func sameDACL(sd *windows.SECURITY_DESCRIPTOR, want string) (bool, error) {
	wsd, err := windows.SecurityDescriptorFromString(want)
	if err != nil {
		return false, err
	}
	ctl, _, err := sd.Control()
	if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		return false, err
	}
	got, err := aceSet(sd)
	if err != nil {
		return false, err
	}
	exp, err := aceSet(wsd)
	if err != nil {
		return false, err
	}
	if len(got) != len(exp) {
		return false, nil
	}
	for k := range exp {
		if !got[k] {
			return false, nil
		}
	}
	return true, nil
}

func aceSet(sd *windows.SECURITY_DESCRIPTOR) (map[string]bool, error) {
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return nil, fmt.Errorf("no DACL: %v", err)
	}
	out := map[string]bool{}
	for i := 0; i < int(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, uint32(i), &ace); err != nil {
			return nil, err
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		flags := ace.Header.AceFlags &^ windows.INHERITED_ACE
		out[fmt.Sprintf("%d;%d;%#x;%s", ace.Header.AceType, flags, ace.Mask, sid.String())] = true
	}
	return out, nil
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
	return keyReaders(path, sd)
}

// keyReaders refuses a descriptor that allows anyone but SYSTEM, Administrators or the
// owner in (deny entries only take access away, so they are not counted).
func keyReaders(path string, sd *windows.SECURITY_DESCRIPTOR) error {
	dacl, _, err := sd.DACL()
	if err != nil && !errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) {
		return fmt.Errorf("read the ACL of %s: %w", path, err)
	}
	if dacl == nil {
		return fmt.Errorf("%s has no ACL (everyone may read it); its ACL must be %s", path, KeySDDL)
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

// CheckSecureDir reports whether dir carries the protected DirSDDL DACL.
func CheckSecureDir(dir string) (string, error) {
	if UnderWine() {
		return "", ErrACLUnsupported
	}
	sd, err := readDACL(dir)
	if err != nil {
		return "", err
	}
	ok, err := sameDACL(sd, DirSDDL)
	if err != nil {
		return "", fmt.Errorf("read the ACL of %s: %w", dir, err)
	}
	if !ok {
		return "", fmt.Errorf("%s has ACL %s, want %s (SYSTEM and Administrators only): `dictum service install` re-applies it", dir, sd.String(), DirSDDL)
	}
	return fmt.Sprintf("%s ACL %s (SYSTEM and Administrators only)", dir, sd.String()), nil
}
