// Package matters reads a firm's matter list from CSV. There is one format, read by the
// admin import (/admin/matters/import) and by `dictum draft --matters FILE`:
//
//   - UTF-8 text (a leading BOM is ignored), comma or semicolon separated (whichever the
//     first line has more of); blank lines are skipped.
//   - The first line is a header when one of its cells is "id" or "number" (any case). It
//     names the columns in any order: id, number, client, name, status, litigation,
//     client_matter_id (the client's own matter id, LEDES CLIENT_MATTER_ID, at most 20
//     plain characters); other columns are ignored.
//   - Without a header the columns are number, client, name[, status[, litigation]].
//   - status is open or closed (open when empty); litigation is yes/no (also y/n,
//     true/false, t/f, 1/0; empty means "not given").
//
// A problem with one row is reported on that row, naming its line; only a file that cannot
// be read as a whole is an error.
package matters

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxFieldLen is the longest id, number, client or name a row may carry, in bytes.
const MaxFieldLen = 200

// Columns is every column the format knows, in the order a file without a header has them
// (a headerless file has no id column).
var Columns = []string{"id", "number", "client", "name", "status", "litigation", "client_matter_id"}

// MaxClientMatterID is the longest client matter id (a LEDES 1998B ID field).
const MaxClientMatterID = 20

// positional are the columns of a file without a header.
var positional = []string{"number", "client", "name", "status", "litigation"}

// Row is one data row of a matter CSV.
type Row struct {
	Line       int    // the file line the row starts on
	ID         string // "" when the file has no id column
	Number     string
	Client     string
	Name       string
	Status     string // open or closed
	Litigation *bool  // nil when not given
	// ClientMatterID is the client's own matter id ("" when not given).
	ClientMatterID string
	Problems       []string // why the row cannot be used; empty when it can
}

// Err is the row's problems as one message ("" when there are none).
func (r Row) Err() string { return strings.Join(r.Problems, "; ") }

// File is a parsed matter CSV.
type File struct {
	Columns []string // the file's columns: its header (lower-cased), or the headerless order
	Rows    []Row
}

// Has reports whether the file has the column col.
func (f *File) Has(col string) bool { return slices.Contains(f.Columns, col) }

// Options are what a reader of the file requires beyond the format.
type Options struct {
	// Required columns must be present and non-empty in every row (e.g. number, client
	// and name for a matter to be created).
	Required []string
	// UniqueNumbers: a row's number must not be in Existing (lower-cased numbers the firm
	// already has) nor on an earlier row.
	UniqueNumbers bool
	Existing      map[string]bool
	// MaxRows caps the data rows (0: no cap).
	MaxRows int
}

// ParseCSV parses and checks a matter CSV. It returns an error only when the file as a
// whole is unusable: not UTF-8, empty, malformed CSV, too many rows or no data rows. With
// malformed CSV or too many rows the File holds the rows read before the problem, for a
// preview; it is nil for the other errors.
func ParseCSV(data []byte, opt Options) (*File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errors.New("the file is not UTF-8 text; save it from your spreadsheet as \"CSV UTF-8\"")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	r := csv.NewReader(bytes.NewReader(data))
	first := data
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	f := &File{Columns: positional}
	seen := map[string]int{}
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return f, fmt.Errorf("line %d: %s", pe.Line, pe.Err)
			}
			return f, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := r.FieldPos(0) // valid only after a successful Read
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if n == 0 && isHeader(rec) {
			f.Columns = make([]string, len(rec))
			for i, h := range rec {
				f.Columns[i] = strings.ToLower(h)
			}
			continue
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		if opt.MaxRows > 0 && len(f.Rows) >= opt.MaxRows {
			return f, fmt.Errorf("more than %d rows; split the file", opt.MaxRows)
		}
		f.Rows = append(f.Rows, f.row(rec, line, opt, seen))
	}
	if len(f.Rows) == 0 {
		return nil, errors.New("the file has no data rows")
	}
	return f, nil
}

// ledesID reports a value a LEDES ID field can carry as is.
func ledesID(v string) bool {
	if len(v) > MaxClientMatterID || strings.EqualFold(v, "NULL") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] >= 0x7f || v[i] == '|' || v[i] == '[' || v[i] == ']' {
			return false
		}
	}
	return true
}

// isHeader reports whether a first line names columns rather than holding a matter.
func isHeader(rec []string) bool {
	for _, c := range rec {
		if strings.EqualFold(c, "id") || strings.EqualFold(c, "number") {
			return true
		}
	}
	return false
}

// row reads and checks one data row. seen maps the numbers of earlier rows to their line.
func (f *File) row(rec []string, line int, opt Options, seen map[string]int) Row {
	get := func(col string) string {
		if i := slices.Index(f.Columns, col); i >= 0 && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	row := Row{Line: line, ID: get("id"), Number: get("number"), Client: get("client"), Name: get("name"), Status: "open"}
	var problems []string
	// The row must reach the last required column; the message lists the columns up to it.
	need := 0
	for _, col := range opt.Required {
		if i := slices.Index(f.Columns, col); i+1 > need {
			need = i + 1
		}
	}
	if len(rec) < need {
		problems = append(problems, fmt.Sprintf("needs at least %d columns (%s), has %d", need, strings.Join(f.Columns[:need], ", "), len(rec)))
	} else if len(rec) > len(f.Columns) {
		problems = append(problems, fmt.Sprintf("has %d columns; expected %s", len(rec), strings.Join(f.Columns, ", ")))
	}
	for _, fv := range []struct{ name, v string }{{"id", row.ID}, {"number", row.Number}, {"client", row.Client}, {"name", row.Name}} {
		if len(rec) >= need && fv.v == "" && slices.Contains(opt.Required, fv.name) {
			problems = append(problems, fv.name+" is empty")
		}
		if len(fv.v) > MaxFieldLen {
			problems = append(problems, fmt.Sprintf("%s is longer than %d characters", fv.name, MaxFieldLen))
		}
	}
	switch st := get("status"); strings.ToLower(st) {
	case "", "open":
	case "closed":
		row.Status = "closed"
	default:
		problems = append(problems, fmt.Sprintf("status %q must be open or closed", st))
	}
	switch l := get("litigation"); strings.ToLower(l) {
	case "":
	case "no", "n", "false", "f", "0":
		row.Litigation = new(false)
	case "yes", "y", "true", "t", "1":
		row.Litigation = new(true)
	default:
		problems = append(problems, fmt.Sprintf("litigation %q must be yes or no", l))
	}
	if row.ClientMatterID = get("client_matter_id"); row.ClientMatterID != "" && !ledesID(row.ClientMatterID) {
		problems = append(problems, fmt.Sprintf("client_matter_id %q must be at most %d plain ASCII characters without |, [ or ]", row.ClientMatterID, MaxClientMatterID))
	}
	if key := strings.ToLower(row.Number); opt.UniqueNumbers && row.Number != "" {
		if opt.Existing[key] {
			problems = append(problems, "matter number "+row.Number+" already exists")
		} else if prev, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("matter number %s is also on line %d", row.Number, prev))
		} else {
			seen[key] = line
		}
	}
	row.Problems = problems
	return row
}
