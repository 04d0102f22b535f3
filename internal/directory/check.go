package directory

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Step is one stage of a configuration check.
type Step struct {
	Name   string `json:"name"` // connect, tls, bind, search, groups
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// CheckResult is the outcome of Check: the steps up to the first failure.
type CheckResult struct {
	OK    bool   `json:"ok"`
	Steps []Step `json:"steps"`
}

func (r *CheckResult) add(name string, ok bool, format string, a ...any) bool {
	r.Steps = append(r.Steps, Step{Name: name, OK: ok, Detail: fmt.Sprintf(format, a...)})
	return ok
}

// Check tests the configuration step by step for one username without signing anyone in
// and without changing anything: connect, TLS, the service account's bind, the user
// search, then the groups and the role they grant. Secrets are never part of the answer.
func (s *Service) Check(username string) *CheckResult {
	r := &CheckResult{}
	if !s.Enabled() {
		r.add("connect", false, "directory sign-in is off: set [ldap] url in the configuration")
		return r
	}
	conn, err := s.dial()
	if !r.add("connect", err == nil, "%s", either(err, "connected to "+s.cfg.URL)) {
		return r
	}
	defer conn.Close()
	if st, ok := conn.TLSConnectionState(); ok {
		mode := "ldaps"
		if s.cfg.StartTLS {
			mode = "StartTLS"
		}
		subject := ""
		if len(st.PeerCertificates) > 0 {
			subject = ", certificate " + st.PeerCertificates[0].Subject.String()
		}
		r.add("tls", true, "%s, %s%s", mode, tls.VersionName(st.Version), subject)
	} else {
		r.add("tls", s.cfg.Insecure, "no TLS: passwords cross the network in clear (allowed by insecure = true)")
	}
	if err := s.bindService(conn); !r.add("bind", err == nil, "%s", either(err, "bound as "+s.cfg.BindDN)) {
		return r
	}
	if username == "" {
		r.OK = true
		r.add("search", true, "skipped: no username given")
		return r
	}
	p, err := s.find(conn, username)
	switch {
	case errors.Is(err, errNotFound):
		r.add("search", false, "no entry under %s matches %s", s.cfg.UserBase, s.filterFor(username))
		return r
	case err != nil:
		r.add("search", false, "%v", err)
		return r
	}
	r.add("search", true, "found %s (display name %q, email %q, timekeeper id %q)", p.DN, p.DisplayName, p.Email, p.TimekeeperID)
	off, why, err := s.disabled(conn, p)
	if err != nil {
		r.add("disabled", false, "%v", err)
		return r
	}
	if off {
		r.add("disabled", false, "%s: this user cannot sign in", why)
		return r
	}
	role, groups, err := s.role(conn, p.DN)
	switch {
	case err != nil:
		r.add("groups", false, "%v", err)
	case role == "" && s.cfg.NestedGroups && !s.isActiveDirectory(conn):
		r.add("groups", false, "in none of the mapped groups, and nested_groups = true but this server is not Active Directory: "+
			"LDAP_MATCHING_RULE_IN_CHAIN (%s) matches nothing here; set nested_groups = false", MatchingRuleInChain)
	case role == "":
		r.add("groups", false, "in none of the mapped groups: this user cannot sign in")
	default:
		r.OK = r.add("groups", true, "member of %s: role %s", strings.Join(groups, "; "), role)
	}
	return r
}

func either(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// adCapability is the root DSE's supportedCapabilities value of an Active Directory
// domain controller (LDAP_CAP_ACTIVE_DIRECTORY_OID).
const adCapability = "1.2.840.113556.1.4.800"

// isActiveDirectory reads the root DSE to tell AD from other servers.
func (s *Service) isActiveDirectory(conn *ldap.Conn) bool {
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(s.cfg.Timeout.Seconds()), false,
		"(objectClass=*)", []string{"supportedCapabilities"}, nil))
	if err != nil || len(res.Entries) == 0 {
		return false
	}
	for _, v := range res.Entries[0].GetAttributeValues("supportedCapabilities") {
		if v == adCapability {
			return true
		}
	}
	return false
}
