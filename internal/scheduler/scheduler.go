// Package scheduler runs Dictum's scheduled work (Clio sync, later retention and backups) on
// cron schedules with robfig/cron/v3. A job never overlaps itself: a run that comes due
// while the previous one is still going is skipped (and logged). Errors and panics are
// logged with the job's name; jobs must not put secrets into their errors.
//
// These are timed tasks; the transcription queue (store.Job, internal/transcribe) is a
// different thing: recordings waiting for a worker.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Func is a job. ctx ends when the scheduler stops (after Stop's grace period).
type Func func(ctx context.Context) error

// Scheduler runs jobs on cron schedules.
type Scheduler struct {
	log    *slog.Logger
	cron   *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	names   map[string]bool
	started bool
	stopped bool
}

// Option configures a Scheduler.
type Option func(*options)

type options struct{ loc *time.Location }

// WithLocation evaluates schedules in loc (default: the process's local time zone). A
// spec may also start with CRON_TZ=<zone>.
func WithLocation(loc *time.Location) Option { return func(o *options) { o.loc = loc } }

// parser accepts the standard five fields and descriptors (@daily, @every 2h).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// New returns a stopped scheduler that logs to log.
func New(log *slog.Logger, opts ...Option) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	o := options{loc: time.Local}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		log:    log,
		cron:   cron.New(cron.WithParser(parser), cron.WithLocation(o.loc)),
		ctx:    ctx,
		cancel: cancel,
		names:  map[string]bool{},
	}
}

// Validate checks a cron spec without scheduling anything (config checks).
func Validate(spec string) error {
	if _, err := parser.Parse(spec); err != nil {
		return fmt.Errorf("cron spec %q: %w (want five fields like '0 */2 * * *', or @hourly, @every 30m)", spec, err)
	}
	return nil
}

// Add schedules fn under a unique name. It may be called before or after Start.
func (s *Scheduler) Add(spec, name string, fn func(ctx context.Context) error) error {
	if name == "" || fn == nil {
		return errors.New("scheduler: a job needs a name and a function")
	}
	if err := Validate(spec); err != nil {
		return fmt.Errorf("scheduler: %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return fmt.Errorf("scheduler: %s: the scheduler is stopped", name)
	}
	if s.names[name] {
		return fmt.Errorf("scheduler: a job named %s is already scheduled", name)
	}
	if _, err := s.cron.AddJob(spec, s.wrap(name, fn)); err != nil {
		return fmt.Errorf("scheduler: %s: %w", name, err)
	}
	s.names[name] = true
	s.log.Info("job scheduled", "job", name, "schedule", spec)
	return nil
}

// Start begins running jobs on their schedules.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	s.cron.Start()
}

// Stop stops scheduling and waits for running jobs until ctx ends; then it cancels their
// context and returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	done := s.cron.Stop()
	select {
	case <-done.Done():
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.log.Warn("jobs still running at shutdown were cancelled")
		return fmt.Errorf("scheduler: stop: %w", ctx.Err())
	}
}

// job runs fn once at a time.
type job struct {
	s       *Scheduler
	name    string
	fn      Func
	running atomic.Bool
}

func (s *Scheduler) wrap(name string, fn Func) *job { return &job{s: s, name: name, fn: fn} }

// Run implements cron.Job.
func (j *job) Run() { j.run() }

// run executes the job unless it is already running; it reports whether it ran.
func (j *job) run() bool {
	if !j.running.CompareAndSwap(false, true) {
		j.s.log.Warn("job skipped: the previous run is still going", "job", j.name)
		return false
	}
	defer j.running.Store(false)
	start := time.Now()
	err := j.call()
	dur := time.Since(start).Round(time.Millisecond)
	if err != nil {
		j.s.log.Error("job failed", "job", j.name, "duration", dur.String(), "err", err.Error())
		return true
	}
	j.s.log.Info("job done", "job", j.name, "duration", dur.String())
	return true
}

func (j *job) call() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			j.s.log.Error("job panicked", "job", j.name, "stack", string(debug.Stack()))
		}
	}()
	return j.fn(j.s.ctx)
}
