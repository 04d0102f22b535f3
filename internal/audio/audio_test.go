package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/opus/pkg/oggreader"
)

func TestWAVVariants(t *testing.T) {
	const secs = 1.5
	tests := []struct {
		name string
		spec wavSpec
		tol  float64 // allowed level error of the 440 Hz tone (amplitude 0.5)
	}{
		{"pcm8 8k mono", wavSpec{tag: wavPCM, bits: 8, rate: 8000, channels: 1}, 0.02},
		{"pcm16 16k mono", wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1}, 0.005},
		{"pcm16 44.1k stereo", wavSpec{tag: wavPCM, bits: 16, rate: 44100, channels: 2}, 0.005},
		{"pcm24 48k mono", wavSpec{tag: wavPCM, bits: 24, rate: 48000, channels: 1}, 0.005},
		{"pcm32 48k stereo", wavSpec{tag: wavPCM, bits: 32, rate: 48000, channels: 2}, 0.005},
		{"float32 16k mono", wavSpec{tag: wavFloat, bits: 32, rate: 16000, channels: 1}, 0.005},
		{"float32 44.1k stereo", wavSpec{tag: wavFloat, bits: 32, rate: 44100, channels: 2}, 0.005},
		{"float64 22.05k mono", wavSpec{tag: wavFloat, bits: 64, rate: 22050, channels: 1}, 0.005},
		{"extensible pcm16 48k stereo", wavSpec{tag: wavPCM, bits: 16, rate: 48000, channels: 2, extensible: true}, 0.005},
		{"extensible float32 32k mono", wavSpec{tag: wavFloat, bits: 32, rate: 32000, channels: 1, extensible: true}, 0.005},
		{"extensible pcm24 96k mono", wavSpec{tag: wavPCM, bits: 24, rate: 96000, channels: 1, extensible: true}, 0.005},
		{"mu-law 8k mono", wavSpec{tag: wavMuLaw, bits: 8, rate: 8000, channels: 1}, 0.02},
		{"a-law 8k mono", wavSpec{tag: wavALaw, bits: 8, rate: 8000, channels: 1}, 0.02},
		{"pcm16 11.025k mono (odd rate)", wavSpec{tag: wavPCM, bits: 16, rate: 11025, channels: 1}, 0.005},
		{"pcm16 44.1k 6 channels", wavSpec{tag: wavPCM, bits: 16, rate: 44100, channels: 6}, 0.005},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := int(secs * float64(tc.spec.rate))
			b := encodeTestWAV(t, tc.spec, tone(n, tc.spec.rate, tc.spec.channels, 440, 0.5))
			s, err := Open(bytes.NewReader(b), "audio/wav", Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Format() != FormatWAV {
				t.Errorf("format %q", s.Format())
			}
			x := readAll(t, s)
			// Exact length: ceil(n * 16000 / rate) samples.
			want := (int64(n)*SampleRate + int64(tc.spec.rate) - 1) / int64(tc.spec.rate)
			if int64(len(x)) != want {
				t.Errorf("got %d samples, want %d", len(x), want)
			}
			if s.Duration() != dur(len(x)) {
				t.Errorf("Duration %v, samples say %v", s.Duration(), dur(len(x)))
			}
			if got := toneLevel(x, 440); math.Abs(got-0.5) > tc.tol {
				t.Errorf("440 Hz level %.4f, want 0.5 ± %v", got, tc.tol)
			}
			if s.Truncated() || s.Mismatch() != "" {
				t.Errorf("Truncated %v, Mismatch %q", s.Truncated(), s.Mismatch())
			}
		})
	}
}

func readAll(t *testing.T, s *Stream) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, 3000)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Read after %d samples: %v", len(out), err)
		}
	}
}

// Stereo is averaged: opposite channels cancel, one silent channel halves.
func TestWAVStereoDownmix(t *testing.T) {
	n := 16000
	frames := tone(n, 16000, 2, 440, 0.5)
	for _, fr := range frames {
		fr[1] = -fr[0]
	}
	x := decode(t, encodeTestWAV(t, wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 2}, frames), "")
	if r := rms(x); r > 1e-4 {
		t.Errorf("opposite channels: rms %v, want 0", r)
	}
	for _, fr := range frames {
		fr[1] = 0
	}
	x = decode(t, encodeTestWAV(t, wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 2}, frames), "")
	if got := toneLevel(x, 440); math.Abs(got-0.25) > 0.003 {
		t.Errorf("one channel: level %v, want 0.25", got)
	}
}

// WAV files written by sox, an independent encoder.
func TestWAVFromSox(t *testing.T) {
	needTool(t, "sox")
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"u8 8k mono", []string{"-r", "8000", "-c", "1", "-b", "8", "-e", "unsigned-integer"}},
		{"s16 16k mono", []string{"-r", "16000", "-c", "1", "-b", "16"}},
		{"s16 44.1k stereo", []string{"-r", "44100", "-c", "2", "-b", "16"}},
		{"s24 48k stereo", []string{"-r", "48000", "-c", "2", "-b", "24"}},
		{"s32 48k mono", []string{"-r", "48000", "-c", "1", "-b", "32"}},
		{"f32 44.1k stereo", []string{"-r", "44100", "-c", "2", "-b", "32", "-e", "floating-point"}},
		{"mu-law 8k", []string{"-r", "8000", "-c", "1", "-e", "mu-law"}},
		{"a-law 8k", []string{"-r", "8000", "-c", "1", "-e", "a-law"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := soxTone(t, dir, fmt.Sprintf("%d.wav", i), 2, tc.args...)
			x := decode(t, readFile(t, p), "audio/x-wav")
			checkDuration(t, x, 2*time.Second, time.Millisecond)
			if got := toneLevel(x, 440); math.Abs(got-0.5) > 0.02 {
				t.Errorf("440 Hz level %.4f, want 0.5", got)
			}
		})
	}
}

// go-mp3 lacks MPEG-2.5 (8-12 kHz MP3): without ffmpeg that is a clear 415.
func TestMP3MPEG25NeedsFFmpeg(t *testing.T) {
	needTool(t, "lame")
	dir := t.TempDir()
	w := soxTone(t, dir, "8k.wav", 1, "-r", "8000", "-c", "1")
	for _, id3 := range []bool{false, true} {
		mp := filepath.Join(dir, fmt.Sprintf("8k-%v.mp3", id3))
		args := []string{"--quiet", "-b", "16", w, mp}
		if id3 {
			args = append([]string{"--tt", "x", "--add-id3v2"}, args...)
		}
		run(t, "lame", args...)
		_, err := Open(bytes.NewReader(readFile(t, mp)), "audio/mpeg", Limits{FFmpegPath: "-"})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "MPEG-2.5") {
			t.Errorf("id3 %v: got %v, want ErrUnsupported naming MPEG-2.5", id3, err)
		}
	}
}

func TestMP3(t *testing.T) {
	needTool(t, "lame")
	dir := t.TempDir()
	tests := []struct {
		name     string
		soxArgs  []string
		lameArgs []string
	}{
		{"44.1k stereo 128k", []string{"-r", "44100", "-c", "2"}, []string{"-b", "128"}},
		{"48k mono", []string{"-r", "48000", "-c", "1"}, []string{"-b", "64"}},
		{"16k mono (MPEG-2)", []string{"-r", "16000", "-c", "1"}, []string{"-b", "32"}},
		{"22.05k VBR with ID3", []string{"-r", "22050", "-c", "1"}, []string{"-V", "5", "--tt", "Dictation", "--add-id3v2"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := soxTone(t, dir, fmt.Sprintf("%d.wav", i), 3, tc.soxArgs...)
			mp := filepath.Join(dir, fmt.Sprintf("%d.mp3", i))
			run(t, "lame", append(append([]string{"--quiet"}, tc.lameArgs...), w, mp)...)
			s, err := Open(bytes.NewReader(readFile(t, mp)), "audio/mpeg", Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Format() != FormatMP3 {
				t.Errorf("format %q", s.Format())
			}
			x := readAll(t, s)
			// Encoder delay and padding add up to ~2 frames (1152 samples).
			checkDuration(t, x, 3*time.Second, 160*time.Millisecond)
			if got := toneLevel(x, 440); math.Abs(got-0.5) > 0.05 {
				t.Errorf("440 Hz level %.4f, want 0.5", got)
			}
		})
	}
}

// opusFixtures encodes speech and tones with opusenc at settings that give
// SILK, hybrid and CELT packets.
func opusFixtures(t *testing.T) (dir string, fixtures []opusFixture) {
	needTool(t, "opusenc")
	dir = t.TempDir()
	sp := speechWAV(t, dir)
	tone48 := soxTone(t, dir, "tone48.wav", 3, "-r", "48000", "-c", "1")
	toneSt := soxTone(t, dir, "tonest.wav", 3, "-r", "48000", "-c", "2")
	specs := []struct {
		name, in string
		args     []string
	}{
		{"speech 8k SILK", sp, []string{"--bitrate", "8", "--speech"}},
		{"speech 24k hybrid", sp, []string{"--bitrate", "24", "--speech"}},
		{"speech 64k CELT", sp, []string{"--bitrate", "64", "--music"}},
		{"tone 48k 96k CELT 10ms", tone48, []string{"--bitrate", "96", "--framesize", "10"}},
		{"tone stereo 128k", toneSt, []string{"--bitrate", "128"}},
		{"tone 60ms frames", tone48, []string{"--bitrate", "32", "--framesize", "60"}},
	}
	for i, sp := range specs {
		out := filepath.Join(dir, fmt.Sprintf("%d.opus", i))
		run(t, "opusenc", append(append([]string{"--quiet"}, sp.args...), sp.in, out)...)
		fixtures = append(fixtures, opusFixture{name: sp.name, src: sp.in, ogg: readFile(t, out)})
	}
	return dir, fixtures
}

type opusFixture struct {
	name string
	src  string // the WAV it was encoded from
	ogg  []byte
}

func TestOggOpus(t *testing.T) {
	_, fx := opusFixtures(t)
	var silk, hybrid, celt int
	for _, f := range fx {
		t.Run(f.name, func(t *testing.T) {
			s1, h1, c1 := opusModes(t, f.ogg)
			silk, hybrid, celt = silk+s1, hybrid+h1, celt+c1
			want := dur(len(decode(t, readFile(t, f.src), "")))
			s, err := Open(bytes.NewReader(f.ogg), "audio/ogg; codecs=opus", Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Format() != FormatOgg {
				t.Errorf("format %q", s.Format())
			}
			x := readAll(t, s)
			t.Logf("packets: %d SILK, %d hybrid, %d CELT; decoded %v, source %v, rms %.3f", s1, h1, c1, dur(len(x)), want, rms(x))
			// Pre-skip is removed; end padding (< 1 frame) is not trimmed.
			checkDuration(t, x, want, 70*time.Millisecond)
			if rms(x) < 0.02 {
				t.Errorf("decoded audio is near silent (rms %v)", rms(x))
			}
			if strings.HasPrefix(f.name, "speech") {
				src := decode(t, readFile(t, f.src), "")
				if c := envCorrelation(src, x, 10); c < 0.9 {
					t.Errorf("envelope correlation with the source %.2f, want > 0.9", c)
				}
			}
			if strings.HasPrefix(f.name, "tone") {
				if got := toneLevel(x, 440); math.Abs(got-0.5) > 0.1 {
					t.Errorf("440 Hz level %.4f, want 0.5", got)
				}
			}
		})
	}
	t.Logf("total packets: %d SILK, %d hybrid, %d CELT", silk, hybrid, celt)
	if silk == 0 || celt == 0 {
		t.Errorf("fixtures do not cover both SILK and CELT (%d, %d)", silk, celt)
	}
}

// muxWebM repackages the Opus packets of an Ogg file as WebM the way
// MediaRecorder writes it: unknown-size Segment and Clusters, SimpleBlocks,
// a new cluster every clusterMs.
func muxWebM(t testing.TB, ogg []byte, clusterMs int) []byte {
	t.Helper()
	r, hdr, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8], head[9] = 1, hdr.Channels
	head[10], head[11] = byte(hdr.PreSkip), byte(hdr.PreSkip>>8)
	head[12], head[13], head[14] = 0x80, 0xBB, 0 // 48000
	type segment struct {
		Info    webm.Info      `ebml:"Info"`
		Tracks  webm.Tracks    `ebml:"Tracks"`
		Cluster []webm.Cluster `ebml:"Cluster,size=unknown"`
	}
	var doc struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment segment         `ebml:"Segment,size=unknown"`
	}
	doc.Header = webm.EBMLHeader{EBMLVersion: 1, EBMLReadVersion: 1, EBMLMaxIDLength: 4, EBMLMaxSizeLength: 8,
		DocType: "webm", DocTypeVersion: 4, DocTypeReadVersion: 2}
	doc.Segment.Info = webm.Info{TimecodeScale: 1000000, MuxingApp: "test", WritingApp: "test"}
	doc.Segment.Tracks.TrackEntry = []webm.TrackEntry{{
		TrackNumber: 1, TrackUID: 1, CodecID: "A_OPUS", TrackType: 2, CodecPrivate: head,
		Audio: &webm.Audio{SamplingFrequency: 48000, Channels: uint64(hdr.Channels)},
	}}
	ms := 0
	for i := 0; ; i++ {
		p, _, err := r.ParseNextPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && bytes.HasPrefix(p, []byte("OpusTags")) {
			continue
		}
		cl := &doc.Segment.Cluster
		if len(*cl) == 0 || ms-int((*cl)[len(*cl)-1].Timecode) >= clusterMs {
			*cl = append(*cl, webm.Cluster{Timecode: uint64(ms)})
		}
		c := &(*cl)[len(*cl)-1]
		c.SimpleBlock = append(c.SimpleBlock, ebml.Block{TrackNumber: 1, Timecode: int16(ms - int(c.Timecode)),
			Keyframe: true, Data: [][]byte{p}})
		ms += packetMs(p)
	}
	var buf bytes.Buffer
	if err := ebml.Marshal(&doc, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// packetMs is the duration of an Opus packet from its TOC (RFC 6716 3.1).
func packetMs(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	cfg := p[0] >> 3
	var tenth int // frame duration in 0.1 ms
	switch {
	case cfg < 12:
		tenth = []int{100, 200, 400, 600}[cfg%4]
	case cfg < 16:
		tenth = []int{100, 200}[cfg%2]
	default:
		tenth = []int{25, 50, 100, 200}[cfg%4]
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) > 1 {
			frames = int(p[1] & 0x3F)
		}
	}
	return tenth * frames / 10
}

func TestWebMOpus(t *testing.T) {
	_, fx := opusFixtures(t)
	for _, f := range fx {
		t.Run(f.name, func(t *testing.T) {
			oggX := decode(t, f.ogg, "")
			wm := muxWebM(t, f.ogg, 1000)
			s, err := Open(bytes.NewReader(wm), "audio/webm;codecs=opus", Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Format() != FormatWebM {
				t.Errorf("format %q", s.Format())
			}
			x := readAll(t, s)
			// Same packets, same decoder: identical output.
			if len(x) != len(oggX) {
				t.Fatalf("WebM gives %d samples, Ogg %d", len(x), len(oggX))
			}
			for i := range x {
				if x[i] != oggX[i] {
					t.Fatalf("sample %d differs: %v vs %v", i, x[i], oggX[i])
				}
			}
		})
	}
}

func TestWebMNonOpusTrack(t *testing.T) {
	var doc struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	doc.Header = webm.EBMLHeader{EBMLVersion: 1, EBMLReadVersion: 1, EBMLMaxIDLength: 4, EBMLMaxSizeLength: 8,
		DocType: "webm", DocTypeVersion: 4, DocTypeReadVersion: 2}
	doc.Segment.Info = webm.Info{TimecodeScale: 1000000}
	doc.Segment.Tracks.TrackEntry = []webm.TrackEntry{{TrackNumber: 1, TrackUID: 1, CodecID: "A_VORBIS", TrackType: 2,
		Audio: &webm.Audio{SamplingFrequency: 48000, Channels: 1}}}
	var buf bytes.Buffer
	if err := ebml.Marshal(&doc, &buf); err != nil {
		t.Fatal(err)
	}
	_, err := Open(bytes.NewReader(buf.Bytes()), "audio/webm", Limits{FFmpegPath: "/nonexistent/ffmpeg"})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "A_VORBIS") ||
		!strings.Contains(err.Error(), AcceptedFormats()) {
		t.Errorf("got %v, want ErrUnsupported naming A_VORBIS and the accepted formats", err)
	}
}

// envelope returns the normalised 10 ms RMS envelope of 16 kHz audio.
func envelope(x []float32) []float64 {
	const frame = SampleRate / 100
	env := make([]float64, len(x)/frame)
	var mean float64
	for i := range env {
		env[i] = rms(x[i*frame : (i+1)*frame])
		mean += env[i]
	}
	mean /= float64(max(1, len(env)))
	var sd float64
	for i := range env {
		env[i] -= mean
		sd += env[i] * env[i]
	}
	sd = math.Sqrt(sd / float64(max(1, len(env))))
	for i := range env {
		env[i] /= max(sd, 1e-9)
	}
	return env
}

// envCorrelation is the best correlation of the envelopes of a and b over
// lags of b relative to a from -maxLag to +maxLag 10 ms frames.
func envCorrelation(a, b []float32, maxLag int) float64 {
	ea, eb := envelope(a), envelope(b)
	best := -1.0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var sum float64
		n := 0
		for i := range eb {
			j := i + lag
			if j < 0 || j >= len(ea) {
				continue
			}
			sum += ea[j] * eb[i]
			n++
		}
		if n > len(eb)/2 {
			best = max(best, sum/float64(n))
		}
	}
	return best
}

// Real MediaRecorder output from Chromium: the speech it was fed comes back.
func TestChromeMediaRecorder(t *testing.T) {
	tests := []struct {
		file     string
		dur      time.Duration
		wantMode string
	}{
		{"chrome-mediarecorder-hybrid.webm", 3 * time.Second, "hybrid"},
		{"chrome-mediarecorder-celt.webm", 1500 * time.Millisecond, "CELT"},
	}
	var speech []float32
	if _, err := exec.LookPath("espeak-ng"); err == nil {
		speech = decode(t, readFile(t, speechWAV(t, t.TempDir())), "")
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := readFile(t, filepath.Join("testdata", tc.file))
			s, err := Open(bytes.NewReader(b), "audio/webm;codecs=opus", Limits{FFmpegPath: "-"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			x := readAll(t, s)
			checkDuration(t, x, tc.dur, 60*time.Millisecond)
			if s.Truncated() || s.Format() != FormatWebM {
				t.Errorf("format %q, truncated %v", s.Format(), s.Truncated())
			}
			if m := webmOpusModes(t, b); m[tc.wantMode] == 0 {
				t.Errorf("packet modes %v, want %s packets", m, tc.wantMode)
			}
			if speech == nil {
				t.Skip("espeak-ng missing: content not compared")
			}
			// The fake microphone loops the speech file from an unknown offset.
			c := envCorrelation(speech, x, len(speech)/160)
			t.Logf("envelope correlation with the source speech: %.2f", c)
			if c < 0.7 {
				t.Errorf("decoded audio does not match the speech it was recorded from (correlation %.2f)", c)
			}
		})
	}
}

// webmOpusModes counts the Opus packet modes in a WebM file's SimpleBlocks.
func webmOpusModes(t *testing.T, b []byte) map[string]int {
	t.Helper()
	var doc struct {
		Segment webm.Segment `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(bytes.NewReader(b), &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, c := range doc.Segment.Cluster {
		for _, blk := range c.SimpleBlock {
			for _, p := range blk.Data {
				switch cfg := p[0] >> 3; {
				case cfg < 12:
					m["SILK"]++
				case cfg < 16:
					m["hybrid"]++
				default:
					m["CELT"]++
				}
			}
		}
	}
	return m
}
