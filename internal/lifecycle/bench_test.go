package lifecycle_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"dictum/internal/lifecycle"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// TestArchiveBench is the archive part of `make bench` (scripts/bench-archive.sh): it
// imports every file of $DICTUM_BENCH_ARCHIVE_SRC as a recording (an encrypted blob),
// then makes the firm archive through the API's path (ZIP streamed into an encrypted
// blob) and prints its throughput and the process's peak RSS while it ran. Skipped
// unless the variable is set.
func TestArchiveBench(t *testing.T) {
	src := os.Getenv("DICTUM_BENCH_ARCHIVE_SRC")
	if src == "" {
		t.Skip("set DICTUM_BENCH_ARCHIVE_SRC to a directory of audio-sized files (scripts/bench-archive.sh does)")
	}
	w := newBenchWorld(t)
	files, _ := filepath.Glob(filepath.Join(src, "*"))
	var total int64
	alice := w.User("alice")
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		bw, err := w.Blobs.Create()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(bw, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := bw.Commit()
		if err != nil {
			t.Fatal(err)
		}
		total += n
		rec := &store.Recording{UserID: alice.ID, BlobID: &id, ContentType: "audio/wav", Format: "wav", SizeBytes: n}
		if err := w.Store.CreateRecording(w.ctx, alice.Actor(), rec, 3); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	base := rssKiB("VmRSS")
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil // resets VmHWM to the current RSS
	svc := lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: w.Store, Blobs: w.Blobs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()
	start := time.Now()
	x, err := svc.Request(w.ctx, w.User("ada").Actor(), "firm")
	if err != nil {
		t.Fatal(err)
	}
	svc.Wait()
	took := time.Since(start)
	peak := rssKiB("VmHWM")
	got, _ := w.Store.ArchiveByID(w.ctx, x.ID)
	if got.Status != store.ArchiveDone {
		t.Fatalf("archive: %+v", got)
	}
	scope := "while archiving"
	if !reset {
		scope = "whole process (could not reset VmHWM)"
	}
	fmt.Printf("archive-bench: files=%d audio_bytes=%d zip_bytes=%d seconds=%.3f mib_per_s=%.1f peak_rss_mib=%.1f rss_before_mib=%.1f peak_scope=%q\n",
		len(files), total, got.SizeBytes, took.Seconds(), float64(total)/(1<<20)/took.Seconds(), float64(peak)/1024, float64(base)/1024, scope)
}

func newBenchWorld(t *testing.T) *world {
	return &world{World: testrig.New(t), ctx: t.Context()}
}

// rssKiB reads one of the kB lines of /proc/self/status (0 if unavailable).
func rssKiB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
