package transcribe

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a model file a test server offers, with its catalogue entry.
func served(t *testing.T) ([]byte, Model) {
	t.Helper()
	data, err := os.ReadFile(testModel(t, "tiny.en"))
	if err != nil {
		t.Fatal(err)
	}
	s1 := sha1.Sum(data)
	s256 := sha256.Sum256(data)
	return data, Model{Name: "test-tiny.en", Size: int64(len(data)), SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]), Params: "tiny", English: true}
}

type requestLog struct {
	mu     sync.Mutex
	ranges []string
}

func (l *requestLog) add(r *http.Request) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ranges = append(l.ranges, r.Header.Get("Range"))
	return len(l.ranges)
}

func (l *requestLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ranges...)
}

func serveModel(data []byte, log *requestLog, first func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := log.add(r)
		if n == 1 && first != nil && first(w, r) {
			return
		}
		http.ServeContent(w, r, "m.bin", time.Time{}, bytes.NewReader(data))
	}))
}

func fastRetries(t *testing.T) {
	old := pullRetryDelay
	pullRetryDelay = 5 * time.Millisecond
	t.Cleanup(func() { pullRetryDelay = old })
}

func assertInstalled(t *testing.T, path string, data []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s differs from the served file", path)
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("part file left behind: %v", err)
	}
}

func TestPullFullDownload(t *testing.T) {
	data, m := served(t)
	var log requestLog
	srv := serveModel(data, &log, nil)
	defer srv.Close()
	dir := t.TempDir()
	var lastDone, lastTotal int64
	p, err := pullModel(context.Background(), m, srv.URL+"/", dir, func(done, total int64) { lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, m.File()) {
		t.Fatalf("path = %s", p)
	}
	assertInstalled(t, p, data)
	if lastDone != m.Size || lastTotal != m.Size {
		t.Errorf("last progress = %d/%d, want %d/%d", lastDone, lastTotal, m.Size, m.Size)
	}
	if r := log.get(); len(r) != 1 || r[0] != "" {
		t.Errorf("requests = %q, want one without Range", r)
	}
	// A second pull finds the verified file and does not download again.
	if _, err := pullModel(context.Background(), m, srv.URL, dir, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(log.get()); n != 1 {
		t.Errorf("second pull made %d more requests", n-1)
	}
}

func TestPullResumes(t *testing.T) {
	fastRetries(t)
	data, m := served(t)
	half := len(data) / 2
	tests := []struct {
		name      string
		partBytes int                                               // pre-existing .part from an earlier run
		first     func(w http.ResponseWriter, r *http.Request) bool // first request's behaviour
		wantRange []string
	}{
		{
			name: "connection cut midway",
			first: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				w.WriteHeader(http.StatusOK)
				w.Write(data[:half])
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return true
			},
			wantRange: []string{"", "bytes=" + strconv.Itoa(half) + "-"},
		},
		{
			name:      "part file from an earlier run",
			partBytes: 12345,
			wantRange: []string{"bytes=12345-"},
		},
		{
			name:      "server ignores Range and sends everything",
			partBytes: 999,
			first: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				w.WriteHeader(http.StatusOK)
				w.Write(data)
				return true
			},
			wantRange: []string{"bytes=999-"},
		},
		{
			name:      "server cannot satisfy the range",
			partBytes: 4321,
			first: func(w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return true
			},
			wantRange: []string{"bytes=4321-", ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log requestLog
			srv := serveModel(data, &log, tc.first)
			defer srv.Close()
			dir := t.TempDir()
			if tc.partBytes > 0 {
				if err := os.WriteFile(filepath.Join(dir, m.File()+".part"), data[:tc.partBytes], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := pullModel(context.Background(), m, srv.URL, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertInstalled(t, p, data)
			if got := log.get(); strings.Join(got, "|") != strings.Join(tc.wantRange, "|") {
				t.Errorf("Range headers = %q, want %q", got, tc.wantRange)
			}
		})
	}
}

func TestPullChecksumMismatchDeletesPart(t *testing.T) {
	data, m := served(t)
	m.SHA256 = strings.Repeat("0", 64)
	var log requestLog
	srv := serveModel(data, &log, nil)
	defer srv.Close()
	dir := t.TempDir()
	_, err := pullModel(context.Background(), m, srv.URL, dir, nil)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if !strings.Contains(err.Error(), "deleted") {
		t.Errorf("error does not say the download was deleted: %v", err)
	}
	for _, f := range []string{m.File(), m.File() + ".part"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a checksum mismatch", f)
		}
	}
}

func TestPullErrors(t *testing.T) {
	fastRetries(t)
	var log requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()

	_, err := Pull(context.Background(), "tiny.en", srv.URL, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "ggml-tiny.en.bin") {
		t.Fatalf("err = %v, want a 404 naming the file", err)
	}
	if n := len(log.get()); n != 1 {
		t.Errorf("404 was retried: %d requests", n)
	}
	if _, err := Pull(context.Background(), "tiny.en-q3", srv.URL, dir, nil); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("unknown name: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Pull(ctx, "tiny.en", srv.URL, dir, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestImport(t *testing.T) {
	src := testModel(t, "tiny.en")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := Import(src, filepath.Join(dir, "models"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != filepath.Base(src) {
		t.Errorf("custom model installed as %s", p)
	}
	assertInstalled(t, p, data)

	fake := filepath.Join(dir, "ggml-tiny.en.bin") // valid model, wrong bytes for the catalogue name
	if err := os.WriteFile(fake, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(fake, filepath.Join(dir, "models")); !errors.Is(err, ErrChecksum) {
		t.Fatalf("import under a catalogue name: err = %v, want ErrChecksum", err)
	}
	text := filepath.Join(dir, "notes.bin")
	if err := os.WriteFile(text, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(text, filepath.Join(dir, "models")); !errors.Is(err, ErrInvalidModel) {
		t.Fatalf("import text: err = %v, want ErrInvalidModel", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "notes.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Error("invalid file was installed")
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.MkdirAll(models, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ggml-tiny.en.bin", "ggml-firm-custom.bin"} {
		if err := os.WriteFile(filepath.Join(models, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "elsewhere.bin")
	if err := os.WriteFile(abs, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value   string
		want    string
		wantErr error
	}{
		{"tiny.en", filepath.Join(models, "ggml-tiny.en.bin"), nil},
		{" ggml-tiny.en.bin", "", ErrModelMissing}, // a bare .bin is a path relative to the working directory
		{"", "", ErrModelMissing},                  // default base.en is not installed
		{"base.en", "", ErrModelMissing},
		{"large-v3-turbo-q5_0", "", ErrModelMissing},
		{abs, abs, nil},
		{filepath.Join(dir, "missing.bin"), "", ErrModelMissing},
		{"firm-custom", filepath.Join(models, "ggml-firm-custom.bin"), nil},
		{"no-such-model", "", ErrUnknownModel},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			got, err := Resolve(tc.value, models)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Resolve = %s, want %s", got, tc.want)
			}
		})
	}
	_, err := Resolve("base.en", models)
	if err == nil || !strings.Contains(err.Error(), "dictum model pull base.en") {
		t.Errorf("missing model error does not tell the admin what to do: %v", err)
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Catalogue() {
		if seen[m.Name] {
			t.Errorf("duplicate %s", m.Name)
		}
		seen[m.Name] = true
		if m.Size < 30<<20 || len(m.SHA1) != 40 || len(m.SHA256) != 64 {
			t.Errorf("%s: size %d sha1 %q sha256 %q", m.Name, m.Size, m.SHA1, m.SHA256)
		}
		for _, h := range []string{m.SHA1, m.SHA256} {
			if _, err := hex.DecodeString(h); err != nil {
				t.Errorf("%s: digest %q: %v", m.Name, h, err)
			}
		}
		if m.English != strings.Contains(m.Name, ".en") {
			t.Errorf("%s: English = %v", m.Name, m.English)
		}
	}
	for _, n := range []string{DefaultModel, "tiny.en", "tiny", "base", "small.en", "small", "medium.en", "medium", "large-v3-turbo",
		"tiny.en-q5_1", "tiny.en-q8_0", "base.en-q5_1", "base.en-q8_0", "small.en-q5_1", "small.en-q8_0", "medium.en-q5_0",
		"medium.en-q8_0", "large-v3-turbo-q5_0", "large-v3-turbo-q8_0"} {
		if !seen[n] {
			t.Errorf("catalogue lacks %s", n)
		}
	}
	if m, ok := Lookup("ggml-base.en.bin"); !ok || m.Name != "base.en" {
		t.Errorf("Lookup by file name = %+v, %v", m, ok)
	}
}
