package audio

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Long fixtures for benchmarks are generated once per test binary run into
// a temporary directory that TestMain removes.
var (
	benchDir     string
	benchDirOnce sync.Once
	benchFiles   sync.Map // name -> path
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchSeconds is the length of the benchmark files: 10 minutes, or
// DICTUM_BENCH_AUDIO_MINUTES (make bench uses 60, the figure).
var benchSeconds = func() float64 {
	if m, err := strconv.Atoi(os.Getenv("DICTUM_BENCH_AUDIO_MINUTES")); err == nil && m > 0 {
		return float64(m) * 60
	}
	return 600
}()

// benchFile makes (once) a benchSeconds-long file: tone plus noise from sox, at
// 44.1 kHz stereo, then encoded by enc ("wav", "mp3" or "opus").
func benchFile(b *testing.B, enc string) string {
	b.Helper()
	if p, ok := benchFiles.Load(enc); ok {
		return p.(string)
	}
	benchDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "dictum-audio-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	})
	wav := filepath.Join(benchDir, "long.wav")
	if _, err := os.Stat(wav); err != nil {
		run(b, "sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav,
			"synth", fmtFloat(benchSeconds), "sine", "440", "pinknoise", "vol", "0.3")
	}
	p := wav
	switch enc {
	case "mp3":
		p = filepath.Join(benchDir, "long.mp3")
		run(b, "lame", "--quiet", "-b", "128", wav, p)
	case "opus":
		p = filepath.Join(benchDir, "long.opus")
		run(b, "opusenc", "--quiet", "--bitrate", "32", wav, p)
	case "webm":
		p = filepath.Join(benchDir, "long.webm")
		// MediaRecorder-like: unknown sizes, a cluster every 5 s.
		if err := os.WriteFile(p, muxWebM(b, readFile(b, benchFile(b, "opus")), 5000), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchFiles.Store(enc, p)
	return p
}

// benchDecode streams the file through a Stream and reports speed as a
// multiple of real time and the peak heap in use above the baseline,
// sampled every 2 ms.
func benchDecode(b *testing.B, enc string, want Format) {
	path := benchFile(b, enc)
	buf := make([]float32, 4096)
	var peak uint64
	b.ResetTimer()
	start := time.Now()
	var audio time.Duration
	for range b.N {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&m)
					if m.HeapInuse > base && m.HeapInuse-base > peak {
						peak = m.HeapInuse - base
					}
				}
			}
		}()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s, err := Open(f, "", Limits{MaxBytes: -1, FFmpegPath: "-"})
		if err != nil {
			b.Fatal(err)
		}
		if s.Format() != want {
			b.Fatalf("format %q", s.Format())
		}
		for {
			_, err := s.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		audio += s.Duration()
		s.Close()
		f.Close()
		close(stop)
		wg.Wait()
	}
	wall := time.Since(start)
	b.ReportMetric(audio.Seconds()/wall.Seconds(), "x-realtime")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	if d := audio / time.Duration(b.N); d < time.Duration((benchSeconds-1)*float64(time.Second)) {
		b.Fatalf("decoded only %v", d)
	}
}

func BenchmarkDecodeWAV(b *testing.B)  { needTool(b, "sox"); benchDecode(b, "wav", FormatWAV) }
func BenchmarkDecodeMP3(b *testing.B)  { needTool(b, "lame"); benchDecode(b, "mp3", FormatMP3) }
func BenchmarkDecodeOgg(b *testing.B)  { needTool(b, "opusenc"); benchDecode(b, "opus", FormatOgg) }
func BenchmarkDecodeWebM(b *testing.B) { needTool(b, "opusenc"); benchDecode(b, "webm", FormatWebM) }
