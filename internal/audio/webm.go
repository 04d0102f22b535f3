package audio

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// maxEBMLLeaf bounds any single EBML element that ebml-go reads into memory
// (blocks, CodecPrivate, attachments). Opus blocks are a few hundred bytes.
const maxEBMLLeaf = 8 << 20

// The destination of ebml.Unmarshal. Channel-typed fields make ebml-go send
// each element as soon as it has been parsed instead of appending it, and a
// plain (non-slice) Cluster field is reused for every cluster, so memory
// stays constant however many clusters the file has. Unknown-size Segment
// and Cluster elements (what MediaRecorder writes) are handled by ebml-go.
type mkvFile struct {
	Segment mkvSegment `ebml:"Segment"`
}

type mkvSegment struct {
	Tracks  chan webm.Tracks `ebml:"Tracks"`
	Cluster mkvCluster       `ebml:"Cluster"`
}

type mkvCluster struct {
	Timecode    uint64             `ebml:"Timecode"`
	SimpleBlock chan ebml.Block    `ebml:"SimpleBlock"`
	BlockGroup  chan mkvBlockGroup `ebml:"BlockGroup"`
}

type mkvBlockGroup struct {
	Block ebml.Block `ebml:"Block"`
}

var errWebMAborted = errors.New("audio: webm reader closed")

// abortReader lets Close stop the parsing goroutine at its next read.
type abortReader struct {
	r       io.Reader
	aborted atomic.Bool
}

func (a *abortReader) Read(p []byte) (int, error) {
	if a.aborted.Load() {
		return 0, errWebMAborted
	}
	return a.r.Read(p)
}

// webmSource decodes the first Opus audio track of a WebM/Matroska file.
// ebml.Unmarshal runs in a goroutine and hands over tracks and blocks on
// unbuffered channels.
type webmSource struct {
	ar      *abortReader
	tracks  chan webm.Tracks
	simple  chan ebml.Block
	group   chan mkvBlockGroup
	done    chan error // ebml.Unmarshal's result, then closed
	track   uint64
	od      *opusDecoder
	frames  [][]byte // frames of the current block still to decode
	pending []float32
	ended   bool
	once    sync.Once
}

func newWebMSource(r io.Reader) (*webmSource, error) {
	w := &webmSource{
		ar:     &abortReader{r: r},
		tracks: make(chan webm.Tracks),
		simple: make(chan ebml.Block),
		group:  make(chan mkvBlockGroup),
		done:   make(chan error, 1),
	}
	dst := &mkvFile{Segment: mkvSegment{
		Tracks:  w.tracks,
		Cluster: mkvCluster{SimpleBlock: w.simple, BlockGroup: w.group},
	}}
	go func() {
		err := ebml.Unmarshal(w.ar, dst, ebml.WithMaxLeafElementSize(maxEBMLLeaf))
		w.done <- err
		close(w.done)
	}()
	// Wait for the track list, which precedes the clusters.
	for w.od == nil {
		select {
		case t := <-w.tracks:
			if err := w.pickTrack(t); err != nil {
				w.close()
				return nil, err
			}
		case <-w.simple:
			w.close()
			return nil, fmt.Errorf("%w: WebM block before the track list", ErrCorrupt)
		case <-w.group:
			w.close()
			return nil, fmt.Errorf("%w: WebM block before the track list", ErrCorrupt)
		case err := <-w.done:
			w.ended = true
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: WebM ends before its track list", ErrCorrupt)
			}
			return nil, webmErr(err)
		}
	}
	return w, nil
}

func (w *webmSource) pickTrack(t webm.Tracks) error {
	var codecs []string
	for _, e := range t.TrackEntry {
		if e.CodecID != "A_OPUS" {
			codecs = append(codecs, e.CodecID)
			continue
		}
		h := opusHead{channels: 1, mapping: 0}
		if e.Audio != nil && e.Audio.Channels > 0 {
			h.channels = int(min(e.Audio.Channels, 255))
		}
		if len(e.CodecPrivate) > 0 {
			var err error
			if h, err = parseOpusHead(e.CodecPrivate); err != nil {
				return err
			}
		} else if e.CodecDelay > 0 {
			h.preSkip = int(min(e.CodecDelay*48000/1e9, 1<<16))
		}
		od, err := newOpusDecoder(h)
		if err != nil {
			return err
		}
		w.track, w.od = e.TrackNumber, od
		return nil
	}
	if len(codecs) == 0 {
		return fmt.Errorf("%w: WebM has no audio track", ErrCorrupt)
	}
	return fmt.Errorf("%w: WebM track codec %v is not Opus (needs ffmpeg); accepted formats: %s",
		ErrUnsupported, codecs, AcceptedFormats())
}

func webmErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return fmt.Errorf("%w: WebM: %w", ErrCorrupt, err)
}

func (w *webmSource) rate() int { return SampleRate }

func (w *webmSource) read(p []float32) (int, error) {
	for len(w.pending) == 0 {
		if len(w.frames) > 0 {
			f := w.frames[0]
			w.frames = w.frames[1:]
			var err error
			if w.pending, err = w.od.decode(f); err != nil {
				return 0, err
			}
			continue
		}
		if w.ended {
			return 0, io.EOF
		}
		var b ebml.Block
		select {
		case b = <-w.simple:
		case g := <-w.group:
			b = g.Block
		case <-w.tracks: // a second Tracks element: keep the first choice
			continue
		case err := <-w.done:
			w.ended = true
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, webmErr(err)
			}
			return 0, io.EOF
		}
		if b.TrackNumber == w.track {
			w.frames = b.Data
		}
	}
	n := copy(p, w.pending)
	w.pending = w.pending[n:]
	return n, nil
}

// close stops the parsing goroutine: its next read fails, and draining the
// channels unblocks a pending send. It does not wait for the goroutine.
func (w *webmSource) close() error {
	w.once.Do(func() {
		w.ar.aborted.Store(true)
		if w.ended {
			return
		}
		go func() {
			for {
				select {
				case <-w.tracks:
				case <-w.simple:
				case <-w.group:
				case <-w.done:
					return
				}
			}
		}()
	})
	return nil
}
