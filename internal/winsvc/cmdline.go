package winsvc

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CommandLine is the service's binary path: `"<exe>" serve --config "<config>"`, plus
// `--data "<dir>"` when a data directory is given. Every path is quoted (the MSI's
// ServiceInstall row writes the same form), with the backslashes before a closing quote
// doubled so CommandLineToArgvW reads `"D:\Dictum\"` as D:\Dictum\ and not D:\Dictum".
func CommandLine(exe, config, dataDir string) (string, error) {
	parts := []string{"serve", "--config", config}
	if dataDir != "" {
		parts = append(parts, "--data", dataDir)
	}
	q, err := quote(exe)
	if err != nil {
		return "", err
	}
	out := q + " serve"
	for i := 1; i < len(parts); i += 2 {
		q, err := quote(parts[i+1])
		if err != nil {
			return "", err
		}
		out += " " + parts[i] + " " + q
	}
	return out, nil
}

func quote(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path in the service command line")
	}
	if strings.ContainsAny(p, "\"\r\n") {
		return "", fmt.Errorf("path %q: a Windows path cannot contain quotes or line breaks", p)
	}
	trail := len(p) - len(strings.TrimRight(p, `\`))
	return `"` + p + strings.Repeat(`\`, trail) + `"`, nil
}

// WaitFor polls query until the service reaches want, fails (Stopped while waiting for
// Running), or timeout passes.
func WaitFor(ctx context.Context, query func() (State, uint32, error), want State, timeout, poll time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, exit, err := query()
		if err != nil {
			return fmt.Errorf("query the %s service: %w", Name, err)
		}
		if st == want {
			return nil
		}
		if want == Running && st == Stopped {
			return fmt.Errorf("the %s service stopped while starting (exit code %d): see the Windows Event Log (source %s) and dictum.log in the data directory's logs folder", Name, exit, Name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s service is %v after %s, not %v", Name, st, timeout, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
