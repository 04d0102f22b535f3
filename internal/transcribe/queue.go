package transcribe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"dictum/internal/audio"
	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/entry"
	"dictum/internal/store"
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

// QueueDeps are the queue's collaborators.
type QueueDeps struct {
	Config  *config.Config
	Store   *store.Store
	Blobs   *blob.Store
	Drafter draft.Drafter
	Log     *slog.Logger
	// Load returns the shared transcriber, loading the model on first use. It returns an
	// error wrapping ErrModelMissing when the model is not installed.
	Load func() (Transcriber, error)
	// Notify receives progress (may be nil).
	Notify func(Progress)
}

// Queue runs transcription jobs from the persistent jobs table with a bounded pool of
// workers. Jobs survive restarts: one left running by a crash is queued again at start.
type Queue struct {
	QueueDeps
	kick    chan struct{}
	jobCtx  context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// NewQueue builds a queue; Run starts it.
func NewQueue(d QueueDeps) *Queue {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Notify == nil {
		d.Notify = func(Progress) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{QueueDeps: d, kick: make(chan struct{}, 1), jobCtx: ctx, cancel: cancel, running: map[string]context.CancelFunc{}}
}

// Kick wakes an idle worker (after an upload).
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run recovers interrupted jobs and starts the workers. It returns at once; Stop ends them.
func (q *Queue) Run(ctx context.Context) error {
	n, err := q.Store.RecoverJobs(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		q.Log.Info("re-queued jobs interrupted by a restart", "count", n)
	}
	for i := 0; i < q.Config.Trans.Workers; i++ {
		q.wg.Add(1)
		go q.worker(ctx)
	}
	return nil
}

// Stop waits for the running jobs to finish (graceful shutdown); after timeout it cancels
// them, and they are retried at the next start.
func (q *Queue) Stop(timeout time.Duration) {
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		q.Log.Warn("shutdown timeout: cancelling running transcriptions; they resume at next start")
		q.cancel()
		<-done
	}
	q.cancel()
}

// Cancel stops a running job for a recording (e.g. its audio was deleted).
func (q *Queue) Cancel(recID string) {
	q.mu.Lock()
	if c, ok := q.running[recID]; ok {
		c()
	}
	q.mu.Unlock()
}

func (q *Queue) worker(ctx context.Context) {
	defer q.wg.Done()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		job, err := q.Store.ClaimJob(ctx, store.JobTranscribe)
		if err == nil {
			q.process(job)
			continue
		}
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			q.Log.Error("claim job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-tick.C:
		}
	}
}

// permanent marks errors that retrying cannot fix (bad audio).
type permanent struct{ error }

func (q *Queue) process(job *store.Job) {
	ctx, cancel := context.WithCancel(q.jobCtx)
	q.mu.Lock()
	q.running[job.Ref] = cancel
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.running, job.Ref)
		q.mu.Unlock()
		cancel()
	}()
	rec, err := q.Store.RecordingByID(ctx, job.Ref)
	if err != nil {
		q.Log.Error("job for a missing recording", "job", job.ID, "err", err)
		_ = q.Store.FailJobNow(ctx, job.ID, "recording missing")
		return
	}
	err = q.run(ctx, rec)
	var missing bool
	switch {
	case err == nil:
		if err := q.Store.CompleteJob(context.Background(), job.ID); err != nil {
			q.Log.Error("complete job", "job", job.ID, "err", err)
		}
		return
	case errors.Is(err, ErrModelMissing):
		missing = true
	}
	if missing {
		detail := "waiting for a speech model: " + err.Error()
		_ = q.Store.SetRecordingStatus(context.Background(), rec.ID, store.RecQueued, detail, 0)
		q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecQueued, Detail: detail})
		_ = q.Store.DeferJob(context.Background(), job, "model missing", 30*time.Second)
		q.Log.Warn("transcription waits for a model", "recording", rec.ID, "err", err)
		return
	}
	if q.jobCtx.Err() != nil { // shutdown: leave it for the next start
		_ = q.Store.DeferJob(context.Background(), job, "interrupted by shutdown", 0)
		_ = q.Store.SetRecordingStatus(context.Background(), rec.ID, store.RecQueued, "interrupted by a restart; will resume", 0)
		return
	}
	reason := err.Error()
	var perm permanent
	final := errors.As(err, &perm)
	if !final {
		final, _ = q.Store.FailJob(context.Background(), job, reason, time.Duration(job.Attempts*job.Attempts)*10*time.Second)
	} else {
		_ = q.Store.FailJobNow(context.Background(), job.ID, reason)
	}
	q.Log.Warn("transcription failed", "recording", rec.ID, "attempt", job.Attempts, "final", final, "err", reason)
	if final {
		_ = q.Store.FailRecording(context.Background(), rec.ID, reason)
		q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecFailed, Detail: reason})
	} else {
		detail := fmt.Sprintf("attempt %d failed (%s); will retry", job.Attempts, reason)
		_ = q.Store.SetRecordingStatus(context.Background(), rec.ID, store.RecQueued, detail, 0)
		q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecQueued, Detail: detail})
	}
}

// run transcribes and drafts one recording.
func (q *Queue) run(ctx context.Context, rec *store.Recording) error {
	if !rec.HasAudio() {
		return permanent{errors.New("the audio was deleted before transcription")}
	}
	if rec.Status == store.RecDrafting && rec.Transcript != nil { // crashed while drafting
		return q.draft(ctx, rec, *rec.Transcript)
	}
	eng, err := q.Load()
	if err != nil {
		return err
	}
	set := func(status, detail string, pct int) {
		_ = q.Store.SetRecordingStatus(context.Background(), rec.ID, status, detail, pct)
		q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: status, Detail: detail, Progress: pct})
	}
	set(store.RecTranscribing, "", 0)
	rc, err := q.Blobs.Open(*rec.BlobID)
	if err != nil {
		return fmt.Errorf("open audio: %w", err)
	}
	defer rc.Close()
	lim := audio.Limits{MaxBytes: q.Config.Limits.MaxUploadMB << 20, MaxDuration: q.Config.Limits.MaxAudio.Duration, FFmpegPath: q.Config.Trans.FFmpeg}
	stream, err := audio.Open(rc, rec.ContentType, lim)
	if err != nil {
		return permanent{fmt.Errorf("cannot decode the audio: %w", err)}
	}
	defer stream.Close()
	opts := Options{Language: q.Config.Trans.Language, Threads: q.Config.Trans.Threads, InitialPrompt: q.prompt(ctx),
		Duration: time.Duration(rec.DurationMs) * time.Millisecond}
	var lastPct int
	var mu sync.Mutex
	opts.Progress = func(pct int) {
		mu.Lock()
		defer mu.Unlock()
		if pct >= lastPct+5 || pct == 100 {
			lastPct = pct
			set(store.RecTranscribing, "", pct)
		}
	}
	var res Result
	if rt, ok := eng.(interface {
		TranscribeReader(context.Context, SampleReader, Options) (Result, error)
	}); ok {
		res, err = rt.TranscribeReader(ctx, stream, opts)
	} else {
		var samples []float32
		samples, err = readAll(stream)
		if err == nil {
			res, err = eng.Transcribe(ctx, samples, opts)
		}
	}
	if err != nil {
		if errors.Is(err, audio.ErrCorrupt) || errors.Is(err, audio.ErrTooLong) || errors.Is(err, audio.ErrEmpty) || errors.Is(err, ErrNoAudio) {
			return permanent{fmt.Errorf("cannot decode the audio: %w", err)}
		}
		return fmt.Errorf("transcription: %w", err)
	}
	if stream.Silent() {
		return permanent{errors.New("the recording is silent: nothing was said (check the microphone)")}
	}
	segs, _ := json.Marshal(res.Segments)
	text := strings.TrimSpace(res.Text)
	if err := q.Store.SetTranscript(ctx, rec.ID, text, string(segs), int64(res.AudioSeconds*1000)); err != nil {
		return err
	}
	q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecDrafting, Progress: 100})
	q.Log.Info("transcribed", "recording", rec.ID, "audio_s", res.AudioSeconds, "wall_s", res.WallSeconds)
	return q.draft(ctx, rec, text)
}

func readAll(r SampleReader) ([]float32, error) {
	var out []float32
	buf := make([]float32, 16000)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// OpenMatters returns the firm's open matters in the drafter's shape.
func OpenMatters(ctx context.Context, st *store.Store) ([]draft.Matter, error) {
	ms, err := st.Matters(ctx, "open", "")
	if err != nil {
		return nil, err
	}
	out := make([]draft.Matter, 0, len(ms))
	for _, m := range ms {
		out = append(out, draft.Matter{ID: m.ID, Number: m.Number, Client: m.Client, Name: m.Name, Litigation: m.Litigation || draft.IsLitigationCaption(m.Name)})
	}
	return out, nil
}

// prompt is whisper's initial prompt: the configured text plus the firm's matter and client names.
func (q *Queue) prompt(ctx context.Context) string {
	var b strings.Builder
	b.WriteString(q.Config.Trans.InitialPrompt)
	ms, err := OpenMatters(ctx, q.Store)
	if err != nil {
		return b.String()
	}
	seen := map[string]bool{}
	for _, m := range ms {
		for _, n := range []string{m.Client, m.Name} {
			if n == "" || seen[n] || b.Len()+len(n) > 800 {
				continue
			}
			seen[n] = true
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// draft turns the transcript into a draft entry and finishes the recording.
func (q *Queue) draft(ctx context.Context, rec *store.Recording, text string) error {
	matters, err := OpenMatters(ctx, q.Store)
	if err != nil {
		return err
	}
	loc, err := q.Config.Location()
	if err != nil {
		loc = time.UTC
	}
	created, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
	if err != nil {
		created = time.Now()
	}
	d, err := q.Drafter.Draft(ctx, draft.Request{Text: text, Today: created.In(loc), Matters: matters})
	if err != nil {
		return fmt.Errorf("drafting: %w", err)
	}
	f := entry.Fields{Date: d.Date, Tenths: (d.Minutes + 5) / 6, Activity: d.Activity, Narrative: d.Narrative, Billable: d.Billable}
	if d.Minutes == 0 && d.Hours > 0 {
		f.Tenths = int(d.Hours*10 + 0.5)
	}
	if d.Matter != nil {
		f.MatterID = *d.Matter
	}
	if d.Task != nil {
		f.Task = *d.Task
	}
	conf := d.Confidence
	engine := d.Engine
	if engine == "" {
		engine = q.Drafter.Name()
	}
	entryID, err := q.Store.FinishRecording(ctx, rec.ID, store.NewEntry{UserID: rec.UserID, Fields: f, Confidence: &conf, Warnings: d.Warnings, Engine: engine})
	if err != nil {
		return fmt.Errorf("store draft: %w", err)
	}
	q.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecDone, Progress: 100, EntryID: entryID})
	return nil
}
