// Package ebilling holds what each client's e-billing platform requires of a LEDES
// invoice: the client profile (LEDES client id, e-billing on/off, required codes, code
// set, invoice description template), a custom code set imported from CSV, and the
// timekeeper fields platforms check (Last, First names, classification, ids and rates
// per client). It validates every change; exports reads the profile to build and check
// an invoice (see billing.Profile).
package ebilling

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"dictum/internal/billing"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/utbms"
)

// DefaultDescription is the invoice description template of a client that has none.
const DefaultDescription = "Legal services: {matter_name}"

// Limits of the profile's text fields.
const (
	MaxNameLen     = 60
	MaxTemplateLen = 500
	MaxCodes       = 2000
	MaxCodesCSV    = 1 << 20
)

// InvalidError is a refused change: Field is the API field, Message says why and how to fix it.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, a ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// Service reads and changes e-billing profiles.
type Service struct {
	store *store.Store
}

// New returns the e-billing service.
func New(st *store.Store) *Service { return &Service{store: st} }

// ClientView is a client, its profile and its custom codes.
type ClientView struct {
	*store.Client
	Codes []store.ClientCode `json:"custom_codes"`
}

// Client reads a client's profile and custom codes.
func (s *Service) Client(ctx context.Context, id string) (*ClientView, error) {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return nil, err
	}
	codes, err := s.store.ClientCodes(ctx, id)
	if err != nil {
		return nil, err
	}
	if codes == nil {
		codes = []store.ClientCode{}
	}
	return &ClientView{Client: c, Codes: codes}, nil
}

// Clients lists every client with its profile.
func (s *Service) Clients(ctx context.Context) ([]*store.Client, error) { return s.store.Clients(ctx) }

// ClientPatch is a change to a client's profile; nil fields stay.
type ClientPatch struct {
	LEDESClientID      *string `json:"ledes_client_id"`
	EBilling           *bool   `json:"ebilling"`
	RequiredCodes      *string `json:"required_codes"`
	CodeSet            *string `json:"code_set"`
	InvoiceDescription *string `json:"invoice_description"`
}

// placeholders are the names an invoice description template may use.
var placeholders = []string{"client", "matter_number", "matter_name", "client_matter_id", "from", "to", "invoice_number"}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// CheckID validates an ID field a LEDES file carries (ledes_client_id, timekeeper_id,
// client_matter_id): at most 20 characters, plain ASCII without the LEDES delimiters, not
// the literal NULL. It returns the trimmed value.
func CheckID(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if clean, bad := billing.LEDESText(v); len(bad) > 0 || clean != v || !isASCII(v) {
		return "", invalid(field, "%q must be plain ASCII letters, digits and punctuation without |, [ or ] (LEDES 1998B)", v)
	}
	if billing.IsLiteralNULL(v) {
		return "", invalid(field, `must not be the text "NULL" (platforms read it as empty)`)
	}
	if len(v) > billing.MaxLEDESID {
		return "", invalid(field, "is %d characters long; LEDES 1998B ID fields hold at most %d", len(v), billing.MaxLEDESID)
	}
	return v, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}

// check validates and normalises a patch against the client it changes.
func (p *ClientPatch) check(c *store.Client) error {
	if p.LEDESClientID != nil {
		v, err := CheckID("ledes_client_id", *p.LEDESClientID)
		if err != nil {
			return err
		}
		p.LEDESClientID = &v
	}
	if p.RequiredCodes != nil {
		v := strings.ToLower(strings.TrimSpace(*p.RequiredCodes))
		switch v {
		case store.RequiredCodesTask, store.RequiredCodesActivity, store.RequiredCodesBoth, store.RequiredCodesNone:
		default:
			return invalid("required_codes", "must be task, activity, both or none")
		}
		p.RequiredCodes = &v
	}
	if p.CodeSet != nil {
		v := strings.ToLower(strings.TrimSpace(*p.CodeSet))
		if v != store.CodeSetLitigation && v != store.CodeSetCustom {
			return invalid("code_set", "must be %s (the UTBMS litigation L-codes) or %s (imported from CSV)", store.CodeSetLitigation, store.CodeSetCustom)
		}
		if v == store.CodeSetCustom && c.CustomTasks+c.CustomActivities == 0 {
			return invalid("code_set", "import the client's code list first (POST /api/v1/clients/%s/codes with a CSV of kind,code,description)", c.ID)
		}
		p.CodeSet = &v
	}
	if p.InvoiceDescription != nil {
		v := strings.TrimSpace(*p.InvoiceDescription)
		if err := CheckTemplate(v); err != nil {
			return err
		}
		p.InvoiceDescription = &v
	}
	id := c.LEDESClientID
	if p.LEDESClientID != nil {
		id = *p.LEDESClientID
	}
	on := c.EBilling
	if p.EBilling != nil {
		on = *p.EBilling
	}
	if on && id == "" {
		return invalid("ledes_client_id", "is missing: e-billing needs the id the client's platform knows it by (at most 20 characters)")
	}
	return nil
}

// CheckTemplate validates an invoice description template: at most MaxTemplateLen
// characters, placeholders only from the known list.
func CheckTemplate(v string) error {
	if utf8.RuneCountInString(v) > MaxTemplateLen {
		return invalid("invoice_description", "is longer than %d characters", MaxTemplateLen)
	}
	for _, m := range placeholderRE.FindAllString(v, -1) {
		name := strings.Trim(m, "{}")
		ok := false
		for _, p := range placeholders {
			ok = ok || p == name
		}
		if !ok {
			return invalid("invoice_description", "unknown placeholder %s; use {%s}", m, strings.Join(placeholders, "}, {"))
		}
	}
	return nil
}

// UpdateClient validates a patch and applies it, audited.
func (s *Service) UpdateClient(ctx context.Context, a identity.Actor, id string, p ClientPatch) (*ClientView, error) {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := p.check(c); err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateClient(ctx, a, id, store.ClientPatch{LEDESClientID: p.LEDESClientID, EBilling: p.EBilling,
		RequiredCodes: p.RequiredCodes, CodeSet: p.CodeSet, InvoiceDescription: p.InvoiceDescription}); err != nil {
		return nil, err
	}
	return s.Client(ctx, id)
}

// nameRE is a first or last name as a LEDES file carries it (after transliteration).
var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z .'-]*$`)

var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-]{0,19}$`)

// ParseCodes reads a client's code list from CSV: one code a line as kind,code,description
// (kind task or activity; a header line naming kind/code is skipped) or code,description
// (an A-code is an activity, anything else a task). Every bad line is reported by number.
func ParseCodes(r io.Reader) ([]store.ClientCode, error) {
	cr := csv.NewReader(io.LimitReader(r, MaxCodesCSV+1))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []store.ClientCode
	var probs []string
	seen := map[string]int{}
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, invalid("codes", "line %d is not valid CSV: %v", line, err)
		}
		if line == 1 && len(rec) > 0 {
			h := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")))
			if h == "kind" || h == "type" || h == "code" {
				continue
			}
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(strings.TrimPrefix(rec[i], "\ufeff"))
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		var c store.ClientCode
		switch len(rec) {
		case 2:
			c.Code, c.Description = rec[0], rec[1]
		case 3:
			c.Kind, c.Code, c.Description = strings.ToLower(rec[0]), rec[1], rec[2]
		default:
			probs = append(probs, fmt.Sprintf("line %d: has %d columns; use kind,code,description", line, len(rec)))
			continue
		}
		c.Code = strings.ToUpper(c.Code)
		if c.Kind == "" {
			c.Kind = "task"
			if strings.HasPrefix(c.Code, "A") {
				c.Kind = "activity"
			}
		}
		switch {
		case c.Kind != "task" && c.Kind != "activity":
			probs = append(probs, fmt.Sprintf("line %d: kind %q must be task or activity (expense codes are not used: Dictum bills fees)", line, c.Kind))
			continue
		case !codeRE.MatchString(c.Code):
			probs = append(probs, fmt.Sprintf("line %d: code %q must be 1-20 ASCII letters, digits, dots or dashes", line, c.Code))
			continue
		}
		desc, bad := billing.LEDESText(c.Description)
		if len(bad) > 0 || len(desc) > 200 {
			probs = append(probs, fmt.Sprintf("line %d: description must be at most 200 plain characters", line))
			continue
		}
		c.Description = desc
		k := c.Kind + "/" + c.Code
		if first, dup := seen[k]; dup {
			probs = append(probs, fmt.Sprintf("line %d: %s code %s already on line %d", line, c.Kind, c.Code, first))
			continue
		}
		seen[k] = line
		out = append(out, c)
	}
	if len(probs) > 0 {
		if len(probs) > 20 {
			probs = append(probs[:20], fmt.Sprintf("and %d more", len(probs)-20))
		}
		return nil, invalid("codes", "%s", strings.Join(probs, "; "))
	}
	if len(out) == 0 {
		return nil, invalid("codes", "the CSV has no codes; send kind,code,description lines (e.g. task,L110,Fact Investigation)")
	}
	if len(out) > MaxCodes {
		return nil, invalid("codes", "has %d codes; at most %d", len(out), MaxCodes)
	}
	return out, nil
}

// ImportCodes replaces a client's custom code set with the codes of a CSV.
func (s *Service) ImportCodes(ctx context.Context, a identity.Actor, clientID string, r io.Reader) (*ClientView, error) {
	if _, err := s.store.ClientByID(ctx, clientID); err != nil {
		return nil, err
	}
	codes, err := ParseCodes(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceClientCodes(ctx, a, clientID, codes); err != nil {
		return nil, err
	}
	return s.Client(ctx, clientID)
}

// Profile is the billing.Profile of a client's LEDES invoices. A client with e-billing
// off gets the default (both codes, UTBMS litigation set); with e-billing on its own
// required codes and code set apply and its matters need the client's matter id.
func (s *Service) Profile(ctx context.Context, c *store.Client) (billing.Profile, error) {
	p := billing.DefaultProfile()
	p.ClientName, p.ClientID = c.Name, c.ID
	if !c.EBilling {
		return p, nil
	}
	p.RequireClientMatterID = true
	p.RequireTask = c.RequiredCodes == store.RequiredCodesTask || c.RequiredCodes == store.RequiredCodesBoth
	p.RequireActivity = c.RequiredCodes == store.RequiredCodesActivity || c.RequiredCodes == store.RequiredCodesBoth
	if c.CodeSet == store.CodeSetCustom {
		codes, err := s.store.ClientCodes(ctx, c.ID)
		if err != nil {
			return p, err
		}
		p.Tasks, p.Activities = map[string]string{}, map[string]string{}
		for _, k := range codes {
			if k.Kind == "task" {
				p.Tasks[k.Code] = k.Description
			} else {
				p.Activities[k.Code] = k.Description
			}
		}
		if len(p.Activities) == 0 {
			p.Activities = utbms.Activities // a task-only list keeps the standard activity codes
		}
		p.CodeSetName = "client " + c.Name + "'s code set"
	}
	return p, nil
}

// DescriptionVars are the values of an invoice description template's placeholders.
type DescriptionVars struct {
	Client, MatterNumber, MatterName, ClientMatterID, From, To, InvoiceNumber string
}

// Description fills a template (DefaultDescription when empty).
func Description(tmpl string, v DescriptionVars) string {
	if strings.TrimSpace(tmpl) == "" {
		tmpl = DefaultDescription
	}
	return strings.NewReplacer("{client}", v.Client, "{matter_number}", v.MatterNumber, "{matter_name}", v.MatterName,
		"{client_matter_id}", v.ClientMatterID, "{from}", v.From, "{to}", v.To, "{invoice_number}", v.InvoiceNumber).Replace(tmpl)
}

// TimekeeperInput is the e-billing part of PATCH /api/v1/users/{username}.
type TimekeeperInput struct {
	FirstName      *string           `json:"first_name"`
	LastName       *string           `json:"last_name"`
	Classification *string           `json:"classification"`
	TimekeeperID   *string           `json:"timekeeper_id"`
	ClientRates    []ClientRateInput `json:"client_rates"`
}

// ClientRateInput is one client's approved rate and/or timekeeper id for a timekeeper;
// a null rate and an empty id remove the client's row.
type ClientRateInput struct {
	ClientID     string   `json:"client_id"`
	Rate         *float64 `json:"rate"`
	TimekeeperID string   `json:"timekeeper_id"`
}

// TimekeeperChange is a validated TimekeeperInput: the normalised classification and
// timekeeper id, and the store patch of the rest.
type TimekeeperChange struct {
	Classification, TimekeeperID *string
	Patch                        *store.TimekeeperBillingPatch
}

// CheckTimekeeper validates the e-billing fields of a user patch: names without commas
// (the file writes "Last, First"), a LEDES classification (PT, AS, OC, LA, OT, or a
// title such as "partner"), ids of at most 20 characters, rates from 0 to 100000.
func CheckTimekeeper(in TimekeeperInput) (TimekeeperChange, error) {
	var out TimekeeperChange
	name := func(field string, p *string) (*string, error) {
		if p == nil {
			return nil, nil
		}
		v := strings.Join(strings.Fields(*p), " ")
		if strings.ContainsAny(v, ",|[]") {
			return nil, invalid(field, "must not contain a comma, | or brackets: LEDES writes the name as \"Last, First\"")
		}
		if utf8.RuneCountInString(v) > MaxNameLen {
			return nil, invalid(field, "is longer than %d characters", MaxNameLen)
		}
		if a, bad := billing.LEDESText(v); len(bad) > 0 || (a != "" && !nameRE.MatchString(a)) {
			return nil, invalid(field, "must start with a letter and hold only letters, spaces, dots, apostrophes and hyphens (accents are fine: Müller becomes Muller)")
		}
		if billing.IsLiteralNULL(v) {
			return nil, invalid(field, `must not be the text "NULL"`)
		}
		return &v, nil
	}
	var patch store.TimekeeperBillingPatch
	var err error
	if patch.FirstName, err = name("first_name", in.FirstName); err != nil {
		return out, err
	}
	if patch.LastName, err = name("last_name", in.LastName); err != nil {
		return out, err
	}
	if in.Classification != nil {
		v := strings.TrimSpace(*in.Classification)
		if v != "" {
			if v = billing.LEDESClass(v); v == "" {
				return out, invalid("classification", "must be a LEDES classification: PT (partner), AS (associate), OC (of counsel), LA (legal assistant/paralegal) or OT (other)")
			}
		}
		out.Classification = &v
	}
	if in.TimekeeperID != nil {
		v, err := CheckID("timekeeper_id", *in.TimekeeperID)
		if err != nil {
			return out, err
		}
		out.TimekeeperID = &v
	}
	seen := map[string]bool{}
	for _, r := range in.ClientRates {
		cid := strings.TrimSpace(r.ClientID)
		if cid == "" {
			return out, invalid("client_rates", "each element needs client_id (the client_id of GET /api/v1/matters/{id})")
		}
		if seen[cid] {
			return out, invalid("client_rates", "client %s is listed twice", cid)
		}
		seen[cid] = true
		cr := store.ClientRate{ClientID: cid}
		if r.Rate != nil {
			c, err := billing.HourlyRate(*r.Rate)
			if err != nil || c == 0 {
				return out, invalid("client_rates", "rate for client %s must be between 0.01 and %d per hour (null removes it)", cid, billing.MaxHourlyRate)
			}
			v := int64(c)
			cr.RateCents = &v
		}
		if cr.TimekeeperID, err = CheckID("client_rates.timekeeper_id", r.TimekeeperID); err != nil {
			return out, err
		}
		patch.ClientRates = append(patch.ClientRates, cr)
	}
	sort.Slice(patch.ClientRates, func(i, j int) bool { return patch.ClientRates[i].ClientID < patch.ClientRates[j].ClientID })
	if patch.FirstName != nil || patch.LastName != nil || len(patch.ClientRates) > 0 {
		out.Patch = &patch
	}
	return out, nil
}
