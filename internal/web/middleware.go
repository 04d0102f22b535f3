package web

import (
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// caller is the authenticated request, kept in c.Locals("p"): who acts (the embedded
// identity.Actor, which handlers pass on to services and the store) and how they signed in.
type caller struct {
	identity.Actor
	User     *store.User
	Session  *store.Session // nil when authenticated by API token
	ViaToken bool
	// TokenHash is the API token's hash (ViaToken), for re-checking it later (SSE).
	TokenHash []byte
}

func newCaller(c *fiber.Ctx, u *store.User, sess *store.Session) *caller {
	return &caller{
		Actor:    identity.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, IP: c.IP()},
		User:     u,
		Session:  sess,
		ViaToken: sess == nil,
	}
}

func (s *Server) cookieName() string {
	if s.TLS {
		return "__Host-dictum_session"
	}
	return "dictum_session"
}

// identify resolves the caller from a Bearer token or the session cookie. It returns nil
// (no error) for anonymous requests and an error for a presented but invalid credential.
func (s *Server) identify(c *fiber.Ctx) (*caller, error) {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !auth.LooksLikeAPIToken(strings.TrimSpace(tok)) {
			return nil, errf(401, "unauthorized", "malformed Authorization header: use 'Bearer <token>'")
		}
		th := auth.HashToken(strings.TrimSpace(tok))
		u, err := s.Store.AuthenticateToken(c.UserContext(), th, s.Now())
		if errors.Is(err, store.ErrTokenExpired) {
			return nil, errf(401, "token_expired", "this API token has expired; create a new one (dictum token create, or Your account in the web UI)")
		}
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
			return nil, errf(401, "unauthorized", "invalid or revoked API token")
		}
		if err != nil {
			return nil, err
		}
		p := newCaller(c, u, nil)
		p.TokenHash = th
		return p, nil
	}
	raw := c.Cookies(s.cookieName())
	if raw == "" {
		return nil, nil
	}
	h := auth.HashToken(raw)
	sess, err := s.Store.SessionByHash(c.UserContext(), h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(401, "session_expired", "your session has ended; please log in again")
	}
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.Config.Auth.SessionIdle.Duration {
		_ = s.Store.DeleteSession(c.UserContext(), h)
		return nil, errf(401, "session_expired", "your session has expired; please log in again")
	}
	u, err := s.Store.UserByID(c.UserContext(), sess.UserID)
	if err != nil || u.Disabled {
		_ = s.Store.DeleteSession(c.UserContext(), h)
		return nil, errf(401, "unauthorized", "your account is disabled")
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		_ = s.Store.TouchSession(c.UserContext(), h, now)
	}
	return newCaller(c, u, sess), nil
}

// authn runs on every request: identifies the caller, applies rate limits, and enforces
// CSRF on state-changing requests made with the session cookie.
func (s *Server) authn(c *fiber.Ctx) error {
	p, err := s.identify(c)
	if err != nil {
		if !strings.HasPrefix(c.Path(), "/api/") {
			s.clearSessionCookie(c)
			p = nil // pages treat a dead session as anonymous and send the user to /login
		} else {
			return err
		}
	}
	key := "ip:" + c.IP()
	if p != nil {
		key = "user:" + p.User.Username
		c.Locals("p", p)
	}
	if strings.HasPrefix(c.Path(), "/api/") {
		if ok, retry := s.limiter.allowAPI(key); !ok {
			return tooMany(c, retry)
		}
	}
	if p != nil && p.Session != nil && !p.Session.TwoFA && !twoFAExempt(c.Method(), c.Path()) && s.twoFARequired(c, p.User.Role) {
		if strings.HasPrefix(c.Path(), "/api/") {
			return errf(403, "mfa_enrolment_required", "the firm requires two-factor authentication for your role: set it up first (POST /api/v1/me/2fa)")
		}
		return c.Redirect("/2fa", fiber.StatusSeeOther)
	}
	if p != nil && p.Session != nil && !safeMethod(c.Method()) {
		tok := c.Get("X-CSRF-Token")
		if tok == "" {
			tok = formValue(c, "_csrf") // from the bounded body bodyGuard read; never the upload's stream
		}
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(p.Session.CSRF)) != 1 {
			return errf(403, "csrf", "missing or wrong CSRF token (send the X-CSRF-Token header from GET /api/v1/me)")
		}
	}
	return c.Next()
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

func tooMany(c *fiber.Ctx, retry time.Duration) error {
	secs := int(retry.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return errf(429, "rate_limited", "too many requests; retry in %d s", secs)
}

// apiRole is the API's role middleware: 401 for an anonymous caller, 403 for a caller
// without one of roles (none: any signed-in caller).
func apiRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := me(c)
		if p == nil {
			return errf(401, "unauthorized", "log in first (POST /api/v1/session) or send an API token")
		}
		if len(roles) > 0 && !p.HasRole(roles...) {
			return errf(403, "forbidden", "this needs the %s role", strings.Join(roles, " or "))
		}
		return c.Next()
	}
}

// pageRole is the pages' role middleware: anonymous callers are sent to /login, callers
// without one of roles (none: any) get a 403 page.
func pageRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := me(c)
		if p == nil {
			return errLoginRedirect
		}
		if len(roles) > 0 && !p.HasRole(roles...) {
			return errf(403, "forbidden", "This page is for the %s role. You are logged in as %s (%s).",
				strings.Join(roles, " or "), p.Username, p.Role)
		}
		return c.Next()
	}
}

// me is the caller of a route behind apiRole or pageRole (nil on public routes, where
// anonymous callers are allowed).
func me(c *fiber.Ctx) *caller {
	p, _ := c.Locals("p").(*caller)
	return p
}

// contentPolicy is the Content-Security-Policy of every response.
const contentPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// sandboxPolicy is the policy of stored files served back (audio, exports): a browser that
// renders one as a document gives it an opaque origin: no script, no access to cookies.
const sandboxPolicy = contentPolicy + "; sandbox"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=()")
	h.Set("Content-Security-Policy", contentPolicy)
	if s.TLS {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}
