package web

import (
	"bufio"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/lifecycle"
	"dictum/internal/store"
)

// The audit trail for auditors: admins only (least privilege: the log names every user,
// login, IP address and setting change; billing needs none of that to bill). Filters per
// user, matter, action and date range; dates are civil dates in the firm's time zone.

// auditFilter reads the auditors' filters from the query string.
func (s *Server) auditFilter(c *fiber.Ctx) (store.AuditFilter, error) {
	f := store.AuditFilter{User: c.Query("user"), Matter: c.Query("matter"), Action: c.Query("action"),
		ObjectType: c.Query("object_type"), ObjectID: c.Query("object_id"), Limit: c.QueryInt("limit", 100), ViewerID: me(c).Actor.UserID}
	if f.ObjectID != "" && f.ObjectType == "" {
		return f, errf(400, "bad_request", "object_id needs object_type")
	}
	loc, err := s.Config.Location()
	if err != nil {
		loc = time.UTC
	}
	day := func(name string) (time.Time, error) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return time.Time{}, errf(400, "bad_request", "%s must be a date YYYY-MM-DD (or an RFC 3339 time), got %q", name, v)
		}
		return t, nil
	}
	if f.From, err = day("from"); err != nil {
		return f, err
	}
	if f.To, err = day("to"); err != nil {
		return f, err
	}
	if v := c.Query("to"); len(v) == len("2006-01-02") && !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // "to" is inclusive: up to the end of that day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, errf(400, "bad_request", "to is before from")
	}
	if v := c.Query("before"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, errf(400, "bad_request", "before must be an event id")
		}
	}
	return f, nil
}

// auditEvent is an event as the trail shows it, with an entry edit's field-level diff.
type auditEvent struct {
	store.Event
	Changes []store.Change `json:"changes,omitempty"`
}

// auditPage is one page of the filtered trail; NextBefore pages on (0: no more).
func (s *Server) auditPage(c *fiber.Ctx, f store.AuditFilter) ([]auditEvent, int64, error) {
	evs, err := s.Store.AuditQuery(c.UserContext(), f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]auditEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, auditEvent{Event: e, Changes: e.Changes()})
	}
	var next int64
	if len(evs) > 0 && len(evs) == min(max(f.Limit, 1), 1000) {
		next = evs[len(evs)-1].ID
	}
	return out, next, nil
}

// apiAudit lists the filtered audit trail, newest first, a page at a time
// (?before=<next_before> for the next page).
func (s *Server) apiAudit(c *fiber.Ctx) error {
	f, err := s.auditFilter(c)
	if err != nil {
		return err
	}
	evs, next, err := s.auditPage(c, f)
	if err != nil {
		return err
	}
	m := fiber.Map{"events": evs, "next_before": nil}
	if next > 0 {
		m["next_before"] = next
	}
	return c.JSON(m)
}

// apiAuditCSV downloads the whole filtered view as CSV (injection-safe), newest first.
// The download itself is audited with its filters.
func (s *Server) apiAuditCSV(c *fiber.Ctx) error {
	p := me(c)
	f, err := s.auditFilter(c)
	if err != nil {
		return err
	}
	f.Limit, f.BeforeID = 0, 0
	q := map[string]any{}
	for _, k := range []string{"user", "matter", "action", "from", "to", "object_type", "object_id"} {
		if v := c.Query(k); v != "" {
			q[k] = v
		}
	}
	if err := s.Store.Audit(c.UserContext(), p.Actor, "audit.export", "audit", "csv", map[string]any{"filter": q}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="dictum-audit-`+s.Now().UTC().Format("2006-01-02")+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	ctx := c.UserContext()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		_, err := lifecycle.AuditCSV(w, func(fn func(store.Event) error) error { return s.Store.EachAudit(ctx, f, fn) })
		if err != nil {
			s.Log.Error("audit csv stream", "err", err.Error())
		}
	})
	return nil
}

// ---- the admin page -----------------------------------------------------------

type auditData struct {
	Q       map[string]string // the filters as given
	Events  []auditEvent
	Next    template.URL // query string of the next page ("" = last page); url.Values-encoded
	CSV     template.URL // query string of the CSV download; url.Values-encoded
	Actions []string
	Users   []*store.User
}

func (s *Server) uiAudit(c *fiber.Ctx) error {
	d := auditData{Q: map[string]string{}}
	keep := url.Values{}
	for _, k := range []string{"user", "matter", "action", "from", "to"} {
		if v := c.Query(k); v != "" {
			d.Q[k] = v
			keep.Set(k, v)
		}
	}
	d.CSV = template.URL(keep.Encode())
	pg := page{Title: "Audit trail", Page: "admin", Nav: "audit"}
	f, err := s.auditFilter(c)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			pg.Problem = ae.Message
			f = store.AuditFilter{Limit: 100, ViewerID: me(c).Actor.UserID}
		} else {
			return err
		}
	}
	f.Limit = 100
	if pg.Problem == "" {
		evs, next, err := s.auditPage(c, f)
		if err != nil {
			return err
		}
		d.Events = evs
		if next > 0 {
			nq := url.Values{}
			for k, v := range keep {
				nq[k] = v
			}
			nq.Set("before", strconv.FormatInt(next, 10))
			d.Next = template.URL(nq.Encode())
		}
	}
	if d.Actions, err = s.Store.AuditActions(c.UserContext()); err != nil {
		return err
	}
	if d.Users, err = s.Store.Users(c.UserContext()); err != nil {
		return err
	}
	pg.D = d
	return s.render(c, 200, "audit", pg)
}
