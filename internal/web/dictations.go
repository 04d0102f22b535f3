package web

import (
	"github.com/gofiber/fiber/v2"
)

// apiDictation drafts time entries from typed or pasted text (a phone keyboard's own
// dictation, a note pasted from email) through the same engine and rules as recordings:
// one draft per entry of the text, in spoken order.
func (s *Server) apiDictation(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Text *string `json:"text"`
		Date string  `json:"date"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Text == nil {
		return errf(400, "bad_request", `"text" is required`)
	}
	es, err := s.dictation.FromText(c.UserContext(), p.Actor, *b.Text, b.Date)
	if err != nil {
		return err
	}
	for _, e := range es { // the lawyer's open inbox tabs show the new drafts
		s.Events.Publish(p.User.ID, Event{Type: "entry", ID: e.ID, Status: e.Status})
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"entries": es})
}
