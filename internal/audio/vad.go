package audio

import (
	"errors"
	"io"
	"math"
	"sort"
	"time"
)

// Silence costs nothing: VAD is an energy-based voice activity detector over a 16 kHz
// sample stream. It drops leading and trailing silence and shortens long pauses before
// the samples reach whisper, and maps times in its output back to the original audio.
//
// Decisions:
//   - Energy is measured per 20 ms frame (RMS). The threshold is relative to the
//     recording's own noise floor: a minimum tracker that follows the quietest frames
//     down at once and rises slowly (about 3 dB a second), so a noisy office and a
//     quiet room are judged alike. A frame ThresholdDB above the floor is speech.
//   - After speech, HangOver of quieter frames still counts as speech (word endings).
//   - A pause up to MinPause stays whole (a comma's breath is part of speech). A longer
//     one keeps Keep of silence at each side; leading and trailing silence keep Keep
//     next to the speech. Nothing in the middle of speech is ever dropped.
//   - A stream with no speech at all passes its last Keep, so the caller's own
//     silence check still sees it (and whisper gets no empty input).
//
// Memory is bounded: a long pause holds at most MinPause+Keep samples.
type VAD struct {
	r    SampleSource
	opts VADOptions

	frame, keep, minPause, hang int // in samples / frames
	thresh                      float64

	acc      []float32 // samples read but not yet a whole frame
	accStart int64     // input index of acc[0]
	warm     []float32 // the first second, held until the noise floor is known
	floor    float64
	hangLeft int

	sil      []float32 // silence since the last speech
	silStart int64     // input index of sil[0]
	silCut   bool      // the head of sil was emitted and its middle is being dropped
	speech   bool      // speech seen

	pending []float32
	pieces  []vadPiece
	in, out int64
	eof     bool
	ending  bool // the source is at its end: no more warm-up
	err     error
}

// SampleSource reads 16 kHz mono samples (a *Stream, or any other).
type SampleSource interface {
	Read(p []float32) (int, error)
}

// vadPiece maps a run of output samples to where they were in the input.
type vadPiece struct{ out, in int64 }

// VADOptions tune the detector; zero values take the defaults.
type VADOptions struct {
	Frame       time.Duration // 20 ms
	MinPause    time.Duration // 600 ms: pauses up to this stay whole
	Keep        time.Duration // 200 ms of silence kept next to speech
	HangOver    time.Duration // 200 ms
	ThresholdDB float64       // 10 dB above the noise floor
}

const vadMinFloor = 1e-5 // -100 dBFS: digital silence

// NewVAD wraps a 16 kHz mono sample reader.
func NewVAD(r SampleSource, o VADOptions) *VAD {
	if o.Frame <= 0 {
		o.Frame = 20 * time.Millisecond
	}
	if o.MinPause <= 0 {
		o.MinPause = 600 * time.Millisecond
	}
	if o.Keep <= 0 {
		o.Keep = 200 * time.Millisecond
	}
	if o.Keep*2 > o.MinPause {
		o.Keep = o.MinPause / 2
	}
	if o.HangOver <= 0 {
		o.HangOver = 200 * time.Millisecond
	}
	if o.ThresholdDB <= 0 {
		o.ThresholdDB = 10
	}
	n := func(d time.Duration) int { return int(d * SampleRate / time.Second) }
	v := &VAD{r: r, opts: o, frame: max(1, n(o.Frame)), keep: n(o.Keep), minPause: n(o.MinPause), thresh: math.Pow(10, o.ThresholdDB/20)}
	v.hang = n(o.HangOver) / v.frame
	return v
}

// Read returns trimmed samples; io.EOF at the end.
func (v *VAD) Read(p []float32) (int, error) {
	buf := make([]float32, 4096)
	for len(v.pending) < len(p) && !v.eof {
		k, err := v.r.Read(buf)
		v.push(buf[:k])
		if errors.Is(err, io.EOF) {
			v.finish()
			v.eof = true
			break
		}
		if err != nil {
			v.err = err
			break
		}
		if k == 0 {
			v.err = errors.New("vad: source returned no samples and no error")
			break
		}
	}
	n := copy(p, v.pending)
	v.pending = v.pending[n:]
	if len(v.pending) == 0 {
		v.pending = nil // let the backing array go
	}
	if n == 0 {
		if v.err != nil {
			return 0, v.err
		}
		if v.eof {
			return 0, io.EOF
		}
	}
	return n, nil
}

func (v *VAD) push(s []float32) {
	for len(s) > 0 {
		take := min(v.frame-len(v.acc), len(s))
		v.acc = append(v.acc, s[:take]...)
		s = s[take:]
		if len(v.acc) == v.frame {
			v.frameIn(v.acc)
			v.acc = v.acc[:0]
		}
	}
}

// frameIn takes one whole (or the last, partial) frame. The first second is held
// until the noise floor is known: its quietest frame sets it, so speech from the
// very first sample is judged against the room, not against itself.
func (v *VAD) frameIn(f []float32) {
	if v.floor == 0 {
		v.warm = append(v.warm, f...)
		if len(v.warm) < SampleRate && !v.ending {
			return
		}
		v.floor = math.Inf(1)
		for i := 0; i < len(v.warm); i += v.frame {
			v.floor = min(v.floor, rmsOf(v.warm[i:min(i+v.frame, len(v.warm))]))
		}
		v.floor = max(v.floor, vadMinFloor)
		w := v.warm
		v.warm = nil
		for i := 0; i < len(w); i += v.frame {
			fr := w[i:min(i+v.frame, len(w))]
			v.doFrame(fr, v.accStart)
			v.accStart += int64(len(fr))
		}
		return
	}
	v.doFrame(f, v.accStart)
	v.accStart += int64(len(f))
}

func rmsOf(f []float32) float64 {
	var sum float64
	for _, x := range f {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum / float64(len(f)))
}

// vadAlwaysSpeech is a level (RMS, about -26 dBFS) never treated as silence,
// whatever the floor: trimming must never cost a word.
const vadAlwaysSpeech = 0.05

func (v *VAD) doFrame(f []float32, at int64) {
	rms := rmsOf(f)
	v.in = at + int64(len(f))
	if rms < v.floor {
		v.floor = max(rms, vadMinFloor)
	} else {
		v.floor *= 1.007 // ~3 dB a second at 20 ms frames
	}
	loud := rms > v.floor*v.thresh || rms > vadAlwaysSpeech
	if loud {
		v.hangLeft = v.hang
	} else if v.hangLeft > 0 && v.speech {
		v.hangLeft--
		loud = true
	}
	if loud {
		v.flushSilence()
		v.speech = true
		v.emit(f, at)
		return
	}
	if len(v.sil) == 0 {
		v.silStart = at
	}
	v.sil = append(v.sil, f...)
	// bound memory: a pause already longer than MinPause keeps its head (emitted now)
	// and a tail of Keep
	if len(v.sil) > v.minPause+v.keep+v.frame {
		if v.speech && !v.silCut {
			v.emit(v.sil[:v.keep], v.silStart)
			v.silCut = true
		}
		drop := len(v.sil) - v.keep
		if !v.speech || v.silCut {
			v.silStart += int64(drop)
			v.sil = append(v.sil[:0], v.sil[drop:]...)
		}
	}
}

// flushSilence emits the buffered silence before speech resumes.
func (v *VAD) flushSilence() {
	if len(v.sil) == 0 {
		return
	}
	switch {
	case !v.speech: // leading silence: keep the Keep next to the speech
		t := max(0, len(v.sil)-v.keep)
		v.emit(v.sil[t:], v.silStart+int64(t))
	case v.silCut:
		v.emit(v.sil[max(0, len(v.sil)-v.keep):], v.silStart+int64(max(0, len(v.sil)-v.keep)))
	case len(v.sil) <= v.minPause:
		v.emit(v.sil, v.silStart)
	default:
		v.emit(v.sil[:v.keep], v.silStart)
		t := len(v.sil) - v.keep
		v.emit(v.sil[t:], v.silStart+int64(t))
	}
	v.sil = v.sil[:0]
	v.silCut = false
}

// finish handles the end: a partial frame, then trailing silence.
func (v *VAD) finish() {
	v.ending = true
	if len(v.acc) > 0 || v.floor == 0 {
		f := v.acc
		v.acc = nil
		if len(f) > 0 || len(v.warm) > 0 {
			v.frameIn(f)
		}
	}
	if len(v.sil) == 0 {
		return
	}
	switch {
	case !v.speech: // no speech at all: its last Keep (or all of a short recording)
		t := max(0, len(v.sil)-max(v.keep, v.frame))
		v.emit(v.sil[t:], v.silStart+int64(t))
	case !v.silCut:
		v.emit(v.sil[:min(v.keep, len(v.sil))], v.silStart)
	}
	v.sil = v.sil[:0]
}

func (v *VAD) emit(s []float32, at int64) {
	if len(s) == 0 {
		return
	}
	if n := len(v.pieces); n == 0 || v.pieces[n-1].in+(v.out-v.pieces[n-1].out) != at {
		v.pieces = append(v.pieces, vadPiece{out: v.out, in: at})
	}
	v.pending = append(v.pending, s...)
	v.out += int64(len(s))
}

// Map turns a time in the trimmed output into the time in the original audio.
func (v *VAD) Map(t time.Duration) time.Duration {
	x := int64(t * SampleRate / time.Second)
	i := sort.Search(len(v.pieces), func(i int) bool { return v.pieces[i].out > x }) - 1
	if i < 0 {
		return t
	}
	p := v.pieces[i]
	in := p.in + (x - p.out)
	return time.Duration(in) * time.Second / SampleRate
}

// InSamples and OutSamples count the samples read and returned so far.
func (v *VAD) InSamples() int64  { return v.in }
func (v *VAD) OutSamples() int64 { return v.out }
