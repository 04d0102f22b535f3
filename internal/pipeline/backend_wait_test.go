package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dictum/internal/store"
	"dictum/internal/transcribe"
)

// When no remote backend answers, the job goes back to the queue without using up its
// attempts (max_attempts is 3; it waits five times), says why, and runs once one answers.
func TestQueueWaitsForABackend(t *testing.T) {
	down := fmt.Errorf("%w: gpu1.firm.local:8178: connection refused", transcribe.ErrBackendUnavailable)
	eng := &fakeEngine{errs: []error{down, down, down, down, down}, text: "Reviewed the file, one hour."}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	id := w.upload(t)
	for range 5 {
		if !w.step(t) {
			t.Fatal("job not runnable after the backend wait")
		}
		r := w.rec(t, id)
		if r.Status != store.RecQueued || !strings.Contains(r.StatusDetail, "waiting for a transcription backend") {
			t.Fatalf("while backends are down: %s %q", r.Status, r.StatusDetail)
		}
		if w.step(t) {
			t.Fatal("the job ran again before its wait")
		}
		w.Clock.Advance(20 * time.Second)
	}
	if !w.step(t) {
		t.Fatal("job not runnable once a backend answers")
	}
	if r := w.rec(t, id); r.Status != store.RecDone || eng.calls != 6 {
		t.Fatalf("after a backend answered (attempts must not have been used up): %s calls=%d", r.Status, eng.calls)
	}
}
