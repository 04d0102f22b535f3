package transcribe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// testDims are the real hyperparameters of the English-only models.
var testDims = map[string]HParams{
	"tiny.en": {NVocab: 51864, NAudioCtx: 1500, NAudioState: 384, NAudioHead: 6, NAudioLayer: 4,
		NTextCtx: 448, NTextState: 384, NTextHead: 6, NTextLayer: 4, NMels: 80, FType: 1},
	"base.en": {NVocab: 51864, NAudioCtx: 1500, NAudioState: 512, NAudioHead: 8, NAudioLayer: 6,
		NTextCtx: 448, NTextState: 512, NTextHead: 8, NTextLayer: 6, NMels: 80, FType: 1},
	"small.en": {NVocab: 51864, NAudioCtx: 1500, NAudioState: 768, NAudioHead: 12, NAudioLayer: 12,
		NTextCtx: 448, NTextState: 768, NTextHead: 12, NTextLayer: 12, NMels: 80, FType: 1},
}

// gptTextTokens is how many text tokens the converter stores for the GPT-2
// vocabulary of English-only models; whisper.cpp adds the special tokens
// (end of text, start of transcript, timestamps, ...) up to n_vocab itself.
const gptTextTokens = 50256

// GenerateTestModel writes a whisper model in the legacy ggml format with the
// real hyperparameters of dims ("tiny.en", "base.en" or "small.en"), Slaney mel filters
// as whisper uses, a synthetic vocabulary of the real size (50256 byte-level
// text tokens + the special tokens whisper.cpp derives from n_vocab 51864),
// and random f16 weights drawn from N(0, 0.02) with LayerNorm weights 1 and
// biases 0. whisper.cpp loads and runs it; the output is gibberish. It exists
// for tests and benchmarks, because real weights cannot be downloaded there.
// The same seed gives the same bytes.
//
// A "-q8_0" suffix (e.g. "tiny.en-q8_0") quantises the large matrices to
// ggml's q8_0 like whisper.cpp's quantize tool does (ftype 7, quantisation
// version 2), to exercise quantised models.
func GenerateTestModel(w io.Writer, dims string, seed int64) error {
	base, quant := strings.CutSuffix(dims, "-q8_0")
	hp, ok := testDims[base]
	if !ok {
		return fmt.Errorf("generate test model: unknown dims %q (want tiny.en, base.en or small.en, optionally with -q8_0)", dims)
	}
	if quant {
		hp.FType = 2*ggmlQntVersionFactor + 7
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	var b4 [4]byte
	putI32 := func(v int32) {
		le.PutUint32(b4[:], uint32(v))
		bw.Write(b4[:])
	}
	putF32 := func(v float32) {
		le.PutUint32(b4[:], math.Float32bits(v))
		bw.Write(b4[:])
	}

	putI32(ggmlMagic)
	for _, v := range []int32{hp.NVocab, hp.NAudioCtx, hp.NAudioState, hp.NAudioHead, hp.NAudioLayer,
		hp.NTextCtx, hp.NTextState, hp.NTextHead, hp.NTextLayer, hp.NMels, hp.FType} {
		putI32(v)
	}

	putI32(hp.NMels)
	putI32(whisperNFFT)
	for _, v := range slaneyMelFilters(int(hp.NMels), whisperNFFT, 16000) {
		putF32(v)
	}

	vocab := syntheticVocab(rng, gptTextTokens)
	putI32(int32(len(vocab)))
	for _, tok := range vocab {
		putI32(int32(len(tok)))
		bw.WriteString(tok)
	}

	wtype := ftypeToType[hp.FType%ggmlQntVersionFactor]
	names, specs := expectedTensors(hp)
	buf := make([]byte, 0, 1<<16)
	for _, name := range names {
		spec := specs[name]
		tt := tensorType(spec.kind, wtype)
		putI32(int32(spec.dims))
		putI32(int32(len(name)))
		putI32(tt)
		for d := 0; d < spec.dims; d++ {
			putI32(int32(spec.ne[d]))
		}
		bw.WriteString(name)

		n := spec.ne[0] * spec.ne[1] * spec.ne[2]
		var fill func() float32
		switch {
		case spec.kind == 'f' && spec.dims == 1 && strings.HasSuffix(name, ".weight"): // LayerNorm gain
			fill = func() float32 { return 1 }
		case strings.HasSuffix(name, ".bias"):
			fill = func() float32 { return 0 }
		default:
			fill = func() float32 { return float32(rng.NormFloat64() * 0.02) }
		}
		if tt == 8 { // q8_0: blocks of 32 values as an f16 scale and 32 int8
			block := make([]float32, 32)
			for i := int64(0); i < n; i += 32 {
				amax := float32(0)
				for j := range block {
					block[j] = fill()
					amax = max(amax, float32(math.Abs(float64(block[j]))))
				}
				d := amax / 127
				buf = le.AppendUint16(buf, f32ToF16(d))
				for _, v := range block {
					q := float32(0)
					if d != 0 {
						q = float32(math.Round(float64(v / d)))
					}
					buf = append(buf, byte(int8(q)))
				}
				if len(buf) >= 1<<16-64 {
					bw.Write(buf)
					buf = buf[:0]
				}
			}
			bw.Write(buf)
			buf = buf[:0]
			continue
		}
		for i := int64(0); i < n; i++ {
			v := fill()
			if tt == 1 {
				buf = le.AppendUint16(buf, f32ToF16(v))
			} else {
				buf = le.AppendUint32(buf, math.Float32bits(v))
			}
			if len(buf) >= 1<<16-4 {
				bw.Write(buf)
				buf = buf[:0]
			}
		}
		bw.Write(buf)
		buf = buf[:0]
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate test model %s: %w", dims, err)
	}
	return nil
}

// syntheticVocab returns n distinct byte-level tokens: the 256 single bytes
// first (as GPT-2's byte-level BPE has them), then made-up words built from
// English syllables, about half with the leading space GPT-2 uses.
func syntheticVocab(rng *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for i := 0; i < 256 && len(out) < n; i++ {
		s := string([]byte{byte(i)})
		out = append(out, s)
		seen[s] = true
	}
	syl := []string{"a", "e", "i", "o", "u", "th", "er", "in", "an", "re", "on", "at", "en", "nd", "st",
		"es", "or", "te", "of", "ed", "is", "it", "al", "ar", "le", "se", "ou", "ing", "ion", "ent",
		"con", "tract", "claim", "court", "law", "s", "t", "m", "p", "b", "c", "d", "f", "g", "l", "n", "r", "v", "w", "y"}
	for len(out) < n {
		var sb strings.Builder
		if rng.IntN(2) == 0 {
			sb.WriteByte(' ')
		}
		k := 1 + rng.IntN(4)
		for j := 0; j < k; j++ {
			sb.WriteString(syl[rng.IntN(len(syl))])
		}
		s := sb.String()
		if rng.IntN(10) == 0 && s[0] == ' ' && len(s) > 1 {
			s = " " + strings.ToUpper(s[1:2]) + s[2:]
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// slaneyMelFilters computes librosa.filters.mel(sr, n_fft=2*(nFFT-1), n_mels,
// htk=False, norm="slaney") as whisper's mel_filters.npz holds them.
func slaneyMelFilters(nMels, nFFT int, sr float64) []float32 {
	const fSp = 200.0 / 3
	const minLogHz = 1000.0
	const minLogMel = minLogHz / fSp
	logStep := math.Log(6.4) / 27
	hzToMel := func(f float64) float64 {
		if f < minLogHz {
			return f / fSp
		}
		return minLogMel + math.Log(f/minLogHz)/logStep
	}
	melToHz := func(m float64) float64 {
		if m < minLogMel {
			return fSp * m
		}
		return minLogHz * math.Exp(logStep*(m-minLogMel))
	}
	fftFreqs := make([]float64, nFFT)
	for i := range fftFreqs {
		fftFreqs[i] = float64(i) * (sr / 2) / float64(nFFT-1)
	}
	melF := make([]float64, nMels+2)
	lo, hi := hzToMel(0), hzToMel(sr/2)
	for i := range melF {
		melF[i] = melToHz(lo + (hi-lo)*float64(i)/float64(nMels+1))
	}
	out := make([]float32, nMels*nFFT)
	for m := 0; m < nMels; m++ {
		enorm := 2 / (melF[m+2] - melF[m])
		for k, f := range fftFreqs {
			lower := (f - melF[m]) / (melF[m+1] - melF[m])
			upper := (melF[m+2] - f) / (melF[m+2] - melF[m+1])
			v := math.Max(0, math.Min(lower, upper))
			out[m*nFFT+k] = float32(v * enorm)
		}
	}
	return out
}

// f32ToF16 converts to IEEE 754 half precision, rounding to nearest even.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 31:
		if b&0x7fffffff > 0x7f800000 {
			return sign | 0x7e00 // NaN
		}
		return sign | 0x7c00 // overflow -> Inf
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // a carry into the exponent is the correct rounding
	}
	return sign | uint16(half)
}
