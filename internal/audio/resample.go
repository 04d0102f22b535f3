package audio

import (
	"errors"
	"io"
	"math"
)

// Resampler parameters: a Kaiser-windowed sinc with resampZeros zero
// crossings on each side (of the narrower of the input and output bands),
// cut off at resampRolloff of the lower Nyquist frequency. Stopband
// attenuation is about 80 dB; the transition band for 16 kHz output is
// 7.6-8 kHz, above the band whisper uses.
const (
	resampZeros   = 16
	resampRolloff = 0.95
	resampBeta    = 8.0
	resampRes     = 512 // table points per zero crossing
	maxPhaseTable = 1 << 18
)

var sincTable = func() []float32 {
	n := resampZeros * resampRes
	t := make([]float32, n+2) // +guard for interpolation at the edge
	i0b := besselI0(resampBeta)
	for i := 0; i <= n; i++ {
		u := float64(i) / resampRes
		s := 1.0
		if u != 0 {
			s = math.Sin(math.Pi*u) / (math.Pi * u)
		}
		r := u / resampZeros
		w := besselI0(resampBeta*math.Sqrt(max(0, 1-r*r))) / i0b
		t[i] = float32(s * w)
	}
	return t
}()

func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// resampler converts a source to another rate with a band-limited
// (windowed-sinc, polyphase) filter. It keeps only the input window the
// filter needs, so memory is constant. Output sample n is input time
// n*in/out exactly (integer arithmetic, no drift).
type resampler struct {
	src        source
	in, out    int64
	fc         float64 // cutoff relative to the input Nyquist frequency
	half       int64   // filter half-width in input samples
	phases     int64   // distinct fractional positions (out/gcd)
	g          int64   // gcd(in, out)
	table      []float32
	scratch    []float32
	buf        []float32
	bufStart   int64 // absolute input index of buf[0]
	inTotal    int64 // input samples read so far
	srcEnd     bool
	srcErr     error // errTruncated or nil, returned after the last sample
	outIdx     int64
	readBuf    []float32
	tableValid []bool
}

func newResampler(src source, in, out int) *resampler {
	r := &resampler{src: src, in: int64(in), out: int64(out)}
	r.fc = resampRolloff * min(1, float64(out)/float64(in))
	r.half = int64(math.Ceil(resampZeros / r.fc))
	r.g = gcd(r.in, r.out)
	r.phases = r.out / r.g
	taps := 2 * r.half
	if r.phases*taps <= maxPhaseTable {
		r.table = make([]float32, r.phases*taps)
		r.tableValid = make([]bool, r.phases)
	}
	r.scratch = make([]float32, taps)
	r.readBuf = make([]float32, 4096)
	r.buf = make([]float32, 0, 4096+2*taps)
	return r
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (r *resampler) rate() int    { return int(r.out) }
func (r *resampler) close() error { return r.src.close() }

// weights returns the 2*half filter taps for phase p (fraction p/phases),
// for input samples ip-half+1 ... ip+half.
func (r *resampler) weights(p int64) []float32 {
	taps := 2 * r.half
	var w []float32
	if r.table != nil {
		w = r.table[p*taps : (p+1)*taps]
		if r.tableValid[p] {
			return w
		}
		r.tableValid[p] = true
	} else {
		w = r.scratch
	}
	frac := float64(p) / float64(r.phases)
	for m := range taps {
		x := frac + float64(r.half-1-m)
		pos := math.Abs(x) * r.fc * resampRes
		i := int(pos)
		if i >= resampZeros*resampRes {
			w[m] = 0
			continue
		}
		f := float32(pos - float64(i))
		w[m] = float32(r.fc) * (sincTable[i] + f*(sincTable[i+1]-sincTable[i]))
	}
	return w
}

func (r *resampler) fill() error {
	// Drop input that no future output needs.
	need := r.outIdx*r.in/r.out - r.half + 1
	if drop := need - r.bufStart; drop > 0 {
		drop = min(drop, int64(len(r.buf)))
		r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
		r.bufStart += drop
	}
	n, err := r.src.read(r.readBuf)
	r.buf = append(r.buf, r.readBuf[:n]...)
	r.inTotal += int64(n)
	if err != nil {
		r.srcEnd = true
		if !errors.Is(err, errTruncated) && !errors.Is(err, io.EOF) {
			return err
		}
		if errors.Is(err, errTruncated) {
			r.srcErr = errTruncated
		}
	}
	return nil
}

func (r *resampler) read(p []float32) (int, error) {
	k := 0
	for k < len(p) {
		num := r.outIdx * r.in
		ip := num / r.out
		if r.srcEnd && num >= r.inTotal*r.out {
			break
		}
		if !r.srcEnd && ip+r.half >= r.bufStart+int64(len(r.buf)) {
			if k > 0 {
				return k, nil // hand out what we have before blocking on input
			}
			if err := r.fill(); err != nil {
				return k, err
			}
			continue
		}
		w := r.weights((num % r.out) / r.g)
		first := ip - r.half + 1
		var sum float32
		for m, wm := range w {
			j := first + int64(m) - r.bufStart
			if j < 0 || j >= int64(len(r.buf)) {
				continue // before the start or after the end: zero
			}
			sum += wm * r.buf[j]
		}
		// Band-limiting can overshoot full-scale input slightly (Gibbs).
		p[k] = max(-1, min(1, sum))
		k++
		r.outIdx++
	}
	if k == 0 && r.srcEnd {
		if r.srcErr != nil {
			return 0, r.srcErr
		}
		return 0, io.EOF
	}
	return k, nil
}
