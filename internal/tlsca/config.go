package tlsca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/cloudflare"
	"github.com/libdns/rfc2136"
	"github.com/libdns/route53"
)

// Modes.
const (
	ModeLocal = "local"
	ModeACME  = "acme"
)

// HSTSValue is the Strict-Transport-Security header value for HTTPS responses.
const HSTSValue = "max-age=31536000"

// ACME configures mode "acme" (DNS-01 only: the appliance is not reachable from a CA).
type ACME struct {
	// Directory is the ACME directory URL: empty means Let's Encrypt production; set it
	// for an internal CA (step-ca, AD CS with ACME, ...).
	Directory string
	// CARootPEM, if set, is the root the Directory's HTTPS server chains to (an internal
	// CA's own root); otherwise the system roots are used.
	CARootPEM []byte
	// Email is the account contact (optional for internal CAs).
	Email string
	// DNSProvider is "cloudflare", "route53" or "rfc2136".
	DNSProvider string
	// DNSCredentials holds the provider's settings (unknown keys are refused):
	//   cloudflare: api_token (required, Zone.DNS:Edit), zone_token
	//   route53:    region, profile, access_key_id + secret_access_key, session_token,
	//               hosted_zone_id (all optional: the AWS default chain applies)
	//   rfc2136:    server "host:port" (required), key_name + key_alg + key (TSIG)
	DNSCredentials map[string]string
	// Resolvers optionally overrides the DNS servers used for propagation checks
	// ("10.0.0.53:53"), useful with split-horizon DNS.
	Resolvers []string
}

// providerKeys lists the DNSCredentials keys each provider accepts (required ones first,
// see newDNSProvider for which are required).
var providerKeys = map[string][]string{
	"cloudflare": {"api_token", "zone_token"},
	"route53":    {"region", "profile", "access_key_id", "secret_access_key", "session_token", "hosted_zone_id"},
	"rfc2136":    {"server", "key_name", "key_alg", "key"},
}

// Options configures New.
type Options struct {
	Mode    string   // ModeLocal (default) or ModeACME
	Hosts   []string // DNS names and IPs to serve; empty = DefaultHosts() (local mode only)
	DataDir string   // data directory: the root lives in <DataDir>/ca, certmagic storage in <DataDir>/tls
	// WrapKey encrypts the root key and every value in <DataDir>/tls. Derive it from the
	// master key with its own HKDF label (e.g. "dictum/v1/tls").
	WrapKey [32]byte
	ACME    ACME
	Logger  *slog.Logger // nil = slog.Default()

	// Now stamps local-CA certificates (nil = time.Now). certmagic decides renewals with
	// the real clock; tests use Now to issue a leaf that is already near expiry.
	Now func() time.Time
	// LeafLifetime of local-CA certificates (0 = DefaultLeafLifetime).
	LeafLifetime time.Duration
	// RenewCheckInterval is how often certmagic checks for renewals (0 = its default,
	// 10 minutes).
	RenewCheckInterval time.Duration
	// CRLURL, in local mode, gives the CRL distribution point written into the leaf for
	// a host, e.g. "https://<host>:8443/ca.crl" (nil or "": none). Serve Manager.CRL there.
	CRLURL func(host string) string
}

// Manager owns the certmagic cache and config for the server's certificates.
type Manager struct {
	magic *certmagic.Config
	cache *certmagic.Cache
	hosts []string
	root  *Root // nil in ACME mode
	close sync.Once

	// Local mode: the signed CRL, re-signed every CRLRefresh until Close.
	caDir   string
	now     func() time.Time
	log     *slog.Logger
	crl     atomic.Pointer[[]byte]
	stopCRL chan struct{}
}

// New builds the certificate manager. In local mode it loads the root from
// <DataDir>/ca (created by CreateRoot at `dictum init`). Nothing is issued until Manage.
func New(opts Options) (*Manager, error) {
	if opts.DataDir == "" {
		return nil, errors.New("tlsca: DataDir is required")
	}
	if opts.WrapKey == ([32]byte{}) {
		return nil, errors.New("tlsca: WrapKey is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	storage, err := NewEncryptedStorage(filepath.Join(opts.DataDir, "tls"), opts.WrapKey)
	if err != nil {
		return nil, err
	}
	m := &Manager{}
	var issuer func(*certmagic.Config) (certmagic.Issuer, error)
	switch opts.Mode {
	case ModeLocal, "":
		root, err := LoadRoot(RootDir(opts.DataDir), opts.WrapKey)
		if err != nil {
			return nil, fmt.Errorf("%w (run `dictum init` to create the firm root)", err)
		}
		hosts := opts.Hosts
		if len(hosts) == 0 {
			hosts = nil
			for _, h := range DefaultHosts() {
				n, err := normalizeHost(h)
				if err == nil {
					err = root.Permits(n)
				}
				if err != nil {
					logger.Warn("tls: default host not served", "host", h, "reason", err.Error())
					continue
				}
				hosts = append(hosts, n)
			}
		}
		if hosts, err = normalizeHosts(hosts); err != nil {
			return nil, err
		}
		iss, err := NewIssuer(root, hosts, opts.LeafLifetime, opts.Now)
		if err != nil {
			return nil, err
		}
		iss.crlURL = opts.CRLURL
		m.root, m.hosts = root, hosts
		m.caDir, m.now, m.log, m.stopCRL = RootDir(opts.DataDir), opts.Now, logger, make(chan struct{})
		if m.now == nil {
			m.now = time.Now
		}
		if err := m.RefreshCRL(); err != nil {
			return nil, err
		}
		issuer = func(*certmagic.Config) (certmagic.Issuer, error) { return iss, nil }
	case ModeACME:
		hosts, err := normalizeHosts(opts.Hosts)
		if err != nil {
			return nil, err
		}
		if len(hosts) == 0 {
			return nil, errors.New("acme: hosts are required (DNS names the CA can validate)")
		}
		for _, h := range hosts {
			if net.ParseIP(h) != nil || h == "localhost" || !strings.Contains(h, ".") {
				return nil, fmt.Errorf("acme: %q cannot be validated by DNS-01; use a fully qualified DNS name", h)
			}
		}
		provider, err := newDNSProvider(opts.ACME.DNSProvider, opts.ACME.DNSCredentials)
		if err != nil {
			return nil, err
		}
		m.hosts = hosts
		a := opts.ACME
		issuer = func(cfg *certmagic.Config) (certmagic.Issuer, error) {
			tmpl := certmagic.ACMEIssuer{
				CA:                      a.Directory,
				Email:                   a.Email,
				Agreed:                  true,
				DisableHTTPChallenge:    true,
				DisableTLSALPNChallenge: true,
				DNS01Solver: &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
					DNSProvider: provider,
					Resolvers:   a.Resolvers,
				}},
				Logger: cfg.Logger,
			}
			if tmpl.CA == "" {
				tmpl.CA = certmagic.LetsEncryptProductionCA
			}
			if len(a.CARootPEM) > 0 {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(a.CARootPEM) {
					return nil, errors.New("acme: CARootPEM holds no certificate")
				}
				tmpl.TrustedRoots = pool
			}
			return certmagic.NewACMEIssuer(cfg, tmpl), nil
		}
	default:
		return nil, fmt.Errorf("tlsca: unknown TLS mode %q (want local or acme)", opts.Mode)
	}

	zl := zapToSlog(logger)
	var magic *certmagic.Config
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		RenewCheckInterval: opts.RenewCheckInterval,
		Logger:             zl,
	})
	magic = certmagic.New(m.cache, certmagic.Config{
		Storage:           storage,
		Logger:            zl,
		DefaultServerName: m.hosts[0],
		// The local CA has no OCSP responder and no ARI; for ACME, stapling stays on.
		OCSP:       certmagic.OCSPConfig{DisableStapling: m.root != nil},
		DisableARI: m.root != nil,
	})
	iss, err := issuer(magic)
	if err != nil {
		m.cache.Stop()
		return nil, err
	}
	magic.Issuers = []certmagic.Issuer{iss}
	m.magic = magic
	return m, nil
}

// RootDir is where CreateRoot should put the firm root for a data directory.
func RootDir(dataDir string) string { return filepath.Join(dataDir, "ca") }

// Manage loads or obtains a certificate for every host, synchronously, so errors
// surface at startup; afterwards certmagic renews them in the background until Close.
// In ACME mode this talks to the CA and the DNS provider.
func (m *Manager) Manage(ctx context.Context) error {
	if err := m.magic.ManageSync(ctx, m.hosts); err != nil {
		return fmt.Errorf("tls: manage certificates: %w", err)
	}
	if m.root != nil {
		go m.refreshCRLLoop()
	}
	return nil
}

// CRL returns the root's current signed CRL (DER; nil in ACME mode). Serve it at CRLPath.
func (m *Manager) CRL() []byte {
	if p := m.crl.Load(); p != nil {
		return *p
	}
	return nil
}

// RefreshCRL re-reads the revocation list and re-signs the CRL (local mode).
func (m *Manager) RefreshCRL() error {
	if m.root == nil {
		return nil
	}
	revoked, err := LoadRevoked(m.caDir)
	if err != nil {
		return err
	}
	der, err := m.root.CRL(m.now(), revoked)
	if err != nil {
		return err
	}
	m.crl.Store(&der)
	return nil
}

func (m *Manager) refreshCRLLoop() {
	t := time.NewTicker(CRLRefresh)
	defer t.Stop()
	for {
		select {
		case <-m.stopCRL:
			return
		case <-t.C:
			if err := m.RefreshCRL(); err != nil {
				m.log.Error("tls: re-sign the CRL", "err", err.Error())
			}
		}
	}
}

// TLSConfig returns the server configuration: TLS 1.2+ (1.3 preferred by Go), AEAD ECDHE
// suites only for 1.2, http/1.1 only (fasthttp has no HTTP/2), certificates from
// certmagic so renewals apply without a restart. Each call returns a new value.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{ // TLS 1.2 only; 1.3 suites are not configurable
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos:     []string{"http/1.1"},
		GetCertificate: m.magic.GetCertificate,
	}
}

// Hosts returns the names and IPs the manager serves.
func (m *Manager) Hosts() []string { return slices.Clone(m.hosts) }

// Root returns the local root (nil in ACME mode); serve Root().CertPEM() at /ca.crt.
func (m *Manager) Root() *Root { return m.root }

// Close stops background renewal. It is safe to call more than once.
func (m *Manager) Close() {
	m.close.Do(func() {
		m.cache.Stop()
		if m.stopCRL != nil {
			close(m.stopCRL)
		}
	})
}

// DefaultHosts returns the machine's host name and fully qualified names, its
// non-loopback unicast addresses, "localhost" and 127.0.0.1. Link-local addresses are
// left out (they need a zone).
func DefaultHosts() []string {
	out := machineNames()
	for _, ip := range machineIPs() {
		out = append(out, ip.String())
	}
	return append(out, "localhost", "127.0.0.1")
}

func normalizeHosts(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, h := range in {
		n, err := normalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("tlsca: no usable host names")
	}
	return out, nil
}

// newDNSProvider builds a libdns provider for DNS-01 from string settings.
func newDNSProvider(name string, creds map[string]string) (certmagic.DNSProvider, error) {
	if name == "" {
		return nil, errors.New("acme: no DNS provider configured (cloudflare, route53 or rfc2136)")
	}
	allowed, ok := providerKeys[name]
	if !ok {
		return nil, fmt.Errorf("acme: unknown DNS provider %q (want cloudflare, route53 or rfc2136)", name)
	}
	var unknown []string
	for k := range creds {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("acme: %s: unknown credential keys %v (allowed: %v)", name, unknown, allowed)
	}
	get := func(k string) string { return strings.TrimSpace(creds[k]) }
	switch name {
	case "cloudflare":
		if get("api_token") == "" {
			return nil, errors.New("acme: cloudflare: api_token is required")
		}
		return &cloudflare.Provider{APIToken: get("api_token"), ZoneToken: get("zone_token")}, nil
	case "route53":
		if (get("access_key_id") == "") != (get("secret_access_key") == "") {
			return nil, errors.New("acme: route53: access_key_id and secret_access_key go together")
		}
		return &route53.Provider{
			Region:          get("region"),
			Profile:         get("profile"),
			AccessKeyId:     get("access_key_id"),
			SecretAccessKey: get("secret_access_key"),
			SessionToken:    get("session_token"),
			HostedZoneID:    get("hosted_zone_id"),
		}, nil
	default: // rfc2136
		if get("server") == "" {
			return nil, errors.New("acme: rfc2136: server (host:port) is required")
		}
		if _, _, err := net.SplitHostPort(get("server")); err != nil {
			return nil, fmt.Errorf("acme: rfc2136: server must be host:port: %w", err)
		}
		tsig := []string{get("key_name"), get("key_alg"), get("key")}
		set := 0
		for _, v := range tsig {
			if v != "" {
				set++
			}
		}
		if set != 0 && set != 3 {
			return nil, errors.New("acme: rfc2136: key_name, key_alg and key go together (TSIG)")
		}
		return &rfc2136.Provider{Server: get("server"), KeyName: tsig[0], KeyAlg: tsig[1], Key: tsig[2]}, nil
	}
}
