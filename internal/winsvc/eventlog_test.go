package winsvc

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Report(l Level, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%d %s", l, msg))
	return nil
}

func TestEventHandlerOnlyWarningsAndErrors(t *testing.T) {
	rec := &recorder{}
	log := slog.New(NewEventHandler(rec, slog.LevelWarn)).With("component", "serve")
	log.Debug("debug line")
	log.Info("dictum serving", "url", "https://x:8443")
	log.Warn("speech model not available", "model", "base.en")
	log.WithGroup("job").Error("backup failed", "err", "disk full")
	want := []string{
		`1 msg="speech model not available" component=serve model=base.en`,
		`2 msg="backup failed" component=serve job.err="disk full"`,
	}
	if strings.Join(rec.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(rec.got, "\n"), strings.Join(want, "\n"))
	}
}

// Concurrent records keep their own level: the sink's level is held with the text.
func TestEventHandlerConcurrentLevels(t *testing.T) {
	rec := &recorder{}
	log := slog.New(NewEventHandler(rec, slog.LevelWarn))
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				log.Warn("w")
			} else {
				log.Error("e")
			}
		}()
	}
	wg.Wait()
	for _, g := range rec.got {
		if g != `1 msg=w` && g != `2 msg=e` {
			t.Fatalf("mixed-up event %q", g)
		}
	}
	if len(rec.got) != 50 {
		t.Fatalf("%d events, want 50", len(rec.got))
	}
}

func TestStderrWriter(t *testing.T) {
	rec := &recorder{}
	w := StderrWriter(rec)
	fmt.Fprintln(w, "dictum: warning: environment variable DICTUM_X is not a configuration key; ignored")
	fmt.Fprintln(w, "dictum: listen on 0.0.0.0:443: address in use")
	fmt.Fprintln(w, "")
	want := "1 dictum: warning: environment variable DICTUM_X is not a configuration key; ignored\n2 dictum: listen on 0.0.0.0:443: address in use"
	if got := strings.Join(rec.got, "\n"); got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
}

func TestEventHandlerTruncatesHugeRecords(t *testing.T) {
	rec := &recorder{}
	slog.New(NewEventHandler(rec, slog.LevelWarn)).Error("big", "detail", strings.Repeat("é", 40000))
	if len(rec.got) != 1 || len(rec.got[0]) > maxEvent+100 || !strings.HasSuffix(rec.got[0], "(truncated; the log file has the whole record)") {
		t.Fatalf("event of %d bytes", len(rec.got[0]))
	}
}
