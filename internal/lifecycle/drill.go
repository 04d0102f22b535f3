package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dictum/internal/identity"
	"dictum/internal/store"
)

// DrillMaxAge is how old the last successful restore drill may be before the admin UI
// shows it red.
const DrillMaxAge = 8 * 24 * time.Hour

// Verify checks a backup end to end (see VerifyFile) and records the result.
func (b *Backups) Verify(ctx context.Context, a identity.Actor, path string) (*Manifest, error) {
	run, err := b.st.StartBackupRun(ctx, a, store.BackupKindVerify, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	man, verr := VerifyFile(ctx, path, b.keys.Backup(), b.scratchDir())
	return man, b.finish(ctx, a, run, path, start, man, verr)
}

// finish records a verify or drill outcome; it returns the run's own error (verr) unless
// recording fails.
func (b *Backups) finish(ctx context.Context, a identity.Actor, run *store.BackupRun, path string, start time.Time, man *Manifest, verr error) error {
	status, msg := store.BackupOK, ""
	detail := map[string]any{"took_ms": time.Since(start).Milliseconds()}
	if verr != nil {
		status, msg = store.BackupFailed, verr.Error()
		var me *MemberError
		if errors.As(verr, &me) {
			detail["member"] = me.Member
		}
	}
	if man != nil {
		detail["blobs"] = man.Blobs
		detail["audit_head"] = man.AuditHead.ID
		detail["backup_created_at"] = man.CreatedAt
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	if err := b.st.FinishBackupRun(context.WithoutCancel(ctx), a, run.ID, status, filepath.Base(path), size, msg, detail); err != nil {
		return errors.Join(verr, err)
	}
	return verr
}

// Drill restores the newest backup into a scratch directory with this server's keys,
// checks it as a restore does (every byte, every hash, integrity_check, the audit chain,
// the row counts), deletes it and records the result. A missing or damaged newest backup
// is a failed drill.
func (b *Backups) Drill(ctx context.Context, a identity.Actor) (*RestoreResult, error) {
	unlock, err := b.lock("drill")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if n, err := b.st.FailStaleBackupRuns(ctx, identity.System(), store.BackupKindDrill); err != nil {
		return nil, err
	} else if n > 0 {
		b.log.Warn("marked interrupted restore drills as failed", "count", n)
	}
	if ents, err := os.ReadDir(b.scratchDir()); err == nil {
		for _, e := range ents {
			stale := strings.HasPrefix(e.Name(), "drill-")
			if strings.HasPrefix(e.Name(), "verify-") { // no lock: only those a day old
				fi, err := e.Info()
				stale = err == nil && time.Since(fi.ModTime()) > 24*time.Hour
			}
			if stale {
				_ = os.RemoveAll(filepath.Join(b.scratchDir(), e.Name()))
			}
		}
	}
	files, err := b.Files(ctx)
	if err != nil {
		return nil, err
	}
	name := ""
	if len(files) > 0 {
		name = files[0].Name
	}
	run, err := b.st.StartBackupRun(ctx, a, store.BackupKindDrill, name)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if name == "" {
		return nil, b.finish(ctx, a, run, "", start, nil, fmt.Errorf("%w in %s: nothing to restore", ErrNoBackup, b.dir))
	}
	path := filepath.Join(b.dir, name)
	res, derr := b.drillOnce(ctx, a, path)
	var man *Manifest
	if res != nil {
		man = res.Manifest
	}
	return res, b.finish(ctx, a, run, path, start, man, derr)
}

func (b *Backups) drillOnce(ctx context.Context, a identity.Actor, path string) (*RestoreResult, error) {
	if err := os.MkdirAll(b.scratchDir(), 0o700); err != nil {
		return nil, fmt.Errorf("drill: scratch directory: %w", err)
	}
	tmp, err := os.MkdirTemp(b.scratchDir(), "drill-")
	if err != nil {
		return nil, fmt.Errorf("drill: scratch directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	return Restore(ctx, RestoreOptions{File: path, DataDir: filepath.Join(tmp, "data"), BackupKey: b.keys.Backup(),
		Target: b.keys, Actor: a, Now: b.now})
}

// ScheduledDrill is the cron job for the restore drill.
func (b *Backups) ScheduledDrill(ctx context.Context) error {
	res, err := b.Drill(ctx, identity.System())
	if errors.Is(err, ErrBusy) {
		b.log.Info("scheduled restore drill skipped: another drill is running")
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore drill failed: %w", err)
	}
	b.log.Info("restore drill passed", "blobs", res.Manifest.Blobs, "audit_events", res.AuditEvents, "took", res.Took.String())
	return nil
}

// Status is what the admin page and GET /api/v1/backups show.
type Status struct {
	Dir     string             `json:"dir"`
	Backups []BackupFile       `json:"backups"`
	Runs    []*store.BackupRun `json:"runs"` // recent runs of every kind, newest first
	// LastDrill is the newest finished restore drill (nil: never ran).
	LastDrill *store.BackupRun `json:"last_drill"`
	// DrillOK is false when there is no drill, the last one failed, or it is older than
	// DrillMaxAge: the UI shows it red.
	DrillOK bool `json:"drill_ok"`
	// DrillProblem says why DrillOK is false.
	DrillProblem string `json:"drill_problem,omitempty"`
}

// Status lists the backups, recent runs and the restore-drill state.
func (b *Backups) Status(ctx context.Context) (*Status, error) {
	files, err := b.Files(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := b.st.BackupRuns(ctx, "", 20)
	if err != nil {
		return nil, err
	}
	drills, err := b.st.BackupRuns(ctx, store.BackupKindDrill, 20)
	if err != nil {
		return nil, err
	}
	s := &Status{Dir: b.dir, Backups: files, Runs: runs}
	for _, d := range drills {
		if d.Status != store.BackupRunning {
			s.LastDrill = d
			break
		}
	}
	switch {
	case s.LastDrill == nil:
		s.DrillProblem = "no restore drill has run yet"
	case s.LastDrill.Status != store.BackupOK:
		s.DrillProblem = "the last restore drill failed: " + s.LastDrill.Error
	default:
		at, err := time.Parse(time.RFC3339Nano, s.LastDrill.FinishedAt)
		if err != nil || b.now().Sub(at) > DrillMaxAge {
			s.DrillProblem = "the last successful restore drill is older than 8 days"
		} else {
			s.DrillOK = true
		}
	}
	return s, nil
}
