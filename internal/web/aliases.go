package web

import (
	"github.com/gofiber/fiber/v2"

	"dictum/internal/store"
)

// apiListAliases lists the caller's aliases and the firm's.
func (s *Server) apiListAliases(c *fiber.Ctx) error {
	p := me(c)
	list, err := s.dictation.Aliases(c.UserContext(), p.Actor)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"aliases": list})
}

// apiPutAlias sets an alias {"phrase","matter","scope"} (or {"phrase","activity","scope"}
// for a UTBMS activity): scope "user" (default) for the caller, "firm" (admins only) for
// everyone. Setting a phrase again points it elsewhere.
func (s *Server) apiPutAlias(c *fiber.Ctx) error {
	p := me(c)
	var b struct {
		Phrase   string `json:"phrase"`
		Matter   string `json:"matter"`
		Activity string `json:"activity"`
		Scope    string `json:"scope"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	al, err := s.dictation.PutAlias(c.UserContext(), p.Actor, b.Phrase, b.Matter, b.Activity, b.Scope)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(al)
}

// apiDeleteAlias deletes an alias named by ?id= or by ?phrase=&scope=[&kind=activity] (the
// caller's own for scope user; a firm alias by an admin).
func (s *Server) apiDeleteAlias(c *fiber.Ctx) error {
	p := me(c)
	if err := s.dictation.DeleteAlias(c.UserContext(), p.Actor, c.Query("id"), c.Query("phrase"), c.Query("scope"), c.Query("kind")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// aliasesFor fills the account page's aliases section: the caller's aliases and the
// firm's, and the open matters. A read failure leaves the section empty (the page's
// password form must still work).
func (s *Server) aliasesFor(c *fiber.Ctx, d accountData) accountData {
	p := me(c)
	d.Admin = p.Actor.Role == store.RoleAdmin
	if list, err := s.dictation.Aliases(c.UserContext(), p.Actor); err == nil {
		d.Aliases = list
	} else {
		s.Log.Error("account page: aliases", "err", err)
	}
	if ms, err := s.Store.MattersFor(c.UserContext(), p.Actor.UserID, "open", ""); err == nil {
		d.Matters = ms
	}
	return d
}
