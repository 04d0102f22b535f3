package transcribe

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// header writes magic, hparams, mel filters and nTok vocabulary tokens.
func header(hp HParams, magic uint32, nTok int32) []byte {
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	w(magic)
	w([]int32{hp.NVocab, hp.NAudioCtx, hp.NAudioState, hp.NAudioHead, hp.NAudioLayer, hp.NTextCtx, hp.NTextState, hp.NTextHead, hp.NTextLayer, hp.NMels, hp.FType})
	w(hp.NMels)
	w(int32(whisperNFFT))
	w(slaneyMelFilters(int(hp.NMels), whisperNFFT, 16000))
	w(nTok)
	for i := int32(0); i < nTok; i++ {
		w(int32(3))
		b.WriteString("tok")
	}
	return b.Bytes()
}

func TestVerifyGeneratedModels(t *testing.T) {
	for _, tc := range []struct{ dims, wtype string }{{"tiny.en", "f16"}, {"base.en", "f16"}, {"tiny.en-q8_0", "q8_0"}} {
		dims := tc.dims
		t.Run(dims, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GenerateTestModel(&buf, dims, 7); err != nil {
				t.Fatal(err)
			}
			info, err := inspectModel(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("generated %s does not verify: %v", dims, err)
			}
			arch, _, _ := strings.Cut(dims, ".")
			names, _ := expectedTensors(testDims[arch+".en"])
			if info.Arch != arch || !info.English || info.WeightType != tc.wtype || info.Tensors != len(names) || info.VocabTokens != gptTextTokens {
				t.Fatalf("info = %+v", info)
			}
			// A real ggml-<dims>.bin differs only in its vocabulary strings and weights.
			m, _ := Lookup(dims)
			if d := int64(buf.Len()) - m.Size; d < -100000 || d > 100000 {
				t.Errorf("generated size %d is %d bytes away from the real %s (%d)", buf.Len(), d, dims, m.Size)
			}
		})
	}
}

func TestGenerateTestModelDeterministic(t *testing.T) {
	sum := func(seed int64) string {
		h := sha256.New()
		if err := GenerateTestModel(h, "tiny.en", seed); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	data, err := os.ReadFile(testModel(t, "tiny.en")) // seed 1
	if err != nil {
		t.Fatal(err)
	}
	s1 := sha256.Sum256(data)
	if got := sum(1); got != hex.EncodeToString(s1[:]) {
		t.Error("the same seed gave a different file")
	}
	if got := sum(2); got == hex.EncodeToString(s1[:]) {
		t.Error("a different seed gave the same file")
	}
	if err := GenerateTestModel(io.Discard, "huge", 1); err == nil {
		t.Error("unknown dims accepted")
	}
}

func TestVerifyRejects(t *testing.T) {
	good, err := os.ReadFile(testModel(t, "tiny.en"))
	if err != nil {
		t.Fatal(err)
	}
	hp := testDims["tiny.en"]
	mod := func(f func(*HParams)) HParams { h := hp; f(&h); return h }
	withTensors := func(h []byte) []byte {
		// the generated model's tensors after its own header
		return append(h, good[len(header(hp, ggmlMagic, 0))+vocabBytes(good, hp):]...)
	}
	badShape := append([]byte(nil), good...)
	off := len(header(hp, ggmlMagic, 0)) + vocabBytes(good, hp) // first tensor header
	binary.LittleEndian.PutUint32(badShape[off+12:], 383)       // encoder.positional_embedding ne[0]

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "empty"},
		{"text file", []byte("model = base.en\nthis is not a model\n"), "bad magic"},
		{"gguf file", append([]byte("GGUF"), make([]byte, 64)...), "GGUF"},
		{"wrong magic", header(hp, 0x12345678, 10), "bad magic"},
		{"zero vocab", withTensors(header(hp, ggmlMagic, 0)), "vocabulary has 0 tokens"},
		{"negative vocab", header(hp, ggmlMagic, -5), "vocabulary has -5 tokens"},
		{"absurd n_vocab", header(mod(func(h *HParams) { h.NVocab = 1 << 30 }), ggmlMagic, 10), "n_vocab"},
		{"absurd layers", header(mod(func(h *HParams) { h.NAudioLayer = 100000 }), ggmlMagic, 10), "n_audio_layer"},
		{"absurd mels", header(mod(func(h *HParams) { h.NMels = 7 }), ggmlMagic, 10), "n_mels"},
		{"heads do not divide state", header(mod(func(h *HParams) { h.NTextHead = 7 }), ggmlMagic, 10), "n_text_head"},
		{"unknown ftype", header(mod(func(h *HParams) { h.FType = 5 }), ggmlMagic, 10), "ftype"},
		{"audio ctx", header(mod(func(h *HParams) { h.NAudioCtx = 3000 }), ggmlMagic, 10), "n_audio_ctx"},
		{"header only", good[:40], "truncated"},
		{"no tensors", header(hp, ggmlMagic, 10), "no tensors"},
		{"truncated tensors", good[:len(good)-1000], "truncated"},
		{"one tensor missing", good[:len(good)-(4*3+4+len("decoder.ln.bias")+4*384)], "missing \"decoder.ln.bias\""},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3), "stray bytes"},
		{"wrong tensor shape", badShape, "has shape"},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "m"+string(rune('a'+i))+".bin")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(p)
			if !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("err = %v, want ErrInvalidModel", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// vocabBytes is the size of the vocabulary entries (after the count) in a generated model.
func vocabBytes(model []byte, hp HParams) int {
	off := len(header(hp, ggmlMagic, 0)) // ends with the token count
	n := int(binary.LittleEndian.Uint32(model[off-4:]))
	p := off
	for i := 0; i < n; i++ {
		p += 4 + int(binary.LittleEndian.Uint32(model[p:]))
	}
	return p - off
}

func TestVerifyCatalogueChecksum(t *testing.T) {
	good, err := os.ReadFile(testModel(t, "tiny.en"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A valid model under a catalogue file name must be that exact file.
	p := filepath.Join(dir, "ggml-tiny.en.bin")
	if err := os.WriteFile(p, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(p); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Verify(%s) = %v, want ErrChecksum", p, err)
	}
	// The same bytes under another name verify (structure only) and say so.
	q := filepath.Join(dir, "custom.bin")
	if err := os.WriteFile(q, good, 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := Verify(q)
	if err != nil {
		t.Fatal(err)
	}
	if info.ChecksumOK || info.ChecksumNote == "" {
		t.Fatalf("info = %+v", info)
	}
}

func TestF32ToF16(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {1e6, 0x7c00},
		{0.02, 0x251f}, {5.960464477539063e-08, 0x0001}, {6.103515625e-05, 0x0400}, {1e-9, 0x0000},
	}
	for _, tc := range tests {
		if got := f32ToF16(tc.in); got != tc.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}
