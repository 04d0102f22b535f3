//go:build windows

package platform

import (
	"errors"

	"golang.org/x/sys/windows"
)

// ErrACLUnsupported is returned by the ACL checks under Wine, which accepts
// SetNamedSecurityInfo but keeps no file ACLs (it reports ones made up from the Unix mode).
var ErrACLUnsupported = errors.New("file ACLs are not kept under Wine; not checked")

// UnderWine reports whether this process runs under Wine (ntdll exports wine_get_version).
func UnderWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
