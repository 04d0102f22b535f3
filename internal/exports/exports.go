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
	"unicode"
	"unicode/utf8"

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
	// TooLarge: a preview would be larger than MaxPreviewBytes.
	TooLarge
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
func (s *Service) filter(ctx context.Context, a identity.Actor, p *Params) (store.ExportFilter, error) {
	f := store.ExportFilter{From: p.From, To: p.To, Timekeeper: p.Timekeeper, MatterID: p.Matter, ViewerID: a.UserID}
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

// MaxPreviewBytes bounds a CSV preview. A preview is built in memory before the first
// byte goes out, so that it holds no database connection while a (slow) client reads
// it and so that its audit record is written before anything is disclosed; a kept
// export (Create), which streams into an encrypted file, has no such limit.
var MaxPreviewBytes = 32 << 20

// errPreviewFull stops a preview that grows past MaxPreviewBytes.
var errPreviewFull = errors.New("preview too large")

// cappedBuffer is a buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errPreviewFull
	}
	return b.Buffer.Write(p)
}

// PreviewCSV builds a CSV of the entries (approved ones unless Status says otherwise) and
// records the preview in the audit log before returning it: no audit record, no file. It
// marks nothing. The query is read to its end and closed before PreviewCSV returns.
func (s *Service) PreviewCSV(ctx context.Context, a identity.Actor, p Params) (*File, error) {
	if err := p.check(false); err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, a, &p)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ExportRows(ctx, f)
	if err != nil {
		return nil, err
	}
	buf := &cappedBuffer{max: MaxPreviewBytes}
	_, err = billing.WriteCSV(buf, rows, billing.CSVOptions{BOM: p.BOM})
	rows.Close()
	if errors.Is(err, errPreviewFull) {
		return nil, refuse(TooLarge, "the preview would be larger than %d MiB: narrow the dates or the matter, or make a kept export (POST /api/v1/exports), which has no size limit", MaxPreviewBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("csv preview: %w", err)
	}
	if err := s.store.AuditExportPreview(ctx, a, FormatCSV, rows.IDs()); err != nil {
		return nil, fmt.Errorf("csv preview: record it in the audit log: %w", err)
	}
	return &File{Filename: filename("csv", p), Body: buf.Bytes()}, nil
}

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
	f, err := s.filter(ctx, a, &p)
	if err != nil {
		return nil, err
	}
	inv, err := s.ledes(ctx, p, f, number)
	if err != nil {
		return nil, err
	}
	// A preview discloses billing data: no audit record, no file.
	if err := s.store.AuditExportPreview(ctx, a, FormatLEDES, inv.ids); err != nil {
		return nil, fmt.Errorf("ledes preview: record it in the audit log: %w", err)
	}
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
	f, err := s.filter(ctx, a, &p)
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
		name = "ledes-" + SafeFilename(p.InvoiceNumber) + ".txt"
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

// List lists the kept exports the actor may see, newest first (limit <= 0 or > 1000
// means 100): an export holding an entry on a matter walled off from them is left out.
func (s *Service) List(ctx context.Context, a identity.Actor, limit int) ([]*store.Export, error) {
	list, err := s.store.Exports(ctx, limit)
	if err != nil {
		return nil, err
	}
	hidden, err := s.store.ExportsHidden(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, x := range list {
		if !hidden[x.ID] {
			out = append(out, x)
		}
	}
	return out, nil
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
	hidden, err := s.store.ExportsHidden(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	if hidden[x.ID] {
		return nil, store.ErrNotFound
	}
	rc, size, err := s.blobs.OpenSeeker(x.BlobID)
	if err != nil {
		return nil, fmt.Errorf("open export: %w", err)
	}
	// A download discloses billing data: no audit record, no file.
	if err := s.store.Audit(ctx, a, "export.download", "export", x.ID, nil); err != nil {
		rc.Close()
		return nil, fmt.Errorf("export download: record it in the audit log: %w", err)
	}
	return &Download{Export: x, Body: rc, Size: size}, nil
}

// SafeFilename makes a name safe to offer as a download's file name: no control or
// invisible formatting characters (bidi overrides), no path separators or characters
// Windows refuses, no leading dots, at most 120 characters; "download" when nothing is
// left. Invoice numbers, which users type, end up in file names.
func SafeFilename(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		case strings.ContainsRune(`/\:*?"<>|;`, r):
			b.WriteRune('-')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(b.String(), ". ")
	if rs := []rune(out); len(rs) > 120 {
		out = string(rs[:120])
	}
	if out == "" {
		return "download"
	}
	return out
}
