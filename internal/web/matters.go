package web

import (
	"github.com/gofiber/fiber/v2"

	"dictum/internal/draft"
	"dictum/internal/ebilling"
	"dictum/internal/identity"
	"dictum/internal/store"
)

func (s *Server) apiListMatters(c *fiber.Ctx) error {
	status := c.Query("status", "open")
	if status == "all" {
		status = ""
	} else if status != "open" && status != "closed" {
		return errf(400, "bad_request", "status must be open, closed or all")
	}
	p := me(c)
	list, err := s.Store.MattersFor(c.UserContext(), p.Actor.UserID, status, c.Query("q"))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, m := range list {
		out = append(out, viewMatter(p.Actor, m))
	}
	return c.JSON(fiber.Map{"matters": out})
}

func (s *Server) apiGetMatter(c *fiber.Ctx) error {
	p := me(c)
	m, err := s.Store.MatterFor(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(viewMatter(p.Actor, m))
}

type matterBody struct {
	ID           *string  `json:"id"`
	Number       *string  `json:"number"`
	Client       *string  `json:"client"`
	Name         *string  `json:"name"`
	Status       *string  `json:"status"`
	Litigation   *bool    `json:"litigation"`
	LEDESEnabled *bool    `json:"ledes_enabled"`
	Rate         *float64 `json:"rate"`
	// ClientMatterID is the client's own matter id (LEDES CLIENT_MATTER_ID, <= 20).
	ClientMatterID *string `json:"client_matter_id"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) apiCreateMatter(c *fiber.Ctx) error {
	p := me(c)
	var b matterBody
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	m := &store.Matter{ID: str(b.ID), Number: str(b.Number), Client: str(b.Client), Name: str(b.Name), Status: str(b.Status)}
	if b.Litigation != nil {
		m.Litigation = *b.Litigation
	} else {
		m.Litigation = draft.IsLitigationCaption(m.Name) // "Smith v. Jones": task codes apply
	}
	if b.LEDESEnabled != nil {
		m.LEDESEnabled = *b.LEDESEnabled
	}
	if b.Rate != nil {
		cents, err := rateCents(*b.Rate)
		if err != nil {
			return err
		}
		m.RateCents = &cents
	}
	if b.ClientMatterID != nil {
		v, err := ebilling.CheckID("client_matter_id", *b.ClientMatterID)
		if err != nil {
			return ebillingFailed(err)
		}
		m.ClientMatterID = v
	}
	if err := s.Store.CreateMatter(c.UserContext(), p.Actor, m); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func rateCents(r float64) (int64, error) {
	if r != r || r < 0 || r > 100000 {
		return 0, errf(422, "invalid", "rate must be between 0 and 100000 per hour")
	}
	return int64(r*100 + 0.5), nil
}

func (s *Server) apiPatchMatter(c *fiber.Ctx) error {
	p := me(c)
	var b matterBody
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	if b.ID != nil {
		return errf(422, "invalid", "a matter's id cannot change")
	}
	patch := store.MatterPatch{Number: b.Number, Client: b.Client, Name: b.Name, Status: b.Status, Litigation: b.Litigation, LEDESEnabled: b.LEDESEnabled}
	if b.Rate != nil {
		cents, err := rateCents(*b.Rate)
		if err != nil {
			return err
		}
		pc := &cents
		patch.RateCents = &pc
	}
	if b.ClientMatterID != nil {
		v, err := ebilling.CheckID("client_matter_id", *b.ClientMatterID)
		if err != nil {
			return ebillingFailed(err)
		}
		patch.ClientMatterID = &v
	}
	m, err := s.Store.UpdateMatter(c.UserContext(), p.Actor, c.Params("id"), patch)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

// matterOut is a matter as a timekeeper sees it: without its rate (billing data is
// billing's); billing and admin get the matter as it is.
type matterOut struct {
	*store.Matter
	RateCents *int64 `json:"rate_cents,omitempty"`
}

func viewMatter(a identity.Actor, m *store.Matter) any {
	if a.Privileged() {
		return m
	}
	return matterOut{Matter: m}
}
