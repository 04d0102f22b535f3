package billing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

func sampleRow() Row {
	return Row{
		EntryID: "e-1", Date: "2026-11-02",
		TimekeeperID: "tk1", TimekeeperName: "Ada Lovelace", TimekeeperClass: "Partner", FirstName: "Ada", LastName: "Lovelace",
		ClientID: "c1", ClientName: "Acme, Inc.", MatterID: "m1", MatterNumber: "00042", MatterName: "Acme v. Widget",
		Hours: 13, RateCents: 27500, Activity: "A103", Task: "L210",
		Narrative: "Draft complaint", Billable: true,
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	narratives := []string{
		`Call with client, re: "settlement"`,
		"Line one\nline two\r\nline three",
		`=HYPERLINK("http://x","click")`,
		"+1 555 0100",
		"-2 hours written off",
		"@SUM(A1:A2)",
		"\tleading tab",
		"\rleading CR",
		"Prüfung für Müller — 日本語",
		"",
	}
	var rows []Row
	for i, n := range narratives {
		r := sampleRow()
		r.EntryID = fmt.Sprintf("e-%d", i)
		r.Narrative = n
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	n, err := WriteCSV(&buf, SliceIterator(rows), CSVOptions{})
	if err != nil || n != len(rows) {
		t.Fatalf("WriteCSV = %d, %v", n, err)
	}
	if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") < len(rows)+1 {
		t.Fatalf("records must end in CRLF: %q", buf.String())
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("got %d records, want %d", len(recs), len(rows)+1)
	}
	if strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("header = %v", recs[0])
	}
	for i, n := range narratives {
		rec := recs[i+1]
		want := n
		switch {
		case n == "":
		case strings.ContainsRune("=+-@\t\r", rune(n[0])):
			want = "'" + n
		}
		// encoding/csv reads CRLF inside quoted fields back as LF.
		want = strings.ReplaceAll(want, "\r\n", "\n")
		if n == "\rleading CR" {
			want = "'leading CR" // a bare CR is dropped by the CRLF encoder (documented)
		}
		if rec[10] != want {
			t.Errorf("narrative %d = %q, want %q", i, rec[10], want)
		}
		wantRec := []string{"2026-11-02", "Ada Lovelace", "Acme, Inc.", "00042", "Acme v. Widget",
			"1.3", "275.00", "357.50", "A103", "L210", rec[10], "Yes", fmt.Sprintf("e-%d", i)}
		if strings.Join(rec, "\x00") != strings.Join(wantRec, "\x00") {
			t.Errorf("record %d = %q, want %q", i, rec, wantRec)
		}
	}
}

func TestWriteCSVNeutralisesEveryTextColumn(t *testing.T) {
	r := sampleRow()
	r.TimekeeperName, r.ClientName, r.MatterNumber, r.MatterName = "=a", "+b", "-c", "@d"
	r.Activity, r.Task, r.EntryID = "=e", "\tf", "-g"
	var buf bytes.Buffer
	if _, err := WriteCSV(&buf, SliceIterator([]Row{r}), CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for col, v := range recs[1] {
		if v == "" {
			continue
		}
		if strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			t.Errorf("column %s starts with a formula trigger: %q", CSVHeader[col], v)
		}
	}
	// The numeric cells are untouched.
	if recs[1][5] != "1.3" || recs[1][6] != "275.00" || recs[1][7] != "357.50" {
		t.Errorf("numeric cells changed: %q", recs[1][5:8])
	}
}

func TestWriteCSVBOM(t *testing.T) {
	for _, bom := range []bool{false, true} {
		var buf bytes.Buffer
		if _, err := WriteCSV(&buf, SliceIterator([]Row{sampleRow()}), CSVOptions{BOM: bom}); err != nil {
			t.Fatal(err)
		}
		has := bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF})
		if has != bom {
			t.Errorf("BOM=%v: file starts with BOM = %v", bom, has)
		}
		body := bytes.TrimPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF})
		if !bytes.HasPrefix(body, []byte("Date,Timekeeper,")) {
			t.Errorf("BOM=%v: header not at start: %q", bom, body[:20])
		}
	}
}

func TestWriteCSVAmounts(t *testing.T) {
	tests := []struct {
		name             string
		hours            Tenths
		rate             Cents
		billable         bool
		wantRate, wantAm string
	}{
		{"half cent rounds up", 3, 12345, true, "123.45", "37.04"},
		{"below half rounds down", 1, 12344, true, "123.44", "12.34"},
		{"repeating", 3, 33333, true, "333.33", "100.00"},
		{"no rate", 10, 0, true, "", ""},
		{"non-billable", 10, 20000, false, "200.00", "0.00"},
		{"zero hours", 0, 20000, true, "200.00", "0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRow()
			r.Hours, r.RateCents, r.Billable = tt.hours, tt.rate, tt.billable
			var buf bytes.Buffer
			if _, err := WriteCSV(&buf, SliceIterator([]Row{r}), CSVOptions{}); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if recs[1][6] != tt.wantRate || recs[1][7] != tt.wantAm {
				t.Errorf("rate, amount = %q, %q; want %q, %q", recs[1][6], recs[1][7], tt.wantRate, tt.wantAm)
			}
		})
	}
}

func TestWriteCSVRejectsBadRows(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Row)
	}{
		{"negative hours", func(r *Row) { r.Hours = -1 }},
		{"negative rate", func(r *Row) { r.RateCents = -1 }},
		{"bad date", func(r *Row) { r.Date = "=1+1" }},
		{"impossible date", func(r *Row) { r.Date = "2026-02-30" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, bad := sampleRow(), sampleRow()
			tt.mod(&bad)
			n, err := WriteCSV(io.Discard, SliceIterator([]Row{good, bad}), CSVOptions{})
			if err == nil || n != 1 {
				t.Fatalf("n, err = %d, %v; want 1 and an error", n, err)
			}
			if !strings.Contains(err.Error(), `"e-1"`) {
				t.Errorf("error does not name the entry: %v", err)
			}
		})
	}
}

type failingIter struct{ n int }

func (f *failingIter) Next() (Row, bool, error) {
	if f.n == 0 {
		return Row{}, false, errors.New("db gone")
	}
	f.n--
	return sampleRow(), true, nil
}

func TestWriteCSVIteratorError(t *testing.T) {
	n, err := WriteCSV(io.Discard, &failingIter{n: 2}, CSVOptions{})
	if err == nil || n != 2 || !strings.Contains(err.Error(), "db gone") {
		t.Fatalf("n, err = %d, %v", n, err)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSVWriterError(t *testing.T) {
	rows := make([]Row, 1000)
	for i := range rows {
		rows[i] = sampleRow()
	}
	if _, err := WriteCSV(errWriter{}, SliceIterator(rows), CSVOptions{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

// genIter generates rows on the fly and samples the live heap while the writer is running,
// so anything the writer retains per row shows up as growth.
type genIter struct {
	i, total       int
	baseline, peak uint64
	row            Row
}

func (g *genIter) sample() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func (g *genIter) Next() (Row, bool, error) {
	if g.i == g.total {
		return Row{}, false, nil
	}
	switch {
	case g.i == 1000:
		g.baseline = g.sample()
	case g.i > 1000 && g.i%25000 == 0, g.i == g.total-1:
		if h := g.sample(); h > g.peak {
			g.peak = h
		}
	}
	g.i++
	r := g.row
	// Fresh strings each row, as a database iterator would produce.
	r.EntryID = fmt.Sprintf("entry-%08d", g.i)
	r.Narrative = fmt.Sprintf("Reviewed and revised draft number %d, with \"quotes\", commas and a\nnewline", g.i)
	return r, true, nil
}

func TestWriteCSVConstantMemory(t *testing.T) {
	const rows = 100_000
	g := &genIter{total: rows, row: sampleRow()}
	var cw countingWriter
	n, err := WriteCSV(&cw, g, CSVOptions{BOM: true})
	if err != nil || n != rows {
		t.Fatalf("WriteCSV = %d, %v", n, err)
	}
	// 10^5 rows are ~17 MB of CSV; a writer holding rows or output would grow by far more
	// than the bound.
	if cw.n < 10<<20 {
		t.Fatalf("wrote only %d bytes", cw.n)
	}
	var growth int64
	if g.peak > g.baseline {
		growth = int64(g.peak - g.baseline)
	}
	const bound = 8 << 20
	if growth > bound {
		t.Fatalf("heap grew by %d bytes over %d rows (bound %d)", growth, rows, bound)
	}
	t.Logf("wrote %d bytes; heap growth %d bytes", cw.n, growth)
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func BenchmarkWriteCSV(b *testing.B) {
	row := sampleRow()
	b.ReportAllocs()
	for b.Loop() {
		g := &repeatIter{row: row, n: 1000}
		if _, err := WriteCSV(io.Discard, g, CSVOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

type repeatIter struct {
	row Row
	n   int
}

func (r *repeatIter) Next() (Row, bool, error) {
	if r.n == 0 {
		return Row{}, false, nil
	}
	r.n--
	return r.row, true, nil
}
