package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hajimehoshi/go-mp3"
)

// errMPEG25 matches go-mp3's error for MPEG-2.5 streams (8-12 kHz), which need ffmpeg.
func isMPEG25(err error) bool { return err != nil && strings.Contains(err.Error(), "MPEG version 2.5") }

// decoderPanic converts a panic inside go-mp3 into ErrCorrupt. go-mp3 indexes out of
// range on some crafted frames (found by FuzzDecodeMP3); the decoder is upstream code
// taken as a module, so its failure is contained at this boundary instead of patched
// in a copy. Only our own call into the library is covered: nothing else is recovered.
func decoderPanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: MP3: malformed frame (%v)", ErrCorrupt, r)
	}
}

// mp3Source decodes MPEG-1/2/2.5 layer III with go-mp3. go-mp3 always
// produces 16-bit stereo; the two channels are averaged. go-mp3 treats a
// frame cut off by the end of the input as the end of the stream, so a
// truncated MP3 yields its decodable part.
type mp3Source struct {
	d   *mp3.Decoder
	buf []byte
}

func newMP3Source(r io.Reader) (_ *mp3Source, err error) {
	defer decoderPanic(&err)
	// r is not an io.Seeker, so go-mp3 does not scan the whole input for its
	// length: it reads the tags and the first frame only.
	d, err := mp3.NewDecoder(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: MP3: no complete MPEG audio frame found", ErrCorrupt)
		}
		if isMPEG25(err) {
			return nil, fmt.Errorf("%w: MP3 (MPEG-2.5) needs ffmpeg; accepted formats: %s", ErrUnsupported, AcceptedFormats())
		}
		return nil, fmt.Errorf("%w: MP3: %w", ErrCorrupt, err)
	}
	if sr := d.SampleRate(); sr < 8000 || sr > 48000 {
		return nil, fmt.Errorf("%w: MP3 sample rate %d", ErrCorrupt, sr)
	}
	return &mp3Source{d: d, buf: make([]byte, 4*4096)}, nil
}

func (m *mp3Source) rate() int    { return m.d.SampleRate() }
func (m *mp3Source) close() error { return nil }

func (m *mp3Source) read(p []float32) (frames int, err error) {
	defer decoderPanic(&err)
	want := min(len(p), len(m.buf)/4) * 4
	n, err := io.ReadAtLeast(m.d, m.buf[:want], 4)
	frames = n / 4
	for i := range frames {
		l := int16(binary.LittleEndian.Uint16(m.buf[4*i:]))
		r := int16(binary.LittleEndian.Uint16(m.buf[4*i+2:]))
		p[i] = (float32(l) + float32(r)) / (2 << 15)
	}
	switch {
	case err == nil:
		return frames, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return frames, io.EOF
	case isMPEG25(err):
		return frames, fmt.Errorf("%w: MP3 switches to MPEG-2.5 mid-stream", ErrUnsupported)
	default:
		return frames, fmt.Errorf("%w: MP3: %w", ErrCorrupt, err)
	}
}
