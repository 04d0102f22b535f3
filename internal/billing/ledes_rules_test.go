package billing

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestLEDESTextTransliterates(t *testing.T) {
	for _, c := range []struct{ in, want, bad string }{
		{"Müller", "Muller", ""},
		{"“Smith” ‘v.’ Jones – réplique…", `"Smith" 'v.' Jones - replique...`, ""},
		{"Ærøskøbing Straße", "AEroskobing Strasse", ""},
		{"Łódź\u00a0Œuvre", "Lodz OEuvre", ""},
		{"fee € 5 · 3×", "fee EUR 5 . 3x", ""},
		{"a|b [c]\r\nd\te", "a/b (c) d e", ""},
		{"zero\u200bwidth", "zerowidth", ""},
		{"法律 review", "法律 review", "法律"},
		{"bad \xff byte", "bad \uFFFD byte", "\uFFFD"},
	} {
		got, bad := LEDESText(c.in)
		if got != c.want || string(bad) != c.bad {
			t.Errorf("LEDESText(%q) = %q, bad %q; want %q, bad %q", c.in, got, string(bad), c.want, c.bad)
		}
	}
}

func TestIsLastFirst(t *testing.T) {
	for s, want := range map[string]bool{"Adams, Alice": true, "van der Berg, Jan": true, "O'Brien, Mary-Kate": true,
		"Alice Adams": false, "alice": false, "Adams,Alice": false, "Adams, ": false, ", Alice": false, "A, B, C": false, "Adams2, Alice": false} {
		if IsLastFirst(s) != want {
			t.Errorf("IsLastFirst(%q) = %v", s, !want)
		}
	}
}

// problems runs the writer and returns its problems keyed "entry field"; nothing may be written.
func problems(t *testing.T, inv Invoice, rows []Row, prof Profile) map[string]Problem {
	t.Helper()
	var buf bytes.Buffer
	err := WriteLEDESProfile(&buf, inv, rows, prof)
	var rej *RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("want a rejection, got %v: %q", err, buf.String())
	}
	if buf.Len() != 0 {
		t.Fatalf("a refused file wrote %d bytes", buf.Len())
	}
	out := map[string]Problem{}
	for _, p := range rej.Problems {
		if p.Fix == "" || p.Message == "" {
			t.Errorf("problem without message or fix: %+v", p)
		}
		out[p.EntryID+" "+p.Field] = p
	}
	return out
}

func TestWriteLEDESPlatformRules(t *testing.T) {
	inv := ledesInvoice()
	inv.Number = "INV-12345678901234567" // 21
	inv.ClientID = "NULL"
	inv.ClientMatterID = "ACME-LITIGATION-2026-X" // 22
	inv.Description = strings.Repeat("x", 1025)
	inv.MatterID = "mat_1"
	r := ledesRows()
	r[0].Narrative = strings.Repeat("y", 1025)
	r[1].FirstName, r[1].LastName = "", "" // falls back to "Bob Smith"
	r[3].Narrative = "Call with 法律 team"
	r[3].TimekeeperID = "TK-0123456789012345678" // 22
	got := problems(t, inv, r, DefaultProfile())
	for _, want := range []string{" INVOICE_NUMBER", " CLIENT_ID", " CLIENT_MATTER_ID", " INVOICE_DESCRIPTION", "e-1 LINE_ITEM_DESCRIPTION",
		"e-2 TIMEKEEPER_NAME", "e-4 LINE_ITEM_DESCRIPTION", "e-4 TIMEKEEPER_ID"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no problem %q in %v", want, got)
		}
	}
	if p := got[" CLIENT_MATTER_ID"]; !strings.Contains(p.Fix, "PATCH /api/v1/matters/mat_1") {
		t.Errorf("client matter id fix: %q", p.Fix)
	}
	if p := got["e-2 TIMEKEEPER_NAME"]; !strings.Contains(p.Message, `"Bob Smith"`) || !strings.Contains(p.Fix, "first_name and last_name") {
		t.Errorf("name problem: %+v", p)
	}
	if p := got[" CLIENT_ID"]; !strings.Contains(p.Message, "NULL") {
		t.Errorf("NULL: %+v", p)
	}
	if p := got["e-4 LINE_ITEM_DESCRIPTION"]; !strings.Contains(p.Message, "U+6CD5") {
		t.Errorf("non-ASCII: %+v", p)
	}
}

func TestWriteLEDESProfiles(t *testing.T) {
	rows := ledesRows()
	rows[0].Task = ""     // no task code
	rows[1].Activity = "" // no activity code
	inv := ledesInvoice()
	// The default profile (a client without e-billing) needs both codes.
	got := problems(t, inv, rows, DefaultProfile())
	if _, ok := got["e-1 LINE_ITEM_TASK_CODE"]; !ok {
		t.Errorf("default: missing task not reported: %v", got)
	}
	if _, ok := got["e-2 LINE_ITEM_ACTIVITY_CODE"]; !ok {
		t.Errorf("default: missing activity not reported: %v", got)
	}
	// Task codes only: e-2 passes, e-1 does not; the message names the client.
	prof := Profile{RequireTask: true, ClientName: "Acme", ClientID: "cli_1"}
	got = problems(t, inv, rows, prof)
	if p, ok := got["e-1 LINE_ITEM_TASK_CODE"]; !ok || len(got) != 1 || !strings.Contains(p.Message, "client Acme requires") {
		t.Errorf("task-only: %v", got)
	}
	// None required: the file is written with empty code fields.
	var buf bytes.Buffer
	if err := WriteLEDESProfile(&buf, inv, rows, Profile{}); err != nil {
		t.Fatalf("no codes required: %v", err)
	}
	if !strings.Contains(buf.String(), "|20261102|||A103|") {
		t.Errorf("empty task field not written: %q", buf.String())
	}
	// A custom code set: L-codes are unknown to it.
	custom := Profile{RequireTask: true, Tasks: map[string]string{"X100": "Advice"}, CodeSetName: "client Globex's code set"}
	rows = ledesRows()
	got = problems(t, inv, rows, custom)
	if p, ok := got["e-1 LINE_ITEM_TASK_CODE"]; !ok || !strings.Contains(p.Message, `"L210" is not a task code of client Globex's code set`) {
		t.Errorf("custom set: %v", got)
	}
	for i := range rows {
		rows[i].Task = "x100"
	}
	if err := WriteLEDESProfile(&bytes.Buffer{}, inv, rows, custom); err != nil {
		t.Errorf("custom codes refused: %v", err)
	}
}

// The last line of defence re-checks the formatted records as Legal Tracker would.
func TestCheckRecordsPostingErrors(t *testing.T) {
	good := []string{"20261130", "INV-1", "ACME", "00042", "391.54", "20261101", "20261130", "Legal services", "1", "F", "1.3", "0.00", "357.50",
		"20261102", "L210", "", "A103", "tk1", "Draft", "12-3456789", "275.00", "Lovelace, Ada", "PT", ""}
	second := append([]string(nil), good...)
	second[8], second[10], second[12], second[20] = "2", "0.3", "34.04", "113.45" // 0.3 x 113.45 = 34.035 -> 34.04
	if p := checkRecords([][]string{good, second}); len(p) != 0 {
		t.Fatalf("good records: %v", p)
	}
	mut := func(f func(r []string)) []Problem {
		a, b := append([]string(nil), good...), append([]string(nil), second...)
		f(a)
		return checkRecords([][]string{a, b})
	}
	for name, c := range map[string]struct {
		f    func(r []string)
		want string
	}{
		"003": {func(r []string) { r[13] = "20261131" }, "error 003"},
		"004": {func(r []string) { r[12] = "357,50" }, "error 004"},
		"005": {func(r []string) { r[17] = " " }, "error 005"},
		"006": {func(r []string) { r[12], r[4] = "357.51", "391.55" }, "error 006"},
		"007": {func(r []string) { r[4] = "391.55" }, "error 007"},
	} {
		p := mut(c.f)
		if len(p) == 0 || !strings.Contains(p[0].Message, c.want) {
			t.Errorf("%s: %v", name, p)
		}
	}
}

// BenchmarkWriteLEDESProfile5000 is a large monthly invoice: 5,000 fee lines with accents
// and curly quotes to transliterate, every rule checked, the records re-checked, written.
func BenchmarkWriteLEDESProfile5000(b *testing.B) {
	base := ledesRows()[0]
	base.Narrative = "Drafted the “amended” complaint; call with Müller re: exhibits – 3 cases…"
	rows := make([]Row, 5000)
	for i := range rows {
		rows[i] = base
		rows[i].EntryID = "e-" + strconv.Itoa(i)
	}
	inv := ledesInvoice()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteLEDESProfile(&buf, inv, rows, DefaultProfile()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/file")
}
