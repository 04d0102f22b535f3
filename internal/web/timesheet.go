package web

import (
	"github.com/gofiber/fiber/v2"

	"dictum/internal/timesheet"
)

// weeks is the timesheet service over the server's store, settings and clock.
func (s *Server) weeks() *timesheet.Service {
	return &timesheet.Service{Store: s.Store, Settings: s.settings, Today: s.today}
}

// apiTimesheet answers the caller's week (?week=YYYY-Www, default this week): each day's
// dictated, draft and approved hours against the firm's daily target.
func (s *Server) apiTimesheet(c *fiber.Ctx) error {
	p := me(c)
	w, err := s.weeks().Week(c.UserContext(), p.Actor, c.Query("week"))
	if err != nil {
		return err
	}
	return c.JSON(w)
}

// uiWeek is the Week page: the same numbers as the API, with links into the inbox.
func (s *Server) uiWeek(c *fiber.Ctx) error {
	p := me(c)
	w, err := s.weeks().Week(c.UserContext(), p.Actor, c.Query("week"))
	if err != nil {
		return err
	}
	return s.render(c, 200, "week", page{Title: "Week " + w.Week, Page: "week", Nav: "week", D: w})
}
