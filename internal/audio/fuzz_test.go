package audio

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Seed corpora are in testdata/fuzz/<FuzzName>/: tiny files of each format
// made with sox, lame, opusenc and the WebM muxer in audio_test.go.

func fuzzDecode(t *testing.T, data []byte) {
	lim := Limits{MaxBytes: 1 << 20, MaxDuration: 20 * time.Second, FFmpegPath: "-"}
	x, err := DecodeAll(bytes.NewReader(data), "", lim)
	if err != nil {
		sentinels := []error{ErrEmpty, ErrUnsupported, ErrTooLarge, ErrTooLong, ErrCorrupt, ErrSilent}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	for i, v := range x {
		if v != v || v > 1 || v < -1 {
			t.Fatalf("sample %d is %v", i, v)
		}
	}
}

func FuzzDecodeWAV(f *testing.F)  { f.Fuzz(fuzzDecode) }
func FuzzDecodeMP3(f *testing.F)  { f.Fuzz(fuzzDecode) }
func FuzzDecodeOgg(f *testing.F)  { f.Fuzz(fuzzDecode) }
func FuzzDecodeWebM(f *testing.F) { f.Fuzz(fuzzDecode) }
