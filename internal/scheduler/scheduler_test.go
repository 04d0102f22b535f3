package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTest(t *testing.T) (*Scheduler, *syncBuf) {
	buf := &syncBuf{}
	s := New(slog.New(slog.NewJSONHandler(buf, nil)), WithLocation(time.UTC))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s, buf
}

func nop(context.Context) error { return nil }

func TestAddValidates(t *testing.T) {
	s, _ := newTest(t)
	if err := s.Add("@hourly", "taken", nop); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec, name string
		fn         Func
		ok         bool
	}{
		{"0 */2 * * *", "five fields", nop, true},
		{"@every 30m", "every", nop, true},
		{"CRON_TZ=Europe/Berlin 0 2 * * *", "with zone", nop, true},
		{"", "empty spec", nop, false},
		{"every two hours", "prose", nop, false},
		{"0 0 */2 * * *", "six fields", nop, false},
		{"61 * * * *", "minute out of range", nop, false},
		{"@hourly", "", nop, false},
		{"@hourly", "nil func", nil, false},
		{"@daily", "taken", nop, false},
	}
	for _, tc := range tests {
		err := s.Add(tc.spec, tc.name, tc.fn)
		if (err == nil) != tc.ok {
			t.Errorf("Add(%q, %q) = %v, want ok=%v", tc.spec, tc.name, err, tc.ok)
		}
	}
	if err := Validate("bogus"); err == nil || !strings.Contains(err.Error(), "five fields") {
		t.Fatalf("Validate message: %v", err)
	}
}

func TestJobNeverOverlapsItself(t *testing.T) {
	s, buf := newTest(t)
	started, release := make(chan struct{}), make(chan struct{})
	runs := 0
	j := s.wrap("slow", func(ctx context.Context) error {
		runs++
		close(started)
		<-release
		return nil
	})
	done := make(chan bool)
	go func() { done <- j.run() }()
	<-started
	if j.run() {
		t.Fatal("a second run started while the first was still going")
	}
	close(release)
	if !<-done {
		t.Fatal("first run reported as skipped")
	}
	if runs != 1 {
		t.Fatalf("runs = %d", runs)
	}
	if !strings.Contains(buf.String(), "previous run is still going") {
		t.Fatalf("skip not logged: %s", buf.String())
	}
	// Once finished it runs again.
	j.fn = func(context.Context) error { runs++; return nil }
	if !j.run() || runs != 2 {
		t.Fatalf("did not run after the first finished: runs=%d", runs)
	}
}

func TestErrorsAndPanicsAreLogged(t *testing.T) {
	tests := []struct {
		name string
		fn   Func
		want []string
	}{
		{"fails", func(context.Context) error { return errors.New("clio sync: 2 of 5 entries failed") },
			[]string{`"job":"fails"`, `"level":"ERROR"`, "2 of 5 entries failed"}},
		{"panics", func(context.Context) error { panic("kaboom") },
			[]string{`"job":"panics"`, "panic: kaboom", "job panicked"}},
		{"works", nop, []string{`"job":"works"`, "job done"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, buf := newTest(t)
			j := s.wrap(tc.name, tc.fn)
			if !j.run() {
				t.Fatal("did not run")
			}
			if j.running.Load() {
				t.Fatal("still marked running after it returned")
			}
			out := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %s: %s", w, out)
				}
			}
		})
	}
}

func TestScheduleRunsAndStopCancels(t *testing.T) {
	s, _ := newTest(t)
	started := make(chan struct{}, 10)
	cancelled := make(chan struct{})
	var once sync.Once
	if err := s.Add("@every 1s", "blocker", func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		once.Do(func() { close(cancelled) })
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	startAndWait(t, s, started)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a job still running = %v, want deadline exceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the running job's context was not cancelled")
	}
	if err := s.Add("@hourly", "late", nop); err == nil {
		t.Fatal("Add after Stop succeeded")
	}
	if len(started) > 0 {
		t.Fatalf("the job overlapped itself: %d extra starts", len(started))
	}
}

func TestStopWaitsForRunningJob(t *testing.T) {
	s, _ := newTest(t)
	started, finished := make(chan struct{}, 10), make(chan struct{})
	if err := s.Add("@every 1s", "short", func(ctx context.Context) error {
		started <- struct{}{}
		time.Sleep(200 * time.Millisecond)
		close(finished)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startAndWait(t, s, started)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the running job finished")
	}
}

// startAndWait starts the scheduler and waits for the first run of a job that signals started.
func startAndWait(t *testing.T, s *Scheduler, started <-chan struct{}) {
	t.Helper()
	s.Start()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the job never ran")
	}
}
