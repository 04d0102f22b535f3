//go:build ignore

// Writes a tiny random-weight llama GGUF (one block, 64-wide, a byte-level BPE
// vocabulary of the 256 bytes) that a real Ollama server loads and samples from:
// its answers are gibberish, but Ollama's schema-constrained sampling must still turn
// them into JSON of the requested shape. Used by scripts/test-ollama.sh only; it is
// built in Ollama's own module (it imports github.com/ollama/ollama/fs/ggml).
//
//	go run main.go OUT.gguf
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
)

type f32 struct {
	n    int
	seed uint64
	one  bool // norms: all ones
}

func (t f32) WriteTo(w io.Writer) (int64, error) {
	rng := rand.New(rand.NewPCG(t.seed, 7))
	buf := make([]float32, t.n)
	for i := range buf {
		if t.one {
			buf[i] = 1
		} else {
			buf[i] = float32(rng.NormFloat64() * 0.02)
		}
	}
	if err := binary.Write(w, binary.LittleEndian, buf); err != nil {
		return 0, err
	}
	return int64(4 * t.n), nil
}

// byteTokens is GPT-2's byte-to-unicode table: every byte is one printable rune.
func byteTokens() []string {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	cs := append([]int(nil), bs...)
	n := 0
	for b := 0; b < 256; b++ {
		found := false
		for _, x := range bs {
			if x == b {
				found = true
				break
			}
		}
		if !found {
			bs = append(bs, b)
			cs = append(cs, 256+n)
			n++
		}
	}
	tok := make([]string, 256)
	for i, b := range bs {
		tok[b] = string(rune(cs[i]))
	}
	return tok
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go OUT.gguf")
		os.Exit(2)
	}
	const embd, heads, ff, ctx = 64, 4, 128, 4096
	tokens := append(byteTokens(), "Ġt", "<s>", "</s>")
	types := make([]int32, len(tokens))
	for i := range types {
		types[i] = 1
	}
	bos, eos := len(tokens)-2, len(tokens)-1
	types[bos], types[eos] = 3, 3
	vocab := uint64(len(tokens))
	kv := ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           "dictum-test",
		"llama.context_length":                   uint32(ctx),
		"llama.embedding_length":                 uint32(embd),
		"llama.block_count":                      uint32(1),
		"llama.feed_forward_length":              uint32(ff),
		"llama.attention.head_count":             uint32(heads),
		"llama.attention.head_count_kv":          uint32(heads),
		"llama.attention.key_length":             uint32(embd / heads),
		"llama.attention.value_length":           uint32(embd / heads),
		"llama.rope.dimension_count":             uint32(embd / heads),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.vocab_size":                       uint32(vocab),
		"tokenizer.ggml.model":                   "gpt2",
		"tokenizer.ggml.pre":                     "default",
		"tokenizer.ggml.tokens":                  tokens,
		"tokenizer.ggml.token_type":              types,
		"tokenizer.ggml.merges":                  []string{"Ġ t"},
		"tokenizer.ggml.bos_token_id":            uint32(bos),
		"tokenizer.ggml.eos_token_id":            uint32(eos),
		"tokenizer.ggml.add_bos_token":           false,
	}
	seed := uint64(1)
	t := func(name string, shape ...uint64) *ggml.Tensor {
		n := uint64(1)
		for _, s := range shape {
			n *= s
		}
		seed++
		return &ggml.Tensor{Name: name, Kind: uint32(ggml.TensorTypeF32), Shape: shape, WriterTo: f32{n: int(n), seed: seed, one: len(shape) == 1}}
	}
	ts := []*ggml.Tensor{
		t("token_embd.weight", embd, vocab),
		t("blk.0.attn_norm.weight", embd),
		t("blk.0.attn_q.weight", embd, embd),
		t("blk.0.attn_k.weight", embd, embd),
		t("blk.0.attn_v.weight", embd, embd),
		t("blk.0.attn_output.weight", embd, embd),
		t("blk.0.ffn_norm.weight", embd),
		t("blk.0.ffn_gate.weight", embd, ff),
		t("blk.0.ffn_up.weight", embd, ff),
		t("blk.0.ffn_down.weight", ff, embd),
		t("output_norm.weight", embd),
		t("output.weight", embd, vocab),
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		fmt.Fprintln(os.Stderr, "write gguf:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
