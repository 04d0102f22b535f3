package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/ebilling"
)

// Request bodies. fasthttp runs with StreamRequestBody, so it hands every handler a stream
// and reads nothing but the first few KiB itself; whatever reads the body decides how much
// of it is read. bodyGuard, first on every route, reads the body of every request but the
// audio upload into memory up to the route's cap and answers 413 at the first byte past it,
// so nothing downstream (FormValue, c.Body(), decodeJSON, multipart parsing) ever reads an
// unbounded body, chunked or not. The upload streams into an encrypted blob with its own
// limits (recordings.go) and is the only route that reads the stream itself.

// importBodyCap bounds the matter import forms: a 1 MiB CSV as a file part, or pasted
// into a URL-encoded textarea (up to three bytes per byte), plus the other fields.
const importBodyCap = 3*maxImportBytes + 64<<10

// routeKey is how fiber matches a route with its default config (case-insensitive,
// trailing slash ignored), so the guard exempts exactly the route the router would run.
func routeKey(method, path string) string {
	path = strings.ToLower(path)
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + path
}

// isUpload reports whether a request is the audio upload, which streams its own body.
func isUpload(method, path string) bool {
	return routeKey(method, path) == "POST /api/v1/recordings"
}

// isCodesImport reports whether a request is a client's code-list import, the one API
// route that also takes a CSV body (text/csv) besides JSON.
func isCodesImport(method, path string) bool {
	k := routeKey(method, path)
	return strings.HasPrefix(k, "POST /api/v1/clients/") && strings.HasSuffix(k, "/codes") &&
		strings.Count(k, "/") == 5
}

// bodyCap is the largest body a route accepts (the upload is not capped here).
func (s *Server) bodyCap(method, path string) int64 {
	switch routeKey(method, path) {
	case "POST /admin/matters/import", "POST /admin/matters/import/confirm":
		return importBodyCap
	}
	if isCodesImport(method, path) {
		return ebilling.MaxCodesCSV + 64<<10 // the CSV, or the CSV quoted in JSON
	}
	if k := routeKey(method, path); strings.HasPrefix(k, "POST /admin/clients/") && strings.HasSuffix(k, "/codes") {
		return importBodyCap // the client code list form: a file part or pasted text
	}
	return int64(s.Config.Limits.MaxJSONKB) * 1024
}

// bodyGuard refuses compressed request bodies (415: no route accepts them, so nothing can
// inflate a small body into a large one) and reads every body but the upload's into memory,
// bounded by the route's cap (413 without reading further).
func (s *Server) bodyGuard(c *fiber.Ctx) error {
	req := c.Request()
	var enc string
	req.Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), fiber.HeaderContentEncoding) && enc == "" {
			if e := strings.TrimSpace(string(v)); e != "" && !strings.EqualFold(e, "identity") {
				enc = e
			}
		}
	})
	if enc != "" {
		c.Context().SetConnectionClose() // the body stays unread
		return errf(415, "unsupported_media_type", "compressed request bodies (Content-Encoding: %.20s) are not accepted; send the body uncompressed", enc)
	}
	if isUpload(c.Method(), c.Path()) {
		return c.Next()
	}
	limit := s.bodyCap(c.Method(), c.Path())
	n := req.Header.ContentLength() // -1: chunked, unknown length
	if n == 0 || n == -2 {
		return c.Next()
	}
	ct := c.Get(fiber.HeaderContentType)
	if strings.HasPrefix(strings.ToLower(c.Path()), "/api/") && !isJSON(ct) && !(isCodesImport(c.Method(), c.Path()) && isCSV(ct)) {
		// The API reads JSON only; say so rather than guess (ASVS 13.2.5).
		c.Context().SetConnectionClose()
		return errf(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
	}
	if int64(n) > limit {
		c.Context().SetConnectionClose()
		return errf(413, "too_large", "request body larger than %d KiB", limit/1024)
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil { // already in memory (fasthttp read it whole: it is small)
		if int64(len(req.Body())) > limit {
			c.Context().SetConnectionClose()
			return errf(413, "too_large", "request body larger than %d KiB", limit/1024)
		}
		return c.Next()
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(n, 512), int(limit)+1)))
	if _, err := buf.ReadFrom(io.LimitReader(stream, limit+1)); err != nil {
		c.Context().SetConnectionClose()
		return errf(400, "bad_request", "could not read the request body: %s", err.Error())
	}
	if int64(buf.Len()) > limit {
		c.Context().SetConnectionClose()
		return errf(413, "too_large", "request body larger than %d KiB", limit/1024)
	}
	// From here the body is this buffer: the stream is released (it was read to its end),
	// and the length is known even when it came chunked.
	req.SetBodyRaw(buf.Bytes())
	req.Header.SetContentLength(buf.Len())
	return c.Next()
}

// isCSV reports whether a Content-Type is text/csv (parameters allowed).
func isCSV(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/csv"
}

// isJSON reports whether a Content-Type is application/json (parameters allowed).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// bodyStream returns the request body as a stream: the upload's live stream, or for
// any other route the bounded body bodyGuard read.
func bodyStream(c *fiber.Ctx) io.Reader {
	if r := c.Context().RequestBodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(c.Request().Body()) // raw bytes: fiber's c.Body() would inflate
}

// readBody reads at most limit bytes of the body, or fails with 413.
func readBody(c *fiber.Ctx, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(bodyStream(c), limit+1))
	if err != nil {
		return nil, errf(400, "bad_request", "could not read the request body: %s", err.Error())
	}
	if int64(len(b)) > limit {
		return nil, errf(413, "too_large", "request body larger than %d KiB", limit/1024)
	}
	return b, nil
}

// memForm is a multipart form parsed from the bounded in-memory body. fasthttp's and
// net/http's form parsers spill file parts to (plaintext) temp files; this one never
// touches the disk.
type memForm struct {
	values map[string]string
	files  map[string][]byte // file parts by field name
}

var errNotMultipart = errors.New("not a multipart form")

// multipartForm parses the request's multipart body in memory (once per request). Only
// routes bodyGuard read into memory may call it; the upload route streams instead.
func multipartForm(c *fiber.Ctx) (*memForm, error) {
	if f, ok := c.Locals("memform").(*memForm); ok {
		return f, nil
	}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "multipart/form-data" {
		return nil, errNotMultipart
	}
	if params["boundary"] == "" {
		return nil, errf(400, "bad_request", "multipart body without a boundary")
	}
	if c.Context().RequestBodyStream() != nil {
		// Not read by bodyGuard (the upload route): refuse rather than read it unbounded.
		return nil, errNotMultipart
	}
	f := &memForm{values: map[string]string{}, files: map[string][]byte{}}
	mr := multipart.NewReader(bytes.NewReader(c.Request().Body()), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errf(400, "bad_request", "malformed multipart body: %s", err.Error())
		}
		b, err := io.ReadAll(part) // bounded: the body is in memory and capped
		if err != nil {
			return nil, errf(400, "bad_request", "malformed multipart body: %s", err.Error())
		}
		name := part.FormName()
		if part.FileName() != "" {
			if _, dup := f.files[name]; !dup {
				f.files[name] = b
			}
		} else if _, dup := f.values[name]; !dup {
			f.values[name] = string(b)
		}
	}
	c.Locals("memform", f)
	return f, nil
}

// formValue is a field of a URL-encoded or multipart form body ("" when absent); it never
// writes a temp file.
func formValue(c *fiber.Ctx, name string) string {
	if f, err := multipartForm(c); err == nil {
		return f.values[name]
	} else if !errors.Is(err, errNotMultipart) {
		return ""
	}
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) || c.Context().RequestBodyStream() != nil {
		return ""
	}
	return string(c.Request().PostArgs().Peek(name))
}
