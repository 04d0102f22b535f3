package winsvc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Level is an Event Log entry type.
type Level int

// Event Log entry types.
const (
	LevelInfo Level = iota
	LevelWarning
	LevelError
)

// Reporter writes one Event Log entry (EventLog on Windows; a recorder in tests).
type Reporter interface {
	Report(level Level, msg string) error
}

// NewEventHandler is a slog.Handler that sends records at min or above (Warn: warnings
// and errors; info stays in the log file so the Event Log stays readable) to r, one
// entry per record, as logfmt text (msg="..." key=value ...).
func NewEventHandler(r Reporter, min slog.Leveler) slog.Handler {
	s := &eventSink{r: r}
	return &eventHandler{sink: s, inner: slog.NewTextHandler(s, &slog.HandlerOptions{Level: min,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{} // the Event Log records both itself
			}
			return a
		}})}
}

type eventSink struct {
	mu    sync.Mutex // held across one record: level and text belong together
	r     Reporter
	level Level
}

// maxEvent keeps an entry under ReportEvent's limit of 31,839 characters per string.
const maxEvent = 30000

func (s *eventSink) Write(p []byte) (int, error) {
	msg := string(bytes.TrimRight(p, "\n"))
	if len(msg) > maxEvent {
		msg = strings.ToValidUTF8(msg[:maxEvent], "") + " …(truncated; the log file has the whole record)"
	}
	if err := s.r.Report(s.level, msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

type eventHandler struct {
	sink  *eventSink
	inner slog.Handler
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *eventHandler) Handle(ctx context.Context, rec slog.Record) error {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.level = LevelInfo
	switch {
	case rec.Level >= slog.LevelError:
		h.sink.level = LevelError
	case rec.Level >= slog.LevelWarn:
		h.sink.level = LevelWarning
	}
	return h.inner.Handle(ctx, rec)
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{sink: h.sink, inner: h.inner.WithAttrs(as)}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	return &eventHandler{sink: h.sink, inner: h.inner.WithGroup(name)}
}

// StderrWriter turns what a command writes to stderr (its "dictum: ..." failure lines,
// which nobody sees under the SCM) into Event Log entries: errors, or warnings for
// "dictum: warning:" lines. Each Write is one entry.
func StderrWriter(r Reporter) io.Writer { return stderrWriter{r} }

type stderrWriter struct{ r Reporter }

func (w stderrWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if msg == "" {
		return len(p), nil
	}
	level := LevelError
	if strings.HasPrefix(msg, "dictum: warning:") {
		level = LevelWarning
	}
	if err := w.r.Report(level, msg); err != nil {
		return 0, err
	}
	return len(p), nil
}
