package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// sealVersion is the first byte of every sealed value, so the format can change later.
const sealVersion = 1

// SealOverhead is how many bytes Seal adds to the plaintext: version, nonce and GCM tag.
const SealOverhead = 1 + wrapNonceSize + tagSize

// ErrUnseal is returned when a sealed value does not open: wrong key, wrong purpose (aad),
// or altered bytes. The cases cannot be told apart.
var ErrUnseal = errors.New("vault: sealed value does not open (wrong key, or it was altered)")

// Seal encrypts a small secret (an OAuth token, say) with AES-256-GCM under key and a
// random nonce. aad binds the value to its purpose: a value sealed for one purpose does
// not open for another. The result is version || nonce || ciphertext || tag.
func Seal(key [KeySize]byte, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	out := make([]byte, 1+wrapNonceSize, SealOverhead+len(plaintext))
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("vault: seal: nonce: %w", err)
	}
	return aead.Seal(out, out[1:1+wrapNonceSize], plaintext, aad), nil
}

// Open reverses Seal with the same key and aad.
func Open(key [KeySize]byte, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < SealOverhead {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrUnseal, len(sealed))
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrUnseal, sealed[0])
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("vault: open: %w", err)
	}
	pt, err := aead.Open(nil, sealed[1:1+wrapNonceSize], sealed[1+wrapNonceSize:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}
