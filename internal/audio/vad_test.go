package audio

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// sliceReader serves samples in reads of at most step.
type sliceReader struct {
	s    []float32
	step int
}

func (r *sliceReader) Read(p []float32) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.s)
	r.s = r.s[n:]
	return n, nil
}

type part struct {
	speech bool
	secs   float64
}

// synth builds noise at floor amplitude with speech-like bursts (a modulated tone at
// amplitude loud) where speech is set; it returns the samples and which are speech.
func synth(parts []part, floor, loud float64, seed uint64) ([]float32, []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var s []float32
	var sp []bool
	for _, p := range parts {
		n := int(p.secs * SampleRate)
		for i := 0; i < n; i++ {
			x := floor * (rng.Float64()*2 - 1)
			if p.speech {
				t := float64(i) / SampleRate
				x += loud * math.Sin(2*math.Pi*180*t) * (0.6 + 0.4*math.Sin(2*math.Pi*3*t))
			}
			s = append(s, float32(x))
			sp = append(sp, p.speech)
		}
	}
	return s, sp
}

func runVAD(t *testing.T, in []float32, step int) (*VAD, []float32) {
	t.Helper()
	v := NewVAD(&sliceReader{s: in, step: step}, VADOptions{})
	var out []float32
	buf := make([]float32, 1000)
	for {
		n, err := v.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return v, out
}

func TestVADTrimsSilenceAndMapsTimes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		parts       []part
		floor, loud float64
		wantSecs    float64 // expected output length, ±0.15 s (speech + 0.2 s hang-over before a long pause + 2 x 0.2 s kept)
	}{
		{"quiet room: long pauses shortened, a short pause kept",
			[]part{{false, 2}, {true, 1}, {false, 0.3}, {true, 1}, {false, 5}, {true, 1}, {false, 3}}, 0.002, 0.3,
			0.2 + 1 + 0.3 + 1 + 0.2 + 0.4 + 1 + 0.2 + 0.2},
		{"noisy office: the threshold follows the noise floor",
			[]part{{false, 1.5}, {true, 2}, {false, 4}, {true, 1.5}, {false, 1}}, 0.04, 0.4,
			0.2 + 2 + 0.2 + 0.4 + 1.5 + 0.2 + 0.2},
		{"speech without pauses passes whole",
			[]part{{true, 6}}, 0.002, 0.3, 6},
		{"no speech at all leaves a sliver for the silence check",
			[]part{{false, 4}}, 0.002, 0.3, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, isSpeech := synth(tc.parts, tc.floor, tc.loud, 7)
			v, out := runVAD(t, in, 4096)
			got := float64(len(out)) / SampleRate
			if math.Abs(got-tc.wantSecs) > 0.15 {
				t.Errorf("output %.2f s, want %.2f s (input %.2f s)", got, tc.wantSecs, float64(len(in))/SampleRate)
			}
			if v.InSamples() != int64(len(in)) || v.OutSamples() != int64(len(out)) {
				t.Errorf("counts in %d/%d out %d/%d", v.InSamples(), len(in), v.OutSamples(), len(out))
			}
			// every output sample maps back to the same sample of the input, in order
			kept := make([]bool, len(in))
			last := -1
			for x := range out {
				tin := v.Map(time.Duration(x) * time.Second / SampleRate)
				i := int(tin * SampleRate / time.Second)
				if i <= last || i >= len(in) || in[i] != out[x] {
					t.Fatalf("output sample %d maps to %d (last %d): not the same sample", x, i, last)
				}
				kept[i], last = true, i
			}
			// no speech is ever dropped
			for i := range in {
				if isSpeech[i] && !kept[i] {
					t.Fatalf("speech sample %d (%.3f s) dropped", i, float64(i)/SampleRate)
				}
			}
			// the same output whatever the reads' sizes
			_, out2 := runVAD(t, in, 1)
			if len(out2) != len(out) {
				t.Errorf("reads of one sample gave %d samples, 4096 gave %d", len(out2), len(out))
			}
		})
	}
}

// A pause of exactly MinPause stays; one just longer is shortened to 2*Keep.
func TestVADPauseBoundary(t *testing.T) {
	for _, tc := range []struct {
		pause float64
		want  float64
	}{{0.58, 0.58}, {0.9, 0.4}} {
		in, _ := synth([]part{{true, 1}, {false, tc.pause}, {true, 1}}, 0.001, 0.3, 3)
		_, out := runVAD(t, in, 512)
		got := float64(len(out))/SampleRate - 2
		// the hang-over keeps 0.2 s of the pause as speech
		if math.Abs(got-tc.want) > 0.25 {
			t.Errorf("pause %.2f s became %.2f s, want about %.2f", tc.pause, got, tc.want)
		}
	}
}
