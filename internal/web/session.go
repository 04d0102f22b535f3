package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"dictum/internal/auth"
	"dictum/internal/identity"
	"dictum/internal/ratelimit"
	"dictum/internal/store"
)

type loginReq struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	OTP          string `json:"otp"`
	RecoveryCode string `json:"recovery_code"`
}

// throttleAuditWindow is how often a throttled account (or IP) writes a login.throttled
// audit event; the attempts in between are counted into the next one.
const throttleAuditWindow = 5 * time.Minute

// credentials is what a login presents (the API's JSON or the /login form).
type credentials struct {
	Username, Password, OTP, RecoveryCode string
}

// authenticate checks a login: the username's shape first (a malformed one costs nothing
// and is not audited), then the per-account and per-IP backoff, the password (an unknown
// user, a disabled one and a wrong password get the same answer after the same work),
// then the second factor with its persisted lockout. The failure counters are cleared only
// when every factor passed. It reports whether a second factor was given. Every audit
// write is a precondition: when it fails the login fails (500).
func (s *Server) authenticate(c *fiber.Ctx, cr credentials) (*store.User, bool, error) {
	ctx := c.UserContext()
	ip := c.IP()
	if !auth.ValidUsername(cr.Username) {
		return nil, false, errf(400, "bad_username", "%s", auth.UsernameRule)
	}
	if err := s.throttled(c, cr.Username); err != nil {
		return nil, false, err
	}
	var u *store.User
	var err error
	if s.directory.Enabled() && !s.directory.LocalAllowed(cr.Username) {
		if u, err = s.directoryLogin(c, cr); err != nil {
			return nil, false, err
		}
	} else {
		u, err = s.Store.UserByName(ctx, cr.Username)
		hash := s.dummyHash
		if err == nil && u.PasswordHash != "" { // a directory account has no local password
			hash = u.PasswordHash
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
		verr := auth.Verify(cr.Password, hash)
		if err != nil || verr != nil || u.Disabled || u.PasswordHash == "" {
			return nil, false, s.loginFailed(c, cr.Username, nil)
		}
	}
	twoFA, err := s.secondFactor(c, u, cr.OTP, cr.RecoveryCode)
	if err != nil {
		return nil, false, err
	}
	s.limiter.loginOK(u.Username, ip)
	return u, twoFA, nil
}

// loginFailed counts a failed login, audits it, and gives the one answer every failure gets.
func (s *Server) loginFailed(c *fiber.Ctx, username string, detail map[string]any) error {
	s.limiter.loginFailed(username, c.IP())
	if err := s.auditAttempt(c, "login.fail", username, detail); err != nil {
		return err
	}
	return errf(401, "bad_credentials", "wrong username or password")
}

// throttled answers 429 when the account or the client IP is in backoff, and audits it
// coalesced: one login.throttled event per account (or IP) per window, with a count.
func (s *Server) throttled(c *fiber.Ctx, username string) error {
	ip := c.IP()
	acctWait, ipWait := s.limiter.acct.Check(acctKey(username)), s.limiter.ip.Check(ip)
	wait := max(acctWait, ipWait)
	if wait <= 0 {
		return nil
	}
	// An IP in backoff is reported under the IP, so rotating usernames does not multiply
	// the events.
	key, scope := "user:"+acctKey(username), "account"
	if ipWait >= acctWait {
		key, scope = "ip:"+ip, "ip"
	}
	if report, n, under := s.limiter.audits.Hit(key); report {
		detail := map[string]any{"count": n, "window_s": int(throttleAuditWindow.Seconds()), "scope": scope}
		if under == ratelimit.OverflowKey {
			detail["scope"] = "overflow"
		}
		if err := s.auditAttempt(c, "login.throttled", username, detail); err != nil {
			return err
		}
	}
	return tooMany(c, wait)
}

// auditAttempt audits a login attempt by someone not (yet) authenticated: no actor, the
// attempted name (truncated) as the object, marked unauthenticated.
func (s *Server) auditAttempt(c *fiber.Ctx, action, username string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["unauthenticated"] = true
	if err := s.Store.Audit(c.UserContext(), identity.Actor{IP: c.IP()}, action, "user", truncName(username), detail); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// truncName bounds an attempted username for the audit log.
func truncName(n string) string {
	if len(n) > auth.MaxUsernameLen {
		n = n[:auth.MaxUsernameLen]
	}
	return strings.ToValidUTF8(n, "?")
}

// startSession creates a server-side session and sets the cookie. twoFA records that the
// second factor was given. The session and its login.ok audit event are written together:
// without the audit event there is no session.
func (s *Server) startSession(c *fiber.Ctx, u *store.User, twoFA ...bool) (*store.Session, error) {
	id, err := auth.NewSecret()
	if err != nil {
		return nil, err
	}
	csrf, err := auth.NewSecret()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	sess := &store.Session{IDHash: auth.HashToken(id), UserID: u.ID, CSRF: csrf, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.Config.Auth.SessionMax.Duration), TwoFA: len(twoFA) > 0 && twoFA[0]}
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 200 {
		ua = ua[:200]
	}
	ua = strings.ToValidUTF8(ua, "?")
	if err := s.Store.StartSession(c.UserContext(), identity.Actor{Username: u.Username, IP: c.IP()}, sess, ua, map[string]any{"2fa": sess.TwoFA}); err != nil {
		return nil, err
	}
	s.setSessionCookie(c, id, sess.ExpiresAt)
	return sess, nil
}

// setSessionCookie and clearSessionCookie write the session cookie with the same
// attributes, so the clearing one really replaces it: a __Host- cookie (TLS) is only
// accepted, and so only cleared, with Secure, Path=/ and no Domain.
func (s *Server) setSessionCookie(c *fiber.Ctx, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: s.cookieName(), Value: value, Path: "/", HTTPOnly: true, Secure: s.TLS,
		SameSite: fiber.CookieSameSiteStrictMode, Expires: expires})
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: s.cookieName(), Value: "", Path: "/", HTTPOnly: true, Secure: s.TLS,
		SameSite: fiber.CookieSameSiteStrictMode, Expires: fasthttp.CookieExpireDelete})
}

// endSession logs the caller's session out: deleted and audited together.
func (s *Server) endSession(c *fiber.Ctx, p *caller) error {
	if p == nil || p.Session == nil {
		return nil
	}
	return s.Store.EndSession(c.UserContext(), identity.Actor{UserID: p.User.ID, Username: p.User.Username, IP: c.IP()}, p.Session.IDHash)
}

func (s *Server) apiLogin(c *fiber.Ctx) error {
	var req loginReq
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	req.Username = strings.TrimSpace(req.Username)
	if req.Username == "" || req.Password == "" {
		return errf(400, "bad_request", "username and password are required")
	}
	u, twoFA, err := s.authenticate(c, credentials{Username: req.Username, Password: req.Password, OTP: req.OTP, RecoveryCode: req.RecoveryCode})
	if err != nil {
		return err
	}
	sess, err := s.startSession(c, u, twoFA)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"username": u.Username, "role": u.Role, "csrf_token": sess.CSRF, "expires_at": sess.ExpiresAt.UTC().Format(time.RFC3339),
		"must_change_password": u.MustChangePassword, "mfa_enrolment_required": !twoFA && s.twoFARequired(c, u.Role)})
}

func (s *Server) apiLogout(c *fiber.Ctx) error {
	if err := s.endSession(c, me(c)); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) apiMe(c *fiber.Ctx) error {
	p := me(c)
	out := fiber.Map{"username": p.User.Username, "role": p.User.Role, "display_name": p.User.DisplayName,
		"must_change_password": p.User.MustChangePassword}
	if p.Session != nil {
		out["csrf_token"] = p.Session.CSRF
	}
	return c.JSON(out)
}

// decodeJSON reads a bounded JSON body into v, refusing unknown fields.
func (s *Server) decodeJSON(c *fiber.Ctx, v any) error {
	limit := int64(s.Config.Limits.MaxJSONKB) * 1024
	if n := c.Request().Header.ContentLength(); n > int(limit) {
		return errf(413, "too_large", "JSON body larger than %d KiB", s.Config.Limits.MaxJSONKB)
	}
	body, err := readBody(c, limit)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errf(400, "bad_request", "request body is empty; send JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errf(400, "bad_request", "invalid JSON: %s", err.Error())
	}
	if dec.More() {
		return errf(400, "bad_request", "invalid JSON: trailing data after the object")
	}
	return nil
}
