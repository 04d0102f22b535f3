//go:build windows

package winsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"dictum/internal/platform"
)

// RestartDelay is how long the SCM waits before restarting a failed service.
const RestartDelay = 60 * time.Second

// PreshutdownTimeout is how long Windows waits for the service at system shutdown.
const PreshutdownTimeout = 3 * time.Minute

// Install registers (or, when it exists, updates) the service: automatic (delayed) start,
// LocalSystem, the given command line, restart after RestartDelay on every failure
// (crashes and non-zero exits), and the Event Log source Name. It reports whether the
// service was created rather than updated.
func Install(commandLine string) (created bool, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return false, fmt.Errorf("connect to the Service Control Manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	cmdPtr, err := windows.UTF16PtrFromString(commandLine)
	if err != nil {
		return false, err
	}
	displayPtr, _ := windows.UTF16PtrFromString(DisplayName)
	s, err := m.OpenService(Name)
	if err == nil {
		// Update in place; the account (LocalSystem unless firm IT changed it) is kept.
		if err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_WIN32_OWN_PROCESS, mgr.StartAutomatic, mgr.ErrorNormal,
			cmdPtr, nil, nil, nil, nil, nil, displayPtr); err != nil {
			s.Close()
			return false, fmt.Errorf("update the %s service: %w", Name, err)
		}
	} else {
		namePtr, _ := windows.UTF16PtrFromString(Name)
		// CreateService with the exact command line: mgr.CreateService would quote only
		// paths with spaces. A nil account is LocalSystem.
		h, err := windows.CreateService(m.Handle, namePtr, displayPtr, windows.SERVICE_ALL_ACCESS, windows.SERVICE_WIN32_OWN_PROCESS,
			mgr.StartAutomatic, mgr.ErrorNormal, cmdPtr, nil, nil, nil, nil, nil)
		if err != nil {
			return false, fmt.Errorf("create the %s service: %w", Name, err)
		}
		s, created = &mgr.Service{Name: Name, Handle: h}, true
	}
	fail := func(what string, err error) (bool, error) {
		if created {
			s.Delete()
		}
		return false, fmt.Errorf("%s of the %s service: %w", what, Name, err)
	}
	defer s.Close()
	descPtr, _ := windows.UTF16PtrFromString(Description)
	desc := windows.SERVICE_DESCRIPTION{Description: descPtr}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION, (*byte)(unsafe.Pointer(&desc))); err != nil {
		return fail("set the description", err)
	}
	delayed := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&delayed))); err != nil &&
		!platform.UnderWine() { // Wine's SCM has no delayed start ("Invalid level"); Windows has since Vista
		return fail("set delayed automatic start", err)
	}
	// At system shutdown the service gets PreShutdown first and this long to finish the
	// running transcription (serve's drain is at most 3 × server.shutdown_timeout, 90 s by
	// default); without it newer Windows versions allow only seconds.
	preshutdown := uint32(PreshutdownTimeout / time.Millisecond)
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO, (*byte)(unsafe.Pointer(&preshutdown))); err != nil &&
		!platform.UnderWine() {
		return fail("set the preshutdown timeout", err)
	}
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
	}
	// Wine's SCM has no failure actions either ("Invalid level"): skipped there only.
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil && !platform.UnderWine() {
		return fail("set the recovery actions", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil && !platform.UnderWine() {
		return fail("set the recovery actions", err)
	}
	if err := eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fail("register the Event Log source", err)
	}
	return created, nil
}

// Uninstall stops the service (waiting up to timeout), deletes it and removes the Event
// Log source. The data directory is not touched.
func Uninstall(ctx context.Context, timeout time.Duration) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the Service Control Manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("the %s service is not installed: %w", Name, err)
	}
	defer s.Close()
	if err := stop(ctx, s, timeout); err != nil {
		return err
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("delete the %s service: %w", Name, err)
	}
	if err := eventlog.Remove(Name); err != nil {
		return fmt.Errorf("remove the Event Log source %s: %w", Name, err)
	}
	return nil
}

// Start starts the service and waits until it runs (or fails, or timeout passes).
func Start(ctx context.Context, timeout time.Duration) error {
	return withService(func(s *mgr.Service) error {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query the %s service: %w", Name, err)
		}
		if st.State != svc.Running {
			if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
				return fmt.Errorf("start the %s service: %w", Name, err)
			}
		}
		return WaitFor(ctx, query(s), Running, timeout, 500*time.Millisecond)
	})
}

// Stop stops the service and waits until it has stopped (it finishes the running
// transcription first).
func Stop(ctx context.Context, timeout time.Duration) error {
	return withService(func(s *mgr.Service) error { return stop(ctx, s, timeout) })
}

// Query reports the service's state and exit code.
func Query() (State, uint32, error) {
	var st State
	var code uint32
	err := withService(func(s *mgr.Service) error {
		var err error
		st, code, err = query(s)()
		return err
	})
	return st, code, err
}

// NeverStarted is the exit code Windows reports for a service that has not run since it
// was installed (ERROR_SERVICE_NEVER_STARTED): not a failure.
const NeverStarted = uint32(windows.ERROR_SERVICE_NEVER_STARTED)

// ErrNotInstalled is returned when the service does not exist.
var ErrNotInstalled = errors.New("the " + Name + " service is not installed (dictum service install)")

func withService(f func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the Service Control Manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return ErrNotInstalled
	}
	if err != nil {
		return fmt.Errorf("open the %s service: %w", Name, err)
	}
	defer s.Close()
	return f(s)
}

func query(s *mgr.Service) func() (State, uint32, error) {
	return func() (State, uint32, error) {
		st, err := s.Query()
		if err != nil {
			return 0, 0, err
		}
		code := st.Win32ExitCode
		if code == uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR) {
			code = st.ServiceSpecificExitCode
		}
		return State(st.State), code, nil
	}
}

func stop(ctx context.Context, s *mgr.Service, timeout time.Duration) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query the %s service: %w", Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return fmt.Errorf("stop the %s service: %w", Name, err)
		}
	}
	return WaitFor(ctx, query(s), Stopped, timeout, 500*time.Millisecond)
}
