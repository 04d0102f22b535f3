package tlsca

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/caddyserver/certmagic"
)

var storageMagic = []byte("DICTUM-TLS-1\n")

// encStorage is certmagic's FileStorage with every value sealed by AES-256-GCM under a
// key derived from the wrap key; the storage key (path) is authenticated, so files
// cannot be swapped. Locks, listing and stat pass through (names are not secret).
type encStorage struct {
	*certmagic.FileStorage
	aead cipher.AEAD
}

var _ certmagic.Storage = (*encStorage)(nil)

// NewEncryptedStorage returns a certmagic.Storage over dir (created 0700) that encrypts
// every stored value (certificates, private keys, ACME account keys, metadata).
func NewEncryptedStorage(dir string, wrapKey [32]byte) (certmagic.Storage, error) {
	return newEncStorage(dir, wrapKey)
}

func newEncStorage(dir string, wrapKey [32]byte) (*encStorage, error) {
	if wrapKey == ([32]byte{}) {
		return nil, fmt.Errorf("tlsca: storage: wrap key is all zero")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsca: storage dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsca: storage dir: %w", err)
	}
	aead, err := newGCM(wrapKey, labelStorage)
	if err != nil {
		return nil, err
	}
	return &encStorage{FileStorage: &certmagic.FileStorage{Path: dir}, aead: aead}, nil
}

func (s *encStorage) aad(key string) []byte {
	return append(append([]byte(nil), storageMagic...), key...)
}

// Store seals value and writes it (FileStorage writes 0600 files atomically).
func (s *encStorage) Store(ctx context.Context, key string, value []byte) error {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("tlsca: storage: random nonce: %w", err)
	}
	out := append(append([]byte(nil), storageMagic...), nonce...)
	out = s.aead.Seal(out, nonce, value, s.aad(key))
	if err := s.FileStorage.Store(ctx, key, out); err != nil {
		return fmt.Errorf("tlsca: storage: store %s: %w", key, err)
	}
	return nil
}

// Load reads and opens a value. Plaintext or tampered files are refused. Not-found
// errors keep fs.ErrNotExist in their chain (certmagic relies on errors.Is).
func (s *encStorage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.FileStorage.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.open(key, b)
}

// open authenticates and decrypts a stored value b of key.
func (s *encStorage) open(key string, b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, storageMagic) {
		return nil, fmt.Errorf("tlsca: storage: %s is not encrypted by Dictum; refusing it", key)
	}
	body := b[len(storageMagic):]
	ns := s.aead.NonceSize()
	if len(body) < ns+s.aead.Overhead() {
		return nil, fmt.Errorf("tlsca: storage: %s is truncated", key)
	}
	pt, err := s.aead.Open(nil, body[:ns], body[ns:], s.aad(key))
	if err != nil {
		return nil, fmt.Errorf("tlsca: storage: cannot decrypt %s (wrong wrap key or tampered file)", key)
	}
	return pt, nil
}
