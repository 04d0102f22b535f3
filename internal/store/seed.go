package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"dictum/internal/identity"
)

// SeedEntries bulk-inserts n synthetic entries for a user (benchmarks and demos): the
// newest `drafts` are drafts, the rest approved, spread over the matters and the past
// year. It writes one audit event for the batch.
func (s *Store) SeedEntries(ctx context.Context, a identity.Actor, userID int64, matterIDs []string, n, drafts int) error {
	if len(matterIDs) == 0 {
		return fmt.Errorf("%w: seeding needs at least one matter", ErrInvalid)
	}
	acts := []string{"A101", "A102", "A103", "A104", "A106", "A107"}
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO entries(id, user_id, matter_id, date, tenths, activity, narrative, billable, warnings, engine, status, approved_at, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,1,'[]','rules',?,?,?,?)`)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		defer stmt.Close()
		now := s.now().UTC()
		for i := 0; i < n; i++ {
			status, approved := "approved", sql.NullString{String: now.Format(time.RFC3339Nano), Valid: true}
			if i >= n-drafts {
				status, approved = "draft", sql.NullString{}
			}
			date := now.AddDate(0, 0, -(n-i)*365/n).Format("2006-01-02")
			ts := now.Add(time.Duration(i-n) * time.Second).Format(time.RFC3339Nano)
			if _, err := stmt.ExecContext(ctx, NewID("ent"), userID, matterIDs[i%len(matterIDs)], date, 1+i%30, acts[i%len(acts)],
				fmt.Sprintf("Reviewed and revised draft number %d of the agreement; conferred with client.", i), status, approved, ts, ts); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		return s.appendAudit(ctx, tx, a, "bench.seed", "user", fmt.Sprint(userID), map[string]any{"entries": n, "drafts": drafts})
	})
}
