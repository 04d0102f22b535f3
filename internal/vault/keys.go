// Package vault holds Dictum's keys: the 32-byte master key kept in a 0600 file, the keys
// derived from it with HKDF-SHA256 (database, blob wrapping, backups), and the chunked
// AES-256-GCM streaming format used for every file at rest (see stream.go).
package vault

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/hkdf"

	"dictum/internal/platform"
)

// KeySize is the size of the master key and of every derived key.
const KeySize = 32

// Labels for HKDF derivation. Changing one changes the derived key: never do that.
const (
	labelDB     = "dictum/v1/database"
	labelBlob   = "dictum/v1/blob-wrap"
	labelBackup = "dictum/v1/backup"
)

// ErrKeyMissing is returned when the master key file does not exist.
var ErrKeyMissing = errors.New("master key file not found")

// ErrKeyPermissions is returned when the master key file is readable by group or others.
var ErrKeyPermissions = errors.New("master key file is readable by group or others")

// Keys is a loaded master key and its derived keys.
type Keys struct {
	master [KeySize]byte
	// Path is where the master key was read from (for messages; never the key itself).
	Path string
}

// NewKeys wraps a master key (used by tests and key rotation).
func NewKeys(master [KeySize]byte) *Keys { return &Keys{master: master} }

// GenerateMaster returns a fresh random master key.
func GenerateMaster() ([KeySize]byte, error) {
	var k [KeySize]byte
	if _, err := io.ReadFull(rand.Reader, k[:]); err != nil {
		return k, fmt.Errorf("generate master key: %w", err)
	}
	return k, nil
}

func (k *Keys) derive(label string) [KeySize]byte {
	var out [KeySize]byte
	r := hkdf.New(sha256.New, k.master[:], nil, []byte(label))
	if _, err := io.ReadFull(r, out[:]); err != nil {
		// HKDF-SHA256 can produce 255*32 bytes; 32 never fails.
		panic("vault: hkdf: " + err.Error())
	}
	return out
}

// DB is the SQLCipher raw key for the database.
func (k *Keys) DB() [KeySize]byte { return k.derive(labelDB) }

// Blob is the key-encryption key that wraps each blob's data key.
func (k *Keys) Blob() [KeySize]byte { return k.derive(labelBlob) }

// Backup is the key backups are encrypted with (a firm may keep it offline).
func (k *Keys) Backup() [KeySize]byte { return k.derive(labelBackup) }

// Fingerprint is a short, non-secret identifier of the master key, for logs and doctor.
func (k *Keys) Fingerprint() string {
	h := sha256.Sum256(append([]byte("dictum/v1/fingerprint:"), k.master[:]...))
	return hex.EncodeToString(h[:6])
}

// Load reads the master key file. It refuses a file that group or others can read, and
// accepts either 32 raw bytes or 64 hex characters (optionally followed by a newline).
func Load(path string) (*Keys, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (run `dictum init` or point keys.master_file at it)", ErrKeyMissing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	if err := platform.CheckKeyFile(path, fi); err != nil { // mode 0600 on Linux, the key's ACL on Windows
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("master key file %s: %w (%s)", path, err, platform.KeyAccessHint)
		}
		return nil, fmt.Errorf("%w: %w", ErrKeyPermissions, err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("read master key file %s: %w (%s)", path, err, platform.KeyAccessHint)
	}
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	master, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return &Keys{master: master, Path: path}, nil
}

func parseKey(b []byte) ([KeySize]byte, error) {
	var k [KeySize]byte
	if len(b) == KeySize {
		copy(k[:], b)
		return k, nil
	}
	s := strings.TrimSpace(string(b))
	if len(s) != 2*KeySize {
		return k, fmt.Errorf("expected 32 raw bytes or 64 hex characters, found %d bytes", len(b))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("not a hex key: %w", err)
	}
	return k, nil
}

// Write stores a master key as hex in a new 0600 file (atomic; refuses to overwrite).
func Write(path string, master [KeySize]byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("master key file %s already exists; refusing to overwrite it", path)
	}
	return writeAtomic(path, []byte(hex.EncodeToString(master[:])+"\n"))
}

// Replace atomically replaces the master key file (key rotation).
func Replace(path string, master [KeySize]byte) error {
	return writeAtomic(path, []byte(hex.EncodeToString(master[:])+"\n"))
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master-*.tmp")
	if err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Restricted before the key is written: mode 0600 on Linux, LocalSystem-only ACL on Windows.
	if err := platform.SecureKeyFile(tmp.Name()); err != nil {
		tmp.Close()
		return fmt.Errorf("write master key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	_ = platform.SyncDir(filepath.Dir(path)) // persist the rename
	return nil
}

// Save atomically writes this master key to path, replacing what is there (key rotation).
func (k *Keys) Save(path string) error { return Replace(path, k.master) }

// Derive returns a key for a named purpose (e.g. "dictum/v1/clio-tokens"). Each label gives
// an independent key; the labels above are reserved.
func (k *Keys) Derive(label string) [KeySize]byte { return k.derive(label) }

// TLS is the key that seals the firm root CA key and certmagic's stored certificates.
func (k *Keys) TLS() [KeySize]byte { return k.derive("dictum/v1/tls") }

// LoadOrCreate loads the master key at path, or creates a new one there when the file does
// not exist. created reports which happened.
func LoadOrCreate(path string) (keys *Keys, created bool, err error) {
	keys, err = Load(path)
	if !errors.Is(err, ErrKeyMissing) {
		return keys, false, err
	}
	m, err := GenerateMaster()
	if err != nil {
		return nil, false, err
	}
	if err := Write(path, m); err != nil {
		return nil, false, err
	}
	k := NewKeys(m)
	k.Path = path
	return k, true, nil
}
