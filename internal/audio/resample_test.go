package audio

import (
	"errors"
	"io"
	"math"
	"testing"
)

// sliceSource serves samples at a given rate in small, uneven chunks.
type sliceSource struct {
	x   []float32
	sr  int
	end error
}

func (s *sliceSource) rate() int    { return s.sr }
func (s *sliceSource) close() error { return nil }
func (s *sliceSource) read(p []float32) (int, error) {
	if len(s.x) == 0 {
		return 0, s.end
	}
	n := copy(p[:min(len(p), 777)], s.x)
	s.x = s.x[n:]
	return n, nil
}

func sine(n, rate int, freq, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

func resampleAll(t *testing.T, x []float32, in int) []float32 {
	t.Helper()
	r := newResampler(&sliceSource{x: x, sr: in, end: io.EOF}, in, SampleRate)
	var out []float32
	buf := make([]float32, 1000)
	for {
		n, err := r.read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestResampler(t *testing.T) {
	tests := []struct {
		name    string
		in      int
		freq    float64
		wantAmp float64 // expected amplitude at freq (or at the alias)
		alias   float64 // if non-zero, measure here instead (aliasing check)
		tol     float64
	}{
		{"48k passband 1 kHz", 48000, 1000, 0.5, 0, 0.003},
		{"44.1k passband 440 Hz", 44100, 440, 0.5, 0, 0.003},
		{"44.1k passband 6 kHz", 44100, 6000, 0.5, 0, 0.005},
		// The transition band starts near 7 kHz: -0.7 dB there, -6 dB at 7.6 kHz.
		{"44.1k edge 7 kHz", 44100, 7000, 0.46, 0, 0.01},
		{"8k upsampling 1 kHz", 8000, 1000, 0.5, 0, 0.003},
		{"22.05k passband 3 kHz", 22050, 3000, 0.5, 0, 0.003},
		{"odd rate 44101 Hz (no small gcd)", 44101, 440, 0.5, 0, 0.003},
		// 12 kHz at 48 kHz would alias to 4 kHz at 16 kHz: must be removed.
		{"48k stopband 12 kHz", 48000, 12000, 0, 4000, 0.0005},
		{"44.1k stopband 9 kHz", 44100, 9000, 0, 7000, 0.0005},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 2 * tc.in
			out := resampleAll(t, sine(n, tc.in, tc.freq, 0.5), tc.in)
			want := (int64(n)*SampleRate + int64(tc.in) - 1) / int64(tc.in)
			if int64(len(out)) != want {
				t.Errorf("%d samples, want %d", len(out), want)
			}
			f := tc.freq
			if tc.alias != 0 {
				f = tc.alias
				if r := rms(out[len(out)/10 : len(out)*9/10]); r > tc.tol {
					t.Errorf("stopband rms %v, want < %v", r, tc.tol)
				}
			}
			if got := toneLevel(out, f); math.Abs(got-tc.wantAmp) > tc.tol {
				t.Errorf("level at %v Hz: %.5f, want %v ± %v", f, got, tc.wantAmp, tc.tol)
			}
		})
	}
}

// Truncation of the source passes through the resampler after the last
// sample.
func TestResamplerTruncated(t *testing.T) {
	r := newResampler(&sliceSource{x: make([]float32, 4410), sr: 44100, end: errTruncated}, 44100, SampleRate)
	buf := make([]float32, 10000)
	total := 0
	for {
		n, err := r.read(buf)
		total += n
		if err != nil {
			if !errors.Is(err, errTruncated) {
				t.Fatalf("got %v", err)
			}
			break
		}
	}
	if total != 1600 {
		t.Errorf("%d samples, want 1600", total)
	}
}
