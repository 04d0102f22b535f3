// Package winsvc is the Windows service side of `dictum serve`, kept portable so it is
// tested on Linux: Runner is the state machine between the Service Control Manager and
// the server (start pending -> running -> stop pending with progress -> stopped), driven
// through plain channels that svc_windows.go connects to golang.org/x/sys/windows/svc
// and tests connect to a fake SCM.
package winsvc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Name, DisplayName and Description identify the service to the SCM. The MSI's
// ServiceInstall table uses the same Name.
const (
	Name        = "Dictum"
	DisplayName = "Dictum dictation server"
	Description = "Dictum: self-hosted dictation to time entries (web app, API and transcription workers)."
)

// State is a service state; the values are Windows' SERVICE_* state numbers.
type State uint32

// Service states (winsvc.h).
const (
	Stopped      State = 1
	StartPending State = 2
	StopPending  State = 3
	Running      State = 4
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case StartPending:
		return "start pending"
	case StopPending:
		return "stop pending"
	case Running:
		return "running"
	}
	return "unknown"
}

// Cmd is a control request; the values are Windows' SERVICE_CONTROL_* numbers.
type Cmd uint32

// Control requests (winsvc.h).
const (
	CmdStop        Cmd = 1
	CmdInterrogate Cmd = 4
	CmdShutdown    Cmd = 5
	CmdPreShutdown Cmd = 15
)

// Accepted is a set of controls the service accepts; Windows' SERVICE_ACCEPT_* bits.
type Accepted uint32

// Accepted controls (winsvc.h).
const (
	AcceptStop        Accepted = 0x1
	AcceptShutdown    Accepted = 0x4
	AcceptPreShutdown Accepted = 0x100
)

// Status is what the service reports to the SCM.
type Status struct {
	State      State
	Accepts    Accepted
	CheckPoint uint32 // grows while a pending state makes progress
	WaitHint   uint32 // milliseconds until the next CheckPoint (or state change) is due
}

// Runner runs Serve as a service.
type Runner struct {
	// Serve runs the server until ctx is cancelled, then drains (finishes the running
	// transcription) and returns. It calls ready once its listener is up. A non-nil error
	// is a failure (reported with a non-zero exit code, so the SCM's recovery restarts it).
	Serve func(ctx context.Context, ready func()) error
	// Tick is how often a pending state reports progress (default 2 s).
	Tick time.Duration
	// WaitHint is the promise made with each progress report (default 4 × Tick): the SCM
	// considers the service hung when neither CheckPoint nor State changed for this long.
	WaitHint time.Duration
	Log      *slog.Logger
}

// Exit codes returned by Execute (service-specific).
const (
	ExitOK      uint32 = 0
	ExitFailed  uint32 = 1 // Serve returned an error
	ExitStopped uint32 = 2 // Serve returned without being asked to stop
)

// Execute runs the service: it reports StartPending (with progress) until Serve is ready,
// Running, and on Stop, Shutdown or PreShutdown cancels Serve's context and reports
// StopPending with an increasing CheckPoint until Serve returns. It returns the exit code;
// the caller (svc.Run, or the fake SCM) reports Stopped with it, as the SCM requires the
// process to do no more work after Stopped.
func (r *Runner) Execute(reqs <-chan Cmd, status chan<- Status) uint32 {
	tick := r.Tick
	if tick <= 0 {
		tick = 2 * time.Second
	}
	hint := r.WaitHint
	if hint <= 0 {
		hint = 4 * tick
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyCh := make(chan struct{})
	var once sync.Once
	ready := func() { once.Do(func() { close(readyCh) }) }
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ready) }()

	cur := Status{State: StartPending, WaitHint: uint32(hint / time.Millisecond)}
	status <- cur
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	stopping := false
	stop := func(why Cmd) {
		if stopping {
			return
		}
		stopping = true
		log.Info("service stop requested: finishing running work", "control", why.String())
		cancel()
		cur = Status{State: StopPending, WaitHint: uint32(hint / time.Millisecond)}
		status <- cur
	}
	started := readyCh
	for {
		select {
		case <-started:
			started = nil
			if !stopping {
				cur = Status{State: Running, Accepts: AcceptStop | AcceptShutdown | AcceptPreShutdown}
				status <- cur
			}
		case c := <-reqs:
			switch c {
			case CmdInterrogate:
				status <- cur
			case CmdStop, CmdShutdown, CmdPreShutdown:
				stop(c)
			default:
				log.Warn("service control not handled", "control", uint32(c))
			}
		case <-ticker.C:
			if cur.State == StartPending || cur.State == StopPending {
				cur.CheckPoint++
				status <- cur
			}
		case err := <-done:
			switch {
			case err != nil && !errors.Is(err, context.Canceled) && stopping:
				// Asked to stop, and stopped: a failure on the way down (a start cut short
				// by the stop, say) is logged, but a non-zero exit would make the SCM's
				// recovery restart a service the admin just stopped.
				log.Warn("service stopped; the server reported an error while stopping", "err", err.Error())
				return ExitOK
			case err != nil && !errors.Is(err, context.Canceled):
				log.Error("service stopped after an error", "err", err.Error())
				return ExitFailed
			case !stopping:
				log.Error("server stopped without a stop request")
				return ExitStopped
			}
			log.Info("service stopped")
			return ExitOK
		}
	}
}

func (c Cmd) String() string {
	switch c {
	case CmdStop:
		return "stop"
	case CmdShutdown:
		return "shutdown"
	case CmdPreShutdown:
		return "preshutdown"
	case CmdInterrogate:
		return "interrogate"
	}
	return "other"
}
