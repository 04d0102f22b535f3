package billing_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"dictum/internal/billing"
	"dictum/internal/testrig/ledescheck"
)

// Every file the writer accepts must pass the independent checker (ledescheck), whatever
// the rows: random hours, rates, codes, names and narratives with delimiters, accents,
// curly quotes and the odd character no ASCII spelling exists for.
func TestEveryAcceptedFilePassesIndependentChecker(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 1998))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	// often returns the first value, now and then one of the others (mostly bad ones).
	often := func(good string, others ...string) string {
		if rng.IntN(25) != 0 {
			return good
		}
		return pick(others...)
	}
	words := []string{"Draft", "motion", "|pipe|", "[bracket]", "Müller", "“quoted”", "réplique", "naïve", "Straße", "–", "…", "\t", "\r\n", "  ", "O'Brien"}
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(often(pick(words...), "NULL", "法律"))
			b.WriteByte(' ')
		}
		return b.String()
	}
	accepted, refused := 0, 0
	for i := range 3000 {
		prof := billing.Profile{RequireTask: rng.IntN(2) == 0, RequireActivity: rng.IntN(2) == 0, RequireClientMatterID: rng.IntN(2) == 0}
		rules := ledescheck.Rules{RequireTask: prof.RequireTask, RequireActivity: prof.RequireActivity, RequireClientMatterID: prof.RequireClientMatterID}
		if rng.IntN(4) == 0 {
			prof.Tasks = map[string]string{"X100": "", "X200": ""}
			rules.Tasks = map[string]bool{"X100": true, "X200": true}
		}
		inv := billing.Invoice{Number: often(pick("INV-1", "DCT-000042"), "INV-12345678901234567", "NULL"), Date: "2026-12-01",
			PeriodStart: "2026-11-01", PeriodEnd: often("2026-11-30", "2026-11-31"),
			LawFirmID: often("12-3456789", ""), ClientID: often("ACME", "", "ACME-CLIENT-ID-TOO-LONG"), LawFirmMatterID: "2026-001",
			ClientMatterID: pick("", "ACME-LIT-7"), Description: often(pick("Legal services: Acme v. Beta", text(3)), strings.Repeat("z", 1030))}
		var rows []billing.Row
		for j := range 1 + rng.IntN(6) {
			rows = append(rows, billing.Row{
				EntryID: fmt.Sprintf("e-%d", j), Date: fmt.Sprintf("2026-11-%02d", 1+rng.IntN(31)),
				TimekeeperID: often(pick("tk1", "TK-2"), "", "TIMEKEEPER-ID-TOO-LONG-X"), TimekeeperName: pick("alice", "Adams, Alice"),
				TimekeeperClass: often(pick("PT", "associate", "paralegal"), "boss"), FirstName: often(pick("Alice", "Zoë", "Anne-Marie"), ""),
				LastName: often(pick("Adams", "Müller", "O'Brien"), "", "法"), MatterNumber: "2026-001",
				Hours: billing.Tenths(rng.IntN(40)), RateCents: billing.Cents(1 + rng.IntN(90000)),
				Activity: often(pick("A103", "a104", ""), "A999"), Task: often(pick("L210", "l120", "", "X100"), "L999"),
				Narrative: text(rng.IntN(8)), Billable: rng.IntN(8) != 0,
			})
		}
		var buf bytes.Buffer
		if err := billing.WriteLEDESProfile(&buf, inv, rows, prof); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("case %d: refused file wrote %d bytes", i, buf.Len())
			}
			refused++
			continue
		}
		accepted++
		if probs := ledescheck.Check(buf.Bytes(), rules); len(probs) > 0 {
			t.Fatalf("case %d: the writer accepted a file the checker rejects: %v\n%s", i, probs, buf.String())
		}
	}
	if accepted < 100 || refused < 100 {
		t.Fatalf("accepted %d, refused %d: the generator must exercise both", accepted, refused)
	}
	t.Logf("accepted %d, refused %d", accepted, refused)
}

// The checker is not a rubber stamp: each tampering with a good file is caught.
func TestIndependentCheckerCatchesTampering(t *testing.T) {
	var buf bytes.Buffer
	inv := billing.Invoice{Number: "INV-1", Date: "2026-12-01", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30", LawFirmID: "12-3456789",
		ClientID: "ACME", LawFirmMatterID: "2026-001", ClientMatterID: "ACME-LIT-7", Description: "Legal services"}
	rows := []billing.Row{
		{EntryID: "e-1", Date: "2026-11-02", TimekeeperID: "tk1", TimekeeperClass: "PT", FirstName: "Alice", LastName: "Adams", MatterNumber: "2026-001",
			Hours: 13, RateCents: 27500, Activity: "A103", Task: "L210", Narrative: "Draft complaint", Billable: true},
		{EntryID: "e-2", Date: "2026-11-03", TimekeeperID: "tk2", TimekeeperClass: "AS", FirstName: "Bob", LastName: "Brown", MatterNumber: "2026-001",
			Hours: 3, RateCents: 12345, Activity: "A104", Task: "L120", Narrative: "Review answer", Billable: true},
	}
	if err := billing.WriteLEDES(&buf, inv, rows); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	rules := ledescheck.Rules{RequireTask: true, RequireActivity: true, RequireClientMatterID: true}
	if p := ledescheck.Check([]byte(good), rules); len(p) != 0 {
		t.Fatalf("good file: %v", p)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"line total":   {"|357.50|", "|357.51|", "006"},
		"invoice sum":  {"|394.54|20261101", "|394.55|20261101", "007"},
		"date":         {"|20261102|", "|20261131|", "003"},
		"amount":       {"|123.45|", "|123,45|", "004"},
		"name":         {"Adams, Alice", "Alice Adams", "Last, First"},
		"non-ascii":    {"Draft complaint", "Draft “complaint”", "ASCII"},
		"null":         {"Review answer", "NULL", "NULL"},
		"long id":      {"|tk1|", "|TIMEKEEPER-0123456789|", "over 20"},
		"missing code": {"|L120||A104|", "|||A104|", "required task"},
		"unknown code": {"|L120||A104|", "|L999||A104|", "code set"},
	} {
		bad := strings.Replace(good, c.old, c.new, 1)
		if bad == good {
			t.Fatalf("%s: %q not in the file", name, c.old)
		}
		if p := ledescheck.Check([]byte(bad), rules); !strings.Contains(strings.Join(p, "\n"), c.want) {
			t.Errorf("%s: checker says %v, want %q", name, p, c.want)
		}
	}
	if d := ledescheck.Duplicates([]byte(good), []byte(good)); len(d) != 1 {
		t.Errorf("duplicate invoice numbers: %v", d)
	}
}
