package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/config"
	"dictum/internal/winsvc"
)

// On Linux every `dictum service` subcommand points at systemd and exits 2.
func TestServiceCommandOnLinux(t *testing.T) {
	for _, sub := range []string{"install", "uninstall", "start", "stop", "status"} {
		r := dictum(t, "", nil, "service", sub)
		if r.code != 2 || strings.TrimSpace(r.stderr) != serviceNotHere {
			t.Errorf("service %s: %d %q", sub, r.code, r.stderr)
		}
	}
	if r := dictum(t, "", nil, "service"); r.code != 2 || !strings.Contains(r.stderr, "install | uninstall | start | stop | status") {
		t.Errorf("service without a subcommand: %d %q", r.code, r.stderr)
	}
	if r := dictum(t, "", nil, "service", "restart"); r.code != 2 || !strings.Contains(r.stderr, `unknown service command "restart"`) {
		t.Errorf("service restart: %d %q", r.code, r.stderr)
	}
	// The flags are described everywhere (the man page is built on Linux).
	if h := commandHelp("service", "start"); !strings.Contains(h, "-timeout") || !strings.Contains(h, "-config") {
		t.Errorf("service start -h: %s", h)
	}
}

func TestServiceURL(t *testing.T) {
	host, _ := os.Hostname()
	host = strings.ToLower(host)
	cases := []struct {
		listen, tls string
		hosts       []string
		want        string
	}{
		{"127.0.0.1:8080", "", nil, "http://127.0.0.1:8080/"},
		{"127.0.0.1:8443", "local", nil, "https://127.0.0.1:8443/"},
		{"0.0.0.0:443", "", nil, "https://" + host + "/"},
		{"0.0.0.0:443", "", []string{"dictum.firm.local"}, "https://dictum.firm.local/"},
		{":8443", "local", nil, "https://" + host + ":8443/"},
		{"[::]:443", "acme", []string{"dictum.example.com"}, "https://dictum.example.com/"},
		{"10.0.0.5:80", "off", nil, "http://10.0.0.5/"},
	}
	for _, tc := range cases {
		c := config.Defaults()
		c.Server.Listen, c.Server.TLS, c.Server.Hosts = tc.listen, tc.tls, tc.hosts
		if got := serviceURL(&c); got != tc.want {
			t.Errorf("serviceURL(%s, tls %q, hosts %v) = %s, want %s", tc.listen, tc.tls, tc.hosts, got, tc.want)
		}
	}
}

type eventRecorder struct {
	mu  sync.Mutex
	got []string
}

func (r *eventRecorder) Report(l winsvc.Level, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%d %s", l, msg))
	return nil
}

func (r *eventRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.got, "\n")
}

// The Windows service path, run on Linux: the real `serve` under winsvc.Runner driven
// like the SCM drives it. Running is reported only once the listener answers, Stop
// cancels serve's context (as SIGTERM does) and the service stops with exit code 0; the
// JSON log goes to <data>/logs/dictum.log, the Event Log gets warnings only.
func TestServeUnderServiceRunner(t *testing.T) {
	data := initData(t)
	addr := freePort(t)
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	events := &eventRecorder{}
	var serveCode int
	r := &winsvc.Runner{Tick: 20 * time.Millisecond, Serve: func(ctx context.Context, ready func()) error {
		serveCode = env.serve(ctx, []string{"--data", data, "--listen", addr}, serveHooks{ready: ready, service: true, events: events})
		if serveCode != 0 {
			return fmt.Errorf("serve exited %d", serveCode)
		}
		return nil
	}}
	reqs := make(chan winsvc.Cmd)
	statuses := make(chan winsvc.Status)
	exit := make(chan uint32, 1)
	go func() { exit <- r.Execute(reqs, statuses); close(statuses) }()
	var seen []winsvc.State
	waitState := func(want winsvc.State) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case s, ok := <-statuses:
				if !ok {
					t.Fatalf("service ended before %v; states %v; stderr %s", want, seen, stderr.String())
				}
				seen = append(seen, s.State)
				if s.State == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %v after 60s; states %v", want, seen)
			}
		}
	}
	waitState(winsvc.Running)
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("Running reported but the listener does not answer: %v", err)
	}
	res.Body.Close()
	go func() {
		reqs <- winsvc.CmdStop
		for s := range statuses {
			_ = s // StopPending progress while draining
		}
	}()
	select {
	case code := <-exit:
		if code != winsvc.ExitOK || serveCode != 0 {
			t.Fatalf("exit %d, serve %d; stderr %s", code, serveCode, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("service did not stop")
	}
	if _, err := http.Get("http://" + addr + "/readyz"); err == nil {
		t.Fatal("still listening after the service stopped")
	}
	logText, err := os.ReadFile(filepath.Join(data, "logs", "dictum.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"msg":"dictum serving"`, `"msg":"stopped"`} {
		if !bytes.Contains(logText, []byte(want)) {
			t.Errorf("log file lacks %s:\n%s", want, logText)
		}
	}
	if strings.Contains(stderr.String(), "serving on") || stdout.Len() > 0 {
		t.Errorf("console output under the service: stdout %q stderr %q", stdout.String(), stderr.String())
	}
	ev := events.all()
	if strings.Contains(ev, "dictum serving") {
		t.Errorf("info records reached the Event Log:\n%s", ev)
	}
	if !strings.Contains(ev, "speech model not available") { // the data dir has no model: a warning
		t.Errorf("the warning did not reach the Event Log:\n%s", ev)
	}
}

// log.file on Linux: the JSON log goes to the rotating file instead of stdout.
func TestServeLogFileOnLinux(t *testing.T) {
	c := config.Defaults()
	c.DataDir = t.TempDir()
	c.Log.File = filepath.Join(t.TempDir(), "log", "dictum.log")
	log, closeLog, err := newLogger(&c, serveHooks{})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "n", 1)
	log.Debug("hidden")
	closeLog()
	b, _ := os.ReadFile(c.Log.File)
	if !bytes.Contains(b, []byte(`"msg":"hello"`)) || bytes.Contains(b, []byte("hidden")) {
		t.Fatalf("log file: %s", b)
	}
	c.Log.File = "/proc/no/such/dir/dictum.log"
	if _, _, err := newLogger(&c, serveHooks{}); err == nil || !strings.Contains(err.Error(), "log.file") {
		t.Fatalf("unwritable log.file: %v", err)
	}
}
