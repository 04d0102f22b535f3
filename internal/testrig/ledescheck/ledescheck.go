// Package ledescheck is an independent checker of LEDES 1998B invoices for tests: it
// parses the text of a file and re-checks the rules e-billing platforms apply (Legal
// Tracker's posting errors 003-007, 20-character IDs, 1,024-character descriptions, the
// literal NULL, plain ASCII, "Last, First" timekeeper names, required and known UTBMS
// codes, duplicate invoice numbers per client) without using any of Dictum's code, so a
// bug in the exporter cannot hide itself in its own check. It imports only the standard
// library on purpose.
package ledescheck

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
)

const header = "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|BILLING_START_DATE|BILLING_END_DATE|" +
	"INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|EXP/FEE/INV_ADJ_TYPE|LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|" +
	"LINE_ITEM_TOTAL|LINE_ITEM_DATE|LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|" +
	"LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID"

// Rules are what the receiving client requires beyond the format itself.
type Rules struct {
	RequireTask, RequireActivity bool
	// Tasks and Activities are the allowed codes; nil means the ABA UTBMS litigation task
	// codes and the UTBMS activity codes (listed here independently).
	Tasks, Activities     map[string]bool
	RequireClientMatterID bool
}

// Litigation is the UTBMS litigation task code set; Activities the activity code set.
var (
	Litigation = set("L110 L120 L130 L140 L150 L160 L190 L210 L220 L230 L240 L250 L260 L310 L320 L330 L340 L350 L390 " +
		"L410 L420 L430 L440 L450 L460 L470 L510 L520 L530")
	Activities = set("A101 A102 A103 A104 A105 A106 A107 A108 A109 A110 A111")
)

func set(s string) map[string]bool {
	out := map[string]bool{}
	for _, c := range strings.Fields(s) {
		out[c] = true
	}
	return out
}

// Invoice is a parsed file: its records by field name.
type Invoice struct {
	Lines []map[string]string
}

var (
	names   = strings.Split(header, "|")
	number  = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	name    = regexp.MustCompile(`^[A-Za-z][A-Za-z .'-]*, [A-Za-z][A-Za-z .'-]*$`)
	idField = []string{"INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "TIMEKEEPER_ID", "LAW_FIRM_ID", "CLIENT_MATTER_ID"}
	reqd    = []string{"INVOICE_DATE", "INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_TOTAL", "BILLING_START_DATE",
		"BILLING_END_DATE", "INVOICE_DESCRIPTION", "LINE_ITEM_NUMBER", "EXP/FEE/INV_ADJ_TYPE", "LINE_ITEM_NUMBER_OF_UNITS",
		"LINE_ITEM_ADJUSTMENT_AMOUNT", "LINE_ITEM_TOTAL", "LINE_ITEM_DATE", "TIMEKEEPER_ID", "LINE_ITEM_DESCRIPTION", "LAW_FIRM_ID",
		"LINE_ITEM_UNIT_COST", "TIMEKEEPER_NAME", "TIMEKEEPER_CLASSIFICATION"}
	classes = set("PT AS OC LA OT")
)

// Parse reads a LEDES 1998B file, or says why it is not one.
func Parse(data []byte) (*Invoice, error) {
	s := string(data)
	if !strings.HasSuffix(s, "[]\r\n") {
		return nil, fmt.Errorf("the file does not end with []CRLF")
	}
	recs := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	if len(recs) < 3 {
		return nil, fmt.Errorf("%d records: a file needs the LEDES1998B line, the header and at least one line item", len(recs))
	}
	if recs[0] != "LEDES1998B[]" {
		return nil, fmt.Errorf("first record %q is not LEDES1998B[]", recs[0])
	}
	if recs[1] != header+"[]" {
		return nil, fmt.Errorf("second record is not the 1998B header")
	}
	inv := &Invoice{}
	for i, r := range recs[2:] {
		if !strings.HasSuffix(r, "[]") || strings.Count(r, "[]") != 1 || strings.ContainsAny(r, "\r\n") {
			return nil, fmt.Errorf("record %d is not one line ending in []", i+3)
		}
		f := strings.Split(strings.TrimSuffix(r, "[]"), "|")
		if len(f) != len(names) {
			return nil, fmt.Errorf("record %d has %d fields, not %d", i+3, len(f), len(names))
		}
		m := map[string]string{}
		for k, n := range names {
			m[n] = f[k]
		}
		inv.Lines = append(inv.Lines, m)
	}
	return inv, nil
}

func date(s string) (time.Time, bool) {
	if len(s) != 8 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", s)
	return t, err == nil
}

func rat(s string) (*big.Rat, bool) {
	if !number.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// round2 rounds half away from zero to cents.
func round2(r *big.Rat) *big.Rat {
	x := new(big.Rat).Mul(r, big.NewRat(100, 1))
	n, d := x.Num(), x.Denom()
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(n), d, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if n.Sign() < 0 {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100))
}

// Check checks one file against the rules and returns every violation found.
func Check(data []byte, rules Rules) []string {
	inv, err := Parse(data)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	bad := func(line int, field, format string, a ...any) {
		out = append(out, fmt.Sprintf("line %d %s: %s", line, field, fmt.Sprintf(format, a...)))
	}
	for i := 0; i < len(data); i++ {
		if c := data[i]; c >= 0x7f || (c < 0x20 && c != '\r' && c != '\n') {
			out = append(out, fmt.Sprintf("byte %d (0x%02x) is not printable ASCII", i, c))
			break
		}
	}
	tasks, acts := rules.Tasks, rules.Activities
	if tasks == nil {
		tasks = Litigation
	}
	if acts == nil {
		acts = Activities
	}
	sum := new(big.Rat)
	first := inv.Lines[0]
	for i, l := range inv.Lines {
		n := i + 1
		for _, f := range reqd {
			if strings.TrimSpace(l[f]) == "" {
				bad(n, f, "005 required field is blank")
			}
		}
		if rules.RequireClientMatterID && l["CLIENT_MATTER_ID"] == "" {
			bad(n, "CLIENT_MATTER_ID", "the client requires its matter id")
		}
		for f, v := range l {
			if strings.EqualFold(strings.TrimSpace(v), "NULL") {
				bad(n, f, "literal NULL")
			}
		}
		for _, f := range idField {
			if len(l[f]) > 20 {
				bad(n, f, "ID over 20 characters")
			}
		}
		for _, f := range []string{"INVOICE_DESCRIPTION", "LINE_ITEM_DESCRIPTION"} {
			if len(l[f]) > 1024 {
				bad(n, f, "description over 1,024 characters")
			}
		}
		var start, end time.Time
		for _, f := range []string{"INVOICE_DATE", "BILLING_START_DATE", "BILLING_END_DATE", "LINE_ITEM_DATE"} {
			t, ok := date(l[f])
			if !ok {
				bad(n, f, "003 %q is not a CCYYMMDD date", l[f])
			}
			switch f {
			case "BILLING_START_DATE":
				start = t
			case "BILLING_END_DATE":
				end = t
			}
		}
		if d, ok := date(l["LINE_ITEM_DATE"]); ok && (d.Before(start) || d.After(end)) {
			bad(n, "LINE_ITEM_DATE", "outside the billing period")
		}
		amt := map[string]*big.Rat{}
		for _, f := range []string{"INVOICE_TOTAL", "LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_ADJUSTMENT_AMOUNT", "LINE_ITEM_TOTAL", "LINE_ITEM_UNIT_COST"} {
			r, ok := rat(l[f])
			if !ok {
				bad(n, f, "004 %q is not numeric", l[f])
				continue
			}
			amt[f] = r
		}
		if len(amt) == 5 {
			want := new(big.Rat).Add(round2(new(big.Rat).Mul(amt["LINE_ITEM_NUMBER_OF_UNITS"], amt["LINE_ITEM_UNIT_COST"])), amt["LINE_ITEM_ADJUSTMENT_AMOUNT"])
			if want.Cmp(amt["LINE_ITEM_TOTAL"]) != 0 {
				bad(n, "LINE_ITEM_TOTAL", "006 %s x %s + %s = %s, not %s", l["LINE_ITEM_NUMBER_OF_UNITS"], l["LINE_ITEM_UNIT_COST"],
					l["LINE_ITEM_ADJUSTMENT_AMOUNT"], want.FloatString(2), l["LINE_ITEM_TOTAL"])
			}
			if amt["LINE_ITEM_NUMBER_OF_UNITS"].Sign() <= 0 || amt["LINE_ITEM_UNIT_COST"].Sign() <= 0 {
				bad(n, "LINE_ITEM_NUMBER_OF_UNITS", "units and unit cost must be positive on a fee")
			}
			sum.Add(sum, amt["LINE_ITEM_TOTAL"])
		}
		for _, f := range []string{"INVOICE_TOTAL", "INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_DATE", "BILLING_START_DATE", "BILLING_END_DATE", "CLIENT_MATTER_ID", "LAW_FIRM_ID"} {
			if l[f] != first[f] {
				bad(n, f, "007/consistency: %q differs from line 1's %q", l[f], first[f])
			}
		}
		if l["LINE_ITEM_NUMBER"] != fmt.Sprint(n) {
			bad(n, "LINE_ITEM_NUMBER", "%q is not %d", l["LINE_ITEM_NUMBER"], n)
		}
		if l["EXP/FEE/INV_ADJ_TYPE"] != "F" {
			bad(n, "EXP/FEE/INV_ADJ_TYPE", "%q: Dictum writes fees only", l["EXP/FEE/INV_ADJ_TYPE"])
		}
		if !name.MatchString(l["TIMEKEEPER_NAME"]) {
			bad(n, "TIMEKEEPER_NAME", "%q is not Last, First", l["TIMEKEEPER_NAME"])
		}
		if !classes[l["TIMEKEEPER_CLASSIFICATION"]] {
			bad(n, "TIMEKEEPER_CLASSIFICATION", "%q is not PT, AS, OC, LA or OT", l["TIMEKEEPER_CLASSIFICATION"])
		}
		switch t := l["LINE_ITEM_TASK_CODE"]; {
		case t == "" && rules.RequireTask:
			bad(n, "LINE_ITEM_TASK_CODE", "required task code missing")
		case t != "" && !tasks[t]:
			bad(n, "LINE_ITEM_TASK_CODE", "%q is not in the client's code set", t)
		}
		switch a := l["LINE_ITEM_ACTIVITY_CODE"]; {
		case a == "" && rules.RequireActivity:
			bad(n, "LINE_ITEM_ACTIVITY_CODE", "required activity code missing")
		case a != "" && !acts[a]:
			bad(n, "LINE_ITEM_ACTIVITY_CODE", "%q is not in the client's code set", a)
		}
		if l["LINE_ITEM_EXPENSE_CODE"] != "" {
			bad(n, "LINE_ITEM_EXPENSE_CODE", "an expense code on a fee")
		}
	}
	if t, ok := rat(first["INVOICE_TOTAL"]); ok && t.Cmp(sum) != 0 && len(out) == 0 {
		bad(1, "INVOICE_TOTAL", "007 invoice total %s is not the sum of the lines %s", first["INVOICE_TOTAL"], sum.FloatString(2))
	}
	return out
}

// Duplicates reports invoice numbers that appear in more than one file for one client.
func Duplicates(files ...[]byte) []string {
	seen := map[string]int{}
	var out []string
	for i, data := range files {
		inv, err := Parse(data)
		if err != nil {
			out = append(out, fmt.Sprintf("file %d: %v", i+1, err))
			continue
		}
		k := inv.Lines[0]["CLIENT_ID"] + "\x00" + inv.Lines[0]["INVOICE_NUMBER"]
		if j, dup := seen[k]; dup {
			out = append(out, fmt.Sprintf("files %d and %d: invoice number %s used twice for client %s", j+1, i+1, inv.Lines[0]["INVOICE_NUMBER"], inv.Lines[0]["CLIENT_ID"]))
		}
		seen[k] = i
	}
	return out
}
