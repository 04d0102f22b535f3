package main

import (
	"net"
	"os"
	"strings"
	"time"

	"dictum/internal/config"
)

// serviceNotHere is what `dictum service` says outside Windows.
const serviceNotHere = "dictum service is for Windows; on Linux use systemctl (the .deb installs dictum.service)"

// cmdService manages the Windows service: install | uninstall | start | stop | status.
// The flags are parsed on every platform (so -h and the man page describe them); the
// work is in cmd_service_windows.go.
func (e *cliEnv) cmdService(args []string) int {
	const use = "usage: dictum service install | uninstall | start | stop | status  [--config FILE] [--data DIR] [--timeout 60s]"
	if len(args) == 0 {
		e.fail(use)
		return 2
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "install", "uninstall", "start", "stop", "status":
	default:
		e.fail("unknown service command %q\n%s", sub, use)
		return 2
	}
	fs := e.flags("service " + sub)
	var timeout *time.Duration
	if sub == "start" || sub == "stop" || sub == "uninstall" {
		timeout = fs.Duration("timeout", 60*time.Second, "how long to wait for the service to "+map[string]string{"start": "run", "stop": "stop", "uninstall": "stop"}[sub])
	}
	if _, err := parse(fs, rest); err != nil {
		return 2
	}
	wait := 60 * time.Second
	if timeout != nil {
		wait = *timeout
	}
	return e.service(sub, wait)
}

// serviceURL is the address `dictum service start` prints: the scheme serve will use and
// server.listen, with this machine's name for a wildcard address.
func serviceURL(cfg *config.Config) string {
	scheme := "https"
	if tlsModeFor(cfg, "") == "off" {
		scheme = "http"
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		return scheme + "://" + cfg.Server.Listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if len(cfg.Server.Hosts) > 0 {
			host = cfg.Server.Hosts[0]
		} else if h, err := os.Hostname(); err == nil {
			host = strings.ToLower(h)
		}
	}
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return scheme + "://" + host + "/"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
