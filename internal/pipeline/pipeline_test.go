package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/transcribe"
)

// fakeEngine returns scripted results: errs are returned first, then text.
type fakeEngine struct {
	mu    sync.Mutex
	errs  []error
	text  string
	calls int
}

func (f *fakeEngine) Transcribe(ctx context.Context, samples []float32, opts transcribe.Options) (transcribe.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return transcribe.Result{}, err
	}
	if len(samples) == 0 {
		return transcribe.Result{}, transcribe.ErrNoAudio
	}
	return transcribe.Result{Text: f.text, Segments: []transcribe.Segment{{End: time.Second, Text: f.text}}, AudioSeconds: float64(len(samples)) / transcribe.SampleRate}, nil
}

// queueWorld is a testrig world (store clock under the test's control, one timekeeper, one
// matter) with a pipeline whose engine the test supplies.
type queueWorld struct {
	*testrig.World
	q    *Service
	user *store.User
	load func() (transcribe.Transcriber, error)
	seen []Progress
}

func newQueueWorld(t *testing.T, load func() (transcribe.Transcriber, error)) *queueWorld {
	t.Helper()
	w := &queueWorld{load: load}
	w.World = testrig.New(t, testrig.WithStoreClock(),
		testrig.WithUsers(testrig.UserSpec{Username: "alice", Role: store.RoleTimekeeper, Password: "password-alice"}),
		testrig.WithMatters(store.Matter{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones"}),
		testrig.WithConfig(func(c *config.Config) { c.Trans.MaxAttempts = 3 }))
	w.user = w.User("alice").User
	w.q = New(Deps{Config: w.Config, Store: w.Store, Blobs: w.Blobs, Drafter: draft.NewRules(draft.Config{}), Load: func() (transcribe.Transcriber, error) { return w.load() },
		Notify: func(p Progress) { w.seen = append(w.seen, p) }})
	return w
}

// upload stores a recording with real (encrypted) audio and queues its job.
func (w *queueWorld) upload(t *testing.T) string {
	t.Helper()
	samples := make([]float32, 16000)
	for i := range samples {
		samples[i] = float32(i%100) / 200
	}
	var b bytes.Buffer
	audio.EncodeWAV16(&b, samples)
	bw, err := w.Blobs.Create()
	if err != nil {
		t.Fatal(err)
	}
	bw.Write(b.Bytes())
	id, size, err := bw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Recording{UserID: w.user.ID, BlobID: &id, ContentType: "audio/wav", Format: "wav", SizeBytes: size, DurationMs: 1000}
	if err := w.Store.CreateRecording(context.Background(), identity.Actor{}, r, 3); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// step claims and runs the next runnable job; false when none is runnable.
func (w *queueWorld) step(t *testing.T) bool {
	j, err := w.Store.ClaimJob(context.Background(), store.JobTranscribe)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	w.q.process(j)
	return true
}

func (w *queueWorld) rec(t *testing.T, id string) *store.Recording {
	r, err := w.Store.RecordingByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestQueueDraftsATranscript(t *testing.T) {
	eng := &fakeEngine{text: "Point three hours on Smith versus Jones, drafting the motion to compel."}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	id := w.upload(t)
	if !w.step(t) {
		t.Fatal("no job")
	}
	r := w.rec(t, id)
	if r.Status != store.RecDone || r.EntryID == nil || r.Transcript == nil {
		t.Fatalf("recording: %+v", r)
	}
	e, err := w.Store.EntryByID(context.Background(), *r.EntryID)
	if err != nil {
		t.Fatal(err)
	}
	if e.MatterID == nil || e.Tenths != 3 || e.Engine != "rules" || e.Date != "2026-11-20" || e.RecordingID == nil {
		t.Fatalf("draft: %+v", e)
	}
	if last := w.seen[len(w.seen)-1]; last.Status != store.RecDone || last.EntryID != e.ID {
		t.Fatalf("progress events: %+v", w.seen)
	}
}

func TestQueueWaitsForAMissingModel(t *testing.T) {
	var eng transcribe.Transcriber
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) {
		if eng == nil {
			return nil, fmt.Errorf("%w: base.en is not installed", transcribe.ErrModelMissing)
		}
		return eng, nil
	})
	id := w.upload(t)
	for i := 0; i < 5; i++ { // many tries while the model is missing
		w.step(t)
		w.Clock.Advance(time.Minute)
	}
	r := w.rec(t, id)
	if r.Status != store.RecQueued || !strings.Contains(r.StatusDetail, "model") {
		t.Fatalf("while missing: %+v", r)
	}
	eng = &fakeEngine{text: "Reviewed the file, one hour."}
	if !w.step(t) {
		t.Fatal("job not runnable once the model exists")
	}
	if r := w.rec(t, id); r.Status != store.RecDone {
		t.Fatalf("after the model arrived (attempts must not have been used up): %+v", r)
	}
}

func TestQueueRetriesThenFails(t *testing.T) {
	boom := errors.New("whisper: out of memory")
	eng := &fakeEngine{errs: []error{boom, boom}, text: "Drafted a letter, point two."}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	id := w.upload(t)
	for i := 0; i < 3; i++ {
		w.step(t)
		w.Clock.Advance(10 * time.Minute) // past the backoff
	}
	if r := w.rec(t, id); r.Status != store.RecDone || eng.calls != 3 {
		t.Fatalf("two failures then success: %+v calls=%d", r, eng.calls)
	}
	eng2 := &fakeEngine{errs: []error{boom, boom, boom, boom}}
	w2 := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng2, nil })
	id2 := w2.upload(t)
	for i := 0; i < 5; i++ {
		w2.step(t)
		w2.Clock.Advance(10 * time.Minute)
	}
	r := w2.rec(t, id2)
	if r.Status != store.RecFailed || r.Error == nil || !strings.Contains(*r.Error, "out of memory") || eng2.calls != 3 {
		t.Fatalf("after max attempts: %+v calls=%d", r, eng2.calls)
	}
}

func TestQueueBadAudioFailsAtOnce(t *testing.T) {
	eng := &fakeEngine{text: "x"}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	bw, _ := w.Blobs.Create()
	bw.Write([]byte("this is not audio at all, just text pretending"))
	bid, size, _ := bw.Commit()
	r := &store.Recording{UserID: w.user.ID, BlobID: &bid, ContentType: "audio/wav", SizeBytes: size}
	if err := w.Store.CreateRecording(context.Background(), identity.Actor{}, r, 3); err != nil {
		t.Fatal(err)
	}
	w.step(t)
	got := w.rec(t, r.ID)
	if got.Status != store.RecFailed || got.Error == nil || !strings.Contains(*got.Error, "decode") || eng.calls != 0 {
		t.Fatalf("bad audio: %+v calls=%d", got, eng.calls)
	}
	if w.step(t) {
		t.Fatal("a permanently failed job ran again")
	}
}

// fixedDrafter returns the same draft for every transcript.
type fixedDrafter struct{ d draft.Draft }

func (f fixedDrafter) Draft(context.Context, draft.Request) (draft.Draft, error) { return f.d, nil }
func (f fixedDrafter) Name() string                                              { return "fixed" }

// TestQueueRoundsDraftHoursUp: a draft's duration becomes tenths rounded UP to the firm's
// increment, also when an engine gives hours without minutes (this used to round to the
// nearest tenth, billing 0.31 h as 0.3).
func TestQueueRoundsDraftHoursUp(t *testing.T) {
	tests := []struct {
		name    string
		minutes int
		hours   float64
		inc     int
		want    int
	}{
		{"minutes, 6-minute increment", 18, 0.3, 6, 3},
		{"minutes, 15-minute increment", 15, 0.25, 15, 3},
		{"hours only, 6-minute increment", 0, 0.31, 6, 4},
		{"hours only, 15-minute increment", 0, 0.3, 15, 5},
		{"hours only, 10-minute increment", 0, 0.1, 10, 2},
		{"hours only, exact tenth", 0, 0.3, 6, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return &fakeEngine{text: "Drafted a letter."}, nil })
			w.q.Config.Draft.IncrementMinutes = tt.inc
			w.q.Drafter = fixedDrafter{draft.Draft{Date: "2026-11-20", Minutes: tt.minutes, Hours: tt.hours, Activity: "A103",
				Narrative: "Drafted a letter.", Billable: true, Warnings: []string{}}}
			id := w.upload(t)
			if !w.step(t) {
				t.Fatal("no job")
			}
			r := w.rec(t, id)
			if r.Status != store.RecDone || r.EntryID == nil {
				t.Fatalf("recording: %+v", r)
			}
			e, err := w.Store.EntryByID(context.Background(), *r.EntryID)
			if err != nil {
				t.Fatal(err)
			}
			if e.Tenths != tt.want {
				t.Errorf("tenths = %d, want %d", e.Tenths, tt.want)
			}
		})
	}
}

// blockingEngine transcribes until its context is cancelled.
type blockingEngine struct{ started chan struct{} }

func (b *blockingEngine) Transcribe(ctx context.Context, samples []float32, opts transcribe.Options) (transcribe.Result, error) {
	close(b.started)
	<-ctx.Done()
	return transcribe.Result{}, ctx.Err()
}

// runUntilStarted starts one worker and returns once it is transcribing a fresh upload.
func runUntilStarted(t *testing.T) (*queueWorld, *blockingEngine, string, context.CancelFunc) {
	t.Helper()
	eng := &blockingEngine{started: make(chan struct{})}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	w.q.Config.Trans.Workers = 1
	id := w.upload(t)
	ctx, stop := context.WithCancel(context.Background())
	if err := w.q.Run(ctx); err != nil {
		t.Fatal(err)
	}
	w.q.Kick()
	select {
	case <-eng.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not start the job")
	}
	return w, eng, id, stop
}

func TestQueueStopTimeoutLeavesTheJobForTheNextStart(t *testing.T) {
	w, _, id, stop := runUntilStarted(t)
	stop()
	w.q.Stop(10 * time.Millisecond)
	r := w.rec(t, id)
	if r.Status != store.RecQueued || r.StatusDetail != "interrupted by a restart; will resume" {
		t.Fatalf("after shutdown: %+v", r)
	}
	if !w.step(t) {
		t.Fatal("the interrupted job is not runnable at the next start")
	}
}

func TestQueueCancelStopsTheRunningJob(t *testing.T) {
	w, _, id, stop := runUntilStarted(t)
	w.q.Cancel(id)
	deadline := time.Now().Add(10 * time.Second)
	for w.rec(t, id).Status == store.RecTranscribing && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	w.q.Stop(10 * time.Second)
	if r := w.rec(t, id); r.Status != store.RecQueued || !strings.Contains(r.StatusDetail, "context canceled") {
		t.Fatalf("after cancel: %+v", r)
	}
}
