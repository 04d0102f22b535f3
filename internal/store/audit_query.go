package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// AuditFilter selects audit events for the auditors' view, its CSV download and archives.
// Zero fields select everything.
type AuditFilter struct {
	// User selects events the user did (actor) or that concern the user's own objects:
	// their account, entries, recordings and API tokens.
	User string
	// Matter selects events on the matter, its entries, the recordings behind them and
	// the kept exports that contain any of them.
	Matter string
	// Action is an exact action ("entry.update") or a prefix ending in "." or "*"
	// ("entry." and "entry.*" both select every entry action).
	Action string
	// From and To bound the event time: From <= at < To (zero = open).
	From, To time.Time
	// ObjectType and ObjectID select the events of one object (ObjectID needs ObjectType).
	ObjectType, ObjectID string
	// Scope restricts the events to an archive scope (see ArchiveScope.auditCond).
	Scope *ArchiveScope
	// BeforeID pages backwards (newest first): only events with id < BeforeID.
	BeforeID int64
	// MaxID bounds the events to the chain up to this id (an archive's anchor).
	MaxID int64
	// Ascending lists oldest first (archives); the default is newest first.
	Ascending bool
	// ViewerID is who reads: events on matters walled off from them (and on their
	// entries and share links) are left out (0: Dictum itself or the CLI).
	ViewerID int64
	// Limit caps a page (AuditQuery: default 100, at most 1000; EachAudit: 0 = no cap).
	Limit int
}

// ownerOfEvent is the username owning an event's object, for the object types a user
// owns (NULL for every other type): the account itself, an entry, a recording, a token.
const ownerOfEvent = `(CASE a.object_type
	WHEN 'user' THEN a.object_id
	WHEN 'entry' THEN (SELECT u.username FROM entries e JOIN users u ON u.id = e.user_id WHERE e.id = a.object_id)
	WHEN 'recording' THEN (SELECT u.username FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.id = a.object_id)
	WHEN 'token' THEN (SELECT u.username FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE CAST(t.id AS TEXT) = a.object_id)
	END)`

// auditTime is the comparable form of an event time: stored times are RFC 3339 UTC with
// a variable fraction, so they are compared on their first 19 characters (to the second).
const auditTime = "substr(a.at, 1, 19)"

func auditBound(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func (f AuditFilter) where() (string, []any) {
	vc, args := auditVisible(f.ViewerID)
	w := []string{vc}
	if f.User != "" {
		w = append(w, "(a.actor = ? COLLATE NOCASE OR "+ownerOfEvent+" = ? COLLATE NOCASE)")
		args = append(args, f.User, f.User)
	}
	if f.Matter != "" {
		w = append(w, `((a.object_type = 'matter' AND a.object_id = ?)
			OR (a.object_type = 'entry' AND a.object_id IN (SELECT id FROM entries WHERE matter_id = ?))
			OR (a.object_type = 'recording' AND a.object_id IN (SELECT recording_id FROM entries WHERE matter_id = ? AND recording_id IS NOT NULL))
			OR (a.object_type = 'export' AND a.object_id IN (SELECT x.id FROM exports x WHERE EXISTS
				(SELECT 1 FROM json_each(x.entry_ids) j JOIN entries e ON e.id = j.value WHERE e.matter_id = ?))))`)
		args = append(args, f.Matter, f.Matter, f.Matter, f.Matter)
	}
	if a := f.Action; a != "" {
		if p, ok := strings.CutSuffix(a, "*"); ok || strings.HasSuffix(a, ".") {
			if !ok {
				p = a
			}
			w = append(w, `a.action LIKE ? ESCAPE '\'`)
			args = append(args, likeEscape(p)+"%")
		} else {
			w = append(w, "a.action = ?")
			args = append(args, a)
		}
	}
	if !f.From.IsZero() {
		w = append(w, auditTime+" >= ?")
		args = append(args, auditBound(f.From))
	}
	if !f.To.IsZero() {
		w = append(w, auditTime+" < ?")
		args = append(args, auditBound(f.To))
	}
	if f.ObjectType != "" {
		w = append(w, "a.object_type = ?")
		args = append(args, f.ObjectType)
		if f.ObjectID != "" {
			w = append(w, "a.object_id = ?")
			args = append(args, f.ObjectID)
		}
	}
	if f.Scope != nil {
		c, a := f.Scope.auditCond()
		w = append(w, c)
		args = append(args, a...)
	}
	if f.BeforeID > 0 {
		w = append(w, "a.id < ?")
		args = append(args, f.BeforeID)
	}
	if f.MaxID > 0 {
		w = append(w, "a.id <= ?")
		args = append(args, f.MaxID)
	}
	return strings.Join(w, " AND "), args
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (f AuditFilter) query(limit int) (string, []any) {
	where, args := f.where()
	q := "SELECT a.id, a.at, a.actor, a.action, a.object_type, a.object_id, a.detail, a.ip FROM audit_events a WHERE " + where
	if f.Ascending {
		q += " ORDER BY a.id ASC"
	} else {
		q += " ORDER BY a.id DESC"
	}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return q, args
}

func scanEvent(r *sql.Rows) (Event, error) {
	var e Event
	var d string
	if err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &d, &e.IP); err != nil {
		return Event{}, fmt.Errorf("read audit event: %w", err)
	}
	_ = json.Unmarshal([]byte(d), &e.Detail)
	return e, nil
}

// AuditQuery returns one page of the events a filter selects (newest first unless
// Ascending). Page on with BeforeID = the last event's id.
func (s *Store) AuditQuery(ctx context.Context, f AuditFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q, args := f.query(limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	return collect(rows, err, "query audit", scanEvent)
}

// EachAudit streams every event a filter selects to fn, in constant memory (CSV downloads
// and archives); fn's error stops the walk and is returned.
func (s *Store) EachAudit(ctx context.Context, f AuditFilter, fn func(Event) error) error {
	q, args := f.query(f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query audit: %w", err)
	}
	return nil
}

// AuditActions lists the distinct actions in the log (the auditors' action filter).
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT action FROM audit_events ORDER BY action")
	return collect(rows, err, "list audit actions", func(r *sql.Rows) (string, error) {
		var a string
		return a, r.Scan(&a)
	})
}

// Change is one field of an entry edit as the audit log recorded it.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Changes returns the field-level diff of an entry edit ({"diff": {field: {from, to}}} in
// the detail), sorted by field; nil for other events. The narrative is recorded by its
// length only, and is shown as such.
func (e Event) Changes() []Change {
	d, _ := e.Detail["diff"].(map[string]any)
	if len(d) == 0 {
		return nil
	}
	out := make([]Change, 0, len(d))
	for field, v := range d {
		m, _ := v.(map[string]any)
		c := Change{Field: field}
		if _, ok := m["from_chars"]; ok {
			c.From, c.To = fmt.Sprintf("(%v characters)", m["from_chars"]), fmt.Sprintf("(%v characters)", m["to_chars"])
		} else {
			c.From, c.To = diffValue(m["from"]), diffValue(m["to"])
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func diffValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprint(v)
}

// ChangesText is Changes as one line: "hours: 0.3 -> 0.5; matter: m1 -> m2".
func (e Event) ChangesText() string {
	var parts []string
	for _, c := range e.Changes() {
		parts = append(parts, fmt.Sprintf("%s: %q -> %q", c.Field, c.From, c.To))
	}
	return strings.Join(parts, "; ")
}
