package transcribe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
)

// Remote backend kinds (config transcribe.backend).
const (
	BackendWhisperServer = "whisper-server"
	BackendOpenAI        = "openai"
	BackendAzure         = "azure"
)

// ErrBackendUnavailable means no remote backend answered; the job goes back to the queue
// without using up an attempt.
var ErrBackendUnavailable = errors.New("no transcription backend answered")

// RemoteOptions configure a Remote pool.
type RemoteOptions struct {
	Kind       string   // whisper-server, openai or azure
	URLs       []string // base URLs, used concurrently
	Slots      int      // jobs in flight per URL (default 1)
	Key        string   // bearer key (azure: api-key); never logged
	Model      string   // openai: model name; azure: deployment
	APIVersion string   // azure only
	Timeout    time.Duration
	// HTTPClient carries the TLS trust (see BackendHTTPClient); nil: a default client.
	HTTPClient *http.Client
	// Fallback, when set, transcribes locally when no backend answers.
	Fallback func() (Transcriber, error)
	Log      *slog.Logger
	// Down is how long a failed backend is skipped before a health check lets it back in.
	Down time.Duration
}

type backend struct {
	url       string
	slots     chan struct{}
	mu        sync.Mutex
	downUntil time.Time
	lastErr   string
}

// Remote sends jobs to remote whisper backends: one in-flight job per slot, a failed
// backend is skipped until a health check passes, and a job whose backend fails is sent
// to another one.
type Remote struct {
	o        RemoteOptions
	backends []*backend
	next     int
	mu       sync.Mutex
	freed    chan struct{}
	azure    *openai.Client
}

// NewRemote checks the options and builds the pool (no connection is made yet).
func NewRemote(o RemoteOptions) (*Remote, error) {
	switch o.Kind {
	case BackendWhisperServer, BackendOpenAI, BackendAzure:
	default:
		return nil, fmt.Errorf("transcribe: unknown backend %q", o.Kind)
	}
	if len(o.URLs) == 0 {
		return nil, errors.New("transcribe: no backend URLs")
	}
	if o.Slots < 1 {
		o.Slots = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Down <= 0 {
		o.Down = 5 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Remote{o: o, freed: make(chan struct{}, 1)}
	for _, raw := range o.URLs {
		u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			return nil, fmt.Errorf("transcribe: backend URL %q is not an http(s) URL without credentials", raw)
		}
		b := &backend{url: u.String(), slots: make(chan struct{}, o.Slots)}
		r.backends = append(r.backends, b)
	}
	if o.Kind == BackendAzure {
		if o.Key == "" || o.Model == "" || o.APIVersion == "" {
			return nil, errors.New("transcribe: azure needs a key, a deployment and an API version")
		}
	}
	return r, nil
}

// Slots is the number of jobs the pool runs at once (URLs x slots).
func (r *Remote) Slots() int { return len(r.backends) * r.o.Slots }

// acquire takes a free slot on a backend this job has not tried yet, preferring healthy
// ones in turn; it waits while every candidate is busy and returns nil when none is left.
func (r *Remote) acquire(ctx context.Context, tried map[*backend]bool) (*backend, error) {
	for {
		candidates := 0
		r.mu.Lock()
		start := r.next
		r.next++
		r.mu.Unlock()
		for i := range r.backends {
			b := r.backends[(start+i)%len(r.backends)]
			if tried[b] {
				continue
			}
			b.mu.Lock()
			down := time.Now().Before(b.downUntil)
			b.mu.Unlock()
			if down {
				continue
			}
			candidates++
			select {
			case b.slots <- struct{}{}:
				return b, nil
			default:
			}
		}
		if candidates == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.freed:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *Remote) release(b *backend) {
	<-b.slots
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

func (r *Remote) markDown(b *backend, err error) {
	b.mu.Lock()
	b.downUntil = time.Now().Add(r.o.Down)
	b.lastErr = err.Error()
	b.mu.Unlock()
}

// transient says whether another backend (or a later try) may succeed.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("backend answered HTTP %d: %s", e.code, e.body)
}

func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == 408 || se.code == 429
	}
	var ae *openai.Error
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500 || ae.StatusCode == 408 || ae.StatusCode == 429
	}
	return true // connection refused or reset, timeout, a body cut off mid-answer
}

// Transcribe sends the samples (16 kHz mono, already silence-trimmed) as a WAV file to a
// backend; on a transient failure it tries each other backend once, then the local
// fallback, then returns ErrBackendUnavailable so the job goes back to the queue.
func (r *Remote) Transcribe(ctx context.Context, samples []float32, opts Options) (Result, error) {
	if len(samples) == 0 {
		return Result{}, ErrNoAudio
	}
	wav := EncodeWAV(samples)
	tried := map[*backend]bool{}
	var errs []string
	for {
		b, err := r.acquire(ctx, tried)
		if err != nil {
			return Result{}, err
		}
		if b == nil {
			break
		}
		tried[b] = true
		start := time.Now()
		res, err := r.send(ctx, b, wav, opts)
		r.release(b)
		if err == nil {
			res.AudioSeconds = float64(len(samples)) / SampleRate
			res.WallSeconds = time.Since(start).Seconds()
			if opts.Progress != nil {
				opts.Progress(100)
			}
			return res, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		host := hostOnly(b.url)
		if !transient(err) {
			return Result{}, fmt.Errorf("transcription backend %s: %w", host, err)
		}
		r.markDown(b, err)
		r.o.Log.Warn("transcription backend failed; trying another", "backend", host, "err", err)
		errs = append(errs, host+": "+err.Error())
	}
	if r.o.Fallback != nil {
		eng, err := r.o.Fallback()
		if err != nil {
			return Result{}, fmt.Errorf("%w (%s), and the local fallback cannot start: %w", ErrBackendUnavailable, strings.Join(errs, "; "), err)
		}
		r.o.Log.Warn("no transcription backend answered; transcribing on this server", "tried", len(errs))
		return eng.Transcribe(ctx, samples, opts)
	}
	if len(errs) == 0 {
		return Result{}, fmt.Errorf("%w: every backend failed a moment ago and waits for its health check", ErrBackendUnavailable)
	}
	return Result{}, fmt.Errorf("%w: %s", ErrBackendUnavailable, strings.Join(errs, "; "))
}

func hostOnly(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// Health asks every backend whether it is up (whisper-server: GET /health; openai: GET
// /v1/models, where any answer below 500 counts; azure: no probe, it is assumed up) and lets the healthy ones back in. It
// returns one line per backend for the admin.
func (r *Remote) Health(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, b := range r.backends {
		err := r.probe(ctx, b)
		b.mu.Lock()
		if err == nil {
			b.downUntil = time.Time{}
			out[hostOnly(b.url)] = "ok"
		} else {
			b.downUntil = time.Now().Add(r.o.Down)
			b.lastErr = err.Error()
			out[hostOnly(b.url)] = err.Error()
		}
		b.mu.Unlock()
	}
	return out
}

func (r *Remote) probe(ctx context.Context, b *backend) error {
	var path string
	switch r.o.Kind {
	case BackendWhisperServer:
		path = "/health"
	case BackendOpenAI:
		path = "/v1/models"
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+path, nil)
	if err != nil {
		return err
	}
	r.auth(req)
	resp, err := r.o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	// Any answer below 500 means the server is up: an OpenAI-compatible server need not
	// implement /v1/models (whisper.cpp's with --inference-path does not); whisper-server
	// answers 503 while it loads its model.
	if resp.StatusCode >= 500 {
		return &statusError{code: resp.StatusCode, body: http.StatusText(resp.StatusCode)}
	}
	return nil
}

// RunHealthChecks probes the backends every interval until ctx ends.
func (r *Remote) RunHealthChecks(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for host, st := range r.Health(ctx) {
				if st != "ok" {
					r.o.Log.Warn("transcription backend health check failed", "backend", host, "err", st)
				}
			}
		}
	}
}

func (r *Remote) auth(req *http.Request) {
	if r.o.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.o.Key)
	}
}

func (r *Remote) send(ctx context.Context, b *backend, wav []byte, opts Options) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	if r.o.Kind == BackendAzure {
		return r.sendAzure(ctx, b, wav, opts)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "audio.wav")
	if err != nil {
		return Result{}, err
	}
	if _, err := fw.Write(wav); err != nil {
		return Result{}, err
	}
	fields := [][2]string{{"response_format", "verbose_json"}}
	path := "/v1/audio/transcriptions"
	if r.o.Kind == BackendWhisperServer {
		path = "/inference"
		fields = append(fields, [2]string{"temperature", "0.0"})
	} else {
		fields = append(fields, [2]string{"model", r.o.Model})
	}
	if opts.InitialPrompt != "" {
		fields = append(fields, [2]string{"prompt", opts.InitialPrompt})
	}
	if opts.Language != "" && opts.Language != "auto" {
		fields = append(fields, [2]string{"language", opts.Language})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return Result{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+path, &body)
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r.auth(req)
	resp, err := r.o.HTTPClient.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Result{}, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return Result{}, &statusError{code: resp.StatusCode, body: msg}
	}
	return parseVerbose(raw)
}

// verbose is the verbose_json answer shared by whisper-server and OpenAI-compatible
// servers: text, and segments with start and end in seconds.
type verbose struct {
	Text     *string `json:"text"`
	Error    string  `json:"error"`
	Segments []struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Text  string  `json:"text"`
	} `json:"segments"`
}

func parseVerbose(raw []byte) (Result, error) {
	var v verbose
	if err := json.Unmarshal(raw, &v); err != nil {
		return Result{}, &statusError{code: 502, body: "answer is not JSON"}
	}
	if v.Error != "" {
		return Result{}, &statusError{code: 500, body: v.Error}
	}
	if v.Text == nil {
		return Result{}, &statusError{code: 502, body: "answer has no text"}
	}
	res := Result{Text: strings.TrimSpace(*v.Text)}
	for _, s := range v.Segments {
		res.Segments = append(res.Segments, Segment{Start: secs(s.Start), End: secs(s.End), Text: strings.TrimSpace(s.Text)})
	}
	return res, nil
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func (r *Remote) sendAzure(ctx context.Context, b *backend, wav []byte, opts Options) (Result, error) {
	client := openai.NewClient(
		azure.WithEndpoint(b.url, r.o.APIVersion),
		azure.WithAPIKey(r.o.Key),
		option.WithMaxRetries(0), // retries are the pool's, on another backend
		option.WithHTTPClient(r.o.HTTPClient),
	)
	p := openai.AudioTranscriptionNewParams{
		File:           openai.File(bytes.NewReader(wav), "audio.wav", "audio/wav"),
		Model:          openai.AudioModel(r.o.Model),
		ResponseFormat: openai.AudioResponseFormatVerboseJSON,
	}
	if opts.InitialPrompt != "" {
		p.Prompt = openai.String(opts.InitialPrompt)
	}
	if opts.Language != "" && opts.Language != "auto" {
		p.Language = openai.String(opts.Language)
	}
	resp, err := client.Audio.Transcriptions.New(ctx, p)
	if err != nil {
		return Result{}, err
	}
	res := Result{Text: strings.TrimSpace(resp.Text)}
	for _, s := range resp.Segments {
		res.Segments = append(res.Segments, Segment{Start: secs(s.Start), End: secs(s.End), Text: strings.TrimSpace(s.Text)})
	}
	return res, nil
}

// EncodeWAV writes 16 kHz mono samples as a 16-bit PCM WAV file (what every backend reads).
func EncodeWAV(samples []float32) []byte {
	n := len(samples) * 2
	buf := bytes.NewBuffer(make([]byte, 0, 44+n))
	w := func(v any) { _ = binary.Write(buf, binary.LittleEndian, v) }
	buf.WriteString("RIFF")
	w(uint32(36 + n))
	buf.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(SampleRate))
	w(uint32(SampleRate * 2))
	w(uint16(2))
	w(uint16(16))
	buf.WriteString("data")
	w(uint32(n))
	pcm := make([]byte, n)
	for i, s := range samples {
		v := math.Max(-1, math.Min(1, float64(s)))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(math.Round(v*32767))))
	}
	buf.Write(pcm)
	return buf.Bytes()
}

// BackendHTTPClient is the client for the backends: https is verified against caFile when
// set, else against the firm CA (firmCA, when the file exists) and the system roots.
func BackendHTTPClient(caFile, firmCA string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	file := caFile
	if file == "" {
		if _, err := os.Stat(firmCA); err == nil {
			file = firmCA
		}
	}
	if file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("transcribe.backend_ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("transcribe.backend_ca_file: %s holds no PEM certificate", file)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.Proxy = nil // backends are on the firm's LAN; no proxy sees the audio
	return &http.Client{Transport: tr}, nil
}
