package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dictum/internal/identity"
)

// Archive statuses. queued and running are unfinished; a restart turns them into failed.
const (
	ArchiveQueued  = "queued"
	ArchiveRunning = "running"
	ArchiveDone    = "done"
	ArchiveFailed  = "failed"
	ArchiveExpired = "expired"
)

// Archive is an archive job: a ZIP of a firm, a matter or a user, kept as an encrypted
// blob until it expires.
type Archive struct {
	ID            string  `json:"id"`
	Scope         string  `json:"scope"`
	Status        string  `json:"status"`
	Progress      int     `json:"progress"` // percent
	Error         string  `json:"error,omitempty"`
	BlobID        string  `json:"-"`
	SizeBytes     int64   `json:"size_bytes"`
	SHA256        string  `json:"sha256,omitempty"` // of the ZIP file as downloaded
	Files         int     `json:"files"`
	RequestedBy   string  `json:"requested_by"`
	RequestedByID int64   `json:"-"`
	CreatedAt     string  `json:"created_at"`
	StartedAt     *string `json:"started_at"`
	FinishedAt    *string `json:"finished_at"`
	ExpiresAt     *string `json:"expires_at"`
}

const archiveCols = `id, scope, status, progress, error, coalesce(blob_id,''), size_bytes, sha256, files, requested_by, requested_by_id,
	created_at, started_at, finished_at, expires_at`

func scanArchive(sc interface{ Scan(...any) error }) (*Archive, error) {
	var a Archive
	var started, finished, expires sql.NullString
	err := sc.Scan(&a.ID, &a.Scope, &a.Status, &a.Progress, &a.Error, &a.BlobID, &a.SizeBytes, &a.SHA256, &a.Files, &a.RequestedBy, &a.RequestedByID,
		&a.CreatedAt, &started, &finished, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	p := func(n sql.NullString) *string {
		if n.Valid {
			return &n.String
		}
		return nil
	}
	a.StartedAt, a.FinishedAt, a.ExpiresAt = p(started), p(finished), p(expires)
	return &a, nil
}

// CreateArchive records a requested archive (queued) and audits the request.
func (s *Store) CreateArchive(ctx context.Context, a identity.Actor, scope string) (*Archive, error) {
	id := NewID("arc")
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO archives(id, scope, status, requested_by, requested_by_id, created_at) VALUES (?,?,?,?,?,?)`,
			id, scope, ArchiveQueued, a.Username, a.UserID, s.ts()); err != nil {
			return fmt.Errorf("create archive: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "archive.request", "archive", id, map[string]any{"scope": scope})
	})
	if err != nil {
		return nil, err
	}
	return s.ArchiveByID(ctx, id)
}

// ArchiveByID reads an archive job without access checks.
func (s *Store) ArchiveByID(ctx context.Context, id string) (*Archive, error) {
	return scanArchive(s.db.QueryRowContext(ctx, "SELECT "+archiveCols+" FROM archives WHERE id = ?", id))
}

// Archives lists archive jobs, newest first; requestedByID > 0 lists one requester's.
func (s *Store) Archives(ctx context.Context, requestedByID int64, limit int) ([]*Archive, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT " + archiveCols + " FROM archives"
	var args []any
	if requestedByID > 0 {
		q += " WHERE requested_by_id = ?"
		args = append(args, requestedByID)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit)...)
	return collect(rows, err, "list archives", func(r *sql.Rows) (*Archive, error) { return scanArchive(r) })
}

// UnfinishedArchives counts the queued and running archives a user requested.
func (s *Store) UnfinishedArchives(ctx context.Context, requestedBy string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM archives WHERE requested_by = ? AND status IN ('queued','running')", requestedBy).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count archives: %w", err)
	}
	return n, nil
}

// StartArchive marks a queued archive running; false when it is no longer queued.
func (s *Store) StartArchive(ctx context.Context, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE archives SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'", s.ts(), id)
	if err != nil {
		return false, fmt.Errorf("start archive: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetArchiveProgress records a running archive's progress in percent.
func (s *Store) SetArchiveProgress(ctx context.Context, id string, pct int) error {
	_, err := s.db.ExecContext(ctx, "UPDATE archives SET progress = ? WHERE id = ? AND status = 'running'", max(0, min(100, pct)), id)
	if err != nil {
		return fmt.Errorf("archive progress: %w", err)
	}
	return nil
}

// ArchiveResult is what a finished archive recorded.
type ArchiveResult struct {
	BlobID    string
	SizeBytes int64
	SHA256    string
	Files     int
	Counts    map[string]int
	ExpiresAt time.Time
}

// FinishArchive marks a running archive done with its blob, and audits the completion.
func (s *Store) FinishArchive(ctx context.Context, a identity.Actor, id string, r ArchiveResult) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE archives SET status = 'done', progress = 100, blob_id = ?, size_bytes = ?, sha256 = ?, files = ?,
			finished_at = ?, expires_at = ? WHERE id = ? AND status = 'running'`,
			r.BlobID, r.SizeBytes, r.SHA256, r.Files, s.ts(), r.ExpiresAt.UTC().Format(time.RFC3339), id)
		if err != nil {
			return fmt.Errorf("finish archive: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("finish archive %s: %w (no longer running)", id, ErrNotFound)
		}
		return s.appendAudit(ctx, tx, a, "archive.complete", "archive", id, map[string]any{
			"size_bytes": r.SizeBytes, "sha256": r.SHA256, "files": r.Files, "counts": r.Counts})
	})
}

// FailArchive marks an unfinished archive failed and audits the reason (which must not
// carry secrets or content).
func (s *Store) FailArchive(ctx context.Context, a identity.Actor, id, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE archives SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued','running')",
			reason, s.ts(), id)
		if err != nil {
			return fmt.Errorf("fail archive: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		return s.appendAudit(ctx, tx, a, "archive.fail", "archive", id, map[string]any{"error": reason})
	})
}

// FailInterruptedArchives marks every queued or running archive failed: at start-up they
// belong to a process that is gone. It returns how many it marked.
func (s *Store) FailInterruptedArchives(ctx context.Context, a identity.Actor) (int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM archives WHERE status IN ('queued','running')")
	ids, err := collect(rows, err, "list unfinished archives", func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.FailArchive(ctx, a, id, "interrupted: the server stopped while the archive was being made; request it again"); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// DueArchives lists done archives whose expiry time has passed.
func (s *Store) DueArchives(ctx context.Context, now time.Time) ([]*Archive, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+archiveCols+" FROM archives WHERE status = 'done' AND expires_at <= ? ORDER BY expires_at",
		now.UTC().Format(time.RFC3339))
	return collect(rows, err, "list due archives", func(r *sql.Rows) (*Archive, error) { return scanArchive(r) })
}

// ExpireArchive records that an archive's blob was deleted, and audits it.
func (s *Store) ExpireArchive(ctx context.Context, a identity.Actor, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE archives SET status = 'expired', blob_id = NULL WHERE id = ? AND status = 'done'", id)
		if err != nil {
			return fmt.Errorf("expire archive: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		return s.appendAudit(ctx, tx, a, "archive.expire", "archive", id, nil)
	})
}

// ---- what an archive holds ----------------------------------------------------

// ArchiveScope is what an archive covers: the whole firm, one matter or one user.
type ArchiveScope struct {
	Kind     string // "firm", "matter" or "user"
	MatterID string // Kind "matter"
	UserID   int64  // Kind "user"
	Username string // Kind "user"
	Label    string // the scope as requested: "firm", "matter:<id>", "user:<name>"
	// ViewerID is who archives: entries, recordings and audit events of matters walled
	// off from them stay out (0: Dictum itself or the CLI).
	ViewerID int64
}

// entryCond selects the scope's entries (alias e).
func (sc ArchiveScope) entryCond() (string, []any) {
	vc, va := matterVisible("e.matter_id", sc.ViewerID)
	switch sc.Kind {
	case "matter":
		return "e.matter_id = ? AND " + vc, append([]any{sc.MatterID}, va...)
	case "user":
		return "e.user_id = ? AND " + vc, append([]any{sc.UserID}, va...)
	}
	return vc, va
}

// recordingCond selects the scope's recordings (alias r).
func (sc ArchiveScope) recordingCond() (string, []any) {
	// A recording that drafted an entry on a walled-off matter stays out whole: its
	// audio and transcript speak of that matter.
	vc, va := matterVisible("ew.matter_id", sc.ViewerID)
	walled := "NOT EXISTS (SELECT 1 FROM entries ew WHERE ew.recording_id = r.id AND NOT " + vc + ")"
	switch sc.Kind {
	case "matter":
		return "r.id IN (SELECT recording_id FROM entries WHERE matter_id = ? AND recording_id IS NOT NULL) AND " + walled, append([]any{sc.MatterID}, va...)
	case "user":
		return "r.user_id = ? AND " + walled, append([]any{sc.UserID}, va...)
	}
	return walled, va
}

// exportCond selects the kept exports of the scope (alias x): for a matter or a user,
// only exports every entry of which is in the scope, so an export that also holds another
// matter's or user's entries stays out.
func (sc ArchiveScope) exportCond() (string, []any) {
	if sc.Kind != "matter" && sc.Kind != "user" && sc.ViewerID == 0 {
		return "1=1", nil
	}
	ec, args := sc.entryCond()
	return `x.entry_count > 0 AND NOT EXISTS (SELECT 1 FROM json_each(x.entry_ids) j LEFT JOIN entries e ON e.id = j.value
		WHERE e.id IS NULL OR NOT (` + ec + `))`, args
}

// auditCond selects the scope's audit events (alias a): events on its entries,
// recordings, exports and archives, plus for a matter the matter's own events, and for a
// user their account's and tokens' events and what they did to objects no user owns
// (matters, settings, Clio). Events on another user's objects stay out.
func (sc ArchiveScope) auditCond() (string, []any) {
	if sc.Kind != "matter" && sc.Kind != "user" {
		return auditVisible(sc.ViewerID)
	}
	ec, ea := sc.entryCond()
	rc, ra := sc.recordingCond()
	xc, xa := sc.exportCond()
	cond := `((a.object_type = 'entry' AND a.object_id IN (SELECT e.id FROM entries e WHERE ` + ec + `))
		OR (a.object_type = 'recording' AND a.object_id IN (SELECT r.id FROM recordings r WHERE ` + rc + `))
		OR (a.object_type = 'export' AND a.object_id IN (SELECT x.id FROM exports x WHERE ` + xc + `))
		OR (a.object_type = 'archive' AND a.object_id IN (SELECT id FROM archives WHERE scope = ?))`
	args := append(append(append(ea, ra...), xa...), sc.Label)
	if sc.Kind == "matter" {
		cond += ` OR (a.object_type = 'matter' AND a.object_id = ?))`
		return cond, append(args, sc.MatterID)
	}
	cond += ` OR (a.object_type = 'user' AND a.object_id = ? COLLATE NOCASE)
		OR (a.object_type = 'token' AND a.object_id IN (SELECT CAST(id AS TEXT) FROM api_tokens WHERE user_id = ?))
		OR (a.actor = ? COLLATE NOCASE AND a.object_type NOT IN ('user','entry','recording','token','export','archive')))`
	return cond, append(args, sc.Username, sc.UserID, sc.Username)
}

// EachArchiveEntry streams the scope's entries, soft-deleted ones included, oldest first.
func (s *Store) EachArchiveEntry(ctx context.Context, sc ArchiveScope, fn func(*Entry) error) error {
	c, args := sc.entryCond()
	rows, err := s.db.QueryContext(ctx, "SELECT "+entryCols+" FROM entries e JOIN users u ON u.id = e.user_id WHERE "+c+" ORDER BY e.date, e.created_at, e.id", args...)
	if err != nil {
		return fmt.Errorf("archive entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachArchiveRecording streams the scope's recordings, oldest first.
func (s *Store) EachArchiveRecording(ctx context.Context, sc ArchiveScope, fn func(*Recording) error) error {
	c, args := sc.recordingCond()
	rows, err := s.db.QueryContext(ctx, "SELECT "+recCols+" FROM recordings r JOIN users u ON u.id = r.user_id WHERE "+c+" ORDER BY r.created_at, r.id", args...)
	if err != nil {
		return fmt.Errorf("archive recordings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ArchiveExports lists the scope's kept exports, oldest first.
func (s *Store) ArchiveExports(ctx context.Context, sc ArchiveScope) ([]*Export, error) {
	c, args := sc.exportCond()
	rows, err := s.db.QueryContext(ctx, `SELECT id, format, params, entry_ids, entry_count, tenths, marked, blob_id, size_bytes, filename, created_by, created_at
		FROM exports x WHERE `+c+` ORDER BY created_at, id`, args...)
	return collect(rows, err, "archive exports", func(r *sql.Rows) (*Export, error) { return scanExport(r) })
}

// ArchiveMatters lists the matters of a scope: all (firm), the one (matter), or those the
// user's entries name (user).
func (s *Store) ArchiveMatters(ctx context.Context, sc ArchiveScope) ([]*Matter, error) {
	vc, args := matterVisible("m.id", sc.ViewerID)
	q := "SELECT " + matterCols + " FROM matters m JOIN clients c ON c.id = m.client_id WHERE " + vc
	switch sc.Kind {
	case "matter":
		q += " AND m.id = ?"
		args = append(args, sc.MatterID)
	case "user":
		q += " AND m.id IN (SELECT matter_id FROM entries WHERE user_id = ? AND matter_id IS NOT NULL)"
		args = append(args, sc.UserID)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY m.number", args...)
	return collect(rows, err, "archive matters", func(r *sql.Rows) (*Matter, error) { return scanMatter(r) })
}

// ArchiveAudioBytes is the plaintext size of the scope's kept audio and exports (the
// denominator of an archive's progress).
func (s *Store) ArchiveAudioBytes(ctx context.Context, sc ArchiveScope) (int64, error) {
	rc, ra := sc.recordingCond()
	xc, xa := sc.exportCond()
	var a, x int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sum(r.size_bytes),0) FROM recordings r WHERE r.blob_id IS NOT NULL AND "+rc, ra...).Scan(&a); err != nil {
		return 0, fmt.Errorf("archive size: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sum(x.size_bytes),0) FROM exports x WHERE "+xc, xa...).Scan(&x); err != nil {
		return 0, fmt.Errorf("archive size: %w", err)
	}
	return a + x, nil
}
