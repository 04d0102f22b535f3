package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// validateLDAP checks the [ldap] section; nothing is checked while url is empty.
func (c *Config) validateLDAP(bad func(key, format string, a ...any)) {
	l := c.LDAP
	if l.SyncSchedule != "" {
		if _, err := cronParser.Parse(l.SyncSchedule); err != nil {
			bad("ldap.sync_schedule", "not a cron spec %q: %v (want five fields like '*/15 * * * *')", l.SyncSchedule, err)
		}
	}
	if !l.Enabled() {
		return
	}
	u, err := url.Parse(l.URL)
	switch {
	case err != nil || u.Host == "":
		bad("ldap.url", "must be ldaps://host[:port] or ldap://host[:port], got %q", l.URL)
	case u.Scheme == "ldaps":
		if l.StartTLS {
			bad("ldap.start_tls", "must be false with an ldaps:// url (the connection is already TLS)")
		}
	case u.Scheme == "ldap":
		if !l.StartTLS && !l.Insecure {
			bad("ldap.url", "ldap:// sends passwords in clear: use ldaps://, or set start_tls = true (or insecure = true for a lab)")
		}
	default:
		bad("ldap.url", "scheme must be ldaps or ldap, got %q", u.Scheme)
	}
	if l.CAFile != "" && !filepath.IsAbs(l.CAFile) {
		bad("ldap.ca_file", "must be an absolute path, got %q", l.CAFile)
	}
	if l.BindDN == "" {
		bad("ldap.bind_dn", "must be set when ldap.url is set (a service account that can search users and groups)")
	} else if _, err := ldap.ParseDN(l.BindDN); err != nil {
		bad("ldap.bind_dn", "not a DN: %v", err)
	}
	if l.BindPasswordFile == "" {
		bad("ldap.bind_password_file", "must be set when ldap.bind_dn is set (the password never goes in the TOML)")
	} else if !filepath.IsAbs(l.BindPasswordFile) {
		bad("ldap.bind_password_file", "must be an absolute path, got %q", l.BindPasswordFile)
	}
	if _, err := ldap.ParseDN(l.UserBase); err != nil || l.UserBase == "" {
		bad("ldap.user_base", "must be a DN like OU=Staff,DC=firm,DC=local, got %q", l.UserBase)
	}
	if !strings.Contains(l.UserFilter, "{username}") {
		bad("ldap.user_filter", "must contain {username}, e.g. (sAMAccountName={username}), got %q", l.UserFilter)
	} else if _, err := ldap.CompileFilter(strings.ReplaceAll(l.UserFilter, "{username}", "x")); err != nil {
		bad("ldap.user_filter", "not an LDAP filter %q: %v", l.UserFilter, err)
	}
	if l.DisabledFilter != "" {
		if _, err := ldap.CompileFilter(l.DisabledFilter); err != nil {
			bad("ldap.disabled_filter", "not an LDAP filter %q: %v", l.DisabledFilter, err)
		}
	}
	groups := map[string]string{"ldap.role_groups.admin": l.RoleGroups.Admin, "ldap.role_groups.billing": l.RoleGroups.Billing, "ldap.role_groups.timekeeper": l.RoleGroups.Timekeeper}
	n := 0
	for key, dn := range groups {
		if dn == "" {
			continue
		}
		n++
		if _, err := ldap.ParseDN(dn); err != nil {
			bad(key, "not a group DN: %v", err)
		}
	}
	if n == 0 {
		bad("ldap.role_groups", "map at least one role to a group DN, e.g. role_groups = { timekeeper = \"CN=Dictum Users,OU=Groups,DC=firm,DC=local\" }")
	}
	if l.DisplayNameAttr == "" {
		bad("ldap.display_name_attribute", "must be set, e.g. displayName")
	}
	if l.Timeout.Duration <= 0 {
		bad("ldap.timeout", "must be positive, got %s", l.Timeout.Duration)
	}
}

// LDAPBindPassword reads the service account's password from ldap.bind_password_file
// (one line; a trailing newline is dropped).
func (c *Config) LDAPBindPassword() (string, error) {
	b, err := os.ReadFile(c.LDAP.BindPasswordFile)
	if err != nil {
		return "", fmt.Errorf("ldap.bind_password_file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("ldap.bind_password_file %s is empty", c.LDAP.BindPasswordFile)
	}
	return pw, nil
}
