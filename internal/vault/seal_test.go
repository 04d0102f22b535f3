package vault

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	var key, other [KeySize]byte
	key[0], other[0] = 1, 2
	secret := []byte(`{"access_token":"tok-123","refresh_token":"ref-456"}`)
	aad := []byte("dictum/clio-token/v1")
	sealed, err := Seal(key, secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(secret)+SealOverhead {
		t.Fatalf("sealed length %d, want %d", len(sealed), len(secret)+SealOverhead)
	}
	if bytes.Contains(sealed, []byte("tok-123")) || bytes.Contains(sealed, []byte("ref-456")) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := Seal(key, secret, aad)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same value are identical (nonce reused)")
	}
	got, err := Open(key, sealed, aad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	flip := func(i int) []byte { b := bytes.Clone(sealed); b[i] ^= 1; return b }
	for _, c := range []struct {
		name   string
		key    [KeySize]byte
		sealed []byte
		aad    []byte
	}{
		{"wrong key", other, sealed, aad},
		{"wrong purpose", key, sealed, []byte("dictum/other/v1")},
		{"altered ciphertext", key, flip(len(sealed) - 20), aad},
		{"altered tag", key, flip(len(sealed) - 1), aad},
		{"altered nonce", key, flip(3), aad},
		{"unknown version", key, flip(0), aad},
		{"truncated", key, sealed[:SealOverhead-1], aad},
		{"empty", key, nil, aad},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Open(c.key, c.sealed, c.aad); !errors.Is(err, ErrUnseal) {
				t.Fatalf("err = %v, want ErrUnseal", err)
			}
		})
	}
}
