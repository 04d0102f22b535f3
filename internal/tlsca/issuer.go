package tlsca

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// DefaultLeafLifetime is the validity of server certificates from the local CA. certmagic
// renews at one third of the lifetime remaining, i.e. 30 days before expiry, so a served
// certificate always has more than 30 days left (TLS scanners flag less as HIGH).
const DefaultLeafLifetime = 90 * 24 * time.Hour

// leafBackdate tolerates client clocks that run a little behind the server's.
const leafBackdate = 5 * time.Minute

// Issuer signs server certificates with the firm root. It implements certmagic.Issuer.
// It signs only for the names in Hosts and only what the root's name constraints allow.
type Issuer struct {
	root     *Root
	hosts    map[string]bool // normalized names; IPs in canonical String() form
	lifetime time.Duration
	now      func() time.Time
	// crlURL, when set, gives the CRL distribution point written into a leaf for host.
	crlURL func(host string) string
}

var _ certmagic.Issuer = (*Issuer)(nil)

// NewIssuer returns an issuer for hosts (DNS names and IP addresses). lifetime <= 0 means
// DefaultLeafLifetime; now == nil means time.Now (a fake clock stamps NotBefore/NotAfter,
// which is how renewal is tested: certmagic itself always uses the real clock).
func NewIssuer(root *Root, hosts []string, lifetime time.Duration, now func() time.Time) (*Issuer, error) {
	if root == nil {
		return nil, errors.New("tlsca: issuer needs a root")
	}
	if len(hosts) == 0 {
		return nil, errors.New("tlsca: issuer needs at least one host")
	}
	if lifetime <= 0 {
		lifetime = DefaultLeafLifetime
	}
	if now == nil {
		now = time.Now
	}
	set := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		n, err := normalizeHost(h)
		if err != nil {
			return nil, err
		}
		if err := root.Permits(n); err != nil {
			return nil, err
		}
		set[n] = true
	}
	return &Issuer{root: root, hosts: set, lifetime: lifetime, now: now}, nil
}

// IssuerKey identifies this root: a new root gets new certificates in storage.
func (iss *Issuer) IssuerKey() string {
	fp := strings.ReplaceAll(iss.root.Fingerprint(), ":", "")
	return localIssuerPrefix + strings.ToLower(fp[:16])
}

// Issue signs a certificate for the CSR's names (certmagic asks for one name per
// certificate). Names outside Hosts, e-mail and URI SANs are refused.
func (iss *Issuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if csr == nil {
		return nil, errors.New("tlsca: issue: no CSR")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("tlsca: issue: bad CSR signature: %w", err)
	}
	if len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		return nil, errors.New("tlsca: issue: only DNS names and IP addresses can be certified")
	}
	switch csr.PublicKey.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return nil, fmt.Errorf("tlsca: issue: unsupported key type %T", csr.PublicKey)
	}
	var dnsNames []string
	var ips []net.IP
	seen := map[string]bool{}
	add := func(raw string) error {
		n, err := normalizeHost(raw)
		if err != nil {
			return err
		}
		if !iss.hosts[n] {
			return fmt.Errorf("tlsca: issue: %q is not one of the configured hosts", raw)
		}
		if seen[n] {
			return nil
		}
		seen[n] = true
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, n)
		}
		return nil
	}
	for _, n := range csr.DNSNames {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	for _, ip := range csr.IPAddresses {
		if err := add(ip.String()); err != nil {
			return nil, err
		}
	}
	if cn := csr.Subject.CommonName; cn != "" {
		if err := add(cn); err != nil {
			return nil, err
		}
	}
	if len(seen) == 0 {
		return nil, errors.New("tlsca: issue: CSR names no host")
	}

	now := iss.now()
	notAfter := now.Add(iss.lifetime)
	if rootEnd := iss.root.cert.NotAfter; notAfter.After(rootEnd) {
		notAfter = rootEnd
	}
	if !notAfter.After(now) {
		return nil, errors.New("tlsca: issue: the root certificate has expired; create a new root")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	// An IP-only leaf gets no common name: OpenSSL checks a CN against the root's DNS name
	// constraints ("permitted subtree violation" for CN=127.0.0.1); the SAN is what counts.
	cn := ""
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := csr.PublicKey.(*rsa.PublicKey); isRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-leafBackdate).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	if iss.crlURL != nil {
		first := cn
		if first == "" {
			first = ips[0].String()
		}
		if u := iss.crlURL(first); u != "" {
			tmpl.CRLDistributionPoints = []string{u}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.root.cert, csr.PublicKey, iss.root.key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: issue: sign: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlsca: issue: parse own certificate: %w", err)
	}
	// Self-check against the root as a client would see it (name constraints included).
	pool := x509.NewCertPool()
	pool.AddCert(iss.root.cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("tlsca: issue: issued certificate does not verify: %w", err)
	}
	return &certmagic.IssuedCertificate{
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Metadata:    map[string]string{"issuer": "dictum-local-ca"},
	}, nil
}

// normalizeHost lower-cases DNS names (no trailing dot) and canonicalises IPs.
func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
		return ip.String(), nil
	}
	n := strings.ToLower(strings.TrimSuffix(h, "."))
	if !validDNSName(n) {
		return "", fmt.Errorf("tlsca: %q is not a valid host name or IP address", h)
	}
	return n, nil
}
