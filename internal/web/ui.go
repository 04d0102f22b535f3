package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/assets"
	"dictum/internal/auth"
	"dictum/internal/store"
)

// ui holds the parsed templates and the static file index. Both derive only from the
// embedded assets, so they are built once per process and shared read-only.
type ui struct {
	static *assets.Static
	pages  map[string]*template.Template
}

var (
	uiOnce sync.Once
	uiKit  *ui
	uiErr  error
)

func loadUI() (*ui, error) {
	uiOnce.Do(func() {
		st, err := assets.LoadStatic()
		if err != nil {
			uiErr = err
			return
		}
		k := &ui{static: st, pages: map[string]*template.Template{}}
		funcs := template.FuncMap{
			"asset":      st.URL,
			"hours":      func(h float64) string { return fmt.Sprintf("%.1f", h) },
			"deref":      func(p *string) string { return derefStr(p) },
			"statusText": statusText,
			"pct":        func(p int) int { return max(0, min(100, p)) },
			"eqs":        func(a *string, b string) bool { return a != nil && *a == b },
			"upper":      strings.ToUpper,
			"divms":      func(ms int64) float64 { return float64(ms) / 1000 },
			"percent":    func(f *float64) float64 { return *f * 100 },
			"roles":      func() []string { return []string{store.RoleTimekeeper, store.RoleBilling, store.RoleAdmin} },
			"list":       func(v ...string) []string { return v },
			"clients":    clientNames,
			"when":       when,
			"sumf":       func(a, b float64) float64 { return a + b },
		}
		tfs := assets.Templates()
		base, err := template.New("base").Funcs(funcs).ParseFS(tfs, "_*.html")
		if err != nil {
			uiErr = err
			return
		}
		names, err := fs.Glob(tfs, "[a-z]*.html")
		if err != nil {
			uiErr = err
			return
		}
		for _, n := range names {
			t, err := base.Clone()
			if err == nil {
				t, err = t.ParseFS(tfs, n)
			}
			if err != nil {
				uiErr = fmt.Errorf("template %s: %w", n, err)
				return
			}
			k.pages[strings.TrimSuffix(n, ".html")] = t
		}
		uiKit = k
	})
	return uiKit, uiErr
}

// when shows a stored RFC 3339 timestamp as a short local time ("Mon 23 Nov 16:30").
func when(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.Local().Format("Mon 2 Jan 15:04")
}

// clientNames lists the distinct clients of some matters, sorted.
func clientNames(ms []*store.Matter) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if !seen[m.Client] {
			seen[m.Client] = true
			out = append(out, m.Client)
		}
	}
	sort.Strings(out)
	return out
}

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// statusText is what a recording or entry status means to a lawyer.
func statusText(s string) string {
	switch s {
	case store.RecQueued:
		return "Queued"
	case store.RecTranscribing:
		return "Transcribing"
	case store.RecDrafting:
		return "Drafting"
	case store.RecDone:
		return "Ready"
	case store.RecFailed:
		return "Failed"
	case "draft":
		return "Draft"
	case "approved":
		return "Approved"
	case "exported":
		return "Exported"
	case "synced":
		return "Synced to Clio"
	case "deleted":
		return "Deleted"
	}
	return s
}

// page is the data every template gets.
type page struct {
	Title   string
	Page    string // body data-page: which script part runs
	Nav     string // the active header link
	User    *store.User
	CSRF    string
	Firm    string
	Notice  string // a success message
	Problem string // an error message
	D       any    // page-specific data
}

func (p page) IsAdmin() bool { return p.User != nil && p.User.Role == store.RoleAdmin }
func (p page) IsBilling() bool {
	return p.User != nil && (p.User.Role == store.RoleBilling || p.User.Role == store.RoleAdmin)
}

// errLoginRedirect marks a page request by an anonymous caller; renderError turns it into
// a redirect to /login.
var errLoginRedirect = &apiError{Status: 401, Code: "login", Message: "log in first"}

// render writes a full page.
func (s *Server) render(c *fiber.Ctx, status int, name string, pg page) error {
	k, err := loadUI()
	if err != nil {
		return err
	}
	t := k.pages[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	if p, _ := c.Locals("p").(*caller); p != nil && pg.User == nil {
		pg.User = p.User
		if p.Session != nil {
			pg.CSRF = p.Session.CSRF
		}
	}
	if pg.Firm == "" {
		pg.Firm = s.firmName(c)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", pg); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// renderFragment writes one named template (no layout), for pieces the page script inserts.
func (s *Server) renderFragment(c *fiber.Ctx, page, name string, data any) error {
	k, err := loadUI()
	if err != nil {
		return err
	}
	t := k.pages[page]
	if t == nil {
		return fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

func (s *Server) firmName(c *fiber.Ctx) string {
	if v, err := s.settings.FirmName(c.UserContext()); err == nil && v != "" {
		return v
	}
	return s.Config.Firm.Name
}

// renderError shows an error page to a browser (anonymous page requests go to /login).
func (s *Server) renderError(c *fiber.Ctx, ae *apiError) error {
	if ae.Status == 401 && c.Method() == fiber.MethodGet {
		return c.Redirect("/login?next="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
	}
	title := "Something went wrong"
	switch ae.Status {
	case 401:
		title = "Please log in"
	case 403:
		title = "Not allowed"
	case 404:
		title = "Not found"
	case 413:
		title = "Too large"
	}
	msg := ae.Message
	if ae.Status == 404 && msg == "Cannot "+c.Method()+" "+c.Path() {
		msg = "There is no page at " + c.Path() + "."
	}
	if ae.Code == "csrf" {
		msg = "The form was stale (your session changed). Go back, reload the page and try again."
	}
	// Never let a broken template hide the original error.
	if err := s.render(c, ae.Status, "error", page{Title: title, Page: "error", D: struct {
		Status  int
		Message string
	}{ae.Status, msg}}); err != nil {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(ae.Status).SendString(ae.Message)
	}
	return nil
}

// uiStatic serves embedded static files at content-hashed URLs with a one-year cache.
func (s *Server) uiStatic(c *fiber.Ctx) error {
	k, err := loadUI()
	if err != nil {
		return err
	}
	f := k.static.Get(c.Params("*"))
	if f == nil {
		return fiber.ErrNotFound
	}
	if c.Params("hash") != f.Hash {
		// An old page asking for an old version: send it to the current one (not cached).
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Redirect(f.URL(), fiber.StatusFound)
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderETag, `"`+f.Hash+`"`)
	if c.Get(fiber.HeaderIfNoneMatch) == `"`+f.Hash+`"` {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(f.Data)
}

// sameOrigin refuses form posts that a browser marks as cross-site (login CSRF and friends;
// logged-in posts are also covered by the CSRF token).
func sameOrigin(c *fiber.Ctx) error {
	if sfs := c.Get("Sec-Fetch-Site"); sfs == "cross-site" || sfs == "same-site" {
		return errf(403, "forbidden", "cross-site form posts are refused")
	}
	if o := c.Get(fiber.HeaderOrigin); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != string(c.Request().Host()) {
			return errf(403, "forbidden", "cross-origin form posts are refused")
		}
	}
	return nil
}

// safeNext keeps a post-login redirect on this site.
func safeNext(n string) string {
	if n == "" || !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") ||
		strings.HasPrefix(n, "/api/") || strings.HasPrefix(n, "/login") {
		return ""
	}
	// Browsers drop tabs and newlines and read "\" as "/" in URLs: "/\t/evil" is "//evil".
	for _, r := range n {
		if r < 0x20 || r == 0x7f || r == '\\' || r == ' ' {
			return ""
		}
	}
	return n
}

func homeFor(u *store.User) string {
	if u.Role == store.RoleBilling {
		return "/billing"
	}
	return "/record"
}

type loginData struct {
	Username string
	Next     string
	NeedCode bool
	// Directory: sign-in is with the firm's network (AD/LDAP) account.
	Directory bool
}

// splitCode tells a 6-digit TOTP code from a recovery code typed into the same field.
func splitCode(v string) (otp, recovery string) {
	v = strings.ReplaceAll(strings.TrimSpace(v), " ", "")
	if v == "" {
		return "", ""
	}
	if len(v) == 6 && strings.Trim(v, "0123456789") == "" {
		return v, ""
	}
	return "", v
}

func (s *Server) uiLoginPage(c *fiber.Ctx) error {
	if p, _ := c.Locals("p").(*caller); p != nil {
		if n := safeNext(c.Query("next")); n != "" {
			return c.Redirect(n, fiber.StatusSeeOther)
		}
		return c.Redirect(homeFor(p.User), fiber.StatusSeeOther)
	}
	pg := page{Title: "Log in", Page: "login", D: loginData{Next: safeNext(c.Query("next")), Directory: s.directory.Enabled()}}
	if c.Query("bye") == "1" {
		pg.Notice = "You are logged out."
	}
	return s.render(c, 200, "login", pg)
}

func (s *Server) uiLogin(c *fiber.Ctx) error {
	if err := sameOrigin(c); err != nil {
		return err
	}
	user, pass := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	d := loginData{Next: safeNext(c.FormValue("next")), Directory: s.directory.Enabled()}
	if auth.ValidUsername(user) {
		d.Username = user // a malformed name is not echoed back
	}
	problem := func(status int, msg string) error {
		return s.render(c, status, "login", page{Title: "Log in", Page: "login", Problem: msg, D: d})
	}
	// The form is under the API's limits: the anonymous per-IP request rate here, the
	// per-account and per-IP login backoff and the second-factor lockout in authenticate.
	if ok, retry := s.limiter.allowAPI("ip:" + c.IP()); !ok {
		err := tooMany(c, retry)
		return problem(429, "Too many requests from this computer. Wait a moment, then try again ("+err.(*apiError).Message+").")
	}
	if user == "" || pass == "" {
		return problem(400, "Enter your username and password.")
	}
	// A user with 2FA on also needs a code (or a recovery code) from the same form.
	otp, recovery := splitCode(c.FormValue("code"))
	u, twoFA, err := s.authenticate(c, credentials{Username: user, Password: pass, OTP: otp, RecoveryCode: recovery})
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			return err
		}
		msg := ae.Message
		switch {
		case ae.Code == "bad_credentials":
			msg = "Wrong username or password."
		case ae.Code == "bad_username":
			msg = "That is not a valid username: " + auth.UsernameRule + "."
		case ae.Code == "otp_required":
			d.NeedCode = true
			msg = "Your account uses two-factor authentication: enter your password again and the 6-digit code from your authenticator app."
		case ae.Code == "bad_otp":
			d.NeedCode = true
			msg = "That code is wrong or was already used. Enter your password and the current code again."
		case ae.Code == "2fa_locked":
			d.NeedCode = true
			msg = "Too many wrong codes: code entry for this account is locked. Try again later (Retry-After: " + string(c.Response().Header.Peek(fiber.HeaderRetryAfter)) +
				" s), or ask an administrator to reset your two-factor authentication."
		case ae.Status == 429:
			msg = "Too many failed attempts. Wait a moment, then try again (" + ae.Message + ")."
		}
		return problem(ae.Status, msg)
	}
	if _, err := s.startSession(c, u, twoFA); err != nil {
		return err
	}
	next := d.Next
	if u.MustChangePassword {
		next = "/account?must=1"
	}
	if next == "" {
		next = homeFor(u)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (s *Server) uiLogout(c *fiber.Ctx) error {
	// authn has checked the CSRF token of this post.
	if err := s.endSession(c, me(c)); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.Redirect("/login?bye=1", fiber.StatusSeeOther)
}

func (s *Server) uiHome(c *fiber.Ctx) error {
	p := me(c)
	return c.Redirect(homeFor(p.User), fiber.StatusSeeOther)
}
