package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/audio"
	"dictum/internal/store"
)

// errTooLarge is returned by the limit writer when the upload passes the byte limit.
var errTooLarge = errors.New("upload too large")

// limitedWriter passes bytes to w until more than max have been written, or the user's
// daily quota is spent.
type limitedWriter struct {
	w     io.Writer
	n     int64
	max   int64
	quota *quotaUse
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	if l.n > l.max {
		return 0, errTooLarge
	}
	if err := l.quota.take(int64(len(p))); err != nil {
		return 0, err
	}
	return l.w.Write(p)
}

// uploadSource finds the audio in the request: a raw body with its Content-Type, or the
// first file part of a multipart form (streamed, never buffered whole).
func uploadSource(c *fiber.Ctx) (io.Reader, string, error) {
	ct := c.Get(fiber.HeaderContentType)
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		return bodyStream(c), ct, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, "", errf(400, "bad_request", "multipart body without a boundary")
	}
	mr := multipart.NewReader(bodyStream(c), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", errf(400, "bad_request", "the form has no file part; send the audio as field \"file\"")
		}
		if err != nil {
			return nil, "", errf(400, "bad_request", "malformed multipart body: %s", err.Error())
		}
		if part.FileName() != "" || part.FormName() == "file" || part.FormName() == "audio" {
			return part, part.Header.Get("Content-Type"), nil
		}
	}
}

// apiUpload streams an upload straight into an encrypted blob while decoding it, so a
// bad file is refused at once with a clear message and nothing is left on disk; limits
// are enforced mid-stream (413). On success the recording is queued (202).
func (s *Server) apiUpload(c *fiber.Ctx) error {
	p := me(c)
	idem := strings.TrimSpace(c.Get("Idempotency-Key"))
	if len(idem) > 128 {
		return errf(400, "bad_request", "Idempotency-Key is longer than 128 characters")
	}
	if idem != "" {
		if r, err := s.Store.RecordingByIdemKey(c.UserContext(), p.User.ID, idem); err == nil {
			c.Context().SetConnectionClose() // the body was not read
			return alreadyUploaded(c, r)
		}
	}
	if ok, retry := s.limiter.allowUpload(p.User.Username); !ok {
		return tooMany(c, retry)
	}
	maxBytes := s.Config.Limits.MaxUploadMB << 20
	n := c.Request().Header.ContentLength()
	if n > 0 && int64(n) > maxBytes+1<<20 {
		return errf(413, "too_large", "the file is larger than the %d MB limit", s.Config.Limits.MaxUploadMB)
	}
	quota, err := s.startQuota(c, p.User.ID)
	if err != nil {
		return err
	}
	defer quota.done()
	if n > 0 && int64(n) > quota.left()+1<<20 { // 1 MiB of slack for a multipart envelope
		return s.quotaError(c, p.User.ID)
	}
	src, ct, err := uploadSource(c)
	if err != nil {
		return err
	}
	w, err := s.Blobs.Create()
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	lw := &limitedWriter{w: w, max: maxBytes, quota: quota}
	tee := io.TeeReader(src, lw)
	lim := audio.Limits{MaxBytes: maxBytes, MaxDuration: s.Config.Limits.MaxAudio.Duration, FFmpegPath: s.Config.Trans.FFmpeg}
	stream, err := audio.Open(tee, ct, lim)
	if err != nil {
		return s.uploadError(c, p.User.ID, err)
	}
	buf := make([]float32, 8192)
	for {
		_, rerr := stream.Read(buf)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			stream.Close()
			return s.uploadError(c, p.User.ID, rerr)
		}
	}
	stream.Close()
	dur := stream.Duration()
	// Keep whatever trails the decoded audio (e.g. metadata) so the blob is the whole file.
	if _, err := io.Copy(lw, src); err != nil {
		return s.uploadError(c, p.User.ID, err)
	}
	if dur <= 0 {
		return errf(422, "empty_audio", "the recording contains no audio")
	}
	if stream.Silent() {
		return errf(422, "silent_audio", "the recording is silent: nothing was said (check the microphone)")
	}
	id, size, err := w.Commit()
	if err != nil {
		return fmt.Errorf("store audio: %w", err)
	}
	committed = true
	rec := &store.Recording{UserID: p.User.ID, BlobID: &id, ContentType: ct, Format: string(stream.Format()), SizeBytes: size, DurationMs: dur.Milliseconds(), IdemKey: idem}
	if err := s.Store.CreateRecording(c.UserContext(), p.Actor, rec, s.Config.Trans.MaxAttempts); err != nil {
		_ = s.Blobs.Delete(id)
		if errors.Is(err, store.ErrExists) && idem != "" { // the same upload raced in twice
			if r, err2 := s.Store.RecordingByIdemKey(c.UserContext(), p.User.ID, idem); err2 == nil {
				return alreadyUploaded(c, r)
			}
		}
		return err
	}
	if s.Kick != nil {
		s.Kick()
	}
	s.Events.Publish(p.User.ID, Event{Type: "recording", ID: rec.ID, Status: rec.Status})
	c.Location("/api/v1/recordings/" + rec.ID)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": rec.ID, "status": rec.Status, "duration_ms": rec.DurationMs, "format": rec.Format})
}

// alreadyUploaded answers a retried upload with the recording the server already has.
func alreadyUploaded(c *fiber.Ctx, r *store.Recording) error {
	return c.Status(fiber.StatusOK).JSON(fiber.Map{"id": r.ID, "status": r.Status, "duration_ms": r.DurationMs, "format": r.Format, "duplicate": true})
}

// uploadDay is the window of the daily upload quota.
const uploadDay = 24 * time.Hour

// startQuota counts what the user uploaded in the last 24 hours; 429 when the quota is spent.
func (s *Server) startQuota(c *fiber.Ctx, userID int64) (*quotaUse, error) {
	stored, _, err := s.Store.UploadedSince(c.UserContext(), userID, s.Store.Now().Add(-uploadDay))
	if err != nil {
		return nil, err
	}
	u := s.limiter.quota.start(userID, stored, s.Config.Limits.UploadDailyMB<<20)
	if u.left() <= 0 {
		return nil, s.quotaError(c, userID)
	}
	return u, nil
}

// quotaError is the 429 of a spent daily quota, with Retry-After set to when the oldest
// upload of the window stops counting.
func (s *Server) quotaError(c *fiber.Ctx, userID int64) error {
	c.Context().SetConnectionClose() // the body was not read to its end
	retry := time.Hour
	if _, oldest, err := s.Store.UploadedSince(c.UserContext(), userID, s.Store.Now().Add(-uploadDay)); err == nil && !oldest.IsZero() {
		retry = max(time.Second, oldest.Add(uploadDay).Sub(s.Store.Now()))
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds()+0.999)))
	return errf(429, "upload_quota", "you have reached the daily upload limit of %d MB (limits.upload_daily_mb); nothing was stored. "+
		"Uploads count for 24 hours: try again in %s, or ask an admin to raise the limit", s.Config.Limits.UploadDailyMB, retry.Round(time.Minute))
}

// uploadError maps a failed upload to its answer: a spent quota, or the audio's problem.
func (s *Server) uploadError(c *fiber.Ctx, userID int64, err error) error {
	if errors.Is(err, errQuota) {
		return s.quotaError(c, userID)
	}
	return s.audioError(err)
}

func (s *Server) audioError(err error) error {
	switch {
	case errors.Is(err, errTooLarge), errors.Is(err, audio.ErrTooLarge):
		return errf(413, "too_large", "the file is larger than the %d MB limit; nothing was stored", s.Config.Limits.MaxUploadMB)
	case errors.Is(err, audio.ErrTooLong):
		return errf(413, "too_long", "the recording is longer than %s; nothing was stored", s.Config.Limits.MaxAudio.Duration)
	case errors.Is(err, audio.ErrUnsupported):
		return errf(415, "unsupported_media_type", "unsupported audio format (%s). Accepted: %s", trimAudio(err), audio.AcceptedFormats())
	case errors.Is(err, audio.ErrEmpty):
		return errf(422, "empty_audio", "the file is empty or has no audio; nothing was stored")
	case errors.Is(err, audio.ErrCorrupt):
		return errf(422, "bad_audio", "the audio file is damaged or incomplete (%s); nothing was stored", trimAudio(err))
	case errors.Is(err, audio.ErrSilent):
		return errf(422, "silent_audio", "the recording is silent; nothing was stored")
	}
	return errf(400, "bad_upload", "the upload failed (%s); nothing was stored", err.Error())
}

func trimAudio(err error) string { return strings.TrimPrefix(err.Error(), "audio: ") }

func (s *Server) apiListRecordings(c *fiber.Ctx) error {
	p := me(c)
	list, err := s.Store.Recordings(c.UserContext(), p.User.ID, c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"recordings": list})
}

func (s *Server) apiGetRecording(c *fiber.Ctx) error {
	p := me(c)
	r, err := s.Store.RecordingFor(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	out := fiber.Map{"id": r.ID, "owner": r.Owner, "status": r.Status, "status_detail": r.StatusDetail, "progress": r.Progress,
		"transcript": r.Transcript, "error": r.Error, "entry_id": r.EntryID, "entry_ids": r.EntryIDs, "duration_ms": r.DurationMs, "format": r.Format,
		"size_bytes": r.SizeBytes, "has_audio": r.HasAudio(), "audio_deleted_at": r.AudioDeletedAt, "created_at": r.CreatedAt, "segments": nil}
	if r.Segments != nil {
		out["segments"] = rawJSON(*r.Segments)
	}
	return c.JSON(out)
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// apiRecordingAudio streams the decrypted audio (with Range support for playback).
func (s *Server) apiRecordingAudio(c *fiber.Ctx) error {
	p := me(c)
	r, err := s.Store.RecordingFor(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	if !r.HasAudio() {
		return errf(410, "gone", "the audio of this recording was deleted")
	}
	rs, size, err := s.Blobs.OpenSeeker(*r.BlobID)
	if err != nil {
		return fmt.Errorf("open audio: %w", err)
	}
	setMediaHeaders(c, r.ID, audio.Format(r.Format))
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	start, end := int64(0), size-1
	if rg := c.Get(fiber.HeaderRange); rg != "" && size > 0 {
		ranges, err := c.Range(int(size))
		if err != nil || len(ranges.Ranges) != 1 {
			rs.Close()
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
			return errf(416, "bad_range", "unsatisfiable range")
		}
		start, end = int64(ranges.Ranges[0].Start), int64(ranges.Ranges[0].End)
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		rs.Close()
		return fmt.Errorf("seek audio: %w", err)
	}
	c.Context().SetBodyStream(&readCloser{Reader: io.LimitReader(rs, end-start+1), c: rs}, int(end-start+1))
	return nil
}

// mediaTypes are the types audio is served as, by the format the upload was decoded as.
// The uploader's Content-Type is never sent back: it could say text/html.
var mediaTypes = map[audio.Format]struct{ mime, ext string }{
	audio.FormatWAV:  {"audio/wav", "wav"},
	audio.FormatMP3:  {"audio/mpeg", "mp3"},
	audio.FormatWebM: {"audio/webm", "webm"},
	audio.FormatOgg:  {"audio/ogg", "ogg"},
}

// setMediaHeaders sets the headers of a stored audio file: its sniffed type (or
// application/octet-stream as a download), no sniffing, and a sandbox so that even a file
// a browser renders as a document runs no script on this origin.
func setMediaHeaders(c *fiber.Ctx, id string, f audio.Format) {
	h := &c.Response().Header
	mt, ok := mediaTypes[f]
	if ok {
		h.Set(fiber.HeaderContentType, mt.mime)
		h.Set(fiber.HeaderContentDisposition, contentDisposition("inline", "recording-"+id+"."+mt.ext))
	} else {
		h.Set(fiber.HeaderContentType, "application/octet-stream")
		h.Set(fiber.HeaderContentDisposition, contentDisposition("attachment", "recording-"+id+".bin"))
	}
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderContentSecurityPolicy, sandboxPolicy)
	h.Set(fiber.HeaderCacheControl, "private, no-store")
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r *readCloser) Close() error { return r.c.Close() }

func (s *Server) apiDeleteAudio(c *fiber.Ctx) error {
	p := me(c)
	blobID, err := s.Store.DeleteRecordingAudio(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	if s.Cancel != nil {
		s.Cancel(c.Params("id"))
	}
	if err := s.Blobs.Delete(blobID); err != nil {
		s.Log.Error("delete audio blob", "recording", c.Params("id"), "err", err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
