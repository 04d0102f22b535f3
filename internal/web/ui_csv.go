package web

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/matters"
)

// The admin matter import reads the one matter CSV format of internal/matters; this file
// only adds the import's limits and what it requires of a row.

const (
	maxImportBytes = 1 << 20
	maxImportRows  = 5000
)

// importRow is one data row of a matter CSV and whether it can be imported.
type importRow struct {
	Line       int
	ID         string // "" = the store assigns one
	Number     string
	Client     string
	Name       string
	Status     string
	Litigation bool
	// ClientMatterID is the client's own matter id (LEDES CLIENT_MATTER_ID).
	ClientMatterID string
	Err            string // why the row is invalid ("" = valid)
	Result         string // after import: "created" or the failure
}

// parseMatterCSV parses and validates a matter CSV for import: every row needs a number,
// a client and a name, and a number new to the firm (existing holds the numbers it has,
// lower-cased) and to the file. It returns an error only when the file as a whole is
// unusable, with the rows read before the problem when there are any.
func parseMatterCSV(data []byte, existing map[string]bool) ([]importRow, error) {
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("the file is larger than %d KiB; split it", maxImportBytes/1024)
	}
	f, err := matters.ParseCSV(data, matters.Options{Required: []string{"number", "client", "name"},
		UniqueNumbers: true, Existing: existing, MaxRows: maxImportRows})
	if f == nil {
		return nil, err
	}
	var rows []importRow // the rows read before a broken line, with err, for the preview
	for _, r := range f.Rows {
		rows = append(rows, importRow{Line: r.Line, ID: r.ID, Number: r.Number, Client: r.Client, Name: r.Name, Status: r.Status,
			Litigation: r.Litigation != nil && *r.Litigation, ClientMatterID: r.ClientMatterID, Err: r.Err()})
	}
	return rows, err
}

// errImportTooLarge refuses a matter CSV over maxImportBytes.
var errImportTooLarge = fmt.Errorf("the file is larger than %d KiB; split it", maxImportBytes/1024)

// importInput is the CSV of an import form: the uploaded file part, else the pasted text.
// bodyGuard has read the form into memory (capped at importBodyCap) and it is parsed
// there: client lists never land in a plaintext temp file.
func importInput(c *fiber.Ctx) ([]byte, error) {
	f, err := multipartForm(c)
	if errors.Is(err, errNotMultipart) {
		return []byte(formValue(c, "csv")), nil
	}
	if err != nil {
		return nil, err
	}
	data := f.files["file"]
	if len(data) == 0 {
		data = []byte(f.values["csv"])
	}
	if len(data) > maxImportBytes {
		return nil, errImportTooLarge
	}
	return data, nil
}
