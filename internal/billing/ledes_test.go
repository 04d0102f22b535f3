package billing

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ledesInvoice() Invoice {
	return Invoice{
		Number: "INV-2026-0042", Date: "20261130", PeriodStart: "20261101", PeriodEnd: "20261130",
		LawFirmID: "12-3456789", ClientID: "ACME", ClientMatterID: "ACME-LIT-7",
		Description: "Legal services | November [2026]",
	}
}

func ledesRows() []Row {
	base := sampleRow()
	a := base
	a.EntryID, a.Date, a.Hours, a.RateCents = "e-1", "2026-11-02", 13, 27500 // 357.50
	a.Narrative = "Draft complaint | section [2]\r\nand exhibits"
	b := base
	b.EntryID, b.Date, b.Hours, b.RateCents = "e-2", "2026-11-03", 3, 12345 // 37.035 -> 37.04
	b.TimekeeperID, b.TimekeeperName, b.TimekeeperClass = "tk2", "Bob Smith", "associate"
	b.FirstName, b.LastName = "Bob", "Smith"
	b.Activity, b.Task, b.Narrative = "a104", "l120", "Review\tanswer;\nnotes"
	c := base
	c.EntryID, c.Billable = "e-3", false // non-billable: left out
	c.Activity, c.Task = "", ""
	d := base
	d.EntryID, d.Date, d.Hours, d.RateCents = "e-4", "2026-11-30", 1, 33333 // 33.3333 -> 33.33
	d.TimekeeperClass = "PT"
	return []Row{a, b, c, d}
}

func TestWriteLEDESGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteLEDES(&buf, ledesInvoice(), ledesRows()); err != nil {
		t.Fatalf("WriteLEDES: %v", err)
	}
	golden := filepath.Join("testdata", "invoice.ledes")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("output differs from %s:\n got: %q\nwant: %q", golden, buf.String(), want)
	}
	checkLEDESStructure(t, want)
}

// checkLEDESStructure checks the golden file field by field, independent of the writer.
func checkLEDESStructure(t *testing.T, data []byte) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("[]\r\n")) {
		t.Fatal("file does not end with []CRLF")
	}
	recs := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	for i, r := range recs {
		if !strings.HasSuffix(r, "[]") {
			t.Fatalf("record %d does not end in []: %q", i, r)
		}
		if strings.ContainsAny(r, "\r\n") {
			t.Fatalf("record %d has a bare line break", i)
		}
	}
	if recs[0] != "LEDES1998B[]" {
		t.Fatalf("first line = %q", recs[0])
	}
	wantHeader := "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|BILLING_START_DATE|BILLING_END_DATE|INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|EXP/FEE/INV_ADJ_TYPE|LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|LINE_ITEM_TOTAL|LINE_ITEM_DATE|LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID[]"
	if recs[1] != wantHeader {
		t.Fatalf("header = %q", recs[1])
	}
	names := strings.Split(strings.TrimSuffix(recs[1], "[]"), "|")
	if len(names) != 24 {
		t.Fatalf("header has %d fields", len(names))
	}
	lines := recs[2:]
	if len(lines) != 3 {
		t.Fatalf("got %d line items, want 3 (non-billable left out)", len(lines))
	}
	type fields map[string]string
	want := []fields{
		{"LINE_ITEM_NUMBER": "1", "LINE_ITEM_NUMBER_OF_UNITS": "1.3", "LINE_ITEM_UNIT_COST": "275.00",
			"LINE_ITEM_TOTAL": "357.50", "LINE_ITEM_DATE": "20261102", "LINE_ITEM_TASK_CODE": "L210",
			"LINE_ITEM_ACTIVITY_CODE": "A103", "TIMEKEEPER_ID": "tk1", "TIMEKEEPER_NAME": "Lovelace, Ada",
			"TIMEKEEPER_CLASSIFICATION": "PT", "LINE_ITEM_DESCRIPTION": "Draft complaint / section (2) and exhibits"},
		{"LINE_ITEM_NUMBER": "2", "LINE_ITEM_NUMBER_OF_UNITS": "0.3", "LINE_ITEM_UNIT_COST": "123.45",
			"LINE_ITEM_TOTAL": "37.04", "LINE_ITEM_DATE": "20261103", "LINE_ITEM_TASK_CODE": "L120",
			"LINE_ITEM_ACTIVITY_CODE": "A104", "TIMEKEEPER_ID": "tk2", "TIMEKEEPER_NAME": "Smith, Bob",
			"TIMEKEEPER_CLASSIFICATION": "AS", "LINE_ITEM_DESCRIPTION": "Review answer; notes"},
		{"LINE_ITEM_NUMBER": "3", "LINE_ITEM_NUMBER_OF_UNITS": "0.1", "LINE_ITEM_UNIT_COST": "333.33",
			"LINE_ITEM_TOTAL": "33.33", "LINE_ITEM_DATE": "20261130", "TIMEKEEPER_CLASSIFICATION": "PT"},
	}
	common := fields{
		"INVOICE_DATE": "20261130", "INVOICE_NUMBER": "INV-2026-0042", "CLIENT_ID": "ACME",
		"LAW_FIRM_MATTER_ID": "00042", "INVOICE_TOTAL": "427.87", // 357.50 + 37.04 + 33.33
		"BILLING_START_DATE": "20261101", "BILLING_END_DATE": "20261130",
		"INVOICE_DESCRIPTION": "Legal services / November (2026)", "EXP/FEE/INV_ADJ_TYPE": "F",
		"LINE_ITEM_ADJUSTMENT_AMOUNT": "0.00", "LINE_ITEM_EXPENSE_CODE": "", "LAW_FIRM_ID": "12-3456789",
		"CLIENT_MATTER_ID": "ACME-LIT-7",
	}
	for i, l := range lines {
		vals := strings.Split(strings.TrimSuffix(l, "[]"), "|")
		if len(vals) != 24 {
			t.Fatalf("line %d has %d fields: %q", i, len(vals), l)
		}
		got := fields{}
		for j, n := range names {
			got[n] = vals[j]
		}
		for k, v := range common {
			if got[k] != v {
				t.Errorf("line %d %s = %q, want %q", i, k, got[k], v)
			}
		}
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d %s = %q, want %q", i, k, got[k], v)
			}
		}
	}
}

func TestWriteLEDESRejectsEveryBadEntry(t *testing.T) {
	good := ledesRows()[0]
	mk := func(id string, mod func(*Row)) Row { r := good; r.EntryID = id; mod(&r); return r }
	rows := []Row{
		good,
		mk("no-activity", func(r *Row) { r.Activity = "" }),
		mk("bad-activity", func(r *Row) { r.Activity = "X999" }),
		mk("no-task", func(r *Row) { r.Task = " " }),
		mk("no-rate", func(r *Row) { r.RateCents = 0 }),
		mk("no-tk", func(r *Row) { r.TimekeeperID = "" }),
		mk("bad-class", func(r *Row) { r.TimekeeperClass = "Wizard" }),
		mk("zero-hours", func(r *Row) { r.Hours = 0 }),
		mk("outside", func(r *Row) { r.Date = "2026-12-01" }),
		mk("bad-date", func(r *Row) { r.Date = "2026-11-31" }),
		mk("other-matter", func(r *Row) { r.MatterNumber = "00043" }),
		mk("empty-narrative", func(r *Row) { r.Narrative = " \r\n\t " }),
		mk("two-problems", func(r *Row) { r.Activity, r.Task = "", "" }),
		mk("nonbillable-ok", func(r *Row) { r.Billable, r.Activity, r.RateCents = false, "", 0 }),
	}
	var buf bytes.Buffer
	err := WriteLEDES(&buf, ledesInvoice(), rows)
	var rej *RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want *RejectError", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written despite rejection", buf.Len())
	}
	got := map[string][]string{}
	for _, p := range rej.Problems {
		got[p.EntryID] = append(got[p.EntryID], p.Field)
		if p.Message == "" {
			t.Errorf("problem without message: %+v", p)
		}
	}
	want := map[string][]string{
		"no-activity":     {"LINE_ITEM_ACTIVITY_CODE"},
		"bad-activity":    {"LINE_ITEM_ACTIVITY_CODE"},
		"no-task":         {"LINE_ITEM_TASK_CODE"},
		"no-rate":         {"LINE_ITEM_UNIT_COST"},
		"no-tk":           {"TIMEKEEPER_ID"},
		"bad-class":       {"TIMEKEEPER_CLASSIFICATION"},
		"zero-hours":      {"LINE_ITEM_NUMBER_OF_UNITS"},
		"outside":         {"LINE_ITEM_DATE"},
		"bad-date":        {"LINE_ITEM_DATE"},
		"other-matter":    {"LAW_FIRM_MATTER_ID"},
		"empty-narrative": {"LINE_ITEM_DESCRIPTION"},
		"two-problems":    {"LINE_ITEM_ACTIVITY_CODE", "LINE_ITEM_TASK_CODE"},
	}
	if len(got) != len(want) {
		t.Errorf("problems for %d entries, want %d: %v", len(got), len(want), got)
	}
	for id, fields := range want {
		if strings.Join(got[id], ",") != strings.Join(fields, ",") {
			t.Errorf("entry %s: problems %v, want %v", id, got[id], fields)
		}
	}
	if !strings.Contains(err.Error(), "12 problem") && !strings.Contains(err.Error(), "13 problem") {
		t.Errorf("error text: %v", err)
	}
}

func TestWriteLEDESInvoiceProblems(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Invoice, *[]Row)
		field string
	}{
		{"no number", func(i *Invoice, _ *[]Row) { i.Number = "" }, "INVOICE_NUMBER"},
		{"bad date", func(i *Invoice, _ *[]Row) { i.Date = "2026113" }, "INVOICE_DATE"},
		{"period reversed", func(i *Invoice, _ *[]Row) { i.PeriodStart, i.PeriodEnd = "20261130", "20261101" }, "BILLING_END_DATE"},
		{"no firm id", func(i *Invoice, _ *[]Row) { i.LawFirmID = "" }, "LAW_FIRM_ID"},
		{"no client id", func(i *Invoice, _ *[]Row) { i.ClientID = " \n " }, "CLIENT_ID"},
		{"no billable rows", func(_ *Invoice, r *[]Row) { *r = []Row{} }, "LINE_ITEM_NUMBER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, rows := ledesInvoice(), ledesRows()
			tt.mod(&inv, &rows)
			var buf bytes.Buffer
			err := WriteLEDES(&buf, inv, rows)
			var rej *RejectError
			if !errors.As(err, &rej) || buf.Len() != 0 {
				t.Fatalf("err = %v, written %d", err, buf.Len())
			}
			found := false
			for _, p := range rej.Problems {
				if p.EntryID == "" && p.Field == tt.field {
					found = true
				}
			}
			if !found {
				t.Errorf("no invoice problem for %s in %+v", tt.field, rej.Problems)
			}
		})
	}
}

func TestWriteLEDESDashedDatesAndExplicitMatter(t *testing.T) {
	inv := ledesInvoice()
	inv.Date, inv.PeriodStart, inv.PeriodEnd = "2026-11-30", "2026-11-01", "2026-11-30"
	inv.LawFirmMatterID = "00042"
	var buf bytes.Buffer
	if err := WriteLEDES(&buf, inv, ledesRows()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "invoice.ledes"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("dashed dates give a different file:\n%q", buf.String())
	}
}

func TestLEDESText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a|b", "a/b"},
		{"x[]y", "x()y"},
		{"line1\r\nline2\nline3\rline4", "line1 line2 line3 line4"},
		{"  lots   of\t\tspace  ", "lots of space"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"sep\u2028line", "sep line"},
	}
	for _, tt := range tests {
		if got := ledesText(tt.in); got != tt.want {
			t.Errorf("ledesText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLEDESClass(t *testing.T) {
	tests := []struct{ in, want string }{
		{"PT", "PT"}, {"partner", "PT"}, {" Associate ", "AS"}, {"of  counsel", "OC"},
		{"Paralegal", "LA"}, {"la", "LA"}, {"other", "OT"}, {"", ""}, {"Wizard", ""},
	}
	for _, tt := range tests {
		if got := LEDESClass(tt.in); got != tt.want {
			t.Errorf("LEDESClass(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
