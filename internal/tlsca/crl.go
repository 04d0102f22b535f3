package tlsca

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// CRLPath is where the firm root's certificate revocation list is served (DER), over
// HTTP and HTTPS. Leaves issued by the local CA name it as their CRL distribution point.
const CRLPath = "/ca.crl"

// RevokedFile lists the serials of revoked local-CA leaves (JSON, public, 0644) in the
// CA directory. Key rotation adds the leaves whose keys were sealed under the old key.
const RevokedFile = "revoked.json"

// CRLValidity is how long a signed CRL stays valid (nextUpdate); a running server
// re-signs it every CRLRefresh, so a client never sees an expired one.
const (
	CRLValidity = 7 * 24 * time.Hour
	CRLRefresh  = 24 * time.Hour
)

// Revoked is one revoked leaf certificate.
type Revoked struct {
	Serial string    `json:"serial"` // hex, lower case
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // e.g. "key rotation"
}

// LoadRevoked reads the CA directory's revocation list (none when the file is missing).
func LoadRevoked(dir string) ([]Revoked, error) {
	b, err := os.ReadFile(filepath.Join(dir, RevokedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tlsca: read %s: %w", RevokedFile, err)
	}
	var out []Revoked
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("tlsca: %s: %w", RevokedFile, err)
	}
	for _, r := range out {
		if _, ok := new(big.Int).SetString(r.Serial, 16); !ok {
			return nil, fmt.Errorf("tlsca: %s: bad serial %q", RevokedFile, r.Serial)
		}
	}
	return out, nil
}

// AddRevoked adds entries to the CA directory's revocation list (serials already listed
// keep their first date), written atomically.
func AddRevoked(dir string, entries ...Revoked) error {
	if len(entries) == 0 {
		return nil
	}
	have, err := LoadRevoked(dir)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range have {
		seen[r.Serial] = true
	}
	for _, r := range entries {
		r.Serial = strings.ToLower(r.Serial)
		if seen[r.Serial] {
			continue
		}
		seen[r.Serial] = true
		have = append(have, r)
	}
	sort.SliceStable(have, func(i, j int) bool { return have[i].At.Before(have[j].At) })
	b, err := json.MarshalIndent(have, "", "  ")
	if err != nil {
		return fmt.Errorf("tlsca: encode %s: %w", RevokedFile, err)
	}
	if err := writeAtomic(filepath.Join(dir, RevokedFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("tlsca: write %s: %w", RevokedFile, err)
	}
	return nil
}

// CRL returns a DER certificate revocation list signed by the root, listing revoked,
// valid from now for CRLValidity. Its number is the signing time in seconds, so later
// lists have higher numbers.
func (r *Root) CRL(now time.Time, revoked []Revoked) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(now.Unix()),
		ThisUpdate: now.Add(-leafBackdate).UTC(),
		NextUpdate: now.Add(CRLValidity).UTC(),
	}
	for _, e := range revoked {
		serial, ok := new(big.Int).SetString(e.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("tlsca: crl: bad serial %q", e.Serial)
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: serial, RevocationTime: e.At.UTC(), ReasonCode: reasonCode(e.Reason),
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.cert, r.key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: sign crl: %w", err)
	}
	return der, nil
}

// reasonCode maps our reasons to RFC 5280 CRLReason codes.
func reasonCode(reason string) int {
	switch reason {
	case ReasonKeyRotation:
		return 1 // keyCompromise: the key it was sealed with is being replaced after a suspected theft
	case ReasonSuperseded:
		return 4
	}
	return 0 // unspecified
}

// Revocation reasons written by this package.
const (
	ReasonKeyRotation = "key rotation"
	ReasonSuperseded  = "superseded"
)
