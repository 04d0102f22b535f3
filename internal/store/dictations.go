package store

import (
	"context"
	"database/sql"
	"fmt"

	"dictum/internal/identity"
)

// CreateEntries inserts the drafts of one typed dictation, in spoken order, in one
// transaction (all or none), each audited as created by the actor.
func (s *Store) CreateEntries(ctx context.Context, a identity.Actor, ns []NewEntry) ([]*Entry, error) {
	ids := make([]string, len(ns))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for k, n := range ns {
			ids[k] = NewID("ent")
			n.Seq = k
			if err := s.createEntryTx(ctx, tx, a, ids[k], n); err != nil {
				return fmt.Errorf("draft %d of %d: %w", k+1, len(ns), err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Entry, 0, len(ids))
	for _, id := range ids {
		e, err := s.EntryByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// RecentMatters lists the open matters a user (every user when userID is 0) recorded
// time on, most recently touched first (at most limit).
func (s *Store) RecentMatters(ctx context.Context, userID int64, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.matter_id FROM entries e JOIN matters m ON m.id = e.matter_id
		WHERE (? = 0 OR e.user_id = ?) AND e.deleted_at IS NULL AND m.status = 'open'
		GROUP BY e.matter_id ORDER BY MAX(e.updated_at) DESC, e.matter_id LIMIT ?`, userID, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("recent matters: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("recent matters: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
