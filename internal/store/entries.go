package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

// Entry is a time entry.
type Entry struct {
	ID          string   `json:"id"`
	UserID      int64    `json:"-"`
	Timekeeper  string   `json:"timekeeper"`
	RecordingID *string  `json:"recording_id"`
	Span        *string  `json:"span,omitempty"` // the part of the transcript it was drafted from
	MatterID    *string  `json:"matter"`
	Date        string   `json:"date"`
	Tenths      int      `json:"-"`
	Hours       float64  `json:"hours"`
	Activity    *string  `json:"activity"`
	Task        *string  `json:"task"`
	Narrative   string   `json:"narrative"`
	Billable    bool     `json:"billable"`
	Confidence  *float64 `json:"confidence"`
	Warnings    []string `json:"warnings"`
	Engine      string   `json:"engine"`
	Status      string   `json:"status"`
	DeletedAt   *string  `json:"deleted_at"`
	ApprovedAt  *string  `json:"approved_at"`
	ExportedAt  *string  `json:"exported_at"`
	ClioState   *string  `json:"clio_state,omitempty"`
	ClioError   *string  `json:"clio_error,omitempty"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	storedState string
}

const entryCols = `e.id, e.user_id, u.username, e.recording_id, e.matter_id, e.date, e.tenths, e.activity, e.task, e.narrative, e.billable,
	e.confidence, e.warnings, e.engine, e.status, e.deleted_at, e.approved_at, e.exported_at, e.clio_state, e.clio_error, e.created_at, e.updated_at, e.source_span`

func scanEntry(sc interface{ Scan(...any) error }) (*Entry, error) {
	var e Entry
	var rec, matter, task, deleted, approved, exported, clioState, clioErr, span sql.NullString
	var conf sql.NullFloat64
	var warnings, activity string
	err := sc.Scan(&e.ID, &e.UserID, &e.Timekeeper, &rec, &matter, &e.Date, &e.Tenths, &activity, &task, &e.Narrative, &e.Billable,
		&conf, &warnings, &e.Engine, &e.storedState, &deleted, &approved, &exported, &clioState, &clioErr, &e.CreatedAt, &e.UpdatedAt, &span)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, entry.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read entry: %w", err)
	}
	ptr := func(n sql.NullString) *string {
		if n.Valid {
			return &n.String
		}
		return nil
	}
	e.RecordingID, e.MatterID, e.Task, e.DeletedAt, e.ApprovedAt, e.ExportedAt = ptr(rec), ptr(matter), ptr(task), ptr(deleted), ptr(approved), ptr(exported)
	e.Span = ptr(span)
	e.ClioState, e.ClioError = ptr(clioState), ptr(clioErr)
	if activity != "" {
		e.Activity = &activity
	}
	if conf.Valid {
		e.Confidence = &conf.Float64
	}
	e.Warnings = []string{}
	_ = json.Unmarshal([]byte(warnings), &e.Warnings)
	e.Hours = float64(e.Tenths) / 10
	e.Status = e.storedState
	if e.DeletedAt != nil {
		e.Status = entry.Deleted
	}
	return &e, nil
}

func (e *Entry) state() entry.State {
	st := entry.State{OwnerID: e.UserID, Status: e.storedState, Syncing: e.ClioState != nil && *e.ClioState == "intent"}
	if e.DeletedAt != nil {
		if t, err := time.Parse(time.RFC3339Nano, *e.DeletedAt); err == nil {
			st.DeletedAt = &t
		}
	}
	return st
}

// Fields returns the editable fields.
func (e *Entry) Fields() entry.Fields {
	f := entry.Fields{Date: e.Date, Tenths: e.Tenths, Narrative: e.Narrative, Billable: e.Billable}
	if e.MatterID != nil {
		f.MatterID = *e.MatterID
	}
	if e.Activity != nil {
		f.Activity = *e.Activity
	}
	if e.Task != nil {
		f.Task = *e.Task
	}
	return f
}

// NewEntry is what creates an entry (a draft from a recording, or a manual entry).
type NewEntry struct {
	UserID      int64
	RecordingID string
	Fields      entry.Fields
	Confidence  *float64
	Warnings    []string
	Engine      string
	// Span is the part of the transcript the draft came from (several entries
	// from one dictation); Seq its place in spoken order.
	Span string
	Seq  int
}

// CreateEntry inserts a draft.
func (s *Store) CreateEntry(ctx context.Context, a identity.Actor, n NewEntry) (*Entry, error) {
	id := NewID("ent")
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.createEntryTx(ctx, tx, a, id, n) }); err != nil {
		return nil, err
	}
	return s.EntryByID(ctx, id)
}

func (s *Store) createEntryTx(ctx context.Context, tx *sql.Tx, a identity.Actor, id string, n NewEntry) error {
	if err := s.checkFields(ctx, tx, n.Fields); err != nil {
		return err
	}
	if err := s.checkMatter(ctx, tx, n.UserID, n.Fields.MatterID); err != nil {
		return err
	}
	if n.Warnings == nil {
		n.Warnings = []string{}
	}
	w, _ := json.Marshal(n.Warnings)
	if n.Engine == "" {
		n.Engine = "manual"
	}
	now := s.ts()
	_, err := tx.ExecContext(ctx, `INSERT INTO entries(id, user_id, recording_id, matter_id, date, tenths, activity, task, narrative, billable, confidence, warnings, engine, status, created_at, updated_at, source_span, source_seq)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'draft',?,?,?,?)`, id, n.UserID, nullStr(n.RecordingID), nullStr(n.Fields.MatterID), n.Fields.Date, n.Fields.Tenths,
		n.Fields.Activity, nullStr(n.Fields.Task), n.Fields.Narrative, n.Fields.Billable, n.Confidence, string(w), n.Engine, now, now, nullStr(n.Span), n.Seq)
	if err != nil {
		return fmt.Errorf("create entry: %w", err)
	}
	return s.appendAudit(ctx, tx, a, "entry.create", "entry", id, map[string]any{"engine": n.Engine, "recording_id": n.RecordingID})
}

// checkMatter: the entry's matter exists and its timekeeper (ownerID) may see it; a matter
// walled off from them is "does not exist", like an unknown id.
func (s *Store) checkMatter(ctx context.Context, tx *sql.Tx, ownerID int64, id string) error {
	if id == "" {
		return nil
	}
	var status string
	vc, va := matterVisible("m.id", ownerID)
	err := tx.QueryRowContext(ctx, "SELECT m.status FROM matters m WHERE m.id = ? AND m.deleted_at IS NULL AND "+vc, append([]any{id}, va...)...).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: matter %q does not exist", entry.ErrInvalid, id)
	}
	if err != nil {
		return fmt.Errorf("check matter: %w", err)
	}
	return nil
}

// EntryByID reads an entry without access checks (internal use).
func (s *Store) EntryByID(ctx context.Context, id string) (*Entry, error) {
	return scanEntry(s.db.QueryRowContext(ctx, "SELECT "+entryCols+" FROM entries e JOIN users u ON u.id = e.user_id WHERE e.id = ?", id))
}

// EntryFor reads an entry the principal may view; others get entry.ErrNotFound.
func (s *Store) EntryFor(ctx context.Context, p identity.Actor, id string) (*Entry, error) {
	e, err := s.EntryByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := entry.CanView(p, e.state()); err != nil {
		return nil, err
	}
	if e.MatterID != nil {
		ok, err := s.MatterVisibleTo(ctx, p.UserID, *e.MatterID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, entry.ErrNotFound
		}
	}
	return e, nil
}

// EntryFilter selects entries.
type EntryFilter struct {
	UserID   int64  // 0 = every user
	Status   string // draft, approved, exported, synced, deleted; "" = all but deleted
	From, To string // inclusive YYYY-MM-DD
	MatterID string
	// ViewerID is who is looking: entries on matters walled off from them are left out
	// (0: Dictum itself or the CLI, no wall applies).
	ViewerID int64
	Limit    int
	Offset   int
}

// Entries lists entries for a filter, ordered by date then creation.
func (s *Store) Entries(ctx context.Context, f EntryFilter) ([]*Entry, error) {
	q, args := entryQuery(f)
	rows, err := s.db.QueryContext(ctx, "SELECT "+entryCols+" FROM entries e JOIN users u ON u.id = e.user_id WHERE "+q, args...)
	return collect(rows, err, "list entries", func(r *sql.Rows) (*Entry, error) { return scanEntry(r) })
}

func entryQuery(f EntryFilter) (string, []any) {
	var where []string
	var args []any
	if f.UserID != 0 {
		where = append(where, "e.user_id = ?")
		args = append(args, f.UserID)
	}
	switch f.Status {
	case "":
		where = append(where, "e.deleted_at IS NULL")
	case entry.Deleted:
		where = append(where, "e.deleted_at IS NOT NULL")
	default:
		where = append(where, "e.deleted_at IS NULL AND e.status = ?")
		args = append(args, f.Status)
	}
	where, args = dateMatterFilter(where, args, f.From, f.To, f.MatterID)
	vc, va := matterVisible("e.matter_id", f.ViewerID)
	where, args = append(where, vc), append(args, va...)
	limit := f.Limit
	if limit <= 0 || limit > 5000 {
		limit = 500
	}
	q := strings.Join(where, " AND ") + " ORDER BY e.date DESC, e.created_at DESC LIMIT ? OFFSET ?"
	args = append(args, limit, f.Offset)
	return q, args
}

// dateMatterFilter adds the conditions shared by entry lists and exports: an inclusive
// date range and a matter ("" = no condition).
func dateMatterFilter(where []string, args []any, from, to, matterID string) ([]string, []any) {
	if from != "" {
		where = append(where, "e.date >= ?")
		args = append(args, from)
	}
	if to != "" {
		where = append(where, "e.date <= ?")
		args = append(args, to)
	}
	if matterID != "" {
		where = append(where, "e.matter_id = ?")
		args = append(args, matterID)
	}
	return where, args
}

// EntryPatch changes fields of a draft; nil fields stay. Empty strings clear matter/task/activity.
type EntryPatch struct {
	MatterID  *string
	Date      *string
	Tenths    *int
	Activity  *string
	Task      *string
	Narrative *string
	Billable  *bool
}

// mutate loads an entry in a transaction, checks a rule, applies a change and audits it.
func (s *Store) mutate(ctx context.Context, p identity.Actor, id string, check func(identity.Actor, entry.State) error,
	apply func(tx *sql.Tx, e *Entry) (action string, detail map[string]any, err error)) (*Entry, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e, err := scanEntry(tx.QueryRowContext(ctx, "SELECT "+entryCols+" FROM entries e JOIN users u ON u.id = e.user_id WHERE e.id = ?", id))
		if err != nil {
			return err
		}
		if e.MatterID != nil { // a walled-off matter's entry is not found, before any other rule
			var one int
			vc, va := matterVisible("m.id", p.UserID)
			if err := tx.QueryRowContext(ctx, "SELECT 1 FROM matters m WHERE m.id = ? AND "+vc, append([]any{*e.MatterID}, va...)...).Scan(&one); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return entry.ErrNotFound
				}
				return fmt.Errorf("matter visibility: %w", err)
			}
		}
		if err := check(p, e.state()); err != nil {
			return err
		}
		action, detail, err := apply(tx, e)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, p, action, "entry", id, detail)
	})
	if err != nil {
		return nil, err
	}
	return s.EntryByID(ctx, id)
}

// UpdateEntry edits a draft.
func (s *Store) UpdateEntry(ctx context.Context, p identity.Actor, id string, patch EntryPatch) (*Entry, error) {
	return s.mutate(ctx, p, id, entry.CanEdit, func(tx *sql.Tx, e *Entry) (string, map[string]any, error) {
		f := e.Fields()
		changed := []string{}
		if patch.MatterID != nil {
			f.MatterID = *patch.MatterID
			changed = append(changed, "matter")
		}
		if patch.Date != nil {
			f.Date = *patch.Date
			changed = append(changed, "date")
		}
		if patch.Tenths != nil {
			f.Tenths = *patch.Tenths
			changed = append(changed, "hours")
		}
		if patch.Activity != nil {
			f.Activity = *patch.Activity
			changed = append(changed, "activity")
		}
		if patch.Task != nil {
			f.Task = *patch.Task
			changed = append(changed, "task")
		}
		if patch.Narrative != nil {
			f.Narrative = strings.TrimSpace(*patch.Narrative)
			changed = append(changed, "narrative")
		}
		if patch.Billable != nil {
			f.Billable = *patch.Billable
			changed = append(changed, "billable")
		}
		if err := s.checkFields(ctx, tx, f); err != nil {
			return "", nil, err
		}
		if err := s.checkMatter(ctx, tx, e.UserID, f.MatterID); err != nil {
			return "", nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE entries SET matter_id=?, date=?, tenths=?, activity=?, task=?, narrative=?, billable=?, updated_at=? WHERE id=?`,
			nullStr(f.MatterID), f.Date, f.Tenths, f.Activity, nullStr(f.Task), f.Narrative, f.Billable, s.ts(), e.ID)
		if err != nil {
			return "", nil, fmt.Errorf("update entry: %w", err)
		}
		return "entry.update", map[string]any{"fields": changed, "diff": entryDiff(e.Fields(), f)}, nil
	})
}

// entryDiff is the field-level diff of an edit, {field: {from, to}}, for the fields whose
// value changed. The audit log outlives retention (events keep ids, not content), so the
// narrative is recorded by its length only ({from_chars, to_chars}); every other field is
// a code, id, date or number and is recorded as it was and is.
func entryDiff(old, cur entry.Fields) map[string]any {
	d := map[string]any{}
	pair := func(name string, from, to any) { d[name] = map[string]any{"from": from, "to": to} }
	if old.MatterID != cur.MatterID {
		pair("matter", old.MatterID, cur.MatterID)
	}
	if old.Date != cur.Date {
		pair("date", old.Date, cur.Date)
	}
	if old.Tenths != cur.Tenths {
		pair("hours", float64(old.Tenths)/10, float64(cur.Tenths)/10)
	}
	if old.Activity != cur.Activity {
		pair("activity", old.Activity, cur.Activity)
	}
	if old.Task != cur.Task {
		pair("task", old.Task, cur.Task)
	}
	if old.Billable != cur.Billable {
		pair("billable", old.Billable, cur.Billable)
	}
	if old.Narrative != cur.Narrative {
		d["narrative"] = map[string]any{"from_chars": utf8.RuneCountInString(old.Narrative), "to_chars": utf8.RuneCountInString(cur.Narrative)}
	}
	return d
}

// Approve approves a complete draft.
func (s *Store) Approve(ctx context.Context, p identity.Actor, id string, today time.Time) (*Entry, error) {
	return s.mutate(ctx, p, id, entry.CanApprove, func(tx *sql.Tx, e *Entry) (string, map[string]any, error) {
		if err := s.checkComplete(ctx, tx, e.Fields(), today); err != nil {
			return "", nil, err
		}
		if e.MatterID != nil {
			var status string
			if err := tx.QueryRowContext(ctx, "SELECT status FROM matters WHERE id = ?", *e.MatterID).Scan(&status); err == nil && status != "open" {
				return "", nil, fmt.Errorf("%w: matter is closed; pick an open matter", entry.ErrInvalid)
			}
		}
		now := s.ts()
		if _, err := tx.ExecContext(ctx, "UPDATE entries SET status='approved', approved_at=?, updated_at=? WHERE id=?", now, now, e.ID); err != nil {
			return "", nil, fmt.Errorf("approve entry: %w", err)
		}
		return "entry.approve", map[string]any{"hours": float64(e.Tenths) / 10}, nil
	})
}

// Reopen returns an approved entry to draft.
func (s *Store) Reopen(ctx context.Context, p identity.Actor, id string) (*Entry, error) {
	return s.mutate(ctx, p, id, entry.CanReopen, func(tx *sql.Tx, e *Entry) (string, map[string]any, error) {
		if _, err := tx.ExecContext(ctx, "UPDATE entries SET status='draft', approved_at=NULL, updated_at=? WHERE id=?", s.ts(), e.ID); err != nil {
			return "", nil, fmt.Errorf("reopen entry: %w", err)
		}
		return "entry.reopen", nil, nil
	})
}

// DeleteEntry soft-deletes an entry.
func (s *Store) DeleteEntry(ctx context.Context, p identity.Actor, id string) (*Entry, error) {
	return s.mutate(ctx, p, id, entry.CanDelete, func(tx *sql.Tx, e *Entry) (string, map[string]any, error) {
		now := s.ts()
		if _, err := tx.ExecContext(ctx, "UPDATE entries SET deleted_at=?, updated_at=? WHERE id=?", now, now, e.ID); err != nil {
			return "", nil, fmt.Errorf("delete entry: %w", err)
		}
		return "entry.delete", nil, nil
	})
}

// RestoreEntry undoes a soft delete within the grace period.
func (s *Store) RestoreEntry(ctx context.Context, p identity.Actor, id string) (*Entry, error) {
	now := s.now()
	return s.mutate(ctx, p, id, func(a identity.Actor, st entry.State) error { return entry.CanRestore(a, st, now) },
		func(tx *sql.Tx, e *Entry) (string, map[string]any, error) {
			var with sql.NullString
			if err := tx.QueryRowContext(ctx, "SELECT deleted_with FROM entries WHERE id = ?", e.ID).Scan(&with); err != nil {
				return "", nil, fmt.Errorf("restore entry: %w", err)
			}
			if with.Valid {
				return "", nil, fmt.Errorf("%w: the entry was deleted with its matter by the retention policy; an admin restores the matter under Deleted items", entry.ErrConflict)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE entries SET deleted_at=NULL, updated_at=? WHERE id=?", s.ts(), e.ID); err != nil {
				return "", nil, fmt.Errorf("restore entry: %w", err)
			}
			return "entry.restore", nil, nil
		})
}
