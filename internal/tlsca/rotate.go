package tlsca

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RotateResult says what RotateWrapKey did.
type RotateResult struct {
	RootResealed bool     // the root key is now sealed under the new key (false: no root)
	Resealed     int      // certmagic storage values re-sealed
	Revoked      []string // serials (hex) of local-CA leaves revoked and removed
}

// RotateWrapKey moves a data directory's TLS material from oldKey to newKey, for a
// master key rotation, with the server stopped:
//
//   - the root key (<data>/ca/ca.key) is re-sealed under newKey: the root certificate
//     does not change, so the PCs that trust it keep trusting it;
//   - the local CA's leaf certificates are revoked (added to revoked.json, so the CRL
//     lists them) and removed from storage: their private keys were readable with the
//     old key, so the next `serve` issues new ones with fresh keys;
//   - every other value in certmagic's storage (ACME account keys and certificates) is
//     re-sealed under newKey.
//
// It is idempotent and resumable: values that already open with newKey are left alone,
// so running it again after a crash finishes the job. A value that opens with neither
// key is an error (nothing is deleted for it). It never touches a root that opens with
// neither key, and never creates one.
func RotateWrapKey(dataDir string, oldKey, newKey [32]byte, now time.Time) (RotateResult, error) {
	var res RotateResult
	if oldKey == ([32]byte{}) || newKey == ([32]byte{}) {
		return res, errors.New("tlsca: rotate: wrap key is all zero")
	}
	caDir := RootDir(dataDir)
	resealed, err := resealRoot(caDir, oldKey, newKey)
	if err != nil {
		return res, err
	}
	res.RootResealed = resealed

	tlsDir := filepath.Join(dataDir, "tls")
	if _, err := os.Stat(tlsDir); errors.Is(err, fs.ErrNotExist) {
		return res, nil
	} else if err != nil {
		return res, fmt.Errorf("tlsca: rotate: %w", err)
	}
	oldS, err := newEncStorage(tlsDir, oldKey)
	if err != nil {
		return res, err
	}
	newS, err := newEncStorage(tlsDir, newKey)
	if err != nil {
		return res, err
	}
	open := func(key string) ([]byte, bool, error) { // plaintext, under the new key already
		b, err := os.ReadFile(oldS.Filename(key))
		if err != nil {
			return nil, false, fmt.Errorf("tlsca: rotate: %w", err)
		}
		if pt, err := newS.open(key, b); err == nil {
			return pt, true, nil
		}
		pt, err := oldS.open(key, b)
		if err != nil {
			return nil, false, fmt.Errorf("tlsca: rotate: %s opens with neither the old nor the new key: %w", key, err)
		}
		return pt, false, nil
	}

	// Local-CA leaves: revoke, then remove (a crash in between leaves them listed, and
	// the next run lists them again, which is a no-op, then removes them).
	certsDir := filepath.Join(tlsDir, "certificates")
	issuers, err := os.ReadDir(certsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("tlsca: rotate: %w", err)
	}
	for _, d := range issuers {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), localIssuerPrefix) {
			continue
		}
		issuerDir := filepath.Join(certsDir, d.Name())
		var revoked []Revoked
		err := filepath.WalkDir(issuerDir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".crt") {
				return err
			}
			key, err := storageKey(tlsDir, p)
			if err != nil {
				return err
			}
			pt, _, err := open(key)
			if err != nil {
				return err
			}
			block, _ := pem.Decode(pt)
			if block == nil {
				return fmt.Errorf("tlsca: rotate: %s holds no PEM certificate", key)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return fmt.Errorf("tlsca: rotate: %s: %w", key, err)
			}
			revoked = append(revoked, Revoked{Serial: cert.SerialNumber.Text(16), At: now.UTC(), Reason: ReasonKeyRotation})
			return nil
		})
		if err != nil {
			return res, err
		}
		if err := AddRevoked(caDir, revoked...); err != nil {
			return res, err
		}
		if err := os.RemoveAll(issuerDir); err != nil {
			return res, fmt.Errorf("tlsca: rotate: remove old leaves: %w", err)
		}
		for _, r := range revoked {
			res.Revoked = append(res.Revoked, r.Serial)
		}
	}

	// Everything else: re-seal. Lock files are certmagic's own plaintext bookkeeping.
	err = filepath.WalkDir(tlsDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p == filepath.Join(tlsDir, "locks") {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") { // atomicfile temporaries
			return nil
		}
		key, err := storageKey(tlsDir, p)
		if err != nil {
			return err
		}
		pt, done, err := open(key)
		if err != nil || done {
			return err
		}
		if err := newS.Store(context.Background(), key, pt); err != nil {
			return err
		}
		res.Resealed++
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, nil
}

// localIssuerPrefix starts the storage directory of the local CA's certificates
// (Issuer.IssuerKey).
const localIssuerPrefix = "dictum-local-ca-"

func storageKey(tlsDir, path string) (string, error) {
	rel, err := filepath.Rel(tlsDir, path)
	if err != nil {
		return "", fmt.Errorf("tlsca: rotate: %w", err)
	}
	return filepath.ToSlash(rel), nil
}

// resealRoot re-seals the root key under newKey; false when there is no root.
func resealRoot(caDir string, oldKey, newKey [32]byte) (bool, error) {
	if _, err := os.Stat(filepath.Join(caDir, RootCertFile)); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if _, err := LoadRoot(caDir, newKey); err == nil {
		return true, nil // done before a crash
	}
	root, err := LoadRoot(caDir, oldKey)
	if err != nil {
		return false, fmt.Errorf("tlsca: rotate: the root key opens with neither the old nor the new key: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(root.key)
	if err != nil {
		return false, fmt.Errorf("tlsca: rotate: encode root key: %w", err)
	}
	sealed, err := sealRootKey(newKey, root.cert.Raw, pkcs8)
	if err != nil {
		return false, err
	}
	if err := writeAtomic(filepath.Join(caDir, RootKeyFile), sealed, 0o600); err != nil {
		return false, fmt.Errorf("tlsca: rotate: write root key: %w", err)
	}
	return true, nil
}
