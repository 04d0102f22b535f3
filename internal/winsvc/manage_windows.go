//go:build windows

package winsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// RestartDelay is how long the SCM waits before restarting a failed service.
const RestartDelay = 60 * time.Second

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
	cfg := mgr.Config{
		ServiceType:      windows.SERVICE_WIN32_OWN_PROCESS,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
		ErrorControl:     mgr.ErrorNormal,
		DisplayName:      DisplayName,
		Description:      Description,
		BinaryPathName:   commandLine,
		// ServiceStartName "" is LocalSystem.
	}
	s, err := m.OpenService(Name)
	if err == nil {
		cur, err := s.Config()
		if err == nil {
			cfg.ServiceStartName = cur.ServiceStartName // keep an account firm IT chose
		}
		if err := s.UpdateConfig(cfg); err != nil {
			s.Close()
			return false, fmt.Errorf("update the %s service: %w", Name, err)
		}
	} else {
		// CreateService quotes only paths with spaces; the exact command line is set below.
		if s, err = m.CreateService(Name, `C:\placeholder.exe`, cfg); err != nil {
			return false, fmt.Errorf("create the %s service: %w", Name, err)
		}
		created = true
		if err := s.UpdateConfig(cfg); err != nil {
			s.Delete()
			s.Close()
			return false, fmt.Errorf("configure the %s service: %w", Name, err)
		}
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		return created, fmt.Errorf("set the %s service's recovery actions: %w", Name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return created, fmt.Errorf("set the %s service's recovery actions: %w", Name, err)
	}
	if err := eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !strings.Contains(err.Error(), "already exists") {
		return created, fmt.Errorf("register the Event Log source %s: %w", Name, err)
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
