package web

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestTwoFactor(t *testing.T) {
	r := newRig(t)
	start := r.do("POST", "/api/v1/me/2fa", "alice", nil).json(t)
	secret, _ := start["secret"].(string)
	if secret == "" || start["qr_png"] == nil {
		t.Fatalf("start: %v", start)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if res := r.do("POST", "/api/v1/me/2fa/confirm", "alice", map[string]any{"code": "000000"}); res.Status != 422 {
		t.Fatalf("bad confirm code: %d", res.Status)
	}
	res := r.do("POST", "/api/v1/me/2fa/confirm", "alice", map[string]any{"code": code(r.now)})
	if res.Status != 200 {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	recovery := res.json(t)["recovery_codes"].([]any)
	if len(recovery) != 10 {
		t.Fatalf("recovery codes: %v", recovery)
	}
	// Password alone is no longer enough.
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"}); res.Status != 401 || res.errCode(t) != "otp_required" {
		t.Fatalf("no otp: %d %s", res.Status, res.Body)
	}
	// The confirm code's step was used: the same code is a replay.
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "otp": code(r.now)}); res.Status != 401 {
		t.Fatalf("replayed code accepted: %d", res.Status)
	}
	r.now = r.now.Add(30 * time.Second)
	c := code(r.now)
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "otp": c}); res.Status != 200 {
		t.Fatalf("otp login: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "otp": c}); res.Status != 401 {
		t.Fatalf("replay of a login code: %d", res.Status)
	}
	rc := recovery[0].(string)
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "recovery_code": rc}); res.Status != 200 {
		t.Fatalf("recovery login: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "recovery_code": rc}); res.Status != 401 {
		t.Fatalf("recovery code reused: %d", res.Status)
	}
	// An admin resets a lost phone.
	if res := r.do("DELETE", "/api/v1/users/alice/2fa", "ada", nil); res.Status != 200 {
		t.Fatalf("admin reset: %d", res.Status)
	}
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"}); res.Status != 200 {
		t.Fatalf("after reset: %d", res.Status)
	}
}

func TestTwoFactorRequiredForRole(t *testing.T) {
	r := newRig(t)
	if res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"require_2fa_roles": "timekeeper"}); res.Status != 200 {
		t.Fatalf("settings: %d %s", res.Status, res.Body)
	}
	if res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"require_2fa_roles": "wizards"}); res.Status != 422 {
		t.Fatalf("bad roles: %d", res.Status)
	}
	cookie, _, res := login(t, r, "bob", "password-bob")
	if res.json(t)["mfa_enrolment_required"] != true {
		t.Fatalf("login answer: %s", res.Body)
	}
	h := []string{"Cookie", "dictum_session=" + cookie}
	if res := r.do("GET", "/api/v1/entries", "", nil, h...); res.Status != 403 || res.errCode(t) != "mfa_enrolment_required" {
		t.Fatalf("entries before enrolment: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/me/2fa", "", nil, h...); res.Status != 200 || res.json(t)["required"] != true {
		t.Fatalf("status: %d %s", res.Status, res.Body)
	}
	// Billing is not in the list.
	cookie2, _, _ := login(t, r, "bill", "password-bill")
	if res := r.do("GET", "/api/v1/entries", "", nil, "Cookie", "dictum_session="+cookie2); res.Status != 200 {
		t.Fatalf("billing: %d", res.Status)
	}
}
