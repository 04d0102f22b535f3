package ebilling

import (
	"strings"
	"testing"

	"dictum/internal/store"
)

func TestCheckID(t *testing.T) {
	for in, want := range map[string]string{
		"  ACME01 ": "", "": "", "ACME-LIT/7.2": "", strings.Repeat("X", 20): "",
		strings.Repeat("X", 21): "at most 20", "NULL": "NULL", "null": "NULL", "AC|ME": "ASCII", "Müller": "ASCII", "A[1]": "ASCII", "A\tB": "ASCII",
	} {
		_, err := CheckID("ledes_client_id", in)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "ledes_client_id: ")):
			t.Errorf("%q: %v, want %q naming the field", in, err, want)
		}
	}
}

func TestClientPatchCheck(t *testing.T) {
	c := &store.Client{ID: "cli_1", Name: "Acme"}
	yes := true
	bad := func(p ClientPatch, field, want string) {
		t.Helper()
		err := p.check(c)
		if err == nil || !strings.HasPrefix(err.Error(), field+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %s: %s", p, err, field, want)
		}
	}
	bad(ClientPatch{EBilling: &yes}, "ledes_client_id", "is missing")
	bad(ClientPatch{RequiredCodes: new("some")}, "required_codes", "task, activity, both or none")
	bad(ClientPatch{CodeSet: new("aba-bankruptcy")}, "code_set", "utbms-litigation")
	bad(ClientPatch{CodeSet: new("custom")}, "code_set", "import the client's code list first")
	bad(ClientPatch{InvoiceDescription: new("Services {period}")}, "invoice_description", "unknown placeholder {period}")
	bad(ClientPatch{InvoiceDescription: new(strings.Repeat("x", 501))}, "invoice_description", "longer than 500")
	ok := ClientPatch{LEDESClientID: new(" ACME01 "), EBilling: &yes, RequiredCodes: new(" Task "), InvoiceDescription: new("{client}: {matter_name} {from}-{to}")}
	if err := ok.check(c); err != nil || *ok.LEDESClientID != "ACME01" || *ok.RequiredCodes != "task" {
		t.Fatalf("good patch: %v %+v", err, ok)
	}
}

func TestParseCodes(t *testing.T) {
	codes, err := ParseCodes(strings.NewReader("\ufeffkind,code,description\ntask,g100,Contract advice\nactivity,X1,Call\n\nG200,“Negotiation”\nA900,Own activity\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ClientCode{{Kind: "task", Code: "G100", Description: "Contract advice"}, {Kind: "activity", Code: "X1", Description: "Call"},
		{Kind: "task", Code: "G200", Description: `"Negotiation"`}, {Kind: "activity", Code: "A900", Description: "Own activity"}}
	if len(codes) != len(want) {
		t.Fatalf("codes = %+v", codes)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("code %d = %+v, want %+v", i, codes[i], want[i])
		}
	}
	for in, msg := range map[string]string{
		"":                                    "has no codes",
		"expense,E101,Copying\n":              `line 1: kind "expense"`,
		"task,G100,a\ntask,g100,b\n":          "line 2: task code G100 already on line 1",
		"task,G 100,a\n":                      `code "G 100"`,
		"task,G100\"x,a\n":                    "not valid CSV",
		"task,G1,a,b\n":                       "has 4 columns",
		"task,G1," + strings.Repeat("d", 201): "at most 200",
	} {
		if _, err := ParseCodes(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
}

func TestCheckTimekeeper(t *testing.T) {
	rate, zero := 375.5, 0.0
	ch, err := CheckTimekeeper(TimekeeperInput{FirstName: new("  Jürgen "), LastName: new("Müller-Lüdenscheidt"), Classification: new("paralegal"),
		TimekeeperID: new(" JM2 "), ClientRates: []ClientRateInput{{ClientID: "cli_b", Rate: &rate, TimekeeperID: "B-7"}, {ClientID: "cli_a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if *ch.Classification != "LA" || *ch.TimekeeperID != "JM2" || *ch.Patch.FirstName != "Jürgen" || len(ch.Patch.ClientRates) != 2 ||
		ch.Patch.ClientRates[0].ClientID != "cli_a" || ch.Patch.ClientRates[0].RateCents != nil || *ch.Patch.ClientRates[1].RateCents != 37550 {
		t.Fatalf("change = %+v %+v", ch, ch.Patch)
	}
	for _, c := range []struct {
		in    TimekeeperInput
		field string
	}{
		{TimekeeperInput{LastName: new("Adams, Jr")}, "last_name"},
		{TimekeeperInput{FirstName: new("法")}, "first_name"},
		{TimekeeperInput{FirstName: new("R2D2")}, "first_name"},
		{TimekeeperInput{FirstName: new("NULL")}, "first_name"},
		{TimekeeperInput{Classification: new("boss")}, "classification"},
		{TimekeeperInput{TimekeeperID: new(strings.Repeat("9", 21))}, "timekeeper_id"},
		{TimekeeperInput{ClientRates: []ClientRateInput{{Rate: &rate}}}, "client_rates"},
		{TimekeeperInput{ClientRates: []ClientRateInput{{ClientID: "c", Rate: &zero}}}, "client_rates"},
		{TimekeeperInput{ClientRates: []ClientRateInput{{ClientID: "c"}, {ClientID: "c"}}}, "client_rates"},
		{TimekeeperInput{ClientRates: []ClientRateInput{{ClientID: "c", TimekeeperID: "A|B"}}}, "client_rates.timekeeper_id"},
	} {
		if _, err := CheckTimekeeper(c.in); err == nil || !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%+v: %v, want a %s problem", c.in, err, c.field)
		}
	}
}

func TestDescription(t *testing.T) {
	v := DescriptionVars{Client: "Acme", MatterNumber: "2026-001", MatterName: "Acme v. Beta", ClientMatterID: "A-7", From: "2026-11-01", To: "2026-11-30", InvoiceNumber: "SMF-1"}
	if got := Description("", v); got != "Legal services: Acme v. Beta" {
		t.Errorf("default: %q", got)
	}
	if got := Description("{client} {client_matter_id} {invoice_number} {from}..{to} {matter_number}", v); got != "Acme A-7 SMF-1 2026-11-01..2026-11-30 2026-001" {
		t.Errorf("template: %q", got)
	}
}
