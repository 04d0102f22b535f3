package auth

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestNewTOTP(t *testing.T) {
	secret, url, pngBytes, err := NewTOTP("Dictum (Smith LLP)", "alice@smith.example")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != totpSecretSize {
		t.Fatalf("secret %q decodes to %d bytes (%v)", secret, len(raw), err)
	}
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if key.Issuer() != "Dictum (Smith LLP)" || key.AccountName() != "alice@smith.example" || key.Secret() != secret ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("otpauth URL fields wrong: %s", url)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("QR is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != totpQRSize || b.Dy() != totpQRSize {
		t.Errorf("QR size = %v", b)
	}
	// A code made by the otp library from the returned secret verifies.
	now := time.Unix(1_800_000_000, 0)
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := VerifyTOTP(secret, code, now, 0); !ok {
		t.Error("fresh secret: code does not verify")
	}
	s2, _, _, err := NewTOTP("Dictum", "bob")
	if err != nil || s2 == secret {
		t.Errorf("second secret %q equals first or failed: %v", s2, err)
	}

	for _, tc := range []struct{ issuer, account string }{{"", "a"}, {"i", " "}, {"Dictum:x", "a"}, {"Dictum", "a:b"}} {
		if _, _, _, err := NewTOTP(tc.issuer, tc.account); err == nil {
			t.Errorf("NewTOTP(%q, %q) succeeded", tc.issuer, tc.account)
		}
	}
}

// RFC 6238 appendix B vector (SHA-1, T=59s -> 94287082, last six digits 287082): an
// independent check that the parameters match what authenticator apps compute.
func TestVerifyTOTPRFC6238Vector(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	step, ok := VerifyTOTP(secret, "287082", time.Unix(59, 0), 0)
	if !ok || step != 1 {
		t.Fatalf("VerifyTOTP = %d, %v; want step 1", step, ok)
	}
}

func TestVerifyTOTP(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("dictum-test-secret-0"))
	now := time.Unix(1_800_000_015, 0) // 15 s into step 60,000,000
	const cur = int64(1_800_000_015 / 30)
	codeAt := func(d time.Duration) string {
		c, err := totp.GenerateCodeCustom(secret, now.Add(d), totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wrong := func(c string) string { // same shape, different digits
		b := []byte(c)
		b[0] = '0' + (b[0]-'0'+1)%10
		return string(b)
	}
	cases := []struct {
		name     string
		code     string
		last     int64
		wantOK   bool
		wantStep int64
	}{
		{"valid now", codeAt(0), 0, true, cur},
		{"valid 30s ago", codeAt(-30 * time.Second), 0, true, cur - 1},
		{"valid 30s ahead", codeAt(30 * time.Second), 0, true, cur + 1},
		{"invalid 90s ago", codeAt(-90 * time.Second), 0, false, 0},
		{"invalid 90s ahead", codeAt(90 * time.Second), 0, false, 0},
		{"replay of the same step", codeAt(0), cur, false, 0},
		{"older code after a newer one", codeAt(-30 * time.Second), cur, false, 0},
		{"next step after last", codeAt(30 * time.Second), cur, true, cur + 1},
		{"grouped with a space", codeAt(0)[:3] + " " + codeAt(0)[3:], 0, true, cur},
		{"surrounding spaces", " " + codeAt(0) + "\n", 0, true, cur},
		{"wrong digits", wrong(codeAt(0)), 0, false, 0},
		{"empty", "", 0, false, 0},
		{"five digits", codeAt(0)[:5], 0, false, 0},
		{"seven digits", codeAt(0) + "1", 0, false, 0},
		{"letters", "12a456", 0, false, 0},
		{"sign", "+12345", 0, false, 0},
		{"fullwidth digits", "１２３４５６", 0, false, 0},
		{"two spaces", "12 34 56", 0, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := VerifyTOTP(secret, tc.code, now, tc.last)
			if ok != tc.wantOK || step != tc.wantStep {
				t.Fatalf("VerifyTOTP(%q, last=%d) = %d, %v; want %d, %v", tc.code, tc.last, step, ok, tc.wantStep, tc.wantOK)
			}
		})
	}
	if _, ok := VerifyTOTP("not base32!", "123456", now, 0); ok {
		t.Error("malformed secret accepted")
	}
	// The full flow: login, store step, the same code again is refused.
	step, ok := VerifyTOTP(secret, codeAt(0), now, 0)
	if !ok {
		t.Fatal("first use failed")
	}
	if _, ok := VerifyTOTP(secret, codeAt(0), now.Add(10*time.Second), step); ok {
		t.Fatal("replayed code accepted")
	}
}

var recoveryRE = regexp.MustCompile(`^[abcdefghjkmnpqrstuvwxyz2-9]{4}-[abcdefghjkmnpqrstuvwxyz2-9]{4}-[abcdefghjkmnpqrstuvwxyz2-9]{4}$`)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !recoveryRE.MatchString(c) {
			t.Errorf("code %q has the wrong shape", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
		if len(hashes[i]) != recoveryHashLen || bytes.Contains(hashes[i], []byte(strings.ReplaceAll(c, "-", ""))) {
			t.Errorf("hash %d is %d bytes or contains the code", i, len(hashes[i]))
		}
	}
	for i, c := range codes {
		if idx, ok := UseRecoveryCode(c, hashes); !ok || idx != i {
			t.Errorf("UseRecoveryCode(%q) = %d, %v; want %d", c, idx, ok, i)
		}
	}

	other, _, _ := NewRecoveryCodes(1)
	variants := []struct {
		name string
		code string
		ok   bool
	}{
		{"upper case", strings.ToUpper(codes[3]), true},
		{"no dashes", strings.ReplaceAll(codes[3], "-", ""), true},
		{"spaces", strings.ReplaceAll(codes[3], "-", " "), true},
		{"someone else's code", other[0], false},
		{"empty", "", false},
		{"too short", codes[3][:9], false},
		{"too long", codes[3] + "a", false},
		{"letter not in alphabet", "abcd-efgh-jklm", false},
		{"digit 0", "abcd-efgh-jk0m", false},
		{"punctuation", codes[3][:13] + "!", false},
		{"non-ASCII", "abcd-efgh-jkmé", false},
		{"huge input", strings.Repeat("a", 10000), false},
	}
	for _, tc := range variants {
		t.Run(tc.name, func(t *testing.T) {
			idx, ok := UseRecoveryCode(tc.code, hashes)
			if ok != tc.ok || (ok && idx != 3) || (!ok && idx != -1) {
				t.Fatalf("UseRecoveryCode(%q) = %d, %v; want ok=%v", tc.code, idx, ok, tc.ok)
			}
		})
	}

	// Single use: the caller deletes the matched hash, after which the code fails while
	// the others still work.
	idx, ok := UseRecoveryCode(codes[5], hashes)
	if !ok {
		t.Fatal("code 5 not accepted")
	}
	hashes[idx] = nil
	if _, ok := UseRecoveryCode(codes[5], hashes); ok {
		t.Fatal("used recovery code accepted twice")
	}
	if _, ok := UseRecoveryCode(codes[6], hashes); !ok {
		t.Fatal("an unused code stopped working")
	}
	// Corrupt stored hashes never match and never panic.
	if _, ok := UseRecoveryCode(codes[0], [][]byte{nil, {1, 2, 3}, make([]byte, recoveryHashLen)}); ok {
		t.Fatal("matched a corrupt hash")
	}

	for _, n := range []int{0, -1, maxRecoveryCodes + 1} {
		if _, _, err := NewRecoveryCodes(n); err == nil {
			t.Errorf("NewRecoveryCodes(%d) succeeded", n)
		}
	}
}
