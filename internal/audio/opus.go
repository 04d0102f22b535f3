package audio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/pion/opus"
)

// maxOpusFrame is 120 ms, the longest Opus packet, at 16 kHz.
const maxOpusFrame = SampleRate * 120 / 1000

// opusDecoder wraps pion/opus, which implements SILK, CELT and hybrid
// packets (checked: pion/opus v0.1.0 has internal/celt and decodes
// configurations 0-31) and resamples to the requested rate itself, so Opus
// needs no resampler here. Stereo streams are downmixed by averaging inside
// pion/opus (output configured as mono).
type opusDecoder struct {
	dec     opus.Decoder
	skip    int     // pre-skip still to drop, in 16 kHz samples
	gain    float32 // linear output gain from the header
	out     []float32
	packets int
}

// opusHead holds the fields of an OpusHead packet (RFC 7845 section 5.1).
type opusHead struct {
	channels int
	preSkip  int // 48 kHz samples
	gainQ8   int16
	mapping  int
}

func parseOpusHead(b []byte) (opusHead, error) {
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return opusHead{}, fmt.Errorf("%w: Opus header missing or shorter than 19 bytes", ErrCorrupt)
	}
	if b[8]>>4 != 0 {
		return opusHead{}, fmt.Errorf("%w: Opus header version %d", ErrUnsupported, b[8])
	}
	return opusHead{
		channels: int(b[9]),
		preSkip:  int(binary.LittleEndian.Uint16(b[10:])),
		gainQ8:   int16(binary.LittleEndian.Uint16(b[16:])),
		mapping:  int(b[18]),
	}, nil
}

func newOpusDecoder(h opusHead) (*opusDecoder, error) {
	if h.channels < 1 || h.channels > 2 {
		return nil, fmt.Errorf("%w: Opus with %d channels (multistream Opus is not decoded; only mono and stereo)",
			ErrUnsupported, h.channels)
	}
	if h.mapping != 0 && h.mapping != 1 {
		return nil, fmt.Errorf("%w: Opus channel mapping family %d", ErrUnsupported, h.mapping)
	}
	dec, err := opus.NewDecoderWithOutput(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("audio: opus decoder: %w", err)
	}
	return &opusDecoder{
		dec:  dec,
		skip: h.preSkip / 3,
		gain: float32(math.Pow(10, float64(h.gainQ8)/(20*256))),
		out:  make([]float32, maxOpusFrame),
	}, nil
}

// decode returns the samples of one packet (valid until the next call).
func (o *opusDecoder) decode(packet []byte) ([]float32, error) {
	o.packets++
	n, err := o.dec.DecodeToFloat32(packet, o.out)
	if err != nil {
		return nil, fmt.Errorf("%w: Opus packet %d (%d bytes): %w", ErrCorrupt, o.packets, len(packet), err)
	}
	if n < 0 || n > len(o.out) {
		return nil, fmt.Errorf("%w: Opus packet %d decoded to %d samples", ErrCorrupt, o.packets, n)
	}
	s := o.out[:n]
	if o.skip > 0 {
		k := min(o.skip, len(s))
		o.skip -= k
		s = s[k:]
	}
	for i, v := range s {
		v *= o.gain
		switch {
		case v != v:
			v = 0
		case v > 1:
			v = 1
		case v < -1:
			v = -1
		}
		s[i] = v
	}
	return s, nil
}
