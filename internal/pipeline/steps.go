package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"dictum/internal/audio"
	"dictum/internal/config"
	"dictum/internal/dictation"
	"dictum/internal/store"
	"dictum/internal/transcribe"
)

// handle takes one recording through the pipeline: decode, transcribe, draft. A recording
// whose transcript was stored before a crash is only drafted again.
func (s *Service) handle(ctx context.Context, rec *store.Recording) error {
	if !rec.HasAudio() {
		return permanent{errors.New("the audio was deleted before transcription")}
	}
	if rec.Status == store.RecDrafting && rec.Transcript != nil { // crashed while drafting
		return s.draftEntry(ctx, rec, *rec.Transcript)
	}
	text, err := s.transcribe(ctx, rec)
	if err != nil {
		return err
	}
	return s.draftEntry(ctx, rec, text)
}

// transcribe decodes the recording's audio, transcribes it and stores the transcript.
func (s *Service) transcribe(ctx context.Context, rec *store.Recording) (string, error) {
	eng, err := s.Load()
	if err != nil {
		return "", err
	}
	s.setStatus(rec, store.RecTranscribing, "", 0)
	rc, err := s.Blobs.Open(*rec.BlobID)
	if err != nil {
		return "", fmt.Errorf("open audio: %w", err)
	}
	defer rc.Close()
	stream, err := audio.Open(rc, rec.ContentType, AudioLimits(s.Config))
	if err != nil {
		return "", permanent{fmt.Errorf("cannot decode the audio: %w", err)}
	}
	defer stream.Close()
	opts := transcribe.Options{Language: s.Config.Trans.Language, Threads: s.Config.Trans.Threads, InitialPrompt: s.prompt(ctx, rec.UserID),
		Duration: time.Duration(rec.DurationMs) * time.Millisecond}
	var lastPct int
	var mu sync.Mutex
	opts.Progress = func(pct int) {
		mu.Lock()
		defer mu.Unlock()
		if pct >= lastPct+5 || pct == 100 {
			lastPct = pct
			s.setStatus(rec, store.RecTranscribing, "", pct)
		}
	}
	var src transcribe.SampleReader = stream
	var vad *audio.VAD
	if s.Config.Trans.TrimSilence {
		vad = audio.NewVAD(stream, audio.VADOptions{})
		src = vad
	}
	res, err := transcribeStream(ctx, eng, src, opts)
	if err != nil {
		if errors.Is(err, audio.ErrCorrupt) || errors.Is(err, audio.ErrTooLong) || errors.Is(err, audio.ErrEmpty) || errors.Is(err, transcribe.ErrNoAudio) {
			return "", permanent{fmt.Errorf("cannot decode the audio: %w", err)}
		}
		return "", fmt.Errorf("transcription: %w", err)
	}
	if stream.Silent() {
		return "", permanent{errors.New("the recording is silent: nothing was said (check the microphone)")}
	}
	if vad != nil { // times of the original audio, which the lawyer plays back
		for i := range res.Segments {
			res.Segments[i].Start, res.Segments[i].End = vad.Map(res.Segments[i].Start), vad.Map(res.Segments[i].End)
		}
		kept := res.AudioSeconds
		res.AudioSeconds = float64(vad.InSamples()) / audio.SampleRate
		s.Log.Info("silence trimmed", "recording", rec.ID, "audio_s", res.AudioSeconds, "speech_s", kept)
	}
	segs, _ := json.Marshal(res.Segments)
	text := strings.TrimSpace(res.Text)
	if err := s.Store.SetTranscript(ctx, rec.ID, text, string(segs), int64(res.AudioSeconds*1000)); err != nil {
		return "", err // unwrapped: it becomes the recording's error text, which the API shows
	}
	s.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecDrafting, Progress: 100})
	s.Log.Info("transcribed", "recording", rec.ID, "audio_s", res.AudioSeconds, "wall_s", res.WallSeconds)
	return text, nil
}

// AudioLimits are the decoding limits a recording is held to (limits.max_upload_mb,
// limits.max_audio, transcribe.ffmpeg); `dictum transcribe` decodes files with them too.
func AudioLimits(cfg *config.Config) audio.Limits {
	return audio.Limits{MaxBytes: cfg.Limits.MaxUploadMB << 20, MaxDuration: cfg.Limits.MaxAudio.Duration, FFmpegPath: cfg.Trans.FFmpeg}
}

// transcribeStream streams the samples to engines that can read them window by window
// (*transcribe.Engine) and reads them all first for the others (test doubles).
func transcribeStream(ctx context.Context, eng transcribe.Transcriber, r transcribe.SampleReader, opts transcribe.Options) (transcribe.Result, error) {
	if rt, ok := eng.(interface {
		TranscribeReader(context.Context, transcribe.SampleReader, transcribe.Options) (transcribe.Result, error)
	}); ok {
		return rt.TranscribeReader(ctx, r, opts)
	}
	var samples []float32
	buf := make([]float32, 16000)
	for {
		n, err := r.Read(buf)
		samples = append(samples, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return eng.Transcribe(ctx, samples, opts)
		}
		if err != nil {
			return transcribe.Result{}, err
		}
	}
}

func (s *Service) prompt(ctx context.Context, userID int64) string {
	return s.dictations().Prompt(ctx, userID, s.Config.Trans.InitialPrompt)
}

// draftEntry turns the transcript into draft entries (several when the dictation holds a
// whole day, in spoken order) and finishes the recording.
func (s *Service) draftEntry(ctx context.Context, rec *store.Recording, text string) error {
	loc, err := s.Config.Location()
	if err != nil {
		loc = time.UTC
	}
	created, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
	if err != nil {
		created = time.Now()
	}
	ns, err := s.dictations().Drafts(ctx, rec.UserID, text, created.In(loc))
	if err != nil {
		return err
	}
	ids, err := s.Store.FinishRecordingEntries(ctx, rec.ID, ns)
	if err != nil {
		return fmt.Errorf("store draft: %w", err)
	}
	s.Notify(Progress{UserID: rec.UserID, RecordingID: rec.ID, Status: store.RecDone, Progress: 100, EntryID: ids[0]})
	return nil
}

// dictations is the drafting service over the pipeline's store, drafter and config.
func (s *Service) dictations() *dictation.Service {
	return dictation.New(s.Store, s.Drafter, s.Config, time.Now)
}
