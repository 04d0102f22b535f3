package transcribe

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"testing"

	daudio "dictum/internal/audio"
)

// sliceSource serves samples to the VAD.
type sliceSource struct{ s []float32 }

func (r *sliceSource) Read(p []float32) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

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
//	DICTUM_BENCH_VAD     if set, the samples pass through the silence-trimming VAD
//	                     (internal/audio) inside the timed loop, as in the server
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
	vad := os.Getenv("DICTUM_BENCH_VAD") != ""
	for i := 0; i < b.N; i++ {
		var res Result
		var err error
		if vad {
			v := daudio.NewVAD(&sliceSource{s: samples}, daudio.VADOptions{})
			res, err = e.TranscribeReader(context.Background(), v, Options{Language: "en"})
			res.AudioSeconds = float64(v.InSamples()) / SampleRate
		} else {
			res, err = e.Transcribe(context.Background(), samples, Options{Language: "en"})
		}
		if err != nil {
			b.Fatal(err)
		}
		audio += res.AudioSeconds
		wall += res.WallSeconds
	}
	b.ReportMetric(wall/audio, "RTF")
	b.ReportMetric(audio/float64(b.N), "audio-s/op")
}
