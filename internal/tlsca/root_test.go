package tlsca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func testKey(b byte) [32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// testIPs are the machine addresses test roots are limited to (plus loopback).
var testIPs = []net.IP{net.ParseIP("192.168.1.10"), net.ParseIP("192.168.1.5"), net.ParseIP("fd00::5")}

func newTestRoot(t *testing.T, permitted []string) (string, *Root) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if err := CreateRoot(dir, "Smith & Jones LLP", testKey(1), testNow, Constraints{DNS: permitted, IPs: testIPs}); err != nil {
		t.Fatalf("CreateRoot: %v", err)
	}
	r, err := LoadRoot(dir, testKey(1))
	if err != nil {
		t.Fatalf("LoadRoot: %v", err)
	}
	return dir, r
}

func TestCreateRootProperties(t *testing.T) {
	dir, r := newTestRoot(t, []string{"dictum.test"})
	c := r.Certificate()
	if got, want := c.Subject.CommonName, "Dictum Smith & Jones LLP Local CA"; got != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints wrong: IsCA=%v MaxPathLen=%d zero=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("root lacks certSign")
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("root key is %T, want ECDSA P-256", c.PublicKey)
	}
	if life := c.NotAfter.Sub(testNow); life < RootValidity-time.Minute || life > RootValidity+time.Minute {
		t.Errorf("validity from now = %v, want ~10 years", life)
	}
	if got := strings.Join(c.PermittedDNSDomains, ","); got != "dictum.test,localhost" {
		t.Errorf("PermittedDNSDomains = %q", got)
	}
	var ips []string
	for _, n := range c.PermittedIPRanges {
		if ones, bits := n.Mask.Size(); ones != bits {
			t.Errorf("IP constraint %v is a range, want single addresses", n)
		}
		ips = append(ips, n.IP.String())
	}
	if got := strings.Join(ips, ","); got != "192.168.1.10,192.168.1.5,fd00::5,127.0.0.1,::1" {
		t.Errorf("PermittedIPRanges = %s", got)
	}
	if !c.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	for _, tc := range []struct {
		name string
		perm os.FileMode
	}{{RootKeyFile, 0o600}, {RootCertFile, 0o644}} {
		fi, err := os.Stat(filepath.Join(dir, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.perm {
			t.Errorf("%s mode = %v, want %v", tc.name, fi.Mode().Perm(), tc.perm)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("ca dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if !bytes.Equal(r.CertPEM(), mustRead(t, filepath.Join(dir, RootCertFile))) {
		t.Error("CertPEM differs from ca.crt")
	}
	if fp := r.Fingerprint(); len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Errorf("Fingerprint = %q", fp)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRootKeyNotPlaintext(t *testing.T) {
	dir, r := newTestRoot(t, nil)
	raw := mustRead(t, filepath.Join(dir, RootKeyFile))
	if bytes.Contains(raw, []byte("PRIVATE KEY")) || bytes.Contains(raw, []byte("-----BEGIN")) {
		t.Fatal("root key file contains PEM")
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(r.key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, pkcs8) || bytes.Contains(raw, r.key.D.Bytes()) {
		t.Fatal("root key file contains the plaintext key")
	}
	if _, err := x509.ParsePKCS8PrivateKey(raw); err == nil {
		t.Fatal("root key file parses as a plain PKCS#8 key")
	}
}

func TestLoadRootErrors(t *testing.T) {
	dir, _ := newTestRoot(t, nil)
	otherDir, _ := newTestRoot(t, nil)
	cases := []struct {
		name    string
		setup   func(t *testing.T, d string)
		key     [32]byte
		wantIs  error
		wantSub string
	}{
		{name: "wrong wrap key", key: testKey(2), wantIs: ErrWrongWrapKey},
		{name: "tampered key file", key: testKey(1), wantIs: ErrWrongWrapKey, setup: func(t *testing.T, d string) {
			p := filepath.Join(d, RootKeyFile)
			b := mustRead(t, p)
			b[len(b)-1] ^= 1
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "key of another root (same wrap key)", key: testKey(1), wantIs: ErrWrongWrapKey, setup: func(t *testing.T, d string) {
			if err := os.WriteFile(filepath.Join(d, RootKeyFile), mustRead(t, filepath.Join(otherDir, RootKeyFile)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "plain PEM key", key: testKey(1), wantSub: "not a sealed", setup: func(t *testing.T, d string) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			if err := os.WriteFile(filepath.Join(d, RootKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "truncated key", key: testKey(1), wantSub: "truncated", setup: func(t *testing.T, d string) {
			if err := os.WriteFile(filepath.Join(d, RootKeyFile), keyFileMagic, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "garbage certificate", key: testKey(1), wantSub: "not a single PEM certificate", setup: func(t *testing.T, d string) {
			if err := os.WriteFile(filepath.Join(d, RootCertFile), []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "missing directory", key: testKey(1), wantIs: os.ErrNotExist, setup: func(t *testing.T, d string) {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "ca")
			if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, d)
			}
			_, err := LoadRoot(d, tc.key)
			if err == nil {
				t.Fatal("LoadRoot succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			if tc.wantSub != "" && !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantSub)
			}
		})
	}
}

func TestCreateRootErrors(t *testing.T) {
	existing, _ := newTestRoot(t, nil)
	cases := []struct {
		name      string
		dir       string
		firm      string
		key       [32]byte
		permitted []string
		wantIs    error
		wantSub   string
	}{
		{name: "refuses to overwrite", dir: existing, firm: "X", key: testKey(1), wantIs: ErrRootExists},
		{name: "empty firm", firm: " \t\n", key: testKey(1), wantSub: "firm name is empty"},
		{name: "zero wrap key", firm: "X", wantSub: "all zero"},
		{name: "IP as DNS constraint", firm: "X", key: testKey(1), permitted: []string{"10.0.0.1"}, wantSub: "IP address"},
		{name: "bad DNS constraint", firm: "X", key: testKey(1), permitted: []string{"bad_name!"}, wantSub: "not a valid host name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "ca")
			}
			err := CreateRoot(dir, tc.firm, tc.key, testNow, Constraints{DNS: tc.permitted})
			if err == nil {
				t.Fatal("CreateRoot succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			if tc.wantSub != "" && !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want %q", err, tc.wantSub)
			}
		})
	}
	// The refused overwrite left the original root loadable.
	if _, err := LoadRoot(existing, testKey(1)); err != nil {
		t.Fatalf("existing root damaged: %v", err)
	}
}

func TestFirmNameCleaned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if err := CreateRoot(dir, "  Evil\r\nFirm "+strings.Repeat("x", 100), testKey(1), testNow, Constraints{}); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRoot(dir, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	cn := r.Certificate().Subject.CommonName
	if strings.ContainsAny(cn, "\r\n") || len(cn) > 64 || !strings.HasPrefix(cn, "Dictum Evil Firm x") {
		t.Fatalf("CN = %q", cn)
	}
}

func TestPermits(t *testing.T) {
	_, constrained := newTestRoot(t, []string{"firm.lan", ".corp.example"})
	_, open := newTestRoot(t, nil)
	cases := []struct {
		root *Root
		host string
		ok   bool
	}{
		{constrained, "firm.lan", true},
		{constrained, "dictum.firm.lan", true},
		{constrained, "DICTUM.FIRM.LAN.", true},
		{constrained, "evilfirm.lan", false},
		{constrained, "corp.example", false},
		{constrained, "a.corp.example", true},
		{constrained, "localhost", true},
		{constrained, "google.com", false},
		{constrained, "192.168.1.10", true},
		{constrained, "192.168.1.11", false}, // another machine on the LAN
		{constrained, "10.1.2.3", false},
		{constrained, "100.100.1.1", false},
		{constrained, "127.0.0.1", true},
		{constrained, "127.0.0.2", false},
		{constrained, "::1", true},
		{constrained, "fd00::5", true},
		{constrained, "fd00::6", false},
		{constrained, "8.8.8.8", false},
		{constrained, "2001:db8::1", false},
		// No DNS names given: only localhost, never "any name" (issue 11).
		{open, "localhost", true},
		{open, "google.com", false},
		{open, "dictum.firm.lan", false},
		{open, "8.8.8.8", false},
	}
	for _, tc := range cases {
		err := tc.root.Permits(tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("Permits(%q) = %v, want ok=%v", tc.host, err, tc.ok)
		}
	}
}

// A leaf signed directly with the root key (bypassing the Issuer's own checks, as a
// thief of the key would) must still fail verification outside the name constraints.
func TestNameConstraintsEnforcedByVerifiers(t *testing.T) {
	_, r := newTestRoot(t, []string{"firm.lan"})
	pool := x509.NewCertPool()
	pool.AddCert(r.Certificate())
	cases := []struct {
		name   string
		dns    []string
		ips    []net.IP
		verify string
		ok     bool
	}{
		{"permitted name", []string{"dictum.firm.lan"}, nil, "dictum.firm.lan", true},
		{"permitted ip", nil, []net.IP{net.ParseIP("192.168.1.5")}, "192.168.1.5", true},
		{"foreign name", []string{"www.google.com"}, nil, "www.google.com", false},
		{"public ip", nil, []net.IP{net.ParseIP("8.8.8.8")}, "8.8.8.8", false},
		{"other LAN ip", nil, []net.IP{net.ParseIP("192.168.1.1")}, "192.168.1.1", false},
		{"name of another machine", []string{"router.lan"}, nil, "router.lan", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "x"},
				NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				DNSNames:    tc.dns, IPAddresses: tc.ips,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, r.Certificate(), &k.PublicKey, r.key)
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := x509.ParseCertificate(der)
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.verify, CurrentTime: testNow})
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestIssuer(t *testing.T) {
	_, r := newTestRoot(t, []string{"firm.lan"})
	iss, err := NewIssuer(r, []string{"Dictum.firm.lan", "192.168.1.10", "localhost", "127.0.0.1"}, 0, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(r.Certificate())
	cases := []struct {
		name    string
		csr     x509.CertificateRequest
		verify  string
		wantErr string
	}{
		{name: "dns name", csr: x509.CertificateRequest{DNSNames: []string{"dictum.firm.lan"}}, verify: "dictum.firm.lan"},
		{name: "ip address", csr: x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("192.168.1.10")}}, verify: "192.168.1.10"},
		{name: "localhost", csr: x509.CertificateRequest{DNSNames: []string{"localhost"}}, verify: "localhost"},
		{name: "unknown name", csr: x509.CertificateRequest{DNSNames: []string{"other.firm.lan"}}, wantErr: "not one of the configured hosts"},
		{name: "unknown ip", csr: x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("192.168.1.11")}}, wantErr: "not one of the configured hosts"},
		{name: "email SAN", csr: x509.CertificateRequest{DNSNames: []string{"localhost"}, EmailAddresses: []string{"a@b.c"}}, wantErr: "only DNS names"},
		{name: "no names", csr: x509.CertificateRequest{}, wantErr: "names no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, err := x509.CreateCertificateRequest(rand.Reader, &tc.csr, k)
			if err != nil {
				t.Fatal(err)
			}
			csr, _ := x509.ParseCertificateRequest(der)
			ic, err := iss.Issue(context.Background(), csr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Issue err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := pem.Decode(ic.Certificate)
			leaf, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.verify, CurrentTime: testNow,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Fatalf("leaf does not verify for %s: %v", tc.verify, err)
			}
			if got := leaf.NotAfter.Sub(testNow); got != DefaultLeafLifetime {
				t.Errorf("lifetime = %v, want %v", got, DefaultLeafLifetime)
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.IsCA {
				t.Errorf("leaf usage: eku=%v isCA=%v", leaf.ExtKeyUsage, leaf.IsCA)
			}
		})
	}
	// A CSR with a broken signature is refused.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"localhost"}}, k)
	csr, _ := x509.ParseCertificateRequest(der)
	csr.Signature[len(csr.Signature)-1] ^= 0xff
	if _, err := iss.Issue(context.Background(), csr); err == nil {
		t.Error("Issue accepted a CSR with a bad signature")
	}
	// Hosts outside the constraints are refused up front.
	if _, err := NewIssuer(r, []string{"example.com"}, 0, nil); err == nil {
		t.Error("NewIssuer accepted a host outside the name constraints")
	}
	if !strings.HasPrefix(iss.IssuerKey(), "dictum-local-ca-") {
		t.Errorf("IssuerKey = %q", iss.IssuerKey())
	}
}
