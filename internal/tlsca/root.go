package tlsca

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/hkdf"

	"dictum/internal/platform"
)

// File names inside the CA directory.
const (
	RootCertFile = "ca.crt" // PEM, 0644: public, served at /ca.crt
	RootKeyFile  = "ca.key" // AES-256-GCM sealed PKCS#8, 0600
)

// RootValidity is the lifetime of a firm root.
const RootValidity = 10 * 365 * 24 * time.Hour

// keyFileMagic starts every sealed root key file; it is also authenticated data.
var keyFileMagic = []byte("DICTUM-TLSCA-KEY-1\n")

// HKDF labels for sub-keys of the caller's wrap key. Never change them.
const (
	labelRootKey = "dictum/tlsca/v1/root-key"
	labelStorage = "dictum/tlsca/v1/storage"
)

// ErrRootExists is returned by CreateRoot when the directory already holds a root:
// replacing it silently would break trust on every PC that installed the old one.
var ErrRootExists = errors.New("tlsca: a root CA already exists")

// ErrWrongWrapKey is returned by LoadRoot when the root key cannot be decrypted.
var ErrWrongWrapKey = errors.New("tlsca: cannot decrypt the root key: wrong wrap key or corrupted key file")

// loopbackIPs are always permitted by a new root: a browser on the server itself reaches
// it by 127.0.0.1 or ::1.
var loopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}

// Constraints are the names a new root may ever certify (X.509 name constraints, critical).
// A stolen root key can then only impersonate this server, not the firm's other machines
// or public web sites.
type Constraints struct {
	// DNS names; a constraint "firm.lan" allows firm.lan and every name under it, a
	// leading dot (".firm.lan") only names under it. "localhost" is always added.
	DNS []string
	// IPs are single addresses (host-length ranges). 127.0.0.1 and ::1 are always added.
	IPs []net.IP
}

// Root is a firm's local certificate authority, loaded with its private key.
type Root struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// CreateRoot creates the firm root in dir (created 0700 if missing): an ECDSA P-256
// self-signed CA named "Dictum <firmName> Local CA", valid for ten years from now, with
// path length 0 and name constraints. The private key is sealed with AES-256-GCM under
// a key derived (HKDF-SHA256) from wrapKey and written 0600; the certificate is written
// 0644. It refuses to overwrite an existing root (ErrRootExists).
//
// names limits what the root can ever certify (see Constraints; MachineConstraints
// gives this machine's names). There is no unconstrained root: with no DNS names it can
// certify only localhost, with no IPs only the loopback addresses. Roots made by older
// versions (DNS unconstrained when no name was given, IPs limited to private ranges)
// keep working: LoadRoot and the Issuer follow whatever the certificate says.
func CreateRoot(dir, firmName string, wrapKey [32]byte, now time.Time, names Constraints) error {
	firm := cleanFirmName(firmName)
	if firm == "" {
		return errors.New("tlsca: create root: firm name is empty")
	}
	if wrapKey == ([32]byte{}) {
		return errors.New("tlsca: create root: wrap key is all zero")
	}
	domains, err := normalizeConstraints(names.DNS)
	if err != nil {
		return fmt.Errorf("tlsca: create root: %w", err)
	}
	ipRanges := ipConstraints(names.IPs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsca: create root dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("tlsca: create root dir: %w", err)
	}
	for _, f := range []string{RootCertFile, RootKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%w in %s", ErrRootExists, dir)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tlsca: create root: %w", err)
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsca: generate root key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	name := "Dictum " + firm + " Local CA"
	tmpl := &x509.Certificate{
		SerialNumber:                serial,
		Subject:                     pkix.Name{CommonName: name, Organization: []string{firm}},
		NotBefore:                   now.Add(-time.Hour).UTC(), // tolerate client clocks a little behind
		NotAfter:                    now.Add(RootValidity).UTC(),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         domains,
		PermittedIPRanges:           ipRanges,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tlsca: sign root: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tlsca: encode root key: %w", err)
	}
	sealed, err := sealRootKey(wrapKey, der, pkcs8)
	if err != nil {
		return err
	}
	// Key first: a directory with a certificate but no key is unusable, and the
	// reverse is caught by the existence check above on a retry.
	if err := writeAtomic(filepath.Join(dir, RootKeyFile), sealed, 0o600); err != nil {
		return fmt.Errorf("tlsca: write root key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeAtomic(filepath.Join(dir, RootCertFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("tlsca: write root certificate: %w", err)
	}
	return nil
}

// LoadRoot reads the root written by CreateRoot and decrypts its key. A wrong wrap key
// gives ErrWrongWrapKey.
func LoadRoot(dir string, wrapKey [32]byte) (*Root, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, fmt.Errorf("tlsca: load root certificate: %w", err)
	}
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("tlsca: %s is not a single PEM certificate", RootCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tlsca: parse root certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("tlsca: %s is not a CA certificate", RootCertFile)
	}
	sealed, err := os.ReadFile(filepath.Join(dir, RootKeyFile))
	if err != nil {
		return nil, fmt.Errorf("tlsca: load root key: %w", err)
	}
	pkcs8, err := openRootKey(wrapKey, block.Bytes, sealed)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("tlsca: parse root key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("tlsca: root key is %T, want ECDSA", k)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("tlsca: root key does not match the root certificate")
	}
	return &Root{cert: cert, certPEM: certPEM, key: key}, nil
}

// CertPEM returns the root certificate in PEM form (what /ca.crt serves).
func (r *Root) CertPEM() []byte { return bytes.Clone(r.certPEM) }

// Certificate returns the parsed root certificate. Do not modify it.
func (r *Root) Certificate() *x509.Certificate { return r.cert }

// Fingerprint returns the SHA-256 fingerprint of the root as colon-separated upper-case
// hex, the form Windows, macOS and Firefox show. Show it at `dictum init` and on the
// admin page: /ca.crt can be fetched over plain HTTP, and on a hostile LAN users must
// compare this value before trusting the file.
func (r *Root) Fingerprint() string { return Fingerprint(r.cert.Raw) }

// Fingerprint is the SHA-256 of a DER certificate as colon-separated upper-case hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Permits reports (as an error naming the reason) whether the root's name constraints
// allow a certificate for host, a DNS name or an IP address.
func (r *Root) Permits(host string) error {
	if ip := net.ParseIP(host); ip != nil {
		if len(r.cert.PermittedIPRanges) == 0 {
			return nil
		}
		for _, n := range r.cert.PermittedIPRanges {
			if n.Contains(ip) {
				return nil
			}
		}
		return fmt.Errorf("tlsca: %s is outside the root's permitted addresses %v; a new root is needed to add it", host, r.cert.PermittedIPRanges)
	}
	if len(r.cert.PermittedDNSDomains) == 0 {
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range r.cert.PermittedDNSDomains {
		d = strings.ToLower(d)
		if strings.HasPrefix(d, ".") {
			if strings.HasSuffix(h, d) {
				return nil
			}
			continue
		}
		if h == d || strings.HasSuffix(h, "."+d) {
			return nil
		}
	}
	return fmt.Errorf("tlsca: %s is outside the root's permitted DNS names %v; a new root is needed to add it", host, r.cert.PermittedDNSDomains)
}

func cleanFirmName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 48 { // CN is limited to 64 characters with the prefix and suffix
		s = strings.TrimSpace(string(r[:48]))
	}
	return s
}

// ipConstraints returns host-length ranges for ips plus the loopback addresses, deduplicated.
func ipConstraints(ips []net.IP) []*net.IPNet {
	seen := map[string]bool{}
	var out []*net.IPNet
	for _, ip := range append(append([]net.IP(nil), ips...), loopbackIPs...) {
		if ip == nil || ip.IsUnspecified() {
			continue
		}
		bits := 128
		if v4 := ip.To4(); v4 != nil {
			ip, bits = v4, 32
		}
		if seen[ip.String()] {
			continue
		}
		seen[ip.String()] = true
		out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	return out
}

func normalizeConstraints(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, d := range append(append([]string(nil), in...), "localhost") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" || seen[d] {
			continue
		}
		if net.ParseIP(d) != nil {
			return nil, fmt.Errorf("permitted DNS name %q is an IP address (IP ranges are fixed)", d)
		}
		if !validDNSName(strings.TrimPrefix(d, ".")) {
			return nil, fmt.Errorf("permitted DNS name %q is not a valid host name", d)
		}
		seen[d] = true
		out = append(out, d)
	}
	return out, nil
}

// validDNSName accepts LDH host names (no wildcards, no trailing dot).
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func randomSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tlsca: random serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

func subKey(wrapKey [32]byte, label string) ([]byte, error) {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, wrapKey[:], nil, []byte(label)), k); err != nil {
		return nil, fmt.Errorf("tlsca: derive key: %w", err)
	}
	return k, nil
}

func newGCM(wrapKey [32]byte, label string) (cipher.AEAD, error) {
	k, err := subKey(wrapKey, label)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("tlsca: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tlsca: gcm: %w", err)
	}
	return aead, nil
}

// sealRootKey returns magic || nonce || GCM(pkcs8), authenticating the magic and the
// SHA-256 of the certificate so a key cannot be paired with another certificate.
func sealRootKey(wrapKey [32]byte, certDER, pkcs8 []byte) ([]byte, error) {
	aead, err := newGCM(wrapKey, labelRootKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("tlsca: random nonce: %w", err)
	}
	out := append(append([]byte(nil), keyFileMagic...), nonce...)
	return aead.Seal(out, nonce, pkcs8, rootKeyAAD(certDER)), nil
}

func openRootKey(wrapKey [32]byte, certDER, sealed []byte) ([]byte, error) {
	if !bytes.HasPrefix(sealed, keyFileMagic) {
		return nil, fmt.Errorf("tlsca: %s is not a sealed Dictum root key", RootKeyFile)
	}
	aead, err := newGCM(wrapKey, labelRootKey)
	if err != nil {
		return nil, err
	}
	body := sealed[len(keyFileMagic):]
	if len(body) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("tlsca: %s is truncated", RootKeyFile)
	}
	pt, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], rootKeyAAD(certDER))
	if err != nil {
		return nil, ErrWrongWrapKey
	}
	return pt, nil
}

func rootKeyAAD(certDER []byte) []byte {
	sum := sha256.Sum256(certDER)
	return append(append([]byte(nil), keyFileMagic...), sum[:]...)
}

// writeAtomic writes data to a temp file in the same directory, syncs and renames it.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	_ = platform.SyncDir(filepath.Dir(path)) // persist the rename
	return nil
}
