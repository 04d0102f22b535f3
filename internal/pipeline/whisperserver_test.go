package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/transcribe"
)

// whisperServerBin is whisper.cpp's own server built from the pinned source by
// scripts/whisper-server.sh (make unit runs it first).
func whisperServerBin(t *testing.T) string {
	cache := os.Getenv("DICTUM_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "dictum")
	}
	bin := filepath.Join(cache, "whisper-server-1.9.1", "bin", "whisper-server")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("whisper-server could not be built (%s missing): run `bash scripts/whisper-server.sh` (make unit runs it) and look at its output", bin)
	}
	return bin
}

type serverProc struct {
	url string
	cmd *exec.Cmd
}

// startWhisperServer starts one instance on 127.0.0.1 and waits for /health.
func startWhisperServer(t *testing.T, bin, model string) *serverProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-m", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "-t", "1", "-nf")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("whisper-server on port %d not healthy after 20 s: %s", port, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Proof with the real engine: two whisper-server instances (the pinned whisper.cpp, the
// generated test model) take a batch of recordings through Dictum's queue; one is killed
// mid-batch; every recording still ends done, with exactly one job and one set of drafts.
func TestWhisperServerBackendsSurviveAKilledInstance(t *testing.T) {
	bin := whisperServerBin(t)
	w := testrig.New(t, testrig.WithTestModel(),
		testrig.WithUsers(testrig.UserSpec{Username: "alice", Role: store.RoleTimekeeper, Password: "password-alice"},
			testrig.UserSpec{Username: "bob", Role: store.RoleTimekeeper, Password: "password-bob"}),
		testrig.WithMatters(store.Matter{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones"}))
	a := startWhisperServer(t, bin, w.ModelPath)
	b := startWhisperServer(t, bin, w.ModelPath)
	cfg := *w.Config
	cfg.Trans.Backend = "whisper-server"
	cfg.Trans.BackendURLs = []string{a.url, b.url}
	cfg.Trans.BackendSlots = 1
	cfg.Trans.BackendTimeout = config.Duration{Duration: 30 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	remote, err := RemoteBackend(&cfg, nil, nil)
	if err != nil || remote == nil {
		t.Fatalf("remote backend: %v", err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		user := w.User([]string{"alice", "bob"}[i%2])
		samples := make([]float32, 16000)
		for k := range samples {
			samples[k] = float32((k*(3+i))%200-100) / 250
		}
		var buf bytes.Buffer
		audio.EncodeWAV16(&buf, samples)
		bw, err := w.Blobs.Create()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = bw.Write(buf.Bytes())
		blobID, size, err := bw.Commit()
		if err != nil {
			t.Fatal(err)
		}
		r := &store.Recording{UserID: user.ID, BlobID: &blobID, ContentType: "audio/wav", Format: "wav", SizeBytes: size, DurationMs: int64(len(samples) / 16)}
		if err := w.Store.CreateRecording(ctx, identity.Actor{}, r, 3); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	q := New(Deps{Config: &cfg, Store: w.Store, Blobs: w.Blobs, Drafter: draft.NewRules(draft.Config{}),
		Load: func() (transcribe.Transcriber, error) { return remote, nil }})
	runCtx, stop := context.WithCancel(ctx)
	start := time.Now()
	if err := q.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); q.Stop(5 * time.Second) }()
	done := func() int {
		n := 0
		for _, id := range ids {
			if r, err := w.Store.RecordingByID(ctx, id); err == nil && r.Status == store.RecDone {
				n++
			}
		}
		return n
	}
	// Kill instance a once the batch is under way (with two workers, a holds a job then).
	for done() < 1 {
		if time.Since(start) > 60*time.Second {
			t.Fatal("the batch did not start within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killedAt := done()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for done() < len(ids) {
		if time.Since(start) > 85*time.Second {
			t.Fatalf("only %d of %d recordings done after 85 s", done(), len(ids))
		}
		q.Kick()
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d recordings through 2 whisper-server instances in %s; instance killed after %d were done", len(ids), time.Since(start).Round(time.Millisecond), killedAt)
	for _, id := range ids {
		var jobs, doneJobs, entries int
		db := w.Store.DB()
		if err := db.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(status='done'),0) FROM jobs WHERE kind=? AND ref=?", store.JobTranscribe, id).Scan(&jobs, &doneJobs); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM entries WHERE recording_id=?", id).Scan(&entries); err != nil {
			t.Fatal(err)
		}
		r, _ := w.Store.RecordingByID(ctx, id)
		if jobs != 1 || doneJobs != 1 || r.Status != store.RecDone || entries == 0 || r.EntryID == nil || r.Transcript == nil {
			t.Errorf("recording %s: %d job(s), %d done, status %s, %d entries", id, jobs, doneJobs, r.Status, entries)
		}
	}
}
