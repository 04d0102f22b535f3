package transcribe_test

import (
	"context"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dictum/internal/transcribe"
)

// seen is what a fake backend received in one request.
type seen struct {
	path, query, auth, apiKey string
	fields                    map[string]string
	wav                       []byte
}

const verboseAnswer = `{"task":"transcribe","language":"english","duration":1.0,"text":" Call with Acme Corp re merger. ",
 "segments":[{"id":0,"start":0.0,"end":0.8,"text":" Call with Acme Corp re merger."}]}`

// fakeBackend is an https server answering verbose_json and recording what it got.
func fakeBackend(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *[]seen, *sync.Mutex) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization"), apiKey: r.Header.Get("Api-Key"), fields: map[string]string{}}
		if err := r.ParseMultipartForm(32 << 20); err == nil {
			for k, v := range r.MultipartForm.Value {
				s.fields[k] = v[0]
			}
			if fh := r.MultipartForm.File["file"]; len(fh) == 1 {
				f, _ := fh[0].Open()
				s.wav, _ = io.ReadAll(f)
				s.fields["filename"] = fh[0].Filename
			}
		}
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, verboseAnswer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got, &mu
}

// caFile writes the test server's certificate as the configured backend CA.
func caFile(t *testing.T, srvs ...*httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	var b []byte
	for _, s := range srvs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})...)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tone(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i%40-20) / 40
	}
	return s
}

func newRemote(t *testing.T, o transcribe.RemoteOptions, srvs ...*httptest.Server) *transcribe.Remote {
	t.Helper()
	hc, err := transcribe.BackendHTTPClient(caFile(t, srvs...), "")
	if err != nil {
		t.Fatal(err)
	}
	o.HTTPClient = hc
	for _, s := range srvs {
		o.URLs = append(o.URLs, s.URL)
	}
	r, err := transcribe.NewRemote(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkWAV asserts the backend got the decoded samples as 16 kHz mono 16-bit PCM.
func checkWAV(t *testing.T, wav []byte, samples int) {
	t.Helper()
	if len(wav) != 44+2*samples || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("backend got %d bytes, want a %d-sample WAV", len(wav), samples)
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(wav[22:]), binary.LittleEndian.Uint32(wav[24:]), binary.LittleEndian.Uint16(wav[34:]); ch != 1 || rate != 16000 || bits != 16 {
		t.Fatalf("WAV is %d ch %d Hz %d bit, want mono 16000 Hz 16 bit", ch, rate, bits)
	}
}

// The request shapes of the three backends: path, authentication, multipart fields, the
// audio as WAV and the prompt with matter names; all over TLS verified against the CA.
func TestRemoteProtocolShapes(t *testing.T) {
	cases := []struct {
		kind      string
		path      string
		query     string
		wantField map[string]string
		auth      func(s seen) bool
	}{
		{transcribe.BackendWhisperServer, "/inference", "",
			map[string]string{"response_format": "verbose_json", "prompt": "Acme Corp v. Bolt", "language": "en", "temperature": "0.0"},
			func(s seen) bool { return s.auth == "Bearer k-123" }},
		{transcribe.BackendOpenAI, "/v1/audio/transcriptions", "",
			map[string]string{"response_format": "verbose_json", "prompt": "Acme Corp v. Bolt", "language": "en", "model": "whisper-large-v3"},
			func(s seen) bool { return s.auth == "Bearer k-123" }},
		{transcribe.BackendAzure, "/openai/deployments/whisper-large-v3/audio/transcriptions", "api-version=2024-06-01",
			map[string]string{"response_format": "verbose_json", "prompt": "Acme Corp v. Bolt", "language": "en", "model": "whisper-large-v3"},
			func(s seen) bool { return s.apiKey == "k-123" }},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			srv, got, _ := fakeBackend(t, nil)
			r := newRemote(t, transcribe.RemoteOptions{Kind: tc.kind, Key: "k-123", Model: "whisper-large-v3", APIVersion: "2024-06-01"}, srv)
			samples := tone(16000)
			res, err := r.Transcribe(context.Background(), samples, transcribe.Options{Language: "en", InitialPrompt: "Acme Corp v. Bolt"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != "Call with Acme Corp re merger." || len(res.Segments) != 1 || res.Segments[0].End != 800*time.Millisecond || res.AudioSeconds != 1 {
				t.Fatalf("result %+v", res)
			}
			if len(*got) != 1 {
				t.Fatalf("%d requests", len(*got))
			}
			s := (*got)[0]
			if s.path != tc.path || s.query != tc.query {
				t.Fatalf("request to %s?%s, want %s?%s", s.path, s.query, tc.path, tc.query)
			}
			if !tc.auth(s) {
				t.Fatalf("authentication headers: Authorization %q api-key %q", s.auth, s.apiKey)
			}
			for k, v := range tc.wantField {
				if s.fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, s.fields[k], v)
				}
			}
			checkWAV(t, s.wav, len(samples))
		})
	}
}

// A backend whose certificate the firm's CA did not sign gets no audio.
func TestRemoteRefusesUnverifiedTLS(t *testing.T) {
	srv, got, _ := fakeBackend(t, nil)
	hc, err := transcribe.BackendHTTPClient("", filepath.Join(t.TempDir(), "no-firm-ca.crt")) // system roots only
	if err != nil {
		t.Fatal(err)
	}
	r, err := transcribe.NewRemote(transcribe.RemoteOptions{Kind: transcribe.BackendOpenAI, URLs: []string{srv.URL}, Model: "m", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Transcribe(context.Background(), tone(1600), transcribe.Options{})
	if !errors.Is(err, transcribe.ErrBackendUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want a certificate error, got %v", err)
	}
	if len(*got) != 0 {
		t.Fatal("audio reached a backend whose certificate was not verified")
	}
}

type localDouble struct{ calls atomic.Int32 }

func (l *localDouble) Transcribe(_ context.Context, s []float32, _ transcribe.Options) (transcribe.Result, error) {
	l.calls.Add(1)
	return transcribe.Result{Text: "local", AudioSeconds: float64(len(s)) / 16000}, nil
}

// A backend that dies mid-request (connection cut) or answers 5xx is skipped and the job
// goes to another backend; with none left the job is unavailable (back to the queue) or,
// with fallback_local, transcribed on this server. A 4xx is the request's fault: no retry.
func TestRemoteFailover(t *testing.T) {
	cut := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	fail500 := func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":"out of memory"}`, 500) }
	t.Run("dead mid-request then healthy", func(t *testing.T) {
		dead, deadGot, _ := fakeBackend(t, cut)
		ok, okGot, _ := fakeBackend(t, nil)
		r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendWhisperServer, Down: time.Minute}, dead, ok)
		for i := range 3 {
			res, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{})
			if err != nil || res.Text == "" {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		if len(*deadGot) != 1 || len(*okGot) != 3 {
			t.Fatalf("dead backend got %d requests (want 1, then skipped), healthy got %d (want 3)", len(*deadGot), len(*okGot))
		}
	})
	t.Run("all down, no fallback", func(t *testing.T) {
		a, _, _ := fakeBackend(t, fail500)
		b, _, _ := fakeBackend(t, cut)
		r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendWhisperServer}, a, b)
		_, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{})
		if !errors.Is(err, transcribe.ErrBackendUnavailable) || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("all down, fallback local", func(t *testing.T) {
		a, _, _ := fakeBackend(t, fail500)
		local := &localDouble{}
		r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendOpenAI, Model: "m",
			Fallback: func() (transcribe.Transcriber, error) { return local, nil }}, a)
		res, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{})
		if err != nil || res.Text != "local" || local.calls.Load() != 1 {
			t.Fatalf("fallback: %+v %v", res, err)
		}
	})
	t.Run("4xx is not retried elsewhere", func(t *testing.T) {
		a, aGot, _ := fakeBackend(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad key", 401) })
		b, bGot, _ := fakeBackend(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad key", 401) })
		r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendOpenAI, Model: "m", Key: "wrong"}, a, b)
		_, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{})
		if err == nil || errors.Is(err, transcribe.ErrBackendUnavailable) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("got %v", err)
		}
		if n := len(*aGot) + len(*bGot); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Fatal("the key appears in the error")
		}
	})
	t.Run("health check lets a backend back in", func(t *testing.T) {
		var healthy atomic.Bool
		srv, got, _ := fakeBackend(t, func(w http.ResponseWriter, r *http.Request) {
			if !healthy.Load() {
				http.Error(w, "loading model", 503)
				return
			}
			if r.URL.Path == "/health" {
				_, _ = io.WriteString(w, `{"status":"ok"}`)
				return
			}
			_, _ = io.WriteString(w, verboseAnswer)
		})
		r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendWhisperServer, Down: time.Hour}, srv)
		if _, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{}); !errors.Is(err, transcribe.ErrBackendUnavailable) {
			t.Fatalf("got %v", err)
		}
		healthy.Store(true)
		if _, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{}); !errors.Is(err, transcribe.ErrBackendUnavailable) {
			t.Fatalf("a down backend was used before its health check: %v", err)
		}
		h := r.Health(context.Background())
		if h[strings.TrimPrefix(srv.URL, "https://")] != "ok" {
			t.Fatalf("health %v", h)
		}
		if _, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{}); err != nil {
			t.Fatalf("after a passing health check: %v", err)
		}
		if len(*got) != 3 {
			t.Fatalf("%d requests, want 3 (fail, health, job)", len(*got))
		}
	})
}

// Several URLs are used concurrently, never more than backend_slots jobs in flight on one.
func TestRemoteSlots(t *testing.T) {
	var mu sync.Mutex
	inFlight, maxIn := map[string]int{}, map[string]int{}
	slow := func(name string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inFlight[name]++
			maxIn[name] = max(maxIn[name], inFlight[name])
			mu.Unlock()
			time.Sleep(60 * time.Millisecond)
			mu.Lock()
			inFlight[name]--
			mu.Unlock()
			_, _ = io.WriteString(w, verboseAnswer)
		}
	}
	a, _, _ := fakeBackend(t, slow("a"))
	b, _, _ := fakeBackend(t, slow("b"))
	r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendWhisperServer, Slots: 2}, a, b)
	if r.Slots() != 4 {
		t.Fatalf("slots %d", r.Slots())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			if _, err := r.Transcribe(context.Background(), tone(1600), transcribe.Options{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if maxIn["a"] != 2 || maxIn["b"] != 2 {
		t.Fatalf("max in flight per backend %v, want 2 on each", fmt.Sprint(maxIn))
	}
}

// An OpenAI-compatible server without /v1/models (404) is up; one answering 5xx is down.
func TestRemoteHealthOpenAI(t *testing.T) {
	up, _, _ := fakeBackend(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	down, _, _ := fakeBackend(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) })
	r := newRemote(t, transcribe.RemoteOptions{Kind: transcribe.BackendOpenAI, Model: "m"}, up, down)
	h := r.Health(context.Background())
	if h[strings.TrimPrefix(up.URL, "https://")] != "ok" || h[strings.TrimPrefix(down.URL, "https://")] == "ok" {
		t.Fatalf("health %v", h)
	}
}
