package transcribe

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
)

// BenchmarkTranscribeJFK transcribes samples/jfk.wav (11 s) with a generated
// random-weight model, 2 threads, greedy decoding, temperature fallback off.
// The model is loaded once, outside the timed loop.
//
// Overrides for scripts/bench-whisper.sh:
//
//	DICTUM_BENCH_MODEL   model file (default: generated tiny.en)
//	DICTUM_BENCH_DIMS    if set and DICTUM_BENCH_MODEL does not exist yet, generate
//	                     a random-weight model with these dims (tiny.en, base.en) there
//	DICTUM_BENCH_WAV     16 kHz mono 16-bit WAV (default: jfk.wav)
//	DICTUM_BENCH_THREADS threads (default 2)
func BenchmarkTranscribeJFK(b *testing.B) {
	model := os.Getenv("DICTUM_BENCH_MODEL")
	if model == "" {
		model = testModel(b, "tiny.en")
	} else if dims := os.Getenv("DICTUM_BENCH_DIMS"); dims != "" {
		if _, err := os.Stat(model); errors.Is(err, os.ErrNotExist) {
			if err := writeTestModel(model, dims, 1); err != nil {
				b.Fatalf("generate %s model: %v", dims, err)
			}
		}
	}
	wav := os.Getenv("DICTUM_BENCH_WAV")
	if wav == "" {
		wav = jfkPath(b)
	}
	threads := 2
	if v := os.Getenv("DICTUM_BENCH_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DICTUM_BENCH_THREADS: %v", err)
		}
		threads = n
	}
	samples, err := readWAV16k(wav)
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(model, EngineOptions{Threads: threads, TemperatureFallback: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ResetTimer()
	var audio, wall float64
	for i := 0; i < b.N; i++ {
		res, err := e.Transcribe(context.Background(), samples, Options{Language: "en"})
		if err != nil {
			b.Fatal(err)
		}
		audio += res.AudioSeconds
		wall += res.WallSeconds
	}
	b.ReportMetric(wall/audio, "RTF")
	b.ReportMetric(audio/float64(b.N), "audio-s/op")
}
