// Package pipeline turns a recording into a draft time entry: it decodes the stored audio
// (internal/audio), transcribes it (internal/transcribe), drafts an entry from the
// transcript (internal/draft) and stores transcript and draft (internal/store).
//
// It is the worker logic of the persistent job queue (the store's jobs table):
//   - a job left running by a crash or kill -9 is queued again at the next start;
//   - Stop (SIGTERM) lets running jobs finish, and after a timeout cancels them so that
//     they resume at the next start;
//   - a missing speech model keeps recordings queued, with a status saying so, without
//     using up their attempts;
//   - other failures are retried with backoff up to the configured attempts, while audio
//     that cannot be decoded fails at once;
//   - every status change is sent as a Progress event, and Cancel stops the job of a
//     recording whose audio was deleted.
//
// The web layer and the CLI use it only through Kick, Cancel and the Progress events.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/store"
	"dictum/internal/transcribe"
)

// Progress is one status change of a recording, for the UI's live view.
type Progress struct {
	UserID      int64
	RecordingID string
	Status      string
	Detail      string
	Progress    int
	EntryID     string
}

// Deps are the pipeline's collaborators.
type Deps struct {
	Config  *config.Config
	Store   *store.Store
	Blobs   *blob.Store
	Drafter draft.Drafter
	Log     *slog.Logger
	// Load returns the shared transcriber, loading the model on first use. It returns an
	// error wrapping transcribe.ErrModelMissing when the model is not installed.
	Load func() (transcribe.Transcriber, error)
	// Notify receives progress (may be nil).
	Notify func(Progress)
}

// Service runs transcription jobs from the persistent jobs table with a bounded pool of
// workers (config transcribe.workers).
type Service struct {
	Deps
	kick    chan struct{}
	jobCtx  context.Context // parent of every job; cancelled by Stop after its timeout
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]context.CancelFunc // by recording id
}

// New builds the pipeline; Run starts it.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Notify == nil {
		d.Notify = func(Progress) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{Deps: d, kick: make(chan struct{}, 1), jobCtx: ctx, cancel: cancel, running: map[string]context.CancelFunc{}}
}

// Kick wakes an idle worker (after an upload).
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run recovers jobs interrupted by a crash and starts the workers. It returns at once;
// the workers stop when ctx ends, and Stop waits for them.
func (s *Service) Run(ctx context.Context) error {
	n, err := s.Store.RecoverJobs(ctx)
	if err != nil {
		return err // unwrapped: the caller adds "start queue"
	}
	if n > 0 {
		s.Log.Info("re-queued jobs interrupted by a restart", "count", n)
	}
	for i := 0; i < s.workers(); i++ {
		s.wg.Add(1)
		go s.worker(ctx)
	}
	return nil
}

// Stop waits for the running jobs to finish (graceful shutdown); after timeout it cancels
// them, and they are retried at the next start.
func (s *Service) Stop(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		s.Log.Warn("shutdown timeout: cancelling running transcriptions; they resume at next start")
		s.cancel()
		<-done
	}
	s.cancel()
}

// Cancel stops a running job for a recording (e.g. its audio was deleted).
func (s *Service) Cancel(recID string) {
	s.mu.Lock()
	if c, ok := s.running[recID]; ok {
		c()
	}
	s.mu.Unlock()
}

func (s *Service) worker(ctx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		job, err := s.Store.ClaimJob(ctx, store.JobTranscribe)
		if err == nil {
			s.process(job)
			continue
		}
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.Log.Error("claim job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
	}
}

// permanent marks errors that retrying cannot fix (bad audio).
type permanent struct{ error }

// process runs one claimed job and records its outcome.
func (s *Service) process(job *store.Job) {
	ctx, cancel := context.WithCancel(s.jobCtx)
	s.mu.Lock()
	s.running[job.Ref] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, job.Ref)
		s.mu.Unlock()
		cancel()
	}()
	rec, err := s.Store.RecordingByID(ctx, job.Ref)
	if err != nil {
		s.Log.Error("job for a missing recording", "job", job.ID, "err", err)
		_ = s.Store.FailJobNow(ctx, job.ID, "recording missing")
		return
	}
	if err := s.handle(ctx, rec); err != nil {
		s.settleFailure(job, rec, err)
		return
	}
	if err := s.Store.CompleteJob(context.Background(), job.ID); err != nil {
		s.Log.Error("complete job", "job", job.ID, "err", err)
	}
}

// settleFailure records why a job did not finish. A missing model waits without using up
// an attempt; a shutdown leaves the job for the next start; bad audio fails at once; other
// errors are retried with backoff until the last attempt fails the recording.
func (s *Service) settleFailure(job *store.Job, rec *store.Recording, err error) {
	bg := context.Background() // the job's context may be cancelled: record the outcome anyway
	if errors.Is(err, transcribe.ErrModelMissing) {
		s.setStatus(rec, store.RecQueued, "waiting for a speech model: "+err.Error(), 0)
		_ = s.Store.DeferJob(bg, job, "model missing", 30*time.Second)
		s.Log.Warn("transcription waits for a model", "recording", rec.ID, "err", err)
		return
	}
	if errors.Is(err, transcribe.ErrBackendUnavailable) { // back to the queue, attempt not spent
		s.setStatus(rec, store.RecQueued, "waiting for a transcription backend: "+err.Error(), 0)
		_ = s.Store.DeferJob(bg, job, "no transcription backend answered", 15*time.Second)
		s.Log.Warn("transcription waits for a backend", "recording", rec.ID, "err", err)
		return
	}
	if s.jobCtx.Err() != nil { // shutdown: leave it for the next start
		_ = s.Store.DeferJob(bg, job, "interrupted by shutdown", 0)
		_ = s.Store.SetRecordingStatus(bg, rec.ID, store.RecQueued, "interrupted by a restart; will resume", 0)
		return
	}
	reason := err.Error()
	var perm permanent
	final := errors.As(err, &perm)
	if final {
		_ = s.Store.FailJobNow(bg, job.ID, reason)
	} else {
		final, _ = s.Store.FailJob(bg, job, reason, time.Duration(job.Attempts*job.Attempts)*10*time.Second)
	}
	s.Log.Warn("transcription failed", "recording", rec.ID, "attempt", job.Attempts, "final", final, "err", reason)
	if final {
		_ = s.Store.FailRecording(bg, rec.ID, reason)
		s.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecFailed, Detail: reason})
		return
	}
	s.setStatus(rec, store.RecQueued, fmt.Sprintf("attempt %d failed (%s); will retry", job.Attempts, reason), 0)
}

// setStatus stores a recording's status and sends it as progress.
func (s *Service) setStatus(rec *store.Recording, status, detail string, pct int) {
	_ = s.Store.SetRecordingStatus(context.Background(), rec.ID, status, detail, pct)
	s.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: status, Detail: detail, Progress: pct})
}

// RemoteBackend builds the remote transcription pool of config transcribe.backend (nil
// for local). local loads this server's engine, used when fallback_local is on.
func RemoteBackend(cfg *config.Config, local func() (transcribe.Transcriber, error), log *slog.Logger) (*transcribe.Remote, error) {
	if !cfg.RemoteTranscription() {
		return nil, nil
	}
	key, err := cfg.BackendKey()
	if err != nil {
		return nil, err
	}
	hc, err := transcribe.BackendHTTPClient(cfg.Trans.BackendCAFile, filepath.Join(cfg.DataDir, "ca", "ca.crt"))
	if err != nil {
		return nil, err
	}
	o := transcribe.RemoteOptions{Kind: cfg.Trans.Backend, URLs: cfg.Trans.BackendURLs, Slots: cfg.Trans.BackendSlots, Key: key,
		Model: cfg.Trans.BackendModel, APIVersion: cfg.Trans.BackendAPIVersion, Timeout: cfg.Trans.BackendTimeout.Duration,
		HTTPClient: hc, Log: log}
	if cfg.Trans.FallbackLocal {
		o.Fallback = local
	}
	return transcribe.NewRemote(o)
}

// workers is the number of jobs run at once: transcribe.workers, and with remote backends
// at least one per backend slot so that every GPU host is kept busy.
func (s *Service) workers() int {
	n := s.Config.Trans.Workers
	if s.Config.RemoteTranscription() {
		n = max(n, len(s.Config.Trans.BackendURLs)*s.Config.Trans.BackendSlots)
	}
	return n
}
