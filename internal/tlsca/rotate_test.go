package tlsca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func leafSerial(t *testing.T, m *Manager, pool *x509.CertPool, server string) string {
	t.Helper()
	addr := serveTLS(t, m.TLSConfig())
	st, err := dial(addr, &tls.Config{RootCAs: pool, ServerName: server})
	if err != nil {
		t.Fatalf("handshake for %s: %v", server, err)
	}
	return st.PeerCertificates[0].SerialNumber.Text(16)
}

func parseCRL(t *testing.T, m *Manager) *x509.RevocationList {
	t.Helper()
	crl, err := x509.ParseRevocationList(m.CRL())
	if err != nil {
		t.Fatalf("parse CRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(m.Root().Certificate()); err != nil {
		t.Fatalf("CRL not signed by the root: %v", err)
	}
	return crl
}

func crlSerials(crl *x509.RevocationList) []string {
	var out []string
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber.Text(16))
	}
	return out
}

// Leaves name the CRL the server publishes; the CRL is signed by the root, valid for
// CRLValidity, and lists what revoked.json lists.
func TestCRLAndDistributionPoint(t *testing.T) {
	m, pool := localManager(t, Options{CRLURL: func(h string) string { return "https://" + net.JoinHostPort(h, "8443") + CRLPath }})
	addr := serveTLS(t, m.TLSConfig())
	for _, tc := range []struct{ server, want string }{{"dictum.test", "https://dictum.test:8443/ca.crl"}, {"", "https://127.0.0.1:8443/ca.crl"}} {
		st, err := dial(addr, &tls.Config{RootCAs: pool, ServerName: tc.server})
		if err != nil {
			t.Fatal(err)
		}
		leaf := st.PeerCertificates[0]
		if !slices.Equal(leaf.CRLDistributionPoints, []string{tc.want}) {
			t.Errorf("%q: CRL distribution points %v, want %s", tc.server, leaf.CRLDistributionPoints, tc.want)
		}
		if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 89*24*time.Hour {
			t.Errorf("leaf lifetime %v, want 90 days (scanners flag < 30 days left as HIGH)", life)
		}
	}
	crl := parseCRL(t, m)
	if len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("fresh CRL lists %v", crlSerials(crl))
	}
	if v := time.Until(crl.NextUpdate); v < CRLValidity-time.Hour || v > CRLValidity {
		t.Errorf("CRL next update in %v, want ~%v", v, CRLValidity)
	}
	if err := AddRevoked(m.caDir, Revoked{Serial: "ABCDEF", At: time.Now(), Reason: ReasonKeyRotation}); err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshCRL(); err != nil {
		t.Fatal(err)
	}
	crl = parseCRL(t, m)
	if got := crlSerials(crl); !slices.Equal(got, []string{"abcdef"}) || crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Fatalf("CRL lists %v (reason %d)", got, crl.RevokedCertificateEntries[0].ReasonCode)
	}
	// A corrupted revocation list is an error, not an empty CRL.
	os.WriteFile(filepath.Join(m.caDir, RevokedFile), []byte(`[{"serial":"zz"}]`), 0o644)
	if err := m.RefreshCRL(); err == nil || !strings.Contains(err.Error(), "bad serial") {
		t.Fatalf("RefreshCRL with a bad list: %v", err)
	}
}

// Key rotation re-seals the root key (same certificate, so PCs keep trusting it),
// revokes and drops the leaves whose keys were sealed under the old key, re-seals every
// other stored value, and is resumable.
func TestRotateWrapKey(t *testing.T) {
	dataDir := t.TempDir()
	oldKey, newKey := testKey(7), testKey(9)
	m, pool := localManager(t, Options{DataDir: dataDir})
	before := leafSerial(t, m, pool, "dictum.test")
	rootPEM := m.Root().CertPEM()
	// A value certmagic would keep for ACME (account key), sealed under the old key.
	oldS, _ := newEncStorage(filepath.Join(dataDir, "tls"), oldKey)
	if err := oldS.Store(context.Background(), "acme/acme.example/users/it/it.key", []byte("account key")); err != nil {
		t.Fatal(err)
	}
	m.Close()

	res, err := RotateWrapKey(dataDir, oldKey, newKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !res.RootResealed || len(res.Revoked) != 3 || !slices.Contains(res.Revoked, before) || res.Resealed != 1 {
		t.Fatalf("result %+v (leaf serial %s)", res, before)
	}
	if _, err := LoadRoot(RootDir(dataDir), oldKey); !errors.Is(err, ErrWrongWrapKey) {
		t.Fatalf("root still opens with the old key: %v", err)
	}
	newS, _ := newEncStorage(filepath.Join(dataDir, "tls"), newKey)
	if v, err := newS.Load(context.Background(), "acme/acme.example/users/it/it.key"); err != nil || string(v) != "account key" {
		t.Fatalf("ACME value after rotation: %q %v", v, err)
	}
	if _, err := oldS.Load(context.Background(), "acme/acme.example/users/it/it.key"); err == nil {
		t.Fatal("ACME value still opens with the old key")
	}
	// Resume after a crash: nothing left to do, nothing broken.
	again, err := RotateWrapKey(dataDir, oldKey, newKey, time.Now())
	if err != nil || again.Resealed != 0 || len(again.Revoked) != 0 || !again.RootResealed {
		t.Fatalf("second run: %+v %v", again, err)
	}

	// serve after rotation: same root, a new leaf, the old one in the CRL.
	m2, err := New(Options{DataDir: dataDir, WrapKey: newKey, Hosts: []string{"dictum.test", "127.0.0.1", "localhost"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if string(m2.Root().CertPEM()) != string(rootPEM) {
		t.Fatal("rotation replaced the root certificate")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m2.Manage(ctx); err != nil {
		t.Fatal(err)
	}
	after := leafSerial(t, m2, pool, "dictum.test")
	if after == before {
		t.Fatal("the leaf was not re-issued")
	}
	if got := crlSerials(parseCRL(t, m2)); !slices.Contains(got, before) || slices.Contains(got, after) {
		t.Fatalf("CRL %v, want the old leaf %s and not the new %s", got, before, after)
	}
	// The old key opens nothing any more.
	if _, err := New(Options{DataDir: dataDir, WrapKey: oldKey}); !errors.Is(err, ErrWrongWrapKey) {
		t.Fatalf("New with the old key: %v", err)
	}
}

func TestRotateWrapKeyRefusesForeignValues(t *testing.T) {
	dataDir := t.TempDir()
	m, _ := localManager(t, Options{DataDir: dataDir})
	m.Close()
	other, _ := newEncStorage(filepath.Join(dataDir, "tls"), testKey(3))
	other.Store(context.Background(), "acme/x/y.json", []byte("sealed under some third key"))
	if _, err := RotateWrapKey(dataDir, testKey(7), testKey(9), time.Now()); err == nil || !strings.Contains(err.Error(), "acme/x/y.json opens with neither") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tls", "acme", "x", "y.json")); err != nil {
		t.Fatalf("the value was removed: %v", err)
	}
	if _, err := RotateWrapKey(t.TempDir(), testKey(7), testKey(9), time.Now()); err != nil {
		t.Fatalf("empty data dir: %v", err)
	}
	fresh := t.TempDir()
	m, _ = localManager(t, Options{DataDir: fresh})
	m.Close()
	if _, err := RotateWrapKey(fresh, testKey(1), testKey(9), time.Now()); err == nil || !strings.Contains(err.Error(), "root key opens with neither") {
		t.Fatalf("wrong old key: %v", err)
	}
}

func TestMachineConstraints(t *testing.T) {
	c := MachineConstraints([]string{"dictum.firm.lan", "10.0.0.5", "[fd00::9]"}, []string{"firm.lan"})
	if !slices.Equal(c.DNS, []string{"dictum.firm.lan", "firm.lan"}) || len(c.IPs) != 2 || c.IPs[0].String() != "10.0.0.5" || c.IPs[1].String() != "fd00::9" {
		t.Fatalf("configured: %+v", c)
	}
	c = MachineConstraints(nil, nil)
	host, _ := os.Hostname()
	if validDNSName(strings.ToLower(host)) && (len(c.DNS) == 0 || c.DNS[0] != strings.ToLower(host)) {
		t.Fatalf("machine names %v, want the host name %q first", c.DNS, host)
	}
	for _, n := range c.DNS[min(1, len(c.DNS)):] {
		if !strings.HasPrefix(n, strings.ToLower(strings.Split(host, ".")[0])+".") {
			t.Errorf("FQDN %q is not a name of this machine", n)
		}
	}
	for _, ip := range c.IPs {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			t.Errorf("machine IP %v", ip)
		}
	}
	// A root made from them permits exactly these names (and localhost/loopback).
	dir := filepath.Join(t.TempDir(), "ca")
	if err := CreateRoot(dir, "F", testKey(1), testNow, c); err != nil {
		t.Fatal(err)
	}
	r, _ := LoadRoot(dir, testKey(1))
	for _, h := range DefaultHosts() {
		if err := r.Permits(h); err != nil {
			t.Errorf("default host %s not permitted by the machine root: %v", h, err)
		}
	}
	for _, h := range []string{"example.com", "192.0.2.1", "::2"} {
		if r.Permits(h) == nil {
			t.Errorf("machine root permits %s", h)
		}
	}
}
