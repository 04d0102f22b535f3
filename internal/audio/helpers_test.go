package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/opus/pkg/oggreader"
)

// wavSpec describes a WAV file written by the test encoder.
type wavSpec struct {
	tag        uint16 // wavPCM, wavFloat, wavMuLaw, wavALaw
	bits       int
	rate       int
	channels   int
	extensible bool
}

// encodeTestWAV writes frames (one []float64 per frame, one value per
// channel) in the given format. It is independent of the package's decoder.
func encodeTestWAV(t testing.TB, s wavSpec, frames [][]float64) []byte {
	t.Helper()
	bps := s.bits / 8
	var data bytes.Buffer
	for _, fr := range frames {
		for _, v := range fr {
			v = math.Max(-1, math.Min(1, v))
			switch {
			case s.tag == wavFloat && s.bits == 32:
				binary.Write(&data, binary.LittleEndian, float32(v))
			case s.tag == wavFloat && s.bits == 64:
				binary.Write(&data, binary.LittleEndian, v)
			case s.tag == wavMuLaw:
				data.WriteByte(linearToMuLaw(int16(v * 32767)))
			case s.tag == wavALaw:
				data.WriteByte(linearToALaw(int16(v * 32767)))
			case bps == 1:
				data.WriteByte(byte(int(math.Round(v*127)) + 128))
			default:
				full := int64(math.Round(v * float64(int64(1)<<(s.bits-1)-1)))
				for i := 0; i < bps; i++ {
					data.WriteByte(byte(full >> (8 * i)))
				}
			}
		}
	}
	var fmtChunk bytes.Buffer
	tag := s.tag
	if s.extensible {
		tag = wavExtensible
	}
	binary.Write(&fmtChunk, binary.LittleEndian, tag)
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(s.channels))
	binary.Write(&fmtChunk, binary.LittleEndian, uint32(s.rate))
	binary.Write(&fmtChunk, binary.LittleEndian, uint32(s.rate*s.channels*bps))
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(s.channels*bps))
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(s.bits))
	if s.extensible {
		binary.Write(&fmtChunk, binary.LittleEndian, uint16(22))
		binary.Write(&fmtChunk, binary.LittleEndian, uint16(s.bits))
		binary.Write(&fmtChunk, binary.LittleEndian, uint32(3)) // channel mask FL|FR
		binary.Write(&fmtChunk, binary.LittleEndian, s.tag)     // sub-format GUID ...
		fmtChunk.Write([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+fmtChunk.Len()+8+12+8+data.Len()))
	out.WriteString("WAVEfmt ")
	binary.Write(&out, binary.LittleEndian, uint32(fmtChunk.Len()))
	out.Write(fmtChunk.Bytes())
	// An odd-sized LIST chunk before the data, as many recorders write.
	out.WriteString("LIST")
	binary.Write(&out, binary.LittleEndian, uint32(11))
	out.WriteString("INFOISFT\x00\x00\x00\x00") // 11 bytes + pad byte
	out.WriteString("data")
	binary.Write(&out, binary.LittleEndian, uint32(data.Len()))
	out.Write(data.Bytes())
	return out.Bytes()
}

// G.711 compressors (reference algorithm), for the test encoder only.
func linearToMuLaw(s int16) byte {
	const bias, clip = 0x84, 32635
	sign := byte(0)
	v := int(s)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0F
	return ^(sign | byte(exp<<4) | byte(mant))
}

func linearToALaw(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	segEnd := []int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	seg := 0
	for seg < 8 && v > segEnd[seg] {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0F
	} else {
		a |= byte(v>>seg) & 0x0F
	}
	return a ^ mask
}

// tone returns n frames of a sine at freq Hz with the given amplitude on
// every channel.
func tone(n, rate, channels int, freq, amp float64) [][]float64 {
	frames := make([][]float64, n)
	for i := range frames {
		v := amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		fr := make([]float64, channels)
		for c := range fr {
			fr[c] = v
		}
		frames[i] = fr
	}
	return frames
}

// toneLevel measures the amplitude of freq in x (16 kHz) with a Goertzel
// filter over the middle of the signal (edges excluded).
func toneLevel(x []float32, freq float64) float64 {
	if len(x) < 3*SampleRate/10 {
		return 0
	}
	x = x[len(x)/10 : len(x)-len(x)/10]
	w := 2 * math.Pi * freq / SampleRate
	var re, im float64
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(1, len(x))))
}

func dur(samples int) time.Duration {
	return time.Duration(samples) * time.Second / SampleRate
}

func checkDuration(t *testing.T, got []float32, want, tol time.Duration) {
	t.Helper()
	if d := dur(len(got)) - want; d > tol || d < -tol {
		t.Errorf("decoded %v, want %v ± %v", dur(len(got)), want, tol)
	}
}

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (scripts/deps.sh installs it): %v", name, err)
	}
	return p
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	needTool(t, name)
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// soxTone writes a WAV file with a 440 Hz tone via sox.
func soxTone(t testing.TB, dir, name string, secs float64, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	a := append([]string{"-n", "-b", "16"}, args...)
	a = append(a, p, "synth", fmtFloat(secs), "sine", "440", "vol", "0.5")
	run(t, "sox", a...)
	return p
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// speechWAV writes a speech WAV (22.05 kHz mono) with espeak-ng.
func speechWAV(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "speech.wav")
	run(t, "espeak-ng", "-w", p, "Attended conference call with opposing counsel regarding the discovery schedule. Point three hours.")
	return p
}

// opusModes counts SILK, hybrid and CELT packets in an Ogg/Opus file.
func opusModes(t testing.TB, ogg []byte) (silk, hybrid, celt int) {
	t.Helper()
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, _, err := r.ParseNextPacket()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 || bytes.HasPrefix(p, []byte("OpusTags")) {
			continue
		}
		switch cfg := p[0] >> 3; {
		case cfg < 12:
			silk++
		case cfg < 16:
			hybrid++
		default:
			celt++
		}
	}
}

// decode runs DecodeAll with ffmpeg disabled and fails the test on error
// (ErrSilent excepted).
func decode(t *testing.T, b []byte, ct string) []float32 {
	t.Helper()
	x, err := DecodeAll(bytes.NewReader(b), ct, Limits{FFmpegPath: "-"})
	if err != nil && !errors.Is(err, ErrSilent) {
		t.Fatalf("DecodeAll: %v", err)
	}
	return x
}
