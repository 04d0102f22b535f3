package web

import (
	"bytes"
	"io"

	"github.com/gofiber/fiber/v2"
)

// bodyStream returns the request body as a stream (uploads are not buffered in memory).
func bodyStream(c *fiber.Ctx) io.Reader {
	if r := c.Context().RequestBodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(c.Body())
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
