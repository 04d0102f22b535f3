package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/utbms"
)

// Alias is a phrase that names a matter (or, kind "activity", a UTBMS activity): a
// lawyer's own (scope "user") or the firm's (scope "firm", for everyone).
type Alias struct {
	ID        string `json:"id"`
	Phrase    string `json:"phrase"`
	Kind      string `json:"kind"`               // matter or activity
	MatterID  string `json:"matter,omitempty"`   // kind matter
	Activity  string `json:"activity,omitempty"` // kind activity
	Scope     string `json:"scope"`
	UserID    int64  `json:"-"`
	Source    string `json:"source"` // manual or learned
	Matter    string `json:"matter_label,omitempty"`
	Open      bool   `json:"matter_open"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// Alias scopes and sources.
const (
	AliasUser    = "user"
	AliasFirm    = "firm"
	AliasManual  = "manual"
	AliasLearned = "learned"
	KindMatter   = "matter"
	KindActivity = "activity"
)

const aliasCols = `a.id, a.phrase, a.kind, ifnull(a.matter_id, ''), a.activity, a.scope, a.user_id, a.source, ifnull(m.number || ' ' || m.name, ''),
	ifnull(m.status = 'open', 1), a.created_at, a.updated_at`

const aliasFrom = ` FROM aliases a LEFT JOIN matters m ON m.id = a.matter_id`

func scanAlias(sc interface{ Scan(...any) error }) (*Alias, error) {
	var a Alias
	err := sc.Scan(&a.ID, &a.Phrase, &a.Kind, &a.MatterID, &a.Activity, &a.Scope, &a.UserID, &a.Source, &a.Matter, &a.Open, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read alias: %w", err)
	}
	return &a, nil
}

// AliasesFor lists the aliases a user's drafts use: the user's own, then the firm's,
// each by phrase. Aliases of closed matters are listed (matter_open false); drafts skip them.
func (s *Store) AliasesFor(ctx context.Context, userID int64) ([]*Alias, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+aliasCols+aliasFrom+
		" WHERE (a.scope = 'user' AND a.user_id = ?) OR a.scope = 'firm' ORDER BY a.scope = 'firm', a.kind, a.phrase", userID)
	return collect(rows, err, "list aliases", func(r *sql.Rows) (*Alias, error) { return scanAlias(r) })
}

// PutAlias creates a user's or the firm's alias, or points an existing phrase of the same
// scope and kind elsewhere. A matter alias needs an open matter; an activity alias a
// UTBMS activity code. Audited as alias.create or alias.update (alias.learn when source
// is learned). The caller checks who may set a firm alias and normalises the phrase.
func (s *Store) PutAlias(ctx context.Context, a identity.Actor, al Alias) (*Alias, error) {
	if al.Scope != AliasUser && al.Scope != AliasFirm {
		return nil, fmt.Errorf("%w: scope %q: want user or firm", entry.ErrInvalid, al.Scope)
	}
	if al.Scope == AliasFirm {
		al.UserID = 0
	} else if al.UserID == 0 {
		return nil, fmt.Errorf("%w: a user alias needs its user", entry.ErrInvalid)
	}
	if al.Source == "" {
		al.Source = AliasManual
	}
	al.Kind = KindMatter
	if al.Activity != "" {
		al.Kind = KindActivity
		if al.MatterID != "" {
			return nil, fmt.Errorf("%w: an alias names a matter or an activity, not both", entry.ErrInvalid)
		}
		if !utbms.ValidActivity(al.Activity) {
			return nil, fmt.Errorf("%w: activity %q is not a UTBMS activity code", entry.ErrInvalid, al.Activity)
		}
	}
	var id string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if al.Kind == KindMatter {
			var status string
			vc, va := matterVisible("m.id", a.UserID) // a walled-off matter "does not exist"
			err := tx.QueryRowContext(ctx, "SELECT m.status FROM matters m WHERE m.id = ? AND "+vc, append([]any{al.MatterID}, va...)...).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: matter %q does not exist", entry.ErrInvalid, al.MatterID)
			}
			if err != nil {
				return fmt.Errorf("put alias: %w", err)
			}
			if status != "open" {
				return fmt.Errorf("%w: matter %q is closed; an alias only points at an open matter", entry.ErrInvalid, al.MatterID)
			}
		}
		target := al.MatterID + al.Activity
		var old sql.NullString
		var oldTarget string
		err := tx.QueryRowContext(ctx, "SELECT id, ifnull(matter_id, '') || activity FROM aliases WHERE scope = ? AND user_id = ? AND kind = ? AND phrase = ?",
			al.Scope, al.UserID, al.Kind, al.Phrase).Scan(&old, &oldTarget)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("put alias: %w", err)
		}
		now := s.ts()
		action := "alias.create"
		detail := map[string]any{"phrase": al.Phrase, "scope": al.Scope, "source": al.Source, "kind": al.Kind, "target": target}
		if old.Valid {
			id = old.String
			if oldTarget == target {
				return nil // nothing changes
			}
			action = "alias.update"
			detail["old_target"] = oldTarget
			if _, err := tx.ExecContext(ctx, "UPDATE aliases SET matter_id = ?, activity = ?, source = ?, updated_at = ? WHERE id = ?",
				nullStr(al.MatterID), al.Activity, al.Source, now, id); err != nil {
				return fmt.Errorf("put alias: %w", err)
			}
		} else {
			id = NewID("als")
			if _, err := tx.ExecContext(ctx, `INSERT INTO aliases(id, scope, user_id, kind, phrase, matter_id, activity, source, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
				id, al.Scope, al.UserID, al.Kind, al.Phrase, nullStr(al.MatterID), al.Activity, al.Source, now, now); err != nil {
				return fmt.Errorf("put alias: %w", err)
			}
		}
		if al.Source == AliasLearned {
			action = "alias.learn"
		}
		return s.appendAudit(ctx, tx, a, action, "alias", id, detail)
	})
	if err != nil {
		return nil, err
	}
	return s.AliasByID(ctx, id)
}

// AliasByPhrase finds an alias of a scope and kind (a user's own when scope is user).
func (s *Store) AliasByPhrase(ctx context.Context, scope string, userID int64, kind, phrase string) (*Alias, error) {
	if scope == AliasFirm {
		userID = 0
	}
	return scanAlias(s.db.QueryRowContext(ctx, "SELECT "+aliasCols+aliasFrom+" WHERE a.scope = ? AND a.user_id = ? AND a.kind = ? AND a.phrase = ?", scope, userID, kind, phrase))
}

// AliasByID reads an alias without access checks.
func (s *Store) AliasByID(ctx context.Context, id string) (*Alias, error) {
	return scanAlias(s.db.QueryRowContext(ctx, "SELECT "+aliasCols+aliasFrom+" WHERE a.id = ?", id))
}

// DeleteAlias removes an alias: a user's own alias by that user, a firm alias by an
// admin; another user's alias answers ErrNotFound. Audited.
func (s *Store) DeleteAlias(ctx context.Context, a identity.Actor, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		al, err := scanAlias(tx.QueryRowContext(ctx, "SELECT "+aliasCols+aliasFrom+" WHERE a.id = ?", id))
		if err != nil {
			return err
		}
		switch {
		case al.Scope == AliasUser && al.UserID != a.UserID:
			return ErrNotFound
		case al.Scope == AliasFirm && a.Role != identity.RoleAdmin:
			return fmt.Errorf("%w: only an administrator deletes a firm alias", entry.ErrForbidden)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM aliases WHERE id = ?", id); err != nil {
			return fmt.Errorf("delete alias: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "alias.delete", "alias", id, map[string]any{"phrase": al.Phrase, "kind": al.Kind, "target": al.MatterID + al.Activity, "scope": al.Scope})
	})
}
