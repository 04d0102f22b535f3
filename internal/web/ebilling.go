package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/billing"
	"dictum/internal/ebilling"
	"dictum/internal/exports"
	"dictum/internal/settings"
	"dictum/internal/store"
	"dictum/internal/utbms"
)

// ---- timekeepers (PATCH /api/v1/users/{username}) ----------------------------

// ebillingUserPatch validates the e-billing fields of a user patch (first_name,
// last_name, classification, timekeeper_id, client_rates) into the store patch.
func ebillingUserPatch(patch *store.UserPatch, b *userBody) error {
	ch, err := ebilling.CheckTimekeeper(ebilling.TimekeeperInput{FirstName: b.FirstName, LastName: b.LastName,
		Classification: b.Classification, TimekeeperID: b.TimekeeperID, ClientRates: b.ClientRates})
	if err != nil {
		return ebillingFailed(err)
	}
	patch.Classification, patch.TimekeeperID, patch.EBilling = ch.Classification, ch.TimekeeperID, ch.Patch
	return nil
}

// ebillingOnCreate checks the e-billing fields POST /api/v1/users takes: a valid
// timekeeper_id; names, classification and client rates are set with PATCH once the user
// exists (refused here rather than silently dropped).
func ebillingOnCreate(b *userBody) error {
	if b.FirstName != nil || b.LastName != nil || b.ClientRates != nil || b.Classification != nil {
		return errf(422, "invalid", "first_name, last_name, classification and client_rates are set with PATCH /api/v1/users/{username} once the user exists")
	}
	if b.TimekeeperID != nil {
		v, err := ebilling.CheckID("timekeeper_id", *b.TimekeeperID)
		if err != nil {
			return ebillingFailed(err)
		}
		b.TimekeeperID = &v
	}
	return nil
}

// userView is a user with their e-billing fields, as the users API answers it.
type userView struct {
	*store.User
	store.TimekeeperBilling
}

// userJSON answers one user with their e-billing fields.
func (s *Server) userJSON(c *fiber.Ctx, u *store.User) error {
	tb, err := s.Store.TimekeeperBillingOf(c.UserContext(), u.Username)
	if err != nil {
		return err
	}
	return c.JSON(userView{User: u, TimekeeperBilling: tb})
}

// usersWithEBilling adds the e-billing fields to a list of users.
func (s *Server) usersWithEBilling(ctx context.Context, list []*store.User) ([]userView, error) {
	all, err := s.Store.TimekeepersBilling(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]userView, 0, len(list))
	for _, u := range list {
		tb := all[strings.ToLower(u.Username)]
		if tb.ClientRates == nil {
			tb.ClientRates = []store.ClientRate{}
		}
		out = append(out, userView{User: u, TimekeeperBilling: tb})
	}
	return out, nil
}

// ---- admin pages: clients ------------------------------------------------------

type clientsData struct {
	Clients []*store.Client
}

func (s *Server) uiAdminClients(c *fiber.Ctx) error {
	list, err := ebilling.New(s.Store).Clients(c.UserContext())
	if err != nil {
		return err
	}
	pg := page{Title: "Clients", Page: "admin", Nav: "clients", D: clientsData{Clients: list}}
	if m := c.Query("ok"); m == "client-saved" {
		pg.Notice = "The client's e-billing profile is saved."
	}
	return s.render(c, 200, "clients", pg)
}

type clientData struct {
	C            *ebilling.ClientView
	Placeholders string
	CSV          string
}

func (s *Server) clientPage(c *fiber.Ctx, status int, pg page, csv string) error {
	v, err := ebilling.New(s.Store).Client(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	pg.Title, pg.Page, pg.Nav = "Client "+v.Name, "admin", "clients"
	pg.D = clientData{C: v, CSV: csv, Placeholders: "{client}, {matter_number}, {matter_name}, {client_matter_id}, {from}, {to}, {invoice_number}"}
	return s.render(c, status, "client", pg)
}

func (s *Server) uiAdminClient(c *fiber.Ctx) error {
	pg := page{}
	switch c.Query("ok") {
	case "client-saved":
		pg.Notice = "The client's e-billing profile is saved."
	case "codes-imported":
		pg.Notice = "The client's code list is imported."
	}
	return s.clientPage(c, 200, pg, "")
}

func (s *Server) uiAdminClientSave(c *fiber.Ctx) error {
	p := me(c)
	on := c.FormValue("ebilling") == "on"
	id, req, set, desc := c.FormValue("ledes_client_id"), c.FormValue("required_codes"), c.FormValue("code_set"), c.FormValue("invoice_description")
	_, err := ebilling.New(s.Store).UpdateClient(c.UserContext(), p.Actor, c.Params("id"), ebilling.ClientPatch{
		LEDESClientID: &id, EBilling: &on, RequiredCodes: &req, CodeSet: &set, InvoiceDescription: &desc})
	if err != nil {
		if ae, ok := ebillingFailed(err).(*apiError); ok && ae.Status == 422 {
			return s.clientPage(c, 422, page{Problem: "Not saved: " + ae.Message}, "")
		}
		if ae := mapDomain(err); ae.Status == 422 {
			return s.clientPage(c, 422, page{Problem: "Not saved: " + ae.Message}, "")
		}
		return err
	}
	return c.Redirect("/admin/clients/"+c.Params("id")+"?ok=client-saved", fiber.StatusSeeOther)
}

func (s *Server) uiAdminClientCodes(c *fiber.Ctx) error {
	p := me(c)
	// Parsed in memory from the capped body (no plaintext temp file), like the matter import.
	data, err := importInput(c)
	if errors.Is(err, errImportTooLarge) {
		return s.clientPage(c, 413, page{Problem: fmt.Sprintf("The file is larger than %d KiB.", ebilling.MaxCodesCSV/1024)}, "")
	}
	if err != nil {
		return err
	}
	if _, err := ebilling.New(s.Store).ImportCodes(c.UserContext(), p.Actor, c.Params("id"), bytes.NewReader(data)); err != nil {
		if ae, ok := ebillingFailed(err).(*apiError); ok && ae.Status == 422 {
			csv := string(data)
			if len(csv) > 20000 {
				csv = ""
			}
			return s.clientPage(c, 422, page{Problem: "Not imported: " + ae.Message}, csv)
		}
		return err
	}
	return c.Redirect("/admin/clients/"+c.Params("id")+"?ok=codes-imported", fiber.StatusSeeOther)
}

// ---- admin pages: a timekeeper's e-billing fields ------------------------------

type timekeeperRate struct {
	Client       *store.Client
	Rate         string
	TimekeeperID string
}

type timekeeperData struct {
	U       *store.User
	TB      store.TimekeeperBilling
	Rates   []timekeeperRate
	Classes [][2]string
}

func (s *Server) timekeeperPage(c *fiber.Ctx, status int, pg page) error {
	ctx := c.UserContext()
	u, err := s.Store.UserByName(ctx, c.Params("username"))
	if err != nil {
		return err
	}
	tb, err := s.Store.TimekeeperBillingOf(ctx, u.Username)
	if err != nil {
		return err
	}
	clients, err := s.Store.Clients(ctx)
	if err != nil {
		return err
	}
	d := timekeeperData{U: u, TB: tb, Classes: [][2]string{{"PT", "Partner"}, {"AS", "Associate"}, {"OC", "Of counsel"}, {"LA", "Legal assistant / paralegal"}, {"OT", "Other"}}}
	for _, cl := range clients {
		r := timekeeperRate{Client: cl}
		for _, cr := range tb.ClientRates {
			if cr.ClientID == cl.ID {
				r.TimekeeperID = cr.TimekeeperID
				if cr.RateCents != nil {
					r.Rate = strconv.FormatFloat(float64(*cr.RateCents)/100, 'f', 2, 64)
				}
			}
		}
		d.Rates = append(d.Rates, r)
	}
	pg.Title, pg.Page, pg.Nav, pg.D = "E-billing: "+u.Username, "admin", "admin", d
	return s.render(c, status, "timekeeper", pg)
}

func (s *Server) uiAdminTimekeeper(c *fiber.Ctx) error {
	pg := page{}
	if c.Query("ok") == "saved" {
		pg.Notice = "The timekeeper's e-billing fields are saved."
	}
	return s.timekeeperPage(c, 200, pg)
}

func (s *Server) uiAdminTimekeeperSave(c *fiber.Ctx) error {
	p := me(c)
	first, last, class, tkid := c.FormValue("first_name"), c.FormValue("last_name"), c.FormValue("classification"), c.FormValue("timekeeper_id")
	b := userBody{FirstName: &first, LastName: &last, Classification: &class, TimekeeperID: &tkid}
	clients, err := s.Store.Clients(c.UserContext())
	if err != nil {
		return err
	}
	cur, err := s.Store.TimekeeperBillingOf(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	for _, cl := range clients {
		rate, err := settings.ParseRate(c.FormValue("rate-" + cl.ID))
		if err != nil {
			return s.timekeeperPage(c, 422, page{Problem: "Not saved: the rate for " + cl.Name + " must be a number, like 350 or 412.50"})
		}
		in := ebilling.ClientRateInput{ClientID: cl.ID, Rate: rate, TimekeeperID: strings.TrimSpace(c.FormValue("tkid-" + cl.ID))}
		if !sameClientRate(cur.ClientRates, in) { // only what changed is written (and audited)
			b.ClientRates = append(b.ClientRates, in)
		}
	}
	var patch store.UserPatch
	if err := ebillingUserPatch(&patch, &b); err != nil {
		if ae, ok := err.(*apiError); ok {
			return s.timekeeperPage(c, ae.Status, page{Problem: "Not saved: " + ae.Message})
		}
		return err
	}
	if _, err := s.Store.UpdateUser(c.UserContext(), p.Actor, c.Params("username"), patch); err != nil {
		if ae := mapDomain(err); ae.Status == 422 {
			return s.timekeeperPage(c, 422, page{Problem: "Not saved: " + ae.Message})
		}
		return err
	}
	return c.Redirect("/admin/users/"+c.Params("username")+"/ebilling?ok=saved", fiber.StatusSeeOther)
}

// sameClientRate reports whether a form row equals what is stored for that client.
func sameClientRate(stored []store.ClientRate, in ebilling.ClientRateInput) bool {
	for _, r := range stored {
		if r.ClientID != in.ClientID {
			continue
		}
		switch {
		case r.TimekeeperID != in.TimekeeperID, (r.RateCents == nil) != (in.Rate == nil):
			return false
		case in.Rate == nil:
			return true
		}
		c, err := billing.HourlyRate(*in.Rate)
		return err == nil && int64(c) == *r.RateCents
	}
	return in.Rate == nil && in.TimekeeperID == ""
}

// ---- entry forms: the codes to offer --------------------------------------------

// entryCodes are the activity and task codes the entry forms offer: the UTBMS sets, then
// the codes of clients that use their own list, each labelled with its clients (the
// store accepts a client's code only on that client's matters).
func (s *Server) entryCodes(ctx context.Context) (acts, tasks []code) {
	acts, tasks = codes(utbms.Activities), codes(utbms.LitigationTasks)
	custom, err := s.Store.CustomCodes(ctx)
	if err != nil {
		s.Log.Error("list custom codes", "err", err)
		return acts, tasks
	}
	seen := map[string]int{}
	for _, k := range custom {
		list := &tasks
		if k.Kind == "activity" {
			list = &acts
		}
		key := k.Kind + "/" + k.Code
		if i, ok := seen[key]; ok {
			(*list)[i].Name = strings.TrimSuffix((*list)[i].Name, ")") + ", " + k.ClientName + ")"
			continue
		}
		if (k.Kind == "activity" && utbms.ValidActivity(k.Code)) || (k.Kind == "task" && utbms.ValidTask(k.Code)) {
			continue // already offered
		}
		seen[key] = len(*list)
		*list = append(*list, code{k.Code, k.Description + " (" + k.ClientName + ")"})
	}
	return acts, tasks
}

// ---- billing page: the LEDES check ---------------------------------------------

// ledesCheckFor runs the pre-export LEDES check of the billing page's filters (one
// matter and a period); nil when the filters do not name one invoice.
func (s *Server) ledesCheckFor(c *fiber.Ctx, matter, from, to, timekeeper string) *exports.LEDESCheck {
	if matter == "" || from == "" || to == "" {
		return nil
	}
	p := me(c)
	chk, err := s.exports.CheckLEDES(c.UserContext(), p.Actor, exports.Params{Matter: matter, From: from, To: to, Timekeeper: timekeeper})
	if err != nil {
		return nil // the page shows the entries; the export answers with the reason
	}
	return chk
}
