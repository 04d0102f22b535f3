package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

// The retention SQL (internal/lifecycle decides when it runs). Three writes, each one
// transaction with its audit events:
//
//   - RetentionSoftDelete marks closed matters past the window deleted, with their
//     entries, the recordings no live entry elsewhere uses and the exports made only of
//     deleted matters' entries (deleted_with = the matter, so a restore brings back exactly
//     those and nothing a user deleted on their own);
//   - RetentionDeleteAudio drops the audio of recordings whose entries were all approved
//     before a cutoff (the transcript and entries stay);
//   - RetentionPurge deletes the rows of items soft-deleted before a cutoff, with
//     secure_delete on, and records the blobs to remove in purge_pending in the same
//     transaction. The caller removes those blobs after the commit (PendingBlobs,
//     BlobRemoved) and clears the free pages (ClearFreePages), so a crash at any point
//     leaves either nothing done or a to-do list the next run finishes.
//
// Every write takes dry=true to compute exactly what it would do and roll back: the
// dry-run report is the same SQL as the real run, not a second implementation.

// errDryRun rolls back a dry-run transaction.
var errDryRun = errors.New("dry run")

// RetentionMatter is a matter that retention soft-deleted or purged, with what went with it.
type RetentionMatter struct {
	ID         string `json:"id"`
	Number     string `json:"number"`
	ClosedAt   string `json:"closed_at,omitempty"`
	DeletedAt  string `json:"deleted_at,omitempty"`
	Entries    int    `json:"entries"`
	Recordings int    `json:"recordings"`
	Exports    int    `json:"exports"`
}

// RetentionSkip is an item a run left alone, and why.
type RetentionSkip struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// SoftDeleteResult is what RetentionSoftDelete did (or would do).
type SoftDeleteResult struct {
	Matters []RetentionMatter `json:"matters"`
	Skipped []RetentionSkip   `json:"skipped"`
}

// AudioRemoval is a recording whose audio the audio window removed.
type AudioRemoval struct {
	RecordingID string `json:"recording_id"`
	ApprovedAt  string `json:"approved_at"`
}

// PurgeResult is what RetentionPurge deleted (or would delete).
type PurgeResult struct {
	Matters []RetentionMatter `json:"matters"`
	// Entries are entries users deleted themselves whose grace period is over.
	Entries []string        `json:"entries"`
	Blobs   int             `json:"blobs"`
	Skipped []RetentionSkip `json:"skipped"`
}

func parseTS(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// connTx runs fn in a transaction on one pooled connection (for per-connection pragmas).
func connTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	return runTx(ctx, conn, fn)
}

// dryTx runs fn in a transaction that is rolled back when dry is set.
func (s *Store) dryTx(ctx context.Context, dry bool, fn func(*sql.Tx) error) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if dry {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func execCount(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RetentionSoftDelete soft-deletes every closed matter whose window started before
// cutoff: closed (and, after a restore, restored) before it. Entries of an open matter
// are never touched: only entries of the expiring matter are, and a recording or an
// export that also holds a live entry of another matter stays.
func (s *Store) RetentionSoftDelete(ctx context.Context, a identity.Actor, cutoff time.Time, dry bool) (SoftDeleteResult, error) {
	var out SoftDeleteResult
	err := s.dryTx(ctx, dry, func(tx *sql.Tx) error {
		out = SoftDeleteResult{Matters: []RetentionMatter{}, Skipped: []RetentionSkip{}}
		rows, err := tx.QueryContext(ctx, `SELECT id, number, coalesce(closed_at, ''), coalesce(retention_restored_at, '') FROM matters
			WHERE status = 'closed' AND deleted_at IS NULL ORDER BY number`)
		if err != nil {
			return fmt.Errorf("retention: list closed matters: %w", err)
		}
		var due []RetentionMatter
		for rows.Next() {
			var m RetentionMatter
			var restored string
			if err := rows.Scan(&m.ID, &m.Number, &m.ClosedAt, &restored); err != nil {
				rows.Close()
				return fmt.Errorf("retention: list closed matters: %w", err)
			}
			closed, ok := parseTS(m.ClosedAt)
			if !ok {
				out.Skipped = append(out.Skipped, RetentionSkip{Kind: "matter", ID: m.ID, Reason: "closed, but the time it was closed is unknown"})
				continue
			}
			if !closed.Before(cutoff) {
				continue
			}
			if r, ok := parseTS(restored); ok && !r.Before(cutoff) {
				continue // restored from deleted items: a fresh window from the restore
			}
			due = append(due, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("retention: list closed matters: %w", err)
		}
		now := s.ts()
		for _, m := range due {
			var syncing int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM entries WHERE matter_id = ? AND deleted_at IS NULL AND clio_state = 'intent'", m.ID).Scan(&syncing); err != nil {
				return fmt.Errorf("retention: matter %s: %w", m.ID, err)
			}
			if syncing > 0 {
				out.Skipped = append(out.Skipped, RetentionSkip{Kind: "matter", ID: m.ID, Reason: "entries are being sent to Clio; the next run takes it"})
				continue
			}
			if m.Entries, err = execCount(ctx, tx, "UPDATE entries SET deleted_at = ?, deleted_with = ? WHERE matter_id = ? AND deleted_at IS NULL", now, m.ID, m.ID); err != nil {
				return fmt.Errorf("retention: delete entries of %s: %w", m.ID, err)
			}
			// A recording goes with the matter when no live entry uses it any more.
			if m.Recordings, err = execCount(ctx, tx, `UPDATE recordings SET deleted_at = ?, deleted_with = ?
				WHERE deleted_at IS NULL
				AND id IN (SELECT recording_id FROM entries WHERE matter_id = ? AND recording_id IS NOT NULL)
				AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.recording_id = recordings.id AND e.deleted_at IS NULL)`, now, m.ID, m.ID); err != nil {
				return fmt.Errorf("retention: delete recordings of %s: %w", m.ID, err)
			}
			// An export goes when it holds an entry of this matter and no entry that is
			// live or belongs to a live matter.
			if m.Exports, err = execCount(ctx, tx, `UPDATE exports SET deleted_at = ?, deleted_with = ?
				WHERE deleted_at IS NULL
				AND EXISTS (SELECT 1 FROM json_each(exports.entry_ids) j JOIN entries e ON e.id = j.value WHERE e.matter_id = ?)
				AND NOT EXISTS (SELECT 1 FROM json_each(exports.entry_ids) j JOIN entries e ON e.id = j.value
					LEFT JOIN matters mm ON mm.id = e.matter_id
					WHERE (mm.id IS NULL AND e.deleted_at IS NULL) OR (mm.id IS NOT NULL AND mm.id != ? AND mm.deleted_at IS NULL))`, now, m.ID, m.ID, m.ID); err != nil {
				return fmt.Errorf("retention: delete exports of %s: %w", m.ID, err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE matters SET deleted_at = ? WHERE id = ?", now, m.ID); err != nil {
				return fmt.Errorf("retention: delete matter %s: %w", m.ID, err)
			}
			m.DeletedAt = now
			if err := s.appendAudit(ctx, tx, a, "retention.soft_delete", "matter", m.ID, map[string]any{
				"entries": m.Entries, "recordings": m.Recordings, "exports": m.Exports, "closed_at": m.ClosedAt}); err != nil {
				return err
			}
			out.Matters = append(out.Matters, m)
		}
		return nil
	})
	return out, err
}

// RetentionDeleteAudio removes the audio of recordings all of whose live entries were
// approved before cutoff. The rows keep their transcript; the blobs are queued in
// purge_pending for the caller to remove after the commit.
func (s *Store) RetentionDeleteAudio(ctx context.Context, a identity.Actor, cutoff time.Time, dry bool) ([]AudioRemoval, error) {
	var out []AudioRemoval
	err := s.dryTx(ctx, dry, func(tx *sql.Tx) error {
		out = []AudioRemoval{}
		rows, err := tx.QueryContext(ctx, `SELECT r.id, r.blob_id, coalesce(e.approved_at, '') FROM recordings r
			JOIN entries e ON e.recording_id = r.id AND e.deleted_at IS NULL
			WHERE r.blob_id IS NOT NULL AND r.deleted_at IS NULL ORDER BY r.id`)
		if err != nil {
			return fmt.Errorf("retention: audio candidates: %w", err)
		}
		type cand struct {
			id, blob string
			latest   time.Time
			ok       bool
		}
		var order []string
		cands := map[string]*cand{}
		for rows.Next() {
			var id, blobID, approved string
			if err := rows.Scan(&id, &blobID, &approved); err != nil {
				rows.Close()
				return fmt.Errorf("retention: audio candidates: %w", err)
			}
			c := cands[id]
			if c == nil {
				c = &cand{id: id, blob: blobID, ok: true}
				cands[id] = c
				order = append(order, id)
			}
			t, ok := parseTS(approved)
			if !ok {
				c.ok = false // an entry of it is not approved (yet, or again)
				continue
			}
			if t.After(c.latest) {
				c.latest = t
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("retention: audio candidates: %w", err)
		}
		now := s.ts()
		for _, id := range order {
			c := cands[id]
			if !c.ok || !c.latest.Before(cutoff) {
				continue
			}
			n, err := execCount(ctx, tx, "UPDATE recordings SET blob_id = NULL, audio_deleted_at = ?, updated_at = ? WHERE id = ? AND blob_id = ?", now, now, c.id, c.blob)
			if err != nil {
				return fmt.Errorf("retention: delete audio of %s: %w", c.id, err)
			}
			if n == 0 {
				continue
			}
			if err := queueBlob(ctx, tx, c.blob, now); err != nil {
				return err
			}
			approved := c.latest.UTC().Format(time.RFC3339Nano)
			if err := s.appendAudit(ctx, tx, a, "retention.audio_delete", "recording", c.id, map[string]any{"approved_at": approved}); err != nil {
				return err
			}
			out = append(out, AudioRemoval{RecordingID: c.id, ApprovedAt: approved})
		}
		return nil
	})
	return out, err
}

func queueBlob(ctx context.Context, tx *sql.Tx, blobID, now string) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO purge_pending(kind, ref, queued_at) VALUES ('blob', ?, ?)", blobID, now); err != nil {
		return fmt.Errorf("retention: queue blob removal: %w", err)
	}
	return nil
}

// PurgeOptions tune RetentionPurge.
type PurgeOptions struct {
	// Entries also purges entries users deleted themselves, once their grace is over.
	Entries bool
	// BeforeCommit runs inside the transaction, after every delete (crash tests pause here).
	BeforeCommit func()
}

// RetentionPurge deletes, for good, the matters retention soft-deleted before cutoff with
// their entries, recordings and exports (and, with opts.Entries, entries users deleted
// before cutoff). It runs on one connection with PRAGMA secure_delete = ON, so the deleted
// cells are overwritten with zeros, not just unlinked; their blobs and a free-page
// clearing are queued in purge_pending in the same transaction. Audit events stay.
func (s *Store) RetentionPurge(ctx context.Context, a identity.Actor, cutoff time.Time, dry bool, opts PurgeOptions) (PurgeResult, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return PurgeResult{}, fmt.Errorf("retention purge: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return PurgeResult{}, fmt.Errorf("retention purge: secure_delete: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA secure_delete = OFF") //nolint:errcheck // pool hygiene only
	var out PurgeResult
	err = connTx(ctx, conn, func(tx *sql.Tx) error {
		out = PurgeResult{Matters: []RetentionMatter{}, Entries: []string{}, Skipped: []RetentionSkip{}}
		if err := s.purgeTx(ctx, tx, a, cutoff, opts, &out); err != nil {
			return err
		}
		if opts.BeforeCommit != nil && !dry {
			opts.BeforeCommit()
		}
		if dry {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return out, err
}

func (s *Store) purgeTx(ctx context.Context, tx *sql.Tx, a identity.Actor, cutoff time.Time, opts PurgeOptions, out *PurgeResult) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, number, coalesce(closed_at, ''), deleted_at FROM matters WHERE deleted_at IS NOT NULL ORDER BY number")
	if err != nil {
		return fmt.Errorf("retention purge: list deleted matters: %w", err)
	}
	var due []RetentionMatter
	for rows.Next() {
		var m RetentionMatter
		if err := rows.Scan(&m.ID, &m.Number, &m.ClosedAt, &m.DeletedAt); err != nil {
			rows.Close()
			return fmt.Errorf("retention purge: list deleted matters: %w", err)
		}
		if t, ok := parseTS(m.DeletedAt); ok && t.Before(cutoff) {
			due = append(due, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("retention purge: list deleted matters: %w", err)
	}
	now := s.ts()
	for _, m := range due {
		ok, err := s.purgeMatter(ctx, tx, a, &m, now, out)
		if err != nil {
			return err
		}
		if ok {
			out.Matters = append(out.Matters, m)
		}
	}
	if opts.Entries {
		rows, err := tx.QueryContext(ctx, "SELECT id, deleted_at FROM entries WHERE deleted_at IS NOT NULL AND deleted_with IS NULL ORDER BY deleted_at, id")
		if err != nil {
			return fmt.Errorf("retention purge: list deleted entries: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id, at string
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return fmt.Errorf("retention purge: list deleted entries: %w", err)
			}
			if t, ok := parseTS(at); ok && t.Before(cutoff) {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("retention purge: list deleted entries: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, "UPDATE recordings SET entry_id = NULL WHERE entry_id = ?", id); err != nil {
				return fmt.Errorf("retention purge: unlink entry %s: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM entries WHERE id = ?", id); err != nil {
				return fmt.Errorf("retention purge: entry %s: %w", id, err)
			}
			if err := s.appendAudit(ctx, tx, a, "retention.purge", "entry", id, nil); err != nil {
				return err
			}
			out.Entries = append(out.Entries, id)
		}
	}
	if len(out.Matters) > 0 || len(out.Entries) > 0 {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO purge_pending(kind, ref, queued_at) VALUES ('vacuum', 'db', ?)", now); err != nil {
			return fmt.Errorf("retention purge: queue free-page clearing: %w", err)
		}
	}
	return nil
}

// purgeMatter deletes one soft-deleted matter and what was deleted with it. It reports
// false (and a skip) when the matter is not in a state to purge.
func (s *Store) purgeMatter(ctx context.Context, tx *sql.Tx, a identity.Actor, m *RetentionMatter, now string, out *PurgeResult) (bool, error) {
	var live int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM entries WHERE matter_id = ? AND deleted_at IS NULL", m.ID).Scan(&live); err != nil {
		return false, fmt.Errorf("retention purge: matter %s: %w", m.ID, err)
	}
	if live > 0 {
		out.Skipped = append(out.Skipped, RetentionSkip{Kind: "matter", ID: m.ID, Reason: fmt.Sprintf("%d live entries point at it", live)})
		return false, nil
	}
	// A recording a live entry uses again (a user restored their own entry of another
	// matter) is kept: it is un-deleted instead of purged.
	if _, err := tx.ExecContext(ctx, `UPDATE recordings SET deleted_at = NULL, deleted_with = NULL WHERE deleted_with = ?
		AND EXISTS (SELECT 1 FROM entries e WHERE e.recording_id = recordings.id AND e.deleted_at IS NULL)`, m.ID); err != nil {
		return false, fmt.Errorf("retention purge: keep used recordings of %s: %w", m.ID, err)
	}
	var clientID string
	if err := tx.QueryRowContext(ctx, "SELECT client_id FROM matters WHERE id = ?", m.ID).Scan(&clientID); err != nil {
		return false, fmt.Errorf("retention purge: matter %s: %w", m.ID, err)
	}
	blobs, err := queryStrings(ctx, tx, `SELECT blob_id FROM recordings WHERE deleted_with = ? AND blob_id IS NOT NULL
		UNION ALL SELECT blob_id FROM exports WHERE deleted_with = ?`, m.ID, m.ID)
	if err != nil {
		return false, fmt.Errorf("retention purge: blobs of %s: %w", m.ID, err)
	}
	for _, b := range blobs {
		if err := queueBlob(ctx, tx, b, now); err != nil {
			return false, err
		}
	}
	steps := []struct {
		what string
		q    string
		n    *int
	}{
		// Deleted entries elsewhere that came from a purged recording lose the link.
		{"unlink entries", "UPDATE entries SET recording_id = NULL WHERE recording_id IN (SELECT id FROM recordings WHERE deleted_with = ?1) AND coalesce(matter_id, '') != ?1", nil},
		{"unlink recordings", "UPDATE recordings SET entry_id = NULL WHERE entry_id IN (SELECT id FROM entries WHERE matter_id = ?1)", nil},
		{"entries", "DELETE FROM entries WHERE matter_id = ?1", &m.Entries},
		{"jobs", "DELETE FROM jobs WHERE kind = 'transcribe' AND ref IN (SELECT id FROM recordings WHERE deleted_with = ?1)", nil},
		{"recordings", "DELETE FROM recordings WHERE deleted_with = ?1", &m.Recordings},
		{"exports", "DELETE FROM exports WHERE deleted_with = ?1", &m.Exports},
		{"matter", "DELETE FROM matters WHERE id = ?1", nil},
	}
	for _, st := range steps {
		n, err := execCount(ctx, tx, st.q, m.ID)
		if err != nil {
			return false, fmt.Errorf("retention purge: %s of %s: %w", st.what, m.ID, err)
		}
		if st.n != nil {
			*st.n = n
		}
	}
	// The client's name goes too when it has no other matter.
	if _, err := tx.ExecContext(ctx, "DELETE FROM clients WHERE id = ? AND NOT EXISTS (SELECT 1 FROM matters WHERE client_id = ?)", clientID, clientID); err != nil {
		return false, fmt.Errorf("retention purge: client of %s: %w", m.ID, err)
	}
	out.Blobs += len(blobs)
	if err := s.appendAudit(ctx, tx, a, "retention.purge", "matter", m.ID, map[string]any{
		"entries": m.Entries, "recordings": m.Recordings, "exports": m.Exports, "blobs": len(blobs)}); err != nil {
		return false, err
	}
	return true, nil
}

// PendingBlobs lists blobs a purge or the audio window queued for removal.
func (s *Store) PendingBlobs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT ref FROM purge_pending WHERE kind = 'blob' ORDER BY ref")
	return collect(rows, err, "pending blobs", func(r *sql.Rows) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
}

// BlobRemoved takes a removed blob off the to-do list.
func (s *Store) BlobRemoved(ctx context.Context, blobID string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM purge_pending WHERE kind = 'blob' AND ref = ?", blobID); err != nil {
		return fmt.Errorf("pending blob %s: %w", blobID, err)
	}
	return nil
}

// FreePagesPending reports whether a purge's free-page clearing has not run yet.
func (s *Store) FreePagesPending(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM purge_pending WHERE kind = 'vacuum'").Scan(&n); err != nil {
		return false, fmt.Errorf("pending free-page clearing: %w", err)
	}
	return n > 0, nil
}

// How long ClearFreePages waits for readers to let the WAL be truncated: each TRUNCATE
// checkpoint already waits up to the busy timeout (10 s) for them.
const (
	checkpointTries = 3
	checkpointWait  = time.Second
)

// FreePages is what ClearFreePages did.
type FreePages struct {
	PagesBefore    int64 `json:"pages_before"`
	FreeBefore     int64 `json:"free_pages_before"`
	PagesAfter     int64 `json:"pages_after"`
	WALCheckpoints int   `json:"wal_checkpoints"`
	// WALBusy is true when a reader kept the final checkpoint from truncating the WAL.
	WALBusy    bool  `json:"wal_busy"`
	DurationMS int64 `json:"duration_ms"`
}

// ClearFreePages overwrites what deleted rows left in the file: it checkpoints the WAL
// into the database, rebuilds the database with VACUUM (the new file holds only live
// pages; with secure_delete on and temp_store in memory no copy of a page reaches a temp
// file), and truncates the WAL to zero bytes, so neither the database nor its -wal keeps
// a purged row's bytes. The pending marker is removed last.
func (s *Store) ClearFreePages(ctx context.Context) (FreePages, error) {
	start := time.Now()
	var fp FreePages
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fp, fmt.Errorf("clear free pages: %w", err)
	}
	defer conn.Close()
	for _, p := range []string{"PRAGMA secure_delete = ON", "PRAGMA temp_store = MEMORY"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fp, fmt.Errorf("clear free pages: %s: %w", p, err)
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA secure_delete = OFF")  //nolint:errcheck // pool hygiene only
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = DEFAULT") //nolint:errcheck // pool hygiene only
	_ = conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&fp.PagesBefore)
	_ = conn.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&fp.FreeBefore)
	checkpoint := func() error {
		var busy, logN, done int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logN, &done); err != nil {
			return fmt.Errorf("clear free pages: checkpoint: %w", err)
		}
		fp.WALCheckpoints++
		fp.WALBusy = busy != 0
		return nil
	}
	if err := checkpoint(); err != nil {
		return fp, err
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fp, fmt.Errorf("clear free pages: vacuum: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM purge_pending WHERE kind = 'vacuum'"); err != nil {
		return fp, fmt.Errorf("clear free pages: %w", err)
	}
	// A reader (the web server's) can hold the WAL open for a moment; retry, and if it
	// never lets go, queue the clearing again for the next run rather than claim it done.
	for try := 0; ; try++ {
		if err := checkpoint(); err != nil {
			return fp, err
		}
		if !fp.WALBusy || try == checkpointTries-1 {
			break
		}
		select {
		case <-ctx.Done():
			return fp, ctx.Err()
		case <-time.After(checkpointWait):
		}
	}
	if fp.WALBusy {
		if _, err := conn.ExecContext(ctx, "INSERT OR IGNORE INTO purge_pending(kind, ref, queued_at) VALUES ('vacuum', 'db', ?)", s.ts()); err != nil {
			return fp, fmt.Errorf("clear free pages: requeue: %w", err)
		}
	}
	_ = conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&fp.PagesAfter)
	fp.DurationMS = time.Since(start).Milliseconds()
	return fp, nil
}

// DeletedItem is a soft-deleted item an admin can still restore.
type DeletedItem struct {
	Kind       string `json:"kind"` // matter or entry
	ID         string `json:"id"`
	Label      string `json:"label"`
	DeletedAt  string `json:"deleted_at"`
	PurgeAfter string `json:"purge_after"`
	Entries    int    `json:"entries,omitempty"`
	Recordings int    `json:"recordings,omitempty"`
	Exports    int    `json:"exports,omitempty"`
}

// Kinds of deleted items.
const (
	DeletedMatter = "matter"
	DeletedEntry  = "entry"
)

// DeletedItems lists what is soft-deleted: matters retention deleted (with what went with
// them) and entries users deleted, oldest deletion first. PurgeAfter is the end of the grace.
func (s *Store) DeletedItems(ctx context.Context) ([]DeletedItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT 'matter', m.id, m.number || ' · ' || c.name || ' · ' || m.name, m.deleted_at,
			(SELECT count(*) FROM entries WHERE deleted_with = m.id), (SELECT count(*) FROM recordings WHERE deleted_with = m.id),
			(SELECT count(*) FROM exports WHERE deleted_with = m.id)
		FROM matters m JOIN clients c ON c.id = m.client_id WHERE m.deleted_at IS NOT NULL
		UNION ALL
		SELECT 'entry', e.id, e.date || ' · ' || u.username || ' · ' || printf('%.1f h', e.tenths / 10.0), e.deleted_at, 0, 0, 0
		FROM entries e JOIN users u ON u.id = e.user_id WHERE e.deleted_at IS NOT NULL AND e.deleted_with IS NULL`)
	items, err := collect(rows, err, "deleted items", func(r *sql.Rows) (DeletedItem, error) {
		var d DeletedItem
		err := r.Scan(&d.Kind, &d.ID, &d.Label, &d.DeletedAt, &d.Entries, &d.Recordings, &d.Exports)
		if t, ok := parseTS(d.DeletedAt); ok {
			d.PurgeAfter = t.Add(entry.GracePeriod).UTC().Format(time.RFC3339)
		}
		return d, err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool {
		ti, _ := parseTS(items[i].DeletedAt)
		tj, _ := parseTS(items[j].DeletedAt)
		return ti.Before(tj)
	})
	return items, nil
}

// RestoreMatter undoes retention's soft delete of a matter within the grace period: the
// matter, and the entries, recordings and exports deleted with it, come back. The matter
// stays closed, and its retention window starts again from now.
func (s *Store) RestoreMatter(ctx context.Context, a identity.Actor, id string) (*DeletedItem, error) {
	var out DeletedItem
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var deleted sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT number, deleted_at FROM matters WHERE id = ?", id).Scan(&out.Label, &deleted)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("restore matter: %w", err)
		}
		if !deleted.Valid {
			return fmt.Errorf("%w: matter %s is not deleted", entry.ErrConflict, out.Label)
		}
		if t, ok := parseTS(deleted.String); ok && s.now().Sub(t) > entry.GracePeriod {
			return fmt.Errorf("%w: the %d-day grace period of matter %s is over; it is purged at the next retention run", entry.ErrConflict, int(entry.GracePeriod.Hours()/24), out.Label)
		}
		now := s.ts()
		out.Kind, out.ID, out.DeletedAt = DeletedMatter, id, deleted.String
		for _, t := range []struct {
			table string
			n     *int
		}{{"entries", &out.Entries}, {"recordings", &out.Recordings}, {"exports", &out.Exports}} {
			n, err := execCount(ctx, tx, "UPDATE "+t.table+" SET deleted_at = NULL, deleted_with = NULL WHERE deleted_with = ?", id)
			if err != nil {
				return fmt.Errorf("restore matter %s: %s: %w", id, t.table, err)
			}
			*t.n = n
		}
		if _, err := tx.ExecContext(ctx, "UPDATE matters SET deleted_at = NULL, retention_restored_at = ?, updated_at = ? WHERE id = ?", now, now, id); err != nil {
			return fmt.Errorf("restore matter %s: %w", id, err)
		}
		return s.appendAudit(ctx, tx, a, "retention.restore", "matter", id, map[string]any{
			"entries": out.Entries, "recordings": out.Recordings, "exports": out.Exports})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditRetentionRun records one real retention run with its counts.
func (s *Store) AuditRetentionRun(ctx context.Context, a identity.Actor, counts map[string]any) error {
	return s.Audit(ctx, a, "retention.run", "retention", "", counts)
}
