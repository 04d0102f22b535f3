package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAV format tags.
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavALaw       = 0x0006
	wavMuLaw      = 0x0007
	wavExtensible = 0xFFFE
)

func wavTagSupported(tag uint16) bool {
	switch tag {
	case wavPCM, wavFloat, wavALaw, wavMuLaw:
		return true
	}
	return false
}

// Sizes that streaming writers put in headers when the length is unknown.
const wavSizeUnknown = 0xFFFFFFFF

// wavSource streams the data chunk of a RIFF/WAVE (or RF64) file. It is a
// hand-written parser rather than go-audio/wav because that decoder does not
// stream float and extensible files with unknown sizes, and it needs the
// whole header to be valid; here every field is checked and a lying size
// cannot make it allocate.
type wavSource struct {
	r          io.Reader
	tag        uint16
	channels   int
	sampleRate int
	bytesPer   int   // bytes per sample of one channel
	blockAlign int   // bytes per frame
	remaining  int64 // data bytes left; -1: read to EOF
	buf        []byte
	pending    int // bytes in buf not yet consumed (an incomplete frame)
}

func newWAVSource(r io.Reader) (*wavSource, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: WAV header: %w", ErrCorrupt, err)
	}
	w := &wavSource{r: r}
	gotFmt := false
	pos := int64(len(hdr)) // bytes consumed before the current chunk header
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !gotFmt {
				return nil, fmt.Errorf("%w: WAV has no fmt chunk: %w", ErrCorrupt, err)
			}
			return nil, fmt.Errorf("%w: WAV has no data chunk: %w", ErrCorrupt, err)
		}
		id := string(ch[:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: WAV fmt chunk has size %d", ErrCorrupt, size)
			}
			body := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, body); err != nil {
				return nil, fmt.Errorf("%w: WAV fmt chunk: %w", ErrCorrupt, err)
			}
			if err := w.parseFmt(body[:size]); err != nil {
				return nil, err
			}
			gotFmt = true
			pos += 8 + int64(len(body))
		case "data":
			if !gotFmt {
				return nil, fmt.Errorf("%w: WAV data chunk before fmt chunk", ErrCorrupt)
			}
			w.remaining = size
			riff := binary.LittleEndian.Uint32(hdr[4:])
			unfinalised := riff == 0 || riff == wavSizeUnknown || int64(riff)+8 <= pos+8
			if size == wavSizeUnknown || (size == 0 && unfinalised) {
				// Streaming writers leave the sizes open (0 or 0xFFFFFFFF) and
				// so does RF64, whose real size is in ds64: read to the end of
				// the input. A finalised file with an empty data chunk is empty.
				w.remaining = -1
			}
			w.buf = make([]byte, 4096*w.blockAlign)
			return w, nil
		default:
			// LIST, fact, cue, ds64, ...: skip, with the pad byte.
			if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
				return nil, fmt.Errorf("%w: WAV %q chunk: %w", ErrCorrupt, id, err)
			}
			pos += 8 + size + size&1
		}
	}
}

func (w *wavSource) parseFmt(b []byte) error {
	w.tag = binary.LittleEndian.Uint16(b[0:])
	w.channels = int(binary.LittleEndian.Uint16(b[2:]))
	w.sampleRate = int(binary.LittleEndian.Uint32(b[4:]))
	w.blockAlign = int(binary.LittleEndian.Uint16(b[12:]))
	bits := int(binary.LittleEndian.Uint16(b[14:]))
	if w.tag == wavExtensible {
		if len(b) < 40 {
			return fmt.Errorf("%w: WAV extensible fmt chunk has %d bytes, want 40", ErrCorrupt, len(b))
		}
		w.tag = binary.LittleEndian.Uint16(b[24:])
	}
	if !wavTagSupported(w.tag) {
		return fmt.Errorf("%w: WAV codec 0x%04x (only PCM, float, µ-law and A-law are decoded without ffmpeg); accepted formats: %s",
			ErrUnsupported, w.tag, AcceptedFormats())
	}
	if w.channels < 1 || w.channels > 16 {
		return fmt.Errorf("%w: WAV has %d channels", ErrCorrupt, w.channels)
	}
	if w.sampleRate < 1000 || w.sampleRate > 384000 {
		return fmt.Errorf("%w: WAV sample rate %d Hz", ErrCorrupt, w.sampleRate)
	}
	ok := false
	switch w.tag {
	case wavPCM:
		ok = bits == 8 || bits == 16 || bits == 24 || bits == 32
	case wavFloat:
		ok = bits == 32 || bits == 64
	case wavALaw, wavMuLaw:
		ok = bits == 8
	}
	if !ok {
		return fmt.Errorf("%w: WAV codec 0x%04x with %d bits per sample", ErrUnsupported, w.tag, bits)
	}
	w.bytesPer = bits / 8
	if w.blockAlign != w.channels*w.bytesPer {
		return fmt.Errorf("%w: WAV block align %d, want %d for %d channels of %d bits",
			ErrCorrupt, w.blockAlign, w.channels*w.bytesPer, w.channels, bits)
	}
	return nil
}

func (w *wavSource) rate() int    { return w.sampleRate }
func (w *wavSource) close() error { return nil }

func (w *wavSource) read(p []float32) (int, error) {
	frames := min(len(p), len(w.buf)/w.blockAlign)
	want := frames*w.blockAlign - w.pending
	if w.remaining >= 0 && int64(want) > w.remaining {
		want = int(w.remaining)
	}
	if want == 0 {
		if w.pending > 0 {
			return 0, errTruncated // the data chunk ends inside a frame
		}
		return 0, io.EOF
	}
	n, err := io.ReadAtLeast(w.r, w.buf[w.pending:w.pending+want], min(want, 1))
	if w.remaining >= 0 {
		w.remaining -= int64(n)
	}
	have := w.pending + n
	whole := have / w.blockAlign
	w.convert(p[:whole], w.buf[:whole*w.blockAlign])
	w.pending = copy(w.buf, w.buf[whole*w.blockAlign:have])
	switch {
	case err == nil:
		return whole, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if w.remaining > 0 || w.pending > 0 {
			return whole, errTruncated
		}
		return whole, io.EOF
	default:
		return whole, fmt.Errorf("audio: reading WAV data: %w", err)
	}
}

// convert downmixes whole frames of b into dst by averaging channels.
func (w *wavSource) convert(dst []float32, b []byte) {
	scale := 1 / float32(w.channels)
	for i := range dst {
		frame := b[i*w.blockAlign : (i+1)*w.blockAlign]
		var sum float32
		for c := 0; c < w.channels; c++ {
			sum += w.sample(frame[c*w.bytesPer : (c+1)*w.bytesPer])
		}
		dst[i] = sum * scale
	}
}

func (w *wavSource) sample(b []byte) float32 {
	switch w.tag {
	case wavPCM:
		switch len(b) {
		case 1:
			return (float32(b[0]) - 128) / 128
		case 2:
			return float32(int16(binary.LittleEndian.Uint16(b))) / (1 << 15)
		case 3:
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) / (1 << 23)
		case 4:
			return float32(float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31))
		}
	case wavFloat:
		var v float64
		if len(b) == 4 {
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		} else {
			v = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		switch {
		case math.IsNaN(v):
			return 0
		case v > 1:
			return 1
		case v < -1:
			return -1
		}
		return float32(v)
	case wavMuLaw:
		return float32(muLaw(b[0])) / (1 << 15)
	case wavALaw:
		return float32(aLaw(b[0])) / (1 << 15)
	}
	return 0
}

// muLaw and aLaw expand G.711 bytes to 16-bit linear (ITU-T G.711).
func muLaw(u byte) int16 {
	u = ^u
	t := (int16(u&0x0F) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

func aLaw(a byte) int16 {
	a ^= 0x55
	t := int16(a&0x0F) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

// EncodeWAV16 writes samples as a 16 kHz mono 16-bit PCM WAV file. Samples
// are clamped to [-1, 1]; NaN is written as 0.
func EncodeWAV16(w io.Writer, samples []float32) error {
	dataLen := int64(len(samples)) * 2
	if dataLen > math.MaxUint32-36 {
		return fmt.Errorf("audio: %d samples do not fit in a WAV file", len(samples))
	}
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataLen))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavPCM)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataLen))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("audio: writing WAV header: %w", err)
	}
	buf := make([]byte, 0, 8192)
	for i, v := range samples {
		var s int16
		switch {
		case v != v: // NaN
		case v >= 1:
			s = math.MaxInt16
		case v <= -1:
			s = -math.MaxInt16
		default:
			s = int16(math.Round(float64(v) * math.MaxInt16))
		}
		buf = binary.LittleEndian.AppendUint16(buf, uint16(s))
		if len(buf) == cap(buf) || i == len(samples)-1 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("audio: writing WAV data: %w", err)
			}
			buf = buf[:0]
		}
	}
	return nil
}
