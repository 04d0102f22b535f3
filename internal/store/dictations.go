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
