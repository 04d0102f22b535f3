// Package exports turns approved time entries into billing files: CSV and LEDES 1998B
// previews, which mark nothing, and kept exports, which are stored encrypted, numbered
// (LEDES invoices), optionally mark their entries exported (locked) and can be downloaded
// again. Every export is audited. The web app, the CLI and the scheduler all use this service.
package exports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"dictum/internal/billing"
	"dictum/internal/blob"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// Formats of an export.
const (
	FormatCSV   = "csv"
	FormatLEDES = "ledes"
)

// Params are the filters and options of an export, from a query string or a JSON body.
// A kept export stores them (as JSON) with the file.
type Params struct {
	Format        string `json:"format"`
	From          string `json:"from"`
	To            string `json:"to"`
	Matter        string `json:"matter"`
	Timekeeper    string `json:"timekeeper"`
	Status        string `json:"status"`
	Mark          bool   `json:"mark"`
	InvoiceNumber string `json:"invoice_number"`
	BOM           bool   `json:"bom"`
}

// Kind says why an export was refused.
type Kind int

const (
	// BadRequest: the parameters are not valid (a bad date, an unknown status, no matter).
	BadRequest Kind = iota + 1
	// NothingToExport: no entry matches the filters.
	NothingToExport
	// Changed: entries changed while a marking export was made; nothing was marked.
	Changed
)

// Error is an export refused for a reason the caller can fix. A LEDES file that would not
// be valid is refused with a *billing.RejectError instead, listing every problem.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// Service makes exports.
type Service struct {
	store    *store.Store
	blobs    *blob.Store
	settings *settings.Service
	today    func() time.Time
}

// New returns the export service. today gives the firm's current civil date (the LEDES
// invoice date).
func New(st *store.Store, blobs *blob.Store, firm *settings.Service, today func() time.Time) *Service {
	return &Service{store: st, blobs: blobs, settings: firm, today: today}
}

// check validates dates and, for a LEDES invoice, that one matter and one period are named.
func (p *Params) check(needMatter bool) error {
	for _, d := range []string{p.From, p.To} {
		if _, err := time.Parse("2006-01-02", d); d != "" && err != nil {
			return refuse(BadRequest, "dates must be YYYY-MM-DD, got %q", d)
		}
	}
	if p.From != "" && p.To != "" && p.To < p.From {
		return refuse(BadRequest, "to (%s) is before from (%s)", p.To, p.From)
	}
	if needMatter && (p.Matter == "" || p.From == "" || p.To == "") {
		return refuse(BadRequest, "a LEDES invoice needs matter, from and to (one matter and one billing period)")
	}
	return nil
}

// filter turns the parameters into the store's filter, with the firm's default rate.
func (s *Service) filter(ctx context.Context, p *Params) (store.ExportFilter, error) {
	f := store.ExportFilter{From: p.From, To: p.To, Timekeeper: p.Timekeeper, MatterID: p.Matter}
	switch p.Status {
	case "", entry.Approved:
	case entry.Exported, entry.Synced:
		if p.Mark {
			return f, refuse(BadRequest, "only approved entries can be marked exported")
		}
		f.Statuses = []string{p.Status}
	case "all":
		if p.Mark {
			return f, refuse(BadRequest, "only approved entries can be marked exported")
		}
		f.Statuses = []string{entry.Approved, entry.Exported, entry.Synced}
	default:
		return f, refuse(BadRequest, "status must be approved, exported, synced or all")
	}
	firm, err := s.settings.Firm(ctx)
	if err != nil {
		return f, err
	}
	f.DefaultRate = firm.DefaultRate
	return f, nil
}

// filename is the download name of a preview or a kept CSV export.
func filename(ext string, p Params) string {
	name := "dictum-entries"
	if p.From != "" || p.To != "" {
		name += "-" + p.From + "_" + p.To
	}
	return name + "." + ext
}

// CSVPreview is a CSV preview ready to stream. Call Write once, or Close to abandon it.
type CSVPreview struct {
	// Filename is the name to offer the download under.
	Filename string
	ctx      context.Context
	store    *store.Store
	actor    identity.Actor
	rows     *store.ExportRows
	bom      bool
}

// PreviewCSV selects the entries of a CSV preview (approved ones unless Status says
// otherwise). It marks nothing.
func (s *Service) PreviewCSV(ctx context.Context, a identity.Actor, p Params) (*CSVPreview, error) {
	if err := p.check(false); err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, &p)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ExportRows(ctx, f)
	if err != nil {
		return nil, err
	}
	return &CSVPreview{Filename: filename("csv", p), ctx: context.WithoutCancel(ctx), store: s.store, actor: a, rows: rows, bom: p.BOM}, nil
}

// Write streams the CSV to w, closes the query and records the preview in the audit log.
// It runs after the request has been answered, so it does not use the request's context.
func (v *CSVPreview) Write(w io.Writer) error {
	defer v.rows.Close()
	if _, err := billing.WriteCSV(w, v.rows, billing.CSVOptions{BOM: v.bom}); err != nil {
		return fmt.Errorf("csv preview: %w", err)
	}
	// A preview changes nothing, so its audit record is best effort.
	_ = v.store.AuditExportPreview(v.ctx, v.actor, FormatCSV, v.rows.IDs())
	return nil
}

// Close abandons a preview that will not be written.
func (v *CSVPreview) Close() error { return v.rows.Close() }

// File is an export built in memory.
type File struct {
	Filename string
	Body     []byte
}

// PreviewLEDES builds a LEDES 1998B invoice for one matter and period without numbering it
// (its number is p.InvoiceNumber or PREVIEW) or marking anything.
func (s *Service) PreviewLEDES(ctx context.Context, a identity.Actor, p Params) (*File, error) {
	if err := p.check(true); err != nil {
		return nil, err
	}
	number := p.InvoiceNumber
	if number == "" {
		number = "PREVIEW"
	}
	f, err := s.filter(ctx, &p)
	if err != nil {
		return nil, err
	}
	inv, err := s.ledes(ctx, p, f, number)
	if err != nil {
		return nil, err
	}
	// A preview changes nothing, so its audit record is best effort.
	_ = s.store.AuditExportPreview(ctx, a, FormatLEDES, inv.ids)
	return &File{Filename: filename("txt", p), Body: inv.body}, nil
}

// Create makes a kept export: the file is stored encrypted and can be downloaded again.
// A LEDES export without an invoice number gets the firm's next one. With p.Mark its
// entries become exported (locked) in the same transaction that records the export.
func (s *Service) Create(ctx context.Context, a identity.Actor, p Params) (*store.Export, error) {
	if p.Format != FormatCSV && p.Format != FormatLEDES {
		return nil, refuse(BadRequest, "format must be csv or ledes")
	}
	if err := p.check(p.Format == FormatLEDES); err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, &p)
	if err != nil {
		return nil, err
	}
	w, err := s.blobs.Create()
	if err != nil {
		return nil, fmt.Errorf("store export: %w", err)
	}
	defer w.Abort()
	var ids []string
	var invoice *store.Invoice
	tenths := 0
	name := filename("csv", p)
	switch p.Format {
	case FormatCSV:
		rows, err := s.store.ExportRows(ctx, f)
		if err != nil {
			return nil, err
		}
		_, err = billing.WriteCSV(w, &tenthsCounter{it: rows, tenths: &tenths}, billing.CSVOptions{BOM: p.BOM})
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("write csv export: %w", err)
		}
		ids = rows.IDs()
	case FormatLEDES:
		inv, err := s.numberedLEDES(ctx, a, &p, f)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(w, bytes.NewReader(inv.body)); err != nil {
			return nil, fmt.Errorf("store export: %w", err)
		}
		ids, tenths, invoice = inv.ids, inv.tenths, inv.record
		name = "ledes-" + strings.ReplaceAll(p.InvoiceNumber, "/", "-") + ".txt"
	}
	if len(ids) == 0 {
		return nil, refuse(NothingToExport, "no entries match these filters; nothing was exported")
	}
	blobID, size, err := w.Commit()
	if err != nil {
		return nil, fmt.Errorf("store export: %w", err)
	}
	params, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("export params: %w", err)
	}
	x := &store.Export{Format: p.Format, Params: params, EntryIDs: ids, BlobID: blobID, SizeBytes: size, Filename: name, Invoice: invoice}
	if err := s.store.SaveExport(ctx, a, x, tenths, p.Mark); err != nil {
		_ = s.blobs.Delete(blobID)
		if errors.Is(err, store.ErrChanged) {
			return nil, &Error{Kind: Changed, Message: err.Error()}
		}
		return nil, err
	}
	return x, nil
}

// tenthsCounter sums the hours of the rows passing through.
type tenthsCounter struct {
	it     billing.RowIterator
	tenths *int
}

func (t *tenthsCounter) Next() (billing.Row, bool, error) {
	r, ok, err := t.it.Next()
	if ok {
		*t.tenths += int(r.Hours)
	}
	return r, ok, err
}

// List lists kept exports, newest first (limit <= 0 or > 1000 means 100).
func (s *Service) List(ctx context.Context, limit int) ([]*store.Export, error) {
	return s.store.Exports(ctx, limit)
}

// Download is an open kept export. Close Body when done.
type Download struct {
	Export *store.Export
	Body   io.ReadSeekCloser
	Size   int64
}

// Open opens a kept export for download and records the download in the audit log.
func (s *Service) Open(ctx context.Context, a identity.Actor, id string) (*Download, error) {
	x, err := s.store.ExportByID(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, size, err := s.blobs.OpenSeeker(x.BlobID)
	if err != nil {
		return nil, fmt.Errorf("open export: %w", err)
	}
	// Reading a file changes nothing, so its audit record is best effort.
	_ = s.store.Audit(ctx, a, "export.download", "export", x.ID, nil)
	return &Download{Export: x, Body: rc, Size: size}, nil
}
