package billing

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"0.3", ".3", "1", "1.25", "", ".", "99999.99", "-1", "1e3", " 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHours(s)
		if err != nil {
			return
		}
		if h < 0 || h > MaxTenths {
			t.Fatalf("ParseHours(%q) = %d out of range", s, h)
		}
		back, err := ParseHours(h.String())
		if err != nil || back != h {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, h, h.String(), back, err)
		}
	})
}

func FuzzLEDESText(f *testing.F) {
	for _, s := range []string{"a|b", "x[]y", "l1\r\nl2", "\xff", "[[]]||"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ledesText(s)
		if strings.ContainsAny(out, "|[]\r\n\t") || strings.Contains(out, "  ") || out != strings.TrimSpace(out) {
			t.Fatalf("ledesText(%q) = %q", s, out)
		}
	})
}

// FuzzCSVCell checks that any narrative survives a CSV round trip as one cell that a
// spreadsheet will not evaluate.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1+1", "a,b", "\"q\"", "line\nbreak", "\t@x", "-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := sampleRow()
		r.Narrative = s
		var buf bytes.Buffer
		if _, err := WriteCSV(&buf, SliceIterator([]Row{r}), CSVOptions{}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 || len(recs[1]) != len(CSVHeader) {
			t.Fatalf("narrative %q: %d records, %v", s, len(recs), err)
		}
		if c := recs[1][10]; c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("narrative %q came back as %q", s, c)
		}
	})
}
