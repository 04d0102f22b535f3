package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// TokenPrefix marks Dictum API tokens (so secret scanners can find leaked ones).
const TokenPrefix = "dct_"

// NewSecret returns a random 32-byte secret, base64url-encoded.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewAPIToken returns a token to show once, its stored hash and a short display prefix.
func NewAPIToken() (token string, hash []byte, prefix string, err error) {
	s, err := NewSecret()
	if err != nil {
		return "", nil, "", err
	}
	token = TokenPrefix + s
	return token, HashToken(token), token[:len(TokenPrefix)+6], nil
}

// HashToken is how session ids and API tokens are stored: SHA-256 (they are high-entropy,
// so a slow hash adds nothing).
func HashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// LooksLikeAPIToken reports whether a bearer value has the token shape.
func LooksLikeAPIToken(t string) bool {
	return strings.HasPrefix(t, TokenPrefix) && len(t) == len(TokenPrefix)+43
}

// API token lifetimes, in days: the default for a new token, and the longest allowed.
// 0 means the token never expires.
const (
	DefaultTokenDays = 90
	MaxTokenDays     = 3650
)

// TokenExpiry is when a token created at now for days days expires (zero: never). It
// refuses a negative or too long lifetime.
func TokenExpiry(now time.Time, days int) (time.Time, error) {
	if days < 0 || days > MaxTokenDays {
		return time.Time{}, fmt.Errorf("the expiry must be 0 (never) to %d days, got %d", MaxTokenDays, days)
	}
	if days == 0 {
		return time.Time{}, nil
	}
	return now.Add(time.Duration(days) * 24 * time.Hour), nil
}
