package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

// Values of a client's e-billing profile (internal/ebilling validates them; the schema
// has the same CHECKs).
const (
	RequiredCodesTask     = "task"
	RequiredCodesActivity = "activity"
	RequiredCodesBoth     = "both"
	RequiredCodesNone     = "none"
	CodeSetLitigation     = "utbms-litigation"
	CodeSetCustom         = "custom"
	// SettingInvoicePrefix is the firm_settings row with the invoice number prefix.
	SettingInvoicePrefix = "invoice_prefix"
	// DefaultInvoicePrefix is the prefix when the firm has set none.
	DefaultInvoicePrefix = "DCT-"
)

// Client is a client and its e-billing profile.
type Client struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	ClioID             *int64 `json:"clio_id,omitempty"`
	LEDESClientID      string `json:"ledes_client_id"`
	EBilling           bool   `json:"ebilling"`
	RequiredCodes      string `json:"required_codes"`
	CodeSet            string `json:"code_set"`
	InvoiceDescription string `json:"invoice_description"`
	CustomTasks        int    `json:"custom_task_codes"`
	CustomActivities   int    `json:"custom_activity_codes"`
	Matters            int    `json:"matters"`
}

const clientCols = `c.id, c.name, c.clio_id, c.ledes_client_id, c.ebilling, c.required_codes, c.code_set, c.invoice_description,
	(SELECT count(*) FROM client_codes k WHERE k.client_id = c.id AND k.kind = 'task'),
	(SELECT count(*) FROM client_codes k WHERE k.client_id = c.id AND k.kind = 'activity'),
	(SELECT count(*) FROM matters m WHERE m.client_id = c.id)`

func scanClient(sc interface{ Scan(...any) error }) (*Client, error) {
	var c Client
	var clio sql.NullInt64
	err := sc.Scan(&c.ID, &c.Name, &clio, &c.LEDESClientID, &c.EBilling, &c.RequiredCodes, &c.CodeSet, &c.InvoiceDescription,
		&c.CustomTasks, &c.CustomActivities, &c.Matters)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read client: %w", err)
	}
	if clio.Valid {
		c.ClioID = &clio.Int64
	}
	return &c, nil
}

// ClientByID reads a client and its e-billing profile.
func (s *Store) ClientByID(ctx context.Context, id string) (*Client, error) {
	return scanClient(s.db.QueryRowContext(ctx, "SELECT "+clientCols+" FROM clients c WHERE c.id = ?", id))
}

// Clients lists every client by name.
func (s *Store) Clients(ctx context.Context) ([]*Client, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+clientCols+" FROM clients c ORDER BY c.name")
	return collect(rows, err, "list clients", func(r *sql.Rows) (*Client, error) { return scanClient(r) })
}

// ClientPatch changes a client's e-billing profile; nil fields stay. The caller validates.
type ClientPatch struct {
	LEDESClientID      *string
	EBilling           *bool
	RequiredCodes      *string
	CodeSet            *string
	InvoiceDescription *string
}

// UpdateClient applies a validated patch, audited.
func (s *Store) UpdateClient(ctx context.Context, a identity.Actor, id string, p ClientPatch) (*Client, error) {
	var out *Client
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanClient(tx.QueryRowContext(ctx, "SELECT "+clientCols+" FROM clients c WHERE c.id = ?", id))
		if err != nil {
			return err
		}
		detail := map[string]any{}
		if p.LEDESClientID != nil {
			c.LEDESClientID = *p.LEDESClientID
			detail["ledes_client_id"] = c.LEDESClientID
		}
		if p.EBilling != nil {
			c.EBilling = *p.EBilling
			detail["ebilling"] = c.EBilling
		}
		if p.RequiredCodes != nil {
			c.RequiredCodes = *p.RequiredCodes
			detail["required_codes"] = c.RequiredCodes
		}
		if p.CodeSet != nil {
			c.CodeSet = *p.CodeSet
			detail["code_set"] = c.CodeSet
		}
		if p.InvoiceDescription != nil {
			c.InvoiceDescription = *p.InvoiceDescription
			detail["invoice_description"] = c.InvoiceDescription
		}
		if c.CodeSet == CodeSetCustom && c.CustomTasks+c.CustomActivities == 0 {
			return fmt.Errorf("%w: code_set custom needs a code list first: import one with POST /api/v1/clients/%s/codes", ErrInvalid, c.ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET ledes_client_id=?, ebilling=?, required_codes=?, code_set=?, invoice_description=?, updated_at=? WHERE id=?`,
			c.LEDESClientID, c.EBilling, c.RequiredCodes, c.CodeSet, c.InvoiceDescription, s.ts(), c.ID)
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		out = c
		return s.appendAudit(ctx, tx, a, "client.update", "client", c.ID, detail)
	})
	return out, err
}

// ClientCode is one code of a client's custom code set.
type ClientCode struct {
	Kind        string `json:"kind"` // task or activity
	Code        string `json:"code"`
	Description string `json:"description"`
}

// ReplaceClientCodes replaces a client's custom code set (validated by the caller), audited.
func (s *Store) ReplaceClientCodes(ctx context.Context, a identity.Actor, clientID string, codes []ClientCode) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM clients WHERE id = ?", clientID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("find client: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM client_codes WHERE client_id = ?", clientID); err != nil {
			return fmt.Errorf("replace client codes: %w", err)
		}
		tasks, acts := 0, 0
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO client_codes(client_id, kind, code, description) VALUES (?,?,?,?)", clientID, c.Kind, c.Code, c.Description); err != nil {
				if isUnique(err) {
					return fmt.Errorf("%w: %s code %s appears twice", ErrInvalid, c.Kind, c.Code)
				}
				return fmt.Errorf("replace client codes: %w", err)
			}
			if c.Kind == "task" {
				tasks++
			} else {
				acts++
			}
		}
		return s.appendAudit(ctx, tx, a, "client.codes", "client", clientID, map[string]any{"task_codes": tasks, "activity_codes": acts})
	})
}

// ClientCodes lists a client's custom code set, tasks first, by code.
func (s *Store) ClientCodes(ctx context.Context, clientID string) ([]ClientCode, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT kind, code, description FROM client_codes WHERE client_id = ? ORDER BY kind DESC, code", clientID)
	return collect(rows, err, "list client codes", func(r *sql.Rows) (ClientCode, error) {
		var c ClientCode
		return c, r.Scan(&c.Kind, &c.Code, &c.Description)
	})
}

// ClientRate is what one client has approved for one timekeeper: an hourly rate and/or
// the timekeeper id the client's e-billing platform knows the timekeeper by.
type ClientRate struct {
	ClientID     string `json:"client_id"`
	ClientName   string `json:"client_name"`
	RateCents    *int64 `json:"rate_cents"`
	TimekeeperID string `json:"timekeeper_id"`
}

// TimekeeperBilling is a timekeeper's e-billing data beside the user record.
type TimekeeperBilling struct {
	FirstName   string       `json:"first_name"`
	LastName    string       `json:"last_name"`
	ClientRates []ClientRate `json:"client_rates"`
}

// TimekeeperBillingPatch changes a timekeeper's e-billing data; nil fields stay. Each
// ClientRates element replaces that client's row; one with no rate and no timekeeper id
// removes it. The caller validates.
type TimekeeperBillingPatch struct {
	FirstName, LastName *string
	ClientRates         []ClientRate
}

// updateTimekeeperBilling applies p inside UpdateUser's transaction.
func (s *Store) updateTimekeeperBilling(ctx context.Context, tx *sql.Tx, userID int64, p *TimekeeperBillingPatch, detail map[string]any) error {
	if p == nil {
		return nil
	}
	if p.FirstName != nil || p.LastName != nil {
		var first, last string
		err := tx.QueryRowContext(ctx, "SELECT first_name, last_name FROM timekeeper_names WHERE user_id = ?", userID).Scan(&first, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read timekeeper name: %w", err)
		}
		if p.FirstName != nil {
			first = *p.FirstName
			detail["first_name"] = first
		}
		if p.LastName != nil {
			last = *p.LastName
			detail["last_name"] = last
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO timekeeper_names(user_id, first_name, last_name) VALUES (?,?,?)
			ON CONFLICT(user_id) DO UPDATE SET first_name=excluded.first_name, last_name=excluded.last_name`, userID, first, last); err != nil {
			return fmt.Errorf("save timekeeper name: %w", err)
		}
	}
	var changed []map[string]any
	for _, r := range p.ClientRates {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM clients WHERE id = ?", r.ClientID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: client_rates: no client %q (use the client_id of GET /api/v1/matters/{id})", ErrInvalid, r.ClientID)
			}
			return fmt.Errorf("find client: %w", err)
		}
		var err error
		if r.RateCents == nil && r.TimekeeperID == "" {
			_, err = tx.ExecContext(ctx, "DELETE FROM client_timekeepers WHERE client_id = ? AND user_id = ?", r.ClientID, userID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO client_timekeepers(client_id, user_id, rate_cents, timekeeper_id) VALUES (?,?,?,?)
				ON CONFLICT(client_id, user_id) DO UPDATE SET rate_cents=excluded.rate_cents, timekeeper_id=excluded.timekeeper_id`,
				r.ClientID, userID, r.RateCents, r.TimekeeperID)
		}
		if err != nil {
			return fmt.Errorf("save client rate: %w", err)
		}
		changed = append(changed, map[string]any{"client_id": r.ClientID, "rate_cents": r.RateCents, "timekeeper_id": r.TimekeeperID})
	}
	if len(changed) > 0 {
		detail["client_rates"] = changed
	}
	return nil
}

// TimekeeperBillingOf reads a user's e-billing data.
func (s *Store) TimekeeperBillingOf(ctx context.Context, username string) (TimekeeperBilling, error) {
	all, err := s.timekeeperBilling(ctx, "WHERE u.username = ?", strings.TrimSpace(username))
	if err != nil {
		return TimekeeperBilling{}, err
	}
	return all[strings.ToLower(strings.TrimSpace(username))], nil
}

// TimekeepersBilling reads every user's e-billing data, by lower-cased username.
func (s *Store) TimekeepersBilling(ctx context.Context) (map[string]TimekeeperBilling, error) {
	return s.timekeeperBilling(ctx, "")
}

func (s *Store) timekeeperBilling(ctx context.Context, where string, args ...any) (map[string]TimekeeperBilling, error) {
	out := map[string]TimekeeperBilling{}
	rows, err := s.db.QueryContext(ctx, `SELECT u.username, coalesce(tn.first_name,''), coalesce(tn.last_name,'') FROM users u
		LEFT JOIN timekeeper_names tn ON tn.user_id = u.id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read timekeeper names: %w", err)
	}
	for rows.Next() {
		var name string
		var tb TimekeeperBilling
		if err := rows.Scan(&name, &tb.FirstName, &tb.LastName); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read timekeeper names: %w", err)
		}
		tb.ClientRates = []ClientRate{}
		out[strings.ToLower(name)] = tb
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read timekeeper names: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT u.username, ct.client_id, c.name, ct.rate_cents, ct.timekeeper_id FROM client_timekeepers ct
		JOIN users u ON u.id = ct.user_id JOIN clients c ON c.id = ct.client_id `+where+` ORDER BY c.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("read client rates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var r ClientRate
		var rate sql.NullInt64
		if err := rows.Scan(&name, &r.ClientID, &r.ClientName, &rate, &r.TimekeeperID); err != nil {
			return nil, fmt.Errorf("read client rates: %w", err)
		}
		if rate.Valid {
			r.RateCents = &rate.Int64
		}
		k := strings.ToLower(name)
		tb := out[k]
		tb.ClientRates = append(tb.ClientRates, r)
		out[k] = tb
	}
	return out, rows.Err()
}

// LEDESTimekeeper is who recorded an entry, as a LEDES invoice for the entry's client
// names them: the user, their first and last name, and the timekeeper id that client
// knows them by ("" when the client has none of its own for them).
type LEDESTimekeeper struct {
	Username, FirstName, LastName, ClientTimekeeperID string
}

// LEDESTimekeepers maps each entry of a matter in a period (any status) to its timekeeper.
func (s *Store) LEDESTimekeepers(ctx context.Context, matterID, from, to string) (map[string]LEDESTimekeeper, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, u.username, coalesce(tn.first_name,''), coalesce(tn.last_name,''), coalesce(ct.timekeeper_id,'')
		FROM entries e JOIN users u ON u.id = e.user_id JOIN matters m ON m.id = e.matter_id
		LEFT JOIN timekeeper_names tn ON tn.user_id = u.id
		LEFT JOIN client_timekeepers ct ON ct.client_id = m.client_id AND ct.user_id = u.id
		WHERE e.matter_id = ? AND e.date >= ? AND e.date <= ?`, matterID, from, to)
	if err != nil {
		return nil, fmt.Errorf("read ledes timekeepers: %w", err)
	}
	defer rows.Close()
	out := map[string]LEDESTimekeeper{}
	for rows.Next() {
		var id string
		var t LEDESTimekeeper
		if err := rows.Scan(&id, &t.Username, &t.FirstName, &t.LastName, &t.ClientTimekeeperID); err != nil {
			return nil, fmt.Errorf("read ledes timekeepers: %w", err)
		}
		out[id] = t
	}
	return out, rows.Err()
}

// Invoice is an invoice number used for a client by a kept LEDES export.
type Invoice struct {
	ClientID string
	Number   string
	MatterID string
}

// InvoiceNumberUsed reports the export that already used number for a client ("" = none).
func (s *Store) InvoiceNumberUsed(ctx context.Context, clientID, number string) (string, error) {
	var exp string
	err := s.db.QueryRowContext(ctx, "SELECT export_id FROM invoices WHERE client_id = ? AND number = ?", clientID, number).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check invoice number: %w", err)
	}
	return exp, nil
}

// recordInvoice writes a kept LEDES export's invoice number inside SaveExport's
// transaction; a number the client already has fails the whole export.
func (s *Store) recordInvoice(ctx context.Context, tx *sql.Tx, x *Export) error {
	if x.Invoice == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO invoices(client_id, number, export_id, matter_id, created_at) VALUES (?,?,?,?,?)",
		x.Invoice.ClientID, x.Invoice.Number, x.ID, x.Invoice.MatterID, s.ts())
	if isUnique(err) {
		return fmt.Errorf("%w: invoice number %s was already used for this client; leave invoice_number empty to get the next one", ErrExists, x.Invoice.Number)
	}
	if err != nil {
		return fmt.Errorf("record invoice number: %w", err)
	}
	return nil
}

// invoiceNumber formats the n-th invoice number with a prefix.
func invoiceNumber(prefix string, n int) string { return fmt.Sprintf("%s%06d", prefix, n) }

// invoicePrefix reads the firm's invoice prefix (DefaultInvoicePrefix when unset).
func invoicePrefix(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", SettingInvoicePrefix).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultInvoicePrefix, nil
	}
	if err != nil {
		return "", fmt.Errorf("read invoice prefix: %w", err)
	}
	return v, nil
}

// PeekInvoiceNumber is the number the next kept LEDES export will get (nothing is
// reserved: another export made first takes it, and this one gets the one after).
func (s *Store) PeekInvoiceNumber(ctx context.Context) (string, error) {
	prefix, err := invoicePrefix(ctx, s.db)
	if err != nil {
		return "", err
	}
	var v string
	err = s.db.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", SettingInvoiceSeq).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read invoice sequence: %w", err)
	}
	var n int
	fmt.Sscan(v, &n)
	for {
		n++
		num := invoiceNumber(prefix, n)
		var one int
		err := s.db.QueryRowContext(ctx, "SELECT 1 FROM invoices WHERE number = ?", num).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return num, nil
		}
		if err != nil {
			return "", fmt.Errorf("check invoice number: %w", err)
		}
	}
}

// ledesSafeID reports an ID a LEDES file can carry as is: 1-20 printable ASCII
// characters without the delimiters |, [ and ].
func ledesSafeID(v string) bool {
	if v == "" || len(v) > 20 || strings.EqualFold(v, "NULL") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] >= 0x7f || v[i] == '|' || v[i] == '[' || v[i] == ']' {
			return false
		}
	}
	return true
}

// fillClioEBilling copies a Clio matter's client reference (LEDES CLIENT_MATTER_ID) and
// its client's LEDES client id into Dictum where Dictum has none yet (an admin's own
// value is never overwritten); a value a LEDES file cannot carry is reported instead.
func (s *Store) fillClioEBilling(ctx context.Context, tx *sql.Tx, rep *ClioImportReport, m ClioMatterIn) error {
	if ref := strings.TrimSpace(m.ClientReference); ref != "" {
		if !ledesSafeID(ref) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("Clio matter %s: client reference %q is not a LEDES id (at most 20 plain characters); set the client's matter id in Dictum", m.Number, ref))
		} else if _, err := tx.ExecContext(ctx, "UPDATE matters SET client_matter_id = ? WHERE clio_id = ? AND client_matter_id = ''", ref, m.ID); err != nil {
			return fmt.Errorf("clio import: client matter id: %w", err)
		}
	}
	if id := strings.TrimSpace(m.ClientLEDESID); id != "" {
		if !ledesSafeID(id) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("Clio client %s: LEDES client id %q is not a LEDES id (at most 20 plain characters); set it in Dictum", m.ClientName, id))
		} else if _, err := tx.ExecContext(ctx, "UPDATE clients SET ledes_client_id = ? WHERE id = (SELECT client_id FROM matters WHERE clio_id = ?) AND ledes_client_id = ''", id, m.ID); err != nil {
			return fmt.Errorf("clio import: ledes client id: %w", err)
		}
	}
	return nil
}

// matterCodes are the codes a matter's client accepts beyond UTBMS: its own code list
// when its profile uses one (nil otherwise, and for no matter).
func (s *Store) matterCodes(ctx context.Context, tx *sql.Tx, matterID string) (*entry.Codes, error) {
	if matterID == "" {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT k.kind, k.code, k.description FROM matters m JOIN clients c ON c.id = m.client_id
		JOIN client_codes k ON k.client_id = c.id WHERE m.id = ? AND c.code_set = ?`, matterID, CodeSetCustom)
	if err != nil {
		return nil, fmt.Errorf("read client codes: %w", err)
	}
	defer rows.Close()
	var out *entry.Codes
	for rows.Next() {
		var kind, code, desc string
		if err := rows.Scan(&kind, &code, &desc); err != nil {
			return nil, fmt.Errorf("read client codes: %w", err)
		}
		if out == nil {
			out = &entry.Codes{Tasks: map[string]string{}, Activities: map[string]string{}}
		}
		if kind == "task" {
			out.Tasks[code] = desc
		} else {
			out.Activities[code] = desc
		}
	}
	return out, rows.Err()
}

// checkFields is entry.CheckFields with the codes the entry's matter accepts.
func (s *Store) checkFields(ctx context.Context, tx *sql.Tx, f entry.Fields) error {
	extra, err := s.matterCodes(ctx, tx, f.MatterID)
	if err != nil {
		return err
	}
	return entry.CheckFieldsIn(f, extra)
}

// checkComplete is entry.Complete with the codes the entry's matter accepts.
func (s *Store) checkComplete(ctx context.Context, tx *sql.Tx, f entry.Fields, today time.Time) error {
	extra, err := s.matterCodes(ctx, tx, f.MatterID)
	if err != nil {
		return err
	}
	return entry.CompleteIn(f, today, extra)
}

// CustomCode is a code of a client whose profile uses its own code list.
type CustomCode struct {
	ClientName string
	ClientCode
}

// CustomCodes lists the codes of every client that uses its own code list, by code.
func (s *Store) CustomCodes(ctx context.Context) ([]CustomCode, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.name, k.kind, k.code, k.description FROM client_codes k JOIN clients c ON c.id = k.client_id
		WHERE c.code_set = ? ORDER BY k.code, c.name`, CodeSetCustom)
	return collect(rows, err, "list custom codes", func(r *sql.Rows) (CustomCode, error) {
		var c CustomCode
		return c, r.Scan(&c.ClientName, &c.Kind, &c.Code, &c.Description)
	})
}
