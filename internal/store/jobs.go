package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Job is a persistent background job.
type Job struct {
	ID          int64
	Kind        string
	Ref         string
	Status      string
	Attempts    int
	MaxAttempts int
	LastError   string
}

// ClaimJob takes a runnable queued job of a kind, marking it running and counting the
// attempt. It is fair between lawyers: among runnable jobs it picks one of the lawyer whose
// last claimed job is oldest (or who has none), and that lawyer's oldest job; jobs whose
// ref is not a recording count as one "user" 0. It returns ErrNotFound when nothing is
// runnable.
func (s *Store) ClaimJob(ctx context.Context, kind string) (*Job, error) {
	var j Job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		err := tx.QueryRowContext(ctx, `WITH cand AS (
				SELECT j.id, coalesce(r.user_id, 0) AS uid FROM jobs j LEFT JOIN recordings r ON r.id = j.ref
				WHERE j.kind = ? AND j.status = 'queued' AND j.run_after <= ?),
			served AS (
				SELECT coalesce(r.user_id, 0) AS uid, max(j.claim_seq) AS seq FROM jobs j LEFT JOIN recordings r ON r.id = j.ref
				WHERE j.kind = ? AND j.claim_seq IS NOT NULL AND coalesce(r.user_id, 0) IN (SELECT uid FROM cand)
				GROUP BY 1)
			SELECT j.id, j.kind, j.ref, j.status, j.attempts, j.max_attempts, j.last_error
			FROM cand JOIN jobs j ON j.id = cand.id LEFT JOIN served ON served.uid = cand.uid
			ORDER BY coalesce(served.seq, 0), cand.id LIMIT 1`, kind, now, kind).
			Scan(&j.ID, &j.Kind, &j.Ref, &j.Status, &j.Attempts, &j.MaxAttempts, &j.LastError)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		j.Attempts++
		j.Status = "running"
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status='running', attempts=?, started_at=?,
			claim_seq=(SELECT coalesce(max(claim_seq), 0) + 1 FROM jobs) WHERE id=?`, j.Attempts, now, j.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// CompleteJob marks a job done.
func (s *Store) CompleteJob(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, "UPDATE jobs SET status='done', finished_at=?, last_error='' WHERE id=?", s.ts(), id)
	return err
}

// FailJob records a failure: the job is queued again after backoff, or marked failed once
// it has used its attempts. It reports whether the failure was final.
func (s *Store) FailJob(ctx context.Context, j *Job, reason string, backoff time.Duration) (final bool, err error) {
	if j.Attempts >= j.MaxAttempts {
		return true, s.FailJobNow(ctx, j.ID, reason)
	}
	_, err = s.db.ExecContext(ctx, "UPDATE jobs SET status='queued', last_error=?, run_after=? WHERE id=?", reason,
		s.now().Add(backoff).UTC().Format(time.RFC3339Nano), j.ID)
	if err != nil {
		return false, fmt.Errorf("fail job %d: %w", j.ID, err)
	}
	return false, nil
}

// FailJobNow marks a job failed for good (an error that retrying cannot fix).
func (s *Store) FailJobNow(ctx context.Context, id int64, reason string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE jobs SET status='failed', last_error=?, finished_at=? WHERE id=?", reason, s.ts(), id)
	if err != nil {
		return fmt.Errorf("fail job %d: %w", id, err)
	}
	return nil
}

// DeferJob puts a job back without spending an attempt (e.g. the model is missing).
func (s *Store) DeferJob(ctx context.Context, j *Job, reason string, delay time.Duration) error {
	_, err := s.db.ExecContext(ctx, "UPDATE jobs SET status='queued', attempts=attempts-1, last_error=?, run_after=? WHERE id=?",
		reason, s.now().Add(delay).UTC().Format(time.RFC3339Nano), j.ID)
	return err
}

// RecoverJobs re-queues jobs left running by a crash; they run again (their attempt counts).
func (s *Store) RecoverJobs(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE jobs SET status='queued', last_error='interrupted by a restart', run_after=? WHERE status='running'", s.ts())
	if err != nil {
		return 0, fmt.Errorf("recover jobs: %w", err)
	}
	return res.RowsAffected()
}

// CancelJobs cancels queued jobs for a ref.
func (s *Store) CancelJobs(ctx context.Context, kind, ref string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE jobs SET status='cancelled', finished_at=? WHERE kind=? AND ref=? AND status IN ('queued','running')", s.ts(), kind, ref)
	return err
}

// JobStatus reads a job's status by ref (latest job for it).
func (s *Store) JobStatus(ctx context.Context, kind, ref string) (string, error) {
	var st string
	err := s.db.QueryRowContext(ctx, "SELECT status FROM jobs WHERE kind=? AND ref=? ORDER BY id DESC LIMIT 1", kind, ref).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return st, err
}

// QueueDepth counts queued and running jobs of a kind.
func (s *Store) QueueDepth(ctx context.Context, kind string) (queued, running int, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT coalesce(sum(status='queued'),0), coalesce(sum(status='running'),0) FROM jobs WHERE kind=?", kind).Scan(&queued, &running)
	return
}
