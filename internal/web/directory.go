package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/directory"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// directoryLogin signs a user in with the firm's directory (internal/directory). The
// dummy argon2 keeps the CPU cost of every attempt the same as a local one, and the
// directory service makes an unknown user cost the same binds as a known one; every
// refusal gives the one "wrong username or password" answer. A right password without a
// mapped group gets its own clear message (403), as does a directory that cannot be
// reached (503); local break-glass accounts are not affected by either.
func (s *Server) directoryLogin(c *fiber.Ctx, cr credentials) (*store.User, error) {
	_ = auth.Verify(cr.Password, s.dummyHash)
	u, err := s.directory.Login(c.UserContext(), identity.Actor{Username: "directory", IP: c.IP()}, cr.Username, cr.Password)
	var le *directory.LoginError
	switch {
	case err == nil:
		return u, nil
	case errors.As(err, &le):
		return nil, s.loginFailed(c, cr.Username, map[string]any{"source": "directory", "reason": le.Reason})
	case errors.Is(err, directory.ErrNoGroup):
		if aerr := s.auditAttempt(c, "login.fail", cr.Username, map[string]any{"source": "directory", "reason": "in no mapped group"}); aerr != nil {
			return nil, aerr
		}
		return nil, errf(403, "no_directory_group", "%s", directory.ErrNoGroup.Error())
	case errors.Is(err, directory.ErrUnavailable):
		s.Log.Error("directory sign-in", "err", err.Error())
		return nil, errf(503, "directory_unavailable", "%s", directory.ErrUnavailable.Error())
	default:
		return nil, err
	}
}

// directoryPage is the admin's step-by-step check of the [ldap] configuration.
type directoryPage struct {
	Enabled  bool
	URL      string
	Username string
	Result   *directory.CheckResult
}

func (s *Server) uiAdminDirectory(c *fiber.Ctx) error {
	d := directoryPage{Enabled: s.directory.Enabled(), URL: s.Config.LDAP.URL}
	return s.render(c, 200, "directory", page{Title: "Directory", Page: "admin", Nav: "directory", D: d})
}

func (s *Server) uiAdminDirectoryCheck(c *fiber.Ctx) error {
	d := directoryPage{Enabled: s.directory.Enabled(), URL: s.Config.LDAP.URL}
	if u := c.FormValue("username"); auth.ValidUsername(u) {
		d.Username = u
	}
	d.Result = s.directory.Check(d.Username)
	return s.render(c, 200, "directory", page{Title: "Directory", Page: "admin", Nav: "directory", D: d})
}
