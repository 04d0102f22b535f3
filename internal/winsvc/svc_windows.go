//go:build windows

package winsvc

import (
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"

	"dictum/internal/platform"
)

// IsService reports whether this process was started by the Service Control Manager.
func IsService() (bool, error) {
	ok, err := svc.IsWindowsService()
	if ok || err != nil || !platform.UnderWine() {
		return ok, err
	}
	// Wine runs services outside session 0, so svc.IsWindowsService (parent is
	// services.exe in session 0) says no there; the parent's name alone decides.
	return parentIsServicesExe()
}

func parentIsServicesExe() (bool, error) {
	var me windows.PROCESS_BASIC_INFORMATION
	size := uint32(unsafe.Sizeof(me))
	if err := windows.NtQueryInformationProcess(windows.CurrentProcess(), windows.ProcessBasicInformation, unsafe.Pointer(&me), size, &size); err != nil {
		return false, err
	}
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return false, err
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if uintptr(pe.ProcessID) == me.InheritedFromUniqueProcessId {
			return strings.EqualFold(windows.UTF16ToString(pe.ExeFile[:]), "services.exe"), nil
		}
	}
	return false, nil
}

// Run runs r under the SCM as the service Name; it returns when the service has stopped.
func Run(r *Runner) error { return svc.Run(Name, handler{r}) }

// handler adapts svc.Handler's channels to Runner's.
type handler struct{ r *Runner }

func (h handler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	in := make(chan Cmd)
	out := make(chan Status)
	done := make(chan uint32, 1)
	go func() { done <- h.r.Execute(in, out) }()
	var pending []Cmd // controls not yet taken by the runner; never block the SCM's loop
	for {
		var inCh chan Cmd
		var next Cmd
		if len(pending) > 0 {
			inCh, next = in, pending[0]
		}
		select {
		case c := <-reqs:
			pending = append(pending, Cmd(c.Cmd))
		case inCh <- next:
			pending = pending[1:]
		case s := <-out:
			status <- svc.Status{State: svc.State(s.State), Accepts: svc.Accepted(s.Accepts), CheckPoint: s.CheckPoint, WaitHint: s.WaitHint}
		case code := <-done:
			// svc.Run reports Stopped with this code; service-specific, so `sc query`
			// shows it as SERVICE_EXIT_CODE and recovery treats non-zero as a failure.
			return true, code
		}
	}
}

// EventLog writes to the Windows Event Log under the source Name (registered by
// `dictum service install`).
type EventLog struct{ l *eventlog.Log }

// OpenEventLog opens the Event Log source Name.
func OpenEventLog() (*EventLog, error) {
	l, err := eventlog.Open(Name)
	if err != nil {
		return nil, err
	}
	return &EventLog{l}, nil
}

// Event IDs: one per level, so an Event Viewer filter can pick them.
const (
	EventInfo    = 1
	EventWarning = 2
	EventError   = 3
)

// Report writes one event.
func (e *EventLog) Report(level Level, msg string) error {
	switch level {
	case LevelError:
		return e.l.Error(EventError, msg)
	case LevelWarning:
		return e.l.Warning(EventWarning, msg)
	}
	return e.l.Info(EventInfo, msg)
}

// Close closes the source.
func (e *EventLog) Close() error { return e.l.Close() }
