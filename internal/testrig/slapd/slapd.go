// Package slapd runs Debian's OpenLDAP server (slapd, from the slapd package; ldapmodify
// from ldap-utils) on 127.0.0.1 in a temp dir for tests: a generated slapd.conf with the mdb
// backend and the schemas from /etc/ldap/schema, loaded with slapadd from an LDIF. It is a
// real directory, not a mock of the protocol.
//
// The test schema adds Active Directory's userAccountControl and sAMAccountName attributes
// (with AD's OIDs) through an auxiliary class, so the code that reads AD's "account
// disabled" bit (2) runs against a real server. It is a model of AD, not AD itself.
package slapd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/config"
)

// Fixed names of the test directory.
const (
	Suffix      = "dc=firm,dc=test"
	RootDN      = "cn=admin," + Suffix
	RootPW      = "root-secret"
	ServiceDN   = "cn=svc-dictum,ou=service," + Suffix
	ServicePW   = "svc-secret"
	UserBase    = "ou=staff," + Suffix
	AdminGroup  = "cn=dictum-admins,ou=groups," + Suffix
	BillGroup   = "cn=dictum-billing,ou=groups," + Suffix
	LawyerGroup = "cn=dictum-lawyers,ou=groups," + Suffix
)

// Server is a running slapd.
type Server struct {
	URL string
	// LDAPSURL and CAFile are set by StartTLS: an ldaps:// listener and the PEM of the CA
	// that signed the server's certificate (for 127.0.0.1 and localhost).
	LDAPSURL string
	CAFile   string
	dir      string
	conf     string
	cmd      *exec.Cmd
	t        testing.TB
}

const schema = `attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'dictumTestADAccount' SUP top AUXILIARY
	MAY ( userAccountControl $ sAMAccountName ) )
`

const conf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {{DIR}}/adtest.schema
pidfile {{DIR}}/slapd.pid
argsfile {{DIR}}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "` + Suffix + `"
rootdn "` + RootDN + `"
rootpw ` + RootPW + `
directory {{DIR}}/db
index objectClass eq
access to attrs=userPassword by anonymous auth by self write by * none
access to * by dn.exact="` + ServiceDN + `" read by self read by * none
`

// Base is the tree every test gets: the service account, three role groups, and users:
// alice (lawyers), bill (billing), ada (admins), carol (lawyers, AD-style disabled bit
// clear), nogroup (in no group). Each user's password is "pw-<uid>".
var Base = `dn: ` + Suffix + `
objectClass: dcObject
objectClass: organization
o: Firm
dc: firm

dn: ou=service,` + Suffix + `
objectClass: organizationalUnit
ou: service

dn: ` + ServiceDN + `
objectClass: person
cn: svc-dictum
sn: service
userPassword: ` + ServicePW + `

dn: ` + UserBase + `
objectClass: organizationalUnit
ou: staff

dn: ou=groups,` + Suffix + `
objectClass: organizationalUnit
ou: groups
` + user("alice", "Alice Lawyer", "AL") + user("bill", "Bill Biller", "BB") + user("ada", "Ada Admin", "AA") +
	user("carol", "Carol Counsel", "CC") + user("nogroup", "No Group", "NG") +
	group(AdminGroup, "ada") + group(BillGroup, "bill") + group(LawyerGroup, "alice", "carol")

func user(uid, name, tk string) string {
	return fmt.Sprintf(`
dn: uid=%s,%s
objectClass: inetOrgPerson
objectClass: dictumTestADAccount
uid: %s
sAMAccountName: %s
cn: %s
sn: %s
displayName: %s
mail: %s@firm.test
employeeNumber: %s
userAccountControl: 512
userPassword: pw-%s
`, uid, UserBase, uid, uid, name, name, name, uid, tk, uid)
}

func group(dn string, uids ...string) string {
	cn := strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "cn=")
	// groupOfNames needs a member: a placeholder, as OpenLDAP shops do, so a group can empty.
	s := fmt.Sprintf("\ndn: %s\nobjectClass: groupOfNames\ncn: %s\nmember: cn=nobody,%s\n", dn, cn, Suffix)
	for _, u := range uids {
		s += fmt.Sprintf("member: uid=%s,%s\n", u, UserBase)
	}
	return s
}

// UserDN is the DN of a Base user.
func UserDN(uid string) string { return "uid=" + uid + "," + UserBase }

// Start loads ldif (Base when empty) and starts slapd; it is stopped when the test ends.
// The test is skipped when Debian's slapd is not installed (scripts/deps.sh installs it).
func Start(t testing.TB, ldif string) *Server {
	t.Helper()
	return start(t, ldif, false)
}

// StartTLS is Start with TLS: the ldap:// listener offers StartTLS and a second listener
// speaks ldaps://, both with a certificate from a fresh test CA (Server.CAFile).
func StartTLS(t testing.TB, ldif string) *Server {
	t.Helper()
	return start(t, ldif, true)
}

func start(t testing.TB, ldif string, withTLS bool) *Server {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/slapd", "/usr/sbin/slapadd", "/usr/bin/ldapmodify"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("%s not installed (apt-get install slapd ldap-utils; scripts/deps.sh does it)", bin)
		}
	}
	if ldif == "" {
		ldif = Base
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir, conf: filepath.Join(dir, "slapd.conf"), t: t}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("adtest.schema", schema)
	c := strings.ReplaceAll(conf, "{{DIR}}", dir)
	if withTLS {
		s.CAFile = writeCerts(t, dir)
		// TLS settings are global: before the database section.
		c = strings.Replace(c, "database mdb", "TLSCACertificateFile "+s.CAFile+"\nTLSCertificateFile "+dir+"/server.pem\nTLSCertificateKeyFile "+dir+"/server.key\ndatabase mdb", 1)
	}
	write("slapd.conf", c)
	write("base.ldif", ldif)
	if out, err := exec.Command("/usr/sbin/slapadd", "-f", s.conf, "-l", filepath.Join(dir, "base.ldif")).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	s.URL = "ldap://" + addr
	urls := s.URL + "/"
	var tlsAddr string
	if withTLS {
		tlsAddr = freeAddr(t)
		s.LDAPSURL = "ldaps://" + tlsAddr
		urls += " " + s.LDAPSURL + "/"
	}
	s.cmd = exec.Command("/usr/sbin/slapd", "-f", s.conf, "-h", urls, "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(s.Stop)
	waitListen(t, addr)
	if withTLS {
		waitListen(t, tlsAddr)
	}
	return s
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListen(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends slapd (the directory goes down); safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Modify applies an LDIF change (changetype: modify/delete/add) as the root DN with
// ldapmodify from ldap-utils.
func (s *Server) Modify(ldif string) {
	s.t.Helper()
	cmd := exec.Command("/usr/bin/ldapmodify", "-x", "-H", s.URL, "-D", RootDN, "-w", RootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("ldapmodify: %v\n%s", err, out)
	}
}

// PasswordFile writes the service account's password to a 0600 file and returns its path.
func (s *Server) PasswordFile() string {
	p := filepath.Join(s.dir, "bind.pw")
	if err := os.WriteFile(p, []byte(ServicePW+"\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Configure points c's [ldap] section at this server as an OpenLDAP directory: plain
// ldap:// on 127.0.0.1 (insecure = true), the service account, (uid={username}), the three
// role groups, employeeNumber as timekeeper id, and "breakglass" as the local account.
func (s *Server) Configure(c *config.Config) {
	c.LDAP.URL = s.URL
	c.LDAP.Insecure = true
	c.LDAP.BindDN = ServiceDN
	c.LDAP.BindPasswordFile = s.PasswordFile()
	c.LDAP.UserBase = UserBase
	c.LDAP.UserFilter = "(uid={username})"
	c.LDAP.RoleGroups = config.RoleGroups{Admin: AdminGroup, Billing: BillGroup, Timekeeper: LawyerGroup}
	c.LDAP.TimekeeperIDAttr = "employeeNumber"
	c.LDAP.LocalUsers = []string{"breakglass"}
	c.LDAP.Timeout = config.Duration{Duration: 5 * time.Second}
}
