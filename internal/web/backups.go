package web

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/lifecycle"
)

// backups returns the backup service (nil when the server was built without one).
func (s *Server) backups() (*lifecycle.Backups, error) {
	if s.Backups == nil {
		return nil, errf(503, "backups_unavailable", "backups are not available on this server")
	}
	return s.Backups, nil
}

func backupErr(err error) error {
	if errors.Is(err, lifecycle.ErrBusy) {
		return errf(409, "backup_running", "%s", err.Error())
	}
	return err
}

// POST /api/v1/backups: start a backup now; 202 {id} (the run id, listed by GET).
func (s *Server) apiCreateBackup(c *fiber.Ctx) error {
	svc, err := s.backups()
	if err != nil {
		return err
	}
	id, err := svc.Start(c.UserContext(), me(c).Actor)
	if err != nil {
		return backupErr(err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": id})
}

// GET /api/v1/backups: the backups with size, age and last verify, recent runs, the drill.
func (s *Server) apiListBackups(c *fiber.Ctx) error {
	svc, err := s.backups()
	if err != nil {
		return err
	}
	st, err := svc.Status(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(st)
}

type backupsData struct {
	*lifecycle.Status
	Now time.Time
}

func (s *Server) uiAdminBackups(c *fiber.Ctx) error {
	svc, err := s.backups()
	if err != nil {
		return err
	}
	st, err := svc.Status(c.UserContext())
	if err != nil {
		return err
	}
	pg := page{Title: "Backups", Page: "admin", Nav: "backups", D: backupsData{Status: st, Now: s.Now()}}
	switch c.Query("ok") {
	case "backup-started":
		pg.Notice = "The backup has started. Reload this page to see it finish."
	case "backup-busy":
		pg.Problem = "A backup is already running. Reload this page to see it finish."
	}
	return s.render(c, 200, "backups", pg)
}

func (s *Server) uiAdminBackupNow(c *fiber.Ctx) error {
	svc, err := s.backups()
	if err != nil {
		return err
	}
	if _, err := svc.Start(c.UserContext(), me(c).Actor); errors.Is(err, lifecycle.ErrBusy) {
		return c.Redirect("/admin/backups?ok=backup-busy", fiber.StatusSeeOther)
	} else if err != nil {
		return err
	}
	return c.Redirect("/admin/backups?ok=backup-started", fiber.StatusSeeOther)
}
