package web

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/access"
	"dictum/internal/billing"
	"dictum/internal/exports"
	"dictum/internal/store"
)

// Ethical walls (GET|PUT /api/v1/matters/:id/access) and client share links
// (/api/v1/matters/:id/shares, the public page /s/:token). The rules live in
// internal/access and the store; these handlers parse and render.

func (s *Server) apiGetAccess(c *fiber.Ctx) error {
	w, err := s.access.Wall(c.UserContext(), me(c).Actor, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(w)
}

func (s *Server) apiPutAccess(c *fiber.Ctx) error {
	var b access.WallChange
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	w, err := s.access.SetWall(c.UserContext(), me(c).Actor, c.Params("id"), b)
	if err != nil {
		return err
	}
	return c.JSON(w)
}

func (s *Server) apiCreateShare(c *fiber.Ctx) error {
	var b access.ShareRequest
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	cr, err := s.access.CreateShare(c.UserContext(), me(c).Actor, c.Params("id"), b)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store") // the token is in this response only
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{
		"id": cr.Share.ID, "url": c.BaseURL() + "/s/" + cr.Token, "token_last4": cr.Share.TokenLast4, "expires_at": cr.Share.ExpiresAt,
		"from": cr.Share.From, "to": cr.Share.To, "label": cr.Share.Label})
}

func (s *Server) apiListShares(c *fiber.Ctx) error {
	list, err := s.access.Shares(c.UserContext(), me(c).Actor, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"shares": list})
}

func (s *Server) apiRevokeShare(c *fiber.Ctx) error {
	sh, err := s.access.Revoke(c.UserContext(), me(c).Actor, c.Params("id"), c.Params("sid"))
	if err != nil {
		return err
	}
	return c.JSON(sh)
}

// uiAdminWallSave is the matter page's wall form (admins): names separated by commas or
// spaces, a reason required.
func (s *Server) uiAdminWallSave(c *fiber.Ctx) error {
	names := func(v string) []string {
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	}
	ch := access.WallChange{Restricted: c.FormValue("restricted") != "", Members: names(c.FormValue("members")), Screened: names(c.FormValue("screened")), Reason: c.FormValue("reason")}
	id := c.Params("id")
	if _, err := s.access.SetWall(c.UserContext(), me(c).Actor, id, ch); err != nil {
		ae := mapDomain(err)
		if ae.Status != 422 && ae.Status != 403 {
			return err
		}
		m, gerr := s.Store.MatterFor(c.UserContext(), me(c).Actor, id)
		if gerr != nil {
			return gerr
		}
		return s.render(c, ae.Status, "matter", page{Title: "Edit matter " + m.Number, Page: "admin", Nav: "matters", Problem: "Wall not saved: " + ae.Message, D: s.matterPage(c, m)})
	}
	return c.Redirect("/admin/matters/"+id+"?ok=wall-saved", fiber.StatusSeeOther)
}

// logPath is a request's path for the server log: a share link's token is a credential
// and never logged.
func logPath(c *fiber.Ctx) string {
	if p := c.Path(); strings.HasPrefix(p, "/s/") {
		return "/s/[token]"
	}
	return c.Path()
}

// shareHeaders: a shared page is for its client only: never indexed, never cached, no
// referrer (the token is in the URL).
func shareHeaders(c *fiber.Ctx) {
	c.Set("X-Robots-Tag", "noindex, nofollow, noarchive")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// shareOpen resolves the token; its failures are pages (404 alike for unknown, expired
// and revoked; 429 with Retry-After).
func (s *Server) shareOpen(c *fiber.Ctx, what string) (*access.Shared, error) {
	shareHeaders(c)
	sh, err := s.access.Open(c.UserContext(), c.Params("token"), c.IP(), what)
	var le *access.LimitedError
	if errors.As(err, &le) {
		_ = tooMany(c, le.RetryAfter)
		return nil, s.shareProblem(c, 429, "Too many requests", "This link was opened too often. Try again later.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.shareProblem(c, 404, "Link not available", "This link does not exist or is no longer valid. Ask the firm for a new one.")
	}
	return sh, err
}

func (s *Server) shareProblem(c *fiber.Ctx, status int, title, msg string) error {
	return s.render(c, status, "share", page{Title: title, Page: "share", Problem: msg})
}

type shareRow struct {
	access.SharedEntry
	HoursText, RateText, AmountText string
}

type shareData struct {
	*access.Shared
	Rows                  []shareRow
	HoursText, AmountText string
	CSV                   string
}

func (s *Server) uiShare(c *fiber.Ctx) error {
	sh, err := s.shareOpen(c, "page")
	if sh == nil {
		return err
	}
	d := shareData{Shared: sh, HoursText: sh.Hours.String(), AmountText: sh.Amount.String(), CSV: "/s/" + c.Params("token") + "/entries.csv"}
	for _, e := range sh.Entries {
		d.Rows = append(d.Rows, shareRow{SharedEntry: e, HoursText: e.Hours.String(), RateText: e.Rate.String(), AmountText: e.Amount.String()})
	}
	return s.render(c, 200, "share", page{Title: "Time entries for review", Page: "share", Firm: sh.Firm, D: d})
}

func (s *Server) uiShareCSV(c *fiber.Ctx) error {
	sh, err := s.shareOpen(c, "csv")
	if sh == nil {
		return err
	}
	var b bytes.Buffer
	cell := func(v string) string {
		v = billing.SafeCell(v)
		if strings.ContainsAny(v, "\",\r\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		return v
	}
	b.WriteString("date,timekeeper,hours,activity,task,narrative,billable,rate,amount\r\n")
	for _, e := range sh.Entries {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%t,%s,%s\r\n", cell(e.Date), cell(e.Timekeeper), e.Hours, cell(e.Activity), cell(e.Task), cell(e.Narrative), e.Billable, e.Rate, e.Amount)
	}
	fmt.Fprintf(&b, "total,,%s,,,,,,%s\r\n", sh.Hours, sh.Amount)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, contentDisposition("attachment", exports.SafeFilename(sh.MatterNumber+"-"+sh.From+"-"+sh.To+".csv")))
	return c.Send(b.Bytes())
}
