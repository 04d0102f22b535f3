package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/ebilling"
	"dictum/internal/ratelimit"
	"dictum/internal/store"
)

func (s *Server) apiListUsers(c *fiber.Ctx) error {
	list, err := s.Store.Users(c.UserContext())
	if err != nil {
		return err
	}
	views, err := s.usersWithEBilling(c.UserContext(), list)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"users": views})
}

type userBody struct {
	Username       *string  `json:"username"`
	DisplayName    *string  `json:"display_name"`
	Role           *string  `json:"role"`
	Password       *string  `json:"password"`
	Disabled       *bool    `json:"disabled"`
	Rate           *float64 `json:"rate"`
	TimekeeperID   *string  `json:"timekeeper_id"`
	Classification *string  `json:"classification"`
	// E-billing fields (see ebillingUserPatch).
	FirstName   *string                    `json:"first_name"`
	LastName    *string                    `json:"last_name"`
	ClientRates []ebilling.ClientRateInput `json:"client_rates"`
}

func (s *Server) apiCreateUser(c *fiber.Ctx) error {
	p := me(c)
	var b userBody
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if err := ebillingOnCreate(&b); err != nil {
		return err
	}
	if str(b.Username) == "" || str(b.Role) == "" {
		return errf(422, "invalid", "username and role are required")
	}
	if !store.ValidRole(*b.Role) {
		return errf(422, "invalid", "role must be timekeeper, billing or admin")
	}
	password := str(b.Password)
	generated := false
	if password == "" {
		var err error
		if password, err = auth.GeneratePassword(16); err != nil {
			return err
		}
		generated = true
	}
	if err := auth.CheckPassword(password, s.Config.Auth.MinPassword); err != nil {
		return errf(422, "invalid", "%s", err.Error())
	}
	hash, err := auth.Hash(password, s.hashParam)
	if err != nil {
		return err
	}
	u := &store.User{Username: *b.Username, DisplayName: str(b.DisplayName), Role: *b.Role, PasswordHash: hash, MustChangePassword: generated,
		TimekeeperID: str(b.TimekeeperID)}
	if !validUsername(u.Username) {
		return errf(422, "invalid", "username must be 1-64 letters, digits, dots, dashes or underscores")
	}
	if err := s.Store.CreateUser(c.UserContext(), p.Actor, u); err != nil {
		return err
	}
	out := fiber.Map{"user": u}
	if generated {
		out["password"] = password // shown once to the admin
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

func validUsername(n string) bool { return auth.ValidUsername(n) }

func (s *Server) apiPatchUser(c *fiber.Ctx) error {
	p := me(c)
	var b userBody
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Username != nil {
		return errf(422, "invalid", "a username cannot change")
	}
	patch := store.UserPatch{DisplayName: b.DisplayName, Role: b.Role, Disabled: b.Disabled, TimekeeperID: b.TimekeeperID, Classification: b.Classification}
	if err := ebillingUserPatch(&patch, &b); err != nil {
		return err
	}
	if b.Rate != nil {
		cents, err := rateCents(*b.Rate)
		if err != nil {
			return err
		}
		pc := &cents
		patch.RateCents = &pc
	}
	if b.Password != nil {
		if err := auth.CheckPassword(*b.Password, s.Config.Auth.MinPassword); err != nil {
			return errf(422, "invalid", "%s", err.Error())
		}
		h, err := auth.Hash(*b.Password, s.hashParam)
		if err != nil {
			return err
		}
		patch.PasswordHash = &h
		mc := true
		patch.MustChange = &mc
	}
	// Usernames are case-insensitive: "ADA" is ada.
	if strings.EqualFold(strings.TrimSpace(c.Params("username")), p.User.Username) && ((b.Disabled != nil && *b.Disabled) || (b.Role != nil && *b.Role != store.RoleAdmin)) {
		return errf(409, "conflict", "you cannot disable yourself or remove your own admin role")
	}
	u, revoked, err := s.Store.ChangeUser(c.UserContext(), p.Actor, c.Params("username"), patch)
	if err != nil {
		return err
	}
	tb, err := s.Store.TimekeeperBillingOf(c.UserContext(), u.Username)
	if err != nil {
		return err
	}
	out := patchedUser{userView: userView{User: u, TimekeeperBilling: tb}}
	if patch.PasswordHash != nil || (patch.Disabled != nil && *patch.Disabled) {
		out.SessionsEnded, out.TokensRevoked = &revoked.Sessions, &revoked.Tokens
		out.Message = fmt.Sprintf("ended %d session(s) and revoked %d API token(s) of %s", revoked.Sessions, revoked.Tokens, u.Username)
	}
	return c.JSON(out)
}

// patchedUser is PATCH /users/{username}'s answer: the user, and what a password change
// or a disable ended.
type patchedUser struct {
	userView
	SessionsEnded *int64 `json:"sessions_ended,omitempty"`
	TokensRevoked *int64 `json:"tokens_revoked,omitempty"`
	Message       string `json:"message,omitempty"`
}

func (s *Server) apiListTokens(c *fiber.Ctx) error {
	p := me(c)
	// An object-dependent role check, kept here: everyone lists their own tokens; an
	// admin may ask for everyone's (all=1).
	who := p.User.Username
	if p.User.Role == store.RoleAdmin && c.Query("all") == "1" {
		who = ""
	}
	list, err := s.Store.Tokens(c.UserContext(), who)
	if err != nil {
		return err
	}
	if list == nil {
		list = []store.Token{}
	}
	return c.JSON(fiber.Map{"tokens": list})
}

// apiCreateToken creates an API token for the caller. It needs the password again (a
// stolen session or token cannot mint a credential that outlives it) and expires after
// expires_in_days (default 90; 0 = never).
func (s *Server) apiCreateToken(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Name          string `json:"name"`
		ExpiresInDays *int   `json:"expires_in_days"`
		Password      string `json:"password"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	days := auth.DefaultTokenDays
	if b.ExpiresInDays != nil {
		days = *b.ExpiresInDays
	}
	expires, err := auth.TokenExpiry(s.Now(), days)
	if err != nil {
		return errf(422, "invalid", "expires_in_days: %s", err.Error())
	}
	if err := s.reauth(c, p, b.Password); err != nil {
		return err
	}
	t, err := s.createToken(c, p, b.Name, expires)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

// newToken is a token just created: the secret is in this answer only.
type newToken struct {
	ID        int64  `json:"id"`
	Token     string `json:"token"`
	Prefix    string `json:"prefix"`
	Name      string `json:"name"`
	ExpiresAt string `json:"expires_at,omitempty"` // "" = never
}

func (s *Server) createToken(c *fiber.Ctx, p *caller, name string, expires time.Time) (*newToken, error) {
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		return nil, errf(422, "invalid", "a token name is at most 100 characters")
	}
	tok, hash, prefix, err := auth.NewAPIToken()
	if err != nil {
		return nil, err
	}
	id, err := s.Store.CreateTokenUntil(c.UserContext(), p.Actor, p.User.ID, name, prefix, hash, expires)
	if err != nil {
		return nil, err
	}
	out := &newToken{ID: id, Token: tok, Prefix: prefix, Name: name}
	if !expires.IsZero() {
		out.ExpiresAt = expires.UTC().Format(time.RFC3339)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return out, nil
}

// reauth checks the caller's password again before a sensitive action, under the login
// backoff: a wrong password counts as a failed login for the account and the IP.
func (s *Server) reauth(c *fiber.Ctx, p *caller, password string) error {
	if password == "" {
		return errf(403, "reauth_required", "enter your password again to do this")
	}
	if wait := s.limiter.loginWait(p.User.Username, c.IP()); wait > 0 {
		return tooMany(c, wait)
	}
	if auth.Verify(password, p.User.PasswordHash) != nil {
		s.limiter.loginFailed(p.User.Username, c.IP())
		return errf(403, "reauth_failed", "wrong password")
	}
	return nil
}

func (s *Server) apiRevokeToken(c *fiber.Ctx) error {
	p := me(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errf(404, "not_found", "not found")
	}
	toks, err := s.Store.Tokens(c.UserContext(), "")
	if err != nil {
		return err
	}
	// An object-dependent role check, kept here: a token is revoked by its owner or an admin.
	for _, t := range toks {
		if t.ID == id && (t.Username == p.User.Username || p.User.Role == store.RoleAdmin) {
			if err := s.Store.RevokeToken(c.UserContext(), p.Actor, id); err != nil {
				return err
			}
			return c.SendStatus(fiber.StatusNoContent)
		}
	}
	return errf(404, "not_found", "not found")
}

// apiLockouts shows admins the accounts and IPs with failed logins and how long they wait,
// and the accounts with wrong second factors in a row.
func (s *Server) apiLockouts(c *fiber.Ctx) error {
	acct, ips := s.limiter.lockouts()
	conv := func(es []ratelimit.Entry) []fiber.Map {
		out := []fiber.Map{}
		for _, e := range es {
			m := fiber.Map{"key": e.Key, "failures": e.Failures, "locked_until": nil}
			if e.LockedUntil.After(s.Now()) {
				m["locked_until"] = e.LockedUntil.UTC().Format(time.RFC3339)
			}
			out = append(out, m)
		}
		return out
	}
	// Second-factor failures are kept in the database (they survive a restart).
	fails, err := s.Store.TwoFAFailures(c.UserContext())
	if err != nil {
		return err
	}
	twoFA := []fiber.Map{}
	for _, f := range fails {
		m := fiber.Map{"key": f.Username, "failures": f.Failures, "locked_until": nil}
		if f.LockedUntil.After(s.Now()) {
			m["locked_until"] = f.LockedUntil.UTC().Format(time.RFC3339)
		}
		twoFA = append(twoFA, m)
	}
	return c.JSON(fiber.Map{"accounts": conv(acct), "ips": conv(ips), "second_factor": twoFA})
}

// plural is "1 API token", "3 API tokens".
func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
