package web

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/ebilling"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// ---- users -------------------------------------------------------------------

type usersData struct {
	Users    []*store.User
	Me       string
	NewUser  struct{ Username, Display, Role string }
	Password string // a generated password, shown once
	PwFor    string
	MinLen   int
	TwoFA    map[string]bool
}

func (s *Server) usersPage(c *fiber.Ctx, status int, pg page, d usersData) error {
	users, err := s.Store.Users(c.UserContext())
	if err != nil {
		return err
	}
	p, _ := c.Locals("p").(*caller)
	d.Users, d.Me, d.MinLen = users, p.User.Username, s.Config.Auth.MinPassword
	d.TwoFA = map[string]bool{}
	for _, u := range users {
		if m, err := s.Store.TwoFAFor(c.UserContext(), u.ID); err == nil && m.Enabled {
			d.TwoFA[u.Username] = true
		}
	}
	if d.NewUser.Role == "" {
		d.NewUser.Role = store.RoleTimekeeper
	}
	pg.Title, pg.Page, pg.Nav, pg.D = "Users", "admin", "admin", d
	return s.render(c, status, "users", pg)
}

func (s *Server) uiAdminUsers(c *fiber.Ctx) error {
	pg := page{}
	if m := c.Query("ok"); m == "user-disabled" {
		n, _ := strconv.ParseInt(c.Query("tokens"), 10, 64)
		pg.Notice = "The user is disabled; their sessions were ended and " + plural(max(0, n), "API token") + " revoked."
	} else if m != "" {
		pg.Notice = noticeText(m)
	}
	return s.usersPage(c, 200, pg, usersData{})
}

// noticeText maps the short codes of post-redirect-get to messages (no user text in URLs).
func noticeText(code string) string {
	switch code {
	case "user-saved":
		return "The user is saved."
	case "matter-created":
		return "The matter is added."
	case "matter-saved":
		return "The matter is saved."
	case "wall-saved":
		return "The matter's wall is saved; the change and its reason are in the audit trail."
	case "matter-closed":
		return "The matter is closed. Its drafts keep it; new entries cannot pick it."
	case "matter-reopened":
		return "The matter is open again."
	case "settings-saved":
		return "Settings saved."
	case "item-restored":
		return "Restored."
	}
	return ""
}

func (s *Server) uiAdminCreateUser(c *fiber.Ctx) error {
	p := me(c)
	var d usersData
	d.NewUser.Username = strings.TrimSpace(c.FormValue("username"))
	d.NewUser.Display = strings.TrimSpace(c.FormValue("display_name"))
	d.NewUser.Role = c.FormValue("role")
	password := c.FormValue("password")
	fail := func(msg string) error { return s.usersPage(c, 422, page{Problem: msg}, d) }
	if !validUsername(d.NewUser.Username) {
		return fail("Username must be 1-64 letters, digits, dots, dashes, @ or underscores.")
	}
	if !store.ValidRole(d.NewUser.Role) {
		return fail("Pick a role: timekeeper, billing or admin.")
	}
	generated := password == ""
	if generated {
		var err error
		if password, err = auth.GeneratePassword(16); err != nil {
			return err
		}
	} else if err := auth.CheckPassword(password, s.Config.Auth.MinPassword); err != nil {
		return fail("Password: " + err.Error() + ".")
	}
	hash, err := auth.Hash(password, s.hashParam)
	if err != nil {
		return err
	}
	u := &store.User{Username: d.NewUser.Username, DisplayName: d.NewUser.Display, Role: d.NewUser.Role, PasswordHash: hash, MustChangePassword: generated}
	if err := s.Store.CreateUser(c.UserContext(), p.Actor, u); err != nil {
		ae := mapDomain(err)
		if ae.Code == "exists" {
			return fail("A user named " + u.Username + " already exists.")
		}
		return err
	}
	out := usersData{}
	pg := page{Notice: "User " + u.Username + " is added."}
	if generated {
		out.Password, out.PwFor = password, u.Username
	}
	return s.usersPage(c, 201, pg, out)
}

func (s *Server) uiAdminUpdateUser(c *fiber.Ctx) error {
	p := me(c)
	name := c.Params("username")
	target, err := s.Store.UserByName(c.UserContext(), name)
	if err != nil {
		return err
	}
	var patch store.UserPatch
	var out usersData
	switch c.FormValue("op") {
	case "reset":
		pw, err := auth.GeneratePassword(16)
		if err != nil {
			return err
		}
		h, err := auth.Hash(pw, s.hashParam)
		if err != nil {
			return err
		}
		mc := true
		patch.PasswordHash, patch.MustChange = &h, &mc
		out.Password, out.PwFor = pw, target.Username
	case "reset2fa":
		if strings.EqualFold(target.Username, p.User.Username) {
			return s.usersPage(c, 409, page{Problem: "Manage your own two-factor authentication on the Two-factor page (Your account)."}, out)
		}
		r, err := s.Store.ResetTwoFA(c.UserContext(), p.Actor, target.ID, target.Username)
		if err != nil {
			return err
		}
		return s.usersPage(c, 200, page{Notice: fmt.Sprintf("Two-factor authentication is off for %s; their sessions were ended and %s revoked. They can set it up again.",
			target.Username, plural(r.Tokens, "API token"))}, out)
	case "disable", "enable":
		v := c.FormValue("op") == "disable"
		patch.Disabled = &v
	case "save":
		role := c.FormValue("role")
		if !store.ValidRole(role) {
			return s.usersPage(c, 422, page{Problem: "Pick a role: timekeeper, billing or admin."}, out)
		}
		dn := strings.TrimSpace(c.FormValue("display_name"))
		patch.Role, patch.DisplayName = &role, &dn
	default:
		return errf(400, "bad_request", "unknown action")
	}
	if strings.EqualFold(target.Username, p.User.Username) && ((patch.Disabled != nil && *patch.Disabled) || (patch.Role != nil && *patch.Role != store.RoleAdmin)) {
		return s.usersPage(c, 409, page{Problem: "You cannot disable yourself or remove your own admin role; ask another admin."}, out)
	}
	_, r, err := s.Store.ChangeUser(c.UserContext(), p.Actor, target.Username, patch)
	if err != nil {
		return err
	}
	if out.Password != "" {
		return s.usersPage(c, 200, page{Notice: fmt.Sprintf("A new one-time password is set for %s; their sessions were ended and %s revoked.",
			target.Username, plural(r.Tokens, "API token"))}, out)
	}
	if patch.Disabled != nil && *patch.Disabled {
		return c.Redirect("/admin/users?ok=user-disabled&tokens="+strconv.FormatInt(r.Tokens, 10), fiber.StatusSeeOther)
	}
	return c.Redirect("/admin/users?ok=user-saved", fiber.StatusSeeOther)
}

// ---- matters -----------------------------------------------------------------

type mattersData struct {
	List    []*store.Matter
	Q       string
	Status  string
	New     store.Matter
	Preview []importRow
	CSV     string
	Valid   int
	Invalid int
	Done    bool
	IsAdmin bool
}

func (s *Server) mattersPage(c *fiber.Ctx, status int, pg page, d mattersData) error {
	if d.Status == "" {
		d.Status = "open"
	}
	st := d.Status
	if st == "all" {
		st = ""
	}
	list, err := s.Store.MattersFor(c.UserContext(), me(c).Actor.UserID, st, d.Q)
	if err != nil {
		return err
	}
	p, _ := c.Locals("p").(*caller)
	d.List, d.IsAdmin = list, p.User.Role == store.RoleAdmin
	pg.Title, pg.Page, pg.Nav, pg.D = "Matters", "admin", "matters", d
	return s.render(c, status, "matters", pg)
}

func (s *Server) uiAdminMatters(c *fiber.Ctx) error {
	d := mattersData{Q: strings.TrimSpace(c.Query("q")), Status: c.Query("status", "open")}
	if d.Status != "open" && d.Status != "closed" && d.Status != "all" {
		return errf(400, "bad_request", "status must be open, closed or all")
	}
	pg := page{}
	if m := c.Query("ok"); m == "user-disabled" {
		n, _ := strconv.ParseInt(c.Query("tokens"), 10, 64)
		pg.Notice = "The user is disabled; their sessions were ended and " + plural(max(0, n), "API token") + " revoked."
	} else if m != "" {
		pg.Notice = noticeText(m)
	}
	return s.mattersPage(c, 200, pg, d)
}

func matterFromForm(c *fiber.Ctx) store.Matter {
	return store.Matter{Number: strings.TrimSpace(c.FormValue("number")), Client: strings.TrimSpace(c.FormValue("client")),
		Name: strings.TrimSpace(c.FormValue("name")), Status: c.FormValue("status", "open"), Litigation: c.FormValue("litigation") == "on"}
}

func (s *Server) uiAdminCreateMatter(c *fiber.Ctx) error {
	p := me(c)
	m := matterFromForm(c)
	if err := s.Store.CreateMatter(c.UserContext(), p.Actor, &m); err != nil {
		ae := mapDomain(err)
		if ae.Status == 422 || ae.Status == 409 {
			msg := ae.Message
			if ae.Code == "exists" {
				msg = "Matter number " + m.Number + " already exists."
			}
			return s.mattersPage(c, ae.Status, page{Problem: "Not added: " + msg}, mattersData{New: m})
		}
		return err
	}
	return c.Redirect("/admin/matters?ok=matter-created", fiber.StatusSeeOther)
}

func (s *Server) uiAdminMatterEdit(c *fiber.Ctx) error {
	m, err := s.Store.MatterFor(c.UserContext(), me(c).Actor, c.Params("id"))
	if err != nil {
		return err
	}
	pg := page{Title: "Edit matter " + m.Number, Page: "admin", Nav: "matters", D: s.matterPage(c, m)}
	if ok := c.Query("ok"); ok != "" {
		pg.Notice = noticeText(ok)
	}
	return s.render(c, 200, "matter", pg)
}

func (s *Server) uiAdminMatterSave(c *fiber.Ctx) error {
	p := me(c)
	id := c.Params("id")
	var patch store.MatterPatch
	ok := "matter-saved"
	switch c.FormValue("op") {
	case "close", "reopen":
		st := "closed"
		ok = "matter-closed"
		if c.FormValue("op") == "reopen" {
			st, ok = "open", "matter-reopened"
		}
		patch.Status = &st
	case "save":
		m := matterFromForm(c)
		patch = store.MatterPatch{Number: &m.Number, Client: &m.Client, Name: &m.Name, Status: &m.Status, Litigation: &m.Litigation}
		cmid, err := ebilling.CheckID("client_matter_id", c.FormValue("client_matter_id"))
		if err != nil {
			m, gerr := s.Store.MatterFor(c.UserContext(), me(c).Actor, id)
			if gerr != nil {
				return gerr
			}
			return s.render(c, 422, "matter", page{Title: "Edit matter " + m.Number, Page: "admin", Nav: "matters", Problem: "Not saved: " + err.Error(), D: s.matterPage(c, m)})
		}
		patch.ClientMatterID = &cmid
	default:
		return errf(400, "bad_request", "unknown action")
	}
	if _, err := s.Store.UpdateMatter(c.UserContext(), p.Actor, id, patch); err != nil {
		ae := mapDomain(err)
		if ae.Status == 422 || ae.Status == 409 {
			m, gerr := s.Store.MatterFor(c.UserContext(), me(c).Actor, id)
			if gerr != nil {
				return gerr
			}
			return s.render(c, ae.Status, "matter", page{Title: "Edit matter " + m.Number, Page: "admin", Nav: "matters", Problem: "Not saved: " + ae.Message, D: s.matterPage(c, m)})
		}
		return err
	}
	return c.Redirect("/admin/matters?ok="+ok, fiber.StatusSeeOther)
}

func (s *Server) existingNumbers(c *fiber.Ctx) (map[string]bool, error) {
	list, err := s.Store.Matters(c.UserContext(), "", "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range list {
		out[strings.ToLower(m.Number)] = true
	}
	return out, nil
}

// uiAdminImportPreview parses an uploaded (or pasted) CSV and shows each row valid or not.
func (s *Server) uiAdminImportPreview(c *fiber.Ctx) error {
	data, err := importInput(c)
	if errors.Is(err, errImportTooLarge) {
		return s.mattersPage(c, 413, page{Problem: fmt.Sprintf("The file is larger than %d KiB; split it.", maxImportBytes/1024)}, mattersData{})
	}
	if err != nil {
		return err
	}
	existing, err := s.existingNumbers(c)
	if err != nil {
		return err
	}
	rows, perr := parseMatterCSV(data, existing)
	d := mattersData{Preview: rows, CSV: string(data)}
	for _, r := range rows {
		if r.Err == "" {
			d.Valid++
		} else {
			d.Invalid++
		}
	}
	pg := page{}
	if perr != nil {
		pg.Problem = "The CSV cannot be read: " + perr.Error() + "."
		d.Valid = 0 // never import half of a broken file
	}
	return s.mattersPage(c, 200, pg, d)
}

// uiAdminImportConfirm re-validates the previewed CSV and creates its valid rows.
func (s *Server) uiAdminImportConfirm(c *fiber.Ctx) error {
	p := me(c)
	existing, err := s.existingNumbers(c)
	if err != nil {
		return err
	}
	rows, perr := parseMatterCSV([]byte(formValue(c, "csv")), existing)
	if perr != nil {
		return s.mattersPage(c, 422, page{Problem: "The CSV cannot be read: " + perr.Error() + ". Nothing was imported."}, mattersData{})
	}
	created, failed := 0, 0
	for i := range rows {
		r := &rows[i]
		if r.Err != "" {
			r.Result = "skipped: " + r.Err
			failed++
			continue
		}
		m := &store.Matter{ID: r.ID, Number: r.Number, Client: r.Client, Name: r.Name, Status: r.Status, Litigation: r.Litigation, ClientMatterID: r.ClientMatterID}
		if err := s.Store.CreateMatter(c.UserContext(), p.Actor, m); err != nil {
			r.Result = "failed: " + mapDomain(err).Message
			failed++
			continue
		}
		r.Result = "created"
		created++
	}
	d := mattersData{Preview: rows, Done: true, Valid: created, Invalid: failed}
	pg := page{Notice: fmt.Sprintf("Imported %d matter(s); %d row(s) not imported.", created, failed)}
	return s.mattersPage(c, 200, pg, d)
}

// ---- settings ------------------------------------------------------------------

type settingsData struct {
	FirmName  string
	LEDESID   string
	Rate      string
	Target    string
	Require   map[string]bool
	Timezone  string
	Increment int
	Engine    string
	Model     string
	// Retention policy.
	RetentionDays, AudioDays int
	AutoDelete               bool
	MinDays, MaxDays         int
	// Invoice numbering: the prefix and the number the next LEDES export gets.
	InvoicePrefix, NextInvoice string
}

func (s *Server) uiAdminSettings(c *fiber.Ctx) error {
	pg := page{Title: "Firm settings", Page: "admin", Nav: "settings"}
	if m := c.Query("ok"); m == "user-disabled" {
		n, _ := strconv.ParseInt(c.Query("tokens"), 10, 64)
		pg.Notice = "The user is disabled; their sessions were ended and " + plural(max(0, n), "API token") + " revoked."
	} else if m != "" {
		pg.Notice = noticeText(m)
	}
	f, err := s.settings.Firm(c.UserContext())
	if err != nil {
		return err
	}
	next, err := s.Store.PeekInvoiceNumber(c.UserContext())
	if err != nil {
		return err
	}
	d := settingsData{FirmName: f.Name, LEDESID: f.LEDESFirmID, Require: f.TwoFactorRoles(), InvoicePrefix: f.InvoicePrefix, NextInvoice: next,
		Timezone: s.Config.Firm.Timezone, Increment: s.Config.Draft.IncrementMinutes, Engine: s.Config.Draft.Engine, Model: s.Config.Trans.Model,
		RetentionDays: f.RetentionDays, AudioDays: f.AudioRetentionDays, AutoDelete: f.RetentionAutoDelete,
		MinDays: settings.MinRetentionDays, MaxDays: settings.MaxRetentionDays}
	if f.HasDefaultRate {
		d.Rate = fmt.Sprintf("%.2f", float64(f.DefaultRate)/100)
	}
	d.Target = fmt.Sprintf("%.1f", float64(f.DailyTargetTenths)/10)
	pg.D = d
	return s.render(c, 200, "settings", pg)
}

// uiAdminSaveSettings saves the settings form: every field is sent, so an empty one clears
// its setting.
func (s *Server) uiAdminSaveSettings(c *fiber.Ctx) error {
	p := me(c)
	name, ledes := c.FormValue("firm_name"), c.FormValue("ledes_law_firm_id")
	patch := settings.Patch{FirmName: &name, LEDESFirmID: &ledes}
	if c.Request().PostArgs().Has("invoice_prefix") {
		prefix := c.FormValue("invoice_prefix")
		patch.InvoicePrefix = &prefix
	}
	var err error
	if v := strings.TrimSpace(c.FormValue("invoice_next_number")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return settingsFailed(&settings.InvalidError{Field: "invoice_next_number", Message: "the next invoice number must be a whole number"})
		}
		patch.InvoiceNextNumber = &n
	}
	if patch.DefaultRate, err = settings.ParseRate(c.FormValue("default_rate")); err != nil {
		return settingsFailed(err)
	}
	patch.ClearDefaultRate = patch.DefaultRate == nil
	if patch.DailyTarget, err = settings.ParseTarget(c.FormValue("daily_target_hours")); err != nil {
		return settingsFailed(err)
	}
	patch.ClearDailyTarget = patch.DailyTarget == nil
	required := map[string]bool{}
	for _, r := range []string{store.RoleTimekeeper, store.RoleBilling, store.RoleAdmin} {
		required[r] = c.FormValue("require_2fa_"+r) == "on"
	}
	roles := settings.TwoFactorList(required)
	patch.Require2FA = &roles
	if patch.RetentionDays, err = settings.ParseDays("retention_days", c.FormValue("retention_days")); err != nil {
		return settingsFailed(err)
	}
	if patch.AudioRetentionDays, err = settings.ParseDays("audio_retention_days", c.FormValue("audio_retention_days")); err != nil {
		return settingsFailed(err)
	}
	auto := c.FormValue("retention_auto_delete") == "on"
	patch.RetentionAutoDelete = &auto
	if _, err := s.settings.Update(c.UserContext(), p.Actor, patch); err != nil {
		return settingsFailed(err)
	}
	return c.Redirect("/admin/settings?ok=settings-saved", fiber.StatusSeeOther)
}

// matterPageData is the matter page: the matter, its wall and its share links.
type matterPageData struct {
	*store.Matter
	Access *store.MatterAccess
	Shares []*store.Share
}

// matterPage adds the matter's wall and share links (a read failure leaves them out and
// is logged; the edit form must still work).
func (s *Server) matterPage(c *fiber.Ctx, m *store.Matter) matterPageData {
	d := matterPageData{Matter: m}
	var err error
	if d.Access, err = s.access.Wall(c.UserContext(), me(c).Actor, m.ID); err != nil {
		s.Log.Error("matter page: wall", "matter", m.ID, "err", err)
	}
	if d.Shares, err = s.access.Shares(c.UserContext(), me(c).Actor, m.ID); err != nil {
		s.Log.Error("matter page: share links", "matter", m.ID, "err", err)
	}
	return d
}
