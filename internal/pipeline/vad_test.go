package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/transcribe"
)

// spanEngine answers one segment over all the samples it was given.
type spanEngine struct {
	mu      sync.Mutex
	samples int
}

func (e *spanEngine) Transcribe(ctx context.Context, samples []float32, opts transcribe.Options) (transcribe.Result, error) {
	e.mu.Lock()
	e.samples = len(samples)
	e.mu.Unlock()
	d := time.Duration(len(samples)) * time.Second / transcribe.SampleRate
	return transcribe.Result{Text: "Point three on Smith versus Jones.", Segments: []transcribe.Segment{{Start: 0, End: d, Text: "x"}},
		AudioSeconds: d.Seconds()}, nil
}

// uploadSamples stores a recording of these samples and queues it.
func (w *queueWorld) uploadSamples(t *testing.T, samples []float32) string {
	t.Helper()
	var b bytes.Buffer
	audio.EncodeWAV16(&b, samples)
	bw, err := w.Blobs.Create()
	if err != nil {
		t.Fatal(err)
	}
	bw.Write(b.Bytes())
	id, size, err := bw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Recording{UserID: w.user.ID, BlobID: &id, ContentType: "audio/wav", Format: "wav", SizeBytes: size,
		DurationMs: int64(len(samples)) * 1000 / audio.SampleRate}
	if err := w.Store.CreateRecording(context.Background(), identity.Actor{}, r, 3); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// pausedDictation: 3 s of room noise, 1 s of speech, a 4 s pause, 1 s of speech, 2 s of noise.
func pausedDictation() []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	var s []float32
	for _, p := range []struct {
		speech bool
		secs   float64
	}{{false, 3}, {true, 1}, {false, 4}, {true, 1}, {false, 2}} {
		for i := 0; i < int(p.secs*audio.SampleRate); i++ {
			x := 0.002 * (rng.Float64()*2 - 1)
			if p.speech {
				x += 0.3 * math.Sin(2*math.Pi*200*float64(i)/audio.SampleRate)
			}
			s = append(s, float32(x))
		}
	}
	return s
}

// Silence is trimmed before whisper (it gets the speech and the kept edges), and the
// stored segments keep the times of the original audio.
func TestQueueTrimsSilenceBeforeWhisper(t *testing.T) {
	for _, trim := range []bool{true, false} {
		eng := &spanEngine{}
		w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
		w.Config.Trans.TrimSilence = trim
		id := w.uploadSamples(t, pausedDictation())
		if !w.step(t) {
			t.Fatal("no job")
		}
		r := w.rec(t, id)
		if r.Status != store.RecDone || r.Segments == nil {
			t.Fatalf("trim=%v: recording %+v", trim, r)
		}
		var segs []transcribe.Segment
		if err := json.Unmarshal([]byte(*r.Segments), &segs); err != nil || len(segs) != 1 {
			t.Fatalf("segments %s: %v", *r.Segments, err)
		}
		got := float64(eng.samples) / audio.SampleRate
		if !trim {
			if got != 11 || segs[0].Start != 0 || segs[0].End != 11*time.Second || r.DurationMs != 11000 {
				t.Errorf("untrimmed: whisper got %.2f s, segment %v-%v, duration %d ms", got, segs[0].Start, segs[0].End, r.DurationMs)
			}
			continue
		}
		// 0.2 kept + 1 speech + 0.2 hang-over + 0.2 + 0.2 kept + 1 speech + 0.2 hang-over + 0.2 kept
		if math.Abs(got-3.2) > 0.1 {
			t.Errorf("whisper got %.2f s of 11 s, want about 3.2", got)
		}
		if d := segs[0].Start - 2800*time.Millisecond; d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("segment start %v, want 2.8 s of the original audio", segs[0].Start)
		}
		if d := segs[0].End - 9400*time.Millisecond; d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("segment end %v, want 9.4 s of the original audio", segs[0].End)
		}
		if r.DurationMs != 11000 {
			t.Errorf("duration %d ms, want the original 11000", r.DurationMs)
		}
	}
}
