package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ffmpegSource pipes the input through ffmpeg: audio on stdin, 16 kHz mono
// f32le on stdout. No temporary file is written. The demuxer is forced from
// the sniffed container and only the pipe protocol is allowed, so a crafted
// file cannot make ffmpeg open playlists, other files or URLs.
//
// Known limit: MP4/M4A files whose moov atom is at the end (not
// "faststart") cannot be demuxed from a pipe; ffmpeg then fails and the
// error says so.
type ffmpegSource struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr *tailBuffer
	buf    []byte
	pend   int // bytes of an incomplete sample at the start of buf
	name   string
	ended  bool
}

func ffmpegLookup(path string) (string, error) {
	switch path {
	case "-":
		return "", errors.New("ffmpeg is disabled in the configuration")
	case "":
		path = "ffmpeg"
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("ffmpeg not available: %w", err)
	}
	return p, nil
}

func newFFmpegSource(in io.Reader, path string, k sniffed) (*ffmpegSource, error) {
	bin, err := ffmpegLookup(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s needs ffmpeg (%v); accepted formats: %s",
			ErrUnsupported, k.name, err, AcceptedFormats())
	}
	cmd := exec.Command(bin,
		"-hide_banner", "-nostats", "-loglevel", "error",
		"-protocol_whitelist", "pipe",
		"-f", k.ffmpegDemuxer, "-i", "pipe:0",
		"-map", "0:a:0", "-vn", "-sn", "-dn",
		"-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", fmt.Sprint(SampleRate),
		"pipe:1")
	tail := &tailBuffer{max: 4096}
	cmd.Stderr = tail
	cmd.WaitDelay = 2 * time.Second
	// The input is copied by our own goroutine rather than cmd.Stdin: with
	// cmd.Stdin, Wait (and so Close) would block until the caller's reader
	// returns, which for a stalled upload may be never. Ours ends when the
	// reader returns or, after ffmpeg is gone, at its next write.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("audio: ffmpeg stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("audio: ffmpeg stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s needs ffmpeg, which failed to start (%v); accepted formats: %s",
			ErrUnsupported, k.name, err, AcceptedFormats())
	}
	go func() {
		// An error here (ffmpeg exited early, limit exceeded) shows up as
		// ffmpeg's exit status or through the limit reader.
		_, _ = io.Copy(stdin, in)
		_ = stdin.Close()
	}()
	return &ffmpegSource{
		cmd: cmd, out: bufio.NewReaderSize(stdout, 32<<10), stderr: tail,
		buf: make([]byte, 4*4096), name: k.name,
	}, nil
}

func (f *ffmpegSource) rate() int { return SampleRate }

func (f *ffmpegSource) read(p []float32) (int, error) {
	if f.ended {
		return 0, io.EOF
	}
	want := min(len(p), len(f.buf)/4) * 4
	n, err := io.ReadAtLeast(f.out, f.buf[f.pend:want], 4-f.pend)
	n += f.pend
	whole := n - n%4 // stdout chunks need not end on a sample boundary
	k := 0
	for i := 0; i < whole; i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(f.buf[i:]))
		switch {
		case v != v:
			v = 0
		case v > 1:
			v = 1
		case v < -1:
			v = -1
		}
		p[k] = v
		k++
	}
	f.pend = copy(f.buf, f.buf[whole:n])
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return k, fmt.Errorf("audio: reading ffmpeg output: %w", err)
	}
	f.ended = true
	if werr := f.cmd.Wait(); werr != nil {
		return k, fmt.Errorf("%w: ffmpeg could not decode %s: %v: %s", ErrCorrupt, f.name, werr, f.stderr.String())
	}
	return k, io.EOF
}

func (f *ffmpegSource) close() error {
	if f.ended {
		return nil
	}
	f.ended = true
	_ = f.cmd.Process.Kill()
	_ = f.cmd.Wait() // reaps the process; its error is the kill we caused
	return nil
}

// tailBuffer keeps the last max bytes written to it (ffmpeg's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no message)"
	}
	return strings.ReplaceAll(s, "\n", "; ")
}
