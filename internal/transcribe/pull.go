package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"dictum/internal/platform"
)

// pullAttempts is how many times one Pull call resumes after a dropped connection.
const pullAttempts = 5

// pullRetryDelay is the pause before resuming (multiplied by the attempt number).
var pullRetryDelay = time.Second

// pullClient has no overall timeout (models are large); stalls are caught by
// the transport's header timeout and the caller's context.
var pullClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: 60 * time.Second,
	IdleConnTimeout:       30 * time.Second,
}}

// Pull downloads catalogue model name from baseURL (DefaultBaseURL if empty;
// the file name ggml-NAME.bin is appended) into dir and returns the file's
// path. It downloads to ggml-NAME.bin.part, resuming an existing part file
// with a Range request (and after dropped connections, up to 5 times),
// verifies the size and the pinned checksums, then renames atomically. A
// checksum mismatch deletes the part file. An already installed file that
// verifies is not downloaded again. progress, if set, gets (bytes done, total).
func Pull(ctx context.Context, name, baseURL, dir string, progress func(done, total int64)) (string, error) {
	m, ok := Lookup(name)
	if !ok {
		return "", fmt.Errorf("pull: %w %q (known: %s)", ErrUnknownModel, name, catalogueNames())
	}
	return pullModel(ctx, m, baseURL, dir, progress)
}

func pullModel(ctx context.Context, m Model, baseURL, dir string, progress func(done, total int64)) (string, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	url := strings.TrimRight(baseURL, "/") + "/" + m.File()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("pull %s: %w", m.Name, err)
	}
	final := filepath.Join(dir, m.File())
	part := final + ".part"

	if st, err := os.Stat(final); err == nil && st.Size() == m.Size {
		var info Info
		if err := verifyChecksum(final, m, &info); err == nil {
			if progress != nil {
				progress(m.Size, m.Size)
			}
			return final, nil
		}
	}

	var lastErr error
	for attempt := 1; attempt <= pullAttempts; attempt++ {
		done, retry, err := pullOnce(ctx, m, url, part, progress)
		if err == nil && done {
			break
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			return "", err
		}
		if attempt == pullAttempts {
			return "", fmt.Errorf("pull %s: giving up after %d attempts (run pull again to resume): %w", m.Name, attempt, lastErr)
		}
		select {
		case <-time.After(time.Duration(attempt) * pullRetryDelay):
		case <-ctx.Done():
			return "", fmt.Errorf("pull %s: %w", m.Name, ctx.Err())
		}
	}

	// The whole file is in part: check it before it can be used.
	info := Info{}
	if err := verifyChecksum(part, m, &info); err != nil {
		os.Remove(part)
		return "", fmt.Errorf("pull %s from %s: %w; the downloaded file was deleted", m.Name, url, err)
	}
	if _, err := verifyFile(part); err != nil {
		os.Remove(part)
		return "", fmt.Errorf("pull %s: the file matches its checksum but is not a usable model: %w", m.Name, err)
	}
	if err := os.Rename(part, final); err != nil {
		return "", fmt.Errorf("pull %s: %w", m.Name, err)
	}
	syncDir(dir)
	return final, nil
}

// pullOnce makes one request. It returns done when the part file holds the
// full size, retry when a new attempt may succeed (dropped connection, 5xx).
func pullOnce(ctx context.Context, m Model, url, part string, progress func(done, total int64)) (done, retry bool, err error) {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if m.Size > 0 && have > m.Size {
		os.Remove(part) // cannot be a prefix of the right file
		have = 0
	}
	if m.Size > 0 && have == m.Size {
		return true, false, nil
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, false, fmt.Errorf("pull %s: %w", m.Name, err)
	}
	req.Header.Set("User-Agent", "dictum-model-pull")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := pullClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, false, fmt.Errorf("pull %s: %w", m.Name, ctx.Err())
		}
		return false, true, fmt.Errorf("pull %s from %s: %w", m.Name, url, err)
	}
	defer resp.Body.Close()

	flags := os.O_WRONLY | os.O_CREATE
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// Not the range we asked for: start again from zero.
			os.Remove(part)
			return false, true, fmt.Errorf("pull %s: server resumed at %q, expected byte %d", m.Name, resp.Header.Get("Content-Range"), have)
		}
		flags |= os.O_APPEND
	case http.StatusOK:
		have = 0 // server ignored Range: the body is the whole file
		flags |= os.O_TRUNC
	case http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return false, true, fmt.Errorf("pull %s: server refused to resume at byte %d; restarting", m.Name, have)
	case http.StatusNotFound:
		return false, false, fmt.Errorf("pull %s: %s not found (HTTP 404): check the model mirror URL", m.Name, url)
	default:
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return false, retry, fmt.Errorf("pull %s from %s: HTTP %s", m.Name, url, resp.Status)
	}

	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, false, fmt.Errorf("pull %s: %w", m.Name, err)
	}
	total := m.Size
	var w io.Writer = f
	if progress != nil {
		progress(have, total)
		w = &progressWriter{w: f, done: have, total: total, fn: progress}
	}
	limit := int64(-1)
	if m.Size > 0 {
		limit = m.Size - have + 1 // one extra byte shows an oversized body
	}
	var body io.Reader = resp.Body
	if limit > 0 {
		body = io.LimitReader(resp.Body, limit)
	}
	n, copyErr := io.Copy(w, body)
	syncErr := f.Sync()
	closeErr := f.Close()
	if copyErr != nil {
		if ctx.Err() != nil {
			return false, false, fmt.Errorf("pull %s: %w (the partial download is kept for resuming)", m.Name, ctx.Err())
		}
		return false, true, fmt.Errorf("pull %s: connection lost after %d bytes: %w", m.Name, have+n, copyErr)
	}
	if err := errors.Join(syncErr, closeErr); err != nil {
		return false, false, fmt.Errorf("pull %s: write %s: %w", m.Name, part, err)
	}
	got := have + n
	switch {
	case m.Size <= 0:
		return true, false, nil
	case got < m.Size:
		return false, true, fmt.Errorf("pull %s: connection closed at %d of %d bytes", m.Name, got, m.Size)
	case got > m.Size:
		os.Remove(part)
		return false, false, fmt.Errorf("%w: pull %s: server sent more than the %d bytes of the catalogue file; deleted", ErrChecksum, m.Name, m.Size)
	}
	return true, false, nil
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

type progressWriter struct {
	w     io.Writer
	done  int64
	total int64
	fn    func(done, total int64)
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond || p.done == p.total {
		p.last = now
		p.fn(p.done, p.total)
	}
	return n, err
}

func syncDir(dir string) { _ = platform.SyncDir(dir) }

// Import copies a local model file (for servers without internet access)
// into dir after checking its structure. If the file is named like a catalogue
// file (ggml-base.en.bin) its size and pinned checksums must match; if its
// size equals a catalogue file's size and its checksums match, it is installed
// under that catalogue name. Other valid files (fine-tunes, custom
// conversions) are installed under their own base name. It returns the
// installed path.
func Import(src, dir string) (string, error) {
	info, err := verifyFile(src)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	base := filepath.Base(src)
	var target string
	if m, ok := catalogueByFile(base); ok {
		if err := verifyChecksum(src, m, &info); err != nil {
			return "", fmt.Errorf("import: %w (a custom model must not use a catalogue file name: rename it)", err)
		}
		target = m.File()
	} else if cands := catalogueBySize(info.Size); len(cands) > 0 {
		s1, s256, err := hashFile(src)
		if err != nil {
			return "", fmt.Errorf("import: %w", err)
		}
		for _, m := range cands {
			if compareDigests(m, s1, s256) == nil {
				target = m.File()
				break
			}
		}
	}
	if target == "" {
		if !strings.HasSuffix(base, ".bin") || strings.HasPrefix(base, ".") {
			return "", fmt.Errorf("import: %s: a model file name must end in .bin", src)
		}
		target = base
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	dst := filepath.Join(dir, target)
	if sameFile(src, dst) {
		return dst, nil
	}
	if err := platform.CopyFile(src, dst, 0o644); err != nil {
		return "", fmt.Errorf("import %s: %w", src, err)
	}
	return dst, nil
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
