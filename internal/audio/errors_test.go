package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func wav16(t testing.TB, secs float64, amp float64) []byte {
	n := int(secs * 16000)
	return encodeTestWAV(t, wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1}, tone(n, 16000, 1, 440, amp))
}

func TestBadInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	good := wav16(t, 0.5, 0.5)
	headerOnly := good[:len(good)-16000] // header + LIST, no samples
	headerOnly = headerOnly[:bytes.Index(good, []byte("data"))+8]
	zeroData := append([]byte(nil), headerOnly...)
	binary.LittleEndian.PutUint32(zeroData[len(zeroData)-4:], 0)
	badFmt := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(badFmt[20+2:], 0) // 0 channels
	noFmt := []byte("RIFF\x04\x00\x00\x00WAVE")
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string // substring of the error message
	}{
		{"empty", nil, ErrEmpty, "no bytes"},
		{"random bytes", random, ErrUnsupported, "accepted formats"},
		{"a few random bytes", random[:7], ErrUnsupported, "unrecognised"},
		{"text", []byte("hello, this is not audio\n"), ErrUnsupported, "unrecognised"},
		{"WAV header only", headerOnly, ErrEmpty, "no samples"},
		{"WAV data size 0 and no data", zeroData, ErrEmpty, "no samples"},
		{"WAV 0 channels", badFmt, ErrCorrupt, "channels"},
		{"WAV without fmt", noFmt, ErrCorrupt, "fmt"},
		{"WAV cut in header", good[:30], ErrCorrupt, "fmt chunk"},
		{"RIFF then garbage", append([]byte("RIFF\xff\xff\xff\xffWAVE"), random[:100]...), ErrCorrupt, "WAV"},
		{"ID3 then garbage", append([]byte("ID3\x03\x00\x00\x00\x00\x00\x10"), random[:300]...), ErrCorrupt, "MP3"},
		{"Ogg then garbage", append([]byte("OggS\x00\x02"), random[:200]...), ErrUnsupported, "Ogg"},
		{"OpusHead page with bad CRC", corruptOggCRC(t), ErrCorrupt, "Ogg"},
		{"EBML then garbage", append([]byte{0x1A, 0x45, 0xDF, 0xA3}, random[:200]...), ErrCorrupt, "WebM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := DecodeAll(bytes.NewReader(tc.in), "", Limits{FFmpegPath: "-"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got (%d samples, %v), want %v", len(x), err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

// corruptOggCRC is a valid Ogg/Opus identification page with one payload
// byte changed, so its CRC fails.
func corruptOggCRC(t testing.TB) []byte {
	head := []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	page := []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x12\x34\x56\x78\x01")
	page = append(page, byte(len(head)))
	page = append(page, head...)
	page[len(page)-1] ^= 0xFF
	return page
}

// Truncated inputs give the decodable part, and WAV reports Truncated.
func TestTruncated(t *testing.T) {
	full := wav16(t, 2, 0.5)
	for _, cut := range []int{len(full) / 2, len(full)/2 + 1} { // mid-file, and mid-sample
		s, err := Open(bytes.NewReader(full[:cut]), "", Limits{FFmpegPath: "-"})
		if err != nil {
			t.Fatal(err)
		}
		x := readAll(t, s)
		s.Close()
		if want := (cut - (len(full) - 64000)) / 2; len(x) != want {
			t.Errorf("cut at %d: %d samples, want %d", cut, len(x), want)
		}
		if !s.Truncated() {
			t.Errorf("cut at %d: Truncated() = false", cut)
		}
	}

	needTool(t, "lame")
	dir := t.TempDir()
	w := soxTone(t, dir, "t.wav", 4, "-r", "44100", "-c", "1")
	mp := filepath.Join(dir, "t.mp3")
	run(t, "lame", "--quiet", "-b", "64", w, mp)
	b := readFile(t, mp)
	x := decode(t, b[:len(b)/2+7], "audio/mpeg")
	checkDuration(t, x, 2*time.Second, 100*time.Millisecond)
}

// Data size 0: an unfinalised streaming header (RIFF size 0 or 0xFFFFFFFF)
// means "read to the end"; in a finalised file it means empty, and the
// chunks after it are not audio.
func TestWAVZeroDataSize(t *testing.T) {
	b := wav16(t, 0.5, 0.5)
	i := bytes.Index(b, []byte("data"))
	for _, riff := range []uint32{0, 0xFFFFFFFF} {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(c[4:], riff)
		binary.LittleEndian.PutUint32(c[i+4:], 0)
		if x := decode(t, c, ""); len(x) != 8000 {
			t.Errorf("RIFF size %#x: %d samples, want 8000", riff, len(x))
		}
	}
	// Finalised: empty data chunk, then a LIST chunk.
	c := append([]byte(nil), b[:i+8]...)
	binary.LittleEndian.PutUint32(c[i+4:], 0)
	c = append(c, "LIST\x04\x00\x00\x00INFO"...)
	binary.LittleEndian.PutUint32(c[4:], uint32(len(c)-8))
	if _, err := DecodeAll(bytes.NewReader(c), "", Limits{FFmpegPath: "-"}); !errors.Is(err, ErrEmpty) {
		t.Errorf("finalised empty data chunk: %v, want ErrEmpty", err)
	}
}

// A header claiming a huge data chunk (or 0xFFFFFFFF, as streaming writers
// do) neither allocates it nor fails: the samples present are decoded.
func TestWAVHugeDataSize(t *testing.T) {
	for _, size := range []uint32{0x7FFFFFF0, 0xFFFFFFFF} {
		b := wav16(t, 1, 0.5)
		i := bytes.Index(b, []byte("data"))
		binary.LittleEndian.PutUint32(b[4:], 0xFFFFFFFF)
		binary.LittleEndian.PutUint32(b[i+4:], size)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		s, err := Open(bytes.NewReader(b), "audio/wav", Limits{FFmpegPath: "-"})
		if err != nil {
			t.Fatal(err)
		}
		x := readAll(t, s)
		s.Close()
		runtime.ReadMemStats(&ms)
		if len(x) != 16000 {
			t.Errorf("size %#x: %d samples, want 16000", size, len(x))
		}
		if alloc := ms.TotalAlloc - before; alloc > 4<<20 {
			t.Errorf("size %#x: allocated %d bytes", size, alloc)
		}
		if got := s.Truncated(); got != (size != 0xFFFFFFFF) {
			t.Errorf("size %#x: Truncated() = %v", size, got)
		}
	}
}

// The bytes decide the format; a lying Content-Type is reported by Mismatch.
func TestContentTypeLying(t *testing.T) {
	needTool(t, "lame")
	dir := t.TempDir()
	w := soxTone(t, dir, "t.wav", 1, "-r", "44100", "-c", "1")
	mp := filepath.Join(dir, "t.mp3")
	run(t, "lame", "--quiet", w, mp)
	mp3 := readFile(t, mp)
	wav := readFile(t, w)
	tests := []struct {
		name, ct string
		in       []byte
		format   Format
		mismatch string
	}{
		{"MP3 sent as audio/wav", "audio/wav", mp3, FormatMP3, `says WAV but the data is MP3`},
		{"WAV sent as audio/webm;codecs=opus", "audio/webm;codecs=opus", wav, FormatWAV, "says WebM but the data is WAV"},
		{"WAV sent as audio/mp4", "audio/mp4", wav, FormatWAV, "says MP4"},
		{"WAV as octet-stream", "application/octet-stream", wav, FormatWAV, ""},
		{"WAV with no type", "", wav, FormatWAV, ""},
		{"MP3 as audio/mpeg", "audio/mpeg", mp3, FormatMP3, ""},
		{"garbage type", "this is;; not a type", wav, FormatWAV, "unparsable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(bytes.NewReader(tc.in), tc.ct, Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Format() != tc.format {
				t.Errorf("format %q, want %q", s.Format(), tc.format)
			}
			if m := s.Mismatch(); (tc.mismatch == "") != (m == "") || !strings.Contains(m, tc.mismatch) {
				t.Errorf("Mismatch %q, want %q", m, tc.mismatch)
			}
			if x := readAll(t, s); len(x) < 15000 {
				t.Errorf("decoded only %d samples", len(x))
			}
		})
	}
	// Unknown bytes are rejected whatever the type claims.
	_, err := Open(strings.NewReader("not audio at all, really"), "audio/wav", Limits{FFmpegPath: "-"})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"audio/wav"`) {
		t.Errorf("garbage labelled audio/wav: %v", err)
	}
}

// countingReader records how many bytes were taken from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestByteLimit(t *testing.T) {
	b := wav16(t, 30, 0.5) // 960 KB
	const limit = 200 << 10
	cr := &countingReader{r: bytes.NewReader(b)}
	s, err := Open(cr, "", Limits{MaxBytes: limit, FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]float32, 1000)
	var got int
	for {
		n, err := s.Read(buf)
		got += n
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("after %d samples: %v, want ErrTooLarge", got, err)
		}
		break
	}
	if cr.n > limit+1 {
		t.Errorf("read %d bytes with a limit of %d", cr.n, limit)
	}
	if _, err := s.Read(buf); !errors.Is(err, ErrTooLarge) {
		t.Errorf("error is not sticky: %v", err)
	}
	// Exactly at the limit is fine.
	if _, err := DecodeAll(bytes.NewReader(b), "", Limits{MaxBytes: int64(len(b)), FFmpegPath: "-"}); err != nil {
		t.Errorf("input of exactly MaxBytes: %v", err)
	}
	// The head itself over the limit fails in Open.
	if _, err := Open(bytes.NewReader(b), "", Limits{MaxBytes: 100, FFmpegPath: "-"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit inside the head: %v", err)
	}
}

func TestDurationLimit(t *testing.T) {
	tests := []struct {
		name    string
		in      func(t *testing.T) []byte
		limit   time.Duration
		wantErr bool
	}{
		{"wav 3s, limit 2s", func(t *testing.T) []byte { return wav16(t, 3, 0.5) }, 2 * time.Second, true},
		{"wav 3s, limit 3s", func(t *testing.T) []byte { return wav16(t, 3, 0.5) }, 3 * time.Second, false},
		{"wav 44.1k 3s, limit 2.5s", func(t *testing.T) []byte {
			return encodeTestWAV(t, wavSpec{tag: wavPCM, bits: 16, rate: 44100, channels: 2}, tone(3*44100, 44100, 2, 440, 0.5))
		}, 2500 * time.Millisecond, true},
		{"unlimited", func(t *testing.T) []byte { return wav16(t, 3, 0.5) }, -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := DecodeAll(bytes.NewReader(tc.in(t)), "", Limits{MaxDuration: tc.limit, FFmpegPath: "-"})
			if tc.wantErr != errors.Is(err, ErrTooLong) {
				t.Fatalf("got %v (%d samples)", err, len(x))
			}
			if tc.wantErr && !strings.Contains(err.Error(), tc.limit.String()) {
				t.Errorf("error %q does not name the limit", err)
			}
		})
	}
}

func TestSilence(t *testing.T) {
	tests := []struct {
		name    string
		samples []float32
		silent  bool
	}{
		{"empty", nil, true},
		{"zeros", make([]float32, 1000), true},
		{"below threshold", []float32{0.0009, -0.0009, 0.0005}, true},
		{"one loud sample", append(make([]float32, 1000), -0.5), false},
		{"at threshold", []float32{SilenceThreshold}, false},
	}
	for _, tc := range tests {
		if got := IsSilent(tc.samples); got != tc.silent {
			t.Errorf("%s: IsSilent = %v", tc.name, got)
		}
	}
	// DecodeAll reports ErrSilent and still returns the samples.
	x, err := DecodeAll(bytes.NewReader(wav16(t, 1, 0.0004)), "", Limits{FFmpegPath: "-"})
	if !errors.Is(err, ErrSilent) || len(x) != 16000 {
		t.Errorf("quiet tone: %d samples, %v", len(x), err)
	}
	x, err = DecodeAll(bytes.NewReader(wav16(t, 1, 0.01)), "", Limits{FFmpegPath: "-"})
	if err != nil || len(x) != 16000 {
		t.Errorf("-40 dBFS tone: %d samples, %v", len(x), err)
	}
	if needTool(t, "sox") != "" {
		p := filepath.Join(t.TempDir(), "silence.wav")
		run(t, "sox", "-n", "-r", "44100", "-b", "16", p, "trim", "0", "2")
		if _, err := DecodeAll(bytes.NewReader(readFile(t, p)), "", Limits{FFmpegPath: "-"}); !errors.Is(err, ErrSilent) {
			t.Errorf("sox silence: %v", err)
		}
	}
}

func TestFFmpegAbsent(t *testing.T) {
	m4a := append([]byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom"), make([]byte, 64)...)
	flac := append([]byte("fLaC\x00\x00\x00\x22"), make([]byte, 64)...)
	for _, path := range []string{"/nonexistent/ffmpeg", "-"} {
		for name, in := range map[string][]byte{"m4a": m4a, "flac": flac} {
			_, err := Open(bytes.NewReader(in), "audio/mp4", Limits{FFmpegPath: path})
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), AcceptedFormats()) ||
				!strings.Contains(err.Error(), "needs ffmpeg") {
				t.Errorf("%s with ffmpeg %q: %v", name, path, err)
			}
		}
	}
}

// fakeFFmpeg writes a stand-in for ffmpeg that converts with sox, to test
// the pipe plumbing (stdin in, f32le out, exit status, kill) where ffmpeg is
// not installed. It checks the arguments it gets.
func fakeFFmpeg(t *testing.T) string {
	needTool(t, "sox")
	p := filepath.Join(t.TempDir(), "ffmpeg")
	script := `#!/bin/sh
# args: -hide_banner -nostats -loglevel error -protocol_whitelist pipe -f DEMUXER -i pipe:0 ...
[ "$7" = "-f" ] && [ "$9" = "-i" ] || { echo "bad args: $*" >&2; exit 2; }
case "$*" in *"-f f32le"*"-ac 1 -ar 16000 pipe:1"*) ;; *) echo "bad output args: $*" >&2; exit 2;; esac
case "$8" in
  aiff) exec sox -t aiff - -t f32 -c 1 -r 16000 - ;;
  sleep) exec sleep 60 ;;
  *) echo "fake ffmpeg: cannot demux $8" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFFmpegPipe(t *testing.T) {
	ff := fakeFFmpeg(t)
	dir := t.TempDir()
	aif := filepath.Join(dir, "t.aiff")
	run(t, "sox", "-n", "-r", "44100", "-c", "2", "-b", "16", aif, "synth", "2", "sine", "440", "vol", "0.5")
	s, err := Open(bytes.NewReader(readFile(t, aif)), "audio/aiff", Limits{FFmpegPath: ff})
	if err != nil {
		t.Fatal(err)
	}
	if s.Format() != FormatFFmpeg {
		t.Errorf("format %q", s.Format())
	}
	x := readAll(t, s)
	s.Close()
	checkDuration(t, x, 2*time.Second, 5*time.Millisecond)
	if got := toneLevel(x, 440); got < 0.45 || got > 0.55 {
		t.Errorf("440 Hz level %v", got)
	}

	// A decoder failure carries ffmpeg's message.
	_, err = DecodeAll(bytes.NewReader([]byte("caff\x00\x01\x00\x00 more bytes")), "", Limits{FFmpegPath: ff})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cannot demux caf") {
		t.Errorf("failing ffmpeg: %v", err)
	}
}

func TestFFmpegReal(t *testing.T) {
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	w := soxTone(t, dir, "t.wav", 2, "-r", "44100", "-c", "2")
	for _, ext := range []string{"m4a", "flac", "ogg"} {
		out := filepath.Join(dir, "t."+ext)
		args := []string{"-loglevel", "error", "-i", w}
		if ext == "m4a" {
			args = append(args, "-c:a", "aac", "-movflags", "+faststart")
		}
		run(t, "ffmpeg", append(args, out)...)
		s, err := Open(bytes.NewReader(readFile(t, out)), "", Limits{})
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		x := readAll(t, s)
		s.Close()
		checkDuration(t, x, 2*time.Second, 100*time.Millisecond)
		if got := toneLevel(x, 440); got < 0.4 || got > 0.6 {
			t.Errorf("%s: 440 Hz level %v", ext, got)
		}
	}
}

// Close stops ffmpeg and the WebM goroutine mid-stream.
func TestCloseMidStream(t *testing.T) {
	base := runtime.NumGoroutine()
	ff := fakeFFmpeg(t)
	aiffHead := append([]byte("FORM\x00\x00\x00\x00AIFF"), make([]byte, 1000)...)
	// "sleep" is not a demuxer we send; use the AIFF path with a reader that
	// blocks forever after the head, so ffmpeg (sox) waits for input.
	pr, pw := io.Pipe()
	go func() { pw.Write(aiffHead) }()
	s, err := Open(pr, "", Limits{FFmpegPath: ff})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	pw.Close()

	{
		wm := readFile(t, filepath.Join("testdata", "chrome-mediarecorder-hybrid.webm"))
		for range 5 {
			s, err := Open(bytes.NewReader(wm), "", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]float32, 100)
			if _, err := s.Read(buf); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left (was %d):\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestEncodeWAV16RoundTrip(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 1, -1, 2, -2, 0.25}
	var buf bytes.Buffer
	if err := EncodeWAV16(&buf, in); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 44+2*len(in) {
		t.Fatalf("%d bytes", buf.Len())
	}
	s, err := Open(&buf, "audio/wav", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out := readAll(t, s)
	want := []float32{0, 0.5, -0.5, 1, -1, 1, -1, 0.25}
	for i := range want {
		if d := out[i] - want[i]; d > 1.0/32767 || d < -1.0/32767 {
			t.Errorf("sample %d: %v, want %v", i, out[i], want[i])
		}
	}
	if err := EncodeWAV16(failWriter{}, in); err == nil {
		t.Error("write error not reported")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Open returns after the head: with only the first 2 KB (or all but the last
// byte) available and the rest of the upload still to come, it does not
// block.
func TestOpenReadsOnlyHead(t *testing.T) {
	inputs := map[string][]byte{
		"wav":  wav16(t, 1, 0.5),
		"webm": readFile(t, filepath.Join("testdata", "chrome-mediarecorder-hybrid.webm")),
	}
	for _, name := range []string{"ogg-2", "mp3-0"} {
		target := map[string]string{"ogg-2": "FuzzDecodeOgg", "mp3-0": "FuzzDecodeMP3"}[name]
		inputs[name] = corpusBytes(t, filepath.Join("testdata", "fuzz", target, name))
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write(b[:min(2048, len(b)-1)])
			type result struct {
				s   *Stream
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := Open(pr, "", Limits{FFmpegPath: "-"})
				done <- result{s, err}
			}()
			select {
			case r := <-done:
				if r.err != nil {
					t.Fatal(r.err)
				}
				r.s.Close()
			case <-time.After(5 * time.Second):
				t.Fatal("Open blocked waiting for more than the head")
			}
		})
	}
}

// corpusBytes reads a Go fuzz corpus file holding one []byte.
func corpusBytes(t *testing.T, path string) []byte {
	t.Helper()
	lines := strings.SplitN(string(readFile(t, path)), "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a corpus file", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// The byte limit stops every decoder while streaming.
func TestByteLimitAllFormats(t *testing.T) {
	inputs := map[string][]byte{
		"webm": readFile(t, filepath.Join("testdata", "chrome-mediarecorder-hybrid.webm")),
		"ogg":  corpusBytes(t, filepath.Join("testdata", "fuzz", "FuzzDecodeOgg", "ogg-2")),
		"mp3":  corpusBytes(t, filepath.Join("testdata", "fuzz", "FuzzDecodeMP3", "mp3-0")),
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			limit := int64(len(b) * 2 / 3)
			cr := &countingReader{r: bytes.NewReader(b)}
			_, err := DecodeAll(cr, "", Limits{MaxBytes: limit, FFmpegPath: "-"})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
			if cr.n > limit+1 {
				t.Errorf("read %d bytes, limit %d", cr.n, limit)
			}
			if _, err := DecodeAll(bytes.NewReader(b), "", Limits{MaxBytes: int64(len(b)), FFmpegPath: "-"}); err != nil && !errors.Is(err, ErrSilent) {
				t.Errorf("at exactly the limit: %v", err)
			}
		})
	}
}
