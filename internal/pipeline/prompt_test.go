package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/dictation"
	"dictum/internal/entry"
	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/transcribe"
)

// promptEngine records the options the pipeline hands the engine.
type promptEngine struct {
	mu     sync.Mutex
	prompt string
}

func (p *promptEngine) Transcribe(ctx context.Context, samples []float32, opts transcribe.Options) (transcribe.Result, error) {
	p.mu.Lock()
	p.prompt = opts.InitialPrompt
	p.mu.Unlock()
	return transcribe.Result{Text: "Point three on Smith versus Jones drafting.", AudioSeconds: 1}, nil
}

// The initial prompt reaches the engine: the firm's words, then the lawyer's own matters
// most recently worked on first, then the firm's; never a closed matter; trimmed to
// whisper's limit at a whole name.
func TestQueuePromptFromTheLawyersMatters(t *testing.T) {
	eng := &promptEngine{}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	w.Config.Trans.InitialPrompt = "Hale & Pike LLP"
	ctx := context.Background()
	bob := w.AddUser("bob", store.RoleTimekeeper, "password-bob")
	older := w.AddMatter(store.Matter{Number: "2026-0101", Client: "Priya Patel", Name: "Patel v. Northside Regional Hospital"})
	recent := w.AddMatter(store.Matter{Number: "2026-0102", Client: "Keisha Thompson", Name: "Thompson v. Thompson"})
	bobs := w.AddMatter(store.Matter{Number: "2026-0103", Client: "Luis Delgado", Name: "Delgado custody modification"})
	w.AddMatter(store.Matter{Number: "2025-0001", Client: "Zed Closed", Name: "Closed matter of Zed", Status: "closed"})
	for i := 0; i < 60; i++ {
		w.AddMatter(store.Matter{Number: fmt.Sprintf("2026-9%03d", i), Client: fmt.Sprintf("Filler Client %02d", i), Name: fmt.Sprintf("Filler matter number %02d", i)})
	}
	alice := w.User("alice")
	mk := func(u *testrig.User, m *store.Matter) {
		w.Clock.Advance(time.Minute)
		if _, err := w.Store.CreateEntry(ctx, u.Actor(), store.NewEntry{UserID: u.ID, Fields: entry.Fields{MatterID: m.ID, Date: "2026-11-20", Tenths: 1, Narrative: "Drafted.", Billable: true}}); err != nil {
			t.Fatal(err)
		}
	}
	mk(alice, older)
	mk(alice, recent)
	mk(bob, bobs)

	w.upload(t)
	if !w.step(t) {
		t.Fatal("no job")
	}
	p := eng.prompt
	want := "Hale & Pike LLP, Thompson v. Thompson, Keisha Thompson, 2026-0102, Patel v. Northside Regional Hospital, Priya Patel, 2026-0101, Delgado custody modification, Luis Delgado, 2026-0103, "
	if !strings.HasPrefix(p, want) {
		t.Fatalf("prompt:\n%s\nwant prefix:\n%s", p, want)
	}
	if len(p) > dictation.MaxPromptBytes || strings.Contains(p, "Zed") || strings.HasSuffix(p, ", ") {
		t.Fatalf("prompt (%d bytes) too long, holds a closed matter or ends mid-list: %q", len(p), p)
	}
	if !strings.Contains(p, "Filler") || strings.Contains(p, "Filler matter number 59") {
		t.Fatalf("prompt not filled then trimmed: %q", p)
	}
	// bob's prompt puts his matter first, then the firm's latest (alice's new draft)
	svc := dictation.New(w.Store, nil, w.Config, w.Clock.Now)
	if bp := svc.Prompt(ctx, bob.ID, ""); !strings.HasPrefix(bp, "Delgado custody modification, Luis Delgado, 2026-0103, Smith v. Jones, Daniel Smith, 2024-0412, Thompson v. Thompson") {
		t.Fatalf("bob's prompt: %q", bp)
	}
}
