package web

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// today is the firm's civil date.
func (s *Server) today() time.Time {
	loc, err := s.Config.Location()
	if err != nil {
		loc = time.UTC
	}
	n := s.Now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

func validDate(d string) bool {
	_, err := time.Parse("2006-01-02", d)
	return err == nil
}

func (s *Server) apiListEntries(c *fiber.Ctx) error {
	p := me(c)
	f := store.EntryFilter{Status: c.Query("status"), From: c.Query("from"), To: c.Query("to"), MatterID: c.Query("matter"), ViewerID: p.Actor.UserID}
	switch f.Status {
	case "", entry.Draft, entry.Approved, entry.Exported, entry.Synced, entry.Deleted:
	default:
		return errf(400, "bad_request", "status must be draft, approved, exported, synced or deleted")
	}
	for _, d := range []string{f.From, f.To} {
		if d != "" && !validDate(d) {
			return errf(400, "bad_request", "dates must be YYYY-MM-DD, got %q", d)
		}
	}
	if v := c.QueryInt("limit", 500); v > 0 {
		f.Limit = v
	}
	f.Offset = c.QueryInt("offset", 0)
	if f.Offset < 0 {
		return errf(400, "bad_request", "offset must not be negative")
	}
	var err error
	if f.UserID, err = s.entryOwner(c.UserContext(), p.Actor, c.Query("mine") == "1", c.Query("timekeeper")); err != nil {
		return err
	}
	list, err := s.Store.Entries(c.UserContext(), f)
	if err != nil {
		return err
	}
	tenths := 0
	for _, e := range list {
		tenths += e.Tenths
	}
	return c.JSON(fiber.Map{"entries": list, "count": len(list), "total_hours": float64(tenths) / 10})
}

// entryOwner is the store's owner filter (a user id; 0 = everyone) for a list of entries
// the actor asked for: entry.ListScope decides whose entries they may see.
func (s *Server) entryOwner(ctx context.Context, a identity.Actor, mine bool, timekeeper string) (int64, error) {
	o := entry.ListScope(a, mine, timekeeper)
	if o.Timekeeper == "" {
		return o.UserID, nil
	}
	u, err := s.Store.UserByName(ctx, o.Timekeeper)
	if err != nil {
		return 0, errf(400, "bad_request", "no timekeeper %q", o.Timekeeper)
	}
	return u.ID, nil
}

func (s *Server) apiGetEntry(c *fiber.Ctx) error {
	p := me(c)
	e, err := s.Store.EntryFor(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// entryFields is the JSON body of POST/PATCH /entries. Pointers tell absent from present;
// json.RawMessage tells null from a value for the nullable fields.
type entryFields struct {
	Matter    json.RawMessage `json:"matter"`
	Date      *string         `json:"date"`
	Hours     *float64        `json:"hours"`
	Activity  json.RawMessage `json:"activity"`
	Task      json.RawMessage `json:"task"`
	Narrative *string         `json:"narrative"`
	Billable  *bool           `json:"billable"`
}

// nullable decodes a JSON string-or-null; absent returns nil.
func nullable(name string, raw json.RawMessage) (*string, error) {
	if raw == nil {
		return nil, nil
	}
	if string(raw) == "null" {
		empty := ""
		return &empty, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errf(400, "bad_request", "%s must be a string or null", name)
	}
	v = strings.TrimSpace(v)
	return &v, nil
}

func (s *Server) patchFrom(b entryFields) (store.EntryPatch, error) {
	var p store.EntryPatch
	var err error
	if p.MatterID, err = nullable("matter", b.Matter); err != nil {
		return p, err
	}
	if p.Activity, err = nullable("activity", b.Activity); err != nil {
		return p, err
	}
	if p.Activity != nil {
		*p.Activity = strings.ToUpper(*p.Activity)
	}
	if p.Task, err = nullable("task", b.Task); err != nil {
		return p, err
	}
	if p.Task != nil {
		*p.Task = strings.ToUpper(*p.Task)
	}
	if b.Date != nil {
		if !validDate(*b.Date) {
			return p, errf(422, "invalid", "date must be YYYY-MM-DD, got %q", *b.Date)
		}
		p.Date = b.Date
	}
	if b.Hours != nil {
		t, err := entry.TenthsFromHours(*b.Hours, s.Config.Draft.IncrementMinutes)
		if err != nil {
			return p, err
		}
		p.Tenths = &t
	}
	p.Narrative, p.Billable = b.Narrative, b.Billable
	return p, nil
}

func (s *Server) apiCreateEntry(c *fiber.Ctx) error {
	p := me(c)
	var b entryFields
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	patch, err := s.patchFrom(b)
	if err != nil {
		return err
	}
	f := entry.Fields{Date: s.today().Format("2006-01-02"), Billable: true}
	if patch.Date != nil {
		f.Date = *patch.Date
	}
	if patch.MatterID != nil {
		f.MatterID = *patch.MatterID
	}
	if patch.Tenths != nil {
		f.Tenths = *patch.Tenths
	}
	if patch.Activity != nil {
		f.Activity = *patch.Activity
	}
	if patch.Task != nil {
		f.Task = *patch.Task
	}
	if patch.Narrative != nil {
		f.Narrative = strings.TrimSpace(*patch.Narrative)
	}
	if patch.Billable != nil {
		f.Billable = *patch.Billable
	}
	e, err := s.Store.CreateEntry(c.UserContext(), p.Actor, store.NewEntry{UserID: p.User.ID, Fields: f, Engine: "manual"})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}

func (s *Server) apiPatchEntry(c *fiber.Ctx) error {
	p := me(c)
	// Check visibility first so a stranger's id answers 404 before any body error.
	if _, err := s.Store.EntryFor(c.UserContext(), p.Actor, c.Params("id")); err != nil {
		return err
	}
	var b entryFields
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	patch, err := s.patchFrom(b)
	if err != nil {
		return err
	}
	// A corrected matter teaches the owner's drafts an alias (see dictation.EditEntry).
	e, learned, err := s.dictation.EditEntry(c.UserContext(), p.Actor, c.Params("id"), patch)
	if err != nil {
		return err
	}
	return c.JSON(struct {
		*store.Entry
		LearnedAlias *store.Alias `json:"learned_alias,omitempty"`
	}{e, learned})
}

func (s *Server) entryAction(c *fiber.Ctx, fn func(identity.Actor, string) (*store.Entry, error)) error {
	p := me(c)
	e, err := fn(p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	s.Events.Publish(p.User.ID, Event{Type: "entry", ID: e.ID, Status: e.Status})
	return c.JSON(e)
}

func (s *Server) apiApprove(c *fiber.Ctx) error {
	return s.entryAction(c, func(p identity.Actor, id string) (*store.Entry, error) {
		return s.Store.Approve(c.UserContext(), p, id, s.today())
	})
}

func (s *Server) apiReopen(c *fiber.Ctx) error {
	return s.entryAction(c, func(p identity.Actor, id string) (*store.Entry, error) {
		return s.Store.Reopen(c.UserContext(), p, id)
	})
}

func (s *Server) apiRestore(c *fiber.Ctx) error {
	return s.entryAction(c, func(p identity.Actor, id string) (*store.Entry, error) {
		return s.Store.RestoreEntry(c.UserContext(), p, id)
	})
}

func (s *Server) apiDeleteEntry(c *fiber.Ctx) error {
	return s.entryAction(c, func(p identity.Actor, id string) (*store.Entry, error) {
		return s.Store.DeleteEntry(c.UserContext(), p, id)
	})
}

// apiBulkApprove approves several drafts; each succeeds or fails on its own.
func (s *Server) apiBulkApprove(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		IDs []string `json:"ids"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if len(b.IDs) == 0 || len(b.IDs) > 500 {
		return errf(400, "bad_request", "ids must list 1 to 500 entry ids")
	}
	approved := []string{}
	failed := []fiber.Map{}
	for _, id := range b.IDs {
		if _, err := s.Store.Approve(c.UserContext(), p.Actor, id, s.today()); err != nil {
			ae := mapDomain(err)
			failed = append(failed, fiber.Map{"id": id, "code": ae.Code, "message": ae.Message})
			continue
		}
		approved = append(approved, id)
	}
	return c.JSON(fiber.Map{"approved": approved, "errors": failed})
}
