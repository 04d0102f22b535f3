package tlsca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/cloudflare"
	"github.com/libdns/rfc2136"
	"github.com/libdns/route53"
)

// localManager creates a data dir with a root and a started local-mode manager.
func localManager(t *testing.T, opts Options) (*Manager, *x509.CertPool) {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	opts.WrapKey = testKey(7)
	created := time.Now()
	if opts.Now != nil {
		created = opts.Now()
	}
	if err := CreateRoot(RootDir(opts.DataDir), "Test Firm", opts.WrapKey, created, Constraints{DNS: []string{"dictum.test"}}); err != nil {
		t.Fatal(err)
	}
	if opts.Hosts == nil {
		opts.Hosts = []string{"dictum.test", "127.0.0.1", "localhost"}
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(m.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Manage(ctx); err != nil {
		t.Fatalf("Manage: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(m.Root().CertPEM()) {
		t.Fatal("root PEM")
	}
	return m, pool
}

// serveTLS runs a tls.Listen server on 127.0.0.1 that completes handshakes and writes "ok".
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) (*tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	if string(buf) != "ok" {
		return nil, errors.New("bad reply " + string(buf))
	}
	st := c.ConnectionState()
	return &st, nil
}

func TestHandshake(t *testing.T) {
	m, pool := localManager(t, Options{})
	addr := serveTLS(t, m.TLSConfig())
	cases := []struct {
		name       string
		cfg        *tls.Config
		wantErr    string
		wantVer    uint16
		wantSAN    string
		wantIPSAN  string
		wantProto  string
		checkSuite bool
	}{
		{name: "TLS 1.1 refused", cfg: &tls.Config{RootCAs: pool, ServerName: "dictum.test", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, wantErr: "protocol version"},
		{name: "TLS 1.2 CBC only refused", cfg: &tls.Config{RootCAs: pool, ServerName: "dictum.test", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}, wantErr: "handshake failure"},
		{name: "TLS 1.2 by DNS name", cfg: &tls.Config{RootCAs: pool, ServerName: "dictum.test", MaxVersion: tls.VersionTLS12}, wantVer: tls.VersionTLS12, wantSAN: "dictum.test", checkSuite: true},
		{name: "TLS 1.3 by DNS name", cfg: &tls.Config{RootCAs: pool, ServerName: "dictum.test"}, wantVer: tls.VersionTLS13, wantSAN: "dictum.test"},
		{name: "TLS 1.3 by IP (no SNI)", cfg: &tls.Config{RootCAs: pool}, wantVer: tls.VersionTLS13, wantIPSAN: "127.0.0.1"},
		{name: "localhost", cfg: &tls.Config{RootCAs: pool, ServerName: "localhost"}, wantVer: tls.VersionTLS13, wantSAN: "localhost"},
		{name: "ALPN offers h2 gets http/1.1", cfg: &tls.Config{RootCAs: pool, ServerName: "dictum.test", NextProtos: []string{"h2", "http/1.1"}}, wantVer: tls.VersionTLS13, wantProto: "http/1.1"},
		{name: "not trusted without the root", cfg: &tls.Config{ServerName: "dictum.test"}, wantErr: "unknown authority"},
		{name: "unknown name gets no certificate", cfg: &tls.Config{RootCAs: pool, ServerName: "other.test"}, wantErr: "remote error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := dial(addr, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("dial err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if st.Version != tc.wantVer {
				t.Errorf("version = %x, want %x", st.Version, tc.wantVer)
			}
			leaf := st.PeerCertificates[0]
			if tc.wantSAN != "" && (len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != tc.wantSAN) {
				t.Errorf("DNS SANs = %v, want [%s]", leaf.DNSNames, tc.wantSAN)
			}
			if tc.wantIPSAN != "" && (len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != tc.wantIPSAN) {
				t.Errorf("IP SANs = %v, want [%s]", leaf.IPAddresses, tc.wantIPSAN)
			}
			if tc.wantProto != "" && st.NegotiatedProtocol != tc.wantProto {
				t.Errorf("ALPN = %q, want %q", st.NegotiatedProtocol, tc.wantProto)
			}
			if tc.checkSuite && st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 &&
				st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 && st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
				t.Errorf("cipher suite = %s", tls.CipherSuiteName(st.CipherSuite))
			}
			// Explicit chain check (the handshake already verified it with RootCAs).
			name := tc.wantSAN + tc.wantIPSAN
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("leaf does not chain to the root for %s: %v", name, err)
			}
		})
	}
	cfg := m.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 || len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != "http/1.1" {
		t.Errorf("TLSConfig: min=%x protos=%v", cfg.MinVersion, cfg.NextProtos)
	}
}

// The local CA stamps certificates with opts.Now; certmagic judges renewal with the real
// clock. A clock 29 days 23 hours behind makes the first leaf one hour from expiry (in
// the renewal window); the clock is then brought to the present, as if that time had
// passed, and certmagic's background maintenance must replace the leaf while the same
// listener keeps serving.
func TestRenewalBeforeExpiry(t *testing.T) {
	var offset atomic.Int64
	offset.Store(int64(-(DefaultLeafLifetime - time.Hour)))
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	m, pool := localManager(t, Options{Hosts: []string{"dictum.test"}, Now: clock, RenewCheckInterval: 100 * time.Millisecond})
	addr := serveTLS(t, m.TLSConfig())
	client := &tls.Config{RootCAs: pool, ServerName: "dictum.test"}

	st, err := dial(addr, client)
	if err != nil {
		t.Fatal(err)
	}
	first := st.PeerCertificates[0]
	if left := time.Until(first.NotAfter); left > 2*time.Hour || left <= 0 {
		t.Fatalf("first leaf expires in %v, want about 1h", left)
	}
	offset.Store(0)

	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := dial(addr, client)
		if err != nil {
			t.Fatal(err)
		}
		got := st.PeerCertificates[0]
		if got.SerialNumber.Cmp(first.SerialNumber) != 0 {
			if left := time.Until(got.NotAfter); left < DefaultLeafLifetime-time.Hour {
				t.Fatalf("renewed leaf expires in %v, want ~%v", left, DefaultLeafLifetime)
			}
			if !got.NotAfter.After(first.NotAfter) {
				t.Fatal("renewed leaf does not outlive the old one")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("leaf was not renewed within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStorageEncryptedOnDisk(t *testing.T) {
	dataDir := t.TempDir()
	m, _ := localManager(t, Options{DataDir: dataDir})
	files := 0
	err := filepath.WalkDir(filepath.Join(dataDir, "tls"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("-----BEGIN")) || !bytes.HasPrefix(b, storageMagic) {
			t.Errorf("%s is not encrypted", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("only %d files in tls storage; expected certs, keys and metadata", files)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "tls")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("tls dir mode = %v, %v", fi.Mode().Perm(), err)
	}
	m.Close()

	// A restart with the same key reuses the stored certificates (loads, decrypts).
	m2, err := New(Options{DataDir: dataDir, WrapKey: testKey(7), Hosts: m.Hosts(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Manage(context.Background()); err != nil {
		t.Fatalf("Manage after restart: %v", err)
	}
	// The wrong wrap key fails clearly.
	_, err = New(Options{DataDir: dataDir, WrapKey: testKey(8), Hosts: m.Hosts()})
	if !errors.Is(err, ErrWrongWrapKey) {
		t.Fatalf("New with wrong key: %v", err)
	}
}

func TestEncryptedStorage(t *testing.T) {
	dir := t.TempDir()
	s, err := NewEncryptedStorage(dir, testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := []byte("-----BEGIN EC PRIVATE KEY-----\nsecret\n")
	if err := s.Store(ctx, "certificates/a/a.key", secret); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(ctx, "certificates/b/b.key", []byte("other")); err != nil {
		t.Fatal(err)
	}
	raw := mustRead(t, filepath.Join(dir, "certificates/a/a.key"))
	if bytes.Contains(raw, []byte("secret")) {
		t.Fatal("value stored in plaintext")
	}
	got, err := s.Load(ctx, "certificates/a/a.key")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Load = %q, %v", got, err)
	}
	other, _ := NewEncryptedStorage(dir, testKey(4))
	cases := []struct {
		name    string
		setup   func()
		st      certmagic.Storage
		key     string
		wantIs  error
		wantSub string
	}{
		{name: "missing key keeps ErrNotExist", st: s, key: "nope", wantIs: fs.ErrNotExist},
		{name: "wrong wrap key", st: other, key: "certificates/a/a.key", wantSub: "cannot decrypt"},
		{name: "file moved to another key", st: s, key: "certificates/b/b.key", wantSub: "cannot decrypt", setup: func() {
			_ = os.WriteFile(filepath.Join(dir, "certificates/b/b.key"), raw, 0o600)
		}},
		{name: "plaintext file refused", st: s, key: "plain", wantSub: "not encrypted", setup: func() {
			_ = os.WriteFile(filepath.Join(dir, "plain"), []byte("-----BEGIN CERTIFICATE-----"), 0o600)
		}},
		{name: "truncated", st: s, key: "short", wantSub: "truncated", setup: func() {
			_ = os.WriteFile(filepath.Join(dir, "short"), storageMagic, 0o600)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			_, err := tc.st.Load(ctx, tc.key)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			if tc.wantSub != "" && !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want %q", err, tc.wantSub)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dataDir := t.TempDir()
	if err := CreateRoot(RootDir(dataDir), "F", testKey(7), time.Now(), Constraints{DNS: []string{"dictum.test"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		opts    Options
		wantSub string
	}{
		{"no data dir", Options{WrapKey: testKey(7)}, "DataDir"},
		{"no wrap key", Options{DataDir: dataDir}, "WrapKey"},
		{"unknown mode", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: "self"}, "unknown TLS mode"},
		{"no root yet", Options{DataDir: t.TempDir(), WrapKey: testKey(7)}, "dictum init"},
		{"host outside constraints", Options{DataDir: dataDir, WrapKey: testKey(7), Hosts: []string{"example.com"}}, "outside"},
		{"public IP", Options{DataDir: dataDir, WrapKey: testKey(7), Hosts: []string{"8.8.8.8"}}, "outside"},
		{"bad host", Options{DataDir: dataDir, WrapKey: testKey(7), Hosts: []string{"a/b"}}, "not a valid host"},
		{"acme without hosts", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: ModeACME}, "no usable host"},
		{"acme IP host", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: ModeACME, Hosts: []string{"192.168.1.2"}}, "DNS-01"},
		{"acme single label", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: ModeACME, Hosts: []string{"server"}}, "DNS-01"},
		{"acme no provider", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: ModeACME, Hosts: []string{"dictum.firm.com"}}, "no DNS provider configured"},
		{"acme bad CA root", Options{DataDir: dataDir, WrapKey: testKey(7), Mode: ModeACME, Hosts: []string{"dictum.firm.com"},
			ACME: ACME{DNSProvider: "cloudflare", DNSCredentials: map[string]string{"api_token": "t"}, CARootPEM: []byte("junk")}}, "no certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want %q", err, tc.wantSub)
			}
		})
	}
}

func TestDefaultHostsFilteredByConstraints(t *testing.T) {
	dataDir := t.TempDir()
	// Only localhost is a permitted DNS name, so the machine's host name is dropped
	// while localhost and the private/loopback addresses are kept.
	if err := CreateRoot(RootDir(dataDir), "F", testKey(7), time.Now(), Constraints{DNS: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{DataDir: dataDir, WrapKey: testKey(7), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hosts := strings.Join(m.Hosts(), ",")
	if !strings.Contains(hosts, "localhost") || !strings.Contains(hosts, "127.0.0.1") {
		t.Fatalf("hosts = %s", hosts)
	}
	for _, h := range m.Hosts() {
		if err := m.Root().Permits(h); err != nil {
			t.Errorf("host %s kept although not permitted: %v", h, err)
		}
	}
}

func TestDNSProviders(t *testing.T) {
	cases := []struct {
		name     string
		provider string
		creds    map[string]string
		wantSub  string
		check    func(t *testing.T, p certmagic.DNSProvider)
	}{
		{name: "none", wantSub: "no DNS provider configured"},
		{name: "unknown", provider: "godaddy", wantSub: "unknown DNS provider"},
		{name: "cloudflare token", provider: "cloudflare", creds: map[string]string{"api_token": " tok "}, check: func(t *testing.T, p certmagic.DNSProvider) {
			if cf, ok := p.(*cloudflare.Provider); !ok || cf.APIToken != "tok" {
				t.Errorf("provider = %#v", p)
			}
		}},
		{name: "cloudflare missing token", provider: "cloudflare", creds: map[string]string{}, wantSub: "api_token is required"},
		{name: "cloudflare typo", provider: "cloudflare", creds: map[string]string{"api_tokn": "x"}, wantSub: "unknown credential keys [api_tokn]"},
		{name: "route53 keys", provider: "route53", creds: map[string]string{"access_key_id": "AK", "secret_access_key": "SK", "region": "eu-west-1"}, check: func(t *testing.T, p certmagic.DNSProvider) {
			if r, ok := p.(*route53.Provider); !ok || r.AccessKeyId != "AK" || r.SecretAccessKey != "SK" || r.Region != "eu-west-1" {
				t.Errorf("provider = %#v", p)
			}
		}},
		{name: "route53 default chain", provider: "route53", creds: nil, check: func(t *testing.T, p certmagic.DNSProvider) {
			if _, ok := p.(*route53.Provider); !ok {
				t.Errorf("provider = %#v", p)
			}
		}},
		{name: "route53 half a key pair", provider: "route53", creds: map[string]string{"access_key_id": "AK"}, wantSub: "go together"},
		{name: "rfc2136 with tsig", provider: "rfc2136", creds: map[string]string{"server": "10.0.0.53:53", "key_name": "dictum.", "key_alg": "hmac-sha256", "key": "c2VjcmV0"}, check: func(t *testing.T, p certmagic.DNSProvider) {
			if r, ok := p.(*rfc2136.Provider); !ok || r.Server != "10.0.0.53:53" || r.KeyAlg != "hmac-sha256" {
				t.Errorf("provider = %#v", p)
			}
		}},
		{name: "rfc2136 no server", provider: "rfc2136", creds: map[string]string{"key": "x"}, wantSub: "server (host:port) is required"},
		{name: "rfc2136 server without port", provider: "rfc2136", creds: map[string]string{"server": "10.0.0.53"}, wantSub: "host:port"},
		{name: "rfc2136 partial tsig", provider: "rfc2136", creds: map[string]string{"server": "10.0.0.53:53", "key": "x"}, wantSub: "go together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newDNSProvider(tc.provider, tc.creds)
			if tc.wantSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantSub) {
					t.Fatalf("err = %v, want %q", err, tc.wantSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

// ACME mode talks to the configured directory (here a local fake that is down), trusts
// the internal CA root given in CARootPEM, and reports the failure instead of serving.
func TestACMEUsesConfiguredDirectory(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"type":"urn:ietf:params:acme:error:unauthorized","detail":"test CA is closed"}`)
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	m, err := New(Options{
		Mode: ModeACME, Hosts: []string{"dictum.firm.example"}, DataDir: t.TempDir(), WrapKey: testKey(9),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ACME: ACME{Directory: srv.URL + "/acme/directory", CARootPEM: caPEM, Email: "it@firm.example",
			DNSProvider: "rfc2136", DNSCredentials: map[string]string{"server": "127.0.0.1:1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Root() != nil {
		t.Error("ACME manager has a local root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = m.Manage(ctx)
	if err == nil {
		t.Fatal("Manage succeeded against a closed CA")
	}
	// The fake's problem detail arriving proves the request went to Directory over TLS
	// verified with CARootPEM (without it the handshake would fail before any HTTP).
	if hits.Load() == 0 || !strings.Contains(err.Error(), "test CA is closed") {
		t.Fatalf("the configured directory was not used (hits %d, err: %v)", hits.Load(), err)
	}
}

// OpenSSL (curl, many clients) checks a leaf's common name against the root's DNS name
// constraints: an IP-only leaf must verify there too, not just in Go.
func TestOpenSSLVerifiesLeaves(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	m, pool := localManager(t, Options{})
	addr := serveTLS(t, m.TLSConfig())
	dir := t.TempDir()
	rootPEM := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootPEM, m.Root().CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ server, flag, value string }{{"", "-verify_ip", "127.0.0.1"}, {"dictum.test", "-verify_hostname", "dictum.test"}} {
		st, err := dial(addr, &tls.Config{RootCAs: pool, ServerName: tc.server})
		if err != nil {
			t.Fatal(err)
		}
		leaf := filepath.Join(dir, "leaf.pem")
		os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st.PeerCertificates[0].Raw}), 0o600)
		out, err := exec.Command(openssl, "verify", "-CAfile", rootPEM, "-purpose", "sslserver", tc.flag, tc.value, leaf).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Errorf("openssl verify %s %s: %v %s", tc.flag, tc.value, err, out)
		}
	}
}
