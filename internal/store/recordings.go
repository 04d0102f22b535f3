package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

// Recording statuses.
const (
	RecQueued       = "queued"
	RecTranscribing = "transcribing"
	RecDrafting     = "drafting"
	RecDone         = "done"
	RecFailed       = "failed"
)

// Recording is an uploaded dictation.
type Recording struct {
	ID           string  `json:"id"`
	UserID       int64   `json:"-"`
	Owner        string  `json:"owner"`
	BlobID       *string `json:"-"`
	ContentType  string  `json:"content_type"`
	Format       string  `json:"format"`
	SizeBytes    int64   `json:"size_bytes"`
	DurationMs   int64   `json:"duration_ms"`
	Status       string  `json:"status"`
	StatusDetail string  `json:"status_detail,omitempty"`
	Progress     int     `json:"progress"`
	Transcript   *string `json:"transcript"`
	Segments     *string `json:"-"`
	Error        *string `json:"error"`
	EntryID      *string `json:"entry_id"`
	// EntryIDs are all drafts of the recording in spoken order (filled by
	// RecordingFor); EntryID is the first.
	EntryIDs       []string `json:"entry_ids"`
	AudioDeletedAt *string  `json:"audio_deleted_at"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	IdemKey        string   `json:"-"` // the client's Idempotency-Key, if it sent one
}

// HasAudio reports whether the audio is still kept.
func (r *Recording) HasAudio() bool { return r.BlobID != nil }

const recCols = `r.id, r.user_id, u.username, r.blob_id, r.content_type, r.format, r.size_bytes, r.duration_ms, r.status, r.status_detail, r.progress,
	r.transcript, r.segments, r.error, r.entry_id, r.audio_deleted_at, r.created_at, r.updated_at`

func scanRecording(sc interface{ Scan(...any) error }) (*Recording, error) {
	var r Recording
	var blob, tr, seg, er, ent, del sql.NullString
	err := sc.Scan(&r.ID, &r.UserID, &r.Owner, &blob, &r.ContentType, &r.Format, &r.SizeBytes, &r.DurationMs, &r.Status, &r.StatusDetail, &r.Progress,
		&tr, &seg, &er, &ent, &del, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	p := func(n sql.NullString) *string {
		if n.Valid {
			return &n.String
		}
		return nil
	}
	r.BlobID, r.Transcript, r.Segments, r.Error, r.EntryID, r.AudioDeletedAt = p(blob), p(tr), p(seg), p(er), p(ent), p(del)
	return &r, nil
}

// JobTranscribe is the job kind for transcribing a recording.
const JobTranscribe = "transcribe"

// CreateRecording stores a recording row for a committed blob and queues its job, in one transaction.
func (s *Store) CreateRecording(ctx context.Context, a identity.Actor, r *Recording, maxAttempts int) error {
	if r.ID == "" {
		r.ID = NewID("rec")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		_, err := tx.ExecContext(ctx, `INSERT INTO recordings(id, user_id, blob_id, content_type, format, size_bytes, duration_ms, status, created_at, updated_at, idempotency_key)
			VALUES (?,?,?,?,?,?,?,'queued',?,?,?)`, r.ID, r.UserID, r.BlobID, r.ContentType, r.Format, r.SizeBytes, r.DurationMs, now, now, nullStr(r.IdemKey))
		if isUnique(err) {
			return fmt.Errorf("recording with idempotency key %q: %w", r.IdemKey, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create recording: %w", err)
		}
		r.Status, r.CreatedAt, r.UpdatedAt = RecQueued, now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs(kind, ref, status, max_attempts, run_after, created_at) VALUES (?,?,'queued',?,?,?)`,
			JobTranscribe, r.ID, maxAttempts, now, now); err != nil {
			return fmt.Errorf("queue transcription: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "recording.create", "recording", r.ID, map[string]any{"bytes": r.SizeBytes, "format": r.Format})
	})
}

// RecordingByID reads a recording without access checks.
func (s *Store) RecordingByID(ctx context.Context, id string) (*Recording, error) {
	return scanRecording(s.db.QueryRowContext(ctx, "SELECT "+recCols+" FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.id = ?", id))
}

// RecordingByIdemKey finds a user's recording by the client's Idempotency-Key.
func (s *Store) RecordingByIdemKey(ctx context.Context, userID int64, key string) (*Recording, error) {
	return scanRecording(s.db.QueryRowContext(ctx, "SELECT "+recCols+" FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.user_id = ? AND r.idempotency_key = ?", userID, key))
}

// RecordingFor reads a recording the principal may see (owner, billing, admin); others get ErrNotFound.
func (s *Store) RecordingFor(ctx context.Context, p identity.Actor, id string) (*Recording, error) {
	// A recording that drafted an entry on a matter walled off from p speaks of that
	// matter (audio, transcript): it is not found, like the matter.
	vc, va := matterVisible("ew.matter_id", p.UserID)
	r, err := scanRecording(s.db.QueryRowContext(ctx, "SELECT "+recCols+" FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.id = ? AND r.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM entries ew WHERE ew.recording_id = r.id AND NOT "+vc+")",
		append([]any{id}, va...)...))
	if err != nil {
		return nil, err
	}
	if entry.CanView(p, entry.State{OwnerID: r.UserID}) != nil {
		return nil, ErrNotFound
	}
	if r.EntryIDs, err = s.recordingEntryIDs(ctx, r.ID); err != nil {
		return nil, err
	}
	return r, nil
}

// recordingEntryIDs lists the drafts made from a recording in spoken order.
func (s *Store) recordingEntryIDs(ctx context.Context, recID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM entries WHERE recording_id = ? ORDER BY source_seq, created_at, id", recID)
	if err != nil {
		return nil, fmt.Errorf("recording entries: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("recording entries: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Recordings lists a user's recordings, newest first (all users when userID is 0).
func (s *Store) Recordings(ctx context.Context, userID int64, limit int) ([]*Recording, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT " + recCols + " FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.deleted_at IS NULL"
	var args []any
	if userID != 0 {
		q += " AND r.user_id = ?"
		args = append(args, userID)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY r.created_at DESC LIMIT ?", args...)
	list, err := collect(rows, err, "list recordings", func(r *sql.Rows) (*Recording, error) { return scanRecording(r) })
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if r.EntryIDs, err = s.recordingEntryIDs(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// SetRecordingStatus updates status, a human-readable detail and progress.
func (s *Store) SetRecordingStatus(ctx context.Context, id, status, detail string, progress int) error {
	_, err := s.db.ExecContext(ctx, "UPDATE recordings SET status=?, status_detail=?, progress=?, updated_at=? WHERE id=?", status, detail, progress, s.ts(), id)
	if err != nil {
		return fmt.Errorf("update recording %s: %w", id, err)
	}
	return nil
}

// SetTranscript stores the transcript and its segments (JSON).
func (s *Store) SetTranscript(ctx context.Context, id, text, segmentsJSON string, durationMs int64) error {
	_, err := s.db.ExecContext(ctx, "UPDATE recordings SET transcript=?, segments=?, duration_ms=?, status='drafting', status_detail='', progress=100, updated_at=? WHERE id=?",
		text, segmentsJSON, durationMs, s.ts(), id)
	if err != nil {
		return fmt.Errorf("store transcript %s: %w", id, err)
	}
	return nil
}

// FinishRecording creates the draft entry for a transcribed recording and marks it done, atomically.
func (s *Store) FinishRecording(ctx context.Context, recID string, n NewEntry) (string, error) {
	ids, err := s.FinishRecordingEntries(ctx, recID, []NewEntry{n})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// FinishRecordingEntries creates the draft entries of a transcribed recording (several
// entries from one dictation, in spoken order) and marks it done, atomically. The
// recording's entry_id is the first. A retried job gets the drafts that already exist.
func (s *Store) FinishRecordingEntries(ctx context.Context, recID string, ns []NewEntry) ([]string, error) {
	if len(ns) == 0 {
		return nil, fmt.Errorf("finish recording %s: no drafts", recID)
	}
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var existing sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT entry_id FROM recordings WHERE id = ?", recID).Scan(&existing); err != nil {
			return fmt.Errorf("finish recording %s: %w", recID, err)
		}
		if existing.Valid { // a retried job: the drafts already exist
			rows, err := tx.QueryContext(ctx, "SELECT id FROM entries WHERE recording_id = ? ORDER BY source_seq, created_at, id", recID)
			if err != nil {
				return fmt.Errorf("finish recording %s: %w", recID, err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return fmt.Errorf("finish recording %s: %w", recID, err)
				}
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				ids = []string{existing.String}
			}
			return rows.Err()
		}
		for k, n := range ns {
			id := NewID("ent")
			n.RecordingID = recID
			n.Seq = k
			if err := s.createEntryTx(ctx, tx, identity.System(), id, n); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE recordings SET entry_id=?, status='done', status_detail='', progress=100, error=NULL, updated_at=? WHERE id=?", ids[0], s.ts(), recID); err != nil {
			return fmt.Errorf("finish recording %s: %w", recID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// FailRecording marks a recording failed with a reason the user can read.
func (s *Store) FailRecording(ctx context.Context, id, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE recordings SET status='failed', error=?, status_detail='', updated_at=? WHERE id=?", reason, s.ts(), id); err != nil {
			return fmt.Errorf("fail recording %s: %w", id, err)
		}
		return s.appendAudit(ctx, tx, identity.System(), "recording.fail", "recording", id, map[string]any{"reason": reason})
	})
}

// DeleteRecordingAudio forgets a recording's audio (owner only); the transcript and entry remain.
// It returns the blob id for the caller to remove from the blob store.
func (s *Store) DeleteRecordingAudio(ctx context.Context, p identity.Actor, id string) (string, error) {
	var blobID string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRecording(tx.QueryRowContext(ctx, "SELECT "+recCols+" FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.id = ? AND r.deleted_at IS NULL", id))
		if err != nil {
			return err
		}
		if r.UserID != p.UserID {
			if entry.CanView(p, entry.State{OwnerID: r.UserID}) != nil {
				return ErrNotFound
			}
			return fmt.Errorf("%w: only the recording's owner deletes its audio", entry.ErrForbidden)
		}
		if r.BlobID == nil {
			return fmt.Errorf("%w: the audio was already deleted", entry.ErrConflict)
		}
		blobID = *r.BlobID
		now := s.ts()
		if _, err := tx.ExecContext(ctx, "UPDATE recordings SET blob_id=NULL, audio_deleted_at=?, updated_at=? WHERE id=?", now, now, id); err != nil {
			return fmt.Errorf("delete audio: %w", err)
		}
		// A queued job has nothing left to transcribe.
		if _, err := tx.ExecContext(ctx, "UPDATE jobs SET status='cancelled', finished_at=? WHERE kind=? AND ref=? AND status='queued'", now, JobTranscribe, id); err != nil {
			return fmt.Errorf("cancel job: %w", err)
		}
		if r.Status == RecQueued {
			if _, err := tx.ExecContext(ctx, "UPDATE recordings SET status='failed', error='audio deleted before transcription' WHERE id=?", id); err != nil {
				return fmt.Errorf("delete audio: %w", err)
			}
		}
		return s.appendAudit(ctx, tx, p, "recording.audio_delete", "recording", id, nil)
	})
	return blobID, err
}

// UploadedSince sums the bytes of the recordings a user uploaded at or after since and
// says when the oldest of them arrived (zero when none): the window of the daily upload
// quota. Recordings whose audio was deleted still count (deleting does not refund quota).
func (s *Store) UploadedSince(ctx context.Context, userID int64, since time.Time) (int64, time.Time, error) {
	var total int64
	var oldest sql.NullString
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(size_bytes), 0), MIN(created_at) FROM recordings WHERE user_id = ? AND created_at >= ?",
		userID, since.UTC().Format(time.RFC3339Nano)).Scan(&total, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("uploaded bytes: %w", err)
	}
	var at time.Time
	if oldest.Valid {
		at, _ = time.Parse(time.RFC3339Nano, oldest.String)
	}
	return total, at, nil
}
