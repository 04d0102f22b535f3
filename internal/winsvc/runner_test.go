package winsvc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeSCM stands in for the Service Control Manager: it records every status the
// service reports, sends control requests, and records Stopped with the exit code when
// Execute returns (as svc.Run does).
type fakeSCM struct {
	reqs   chan Cmd
	status chan Status
	exit   chan uint32
	mu     sync.Mutex
	got    []Status
}

func runFake(r *Runner) *fakeSCM {
	f := &fakeSCM{reqs: make(chan Cmd), status: make(chan Status), exit: make(chan uint32, 1)}
	go func() {
		for s := range f.status {
			f.mu.Lock()
			f.got = append(f.got, s)
			f.mu.Unlock()
		}
	}()
	go func() {
		code := r.Execute(f.reqs, f.status)
		close(f.status)
		f.exit <- code
	}()
	return f
}

func (f *fakeSCM) statuses() []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Status(nil), f.got...)
}

func (f *fakeSCM) waitFor(t *testing.T, st State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := f.statuses(); len(s) > 0 && s[len(s)-1].State == st {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("service never reported %v; got %v", st, f.statuses())
}

func (f *fakeSCM) send(t *testing.T, c Cmd) {
	t.Helper()
	select {
	case f.reqs <- c:
	case <-time.After(5 * time.Second):
		t.Fatalf("service did not take control %v", c)
	}
}

func (f *fakeSCM) wait(t *testing.T) uint32 {
	t.Helper()
	select {
	case code := <-f.exit:
		time.Sleep(5 * time.Millisecond) // let the collector take the last status
		return code
	case <-time.After(5 * time.Second):
		t.Fatalf("service did not stop; statuses %v", f.statuses())
		return 0
	}
}

// states collapses repeated states: the path the service took.
func states(ss []Status) []State {
	var out []State
	for _, s := range ss {
		if len(out) == 0 || out[len(out)-1] != s.State {
			out = append(out, s.State)
		}
	}
	return out
}

func checkpoints(ss []Status, st State) []uint32 {
	var out []uint32
	for _, s := range ss {
		if s.State == st {
			out = append(out, s.CheckPoint)
		}
	}
	return out
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const tick = 5 * time.Millisecond

// server is a fake `dictum serve`: ready after startDelay, then serves until its context
// is cancelled and drains for drain (the running transcription finishing), or fails.
type server struct {
	startDelay time.Duration
	drain      time.Duration
	failAfter  time.Duration // > 0: return an error this long after ready
	failStart  bool          // return an error before ready
	failStop   bool          // return an error (not context.Canceled) after a stop
	returnNil  time.Duration // > 0: return nil this long after ready, without a stop
	cancelled  chan struct{}
}

func (s *server) serve(ctx context.Context, ready func()) error {
	time.Sleep(s.startDelay)
	if s.failStart {
		return errors.New("open database: wrong key")
	}
	ready()
	var fail, quit <-chan time.Time
	if s.failAfter > 0 {
		fail = time.After(s.failAfter)
	}
	if s.returnNil > 0 {
		quit = time.After(s.returnNil)
	}
	select {
	case <-ctx.Done():
		close(s.cancelled)
		time.Sleep(s.drain)
		if s.failStop {
			return errors.New("scheduled jobs did not finish in time")
		}
		return ctx.Err() // as srv.Serve does after a cancel: not a failure
	case <-fail:
		return errors.New("listener died")
	case <-quit:
		return nil
	}
}

func TestRunnerStateMachine(t *testing.T) {
	cases := []struct {
		name     string
		srv      server
		controls []Cmd // sent once Running (or right away when the server fails to start)
		want     []State
		exit     uint32
		minStop  int // at least this many StopPending reports with increasing CheckPoint
		minStart int // at least this many StartPending reports with increasing CheckPoint
	}{
		{name: "stop drains then stops", srv: server{drain: 12 * tick}, controls: []Cmd{CmdStop},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK, minStop: 4},
		{name: "shutdown is handled like stop", srv: server{drain: 6 * tick}, controls: []Cmd{CmdShutdown},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK, minStop: 2},
		{name: "preshutdown is handled like stop", srv: server{drain: 6 * tick}, controls: []Cmd{CmdPreShutdown},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK, minStop: 2},
		{name: "a second stop does not restart the progress", srv: server{drain: 8 * tick}, controls: []Cmd{CmdStop, CmdStop, CmdShutdown},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK, minStop: 2},
		{name: "interrogate is answered with the current status", srv: server{drain: tick}, controls: []Cmd{CmdInterrogate, CmdInterrogate, CmdStop},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK},
		{name: "unknown controls are ignored", srv: server{drain: tick}, controls: []Cmd{Cmd(0x40), CmdStop},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK},
		{name: "slow start reports progress", srv: server{startDelay: 12 * tick, drain: tick}, controls: []Cmd{CmdStop},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK, minStart: 4},
		{name: "an error while stopping is not a failure (no restart)", srv: server{drain: 2 * tick, failStop: true}, controls: []Cmd{CmdStop},
			want: []State{StartPending, Running, StopPending, Stopped}, exit: ExitOK},
		{name: "serve error while running", srv: server{failAfter: 4 * tick},
			want: []State{StartPending, Running, Stopped}, exit: ExitFailed},
		{name: "serve error before ready", srv: server{failStart: true},
			want: []State{StartPending, Stopped}, exit: ExitFailed},
		{name: "server ends by itself", srv: server{returnNil: 4 * tick},
			want: []State{StartPending, Running, Stopped}, exit: ExitStopped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			srv.cancelled = make(chan struct{})
			f := runFake(&Runner{Serve: srv.serve, Tick: tick})
			if !tc.srv.failStart {
				f.waitFor(t, Running)
				for _, s := range f.statuses() {
					if s.State == StartPending && s.Accepts != 0 {
						t.Errorf("StartPending accepts controls %#x", s.Accepts)
					}
				}
				last := f.statuses()[len(f.statuses())-1]
				if last.Accepts != AcceptStop|AcceptShutdown|AcceptPreShutdown {
					t.Errorf("Running accepts %#x", last.Accepts)
				}
			}
			n := len(f.statuses())
			for _, c := range tc.controls {
				f.send(t, c)
				if c == CmdInterrogate {
					time.Sleep(tick / 2)
					ss := f.statuses()
					if len(ss) <= n || ss[len(ss)-1].State != Running {
						t.Errorf("interrogate: no Running status in reply; got %v", ss[n:])
					}
					n = len(ss)
				}
			}
			code := f.wait(t)
			got := append(states(f.statuses()), Stopped) // svc.Run reports Stopped after Execute
			if !equalStates(got, tc.want) {
				t.Errorf("states %v, want %v", got, tc.want)
			}
			if code != tc.exit {
				t.Errorf("exit code %d, want %d", code, tc.exit)
			}
			stopCps := checkpoints(f.statuses(), StopPending)
			if len(stopCps) < tc.minStop {
				t.Errorf("StopPending checkpoints %v, want at least %d", stopCps, tc.minStop)
			}
			for i := 1; i < len(stopCps); i++ {
				if stopCps[i] <= stopCps[i-1] {
					t.Errorf("StopPending checkpoints do not increase: %v", stopCps)
				}
			}
			for _, s := range f.statuses() {
				if s.State == StopPending && s.WaitHint == 0 {
					t.Error("StopPending without a WaitHint")
				}
			}
			if startCps := checkpoints(f.statuses(), StartPending); len(startCps) < tc.minStart {
				t.Errorf("StartPending checkpoints %v, want at least %d", startCps, tc.minStart)
			}
			select {
			case <-srv.cancelled:
				if tc.exit != ExitOK {
					t.Error("server context cancelled although nobody asked to stop")
				}
			default:
				if len(tc.controls) > 0 {
					t.Error("stop did not cancel the server's context")
				}
			}
		})
	}
}

// The server's context is cancelled only by a stop request, and the service does not
// report Stopped before the drain (the running transcription) has finished.
func TestRunnerStopWaitsForDrain(t *testing.T) {
	drained := make(chan struct{})
	r := &Runner{Tick: tick, Serve: func(ctx context.Context, ready func()) error {
		ready()
		<-ctx.Done()
		time.Sleep(20 * tick)
		close(drained)
		return nil
	}}
	f := runFake(r)
	f.waitFor(t, Running)
	f.send(t, CmdStop)
	code := f.wait(t)
	select {
	case <-drained:
	default:
		t.Fatal("Execute returned before the server drained")
	}
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
}
