package transcribe

/*
#cgo LDFLAGS: -lwhisper -lggml -lggml-base -lggml-cpu -lm -lstdc++
#cgo linux LDFLAGS: -fopenmp
#include <whisper.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>

// One transcription call's shared flags. whisper.cpp reads abort from its
// compute threads and writes progress from the calling thread; Go writes abort
// and reads progress from other goroutines. Atomics keep that race-free without
// any call back into Go.
typedef struct { int abort; int progress; } dictum_job;

static bool dictum_abort_cb(void *ud) {
	return __atomic_load_n(&((dictum_job *) ud)->abort, __ATOMIC_RELAXED) != 0;
}
static void dictum_progress_cb(struct whisper_context *c, struct whisper_state *s, int p, void *ud) {
	(void) c; (void) s;
	__atomic_store_n(&((dictum_job *) ud)->progress, p, __ATOMIC_RELAXED);
}
static void dictum_job_abort(dictum_job *j) { __atomic_store_n(&j->abort, 1, __ATOMIC_RELAXED); }
static void dictum_job_reset(dictum_job *j) { __atomic_store_n(&j->progress, 0, __ATOMIC_RELAXED); }
static int dictum_job_progress(dictum_job *j) { return __atomic_load_n(&j->progress, __ATOMIC_RELAXED); }

// Logging: whisper.cpp and ggml print a lot at INFO level; keep warnings and
// errors (to stderr, i.e. journald) unless verbose logging is on.
static int dictum_log_min = GGML_LOG_LEVEL_WARN;
static int dictum_log_last = GGML_LOG_LEVEL_INFO;
static void dictum_log_cb(enum ggml_log_level level, const char *text, void *ud) {
	(void) ud;
	if (level != GGML_LOG_LEVEL_CONT) __atomic_store_n(&dictum_log_last, (int) level, __ATOMIC_RELAXED);
	int eff = __atomic_load_n(&dictum_log_last, __ATOMIC_RELAXED);
	if (eff >= __atomic_load_n(&dictum_log_min, __ATOMIC_RELAXED)) {
		if (level != GGML_LOG_LEVEL_CONT) fputs("whisper.cpp: ", stderr);
		fputs(text, stderr);
	}
}
static void dictum_log_level(int min_level) { __atomic_store_n(&dictum_log_min, min_level, __ATOMIC_RELAXED); }
static void dictum_log_init(void) { whisper_log_set(dictum_log_cb, NULL); }

static struct whisper_context *dictum_load(const char *path) {
	struct whisper_context_params cp = whisper_context_default_params();
	cp.use_gpu = false;
	return whisper_init_from_file_with_params_no_state(path, cp);
}

static int dictum_full(struct whisper_context *ctx, struct whisper_state *st, dictum_job *job,
		int threads, const char *lang, const char *prompt, float temperature_inc,
		const float *samples, int n) {
	struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
	p.n_threads = threads;
	p.language = lang;
	p.detect_language = false;
	p.initial_prompt = prompt;
	p.no_context = true; // states are reused across jobs: never carry one job's text into another
	p.print_progress = false;
	p.print_realtime = false;
	p.print_special = false;
	p.print_timestamps = false;
	p.temperature_inc = temperature_inc;
	p.progress_callback = dictum_progress_cb;
	p.progress_callback_user_data = job;
	p.abort_callback = dictum_abort_cb;
	p.abort_callback_user_data = job;
	return whisper_full_with_state(ctx, st, p, samples, n);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// SampleRate is the only sample rate the engine accepts (mono float32 in [-1, 1]).
const SampleRate = 16000

// ErrClosed is returned by Transcribe after Close.
var ErrClosed = errors.New("whisper engine is closed")

// ErrNoAudio is returned for an empty input.
var ErrNoAudio = errors.New("no audio samples")

// Transcriber is what the recording pipeline (internal/pipeline) needs; *Engine
// implements it, tests use a double.
type Transcriber interface {
	Transcribe(ctx context.Context, samples []float32, opts Options) (Result, error)
}

// SampleReader yields 16 kHz mono float32 samples, like audio.Stream.
type SampleReader interface {
	Read(p []float32) (int, error)
}

// Options are per-job settings.
type Options struct {
	// Language is an ISO code such as "en"; "" means "en" for English-only
	// models and automatic detection for multilingual ones; "auto" detects.
	Language string
	// InitialPrompt conditions the decoder, e.g. the firm's matter and client
	// names so that their spelling is recognised. Up to ~224 tokens are used.
	InitialPrompt string
	// Threads for this job; 0 means the engine default.
	Threads int
	// Progress, if set, is called with 0..100 from a separate goroutine.
	Progress func(pct int)
	// Duration, if known (e.g. from the container header), lets
	// TranscribeReader report progress; Transcribe knows it from the samples.
	Duration time.Duration
}

// Segment is a piece of the transcript with its position in the audio.
type Segment struct {
	Start, End time.Duration
	Text       string
}

// Result of one transcription.
type Result struct {
	Text         string
	Segments     []Segment
	AudioSeconds float64
	WallSeconds  float64 // time spent transcribing (excludes waiting for a free slot)
}

// EngineOptions configure an Engine. Zero values pick the defaults.
type EngineOptions struct {
	// MaxConcurrent jobs run in parallel on the shared model, each with its own
	// whisper state (~tens of MB for base). Default 1: on a small server one
	// job using all threads finishes sooner than two sharing them.
	MaxConcurrent int
	// Threads per job when Options.Threads is 0. Default min(4, NumCPU).
	Threads int
	// WindowSeconds is how much audio is handed to whisper.cpp at once
	// (default 600, minimum 5; below 30 it wastes work, as whisper pads every
	// call to 30 s). Long recordings are cut at the quietest point near each
	// window's end, so memory stays bounded for any length.
	WindowSeconds int
	// TemperatureFallback is whisper's temperature increment when decoding
	// fails its entropy/log-prob checks (default 0.2 when zero). A negative
	// value disables fallback (use that with random-weight test models).
	TemperatureFallback float32
	// VerboseLog passes whisper.cpp's INFO logging through to stderr
	// (process-wide: the last engine created decides).
	VerboseLog bool
}

// Engine is a loaded whisper model, shared by all jobs. It is safe for
// concurrent use; Close waits for running jobs.
type Engine struct {
	path string
	info Info
	opts EngineOptions

	mu     sync.RWMutex // read-held by jobs, write-held by Close
	ctx    *C.struct_whisper_context
	slots  chan *C.struct_whisper_state // MaxConcurrent tokens; nil = state not created yet
	closed bool

	fbMu     sync.Mutex
	fallback float32
}

var _ Transcriber = (*Engine)(nil)

var logOnce sync.Once

// NewEngine validates the model file at path (structure only; checksums are
// checked at pull/import time) and loads it into whisper.cpp once.
func NewEngine(path string, opts EngineOptions) (*Engine, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.Threads <= 0 {
		opts.Threads = min(4, runtime.NumCPU())
	}
	if opts.WindowSeconds <= 0 {
		opts.WindowSeconds = 600
	}
	if opts.WindowSeconds < 5 {
		opts.WindowSeconds = 5
	}
	if opts.TemperatureFallback == 0 {
		opts.TemperatureFallback = 0.2
	}
	level := C.GGML_LOG_LEVEL_WARN
	if opts.VerboseLog {
		level = C.GGML_LOG_LEVEL_DEBUG
	}
	C.dictum_log_level(C.int(level))
	logOnce.Do(func() { C.dictum_log_init() })

	info, err := verifyFile(path)
	if err != nil {
		return nil, fmt.Errorf("load whisper model: %w", err)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	wctx := C.dictum_load(cpath)
	if wctx == nil {
		return nil, fmt.Errorf("load whisper model %s: whisper.cpp could not load it (its log on stderr says why)", path)
	}
	e := &Engine{path: path, info: info, opts: opts, ctx: wctx, fallback: opts.TemperatureFallback,
		slots: make(chan *C.struct_whisper_state, opts.MaxConcurrent)}
	for i := 0; i < opts.MaxConcurrent; i++ {
		e.slots <- nil
	}
	return e, nil
}

// Open resolves a transcribe.model value (see Resolve) and loads it.
func Open(value, modelsDir string, opts EngineOptions) (*Engine, error) {
	p, err := Resolve(value, modelsDir)
	if err != nil {
		return nil, err
	}
	return NewEngine(p, opts)
}

// Info describes the loaded model file.
func (e *Engine) Info() Info { return e.info }

// Path is the loaded model file.
func (e *Engine) Path() string { return e.path }

// SetTemperatureFallback sets whisper's temperature increment for later jobs;
// -1 (any value <= 0) disables fallback.
func (e *Engine) SetTemperatureFallback(inc float32) {
	e.fbMu.Lock()
	e.fallback = inc
	e.fbMu.Unlock()
}

func (e *Engine) temperatureInc() float32 {
	e.fbMu.Lock()
	defer e.fbMu.Unlock()
	if e.fallback <= 0 {
		return 0 // whisper.cpp only falls back when the increment is > 0
	}
	return e.fallback
}

// Close frees the model after running jobs finish.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for i := 0; i < cap(e.slots); i++ {
		if st := <-e.slots; st != nil {
			C.whisper_free_state(st)
		}
	}
	C.whisper_free(e.ctx)
	e.ctx = nil
	return nil
}

// Transcribe transcribes 16 kHz mono samples. Audio longer than the window is
// processed window by window; ctx cancels within one encoder or decoder step.
func (e *Engine) Transcribe(ctx context.Context, samples []float32, opts Options) (Result, error) {
	pos := 0
	return e.run(ctx, opts, func(buf []float32) (int, error) {
		n := copy(buf, samples[pos:])
		pos += n
		if pos == len(samples) {
			return n, io.EOF
		}
		return n, nil
	}, len(samples), true)
}

// TranscribeReader transcribes a stream of 16 kHz mono samples, holding at most
// one window of audio in memory.
func (e *Engine) TranscribeReader(ctx context.Context, r SampleReader, opts Options) (Result, error) {
	total := -1
	if opts.Duration > 0 {
		total = int(opts.Duration.Seconds() * SampleRate)
	}
	return e.run(ctx, opts, func(buf []float32) (int, error) {
		n := 0
		for n < len(buf) {
			k, err := r.Read(buf[n:])
			n += k
			if err != nil {
				return n, err
			}
			if k == 0 {
				return n, fmt.Errorf("audio reader returned no samples and no error")
			}
		}
		return n, nil
	}, total, false)
}

func (e *Engine) language(opt string) (string, error) {
	lang := strings.ToLower(strings.TrimSpace(opt))
	if e.info.English {
		if lang != "" && lang != "en" && lang != "auto" {
			return "", fmt.Errorf("model %s is English-only; language %q needs a multilingual model", e.info.Arch+".en", opt)
		}
		return "en", nil
	}
	if lang == "" {
		return "auto", nil
	}
	if lang != "auto" {
		cl := C.CString(lang)
		id := C.whisper_lang_id(cl)
		C.free(unsafe.Pointer(cl))
		if id < 0 {
			return "", fmt.Errorf("unknown language %q", opt)
		}
	}
	return lang, nil
}

// run drives the window loop. fill fills buf and returns io.EOF at the end;
// total is the sample count if known (for progress), else -1; exact says
// total is the true length rather than a hint.
func (e *Engine) run(ctx context.Context, opts Options, fill func(buf []float32) (int, error), total int, exact bool) (Result, error) {
	if total == 0 {
		return Result{}, ErrNoAudio
	}
	lang, err := e.language(opts.Language)
	if err != nil {
		return Result{}, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = e.opts.Threads
	}
	threads = min(threads, runtime.NumCPU()) // more threads than cores only adds contention

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return Result{}, ErrClosed
	}
	var st *C.struct_whisper_state
	select {
	case st = <-e.slots:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("transcribe: waiting for a free slot: %w", ctx.Err())
	}
	defer func() { e.slots <- st }()
	if st == nil {
		if st = C.whisper_init_state(e.ctx); st == nil {
			return Result{}, errors.New("transcribe: whisper.cpp could not allocate a decoding state (out of memory?)")
		}
	}

	start := time.Now()
	job := (*C.dictum_job)(C.calloc(1, C.size_t(unsafe.Sizeof(C.dictum_job{}))))
	if job == nil {
		return Result{}, errors.New("transcribe: out of memory")
	}
	defer C.free(unsafe.Pointer(job))
	clang := C.CString(lang)
	defer C.free(unsafe.Pointer(clang))
	var cprompt *C.char
	if p := strings.TrimSpace(opts.InitialPrompt); p != "" {
		cprompt = C.CString(p)
		defer C.free(unsafe.Pointer(cprompt))
	}
	tinc := C.float(e.temperatureInc())

	// One watcher goroutine per job: forwards cancellation into whisper.cpp and
	// polls progress. doneSamples/chunkLen are only written between chunks.
	var progMu sync.Mutex
	doneSamples, chunkLen := 0, 0
	stop := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		last := -1
		for {
			select {
			case <-ctx.Done():
				C.dictum_job_abort(job)
				return
			case <-stop:
				return
			case <-tick.C:
				if opts.Progress == nil || total < 0 {
					continue
				}
				progMu.Lock()
				p := int(C.dictum_job_progress(job))
				pct := (doneSamples*100 + chunkLen*p) / total
				progMu.Unlock()
				if pct > 99 {
					pct = 99 // 100 is reported once the result is complete
				}
				if pct != last {
					last = pct
					opts.Progress(pct)
				}
			}
		}
	}()
	stopWatcher := sync.OnceFunc(func() {
		close(stop)
		<-watcherDone
	})
	defer stopWatcher() // before job is freed (defers run last-in first-out)

	window := e.opts.WindowSeconds * SampleRate
	if exact && total < window {
		window = total
	}
	buf := make([]float32, window)
	have := 0      // samples in buf
	var offset int // samples before buf[0]
	var res Result
	var text strings.Builder
	eof := false
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("transcribe: %w", err)
		}
		if !eof && have < len(buf) {
			n, err := fill(buf[have:])
			sanitize(buf[have : have+n])
			have += n
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return Result{}, fmt.Errorf("transcribe: read audio: %w", err)
			}
		}
		if have == 0 {
			break
		}
		cut := have
		if !eof {
			cut = quietCut(buf[:have])
		}
		chunk := buf[:cut]
		progMu.Lock()
		chunkLen = cut
		progMu.Unlock()
		C.dictum_job_reset(job)
		rc := C.dictum_full(e.ctx, st, job, C.int(threads), clang, cprompt, tinc,
			(*C.float)(unsafe.Pointer(&chunk[0])), C.int(len(chunk)))
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("transcribe: %w", err)
		}
		if rc != 0 {
			return Result{}, fmt.Errorf("transcribe: whisper.cpp failed with code %d at %.1f s", int(rc), float64(offset)/SampleRate)
		}
		chunkEnd := time.Duration(cut) * time.Second / SampleRate
		base := time.Duration(offset) * time.Second / SampleRate
		ns := int(C.whisper_full_n_segments_from_state(st))
		for i := 0; i < ns; i++ {
			raw := C.GoString(C.whisper_full_get_segment_text_from_state(st, C.int(i)))
			t0 := time.Duration(C.whisper_full_get_segment_t0_from_state(st, C.int(i))) * 10 * time.Millisecond
			t1 := time.Duration(C.whisper_full_get_segment_t1_from_state(st, C.int(i))) * 10 * time.Millisecond
			// whisper pads the last 30 s window with silence, so its last
			// timestamp can lie past the end of the audio.
			t0, t1 = min(t0, chunkEnd), min(t1, chunkEnd)
			if t1 < t0 {
				t1 = t0
			}
			text.WriteString(raw)
			seg := strings.TrimSpace(strings.ToValidUTF8(raw, ""))
			if seg == "" {
				continue
			}
			res.Segments = append(res.Segments, Segment{Start: base + t0, End: base + t1, Text: seg})
		}
		offset += cut
		progMu.Lock()
		doneSamples += cut
		chunkLen = 0
		progMu.Unlock()
		have = copy(buf, buf[cut:have])
		if eof && have == 0 {
			break
		}
	}
	res.Text = strings.Join(strings.Fields(strings.ToValidUTF8(text.String(), "")), " ")
	res.AudioSeconds = float64(offset) / SampleRate
	res.WallSeconds = time.Since(start).Seconds()
	stopWatcher() // no progress report can follow the final 100
	if opts.Progress != nil {
		opts.Progress(100)
	}
	return res, nil
}

// sanitize replaces NaN and ±Inf (a broken decoder's output) with silence,
// which whisper's mel computation would otherwise spread over a whole window.
func sanitize(s []float32) {
	for i, v := range s {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			s[i] = 0
		}
	}
}

// quietCut picks where to end a full window: the quietest 100 ms in its last
// 10 seconds, so that long recordings are not cut in the middle of a word.
func quietCut(buf []float32) int {
	const frame = SampleRate / 10
	searchFrom := len(buf) - 10*SampleRate
	if searchFrom < len(buf)/2 {
		searchFrom = len(buf) / 2
	}
	best, bestE := len(buf), math.MaxFloat64
	for s := searchFrom; s+frame <= len(buf); s += frame {
		var en float64
		for _, v := range buf[s : s+frame] {
			en += float64(v) * float64(v)
		}
		if en < bestE {
			best, bestE = s+frame/2, en
		}
	}
	return best
}
