package auth

// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, which every
// authenticator app supports) and one-time recovery codes.
//
// Replay: VerifyTOTP accepts a code only for a time step later than the last one the
// user logged in with. Store the returned step with the user (in the same transaction
// that starts the session) and pass it back next time.
//
// Recovery codes are 12 random characters from a 31-letter alphabet without look-alikes
// (about 59 bits), shown once as abcd-efgh-jkmn. They are stored as a random 16-byte
// salt followed by SHA-256(label || salt || code): a fast hash is enough for random
// codes of this size (unlike passwords there is nothing to guess from), the hashes live
// inside the encrypted database, and a code only replaces the second factor, not the
// password. Argon2id over ten hashes per attempt would instead hand an attacker a cheap
// way to burn ~0.5 s of CPU and 460 MiB of memory per request.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	imgpng "image/png"
	"math/big"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20 // bytes: 160 bits, as RFC 4226 recommends
	totpQRSize     = 256

	// RecoveryAlphabet is the character set of recovery codes (no i, l, o, 0 or 1).
	RecoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryLen      = 12 // characters, shown in groups of four
	recoverySaltLen  = 16
	recoveryHashLen  = recoverySaltLen + sha256.Size
	recoveryLabel    = "dictum/v1/recovery-code\x00"
	maxRecoveryCodes = 100
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// NewTOTP creates a TOTP secret for account (the user's login) under issuer (e.g.
// "Dictum (Smith LLP)"). It returns the base32 secret to store (encrypted DB), the
// otpauth:// URL and the same URL as a 256x256 PNG QR code for the enrolment page.
func NewTOTP(issuer, account string) (secret, otpauthURL string, png []byte, err error) {
	issuer, account = strings.TrimSpace(issuer), strings.TrimSpace(account)
	if issuer == "" || account == "" {
		return "", "", nil, errors.New("totp: issuer and account are required")
	}
	if strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", "", nil, errors.New("totp: issuer and account must not contain ':'")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        rand.Reader,
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("totp: generate: %w", err)
	}
	img, err := key.Image(totpQRSize, totpQRSize)
	if err != nil {
		return "", "", nil, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := imgpng.Encode(&buf, img); err != nil {
		return "", "", nil, fmt.Errorf("totp: QR code png: %w", err)
	}
	return key.Secret(), key.URL(), buf.Bytes(), nil
}

// VerifyTOTP checks a 6-digit code ("123456" or "123 456") against secret at now,
// accepting the previous, current and next 30-second step. A code whose step is not
// after lastUsedStep is refused (replay, or an older code after a newer one). On
// success it returns the matched step, which the caller must store as the new
// lastUsedStep. Malformed codes or secrets return ok == false.
func VerifyTOTP(secret, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) == 7 && code[3] == ' ' {
		code = code[:3] + code[4:]
	}
	if len(code) != int(totpDigits) {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	cur := now.Unix() / totpPeriod
	if now.Unix() < 0 && now.Unix()%totpPeriod != 0 {
		cur-- // floor division
	}
	matched := int64(0)
	found := false
	for s := cur - 1; s <= cur+1; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastUsedStep {
			matched, found = s, true // later steps win; collisions are ~1e-6
		}
	}
	return matched, found
}

// NewRecoveryCodes returns n codes to show once ("abcd-efgh-jkmn") and their hashes to
// store (salted SHA-256, 48 bytes each; see the file comment).
func NewRecoveryCodes(n int) (codes []string, hashes [][]byte, err error) {
	if n <= 0 || n > maxRecoveryCodes {
		return nil, nil, fmt.Errorf("recovery codes: count %d out of range 1..%d", n, maxRecoveryCodes)
	}
	max := big.NewInt(int64(len(RecoveryAlphabet)))
	seen := make(map[string]bool, n)
	for len(codes) < n {
		raw := make([]byte, recoveryLen)
		for i := range raw {
			v, err := rand.Int(rand.Reader, max)
			if err != nil {
				return nil, nil, fmt.Errorf("recovery codes: random: %w", err)
			}
			raw[i] = RecoveryAlphabet[v.Int64()]
		}
		c := string(raw)
		if seen[c] {
			continue
		}
		seen[c] = true
		salt := make([]byte, recoverySaltLen)
		if _, err := rand.Read(salt); err != nil {
			return nil, nil, fmt.Errorf("recovery codes: random: %w", err)
		}
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12])
		hashes = append(hashes, append(salt, recoveryDigest(salt, c)...))
	}
	return codes, hashes, nil
}

// UseRecoveryCode finds code among hashes (case, spaces and dashes are ignored). Every
// hash is checked in constant time and the loop does not stop early, so timing does not
// tell which slot matched. On success the caller must delete hashes[index] (e.g. set it
// to nil and store the rest) in the same transaction as the login: codes are single-use.
// Entries that are not 48 bytes (nil = used) never match.
func UseRecoveryCode(code string, hashes [][]byte) (index int, ok bool) {
	c, valid := normalizeRecoveryCode(code)
	if !valid {
		return -1, false
	}
	index = -1
	for i, h := range hashes {
		if len(h) != recoveryHashLen {
			continue
		}
		sum := recoveryDigest(h[:recoverySaltLen], c)
		if subtle.ConstantTimeCompare(sum, h[recoverySaltLen:]) == 1 && index < 0 {
			index = i
		}
	}
	return index, index >= 0
}

func recoveryDigest(salt []byte, code string) []byte {
	h := sha256.New()
	h.Write([]byte(recoveryLabel))
	h.Write(salt)
	h.Write([]byte(code))
	return h.Sum(nil)
}

// normalizeRecoveryCode lower-cases and drops dashes and spaces; the rest must be
// exactly 12 characters of RecoveryAlphabet.
func normalizeRecoveryCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r < 128 && strings.IndexByte(RecoveryAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != recoveryLen {
		return "", false
	}
	return b.String(), true
}
