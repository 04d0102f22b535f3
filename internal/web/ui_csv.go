package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Matter CSV import: columns number,client,name[,status,litigation]; an optional header row
// (first cell "number"); comma or semicolon separated; UTF-8 (a BOM is ignored).

const (
	maxImportBytes = 1 << 20
	maxImportRows  = 5000
)

// importRow is one data row of a matter CSV and whether it can be imported.
type importRow struct {
	Line       int
	Number     string
	Client     string
	Name       string
	Status     string
	Litigation bool
	Err        string // why the row is invalid ("" = valid)
	Result     string // after import: "created" or the failure
}

// parseMatterCSV parses and validates a matter CSV. existing holds the matter numbers already
// in the firm (lower-cased). It returns an error only when the file as a whole is unusable.
func parseMatterCSV(data []byte, existing map[string]bool) ([]importRow, error) {
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("the file is larger than %d KiB; split it", maxImportBytes/1024)
	}
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
	r.ReuseRecord = false
	var rows []importRow
	seen := map[string]int{}
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return rows, fmt.Errorf("line %d: %s", pe.Line, pe.Err)
			}
			return rows, err
		}
		line, _ := r.FieldPos(0) // valid only after a successful Read
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if n == 0 && len(rec) > 0 && strings.EqualFold(rec[0], "number") {
			continue // header
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		if len(rows) >= maxImportRows {
			return rows, fmt.Errorf("more than %d rows; split the file", maxImportRows)
		}
		row := importRow{Line: line, Status: "open"}
		get := func(i int) string {
			if i < len(rec) {
				return rec[i]
			}
			return ""
		}
		row.Number, row.Client, row.Name = get(0), get(1), get(2)
		var problems []string
		if len(rec) < 3 {
			problems = append(problems, fmt.Sprintf("needs at least 3 columns (number, client, name), has %d", len(rec)))
		} else if len(rec) > 5 {
			problems = append(problems, fmt.Sprintf("has %d columns; expected number, client, name, status, litigation", len(rec)))
		}
		for _, f := range []struct{ name, v string }{{"number", row.Number}, {"client", row.Client}, {"name", row.Name}} {
			if len(rec) >= 3 && f.v == "" {
				problems = append(problems, f.name+" is empty")
			}
			if len(f.v) > 200 {
				problems = append(problems, f.name+" is longer than 200 characters")
			}
		}
		switch st := strings.ToLower(get(3)); st {
		case "", "open":
		case "closed":
			row.Status = "closed"
		default:
			problems = append(problems, fmt.Sprintf("status %q must be open or closed", get(3)))
		}
		switch l := strings.ToLower(get(4)); l {
		case "", "no", "n", "false", "0":
		case "yes", "y", "true", "1":
			row.Litigation = true
		default:
			problems = append(problems, fmt.Sprintf("litigation %q must be yes or no", get(4)))
		}
		key := strings.ToLower(row.Number)
		if row.Number != "" {
			if existing[key] {
				problems = append(problems, "matter number "+row.Number+" already exists")
			} else if prev, dup := seen[key]; dup {
				problems = append(problems, fmt.Sprintf("matter number %s is also on line %d", row.Number, prev))
			} else {
				seen[key] = line
			}
		}
		row.Err = strings.Join(problems, "; ")
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("the file has no data rows")
	}
	return rows, nil
}
