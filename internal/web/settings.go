package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/settings"
)

// settingsFailed turns a refused settings change into a 422 naming the problem.
func settingsFailed(err error) error {
	var inv *settings.InvalidError
	if errors.As(err, &inv) {
		return errf(422, "invalid", "%s", inv.Message)
	}
	return err
}

// settingsJSON is the API's view of the firm settings.
func settingsJSON(f settings.Firm) fiber.Map {
	out := fiber.Map{"firm_name": f.Name, "ledes_law_firm_id": f.LEDESFirmID, "default_rate": nil, "require_2fa_roles": f.Require2FA,
		"daily_target_hours": float64(f.DailyTargetTenths) / 10}
	if f.HasDefaultRate {
		out["default_rate"] = float64(f.DefaultRate) / 100
	}
	return out
}

// apiGetSettings answers the firm settings (billing and admin).
func (s *Server) apiGetSettings(c *fiber.Ctx) error {
	f, err := s.settings.Firm(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(settingsJSON(f))
}

// apiPatchSettings changes the firm settings given in the body (admin).
func (s *Server) apiPatchSettings(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		FirmName    *string  `json:"firm_name"`
		LEDESFirmID *string  `json:"ledes_law_firm_id"`
		DefaultRate *float64 `json:"default_rate"`
		Require2FA  *string  `json:"require_2fa_roles"`
		DailyTarget *float64 `json:"daily_target_hours"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	f, err := s.settings.Update(c.UserContext(), p.Actor, settings.Patch{FirmName: b.FirmName, LEDESFirmID: b.LEDESFirmID, DefaultRate: b.DefaultRate, Require2FA: b.Require2FA, DailyTarget: b.DailyTarget})
	if err != nil {
		return settingsFailed(err)
	}
	return c.JSON(settingsJSON(f))
}
