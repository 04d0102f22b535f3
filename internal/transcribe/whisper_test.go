package transcribe

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func checkResult(t *testing.T, res Result, nSamples int) {
	t.Helper()
	audio := float64(nSamples) / SampleRate
	if d := res.AudioSeconds - audio; d > 0.001 || d < -0.001 {
		t.Errorf("AudioSeconds = %v, want %v", res.AudioSeconds, audio)
	}
	if res.WallSeconds <= 0 {
		t.Errorf("WallSeconds = %v, want > 0", res.WallSeconds)
	}
	limit := time.Duration(audio * float64(time.Second))
	var prev time.Duration
	for i, s := range res.Segments {
		if s.Start < prev || s.End < s.Start || s.End > limit+10*time.Millisecond {
			t.Errorf("segment %d [%v, %v] not monotonic within %v (previous start %v)", i, s.Start, s.End, limit, prev)
		}
		prev = s.Start
	}
	t.Logf("audio %.2f s, wall %.2f s, %d segments, %d bytes of text", res.AudioSeconds, res.WallSeconds, len(res.Segments), len(res.Text))
}

func TestGeneratedModelTranscribesJFK(t *testing.T) {
	e := testEngine(t, "tiny.en")
	if e.Info().Arch != "tiny" || !e.Info().English {
		t.Fatalf("info = %+v", e.Info())
	}
	samples, err := readWAV16k(jfkPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var progress []int
	res, err := e.Transcribe(context.Background(), samples, Options{
		Language: "en",
		Threads:  2,
		Progress: func(p int) {
			mu.Lock()
			progress = append(progress, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	checkResult(t, res, len(samples))
	mu.Lock()
	defer mu.Unlock()
	if len(progress) == 0 || progress[len(progress)-1] != 100 {
		t.Errorf("progress = %v, want it to end at 100", progress)
	}
}

func TestGeneratedModelTranscribesEspeak(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	if out, err := exec.Command("espeak-ng", "-w", raw, "Please bill two tenths for the call with opposing counsel in Smith versus Jones.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	samples, err := readWAV16k(wav)
	if err != nil {
		t.Fatal(err)
	}
	res, err := testEngine(t, "tiny.en").Transcribe(context.Background(), samples, Options{
		Threads:       2,
		InitialPrompt: "Matter: Smith v. Jones. Client: Acme Holdings.",
	})
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	checkResult(t, res, len(samples))
}

func TestTranscribeRejects(t *testing.T) {
	e := testEngine(t, "tiny.en")
	tests := []struct {
		name    string
		samples []float32
		opts    Options
		want    error
	}{
		{"empty audio", nil, Options{}, ErrNoAudio},
		{"language on an English-only model", make([]float32, SampleRate), Options{Language: "de"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Transcribe(context.Background(), tc.samples, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTranscribeCancel(t *testing.T) {
	e := testEngine(t, "tiny.en")
	// A minute of a buzzing tone. With random weights whisper decodes it for a
	// long time (hundreds of decoder steps per window; measured: 3 minutes for
	// two minutes of it on a busy 2-core machine), so a job that returns soon
	// after the deadline proves the abort reached whisper.cpp; checking ctx only
	// after whisper returns would not.
	samples := make([]float32, 60*SampleRate)
	for i := range samples {
		if (i/8000)%2 == 0 {
			samples[i] = 0.3 * float32((i%40)-20) / 20
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Transcribe(ctx, samples, Options{Threads: 2})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	t.Logf("cancelled at 1.5 s, returned after %v", took)
	if took > 20*time.Second { // an uncancelled run takes minutes
		t.Errorf("cancelled job returned after %v: the abort did not reach whisper.cpp in time", took)
	}
}

type chunkReader struct {
	s []float32
	n int
}

func (r *chunkReader) Read(p []float32) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.s))
	copy(p, r.s[:k])
	r.s = r.s[k:]
	return k, nil
}

func TestTranscribeReaderWindows(t *testing.T) {
	// A 10 s engine window forces the 22 s input (JFK twice) into three
	// whisper calls joined at quiet points; timestamps must carry on.
	e, err := NewEngine(testModel(t, "tiny.en"), EngineOptions{Threads: 2, WindowSeconds: 10, TemperatureFallback: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	one, err := readWAV16k(jfkPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var samples []float32
	for i := 0; i < 2; i++ {
		samples = append(samples, one...)
	}
	var mu sync.Mutex
	var progress []int
	res, err := e.TranscribeReader(context.Background(), &chunkReader{s: samples, n: 4000}, Options{
		Duration: 22 * time.Second,
		Progress: func(p int) {
			mu.Lock()
			progress = append(progress, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("TranscribeReader: %v", err)
	}
	checkResult(t, res, len(samples))
	mu.Lock()
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Errorf("progress went backwards: %v", progress)
			break
		}
	}
	if len(progress) < 2 || progress[len(progress)-1] != 100 {
		t.Errorf("progress = %v, want intermediate values ending at 100", progress)
	}
	mu.Unlock()
	if len(res.Segments) > 0 && res.Segments[len(res.Segments)-1].Start < 10*time.Second {
		t.Errorf("no segment from the second window: last starts at %v", res.Segments[len(res.Segments)-1].Start)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Transcribe(context.Background(), one, Options{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewEngineRejectsBadModel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.bin")
	if err := os.WriteFile(p, []byte("this is not a model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewEngine(p, EngineOptions{}); !errors.Is(err, ErrInvalidModel) {
		t.Fatalf("err = %v, want ErrInvalidModel", err)
	}
}

func TestConcurrentJobsAreIsolated(t *testing.T) {
	// Two jobs at once on one shared model, each with its own whisper state,
	// must give exactly what each gives alone (greedy decoding at temperature 0
	// is deterministic), and a prompt in one must not leak into the other.
	e, err := NewEngine(testModel(t, "tiny.en"), EngineOptions{MaxConcurrent: 2, Threads: 1, TemperatureFallback: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	jfk, err := readWAV16k(jfkPath(t))
	if err != nil {
		t.Fatal(err)
	}
	jobs := []struct {
		samples []float32
		opts    Options
	}{
		{jfk[:6*SampleRate], Options{Threads: 1}},
		{jfk[3*SampleRate:], Options{Threads: 1, InitialPrompt: "Acme Holdings"}},
	}
	alone := make([]Result, len(jobs))
	for i, j := range jobs {
		if alone[i], err = e.Transcribe(context.Background(), j.samples, j.opts); err != nil {
			t.Fatal(err)
		}
	}
	together := make([]Result, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			together[i], errs[i] = e.Transcribe(context.Background(), j.samples, j.opts)
		}()
	}
	wg.Wait()
	for i := range jobs {
		if errs[i] != nil {
			t.Fatalf("job %d: %v", i, errs[i])
		}
		if together[i].Text != alone[i].Text || len(together[i].Segments) != len(alone[i].Segments) {
			t.Errorf("job %d: concurrent result %q (%d segments) differs from alone %q (%d segments)",
				i, together[i].Text, len(together[i].Segments), alone[i].Text, len(alone[i].Segments))
		}
	}
}

func TestQuietCut(t *testing.T) {
	loud := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = 0.5 * float32(i%7-3) / 3
		}
		return s
	}
	withGap := func(n, at int) []float32 {
		s := loud(n)
		for i := at; i < at+SampleRate/5; i++ {
			s[i] = 0
		}
		return s
	}
	tests := []struct {
		name   string
		buf    []float32
		lo, hi int
	}{
		{"gap 3 s before the end", withGap(60*SampleRate, 57*SampleRate), 57 * SampleRate, 57*SampleRate + SampleRate/5},
		{"gap too early is ignored", withGap(60*SampleRate, 20*SampleRate), 50 * SampleRate, 60 * SampleRate},
		{"short window searches its second half", withGap(8*SampleRate, 5*SampleRate), 5 * SampleRate, 5*SampleRate + SampleRate/5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quietCut(tc.buf); got < tc.lo || got > tc.hi {
				t.Fatalf("quietCut = %d, want in [%d, %d]", got, tc.lo, tc.hi)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	nan := float32(math.NaN())
	s := []float32{0.5, nan, float32(math.Inf(1)), float32(math.Inf(-1)), -0.25}
	sanitize(s)
	want := []float32{0.5, 0, 0, 0, -0.25}
	for i := range s {
		if s[i] != want[i] {
			t.Fatalf("sanitize = %v, want %v", s, want)
		}
	}
}

func TestQuantizedModelLoadsAndRuns(t *testing.T) {
	p := filepath.Join(t.TempDir(), "test-tiny.en-q8_0.bin")
	if err := writeTestModel(p, "tiny.en-q8_0", 1); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(p, EngineOptions{Threads: 2, TemperatureFallback: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if info := e.Info(); info.WeightType != "q8_0" || info.HParams.FType != 2007 {
		t.Fatalf("info = %+v", info)
	}
	jfk, err := readWAV16k(jfkPath(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Transcribe(context.Background(), jfk[:5*SampleRate], Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, 5*SampleRate)
}
