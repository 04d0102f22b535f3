package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// twoFARequired reports whether the firm requires 2FA for a role.
func (s *Server) twoFARequired(c *fiber.Ctx, role string) bool {
	required, err := s.settings.RequiresTwoFA(c.UserContext(), role)
	return err == nil && required
}

// twoFAExempt are the routes a session that still owes its second factor may use: enough
// to enrol and to log out.
func twoFAExempt(method, path string) bool {
	switch {
	case path == "/api/v1/me" || path == "/api/v1/session":
		return true
	case strings.HasPrefix(path, "/api/v1/me/2fa"):
		return true
	case path == "/logout" || path == "/2fa" || strings.HasPrefix(path, "/2fa/") || strings.HasPrefix(path, "/static/"):
		return true
	}
	return false
}

// twoFAMaxFailures wrong second factors in a row lock the account's second factor (429);
// every further wrong code locks it again, for twice as long, up to twoFAMaxLock. Only a
// correct code, or an admin's 2FA reset, clears the count, which lives in the database so
// a restart does not reset it.
const (
	twoFAMaxFailures = 10
	twoFAFirstLock   = 15 * time.Minute
	twoFAMaxLock     = 24 * time.Hour
)

// twoFALockFor is the lockout after n wrong second factors in a row.
func twoFALockFor(n int) time.Duration {
	if n < twoFAMaxFailures {
		return 0
	}
	d := twoFAFirstLock
	for k := n - twoFAMaxFailures; k > 0 && d < twoFAMaxLock; k-- {
		d *= 2
	}
	return min(d, twoFAMaxLock)
}

// secondFactor verifies a TOTP code or a recovery code for a user whose password was
// right. It returns false (and no error) for users without 2FA. A wrong code counts
// towards the account's persisted lockout and the login backoff.
func (s *Server) secondFactor(c *fiber.Ctx, u *store.User, otp, recovery string) (bool, error) {
	ctx := c.UserContext()
	m, err := s.Store.TwoFAFor(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if !m.Enabled {
		return false, nil
	}
	ip := c.IP()
	now := s.Now()
	// While locked, every attempt answers 429 (audited coalesced, like throttled logins).
	locked := func(until time.Time) error {
		if report, n, _ := s.limiter.audits.Hit("2fa:" + acctKey(u.Username)); report {
			if err := s.auditAttempt(c, "login.throttled", u.Username, map[string]any{"count": n, "scope": "2fa",
				"window_s": int(throttleAuditWindow.Seconds())}); err != nil {
				return err
			}
		}
		return twoFALocked(c, until.Sub(now))
	}
	if now.Before(m.LockedUntil) {
		return false, locked(m.LockedUntil)
	}
	if otp == "" && recovery == "" {
		return false, errf(401, "otp_required", "enter the 6-digit code from your authenticator app (or a recovery code)")
	}
	// Reserve the attempt before checking the code, so concurrent guesses count too.
	allowed, failures, until, err := s.Store.TwoFAAttempt(ctx, u.ID, now, twoFALockFor)
	if err != nil {
		return false, err
	}
	if !allowed {
		return false, locked(until)
	}
	if otp != "" {
		step, ok := auth.VerifyTOTP(m.Secret, otp, now, m.LastStep)
		if ok {
			if fresh, err := s.Store.UseTOTPStep(ctx, u.ID, step); err != nil {
				return false, err
			} else if fresh {
				return true, s.Store.TwoFAPassed(ctx, u.ID)
			}
		}
	} else if idx, ok := auth.UseRecoveryCode(recovery, m.RecoveryCodes); ok {
		if err := s.Store.UseRecoveryCode(ctx, identity.Actor{UserID: u.ID, Username: u.Username, IP: ip}, u.ID, m, idx); err != nil {
			return false, err
		}
		return true, s.Store.TwoFAPassed(ctx, u.ID)
	}
	s.limiter.loginFailed(u.Username, ip)
	if err := s.auditAttempt(c, "login.2fa_fail", u.Username, map[string]any{"failures": failures}); err != nil {
		return false, err
	}
	if !until.IsZero() {
		if err := s.auditAttempt(c, "auth.2fa_lockout", u.Username, map[string]any{"failures": failures,
			"locked_until": until.UTC().Format(time.RFC3339)}); err != nil {
			return false, err
		}
		return false, twoFALocked(c, until.Sub(now))
	}
	return false, errf(401, "bad_otp", "wrong or already used code")
}

// twoFALocked is the 429 of a locked second factor, with Retry-After.
func twoFALocked(c *fiber.Ctx, wait time.Duration) error {
	secs := max(1, int(wait.Seconds()+0.999))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return errf(429, "2fa_locked", "too many wrong two-factor codes: this account's code entry is locked for %s (an administrator can reset two-factor authentication)",
		(time.Duration(secs) * time.Second).String())
}

func (s *Server) apiTwoFAStatus(c *fiber.Ctx) error {
	p := me(c)
	m, err := s.Store.TwoFAFor(c.UserContext(), p.User.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"enabled": m.Enabled, "required": s.twoFARequired(c, p.User.Role), "recovery_codes_left": len(m.RecoveryCodes),
		"session_verified": p.Session == nil || p.Session.TwoFA})
}

// apiTwoFAStart creates a secret and returns it with an otpauth URL and a QR code (PNG).
func (s *Server) apiTwoFAStart(c *fiber.Ctx) error {
	p := me(c)
	issuer := "Dictum"
	if name, _ := s.settings.FirmName(c.UserContext()); name != "" {
		issuer = "Dictum (" + name + ")"
	}
	secret, url, png, err := auth.NewTOTP(issuer, p.User.Username)
	if err != nil {
		return err
	}
	if err := s.Store.StartTwoFA(c.UserContext(), p.Actor, p.User.ID, secret); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"secret": secret, "otpauth_url": url, "qr_png": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
}

// apiTwoFAConfirm turns 2FA on with a first valid code and returns the recovery codes once.
func (s *Server) apiTwoFAConfirm(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Code string `json:"code"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	m, err := s.Store.TwoFAFor(c.UserContext(), p.User.ID)
	if err != nil {
		return err
	}
	if m.Enabled {
		return errf(409, "conflict", "two-factor authentication is already on")
	}
	if m.Secret == "" {
		return errf(409, "conflict", "start enrolment first (POST /api/v1/me/2fa)")
	}
	step, ok := auth.VerifyTOTP(m.Secret, b.Code, s.Now(), m.LastStep)
	if !ok {
		return errf(422, "bad_otp", "that code is not valid; check the time on your phone and try the next code")
	}
	codes, hashes, err := auth.NewRecoveryCodes(10)
	if err != nil {
		return err
	}
	if err := s.Store.EnableTwoFA(c.UserContext(), p.Actor, p.User.ID, step, hashes); err != nil {
		return err
	}
	if p.Session != nil {
		if err := s.Store.MarkSessionTwoFA(c.UserContext(), p.Session.IDHash); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"enabled": true, "recovery_codes": codes})
}

// apiTwoFADisable turns the caller's 2FA off; it needs the password again.
func (s *Server) apiTwoFADisable(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Password string `json:"password"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if err := s.reauth(c, p, b.Password); err != nil {
		return err
	}
	if s.twoFARequired(c, p.User.Role) {
		return errf(409, "conflict", "the firm requires two-factor authentication for your role")
	}
	if err := s.Store.DisableTwoFA(c.UserContext(), p.Actor, p.User.ID, p.User.Username); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiResetUserTwoFA lets an admin turn off a user's 2FA (lost phone); their sessions end and
// their API tokens are revoked.
func (s *Server) apiResetUserTwoFA(c *fiber.Ctx) error {
	p := me(c)
	u, err := s.Store.UserByName(c.UserContext(), c.Params("username"))
	if errors.Is(err, store.ErrNotFound) {
		return errf(404, "not_found", "not found")
	}
	if err != nil {
		return err
	}
	r, err := s.Store.ResetTwoFA(c.UserContext(), p.Actor, u.ID, u.Username)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"username": u.Username, "sessions_ended": r.Sessions, "tokens_revoked": r.Tokens,
		"message": fmt.Sprintf("two-factor authentication is off for %s; ended %d session(s) and revoked %d API token(s)", u.Username, r.Sessions, r.Tokens)})
}
