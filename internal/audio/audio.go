// Package audio decodes uploaded and recorded audio into what whisper.cpp
// needs: 16 kHz mono float32 PCM.
//
// Decoding streams: memory does not grow with the length of the input.
// WAV, MP3, WebM/Opus (Matroska/Opus too) and Ogg/Opus are decoded in pure
// Go. Other containers that are recognised by their magic bytes (M4A/MP4,
// AAC ADTS, FLAC, Ogg/Vorbis, WebM/Vorbis, AMR, CAF, AIFF, compressed WAV
// codecs) are piped through ffmpeg when it is installed; the audio goes to
// ffmpeg's stdin and PCM comes back on its stdout, nothing touches disk.
//
// The format is always taken from the bytes, never from the Content-Type:
// browsers and phones send generic or wrong types (application/octet-stream,
// audio/mpeg for M4A, ...). A disagreeing Content-Type is not an error; the
// sniffed format wins and Stream.Mismatch describes the disagreement so a
// caller can log it. Bytes that match no known format are rejected with
// ErrUnsupported, whatever the Content-Type says, and are never handed to
// ffmpeg.
//
// Truncated input (a WAV data chunk, Ogg page or MP3 frame cut off by the
// end of the file) is not an error: the decodable part is returned, because
// a cut-off dictation is still worth transcribing. Stream.Truncated reports
// it for WAV, Ogg and WebM; the MP3 decoder cannot tell a cut-off last frame
// from the end. Bytes that do not parse are ErrCorrupt.
//
// Limits are enforced while streaming: ErrTooLarge as soon as more than
// MaxBytes have been read from the input (never more than MaxBytes+1 bytes
// are consumed), ErrTooLong as soon as the decoded audio would exceed
// MaxDuration.
//
// Errors are sentinel values wrapped with detail; test them with errors.Is.
// HTTP callers map ErrUnsupported to 415, ErrTooLarge and ErrTooLong to 413,
// ErrEmpty, ErrCorrupt and ErrSilent to 422.
package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strings"
	"time"
)

// SampleRate is the output sample rate of every Stream, in Hz.
const SampleRate = 16000

// SilenceThreshold is the absolute sample value (about -60 dBFS) below which
// all samples of a recording must stay for it to count as silent.
const SilenceThreshold = 0.001

// Defaults applied to zero fields of Limits.
const (
	DefaultMaxBytes    int64         = 200 << 20
	DefaultMaxDuration time.Duration = 2 * time.Hour
)

// Format names the decoder used for a stream.
type Format string

// Formats reported by Stream.Format.
const (
	FormatWAV    Format = "wav"
	FormatMP3    Format = "mp3"
	FormatWebM   Format = "webm" // WebM or Matroska with an Opus track
	FormatOgg    Format = "ogg"  // Ogg with an Opus stream
	FormatFFmpeg Format = "ffmpeg"
)

// Limits bound what a Stream will read and produce. Zero fields take the
// defaults; a negative MaxBytes or MaxDuration means no limit.
type Limits struct {
	MaxBytes    int64         // input bytes, default 200 MB
	MaxDuration time.Duration // decoded audio, default 2 h
	// FFmpegPath is the ffmpeg binary for formats without a pure-Go decoder.
	// "" looks "ffmpeg" up on PATH; "-" disables ffmpeg.
	FFmpegPath string
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDuration == 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	return l
}

// Sentinel errors. Returned errors wrap one of them with detail.
var (
	ErrEmpty       = errors.New("audio: empty, no audio samples")
	ErrUnsupported = errors.New("audio: unsupported format")
	ErrTooLarge    = errors.New("audio: file too large")
	ErrTooLong     = errors.New("audio: recording too long")
	ErrCorrupt     = errors.New("audio: corrupt or invalid data")
	ErrSilent      = errors.New("audio: recording is silent")
)

// AcceptedFormats lists the accepted formats for error messages (HTTP 415).
func AcceptedFormats() string {
	return "WAV (PCM 8/16/24/32-bit, float, µ-law, A-law), MP3, WebM/Opus, Ogg/Opus " +
		"(M4A/AAC, FLAC, Ogg/Vorbis and others need ffmpeg on the server)"
}

// IsSilent reports whether every sample is below SilenceThreshold in
// magnitude. An empty slice is silent.
func IsSilent(samples []float32) bool {
	return peak(samples, 0) < SilenceThreshold
}

func peak(samples []float32, p float32) float32 {
	for _, v := range samples {
		if v < 0 {
			v = -v
		}
		if v > p {
			p = v
		}
	}
	return p
}

// source produces mono float32 samples at its native rate.
type source interface {
	read(p []float32) (int, error)
	rate() int
	close() error
}

// errTruncated is returned by a source whose input ended in the middle of
// its declared data. The Stream ends normally and records Truncated.
var errTruncated = errors.New("input ends before the declared end of the audio data")

// Stream decodes one input to 16 kHz mono float32. It is not safe for
// concurrent use.
type Stream struct {
	format     Format
	src        source // 16 kHz after resampling
	lim        *limitReader
	maxSamples int64 // < 0: unlimited
	maxDur     time.Duration
	produced   int64
	peak       float32
	truncated  bool
	mismatch   string
	err        error // sticky
	closed     bool
}

// Open sniffs the format of r and prepares decoding. It reads only the head
// of r (headers, the first frame) before returning. contentType is only used
// to describe a disagreement (see Mismatch); the bytes decide the format.
// The caller must Close the Stream.
func Open(r io.Reader, contentType string, lim Limits) (*Stream, error) {
	lim = lim.withDefaults()
	lr := &limitReader{r: r, max: lim.MaxBytes}
	br := bufio.NewReaderSize(lr, headSize)
	// Sniff the first 512 bytes; only if the answer depends on bytes further
	// on (a WAV fmt chunk or WebM track list behind large chunks) wait for
	// up to 64 KB. A live upload thus starts decoding after 512 bytes.
	var kind sniffed
	var head []byte
	for _, size := range []int{sniffSize, headSize} {
		var err error
		head, err = br.Peek(size)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			if lr.exceeded() {
				return nil, lr.limitErr()
			}
			return nil, fmt.Errorf("audio: reading head: %w", err)
		}
		if len(head) == 0 {
			return nil, fmt.Errorf("%w: the file has no bytes", ErrEmpty)
		}
		kind = sniff(head)
		if !kind.needMore || len(head) < size {
			break
		}
	}
	s := &Stream{lim: lr, maxDur: lim.MaxDuration, maxSamples: -1}
	if lim.MaxDuration > 0 {
		s.maxSamples = int64(lim.MaxDuration / time.Second * SampleRate)
		s.maxSamples += int64(lim.MaxDuration%time.Second) * SampleRate / int64(time.Second)
	}
	s.mismatch = describeMismatch(contentType, kind)

	var src source
	var err error
	switch kind.native {
	case FormatWAV:
		src, err = newWAVSource(br)
	case FormatMP3:
		src, err = newMP3Source(br)
	case FormatOgg:
		src, err = newOggSource(br)
	case FormatWebM:
		src, err = newWebMSource(br)
	default:
		if kind.ffmpegDemuxer == "" {
			return nil, fmt.Errorf("%w: unrecognised audio data (Content-Type %q, starts with % x); accepted formats: %s",
				ErrUnsupported, contentType, head[:min(len(head), 8)], AcceptedFormats())
		}
		s.format = FormatFFmpeg
		src, err = newFFmpegSource(br, lim.FFmpegPath, kind)
	}
	if err != nil {
		if lr.exceeded() {
			return nil, lr.limitErr()
		}
		return nil, err
	}
	if s.format == "" {
		s.format = kind.native
	}
	if src.rate() != SampleRate {
		src = newResampler(src, src.rate(), SampleRate)
	}
	s.src = src
	return s, nil
}

// Format reports the decoder in use.
func (s *Stream) Format() Format { return s.format }

// Duration reports the duration of the audio decoded so far.
func (s *Stream) Duration() time.Duration {
	return time.Duration(s.produced) * time.Second / SampleRate
}

// Truncated reports whether the input ended before its declared end (WAV
// data chunk shorter than its header says, Ogg page cut off, ...). The
// decodable part is still returned; this is for logging.
func (s *Stream) Truncated() bool { return s.truncated }

// Mismatch describes a disagreement between the Content-Type given to Open
// and the sniffed format, or returns "".
func (s *Stream) Mismatch() string { return s.mismatch }

// Peak reports the largest absolute sample value decoded so far.
func (s *Stream) Peak() float32 { return s.peak }

// Silent reports whether all samples decoded so far are below
// SilenceThreshold. Call it after Read returned io.EOF.
func (s *Stream) Silent() bool { return s.peak < SilenceThreshold }

// Read fills p with 16 kHz mono samples in [-1, 1]. It returns io.EOF at the
// end of the audio, ErrEmpty (wrapped) if the input held no samples at all,
// and ErrTooLarge or ErrTooLong as soon as a limit is crossed.
func (s *Stream) Read(p []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("audio: read from closed stream")
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := s.src.read(p)
	if s.lim.exceeded() {
		s.err = s.lim.limitErr()
		return 0, s.err
	}
	if n > 0 {
		if s.maxSamples >= 0 && s.produced+int64(n) > s.maxSamples {
			s.err = fmt.Errorf("%w: more than %v of audio (limit %v)", ErrTooLong,
				time.Duration(s.produced+int64(n))*time.Second/SampleRate, s.maxDur)
			return 0, s.err
		}
		s.produced += int64(n)
		s.peak = peak(p[:n], s.peak)
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, errTruncated):
		s.truncated = true
		err = io.EOF
	case errors.Is(err, io.EOF):
		err = io.EOF
	}
	if err == io.EOF && s.produced == 0 {
		err = fmt.Errorf("%w: the %s data decodes to no samples", ErrEmpty, s.format)
	}
	s.err = err
	return n, err
}

// Close releases the decoder and kills ffmpeg if it is running.
func (s *Stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.src.close()
}

// DecodeAll decodes r completely. The samples are held in memory (64 KB per
// second of audio, 460 MB for 2 h), so long inputs should use Open and Read.
// A silent recording returns its samples together with an error wrapping
// ErrSilent.
func DecodeAll(r io.Reader, contentType string, lim Limits) ([]float32, error) {
	s, err := Open(r, contentType, lim)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make([]float32, 0, 16*SampleRate)
	buf := make([]float32, 8192)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	if s.Silent() {
		return out, fmt.Errorf("%w: peak level %.1f dBFS over %v", ErrSilent, dbfs(s.peak), s.Duration())
	}
	return out, nil
}

func dbfs(v float32) float64 {
	if v <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(float64(v))
}

// describeMismatch compares a Content-Type with the sniffed format.
func describeMismatch(contentType string, k sniffed) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Sprintf("unparsable Content-Type %q; data is %s", contentType, k.name)
	}
	var want string
	switch mt {
	case "audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave":
		want = "WAV"
	case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg-3":
		want = "MP3"
	case "audio/webm", "video/webm", "audio/x-matroska", "video/x-matroska":
		want = "WebM"
	case "audio/ogg", "application/ogg", "audio/opus":
		want = "Ogg"
	case "audio/mp4", "audio/x-m4a", "audio/m4a", "video/mp4", "audio/aac", "audio/x-aac", "audio/3gpp":
		want = "MP4"
	case "audio/flac", "audio/x-flac":
		want = "FLAC"
	default:
		return "" // generic or unknown types say nothing about the format
	}
	if strings.HasPrefix(k.name, want) || (want == "MP4" && k.name == "AAC") {
		return ""
	}
	return fmt.Sprintf("Content-Type %q says %s but the data is %s", contentType, want, k.name)
}
