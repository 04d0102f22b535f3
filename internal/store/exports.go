package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"dictum/internal/billing"
	"dictum/internal/entry"
	"dictum/internal/identity"
)

// ExportFilter selects entries for an export.
type ExportFilter struct {
	From, To   string // inclusive YYYY-MM-DD
	Timekeeper string // username, "" = all
	MatterID   string
	Statuses   []string // default approved
	// DefaultRate is the firm's default hourly rate, used when neither the matter nor the
	// timekeeper has one (0 when the firm has none).
	DefaultRate billing.Cents
	// ViewerID is who exports: entries on matters walled off from them are left out (0:
	// Dictum itself or the CLI).
	ViewerID int64
}

const (
	// SettingInvoiceSeq is the firm_settings row that counts invoice numbers.
	SettingInvoiceSeq   = "invoice_sequence"
	defaultExportStatus = entry.Approved
)

func (f ExportFilter) where() (string, []any) {
	var w []string
	var args []any
	st := f.Statuses
	if len(st) == 0 {
		st = []string{defaultExportStatus}
	}
	w = append(w, "e.deleted_at IS NULL", "e.status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(st)), ",")+")")
	for _, s := range st {
		args = append(args, s)
	}
	w, args = dateMatterFilter(w, args, f.From, f.To, f.MatterID)
	vc, va := matterVisible("e.matter_id", f.ViewerID)
	w, args = append(w, vc), append(args, va...)
	if f.Timekeeper != "" {
		w = append(w, "u.username = ?")
		args = append(args, f.Timekeeper)
	}
	return strings.Join(w, " AND "), args
}

const exportQuery = `SELECT e.id, e.date, coalesce(nullif(u.timekeeper_id,''), u.username), coalesce(nullif(u.display_name,''), u.username), u.classification,
	coalesce(c.id,''), coalesce(c.name,''), coalesce(m.id,''), coalesce(m.number,''), coalesce(m.name,''), e.tenths,
	coalesce((SELECT ct.rate_cents FROM client_timekeepers ct WHERE ct.client_id = m.client_id AND ct.user_id = u.id), m.rate_cents, u.rate_cents, ?, 0), e.activity, coalesce(e.task,''), e.narrative, e.billable
	FROM entries e JOIN users u ON u.id = e.user_id LEFT JOIN matters m ON m.id = e.matter_id LEFT JOIN clients c ON c.id = m.client_id
	WHERE `

// ExportRows is a streaming iterator over the rows of an export (close it when done).
type ExportRows struct {
	rows *sql.Rows
	ids  []string
}

// Next implements billing.RowIterator.
func (r *ExportRows) Next() (billing.Row, bool, error) {
	if !r.rows.Next() {
		return billing.Row{}, false, r.rows.Err()
	}
	var row billing.Row
	var tenths int
	var rate int64
	if err := r.rows.Scan(&row.EntryID, &row.Date, &row.TimekeeperID, &row.TimekeeperName, &row.TimekeeperClass, &row.ClientID, &row.ClientName,
		&row.MatterID, &row.MatterNumber, &row.MatterName, &tenths, &rate, &row.Activity, &row.Task, &row.Narrative, &row.Billable); err != nil {
		return billing.Row{}, false, fmt.Errorf("read export row: %w", err)
	}
	row.Hours, row.RateCents = billing.Tenths(tenths), billing.Cents(rate)
	r.ids = append(r.ids, row.EntryID)
	return row, true, nil
}

// IDs are the entry ids read so far.
func (r *ExportRows) IDs() []string { return r.ids }

// Close releases the query.
func (r *ExportRows) Close() error { return r.rows.Close() }

// ExportRows streams the rows of an export in date order. Rates resolve as the rate the
// matter's client approved for the timekeeper, then the matter override, then the
// timekeeper's rate, then the filter's firm default.
func (s *Store) ExportRows(ctx context.Context, f ExportFilter) (*ExportRows, error) {
	where, args := f.where()
	rows, err := s.db.QueryContext(ctx, exportQuery+where+" ORDER BY e.date, u.username, e.created_at", append([]any{int64(f.DefaultRate)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("export query: %w", err)
	}
	return &ExportRows{rows: rows}, nil
}

// Export is a kept export file.
type Export struct {
	ID         string          `json:"id"`
	Format     string          `json:"format"`
	Params     json.RawMessage `json:"params"`
	EntryIDs   []string        `json:"entry_ids"`
	EntryCount int             `json:"entry_count"`
	Hours      float64         `json:"hours"`
	Marked     bool            `json:"marked"`
	BlobID     string          `json:"-"`
	SizeBytes  int64           `json:"size_bytes"`
	Filename   string          `json:"filename"`
	CreatedBy  string          `json:"created_by"`
	CreatedAt  string          `json:"created_at"`
	// Invoice, for a kept LEDES export, is the invoice number it uses for its client.
	Invoice *Invoice `json:"-"`
}

// ErrChanged is returned when entries changed while an export was being made.
var ErrChanged = errors.New("entries changed while exporting")

// SaveExport records a kept export and, when mark is set, marks its entries exported
// (locked) in the same transaction: every entry must still be approved, or nothing changes.
func (s *Store) SaveExport(ctx context.Context, a identity.Actor, x *Export, tenths int, mark bool) error {
	if x.ID == "" {
		x.ID = NewID("exp")
	}
	ids, _ := json.Marshal(x.EntryIDs)
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		if mark && len(x.EntryIDs) > 0 {
			n := 0
			for _, id := range x.EntryIDs {
				res, err := tx.ExecContext(ctx, "UPDATE entries SET status='exported', exported_at=?, export_id=?, updated_at=? WHERE id=? AND status='approved' AND deleted_at IS NULL AND coalesce(clio_state,'') != 'intent'",
					now, x.ID, now, id)
				if err != nil {
					return fmt.Errorf("mark exported: %w", err)
				}
				k, _ := res.RowsAffected()
				n += int(k)
			}
			if n != len(x.EntryIDs) {
				return fmt.Errorf("%w: %d of %d entries are no longer approved (or are being sent to Clio); nothing was marked, try again", ErrChanged, len(x.EntryIDs)-n, len(x.EntryIDs))
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO exports(id, format, params, entry_ids, entry_count, tenths, marked, blob_id, size_bytes, filename, created_by, created_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, x.ID, x.Format, string(x.Params), string(ids), len(x.EntryIDs), tenths, mark, x.BlobID, x.SizeBytes, x.Filename, a.Username, now)
		if err != nil {
			return fmt.Errorf("save export: %w", err)
		}
		if err := s.recordInvoice(ctx, tx, x); err != nil {
			return err
		}
		x.Marked, x.CreatedAt, x.CreatedBy, x.EntryCount, x.Hours = mark, now, a.Username, len(x.EntryIDs), float64(tenths)/10
		return s.appendAudit(ctx, tx, a, "export.create", "export", x.ID, map[string]any{"format": x.Format, "marked": mark, "entry_ids": x.EntryIDs})
	})
}

// Exports lists kept exports, newest first.
func (s *Store) Exports(ctx context.Context, limit int) ([]*Export, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, format, params, entry_ids, entry_count, tenths, marked, blob_id, size_bytes, filename, created_by, created_at
		FROM exports WHERE deleted_at IS NULL ORDER BY created_at DESC LIMIT ?`, limit)
	return collect(rows, err, "list exports", func(r *sql.Rows) (*Export, error) { return scanExport(r) })
}

// ExportByID reads one kept export.
func (s *Store) ExportByID(ctx context.Context, id string) (*Export, error) {
	return scanExport(s.db.QueryRowContext(ctx, `SELECT id, format, params, entry_ids, entry_count, tenths, marked, blob_id, size_bytes, filename, created_by, created_at
		FROM exports WHERE id = ? AND deleted_at IS NULL`, id))
}

func scanExport(sc interface{ Scan(...any) error }) (*Export, error) {
	var x Export
	var params, ids string
	var tenths int
	err := sc.Scan(&x.ID, &x.Format, &params, &ids, &x.EntryCount, &tenths, &x.Marked, &x.BlobID, &x.SizeBytes, &x.Filename, &x.CreatedBy, &x.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read export: %w", err)
	}
	x.Params = json.RawMessage(params)
	_ = json.Unmarshal([]byte(ids), &x.EntryIDs)
	x.Hours = float64(tenths) / 10
	return &x, nil
}

// AuditExportPreview records that a preview was downloaded (it marks nothing).
func (s *Store) AuditExportPreview(ctx context.Context, a identity.Actor, format string, ids []string) error {
	return s.Audit(ctx, a, "export.preview", "export", format, map[string]any{"entry_ids": ids})
}

// NextInvoiceNumber takes the next invoice number: the firm's prefix (SettingInvoicePrefix,
// DCT- by default) and a sequence that only moves forward, skipping any number an
// export already used, so a number is never handed out twice.
func (s *Store) NextInvoiceNumber(ctx context.Context, a identity.Actor) (string, error) {
	var out string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		var v string
		err := tx.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", SettingInvoiceSeq).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		fmt.Sscan(v, &n)
		prefix, err := invoicePrefix(ctx, tx)
		if err != nil {
			return err
		}
		for {
			n++
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM invoices WHERE number = ?", invoiceNumber(prefix, n)).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return fmt.Errorf("check invoice number: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO firm_settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", SettingInvoiceSeq, fmt.Sprint(n)); err != nil {
			return err
		}
		out = invoiceNumber(prefix, n)
		return nil
	})
	return out, err
}
