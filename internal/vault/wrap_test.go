package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"
)

func randKey(t testing.TB) [32]byte {
	t.Helper()
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWrapUnwrap(t *testing.T) {
	kek, dk := randKey(t), randKey(t)
	w1, err := WrapKey(kek, dk)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := WrapKey(kek, dk)
	if err != nil {
		t.Fatal(err)
	}
	if len(w1) != WrappedKeySize || len(w2) != WrappedKeySize {
		t.Fatalf("wrapped sizes %d, %d; want %d", len(w1), len(w2), WrappedKeySize)
	}
	if bytes.Equal(w1, w2) {
		t.Fatal("two wraps of the same key are identical: nonce is not random")
	}
	if bytes.Contains(w1, dk[:8]) {
		t.Fatal("wrapped key contains data key bytes")
	}
	for _, w := range [][]byte{w1, w2} {
		got, err := UnwrapKey(kek, w)
		if err != nil {
			t.Fatal(err)
		}
		if got != dk {
			t.Fatal("unwrapped key differs")
		}
	}
}

func TestUnwrapErrors(t *testing.T) {
	kek, dk := randKey(t), randKey(t)
	wrapped, err := WrapKey(kek, dk)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(wrapped)
		b[i] ^= 0x01
		return b
	}
	// The same key sealed with another label must not unwrap.
	block, _ := aes.NewCipher(kek[:])
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	otherLabel := gcm.Seal(bytes.Clone(nonce), nonce, dk[:], []byte("dictum-other-v1"))

	tests := []struct {
		name    string
		kek     [32]byte
		wrapped []byte
		want    error
	}{
		{"wrong kek", randKey(t), wrapped, ErrWrongKey},
		{"flipped nonce bit", kek, flip(0), ErrWrongKey},
		{"flipped ciphertext bit", kek, flip(20), ErrWrongKey},
		{"flipped tag bit", kek, flip(WrappedKeySize - 1), ErrWrongKey},
		{"other label", kek, otherLabel, ErrWrongKey},
		{"short", kek, wrapped[:WrappedKeySize-1], ErrTampered},
		{"long", kek, append(bytes.Clone(wrapped), 0), ErrTampered},
		{"empty", kek, nil, ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnwrapKey(tc.kek, tc.wrapped)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got != ([32]byte{}) {
				t.Fatal("a failed unwrap returned key material")
			}
		})
	}
}
