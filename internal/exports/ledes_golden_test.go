package exports

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dictum/internal/billing"
	"dictum/internal/ebilling"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/settings"
	"dictum/internal/store"
	"dictum/internal/testrig/ledescheck"
)

var update = flag.Bool("update", false, "rewrite the golden LEDES files")

// ebWorld is a firm billing three clients with different e-billing profiles:
//   - Acme Corp: e-billing, both codes, UTBMS litigation, its own description template,
//     an approved rate and its own timekeeper id for Alice;
//   - Globex: e-billing, task codes only, its own code list (G-codes);
//   - Initech: no e-billing platform (both codes, litigation set, default description).
type ebWorld struct {
	*world
	bob                      identity.Actor
	acme, globex, initech    *store.Matter
	acmeClient, globexClient string
	eb                       *ebilling.Service
}

func newEBWorld(t *testing.T) *ebWorld {
	w := &ebWorld{world: newWorld(t)}
	w.eb = ebilling.New(w.st)
	w.bob = w.user("bob", store.RoleTimekeeper)
	firmID, prefix, next := "12-3456789", "SMF-", 1041
	if _, err := w.firm.Update(w.ctx, w.ad, settings.Patch{LEDESFirmID: &firmID, InvoicePrefix: &prefix, InvoiceNextNumber: &next}); err != nil {
		t.Fatal(err)
	}
	w.acme = w.newMatter("2026-001", "Acme Corp", "Acme Corp v. Beta Industries", "ACME-LIT-7")
	w.globex = w.newMatter("2026-002", "Globex", "Globex supply contract", "GX/2026/88")
	w.initech = w.newMatter("2026-003", "Initech", "Initech v. Lumbergh", "")
	w.acmeClient, w.globexClient = w.acme.ClientID, w.globex.ClientID
	yes := true
	w.client(w.acme.ClientID, ebilling.ClientPatch{LEDESClientID: ptr("ACME01"), EBilling: &yes, RequiredCodes: ptr("both"),
		InvoiceDescription: ptr("{client} matter {client_matter_id}: services {from} to {to}")})
	if _, err := w.eb.ImportCodes(w.ctx, w.ad, w.globex.ClientID, strings.NewReader("kind,code,description\ntask,G100,Contract advice\ntask,G200,Negotiation\n")); err != nil {
		t.Fatal(err)
	}
	w.client(w.globex.ClientID, ebilling.ClientPatch{LEDESClientID: ptr("GLX-7734"), EBilling: &yes, RequiredCodes: ptr("task"), CodeSet: ptr("custom")})
	w.client(w.initech.ClientID, ebilling.ClientPatch{LEDESClientID: ptr("INITECH")})
	rate := 375.0
	w.timekeeper("alice", ebilling.TimekeeperInput{FirstName: ptr("Alice"), LastName: ptr("Adams"), Classification: ptr("partner"), TimekeeperID: ptr("AA1"),
		ClientRates: []ebilling.ClientRateInput{{ClientID: w.acme.ClientID, Rate: &rate, TimekeeperID: "ACME-TK-17"}}}, 40000)
	w.timekeeper("bob", ebilling.TimekeeperInput{FirstName: ptr("Jürgen"), LastName: ptr("Müller"), Classification: ptr("AS"), TimekeeperID: ptr("JM2")}, 25000)
	return w
}

func ptr[T any](v T) *T { return &v }

func (w *ebWorld) newMatter(number, client, name, clientMatter string) *store.Matter {
	w.t.Helper()
	m := &store.Matter{Number: number, Client: client, Name: name, Status: "open", Litigation: true, ClientMatterID: clientMatter}
	if err := w.st.CreateMatter(w.ctx, w.ad, m); err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *ebWorld) client(id string, p ebilling.ClientPatch) {
	w.t.Helper()
	if _, err := w.eb.UpdateClient(w.ctx, w.ad, id, p); err != nil {
		w.t.Fatal(err)
	}
}

func (w *ebWorld) timekeeper(name string, in ebilling.TimekeeperInput, rate int64) {
	w.t.Helper()
	ch, err := ebilling.CheckTimekeeper(in)
	if err != nil {
		w.t.Fatal(err)
	}
	pr := &rate
	if _, err := w.st.UpdateUser(w.ctx, w.ad, name, store.UserPatch{Classification: ch.Classification, TimekeeperID: ch.TimekeeperID, EBilling: ch.Patch, RateCents: &pr}); err != nil {
		w.t.Fatal(err)
	}
}

// add creates an approved entry of who on matter m.
func (w *ebWorld) add(who identity.Actor, m *store.Matter, f entry.Fields) string {
	w.t.Helper()
	f.MatterID, f.Billable = m.ID, true
	e, err := w.st.CreateEntry(w.ctx, who, store.NewEntry{UserID: who.UserID, Fields: f})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.Approve(w.ctx, who, e.ID, w.today); err != nil {
		w.t.Fatal(err)
	}
	return e.ID
}

// export makes a kept, marking LEDES export of November for m and returns its file.
func (w *ebWorld) export(m *store.Matter, number string) ([]byte, *store.Export, error) {
	x, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatLEDES, Matter: m.ID, From: "2026-11-01", To: "2026-11-30", Mark: true, InvoiceNumber: number})
	if err != nil {
		return nil, nil, err
	}
	dl, err := w.svc.Open(w.ctx, w.bill, x.ID)
	if err != nil {
		return nil, nil, err
	}
	defer dl.Body.Close()
	body, err := io.ReadAll(dl.Body)
	return body, x, err
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "ebilling", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (go test -run Golden ./internal/exports -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %q\nwant: %q", path, got, want)
	}
}

// Three clients, three profiles, three files: each is byte-for-byte the golden file and
// passes the independent checker under that client's rules; no invoice number repeats.
func TestLEDESGoldenThreeClients(t *testing.T) {
	w := newEBWorld(t)
	w.add(w.alice, w.acme, entry.Fields{Date: "2026-11-03", Tenths: 25, Activity: "A103", Task: "L210", Narrative: "Drafted the “amended” complaint; call with Müller re: exhibits."})
	w.add(w.bob, w.acme, entry.Fields{Date: "2026-11-04", Tenths: 12, Activity: "A102", Task: "L120", Narrative: "Research | standing [Rule 12(b)(6)] – 3 cases…"})
	w.add(w.alice, w.globex, entry.Fields{Date: "2026-11-10", Tenths: 8, Activity: "A104", Task: "G100", Narrative: "Advised on termination clause."})
	w.add(w.bob, w.globex, entry.Fields{Date: "2026-11-11", Tenths: 15, Activity: "A106", Task: "G200", Narrative: "Negotiation call with counterparty."})
	w.add(w.alice, w.initech, entry.Fields{Date: "2026-11-19", Tenths: 3, Activity: "A104", Task: "L310", Narrative: "Reviewed interrogatories."})
	w.add(w.bob, w.initech, entry.Fields{Date: "2026-11-20", Tenths: 41, Activity: "A103", Task: "L320", Narrative: "Prepared document production."})

	rules := map[string]ledescheck.Rules{
		"acme.ledes":    {RequireTask: true, RequireActivity: true, RequireClientMatterID: true},
		"globex.ledes":  {RequireTask: true, Tasks: map[string]bool{"G100": true, "G200": true}, RequireClientMatterID: true},
		"initech.ledes": {RequireTask: true, RequireActivity: true},
	}
	var files [][]byte
	for _, c := range []struct {
		file string
		m    *store.Matter
		want []string
	}{
		{"acme.ledes", w.acme, []string{"|ACME01|2026-001|", "|SMF-001041|", "|ACME-TK-17|", "|375.00|Adams, Alice|PT|ACME-LIT-7[]", "Muller, Jurgen|AS",
			`Drafted the "amended" complaint; call with Muller re: exhibits.`, "Acme Corp matter ACME-LIT-7: services 2026-11-01 to 2026-11-30"}},
		{"globex.ledes", w.globex, []string{"|GLX-7734|", "|SMF-001042|", "|G100||A104|AA1|", "|400.00|Adams, Alice|PT|GX/2026/88[]"}},
		{"initech.ledes", w.initech, []string{"|INITECH|", "|SMF-001043|", "Legal services: Initech v. Lumbergh", "|400.00|Adams, Alice|PT|[]"}},
	} {
		body, x, err := w.export(c.m, "")
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		golden(t, c.file, body)
		for _, s := range c.want {
			if !strings.Contains(string(body), s) {
				t.Errorf("%s lacks %q", c.file, s)
			}
		}
		if p := ledescheck.Check(body, rules[c.file]); len(p) > 0 {
			t.Errorf("%s fails the independent checker: %v", c.file, p)
		}
		if !x.Marked || x.EntryCount != 2 {
			t.Errorf("%s: export %+v", c.file, x)
		}
		files = append(files, body)
	}
	if d := ledescheck.Duplicates(files...); len(d) > 0 {
		t.Fatalf("duplicate invoice numbers: %v", d)
	}
}

// A number a client already has is refused before any file exists, naming the fix; the
// same number for another client is fine; a refused export uses up no number.
func TestLEDESInvoiceNumbers(t *testing.T) {
	w := newEBWorld(t)
	w.add(w.alice, w.acme, entry.Fields{Date: "2026-11-03", Tenths: 5, Activity: "A103", Task: "L210", Narrative: "Drafted."})
	if _, _, err := w.export(w.acme, "ACME-INV-1"); err != nil {
		t.Fatal(err)
	}
	w.add(w.alice, w.acme, entry.Fields{Date: "2026-11-05", Tenths: 5, Activity: "A103", Task: "L210", Narrative: "Revised."})
	_, _, err := w.export(w.acme, "ACME-INV-1")
	var rej *billing.RejectError
	if !errors.As(err, &rej) || rej.Problems[0].Field != "INVOICE_NUMBER" || !strings.Contains(rej.Problems[0].Message, "already sent to client Acme Corp") ||
		!strings.Contains(rej.Problems[0].Fix, "leave invoice_number empty") {
		t.Fatalf("duplicate number: %v", err)
	}
	w.add(w.alice, w.initech, entry.Fields{Date: "2026-11-05", Tenths: 5, Activity: "A103", Task: "L210", Narrative: "Drafted."})
	if _, _, err := w.export(w.initech, "ACME-INV-1"); err != nil {
		t.Fatalf("same number, other client: %v", err)
	}
	// A refused export (Globex: missing task code) takes no number.
	w.add(w.alice, w.globex, entry.Fields{Date: "2026-11-05", Tenths: 5, Activity: "A103", Narrative: "No task code."})
	chk, err := w.svc.CheckLEDES(w.ctx, w.bill, Params{Matter: w.globex.ID, From: "2026-11-01", To: "2026-11-30"})
	if err != nil || chk.OK || chk.NextInvoiceNumber != "SMF-001041" || chk.InvoiceNumber != "SMF-001041" || len(chk.Problems) != 1 ||
		chk.Problems[0].Field != "LINE_ITEM_TASK_CODE" || !strings.Contains(chk.Problems[0].Message, "client Globex requires") {
		t.Fatalf("check: %+v %v", chk, err)
	}
	if _, _, err := w.export(w.globex, ""); !errors.As(err, &rej) {
		t.Fatalf("globex: %v", err)
	}
	body, _, err := w.export(w.acme, "")
	if err != nil || !strings.Contains(string(body), "|SMF-001041|") {
		t.Fatalf("the refused export used a number: %v %s", err, body)
	}
	// The sequence never goes back.
	back := 1041
	if _, err := w.firm.Update(w.ctx, w.ad, settings.Patch{InvoiceNextNumber: &back}); err == nil || !strings.Contains(err.Error(), "never reused") {
		t.Fatalf("sequence moved back: %v", err)
	}
	if n, _ := w.st.PeekInvoiceNumber(w.ctx); n != "SMF-001042" {
		t.Fatalf("next number %s", n)
	}
}

// An e-billing client's profile is checked before any file: its LEDES id, the client
// matter id it requires, and the rate and id it approved for a timekeeper.
func TestLEDESProfileProblemsNameTheFix(t *testing.T) {
	w := newEBWorld(t)
	w.add(w.alice, w.acme, entry.Fields{Date: "2026-11-03", Tenths: 5, Activity: "A103", Task: "L210", Narrative: "NULL"})
	empty := ""
	if _, err := w.st.UpdateMatter(w.ctx, w.ad, w.acme.ID, store.MatterPatch{ClientMatterID: &empty}); err != nil {
		t.Fatal(err)
	}
	chk, err := w.svc.CheckLEDES(w.ctx, w.bill, Params{Matter: w.acme.ID, From: "2026-11-01", To: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]billing.Problem{}
	for _, p := range chk.Problems {
		got[p.Field] = p
	}
	if p := got["CLIENT_MATTER_ID"]; !strings.Contains(p.Fix, "PATCH /api/v1/matters/"+w.acme.ID) {
		t.Errorf("client matter id: %+v", chk.Problems)
	}
	if p := got["LINE_ITEM_DESCRIPTION"]; !strings.Contains(p.Message, "NULL") || !strings.Contains(p.Fix, "reopen the entry") {
		t.Errorf("NULL narrative: %+v", chk.Problems)
	}
	// Turning e-billing on without a LEDES client id is refused, naming the field.
	yes := true
	if _, err := w.eb.UpdateClient(w.ctx, w.ad, w.initech.ClientID, ebilling.ClientPatch{LEDESClientID: &empty, EBilling: &yes}); err == nil ||
		!strings.Contains(err.Error(), "ledes_client_id") {
		t.Fatalf("e-billing without id: %v", err)
	}
}
