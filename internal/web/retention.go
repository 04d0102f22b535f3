package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/lifecycle"
	"dictum/internal/store"
)

// retentionFailed maps an unknown kind of deleted item to 404; the rest is mapDomain's.
func retentionFailed(err error) error {
	if errors.Is(err, lifecycle.ErrUnknownKind) {
		return errf(404, "not_found", "%s", err.Error())
	}
	return err
}

// apiListDeleted lists the soft-deleted items and when each is purged (admin).
func (s *Server) apiListDeleted(c *fiber.Ctx) error {
	items, err := s.retention.Deleted(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// apiRestoreDeleted restores a soft-deleted matter (with what went with it) or entry (admin).
func (s *Server) apiRestoreDeleted(c *fiber.Ctx) error {
	p := me(c)
	it, err := s.retention.Restore(c.UserContext(), p.Actor, c.Params("kind"), c.Params("id"))
	if err != nil {
		return retentionFailed(err)
	}
	return c.JSON(it)
}

type deletedData struct {
	Items []store.DeletedItem
	Grace int
}

// uiDeleted is the admin's "Deleted items" page.
func (s *Server) uiDeleted(c *fiber.Ctx) error {
	items, err := s.retention.Deleted(c.UserContext())
	if err != nil {
		return err
	}
	pol, err := s.retention.Policy(c.UserContext())
	if err != nil {
		return err
	}
	pg := page{Title: "Deleted items", Page: "admin", Nav: "deleted", D: deletedData{Items: items, Grace: pol.GraceDays}}
	if m := c.Query("ok"); m != "" {
		pg.Notice = noticeText(m)
	}
	return s.render(c, 200, "deleted", pg)
}

// uiRestoreDeleted is the Restore button of the Deleted items page.
func (s *Server) uiRestoreDeleted(c *fiber.Ctx) error {
	p := me(c)
	if _, err := s.retention.Restore(c.UserContext(), p.Actor, c.Params("kind"), c.Params("id")); err != nil {
		return retentionFailed(err)
	}
	return c.Redirect("/admin/deleted?ok=item-restored", fiber.StatusSeeOther)
}
