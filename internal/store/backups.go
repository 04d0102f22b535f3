package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"dictum/internal/identity"
)

// Kinds of backup runs.
const (
	BackupKindBackup = "backup" // a backup file was written
	BackupKindVerify = "verify" // a backup file was checked end to end
	BackupKindDrill  = "drill"  // the newest backup was restored into a scratch dir and checked
)

// Statuses of backup runs.
const (
	BackupRunning = "running"
	BackupOK      = "ok"
	BackupFailed  = "failed"
)

// BackupRun is one backup, verify or restore-drill run. File is the backup file's base
// name (never a path, never a key).
type BackupRun struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	File       string         `json:"file,omitempty"`
	Status     string         `json:"status"`
	StartedAt  string         `json:"started_at"`
	FinishedAt string         `json:"finished_at,omitempty"`
	SizeBytes  int64          `json:"size_bytes"`
	Error      string         `json:"error,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
	Actor      string         `json:"actor"`
}

// StartBackupRun records a run as running and audits its start.
func (s *Store) StartBackupRun(ctx context.Context, a identity.Actor, kind, file string) (*BackupRun, error) {
	switch kind {
	case BackupKindBackup, BackupKindVerify, BackupKindDrill:
	default:
		return nil, fmt.Errorf("backup run: unknown kind %q", kind)
	}
	r := &BackupRun{ID: NewID("bkr"), Kind: kind, File: file, Status: BackupRunning, StartedAt: s.ts(), Actor: a.Username}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO backup_runs(id, kind, file, status, started_at, actor) VALUES (?,?,?,?,?,?)`,
			r.ID, r.Kind, r.File, r.Status, r.StartedAt, r.Actor); err != nil {
			return fmt.Errorf("record %s run: %w", kind, err)
		}
		return s.appendAudit(ctx, tx, a, kind+".start", "backup_run", r.ID, map[string]any{"file": file})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// FinishBackupRun records the outcome of a run (status ok or failed) and audits it.
// errMsg must not carry secrets; detail holds counts and names only.
func (s *Store) FinishBackupRun(ctx context.Context, a identity.Actor, id, status, file string, size int64, errMsg string, detail map[string]any) error {
	if status != BackupOK && status != BackupFailed {
		return fmt.Errorf("backup run: unknown status %q", status)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("backup run detail: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var kind string
		if err := tx.QueryRowContext(ctx, "SELECT kind FROM backup_runs WHERE id = ?", id).Scan(&kind); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("backup run %s: %w", id, ErrNotFound)
			}
			return fmt.Errorf("backup run %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE backup_runs SET status = ?, file = ?, finished_at = ?, size_bytes = ?, error = ?, detail = ? WHERE id = ?`,
			status, file, s.ts(), size, errMsg, string(d), id); err != nil {
			return fmt.Errorf("finish backup run: %w", err)
		}
		ad := map[string]any{"file": file, "size_bytes": size}
		for k, v := range detail {
			ad[k] = v
		}
		if errMsg != "" {
			ad["error"] = errMsg
		}
		return s.appendAudit(ctx, tx, a, kind+"."+status, "backup_run", id, ad)
	})
}

// FailStaleBackupRuns marks runs of kind still "running" as failed (interrupted): the
// caller holds the lock that every run of that kind holds, so none of them is alive.
func (s *Store) FailStaleBackupRuns(ctx context.Context, a identity.Actor, kind string) (int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, file FROM backup_runs WHERE kind = ? AND status = ?", kind, BackupRunning)
	runs, err := collect(rows, err, "stale backup runs", func(r *sql.Rows) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		if err := s.FinishBackupRun(ctx, a, r[0], BackupFailed, r[1], 0, "interrupted (the process stopped before the run finished)", nil); err != nil {
			return 0, err
		}
	}
	return len(runs), nil
}

const backupRunCols = "id, kind, file, status, started_at, coalesce(finished_at,''), size_bytes, error, detail, actor"

func scanBackupRun(r *sql.Rows) (*BackupRun, error) {
	var b BackupRun
	var d string
	if err := r.Scan(&b.ID, &b.Kind, &b.File, &b.Status, &b.StartedAt, &b.FinishedAt, &b.SizeBytes, &b.Error, &d, &b.Actor); err != nil {
		return nil, fmt.Errorf("scan backup run: %w", err)
	}
	_ = json.Unmarshal([]byte(d), &b.Detail)
	return &b, nil
}

// BackupRuns lists runs newest first; kind "" lists every kind.
func (s *Store) BackupRuns(ctx context.Context, kind string, limit int) ([]*BackupRun, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT " + backupRunCols + " FROM backup_runs"
	var args []any
	if kind != "" {
		q += " WHERE kind = ?"
		args = append(args, kind)
	}
	q += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	return collect(rows, err, "list backup runs", scanBackupRun)
}

// BackupRun returns one run.
func (s *Store) BackupRun(ctx context.Context, id string) (*BackupRun, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+backupRunCols+" FROM backup_runs WHERE id = ?", id)
	runs, err := collect(rows, err, "backup run", scanBackupRun)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("backup run %s: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

// LastVerifies returns, per backup file name, the newest finished verify or drill run
// that checked it.
func (s *Store) LastVerifies(ctx context.Context) (map[string]*BackupRun, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+backupRunCols+` FROM backup_runs
		WHERE kind IN ('verify','drill') AND status != 'running' AND file != '' ORDER BY started_at, rowid`)
	runs, err := collect(rows, err, "last verifies", scanBackupRun)
	if err != nil {
		return nil, err
	}
	out := map[string]*BackupRun{}
	for _, r := range runs {
		out[r.File] = r // later rows win
	}
	return out, nil
}
