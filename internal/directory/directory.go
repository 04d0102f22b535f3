// Package directory signs users in with the firm's Active Directory or OpenLDAP server and
// keeps Dictum's accounts in step with it: the role comes from the mapped groups at every
// sign-in, and a sync disables leavers (gone, disabled in AD, or in no mapped group),
// ending their sessions and revoking their API tokens. Entries and audit stay.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"dictum/internal/config"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// MatchingRuleInChain is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership
// through nested groups.
const MatchingRuleInChain = "1.2.840.113556.1.4.1941"

// uacAccountDisable is userAccountControl's ACCOUNTDISABLE bit.
const uacAccountDisable = 2

// Errors the web layer maps to answers.
var (
	// ErrBadCredentials: unknown user, wrong password, or an account disabled in the
	// directory or in Dictum. One answer for all, so names cannot be enumerated.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrNoGroup: the password was right but the user is in none of the mapped groups.
	ErrNoGroup = errors.New("your directory account is not in any Dictum group (admin, billing or timekeeper); ask the firm's IT to add you to one")
	// ErrUnavailable: the directory could not be reached or refused the service account.
	ErrUnavailable = errors.New("the firm's directory (LDAP/Active Directory) cannot be reached; try again shortly or ask IT")
)

// LoginError carries why a sign-in failed (for the audit log) around ErrBadCredentials.
type LoginError struct {
	Reason string
	Err    error
}

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// Service talks to the configured directory.
type Service struct {
	cfg   config.LDAP
	pwd   func() (string, error)
	store *store.Store
}

// New builds the service from the configuration; Enabled reports false when [ldap] url is
// empty.
func New(cfg *config.Config, st *store.Store) *Service {
	return &Service{cfg: cfg.LDAP, pwd: cfg.LDAPBindPassword, store: st}
}

// Enabled reports whether directory sign-in is on.
func (s *Service) Enabled() bool { return s != nil && s.cfg.Enabled() }

// LocalAllowed reports whether username is a break-glass local account that signs in
// with its Dictum password while the directory is on.
func (s *Service) LocalAllowed(username string) bool {
	for _, u := range s.cfg.LocalUsers {
		if strings.EqualFold(strings.TrimSpace(u), strings.TrimSpace(username)) {
			return true
		}
	}
	return false
}

// tlsConfig is the TLS client configuration for the server in url.
func (s *Service) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(s.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap.url: %w", err)
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if s.cfg.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap.ca_file %s: no PEM certificate in it", s.cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dial connects (and upgrades with StartTLS when configured), without binding.
func (s *Service) dial() (*ldap.Conn, error) {
	tc, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	conn, err := ldap.DialURL(s.cfg.URL, ldap.DialWithTLSConfig(tc), ldap.DialWithDialer(&net.Dialer{Timeout: s.cfg.Timeout.Duration}))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.cfg.URL, err)
	}
	conn.SetTimeout(s.cfg.Timeout.Duration)
	if s.cfg.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w", s.cfg.URL, err)
		}
	}
	return conn, nil
}

// bindService binds as the service account.
func (s *Service) bindService(conn *ldap.Conn) error {
	pw, err := s.pwd()
	if err != nil {
		return err
	}
	if err := conn.Bind(s.cfg.BindDN, pw); err != nil {
		return fmt.Errorf("bind as %s: %w", s.cfg.BindDN, err)
	}
	return nil
}

// open connects and binds as the service account.
func (s *Service) open() (*ldap.Conn, error) {
	conn, err := s.dial()
	if err != nil {
		return nil, err
	}
	if err := s.bindService(conn); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// person is a user entry as read from the directory.
type person struct {
	DN, DisplayName, Email, TimekeeperID string
	UAC                                  string
}

var errNotFound = errors.New("no such user in the directory")
var errAmbiguous = errors.New("more than one directory entry matches the username")

// filterFor is user_filter with the username escaped per RFC 4515: *, (, ), \ and NUL
// cannot change the filter's meaning.
func (s *Service) filterFor(username string) string {
	return strings.ReplaceAll(s.cfg.UserFilter, "{username}", ldap.EscapeFilter(username))
}

// find looks the user up under user_base with the service account's connection.
func (s *Service) find(conn *ldap.Conn, username string) (*person, error) {
	attrs := []string{s.cfg.DisplayNameAttr, "userAccountControl"}
	if s.cfg.EmailAttr != "" {
		attrs = append(attrs, s.cfg.EmailAttr)
	}
	if s.cfg.TimekeeperIDAttr != "" {
		attrs = append(attrs, s.cfg.TimekeeperIDAttr)
	}
	req := ldap.NewSearchRequest(s.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(s.cfg.Timeout.Seconds()), false,
		s.filterFor(username), attrs, nil)
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, errAmbiguous
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("ldap.user_base %s does not exist: %w", s.cfg.UserBase, err)
	}
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, errNotFound
	case 1:
	default:
		return nil, errAmbiguous
	}
	e := res.Entries[0]
	p := &person{DN: e.DN, DisplayName: e.GetAttributeValue(s.cfg.DisplayNameAttr), UAC: e.GetAttributeValue("userAccountControl")}
	if s.cfg.EmailAttr != "" {
		p.Email = e.GetAttributeValue(s.cfg.EmailAttr)
	}
	if s.cfg.TimekeeperIDAttr != "" {
		p.TimekeeperID = e.GetAttributeValue(s.cfg.TimekeeperIDAttr)
	}
	return p, nil
}

// disabled reports whether the directory says the account is disabled: Active
// Directory's userAccountControl ACCOUNTDISABLE bit (2), or the entry matching
// ldap.disabled_filter.
func (s *Service) disabled(conn *ldap.Conn, p *person) (bool, string, error) {
	if p.UAC != "" {
		v, err := strconv.ParseInt(p.UAC, 10, 64)
		if err != nil {
			return false, "", fmt.Errorf("userAccountControl of %s is not a number: %q", p.DN, p.UAC)
		}
		if v&uacAccountDisable != 0 {
			return true, "disabled in the directory (userAccountControl ACCOUNTDISABLE)", nil
		}
	}
	if s.cfg.DisabledFilter != "" {
		res, err := conn.Search(ldap.NewSearchRequest(p.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(s.cfg.Timeout.Seconds()), false,
			s.cfg.DisabledFilter, []string{"1.1"}, nil))
		if err != nil {
			return false, "", fmt.Errorf("check ldap.disabled_filter: %w", err)
		}
		if len(res.Entries) > 0 {
			return true, "disabled in the directory (matches ldap.disabled_filter)", nil
		}
	}
	return false, "", nil
}

// roleOrder is the order roles are tried in: the highest mapped role wins.
func (s *Service) roleOrder() [][2]string {
	return [][2]string{{identity.RoleAdmin, s.cfg.RoleGroups.Admin}, {identity.RoleBilling, s.cfg.RoleGroups.Billing}, {identity.RoleTimekeeper, s.cfg.RoleGroups.Timekeeper}}
}

// memberOf reports whether the user dn is in group (directly, or nested with
// nested_groups on Active Directory).
func (s *Service) memberOf(conn *ldap.Conn, dn, group string) (bool, error) {
	var req *ldap.SearchRequest
	if s.cfg.NestedGroups {
		req = ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(s.cfg.Timeout.Seconds()), false,
			"(memberOf:"+MatchingRuleInChain+":="+ldap.EscapeFilter(group)+")", []string{"1.1"}, nil)
	} else {
		esc := ldap.EscapeFilter(dn)
		req = ldap.NewSearchRequest(group, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(s.cfg.Timeout.Seconds()), false,
			"(|(member="+esc+")(uniqueMember="+esc+"))", []string{"1.1"}, nil)
	}
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, fmt.Errorf("group %s does not exist in the directory (check ldap.role_groups): %w", group, err)
	}
	if err != nil {
		return false, fmt.Errorf("read group %s: %w", group, err)
	}
	return len(res.Entries) > 0, nil
}

// role is the highest Dictum role the user's groups grant ("" for none), and the groups
// that matched.
func (s *Service) role(conn *ldap.Conn, dn string) (string, []string, error) {
	role := ""
	var groups []string
	for _, rg := range s.roleOrder() {
		if rg[1] == "" {
			continue
		}
		ok, err := s.memberOf(conn, dn, rg[1])
		if err != nil {
			return "", nil, err
		}
		if ok {
			groups = append(groups, rg[1])
			if role == "" {
				role = rg[0]
			}
		}
	}
	return role, groups, nil
}

// Login signs a directory user in: find the entry with the service account, bind as it
// with the password, refuse a disabled one, read the role from the groups, then create or
// update the Dictum account. An unknown user costs the same binds as a known one.
func (s *Service) Login(ctx context.Context, a identity.Actor, username, password string) (*store.User, error) {
	if password == "" { // an empty password would be an unauthenticated bind, which "succeeds"
		return nil, &LoginError{Reason: "empty password", Err: ErrBadCredentials}
	}
	conn, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close()
	p, err := s.find(conn, username)
	if err != nil && !errors.Is(err, errNotFound) && !errors.Is(err, errAmbiguous) {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if p == nil {
		// Same work as a known user: a bind that fails, then the service bind again.
		_ = conn.Bind("cn=dictum-no-such-user,"+s.cfg.UserBase, password)
		_ = s.bindService(conn)
		return nil, &LoginError{Reason: err.Error(), Err: ErrBadCredentials}
	}
	if err := conn.Bind(p.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			_ = s.bindService(conn)
			return nil, &LoginError{Reason: "wrong password", Err: ErrBadCredentials}
		}
		return nil, fmt.Errorf("%w: bind as the user: %v", ErrUnavailable, err)
	}
	if err := s.bindService(conn); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	off, why, err := s.disabled(conn, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if off {
		return nil, &LoginError{Reason: why, Err: ErrBadCredentials}
	}
	role, _, err := s.role(conn, p.DN)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if role == "" {
		return nil, ErrNoGroup
	}
	u, err := s.store.DirectorySignIn(ctx, a, store.DirectoryProfile{Username: username, DN: p.DN, DisplayName: p.DisplayName,
		Email: p.Email, TimekeeperID: p.TimekeeperID, Role: role})
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, &LoginError{Reason: "disabled in Dictum", Err: ErrBadCredentials}
	}
	return u, nil
}
