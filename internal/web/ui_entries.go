package web

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/entry"
	"dictum/internal/exports"
	"dictum/internal/store"
	"dictum/internal/utbms"
)

// code is one UTBMS code for a select.
type code struct{ Code, Name string }

func codes(set map[string]string) []code {
	out := []code{}
	for _, k := range utbms.Sorted(set) {
		out = append(out, code{k, set[k]})
	}
	return out
}

// matterOpt is a matter as the pages show it.
type matterOpt struct {
	ID, Label, Status string
}

func matterLabel(m *store.Matter) string {
	return m.Number + " — " + m.Name + " (" + m.Client + ")"
}

// matterIndex loads every matter (open and closed) for labels, and the open ones for pickers.
func (s *Server) matterIndex(ctx context.Context, userID int64) (map[string]*store.Matter, []matterOpt, []matterOpt, error) {
	list, err := s.Store.MattersFor(ctx, userID, "", "")
	if err != nil {
		return nil, nil, nil, err
	}
	byID := map[string]*store.Matter{}
	var open, all []matterOpt
	for _, m := range list {
		byID[m.ID] = m
		o := matterOpt{ID: m.ID, Label: matterLabel(m), Status: m.Status}
		all = append(all, o)
		if m.Status == "open" {
			open = append(open, o)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].Label < open[j].Label })
	sort.Slice(all, func(i, j int) bool { return all[i].Label < all[j].Label })
	return byID, open, all, nil
}

// entryView is an entry with what its card shows beside it.
type entryView struct {
	E           *store.Entry
	MatterLabel string
	MatterGone  bool // set but closed (drafts can keep it; the picker only offers open ones)
	Rec         *store.Recording
}

func (s *Server) viewEntry(ctx context.Context, p *caller, ip string, e *store.Entry, matters map[string]*store.Matter) entryView {
	v := entryView{E: e}
	if e.MatterID != nil {
		if m := matters[*e.MatterID]; m != nil {
			v.MatterLabel = matterLabel(m)
			v.MatterGone = m.Status != "open"
		} else {
			v.MatterLabel = *e.MatterID
		}
	}
	if e.RecordingID != nil {
		if r, err := s.Store.RecordingFor(ctx, p.Actor, *e.RecordingID); err == nil {
			v.Rec = r
		}
	}
	return v
}

// cardData is what one inbox card needs.
type cardData struct {
	V     entryView
	Acts  []code
	Tasks []code
}

type recordData struct {
	Recent      []*store.Recording
	MaxUploadMB int64
	MaxMinutes  int
	MaxSeconds  int
}

func (s *Server) uiRecord(c *fiber.Ctx) error {
	p := me(c)
	recent, err := s.Store.Recordings(c.UserContext(), p.User.ID, 8)
	if err != nil {
		return err
	}
	return s.render(c, 200, "record", page{Title: "Record", Page: "record", Nav: "record", D: recordData{
		Recent: recent, MaxUploadMB: s.Config.Limits.MaxUploadMB, MaxMinutes: int(s.Config.Limits.MaxAudio.Duration / time.Minute),
		MaxSeconds: int(s.Config.Limits.MaxAudio.Duration / time.Second)}})
}

type inboxData struct {
	Working []*store.Recording
	Cards   []cardData
	Open    []matterOpt
	Acts    []code
	Tasks   []code
	Today   string
	Total   float64
}

func (s *Server) uiInbox(c *fiber.Ctx) error {
	p := me(c)
	ctx := c.UserContext()
	matters, open, _, err := s.matterIndex(ctx, p.Actor.UserID)
	if err != nil {
		return err
	}
	// The inbox holds the caller's own drafts, whatever their role.
	drafts, err := s.Store.Entries(ctx, store.EntryFilter{UserID: entry.ListScope(p.Actor, true, "").UserID, Status: entry.Draft, Limit: 300, ViewerID: p.Actor.UserID})
	if err != nil {
		return err
	}
	d := inboxData{Open: open, Today: s.today().Format("2006-01-02")}
	d.Acts, d.Tasks = s.entryCodes(ctx)
	for _, e := range drafts {
		d.Cards = append(d.Cards, cardData{V: s.viewEntry(ctx, p, c.IP(), e, matters), Acts: d.Acts, Tasks: d.Tasks})
		d.Total += e.Hours
	}
	recs, err := s.Store.Recordings(ctx, p.User.ID, 50)
	if err != nil {
		return err
	}
	weekAgo := s.Now().Add(-7 * 24 * time.Hour)
	for _, r := range recs {
		switch r.Status {
		case store.RecQueued, store.RecTranscribing, store.RecDrafting:
			d.Working = append(d.Working, r)
		case store.RecFailed:
			if t, err := time.Parse(time.RFC3339Nano, r.CreatedAt); err == nil && t.After(weekAgo) {
				d.Working = append(d.Working, r)
			}
		}
	}
	return s.render(c, 200, "inbox", page{Title: "Inbox", Page: "inbox", Nav: "inbox", D: d})
}

// uiInboxCard renders one draft's card, for the page script to insert when a draft arrives.
func (s *Server) uiInboxCard(c *fiber.Ctx) error {
	p := me(c)
	ctx := c.UserContext()
	e, err := s.Store.EntryFor(ctx, p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	if e.UserID != p.User.ID {
		return errf(404, "not_found", "not found")
	}
	matters, _, _, err := s.matterIndex(ctx, p.Actor.UserID)
	if err != nil {
		return err
	}
	acts, tasks := s.entryCodes(ctx)
	return s.renderFragment(c, "inbox", "card", cardData{V: s.viewEntry(ctx, p, c.IP(), e, matters), Acts: acts, Tasks: tasks})
}

// listFilter is the filter form of the approved and billing lists.
type listFilter struct {
	Status, From, To, Matter, Timekeeper string
}

type listRow struct {
	E           *store.Entry
	MatterLabel string
}

type tkTotal struct {
	Name  string
	Hours float64
	Count int
}

type listData struct {
	F           listFilter
	Rows        []listRow
	Total       float64
	Billable    float64
	Matters     []matterOpt
	Timekeepers []*store.User
	ByTK        []tkTotal
	ExportURL   string // CSV preview of the filtered entries
	LEDESURL    string // LEDES preview (needs one matter and a period)
	CanMark     bool   // the list is approved entries: they can be exported and locked
	Statuses    []code
	Billing     bool
	// LEDES is the pre-export check of the LEDES invoice the filters name (billing page).
	LEDES *exports.LEDESCheck
}

func (s *Server) listEntries(c *fiber.Ctx, p *caller, billing bool) (listData, error) {
	ctx := c.UserContext()
	f := listFilter{Status: c.Query("status", entry.Approved), From: c.Query("from"), To: c.Query("to"), Matter: c.Query("matter"), Timekeeper: c.Query("timekeeper")}
	d := listData{F: f, Billing: billing}
	var statuses []string
	switch f.Status {
	case entry.Approved, entry.Exported, entry.Synced:
		statuses = []string{f.Status}
	case "done":
		statuses = []string{entry.Approved, entry.Exported, entry.Synced}
	case entry.Draft:
		if !billing {
			return d, errf(400, "bad_request", "drafts are in the inbox")
		}
		statuses = []string{entry.Draft}
	default:
		return d, errf(400, "bad_request", "unknown status %q", f.Status)
	}
	for _, v := range []string{f.From, f.To} {
		if v != "" && !validDate(v) {
			return d, errf(400, "bad_request", "dates must be YYYY-MM-DD, got %q", v)
		}
	}
	d.Statuses = []code{{entry.Approved, "Approved (not yet exported)"}, {entry.Exported, "Exported"}, {entry.Synced, "Synced to Clio"}, {"done", "All approved, exported and synced"}}
	if billing {
		d.Statuses = append(d.Statuses, code{entry.Draft, "Drafts (not yet approved)"})
	}
	matters, _, all, err := s.matterIndex(ctx, p.Actor.UserID)
	if err != nil {
		return d, err
	}
	d.Matters = all
	base := store.EntryFilter{From: f.From, To: f.To, MatterID: f.Matter, Limit: 2000, ViewerID: p.Actor.UserID}
	// The approved page lists the caller's own entries; the billing page everyone's.
	if base.UserID, err = s.entryOwner(ctx, p.Actor, !billing, f.Timekeeper); err != nil {
		return d, err
	}
	if billing {
		if d.Timekeepers, err = s.Store.Users(ctx); err != nil {
			return d, err
		}
	}
	var list []*store.Entry
	for _, st := range statuses {
		ff := base
		ff.Status = st
		part, err := s.Store.Entries(ctx, ff)
		if err != nil {
			return d, err
		}
		list = append(list, part...)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Date != list[j].Date {
			return list[i].Date > list[j].Date
		}
		return list[i].CreatedAt > list[j].CreatedAt
	})
	tks := map[string]*tkTotal{}
	var tenths, billTenths int
	for _, e := range list {
		r := listRow{E: e}
		if e.MatterID != nil {
			if m := matters[*e.MatterID]; m != nil {
				r.MatterLabel = matterLabel(m)
			}
		}
		d.Rows = append(d.Rows, r)
		tenths += e.Tenths
		if e.Billable {
			billTenths += e.Tenths
		}
		t := tks[e.Timekeeper]
		if t == nil {
			t = &tkTotal{Name: e.Timekeeper}
			tks[e.Timekeeper] = t
		}
		t.Hours += e.Hours
		t.Count++
	}
	d.Total, d.Billable = float64(tenths)/10, float64(billTenths)/10
	for _, t := range tks {
		d.ByTK = append(d.ByTK, *t)
	}
	sort.Slice(d.ByTK, func(i, j int) bool { return d.ByTK[i].Name < d.ByTK[j].Name })
	if billing && f.Status != entry.Draft {
		q := url.Values{}
		for k, v := range map[string]string{"status": f.Status, "from": f.From, "to": f.To, "matter": f.Matter, "timekeeper": f.Timekeeper} {
			if k == "status" && v == "done" {
				v = "all"
			}
			if v != "" && !(k == "status" && v == entry.Approved) {
				q.Set(k, v)
			}
		}
		enc := q.Encode()
		if enc != "" {
			enc = "?" + enc
		}
		d.ExportURL = "/api/v1/exports/entries.csv" + enc
		d.LEDESURL = "/api/v1/exports/entries.ledes" + enc
		d.CanMark = f.Status == entry.Approved && len(d.Rows) > 0
	}
	return d, nil
}

func (s *Server) uiApproved(c *fiber.Ctx) error {
	p := me(c)
	d, err := s.listEntries(c, p, false)
	if err != nil {
		return err
	}
	return s.render(c, 200, "entries", page{Title: "Approved time", Page: "entries", Nav: "approved", D: d})
}

func (s *Server) uiBilling(c *fiber.Ctx) error {
	p := me(c)
	d, err := s.listEntries(c, p, true)
	if err != nil {
		return err
	}
	if d.F.Status == entry.Approved {
		d.LEDES = s.ledesCheckFor(c, d.F.Matter, d.F.From, d.F.To, d.F.Timekeeper)
	}
	return s.render(c, 200, "entries", page{Title: "Billing", Page: "entries", Nav: "billing", D: d})
}

type accountData struct {
	Must    bool
	MinLen  int
	Display string
	Tokens  tokensData
	// the aliases section (aliasesFor)
	Aliases []*store.Alias
	Matters []*store.Matter // open matters an alias may point at
	Admin   bool            // may add firm aliases
}

func (s *Server) uiAccount(c *fiber.Ctx) error {
	p := me(c)
	td, err := s.tokensData(c, p)
	if err != nil {
		return err
	}
	pg := page{Title: "Your account", Page: "account", Nav: "account", D: s.aliasesFor(c, accountData{Must: p.User.MustChangePassword, MinLen: s.Config.Auth.MinPassword, Tokens: td})}
	switch {
	case c.Query("changed") == "1":
		n, _ := strconv.ParseInt(c.Query("tokens"), 10, 64)
		pg.Notice = "Your password is changed. Other sessions were logged out and " + plural(max(0, n), "API token") + " revoked."
	case c.Query("ok") == "token-revoked":
		pg.Notice = "The API token is revoked."
	}
	return s.render(c, 200, "account", pg)
}

// uiChangePassword lets any user change their own password (the current one is required).
func (s *Server) uiChangePassword(c *fiber.Ctx) error {
	p := me(c)
	if p.Session == nil {
		return errf(403, "forbidden", "log in with a password to change it")
	}
	cur, next, again := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	status := 422
	fail := func(msg string) error {
		td, err := s.tokensData(c, p)
		if err != nil {
			return err
		}
		return s.render(c, status, "account", page{Title: "Your account", Page: "account", Nav: "account", Problem: msg,
			D: s.aliasesFor(c, accountData{Must: p.User.MustChangePassword, MinLen: s.Config.Auth.MinPassword, Tokens: td})})
	}
	// Under the login backoff: a stolen session cannot guess the password here.
	if err := s.reauth(c, p, cur); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == 429 {
			status = 429
			return fail("Too many wrong passwords. Wait a moment, then try again (" + ae.Message + ").")
		}
		return fail("The current password is wrong.")
	}
	if next != again {
		return fail("The two new passwords differ.")
	}
	if next == cur {
		return fail("Choose a password different from the current one.")
	}
	if err := auth.CheckPassword(next, s.Config.Auth.MinPassword); err != nil {
		return fail(strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + ".")
	}
	h, err := auth.Hash(next, s.hashParam)
	if err != nil {
		return err
	}
	mc := false
	u, r, err := s.Store.ChangeUser(c.UserContext(), p.Actor, p.User.Username, store.UserPatch{PasswordHash: &h, MustChange: &mc})
	if err != nil {
		return err
	}
	// The store ended every session of this user and revoked their API tokens; start a
	// fresh session for this browser (it gave the password, and its second factor at
	// login if it had one).
	if _, err := s.startSession(c, u, p.Session.TwoFA); err != nil {
		return err
	}
	return c.Redirect("/account?changed=1&tokens="+strconv.FormatInt(r.Tokens, 10), fiber.StatusSeeOther)
}
