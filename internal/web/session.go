package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/identity"
	"dictum/internal/store"
)

type loginReq struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	OTP          string `json:"otp"`
	RecoveryCode string `json:"recovery_code"`
}

// login checks a password with lockout/backoff and no user enumeration: an unknown user,
// a disabled one and a wrong password get the same message after the same work.
func (s *Server) login(c *fiber.Ctx, username, password string) (*store.User, error) {
	ip := c.IP()
	if wait := s.limiter.loginWait(username, ip); wait > 0 {
		_ = s.Store.Audit(c.UserContext(), identity.Actor{Username: username, IP: ip}, "login.throttled", "user", username, nil)
		return nil, tooMany(c, wait)
	}
	u, err := s.Store.UserByName(c.UserContext(), username)
	hash := s.dummyHash
	if err == nil {
		hash = u.PasswordHash
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	verr := auth.Verify(password, hash)
	if err != nil || verr != nil || u.Disabled {
		s.limiter.loginFailed(username, ip)
		_ = s.Store.Audit(c.UserContext(), identity.Actor{Username: username, IP: ip}, "login.fail", "user", username, nil)
		return nil, errf(401, "bad_credentials", "wrong username or password")
	}
	s.limiter.loginOK(username, ip)
	return u, nil
}

// startSession creates a server-side session and sets the cookie. twoFA records that the
// second factor was given.
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
	if err := s.Store.CreateSession(c.UserContext(), sess, c.IP(), ua); err != nil {
		return nil, err
	}
	_ = s.Store.Audit(c.UserContext(), identity.Actor{Username: u.Username, IP: c.IP()}, "login.ok", "user", u.Username, nil)
	c.Cookie(&fiber.Cookie{Name: s.cookieName(), Value: id, Path: "/", HTTPOnly: true, Secure: s.TLS, SameSite: fiber.CookieSameSiteStrictMode,
		Expires: sess.ExpiresAt})
	return sess, nil
}

func (s *Server) apiLogin(c *fiber.Ctx) error {
	var req loginReq
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return errf(400, "bad_request", "username and password are required")
	}
	u, err := s.login(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	twoFA, err := s.checkTwoFA(c, u, req.OTP, req.RecoveryCode)
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
	p := me(c)
	if p.Session != nil {
		if err := s.Store.DeleteSession(c.UserContext(), p.Session.IDHash); err != nil {
			return err
		}
		_ = s.Store.Audit(c.UserContext(), identity.Actor{Username: p.User.Username, IP: c.IP()}, "logout", "user", p.User.Username, nil)
	}
	c.ClearCookie(s.cookieName())
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
