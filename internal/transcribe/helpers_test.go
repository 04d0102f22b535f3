package transcribe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	// The engine calls whisper.cpp's C API directly (per-job states, abort
	// callback); the Go bindings module is kept as a test dependency because
	// it ships samples/jfk.wav, the real speech the tests transcribe.
	_ "github.com/ggerganov/whisper.cpp/bindings/go"
)

// readWAV16k reads a PCM 16-bit WAV that is already 16 kHz mono (tests convert
// other files with sox first). The real decoder lives in internal/audio.
func readWAV16k(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s: not a RIFF/WAVE file", path)
	}
	var channels, bits uint16
	var rate uint32
	var data []byte
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if n > len(body) {
			n = len(body)
		}
		switch id {
		case "fmt ":
			if n < 16 {
				return nil, fmt.Errorf("%s: short fmt chunk", path)
			}
			if f := binary.LittleEndian.Uint16(body); f != 1 && f != 0xFFFE {
				return nil, fmt.Errorf("%s: format %d is not PCM", path, f)
			}
			channels = binary.LittleEndian.Uint16(body[2:])
			rate = binary.LittleEndian.Uint32(body[4:])
			bits = binary.LittleEndian.Uint16(body[14:])
		case "data":
			data = body[:n]
		}
		off += 8 + n + n%2
	}
	if channels != 1 || rate != 16000 || bits != 16 {
		return nil, fmt.Errorf("%s: %d ch %d Hz %d bit, want 1 ch 16000 Hz 16 bit", path, channels, rate, bits)
	}
	out := make([]float32, len(data)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
	}
	return out, nil
}

// jfkPath finds samples/jfk.wav in the whisper.cpp Go bindings module.
func jfkPath(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ggerganov/whisper.cpp/bindings/go").Output()
	if err != nil {
		tb.Fatalf("locate whisper.cpp bindings module: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "samples", "jfk.wav")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("jfk.wav: %v", err)
	}
	return p
}

var (
	genOnce  sync.Map // dims -> *genResult
	genMutex sync.Mutex
)

type genResult struct {
	once sync.Once
	path string
	err  error
}

// testModel generates (once per test binary) a random-weight model for dims.
func testModel(tb testing.TB, dims string) string {
	tb.Helper()
	v, _ := genOnce.LoadOrStore(dims, &genResult{})
	g := v.(*genResult)
	g.once.Do(func() {
		dir, err := os.MkdirTemp("", "dictum-whisper-test-")
		if err != nil {
			g.err = err
			return
		}
		g.path = filepath.Join(dir, "test-"+dims+".bin")
		var buf bytes.Buffer
		if err := GenerateTestModel(&buf, dims, 1); err != nil {
			g.err = err
			return
		}
		g.err = os.WriteFile(g.path, buf.Bytes(), 0o600)
		testDirs = append(testDirs, dir)
	})
	if g.err != nil {
		tb.Fatalf("generate %s: %v", dims, g.err)
	}
	return g.path
}

var testDirs []string

var (
	engines   = map[string]*Engine{}
	enginesMu sync.Mutex
)

// testEngine loads a generated model once per test binary, fallback off.
func testEngine(tb testing.TB, dims string) *Engine {
	tb.Helper()
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[dims]; ok {
		return e
	}
	e, err := NewEngine(testModel(tb, dims), EngineOptions{Threads: min(2, runtime.NumCPU()), TemperatureFallback: -1})
	if err != nil {
		tb.Fatalf("load %s: %v", dims, err)
	}
	engines[dims] = e
	return e
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, e := range engines {
		e.Close()
	}
	for _, d := range testDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
