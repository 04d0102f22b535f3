//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"dictum/internal/config"
	"dictum/internal/platform"
	"dictum/internal/winsvc"
)

// service runs `dictum service <sub>` against the Service Control Manager.
func (e *cliEnv) service(sub string, timeout time.Duration) int {
	ctx := context.Background()
	switch sub {
	case "install":
		return e.serviceInstall()
	case "uninstall":
		data := platform.DefaultDataDir()
		if cfg, err := e.config(); err == nil { // a broken config must not block the removal
			data = cfg.DataDir
		}
		if err := winsvc.Uninstall(ctx, timeout); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintf(e.stdout, "Removed the %s service and its Event Log source; the data in %s is kept.\n", winsvc.Name, data)
		return 0
	case "start":
		cfg, err := e.config()
		if err != nil {
			return e.fail("%v", err)
		}
		if err := winsvc.Start(ctx, timeout); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintf(e.stdout, "%s is running: %s\n", winsvc.Name, serviceURL(cfg))
		return 0
	case "stop":
		if err := winsvc.Stop(ctx, timeout); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintf(e.stdout, "%s stopped.\n", winsvc.Name)
		return 0
	case "status":
		st, code, err := winsvc.Query()
		if errors.Is(err, winsvc.ErrNotInstalled) {
			fmt.Fprintf(e.stdout, "%s: not installed\n", winsvc.Name)
			return 4
		}
		if err != nil {
			return e.fail("%v", err)
		}
		if st == winsvc.Stopped && code != 0 && code != winsvc.NeverStarted {
			fmt.Fprintf(e.stdout, "%s: stopped (exit code %d: see the Event Log, source %s)\n", winsvc.Name, code, winsvc.Name)
		} else {
			fmt.Fprintf(e.stdout, "%s: %v\n", winsvc.Name, st)
		}
		if st != winsvc.Running {
			return 3
		}
		return 0
	}
	return e.fail("unknown service command %q", sub)
}

// serviceInstall registers the service to run this executable as LocalSystem with the
// config file (written with the commented defaults when it is the default one and
// missing) and re-applies the data directory's ACL.
func (e *cliEnv) serviceInstall() int {
	exe, err := os.Executable()
	if err != nil {
		return e.fail("locate dictum.exe: %v", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	cfgPath := e.configPath
	if cfgPath == "" {
		cfgPath = config.DefaultPath
		if err := os.MkdirAll(filepath.Dir(cfgPath), 0o700); err != nil {
			return e.fail("create %s: %v", filepath.Dir(cfgPath), err)
		}
		dataDir := e.dataDir
		if dataDir == "" {
			dataDir = platform.DefaultDataDir()
		}
		if err := writeConfigIfMissing(cfgPath, dataDir); err != nil {
			return e.fail("%v", err)
		}
	}
	if cfgPath, err = filepath.Abs(cfgPath); err != nil {
		return e.fail("--config: %v", err)
	}
	e.configPath = cfgPath
	cfg, err := e.config() // the service would fail to start on a bad config: say so now
	if err != nil {
		return e.fail("%v", err)
	}
	dataArg := ""
	if e.dataDir != "" {
		dataArg = cfg.DataDir
	}
	cmdline, err := winsvc.CommandLine(exe, cfgPath, dataArg)
	if err != nil {
		return e.fail("%v", err)
	}
	if _, err := os.Stat(cfg.DataDir); err == nil { // re-apply what init set, in case it was loosened
		if err := platform.SecureDir(cfg.DataDir); err != nil {
			return e.fail("%v", err)
		}
		if _, err := os.Stat(cfg.MasterKeyPath()); err == nil {
			if err := platform.SecureKeyFile(cfg.MasterKeyPath()); err != nil {
				return e.fail("%v", err)
			}
		}
	}
	created, err := winsvc.Install(cmdline)
	if err != nil {
		return e.fail("%v", err)
	}
	verb := "Installed"
	if !created {
		verb = "Updated"
	}
	fmt.Fprintf(e.stdout, "%s the %s service (%s): automatic (delayed) start as LocalSystem, restart after %s on failure\n  command: %s\n",
		verb, winsvc.Name, winsvc.DisplayName, winsvc.RestartDelay, cmdline)
	if _, err := os.Stat(cfg.DBPath()); err != nil {
		fmt.Fprintf(e.stdout, "  %s is not initialised yet: run `dictum init` before `dictum service start`\n", cfg.DataDir)
	}
	return 0
}

// serveAsService runs serve under the SCM when the SCM started this process: stop and
// shutdown cancel the same context SIGTERM cancels on Linux. Failure lines that would go
// to stderr (nobody reads it) go to the Event Log.
func (e *cliEnv) serveAsService(args []string) (int, bool) {
	isSvc, err := winsvc.IsService()
	if err != nil || !isSvc {
		return 0, false
	}
	var events winsvc.Reporter
	var runLog *slog.Logger
	if el, err := winsvc.OpenEventLog(); err == nil {
		defer el.Close()
		events = el
		e.stderr = winsvc.StderrWriter(el)
		runLog = slog.New(winsvc.NewEventHandler(el, slog.LevelWarn))
	} else {
		e.stderr = io.Discard
	}
	code := 0
	r := &winsvc.Runner{Log: runLog, Serve: func(ctx context.Context, ready func()) error {
		code = e.serve(ctx, args, serveHooks{ready: ready, service: true, events: events})
		if code != 0 {
			return fmt.Errorf("dictum serve exited with code %d", code)
		}
		return nil
	}}
	if err := winsvc.Run(r); err != nil {
		fmt.Fprintf(e.stderr, "dictum: run as the %s service: %v\n", winsvc.Name, err)
		return 1, true
	}
	return code, true
}
