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
		"retention_days": f.RetentionDays, "retention_auto_delete": f.RetentionAutoDelete, "audio_retention_days": f.AudioRetentionDays,
		"invoice_prefix": f.InvoicePrefix, "daily_target_hours": float64(f.DailyTargetTenths) / 10}
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
	return s.settingsAnswer(c, f)
}

// settingsAnswer is the settings JSON with the invoice number the next LEDES export gets.
func (s *Server) settingsAnswer(c *fiber.Ctx, f settings.Firm) error {
	out := settingsJSON(f)
	next, err := s.Store.PeekInvoiceNumber(c.UserContext())
	if err != nil {
		return err
	}
	out["next_invoice_number"] = next
	return c.JSON(out)
}

// apiPatchSettings changes the firm settings given in the body (admin).
func (s *Server) apiPatchSettings(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		FirmName    *string  `json:"firm_name"`
		LEDESFirmID *string  `json:"ledes_law_firm_id"`
		DefaultRate *float64 `json:"default_rate"`
		Require2FA  *string  `json:"require_2fa_roles"`
		// Retention: days (0 = indefinite), auto-delete on/off, audio days (0 = off).
		RetentionDays       *int  `json:"retention_days"`
		RetentionAutoDelete *bool `json:"retention_auto_delete"`
		AudioRetentionDays  *int  `json:"audio_retention_days"`
		// Invoice numbering: prefix, and the sequence moved forward (never back).
		InvoicePrefix     *string  `json:"invoice_prefix"`
		InvoiceNextNumber *int     `json:"invoice_next_number"`
		DailyTarget       *float64 `json:"daily_target_hours"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	f, err := s.settings.Update(c.UserContext(), p.Actor, settings.Patch{FirmName: b.FirmName, LEDESFirmID: b.LEDESFirmID, DefaultRate: b.DefaultRate, Require2FA: b.Require2FA,
		RetentionDays: b.RetentionDays, RetentionAutoDelete: b.RetentionAutoDelete, AudioRetentionDays: b.AudioRetentionDays,
		InvoicePrefix: b.InvoicePrefix, InvoiceNextNumber: b.InvoiceNextNumber, DailyTarget: b.DailyTarget})
	if err != nil {
		return settingsFailed(err)
	}
	return s.settingsAnswer(c, f)
}
