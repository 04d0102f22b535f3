package web

import (
	"strconv"
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

func validUsername(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '@') {
			return false
		}
	}
	return true
}

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
	if c.Params("username") == p.User.Username && ((b.Disabled != nil && *b.Disabled) || (b.Role != nil && *b.Role != store.RoleAdmin)) {
		return errf(409, "conflict", "you cannot disable yourself or remove your own admin role")
	}
	u, err := s.Store.UpdateUser(c.UserContext(), p.Actor, c.Params("username"), patch)
	if err != nil {
		return err
	}
	return s.userJSON(c, u)
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

func (s *Server) apiCreateToken(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Name string `json:"name"`
	}
	if len(c.Body()) > 0 {
		if err := s.decodeJSON(c, &b); err != nil {
			return err
		}
	}
	tok, hash, prefix, err := auth.NewAPIToken()
	if err != nil {
		return err
	}
	id, err := s.Store.CreateToken(c.UserContext(), p.Actor, p.User.ID, b.Name, prefix, hash)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": id, "token": tok, "prefix": prefix, "name": b.Name})
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

// apiLockouts shows admins the accounts and IPs with failed logins and how long they wait.
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
	return c.JSON(fiber.Map{"accounts": conv(acct), "ips": conv(ips)})
}
