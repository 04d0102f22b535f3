package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// WrappedKeySize is the size of a wrapped data key: a 12-byte random nonce, the 32-byte
// encrypted key and the 16-byte GCM tag. It never varies, so the wrapped key sits at a
// fixed offset of a blob header and can be rewritten in place.
const WrappedKeySize = wrapNonceSize + KeySize + tagSize

const (
	wrapNonceSize = 12
	tagSize       = 16
)

// wrapAAD binds a wrapped key to its purpose: a key wrapped for another use (or another
// format version) does not unwrap here.
var wrapAAD = []byte("dictum-dek-v1")

// ErrWrongKey is returned when a wrapped data key does not authenticate under the given
// key-encryption key. Either the KEK is wrong or the wrapped key bytes were altered; the
// two cannot be told apart from one file.
var ErrWrongKey = errors.New("vault: data key does not unwrap (wrong key, or the header was altered)")

// WrapKey encrypts dataKey under kek with AES-256-GCM and a random nonce. The result is
// always WrappedKeySize bytes: nonce || ciphertext || tag.
func WrapKey(kek [32]byte, dataKey [32]byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, fmt.Errorf("vault: wrap key: %w", err)
	}
	out := make([]byte, wrapNonceSize, WrappedKeySize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("vault: wrap key: nonce: %w", err)
	}
	return aead.Seal(out, out[:wrapNonceSize], dataKey[:], wrapAAD), nil
}

// UnwrapKey reverses WrapKey. A wrapped key of the wrong length is reported as ErrTampered;
// one that fails authentication as ErrWrongKey.
func UnwrapKey(kek [32]byte, wrapped []byte) ([32]byte, error) {
	var dk [32]byte
	if len(wrapped) != WrappedKeySize {
		return dk, fmt.Errorf("%w: unwrap key: wrapped key is %d bytes, want %d", ErrTampered, len(wrapped), WrappedKeySize)
	}
	aead, err := newGCM(kek)
	if err != nil {
		return dk, fmt.Errorf("vault: unwrap key: %w", err)
	}
	pt, err := aead.Open(dk[:0], wrapped[:wrapNonceSize], wrapped[wrapNonceSize:], wrapAAD)
	if err != nil || len(pt) != KeySize {
		return [32]byte{}, ErrWrongKey
	}
	return dk, nil
}

func newGCM(key [32]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
