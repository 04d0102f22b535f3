//go:build windows

package winsvc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/mgr"
)

// With the arguments the service's command line gives (serve --config FILE), the test
// binary is the service: it runs a Runner whose server drains for a moment after the
// stop and then writes FILE, so the test sees that Stopped came after the drain.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "serve" && os.Args[2] == "--config" {
		marker := os.Args[3]
		r := &Runner{Tick: 100 * time.Millisecond, Serve: func(ctx context.Context, ready func()) error {
			ready()
			<-ctx.Done()
			time.Sleep(500 * time.Millisecond)
			return os.WriteFile(marker, []byte("drained"), 0o600)
		}}
		if err := Run(r); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Installs, starts, stops and removes a real service named Dictum. It changes the
// machine, so it runs only when asked (DICTUM_WINSVC_TEST=1, e.g. under wine64).
func TestServiceLifecycle(t *testing.T) {
	if os.Getenv("DICTUM_WINSVC_TEST") != "1" {
		t.Skip("installs a service: set DICTUM_WINSVC_TEST=1 (a throwaway Windows VM or wine64)")
	}
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "winsvc-test-") // not t.TempDir: wine64 cannot run Go's RemoveAll ("Invalid function")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	marker := filepath.Join(dir, "drained")
	cmdline, err := CommandLine(exe, marker, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Query(); !errors.Is(err, ErrNotInstalled) {
		t.Logf("removing a Dictum service left from an earlier run (query: %v)", err)
		if err := Uninstall(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	created, err := Install(cmdline)
	if err != nil || !created {
		t.Fatalf("Install: %v (created %v)", err, created)
	}
	defer Uninstall(ctx, 30*time.Second)
	checkConfig(t, cmdline)
	if created, err := Install(cmdline); err != nil || created {
		t.Fatalf("second Install: %v (created %v), want an update", err, created)
	}
	if st, _, err := Query(); err != nil || st != Stopped {
		t.Fatalf("after install: %v %v", st, err)
	}
	if err := Start(ctx, 30*time.Second); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if st, _, err := Query(); err != nil || st != Running {
		t.Fatalf("after Start: %v %v", st, err)
	}
	if err := Stop(ctx, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "drained" {
		t.Fatalf("Stopped before the server drained: %q %v", b, err)
	}
	if st, code, err := Query(); err != nil || st != Stopped || code != 0 {
		t.Fatalf("after Stop: %v exit %d %v", st, code, err)
	}
	if err := Uninstall(ctx, 30*time.Second); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, _, err := Query(); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Query after uninstall: %v", err)
	}
	if eventSourceExists() {
		t.Error("the Event Log source is still registered after uninstall")
	}
}

// checkConfig reads back what Install registered.
func checkConfig(t *testing.T, cmdline string) {
	t.Helper()
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// QueryServiceConfig, not s.Config(): that also asks for the delayed start, which
	// wine's SCM does not implement.
	buf := make([]byte, 8192)
	var need uint32
	qc := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(s.Handle, qc, uint32(len(buf)), &need); err != nil {
		t.Fatal(err)
	}
	path, display := windows.UTF16PtrToString(qc.BinaryPathName), windows.UTF16PtrToString(qc.DisplayName)
	account := windows.UTF16PtrToString(qc.ServiceStartName)
	if path != cmdline || display != DisplayName || qc.StartType != mgr.StartAutomatic {
		t.Errorf("service config: path %q display %q start %d", path, display, qc.StartType)
	}
	if account != "" && !strings.EqualFold(account, "LocalSystem") {
		t.Errorf("service account %q, want LocalSystem", account)
	}
	if !eventSourceExists() {
		t.Error("the Event Log source Dictum is not registered")
	}
}

func eventSourceExists() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\EventLog\Application\`+Name, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
