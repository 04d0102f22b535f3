package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/lifecycle"
)

// archiveFailed maps a refused archive request to the API's statuses.
func archiveFailed(err error) error {
	var e *lifecycle.ArchiveError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case lifecycle.Forbidden:
		return errf(403, "forbidden", "%s", e.Message)
	case lifecycle.Busy:
		return errf(409, "busy", "%s", e.Message)
	case lifecycle.NotReady:
		return errf(409, "not_ready", "%s", e.Message)
	case lifecycle.Gone:
		return errf(410, "gone", "%s", e.Message)
	default:
		return errf(422, "invalid", "%s", e.Message)
	}
}

// apiCreateArchive queues a ZIP archive of a scope: 202 {id}; poll GET /archives/{id}.
func (s *Server) apiCreateArchive(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Scope string `json:"scope"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	x, err := s.archives.Request(c.UserContext(), p.Actor, b.Scope)
	if err != nil {
		return archiveFailed(err)
	}
	c.Set(fiber.HeaderLocation, "/api/v1/archives/"+x.ID)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": x.ID, "status": x.Status, "scope": x.Scope})
}

// apiListArchives lists the archives the caller may see.
func (s *Server) apiListArchives(c *fiber.Ctx) error {
	list, err := s.archives.List(c.UserContext(), me(c).Actor)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"archives": list})
}

// apiGetArchive reports an archive's status and progress.
func (s *Server) apiGetArchive(c *fiber.Ctx) error {
	x, err := s.archives.Get(c.UserContext(), me(c).Actor, c.Params("id"))
	if err != nil {
		return err
	}
	out := fiber.Map{"archive": x, "id": x.ID, "status": x.Status, "progress": x.Progress}
	if x.Status == "done" {
		out["download"] = "/api/v1/archives/" + x.ID + "/download"
	}
	return c.JSON(out)
}

// apiDownloadArchive streams a finished archive, decrypting as it goes.
func (s *Server) apiDownloadArchive(c *fiber.Ctx) error {
	dl, err := s.archives.Open(c.UserContext(), me(c).Actor, c.Params("id"))
	if err != nil {
		return archiveFailed(err)
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+dl.Filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	if dl.Archive.SHA256 != "" {
		c.Set("X-Content-SHA256", dl.Archive.SHA256)
	}
	c.Context().SetBodyStream(dl.Body, int(dl.Size))
	return nil
}
