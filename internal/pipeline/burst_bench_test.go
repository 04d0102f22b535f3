package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkBurst is the 6 pm burst (scripts/bench-capacity.sh): 200 recordings enqueued at
// once (alice's 40 first, then 15 lawyers' 10 each, carol's 9 and bob's single one last),
// drained by the local engine (generated tiny.en model, random weights) with
// transcribe.workers = DICTUM_BENCH_WORKERS (default 2) x 1 thread. It reports the drain
// time, the process's peak RSS and Go heap, and when bob's one recording was done (the
// fairness figure: in FIFO order it would be the 200th). Clips are 1 s
// (DICTUM_BENCH_CLIP to change): a random-weight model decodes up to its token limit
// whatever the clip's length, so the per-clip cost, not the audio length, dominates.
func BenchmarkBurst(b *testing.B) {
	workers := 2
	if v, err := strconv.Atoi(os.Getenv("DICTUM_BENCH_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	clip := time.Second
	if v, err := time.ParseDuration(os.Getenv("DICTUM_BENCH_CLIP")); err == nil && v >= time.Second {
		clip = v
	}
	users := []testrig.UserSpec{{Username: "alice", Role: store.RoleTimekeeper, Password: "password-alice"},
		{Username: "bob", Role: store.RoleTimekeeper, Password: "password-bob"}, {Username: "carol", Role: store.RoleTimekeeper, Password: "password-carol"}}
	for i := range 15 {
		users = append(users, testrig.UserSpec{Username: fmt.Sprintf("lawyer%02d", i), Role: store.RoleTimekeeper, Password: "password-lawyer"})
	}
	w := testrig.New(b, testrig.WithTestModel(), testrig.WithUsers(users...),
		testrig.WithMatters(store.Matter{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones"}),
		testrig.WithConfig(func(c *config.Config) { c.Trans.Workers, c.Trans.Threads, c.Trans.NoFallback = workers, 1, true }))
	ctx := context.Background()
	samples := make([]float32, int(clip.Seconds()*16000))
	for k := range samples {
		samples[k] = float32((k*7)%200-100) / 250
	}
	var wav bytes.Buffer
	audio.EncodeWAV16(&wav, samples)
	owner := map[string]string{}
	enqueue := func(user string, n int) {
		for range n {
			bw, err := w.Blobs.Create()
			if err != nil {
				b.Fatal(err)
			}
			_, _ = bw.Write(wav.Bytes())
			id, size, err := bw.Commit()
			if err != nil {
				b.Fatal(err)
			}
			r := &store.Recording{UserID: w.User(user).ID, BlobID: &id, ContentType: "audio/wav", Format: "wav", SizeBytes: size, DurationMs: clip.Milliseconds()}
			if err := w.Store.CreateRecording(ctx, identity.Actor{}, r, 3); err != nil {
				b.Fatal(err)
			}
			owner[r.ID] = user
		}
	}
	enqueue("alice", 40)
	for i := range 15 {
		enqueue(fmt.Sprintf("lawyer%02d", i), 10)
	}
	enqueue("carol", 9)
	enqueue("bob", 1)
	eng, err := transcribe.Open(w.Config.Trans.Model, w.Config.ModelsDir(), transcribe.EngineOptions{MaxConcurrent: workers, Threads: 1, TemperatureFallback: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	var mu sync.Mutex
	var order []string
	doneAt := map[string]time.Duration{}
	start := time.Now()
	finished := make(chan struct{})
	q := New(Deps{Config: w.Config, Store: w.Store, Blobs: w.Blobs, Drafter: draft.NewRules(draft.Config{}),
		Load: func() (transcribe.Transcriber, error) { return eng, nil },
		Notify: func(p Progress) {
			if p.Status != store.RecDone {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			order = append(order, p.RecordingID)
			doneAt[p.RecordingID] = time.Since(start)
			if len(order) == len(owner) {
				close(finished)
			}
		}})
	var peakHeap uint64
	stopMem := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stopMem:
				return
			case <-time.After(100 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
	}()
	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	if err := q.Run(runCtx); err != nil {
		b.Fatal(err)
	}
	select {
	case <-finished:
	case <-time.After(20 * time.Minute):
		b.Fatalf("only %d of %d recordings done after 20 minutes", len(order), len(owner))
	}
	drain := time.Since(start)
	cancel()
	q.Stop(10 * time.Second)
	close(stopMem)
	b.StopTimer()
	pos := map[string]int{}
	var bobPos int
	var bobAt time.Duration
	var firstDone []time.Duration // each lawyer's first recording done
	seen := map[string]bool{}
	for i, id := range order {
		u := owner[id]
		pos[u]++
		if u == "bob" {
			bobPos, bobAt = i+1, doneAt[id]
		}
		if !seen[u] {
			seen[u] = true
			firstDone = append(firstDone, doneAt[id])
		}
	}
	sort.Slice(firstDone, func(i, j int) bool { return firstDone[i] < firstDone[j] })
	hwm := vmHWM()
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(float64(len(owner))*clip.Seconds()/drain.Seconds(), "audio-s/s")
	b.ReportMetric(float64(bobPos), "bob-done-position")
	b.ReportMetric(bobAt.Seconds(), "bob-done-s")
	b.ReportMetric(firstDone[len(firstDone)-1].Seconds(), "last-lawyer-first-done-s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(hwm, "peak-rss-MiB")
}

// vmHWM is the process's peak resident set in MiB (Linux), 0 elsewhere.
func vmHWM() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
