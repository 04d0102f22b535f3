package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dictum/internal/blob"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// Retention applies the firm's retention policy (internal/settings: retention_days,
// retention_auto_delete, audio_retention_days). One run, in this order:
//
//  1. finishes what an interrupted run left (blobs queued for removal);
//  2. with auto-delete on and a window set, soft-deletes the matters closed longer than
//     the window, with their entries, recordings and exports (restorable for
//     entry.GracePeriod, 30 days: Restore);
//  3. with an audio window set, removes the audio of recordings whose entries were all
//     approved longer ago than the window;
//  4. with auto-delete on, purges what was soft-deleted longer ago than the grace period
//     (retention's matters and entries users deleted): rows deleted with secure_delete on,
//     then blobs removed, then the database's free pages cleared (VACUUM + WAL truncate);
//  5. audits the run with its counts.
//
// Auto-delete off (the default) means Dictum deletes nothing on its own except audio, and
// that only when an admin set an audio window. Audit events are never deleted: they hold
// ids and counts, not content. Exported or synced entries of an open matter are never
// touched: only closed matters expire.
//
// Every step is crash-safe: rows go in one transaction, blobs only after it committed (by
// the id list the transaction wrote), and the free-page clearing is a queued to-do; kill
// the process anywhere and the next run completes the work.
type Retention struct {
	d  RetentionDeps
	mu sync.Mutex // one run at a time in this process
}

// RetentionDeps are what Retention needs.
type RetentionDeps struct {
	Store    *store.Store
	Blobs    *blob.Store
	Settings *settings.Service
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Pause, when set, is called at the purge's phase boundaries (PhaseBeforeCommit, ...):
	// the crash tests stop the process there.
	Pause func(phase string)
}

// Phases of a purge where Pause is called.
const (
	PhaseBeforeCommit = "purge-before-commit" // every row deleted, transaction still open
	PhaseCommitted    = "purge-committed"     // rows gone, blobs not yet removed
	PhaseBlobsRemoved = "blobs-removed"       // blobs gone, free pages not yet cleared
)

// NewRetention builds the retention service.
func NewRetention(d RetentionDeps) *Retention {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Retention{d: d}
}

// Policy is the retention policy a run applied.
type Policy struct {
	RetentionDays      int  `json:"retention_days"` // 0 = indefinite
	AutoDelete         bool `json:"auto_delete"`
	AudioRetentionDays int  `json:"audio_retention_days"` // 0 = off
	GraceDays          int  `json:"grace_days"`
}

// RunCounts are the numbers of a run (the audit event's detail).
type RunCounts struct {
	MattersSoftDeleted    int `json:"matters_soft_deleted"`
	EntriesSoftDeleted    int `json:"entries_soft_deleted"`
	RecordingsSoftDeleted int `json:"recordings_soft_deleted"`
	ExportsSoftDeleted    int `json:"exports_soft_deleted"`
	AudioDeleted          int `json:"audio_deleted"`
	MattersPurged         int `json:"matters_purged"`
	EntriesPurged         int `json:"entries_purged"`
	RecordingsPurged      int `json:"recordings_purged"`
	ExportsPurged         int `json:"exports_purged"`
	BlobsRemoved          int `json:"blobs_removed"`
	Skipped               int `json:"skipped"`
}

// Report is what a run did, or with DryRun what the next run would do.
type Report struct {
	DryRun       bool                   `json:"dry_run"`
	At           string                 `json:"at"`
	Policy       Policy                 `json:"policy"`
	SoftDeleted  store.SoftDeleteResult `json:"soft_deleted"`
	AudioDeleted []store.AudioRemoval   `json:"audio_deleted"`
	Purged       store.PurgeResult      `json:"purged"`
	// PendingBlobs are blobs an interrupted run left queued (removed first by a real run).
	PendingBlobs int              `json:"pending_blobs"`
	FreePages    *store.FreePages `json:"free_pages,omitempty"`
	Counts       RunCounts        `json:"counts"`
}

func (r *Retention) pause(phase string) {
	if r.d.Pause != nil {
		r.d.Pause(phase)
	}
}

// Policy reads the firm's retention policy.
func (r *Retention) Policy(ctx context.Context) (Policy, error) {
	f, err := r.d.Settings.Firm(ctx)
	if err != nil {
		return Policy{}, err
	}
	return Policy{RetentionDays: f.RetentionDays, AutoDelete: f.RetentionAutoDelete, AudioRetentionDays: f.AudioRetentionDays,
		GraceDays: int(entry.GracePeriod / (24 * time.Hour))}, nil
}

const day = 24 * time.Hour

// Run applies the policy once. With dryRun nothing changes and nothing is audited: the
// report says what a real run at this moment would do (computed by the same statements,
// rolled back).
func (r *Retention) Run(ctx context.Context, a identity.Actor, dryRun bool) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pol, err := r.Policy(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	now := r.d.Now()
	rep := &Report{DryRun: dryRun, At: now.UTC().Format(time.RFC3339), Policy: pol,
		SoftDeleted:  store.SoftDeleteResult{Matters: []store.RetentionMatter{}, Skipped: []store.RetentionSkip{}},
		AudioDeleted: []store.AudioRemoval{},
		Purged:       store.PurgeResult{Matters: []store.RetentionMatter{}, Entries: []string{}, Skipped: []store.RetentionSkip{}}}
	pending, err := r.d.Store.PendingBlobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	rep.PendingBlobs = len(pending)
	if !dryRun {
		// An interrupted run's blobs first: their rows are already gone.
		if _, err := r.removeBlobs(ctx); err != nil {
			return nil, err
		}
	}
	st := r.d.Store
	if pol.AutoDelete && pol.RetentionDays > 0 {
		if rep.SoftDeleted, err = st.RetentionSoftDelete(ctx, a, now.Add(-time.Duration(pol.RetentionDays)*day), dryRun); err != nil {
			return nil, fmt.Errorf("retention: soft delete: %w", err)
		}
	}
	if pol.AudioRetentionDays > 0 {
		if rep.AudioDeleted, err = st.RetentionDeleteAudio(ctx, a, now.Add(-time.Duration(pol.AudioRetentionDays)*day), dryRun); err != nil {
			return nil, fmt.Errorf("retention: audio: %w", err)
		}
	}
	if pol.AutoDelete {
		opts := store.PurgeOptions{Entries: true, BeforeCommit: func() { r.pause(PhaseBeforeCommit) }}
		if rep.Purged, err = st.RetentionPurge(ctx, a, now.Add(-entry.GracePeriod), dryRun, opts); err != nil {
			return nil, fmt.Errorf("retention: purge: %w", err)
		}
	}
	if !dryRun {
		r.pause(PhaseCommitted)
		n, err := r.removeBlobs(ctx)
		rep.Counts.BlobsRemoved = n + rep.PendingBlobs
		if err != nil {
			return nil, err
		}
		r.pause(PhaseBlobsRemoved)
		if due, err := st.FreePagesPending(ctx); err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		} else if due {
			fp, err := st.ClearFreePages(ctx)
			if err != nil {
				return nil, fmt.Errorf("retention: %w", err)
			}
			rep.FreePages = &fp
		}
	} else {
		rep.Counts.BlobsRemoved = rep.PendingBlobs + rep.Purged.Blobs + len(rep.AudioDeleted)
	}
	rep.Counts = count(rep, rep.Counts.BlobsRemoved)
	if dryRun {
		return rep, nil
	}
	if err := st.AuditRetentionRun(ctx, a, countsDetail(rep)); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	r.d.Log.Info("retention run", "matters_soft_deleted", rep.Counts.MattersSoftDeleted, "audio_deleted", rep.Counts.AudioDeleted,
		"matters_purged", rep.Counts.MattersPurged, "entries_purged", rep.Counts.EntriesPurged, "blobs_removed", rep.Counts.BlobsRemoved)
	return rep, nil
}

func count(rep *Report, blobs int) RunCounts {
	c := RunCounts{BlobsRemoved: blobs, AudioDeleted: len(rep.AudioDeleted), EntriesPurged: len(rep.Purged.Entries),
		Skipped: len(rep.SoftDeleted.Skipped) + len(rep.Purged.Skipped)}
	for _, m := range rep.SoftDeleted.Matters {
		c.MattersSoftDeleted++
		c.EntriesSoftDeleted += m.Entries
		c.RecordingsSoftDeleted += m.Recordings
		c.ExportsSoftDeleted += m.Exports
	}
	for _, m := range rep.Purged.Matters {
		c.MattersPurged++
		c.EntriesPurged += m.Entries
		c.RecordingsPurged += m.Recordings
		c.ExportsPurged += m.Exports
	}
	return c
}

func countsDetail(rep *Report) map[string]any {
	c := rep.Counts
	d := map[string]any{
		"matters_soft_deleted": c.MattersSoftDeleted, "entries_soft_deleted": c.EntriesSoftDeleted,
		"recordings_soft_deleted": c.RecordingsSoftDeleted, "exports_soft_deleted": c.ExportsSoftDeleted,
		"audio_deleted": c.AudioDeleted, "matters_purged": c.MattersPurged, "entries_purged": c.EntriesPurged,
		"recordings_purged": c.RecordingsPurged, "exports_purged": c.ExportsPurged, "blobs_removed": c.BlobsRemoved,
		"skipped": c.Skipped, "retention_days": rep.Policy.RetentionDays, "auto_delete": rep.Policy.AutoDelete,
		"audio_retention_days": rep.Policy.AudioRetentionDays,
	}
	if rep.FreePages != nil {
		d["pages_before"], d["pages_after"] = rep.FreePages.PagesBefore, rep.FreePages.PagesAfter
	}
	return d
}

// removeBlobs removes every blob queued for removal, taking each off the list once gone.
func (r *Retention) removeBlobs(ctx context.Context) (int, error) {
	ids, err := r.d.Store.PendingBlobs(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	n := 0
	for _, id := range ids {
		if err := r.d.Blobs.Delete(id); err != nil && !errors.Is(err, blob.ErrInvalidID) {
			return n, fmt.Errorf("retention: remove blob: %w", err)
		}
		if err := r.d.Store.BlobRemoved(ctx, id); err != nil {
			return n, fmt.Errorf("retention: %w", err)
		}
		n++
	}
	return n, nil
}

// Scheduled is the cron job: a real run as the system.
func (r *Retention) Scheduled(ctx context.Context) error {
	_, err := r.Run(ctx, identity.System(), false)
	return err
}

// ErrUnknownKind is returned for a deleted-item kind other than matter or entry.
var ErrUnknownKind = errors.New("unknown kind of deleted item (matter or entry)")

// Deleted lists the soft-deleted items still inside their grace period or awaiting purge.
func (r *Retention) Deleted(ctx context.Context) ([]store.DeletedItem, error) {
	return r.d.Store.DeletedItems(ctx)
}

// Restore brings back a soft-deleted matter (with what was deleted with it) or entry,
// within the grace period.
func (r *Retention) Restore(ctx context.Context, a identity.Actor, kind, id string) (*store.DeletedItem, error) {
	switch kind {
	case store.DeletedMatter:
		return r.d.Store.RestoreMatter(ctx, a, id)
	case store.DeletedEntry:
		e, err := r.d.Store.RestoreEntry(ctx, a, id)
		if err != nil {
			return nil, err
		}
		return &store.DeletedItem{Kind: kind, ID: e.ID, Label: e.Date + " · " + e.Timekeeper}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
}
