// Package auth holds password hashing (argon2id), login sessions, API tokens and CSRF tokens.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. Defaults follow OWASP's first recommendation
// (m=47104 KiB i.e. 46 MiB, t=1, p=1): about 50 ms per hash on the 2-core reference box,
// and 46 MiB per concurrent login. They are stored with each hash, so changing them
// affects new hashes only.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams are the documented defaults.
var DefaultParams = Params{MemoryKiB: 47104, Time: 1, Threads: 1}

const saltLen, keyLen = 16, 32

// ErrMismatch is returned when a password does not match.
var ErrMismatch = errors.New("password does not match")

// Hash returns a PHC-format argon2id hash: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify checks a password against a PHC argon2id hash in constant time.
func Verify(password, encoded string) error {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("unsupported password hash format")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return errors.New("unsupported argon2 version")
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return fmt.Errorf("bad argon2 parameters: %w", err)
	}
	if p.MemoryKiB > 4*1024*1024 || p.Time > 100 || p.Threads == 0 {
		return errors.New("argon2 parameters out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("bad hash")
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// CheckPassword is the one password policy, checked wherever a password is chosen (the
// users API, the admin pages, changing one's own password, `dictum user add|passwd` and
// `dictum init`): at least minLen characters (config auth.min_password_length) and at most
// 1024 bytes. Generated passwords pass it by construction.
func CheckPassword(password string, minLen int) error {
	if len([]rune(password)) < minLen {
		return fmt.Errorf("password must be at least %d characters", minLen)
	}
	if len(password) > 1024 {
		return errors.New("password must be at most 1024 bytes")
	}
	return nil
}

// GeneratePassword returns a random password of n characters from an unambiguous alphabet.
func GeneratePassword(n int) (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
