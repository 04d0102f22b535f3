package billing

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// CSVOptions tunes the CSV writer.
type CSVOptions struct {
	// BOM writes a UTF-8 byte order mark first, which makes Excel on Windows read the file
	// as UTF-8 instead of the local code page.
	BOM bool
}

// CSVHeader is the header record WriteCSV writes, in column order.
var CSVHeader = []string{
	"Date", "Timekeeper", "Client", "Matter Number", "Matter Name",
	"Hours", "Rate", "Amount", "Activity", "Task", "Narrative", "Billable", "Entry ID",
}

// WriteCSV streams rows as RFC 4180 CSV (UTF-8, CRLF line endings, fields quoted when
// needed) and returns the number of data rows written.
//
// Columns are CSVHeader. Hours are decimal hours ("1.3"); Rate is the hourly rate ("250.00",
// empty when the row has none); Amount is hours x rate computed in cents and rounded half
// up to the cent ("325.00"; "0.00" for non-billable rows, empty when there is no rate);
// Billable is "Yes" or "No".
//
// Spreadsheet formula injection: every text cell taken from a row whose first character is
// '=', '+', '-', '@', TAB or CR is prefixed with a single quote so Excel/LibreOffice show it
// as text instead of evaluating it. The numeric cells (Hours, Rate, Amount) are produced by
// this function from validated values and are never negative, so they never start with one
// of those characters and are written untouched; a row with negative hours or rate is an
// error rather than a negative number in the file. Date must be YYYY-MM-DD.
//
// Line breaks inside a cell are written as CRLF; a bare CR (not followed by LF) is dropped
// by encoding/csv in CRLF mode, which only ever affects invisible characters.
//
// Memory does not grow with the number of rows: each row is formatted and handed to a
// buffered writer before the next one is requested.
func WriteCSV(w io.Writer, rows RowIterator, opts CSVOptions) (n int, err error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	if opts.BOM {
		if _, err := bw.WriteString("\ufeff"); err != nil {
			return 0, fmt.Errorf("write csv bom: %w", err)
		}
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return 0, fmt.Errorf("write csv header: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	for {
		row, ok, err := rows.Next()
		if err != nil {
			return n, fmt.Errorf("write csv: read row %d: %w", n+1, err)
		}
		if !ok {
			break
		}
		if err := csvRecord(rec, row); err != nil {
			return n, fmt.Errorf("write csv: entry %q: %w", row.EntryID, err)
		}
		if err := cw.Write(rec); err != nil {
			return n, fmt.Errorf("write csv: entry %q: %w", row.EntryID, err)
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write csv: %w", err)
	}
	return n, nil
}

func csvRecord(rec []string, r Row) error {
	if _, err := parseCivilDate(r.Date); err != nil {
		return err
	}
	if r.Hours < 0 {
		return fmt.Errorf("negative hours %s", r.Hours)
	}
	if r.RateCents < 0 {
		return fmt.Errorf("negative rate %s", r.RateCents)
	}
	rate, amount := "", ""
	if r.RateCents > 0 {
		rate = r.RateCents.String()
		amount = Cents(0).String()
		if r.Billable {
			a, err := Amount(r.Hours, r.RateCents)
			if err != nil {
				return err
			}
			amount = a.String()
		}
	}
	billable := "No"
	if r.Billable {
		billable = "Yes"
	}
	rec[0] = r.Date // validated above: digits and dashes only, starts with a digit
	rec[1] = safeCell(r.TimekeeperName)
	rec[2] = safeCell(r.ClientName)
	rec[3] = safeCell(r.MatterNumber)
	rec[4] = safeCell(r.MatterName)
	rec[5] = r.Hours.String()
	rec[6] = rate
	rec[7] = amount
	rec[8] = safeCell(r.Activity)
	rec[9] = safeCell(r.Task)
	rec[10] = safeCell(r.Narrative)
	rec[11] = billable
	rec[12] = safeCell(r.EntryID)
	return nil
}

// safeCell makes a text cell safe to open in a spreadsheet: invalid UTF-8 is replaced and a
// leading formula trigger is neutralised with a single quote.
func safeCell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
