package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/opus/pkg/oggreader"
)

// oggSource reads Opus packets from Ogg pages with pion's oggreader, which
// checks page CRCs and reassembles packets that span pages. Memory is one
// page plus one packet; a crafted packet spanning many pages is bounded by
// Limits.MaxBytes only.
type oggSource struct {
	r       *oggreader.OggReader
	od      *opusDecoder
	pending []float32
	packets int
}

func newOggSource(r io.Reader) (*oggSource, error) {
	or, h, err := oggreader.NewWith(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: Ogg/Opus header is cut off: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("%w: Ogg/Opus header: %w", ErrCorrupt, err)
	}
	od, err := newOpusDecoder(opusHead{
		channels: int(h.Channels),
		preSkip:  int(h.PreSkip),
		gainQ8:   int16(h.OutputGain),
		mapping:  int(h.ChannelMap),
	})
	if err != nil {
		return nil, err
	}
	return &oggSource{r: or, od: od}, nil
}

func (o *oggSource) rate() int    { return SampleRate }
func (o *oggSource) close() error { return nil }

func (o *oggSource) read(p []float32) (int, error) {
	for len(o.pending) == 0 {
		pkt, _, err := o.r.ParseNextPacket()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return 0, io.EOF
			case errors.Is(err, io.ErrUnexpectedEOF):
				return 0, errTruncated
			}
			return 0, fmt.Errorf("%w: Ogg page after packet %d: %w", ErrCorrupt, o.packets, err)
		}
		o.packets++
		if o.packets == 1 && bytes.HasPrefix(pkt, []byte("OpusTags")) {
			continue
		}
		if len(pkt) == 0 {
			continue
		}
		if o.pending, err = o.od.decode(pkt); err != nil {
			return 0, err
		}
	}
	n := copy(p, o.pending)
	o.pending = o.pending[n:]
	return n, nil
}
