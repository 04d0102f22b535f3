package web

import (
	"github.com/gofiber/fiber/v2"
)

type twoFAData struct {
	Enabled       bool
	Required      bool
	Verified      bool
	RecoveryLeft  int
	RequiredByFor string
}

// uiTwoFA is the two-factor page: status, enrolment (QR code, confirm with a first code,
// recovery codes shown once) and turning it off. The page script talks to /api/v1/me/2fa.
// The middleware sends sessions that owe enrolment here.
func (s *Server) uiTwoFA(c *fiber.Ctx) error {
	p := me(c)
	m, err := s.Store.TwoFAFor(c.UserContext(), p.User.ID)
	if err != nil {
		return err
	}
	d := twoFAData{Enabled: m.Enabled, Required: s.twoFARequired(c, p.User.Role), Verified: p.Session == nil || p.Session.TwoFA,
		RecoveryLeft: len(m.RecoveryCodes)}
	return s.render(c, 200, "twofa", page{Title: "Two-factor authentication", Page: "twofa", Nav: "account", D: d})
}
