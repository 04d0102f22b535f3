package transcribe

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ggmlMagic is the first little-endian uint32 of a legacy ggml whisper file ("ggml").
const ggmlMagic = 0x67676d6c

// ErrInvalidModel wraps every structural problem Verify finds in a model file.
var ErrInvalidModel = errors.New("invalid whisper model file")

// HParams are the 11 int32 hyperparameters at the start of a ggml whisper file.
type HParams struct {
	NVocab      int32
	NAudioCtx   int32
	NAudioState int32
	NAudioHead  int32
	NAudioLayer int32
	NTextCtx    int32
	NTextState  int32
	NTextHead   int32
	NTextLayer  int32
	NMels       int32
	FType       int32 // as stored: quantisation version * 1000 + ggml ftype
}

// Info is what Verify learned about a model file without loading it.
type Info struct {
	Path         string
	Size         int64
	HParams      HParams
	Arch         string // "tiny", "base", "small", "medium", "large", "large-v3", "large-v3-turbo" or "custom"
	English      bool   // English-only vocabulary (n_vocab 51864)
	WeightType   string // type of the large matrices: "f32", "f16", "q5_0", "q5_1", "q8_0", ...
	VocabTokens  int    // tokens stored in the file (whisper.cpp adds the special tokens)
	Tensors      int
	Catalogue    string // catalogue name the file is checked against ("" if none)
	SHA256       string // hex digest, set when the checksum was computed
	ChecksumOK   bool   // the file matches the catalogue entry's pinned digests
	ChecksumNote string // why no checksum was checked, when it was not
}

// ggmlType describes how a ggml tensor type stores elements: blck elements in size bytes.
type ggmlType struct {
	name string
	blck int64
	size int64
}

var ggmlTypes = map[int32]ggmlType{
	0:  {"f32", 1, 4},
	1:  {"f16", 1, 2},
	2:  {"q4_0", 32, 18},
	3:  {"q4_1", 32, 20},
	6:  {"q5_0", 32, 22},
	7:  {"q5_1", 32, 24},
	8:  {"q8_0", 32, 34},
	10: {"q2_k", 256, 84},
	11: {"q3_k", 256, 110},
	12: {"q4_k", 256, 144},
	13: {"q5_k", 256, 176},
	14: {"q6_k", 256, 210},
	30: {"bf16", 1, 2},
}

// ftypeToType mirrors ggml_ftype_to_ggml_type for the file types whisper models use.
var ftypeToType = map[int32]int32{0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 7: 8, 8: 6, 9: 7, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14, 24: 30}

const (
	ggmlQntVersionFactor = 1000
	ggmlQntVersionMax    = 2
	whisperNFFT          = 201 // 1 + WHISPER_N_FFT/2
	maxTokenBytes        = 1024
	maxTensorName        = 256
)

// tensorSpec is the shape and type class whisper.cpp expects for one tensor.
type tensorSpec struct {
	ne   [3]int64
	dims int
	kind byte // 'w' big matrix (model type), 'v' conv weight (f16 unless f32 model), 'f' always f32
}

// expectedTensors lists every tensor whisper.cpp's loader creates for hp, in the
// order the reference converter writes them.
func expectedTensors(hp HParams) ([]string, map[string]tensorSpec) {
	var names []string
	specs := map[string]tensorSpec{}
	add := func(name string, kind byte, ne ...int64) {
		s := tensorSpec{ne: [3]int64{1, 1, 1}, dims: len(ne), kind: kind}
		copy(s.ne[:], ne)
		names = append(names, name)
		specs[name] = s
	}
	as, ts := int64(hp.NAudioState), int64(hp.NTextState)
	add("encoder.positional_embedding", 'f', as, int64(hp.NAudioCtx))
	add("encoder.conv1.weight", 'v', 3, int64(hp.NMels), as)
	add("encoder.conv1.bias", 'f', 1, as)
	add("encoder.conv2.weight", 'v', 3, as, as)
	add("encoder.conv2.bias", 'f', 1, as)
	for i := 0; i < int(hp.NAudioLayer); i++ {
		p := fmt.Sprintf("encoder.blocks.%d.", i)
		add(p+"attn.query.weight", 'w', as, as)
		add(p+"attn.query.bias", 'f', as)
		add(p+"attn.key.weight", 'w', as, as)
		add(p+"attn.value.weight", 'w', as, as)
		add(p+"attn.value.bias", 'f', as)
		add(p+"attn.out.weight", 'w', as, as)
		add(p+"attn.out.bias", 'f', as)
		add(p+"attn_ln.weight", 'f', as)
		add(p+"attn_ln.bias", 'f', as)
		add(p+"mlp.0.weight", 'w', as, 4*as)
		add(p+"mlp.0.bias", 'f', 4*as)
		add(p+"mlp.2.weight", 'w', 4*as, as)
		add(p+"mlp.2.bias", 'f', as)
		add(p+"mlp_ln.weight", 'f', as)
		add(p+"mlp_ln.bias", 'f', as)
	}
	add("encoder.ln_post.weight", 'f', as)
	add("encoder.ln_post.bias", 'f', as)
	add("decoder.positional_embedding", 'f', ts, int64(hp.NTextCtx))
	add("decoder.token_embedding.weight", 'w', ts, int64(hp.NVocab))
	for i := 0; i < int(hp.NTextLayer); i++ {
		p := fmt.Sprintf("decoder.blocks.%d.", i)
		for _, a := range []string{"attn", "cross_attn"} {
			add(p+a+".query.weight", 'w', ts, ts)
			add(p+a+".query.bias", 'f', ts)
			add(p+a+".key.weight", 'w', ts, ts)
			add(p+a+".value.weight", 'w', ts, ts)
			add(p+a+".value.bias", 'f', ts)
			add(p+a+".out.weight", 'w', ts, ts)
			add(p+a+".out.bias", 'f', ts)
			add(p+a+"_ln.weight", 'f', ts)
			add(p+a+"_ln.bias", 'f', ts)
		}
		add(p+"mlp.0.weight", 'w', ts, 4*ts)
		add(p+"mlp.0.bias", 'f', 4*ts)
		add(p+"mlp.2.weight", 'w', 4*ts, ts)
		add(p+"mlp.2.bias", 'f', ts)
		add(p+"mlp_ln.weight", 'f', ts)
		add(p+"mlp_ln.bias", 'f', ts)
	}
	add("decoder.ln.weight", 'f', ts)
	add("decoder.ln.bias", 'f', ts)
	return names, specs
}

// tensorType is the ggml type whisper.cpp allocates for a tensor of this kind.
func tensorType(kind byte, wtype int32) int32 {
	switch kind {
	case 'w':
		return wtype
	case 'v':
		if wtype == 0 {
			return 0
		}
		return 1
	default:
		return 0
	}
}

// Verify checks that path is a complete, loadable ggml whisper model without
// loading it into whisper.cpp (whose loader aborts the process on some bad
// inputs): magic, hyperparameters in the ranges whisper.cpp supports, mel
// filters, a non-empty vocabulary, every tensor's name, shape and type, and
// that the file is exactly as long as its tensors say. If the file name is a
// catalogue file name (ggml-base.en.bin, ...), the size and the pinned
// checksums are verified too (this reads the whole file).
func Verify(path string) (Info, error) {
	info, err := verifyFile(path)
	if err != nil {
		return info, err
	}
	m, ok := catalogueByFile(filepath.Base(path))
	if !ok {
		info.ChecksumNote = "not a catalogue file name: structure verified, no pinned checksum applies"
		return info, nil
	}
	if err := verifyChecksum(path, m, &info); err != nil {
		return info, err
	}
	return info, nil
}

// verifyFile is Verify without the checksum.
func verifyFile(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{Path: path}, fmt.Errorf("verify model: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{Path: path}, fmt.Errorf("verify model: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Info{Path: path}, fmt.Errorf("%w: %s is not a regular file", ErrInvalidModel, path)
	}
	info, err := inspectModel(f, st.Size())
	info.Path = path
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// verifyChecksum hashes path and compares it with the catalogue entry m.
func verifyChecksum(path string, m Model, info *Info) error {
	info.Catalogue = m.Name
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checksum %s: %w", path, err)
	}
	if m.Size > 0 && st.Size() != m.Size {
		return fmt.Errorf("%w: %s is %d bytes, catalogue model %s is %d bytes", ErrChecksum, path, st.Size(), m.Name, m.Size)
	}
	s1, s256, err := hashFile(path)
	if err != nil {
		return err
	}
	info.SHA256 = s256
	if err := compareDigests(m, s1, s256); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	info.ChecksumOK = true
	return nil
}

func compareDigests(m Model, s1, s256 string) error {
	if m.SHA256 != "" && !strings.EqualFold(s256, m.SHA256) {
		return fmt.Errorf("%w for %s: sha256 %s, want %s", ErrChecksum, m.Name, s256, m.SHA256)
	}
	if m.SHA1 != "" && !strings.EqualFold(s1, m.SHA1) {
		return fmt.Errorf("%w for %s: sha1 %s, want %s", ErrChecksum, m.Name, s1, m.SHA1)
	}
	if m.SHA1 == "" && m.SHA256 == "" {
		return fmt.Errorf("%w for %s: catalogue entry has no digest", ErrChecksum, m.Name)
	}
	return nil
}

func hashFile(path string) (sha1hex, sha256hex string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h1, h256 := sha1.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(h1, h256), f); err != nil {
		return "", "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h1.Sum(nil)), hex.EncodeToString(h256.Sum(nil)), nil
}

// modelReader reads the file sequentially, skipping tensor data with Seek.
type modelReader struct {
	f    io.ReadSeeker
	br   *bufio.Reader
	off  int64
	size int64
	buf  [4]byte
}

func (r *modelReader) need(n int64, what string) error {
	if n < 0 || r.off+n > r.size {
		return fmt.Errorf("%w: file is truncated: %s needs %d bytes at offset %d, file has %d", ErrInvalidModel, what, n, r.off, r.size)
	}
	return nil
}

func (r *modelReader) read(p []byte, what string) error {
	if err := r.need(int64(len(p)), what); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.br, p); err != nil {
		return fmt.Errorf("read %s at offset %d: %w", what, r.off, err)
	}
	r.off += int64(len(p))
	return nil
}

func (r *modelReader) i32(what string) (int32, error) {
	if err := r.read(r.buf[:], what); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(r.buf[:])), nil
}

func (r *modelReader) skip(n int64, what string) error {
	if err := r.need(n, what); err != nil {
		return err
	}
	if n <= int64(r.br.Buffered()) {
		if _, err := r.br.Discard(int(n)); err != nil {
			return fmt.Errorf("skip %s: %w", what, err)
		}
	} else {
		if _, err := r.f.Seek(r.off+n, io.SeekStart); err != nil {
			return fmt.Errorf("skip %s: %w", what, err)
		}
		r.br.Reset(r.f)
	}
	r.off += n
	return nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidModel}, a...)...)
}

// inspectModel parses a whole model from f (size bytes long).
func inspectModel(f io.ReadSeeker, size int64) (Info, error) {
	info := Info{Size: size}
	if size == 0 {
		return info, invalid("file is empty")
	}
	r := &modelReader{f: f, br: bufio.NewReaderSize(f, 1<<16), size: size}
	if size < 4 {
		return info, invalid("file is %d bytes, too short for a ggml header", size)
	}
	magic, err := r.i32("magic")
	if err != nil {
		return info, err
	}
	if uint32(magic) != ggmlMagic {
		return info, invalid("bad magic 0x%08x (want 0x%08x \"ggml\"): not a ggml whisper model%s", uint32(magic), ggmlMagic, magicHint(uint32(magic)))
	}
	hp := &info.HParams
	for _, p := range []struct {
		v    *int32
		name string
	}{{&hp.NVocab, "n_vocab"}, {&hp.NAudioCtx, "n_audio_ctx"}, {&hp.NAudioState, "n_audio_state"}, {&hp.NAudioHead, "n_audio_head"},
		{&hp.NAudioLayer, "n_audio_layer"}, {&hp.NTextCtx, "n_text_ctx"}, {&hp.NTextState, "n_text_state"}, {&hp.NTextHead, "n_text_head"},
		{&hp.NTextLayer, "n_text_layer"}, {&hp.NMels, "n_mels"}, {&hp.FType, "ftype"}} {
		if *p.v, err = r.i32(p.name); err != nil {
			return info, err
		}
	}
	wtype, err := checkHParams(*hp)
	if err != nil {
		return info, err
	}
	info.WeightType = ggmlTypes[wtype].name
	info.English = hp.NVocab == 51864
	info.Arch = archName(*hp)

	// mel filters
	nMel, err := r.i32("mel filter count")
	if err != nil {
		return info, err
	}
	nFFT, err := r.i32("mel filter size")
	if err != nil {
		return info, err
	}
	if nMel != hp.NMels || nFFT != whisperNFFT {
		return info, invalid("mel filters are %dx%d, want %dx%d", nMel, nFFT, hp.NMels, whisperNFFT)
	}
	filt := make([]byte, 4*int(nMel)*int(nFFT))
	if err := r.read(filt, "mel filters"); err != nil {
		return info, err
	}
	for i := 0; i < len(filt); i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(filt[i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
			return info, invalid("mel filter value %d is %v", i/4, v)
		}
	}

	// vocabulary
	nTok, err := r.i32("vocabulary size")
	if err != nil {
		return info, err
	}
	if nTok <= 0 {
		return info, invalid("vocabulary has %d tokens (whisper.cpp aborts on an empty vocabulary)", nTok)
	}
	if nTok > hp.NVocab {
		return info, invalid("vocabulary has %d tokens, more than n_vocab %d", nTok, hp.NVocab)
	}
	for i := int32(0); i < nTok; i++ {
		l, err := r.i32("token length")
		if err != nil {
			return info, err
		}
		if l < 0 || l > maxTokenBytes {
			return info, invalid("token %d has length %d", i, uint32(l))
		}
		if err := r.skip(int64(l), "token"); err != nil {
			return info, err
		}
	}
	info.VocabTokens = int(nTok)

	// tensors
	_, specs := expectedTensors(*hp)
	seen := make(map[string]bool, len(specs))
	var name []byte
	for r.off < size {
		if size-r.off < 12 {
			return info, invalid("%d stray bytes after the last tensor at offset %d", size-r.off, r.off)
		}
		nDims, _ := r.i32("tensor header")
		nameLen, _ := r.i32("tensor header")
		ttype, _ := r.i32("tensor header")
		if nDims < 1 || nDims > 3 {
			return info, invalid("tensor %d at offset %d has %d dimensions", len(seen), r.off-12, nDims)
		}
		if nameLen < 1 || nameLen > maxTensorName {
			return info, invalid("tensor %d at offset %d has a name of %d bytes", len(seen), r.off-12, nameLen)
		}
		tt, ok := ggmlTypes[ttype]
		if !ok {
			return info, invalid("tensor %d at offset %d has unknown type %d", len(seen), r.off-12, ttype)
		}
		ne := [3]int64{1, 1, 1}
		for d := 0; d < int(nDims); d++ {
			v, err := r.i32("tensor shape")
			if err != nil {
				return info, err
			}
			if v < 1 {
				return info, invalid("tensor %d has dimension %d = %d", len(seen), d, v)
			}
			ne[d] = int64(v)
		}
		name = append(name[:0], make([]byte, nameLen)...)
		if err := r.read(name, "tensor name"); err != nil {
			return info, err
		}
		n := string(name)
		spec, ok := specs[n]
		if !ok {
			return info, invalid("unknown tensor %q", n)
		}
		if seen[n] {
			return info, invalid("tensor %q appears twice", n)
		}
		if ne != spec.ne {
			return info, invalid("tensor %q has shape %v, want %v", n, ne, spec.ne)
		}
		want := ggmlTypes[tensorType(spec.kind, wtype)]
		nel := ne[0] * ne[1] * ne[2]
		if ne[0]%want.blck != 0 {
			return info, invalid("tensor %q: row of %d elements is not a whole number of %s blocks", n, ne[0], want.name)
		}
		nbytes := ne[0] / want.blck * want.size * ne[1] * ne[2]
		// whisper.cpp's own check: (nelements*type_size(file type))/blck_size(tensor type) == nbytes
		if nel*tt.size/want.blck != nbytes {
			return info, invalid("tensor %q is stored as %s, whisper.cpp expects %s", n, tt.name, want.name)
		}
		if err := r.skip(nbytes, fmt.Sprintf("data of tensor %q", n)); err != nil {
			return info, err
		}
		seen[n] = true
	}
	info.Tensors = len(seen)
	if len(seen) == 0 {
		return info, invalid("the file has no tensors (whisper.cpp would load it as an empty test model that cannot transcribe)")
	}
	if len(seen) != len(specs) {
		for _, n := range sortedKeys(specs) {
			if !seen[n] {
				return info, invalid("%d of %d tensors present; missing %q", len(seen), len(specs), n)
			}
		}
	}
	return info, nil
}

func sortedKeys(m map[string]tensorSpec) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func magicHint(m uint32) string {
	switch m {
	case 0x46554747: // "GGUF"
		return " (this is a GGUF file, e.g. an LLM; whisper.cpp needs the legacy ggml whisper format)"
	case 0x04034b50:
		return " (this is a ZIP archive; PyTorch .pt checkpoints must be converted with whisper.cpp's convert-pt-to-ggml.py)"
	}
	return ""
}

// checkHParams rejects hyperparameters whisper.cpp cannot run (several of
// them trip asserts or huge allocations inside the C++ loader) and returns the
// ggml type of the big matrices.
func checkHParams(hp HParams) (int32, error) {
	switch hp.NVocab {
	case 51864, 51865, 51866:
	default:
		return 0, invalid("n_vocab %d is not a whisper vocabulary (51864 English-only, 51865 multilingual, 51866 large-v3)", hp.NVocab)
	}
	if hp.NAudioCtx != 1500 {
		return 0, invalid("n_audio_ctx %d, whisper.cpp needs 1500 (30 s windows)", hp.NAudioCtx)
	}
	if hp.NTextCtx < 1 || hp.NTextCtx > 448 {
		return 0, invalid("n_text_ctx %d out of range 1..448", hp.NTextCtx)
	}
	if hp.NAudioState != hp.NTextState {
		return 0, invalid("n_audio_state %d != n_text_state %d", hp.NAudioState, hp.NTextState)
	}
	for _, c := range []struct {
		name         string
		state, heads int32
	}{{"audio", hp.NAudioState, hp.NAudioHead}, {"text", hp.NTextState, hp.NTextHead}} {
		if c.state < 64 || c.state > 4096 {
			return 0, invalid("n_%s_state %d out of range 64..4096", c.name, c.state)
		}
		if c.heads < 1 || c.heads > 64 || c.state%c.heads != 0 {
			return 0, invalid("n_%s_head %d does not divide n_%s_state %d", c.name, c.heads, c.name, c.state)
		}
	}
	if hp.NAudioLayer < 1 || hp.NAudioLayer > 64 {
		return 0, invalid("n_audio_layer %d out of range 1..64", hp.NAudioLayer)
	}
	if hp.NTextLayer < 1 || hp.NTextLayer > 64 {
		return 0, invalid("n_text_layer %d out of range 1..64", hp.NTextLayer)
	}
	if hp.NMels != 80 && hp.NMels != 128 {
		return 0, invalid("n_mels %d (want 80, or 128 for large-v3)", hp.NMels)
	}
	if hp.FType < 0 || hp.FType/ggmlQntVersionFactor > ggmlQntVersionMax {
		return 0, invalid("ftype %d out of range", hp.FType)
	}
	wtype, ok := ftypeToType[hp.FType%ggmlQntVersionFactor]
	if !ok {
		return 0, invalid("ftype %d is not supported", hp.FType%ggmlQntVersionFactor)
	}
	return wtype, nil
}

func archName(hp HParams) string {
	switch {
	case hp.NAudioLayer == 4 && hp.NAudioState == 384:
		return "tiny"
	case hp.NAudioLayer == 6 && hp.NAudioState == 512:
		return "base"
	case hp.NAudioLayer == 12 && hp.NAudioState == 768:
		return "small"
	case hp.NAudioLayer == 24 && hp.NAudioState == 1024:
		return "medium"
	case hp.NAudioLayer == 32 && hp.NAudioState == 1280 && hp.NVocab == 51866 && hp.NTextLayer == 4:
		return "large-v3-turbo"
	case hp.NAudioLayer == 32 && hp.NAudioState == 1280 && hp.NVocab == 51866:
		return "large-v3"
	case hp.NAudioLayer == 32 && hp.NAudioState == 1280:
		return "large"
	}
	return "custom"
}
