package exports

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"dictum/internal/billing"
	"dictum/internal/ebilling"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// previewNumber is the invoice number of a LEDES preview made without one.
const previewNumber = "PREVIEW"

// ledesInvoice is a LEDES file with the entries it bills, their billable hours and the
// invoice number it uses for its client.
type ledesInvoice struct {
	body   []byte
	ids    []string
	tenths int
	record *store.Invoice
}

// ledes builds a LEDES 1998B invoice into memory under the client's e-billing profile,
// or a *billing.RejectError listing every problem that keeps it from being accepted
// (including an invoice number the client already has).
func (s *Service) ledes(ctx context.Context, p Params, f store.ExportFilter, number string) (*ledesInvoice, error) {
	m, err := s.store.MatterFor(ctx, identity.Actor{UserID: f.ViewerID}, p.Matter)
	if err != nil {
		return nil, refuse(BadRequest, "no matter %q", p.Matter)
	}
	client, err := s.store.ClientByID(ctx, m.ClientID)
	if err != nil {
		return nil, fmt.Errorf("ledes: client of matter %s: %w", m.Number, err)
	}
	prof, err := ebilling.New(s.store).Profile(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("ledes: e-billing profile: %w", err)
	}
	rows, err := s.store.ExportRows(ctx, f)
	if err != nil {
		return nil, err
	}
	var list []billing.Row
	tenths := 0
	for {
		r, ok, err := rows.Next()
		if err != nil {
			rows.Close()
			return nil, err
		}
		if !ok {
			break
		}
		list = append(list, r)
		if r.Billable {
			tenths += int(r.Hours)
		}
	}
	rows.Close()
	if len(list) == 0 {
		return nil, refuse(NothingToExport, "no approved entries for matter %s between %s and %s", m.Number, p.From, p.To)
	}
	tks, err := s.store.LEDESTimekeepers(ctx, m.ID, p.From, p.To)
	if err != nil {
		return nil, err
	}
	for i := range list {
		t, ok := tks[list[i].EntryID]
		if !ok {
			continue
		}
		list[i].TimekeeperUser, list[i].FirstName, list[i].LastName = t.Username, t.FirstName, t.LastName
		if t.ClientTimekeeperID != "" {
			list[i].TimekeeperID = t.ClientTimekeeperID // the id this client's platform knows them by
		}
	}
	firm, err := s.settings.Firm(ctx)
	if err != nil {
		return nil, err
	}
	var probs []billing.Problem
	if number != previewNumber {
		used, err := s.store.InvoiceNumberUsed(ctx, client.ID, number)
		if err != nil {
			return nil, err
		}
		if used != "" {
			probs = append(probs, billing.Problem{Field: "INVOICE_NUMBER",
				Message: fmt.Sprintf("invoice number %s was already sent to client %s (export %s); platforms reject a duplicate invoice number", number, client.Name, used),
				Fix:     "leave invoice_number empty to get the firm's next number, or choose a number not used for this client"})
		}
	}
	desc := ebilling.Description(client.InvoiceDescription, ebilling.DescriptionVars{Client: client.Name, MatterNumber: m.Number, MatterName: m.Name,
		ClientMatterID: m.ClientMatterID, From: p.From, To: p.To, InvoiceNumber: number})
	inv := billing.Invoice{Number: number, Date: s.today().Format("2006-01-02"), PeriodStart: p.From, PeriodEnd: p.To, LawFirmID: firm.LEDESFirmID,
		ClientID: client.LEDESClientID, LawFirmMatterID: m.Number, ClientMatterID: m.ClientMatterID, Description: desc, MatterID: m.ID}
	var buf bytes.Buffer
	err = billing.WriteLEDESProfile(&buf, inv, list, prof)
	var rej *billing.RejectError
	switch {
	case errors.As(err, &rej):
		return nil, &billing.RejectError{Problems: append(probs, rej.Problems...)}
	case err != nil:
		return nil, err
	case len(probs) > 0:
		return nil, &billing.RejectError{Problems: probs}
	}
	ids := make([]string, 0, len(list))
	for _, r := range list {
		ids = append(ids, r.EntryID)
	}
	return &ledesInvoice{body: buf.Bytes(), ids: ids, tenths: tenths,
		record: &store.Invoice{ClientID: client.ID, Number: number, MatterID: m.ID}}, nil
}

// numberedLEDES builds the invoice of a kept LEDES export. Without p.InvoiceNumber it is
// checked under the number it would get and only then takes the firm's next number, so a
// refused export uses up no number; p.InvoiceNumber is set to the number used.
func (s *Service) numberedLEDES(ctx context.Context, a identity.Actor, p *Params, f store.ExportFilter) (*ledesInvoice, error) {
	if p.InvoiceNumber != "" {
		return s.ledes(ctx, *p, f, p.InvoiceNumber)
	}
	peek, err := s.store.PeekInvoiceNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("invoice number: %w", err)
	}
	if _, err := s.ledes(ctx, *p, f, peek); err != nil {
		return nil, err
	}
	if p.InvoiceNumber, err = s.store.NextInvoiceNumber(ctx, a); err != nil {
		return nil, fmt.Errorf("invoice number: %w", err)
	}
	return s.ledes(ctx, *p, f, p.InvoiceNumber)
}

// LEDESCheck is what a LEDES invoice would be, checked before any file exists.
type LEDESCheck struct {
	// OK is true when the invoice passes every rule; Problems lists them otherwise.
	OK       bool              `json:"ok"`
	Problems []billing.Problem `json:"problems"`
	// InvoiceNumber is the number checked: the one asked for, or the firm's next one
	// (NextInvoiceNumber), which a kept export made now would get.
	InvoiceNumber     string `json:"invoice_number"`
	NextInvoiceNumber string `json:"next_invoice_number"`
	Entries           int    `json:"entries"`
	ClientID          string `json:"client_id"`
	ClientName        string `json:"client_name"`
	EBilling          bool   `json:"ebilling"`
}

// CheckLEDES checks a LEDES invoice for one matter and period without writing or
// numbering anything, under the invoice number a kept export would use.
func (s *Service) CheckLEDES(ctx context.Context, a identity.Actor, p Params) (*LEDESCheck, error) {
	if err := p.check(true); err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, a, &p)
	if err != nil {
		return nil, err
	}
	m, err := s.store.MatterFor(ctx, identity.Actor{UserID: f.ViewerID}, p.Matter)
	if err != nil {
		return nil, refuse(BadRequest, "no matter %q", p.Matter)
	}
	client, err := s.store.ClientByID(ctx, m.ClientID)
	if err != nil {
		return nil, err
	}
	next, err := s.store.PeekInvoiceNumber(ctx)
	if err != nil {
		return nil, err
	}
	out := &LEDESCheck{NextInvoiceNumber: next, InvoiceNumber: p.InvoiceNumber, Problems: []billing.Problem{},
		ClientID: client.ID, ClientName: client.Name, EBilling: client.EBilling}
	if out.InvoiceNumber == "" {
		out.InvoiceNumber = next
	}
	inv, err := s.ledes(ctx, p, f, out.InvoiceNumber)
	var rej *billing.RejectError
	switch {
	case errors.As(err, &rej):
		out.Problems = rej.Problems
	case err != nil:
		return nil, err
	default:
		out.OK, out.Entries = true, len(inv.ids)
	}
	return out, nil
}
