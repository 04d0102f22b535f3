//go:build !windows

package main

import (
	"fmt"
	"time"
)

// service: on Linux systemd runs dictum (packaging/debian's dictum.service).
func (e *cliEnv) service(string, time.Duration) int {
	fmt.Fprintln(e.stderr, serviceNotHere)
	return 2
}

// serveAsService: only the Windows SCM starts `serve` as a service.
func (e *cliEnv) serveAsService([]string) (int, bool) { return 0, false }
