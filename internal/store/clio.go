package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
)

// ErrClioNotConnected is returned when no Clio token is stored.
var ErrClioNotConnected = errors.New("clio is not connected")

// ErrClioBusy is returned when another sync or import holds the Clio lease.
var ErrClioBusy = errors.New("another Clio sync or import is running")

// maxClioError bounds the stored per-entry error text.
const maxClioError = 1000

// ClioConnection is the stored connection, without the token.
type ClioConnection struct {
	Connected   bool   `json:"connected"`
	Region      string `json:"region,omitempty"`
	ConnectedBy string `json:"connected_by,omitempty"`
	ConnectedAt string `json:"connected_at,omitempty"`
	LastSyncAt  string `json:"last_sync_at,omitempty"`
	LastError   string `json:"last_error,omitempty"`
}

// ClioConnection reads the connection row; Connected is false when there is none.
func (s *Store) ClioConnection(ctx context.Context) (*ClioConnection, error) {
	var c ClioConnection
	var at, last sql.NullString
	var blob []byte
	err := s.db.QueryRowContext(ctx, "SELECT region, token_blob, connected_by, connected_at, last_sync_at, last_error FROM clio_connection WHERE id = 1").
		Scan(&c.Region, &blob, &c.ConnectedBy, &at, &last, &c.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return &ClioConnection{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read clio connection: %w", err)
	}
	c.Connected = len(blob) > 0
	c.ConnectedAt, c.LastSyncAt = at.String, last.String
	return &c, nil
}

// ConnectClio stores a new token (sealed by the caller) for region and audits
// "clio.connect". It replaces an earlier connection but keeps the last sync time.
func (s *Store) ConnectClio(ctx context.Context, a identity.Actor, region string, sealedToken []byte) error {
	if len(sealedToken) == 0 {
		return errors.New("clio token is empty")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		_, err := tx.ExecContext(ctx, `INSERT INTO clio_connection(id, region, token_blob, connected_by, connected_at, last_error) VALUES (1,?,?,?,?,'')
			ON CONFLICT(id) DO UPDATE SET region=excluded.region, token_blob=excluded.token_blob, connected_by=excluded.connected_by,
			connected_at=excluded.connected_at, last_error=''`, region, sealedToken, a.Username, now)
		if err != nil {
			return fmt.Errorf("save clio connection: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "clio.connect", "clio", "connection", map[string]any{"region": region})
	})
}

// SaveClioSealedToken replaces the stored (sealed) token after a refresh. It fails with
// ErrClioNotConnected when Clio was disconnected meanwhile (the token is then dropped).
func (s *Store) SaveClioSealedToken(ctx context.Context, sealedToken []byte) error {
	if len(sealedToken) == 0 {
		return errors.New("clio token is empty")
	}
	res, err := s.db.ExecContext(ctx, "UPDATE clio_connection SET token_blob = ? WHERE id = 1 AND token_blob IS NOT NULL", sealedToken)
	if err != nil {
		return fmt.Errorf("save clio token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClioNotConnected
	}
	return nil
}

// ClioSealedToken returns the stored token as sealed by ConnectClio's caller;
// ErrClioNotConnected when there is none.
func (s *Store) ClioSealedToken(ctx context.Context) ([]byte, error) {
	var blob []byte
	err := s.db.QueryRowContext(ctx, "SELECT token_blob FROM clio_connection WHERE id = 1").Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(blob) == 0) {
		return nil, ErrClioNotConnected
	}
	if err != nil {
		return nil, fmt.Errorf("read clio token: %w", err)
	}
	return blob, nil
}

// DisconnectClio forgets the token and audits "clio.disconnect". Sync state of entries
// (synced ids, recorded intents) is kept. It reports whether a connection existed.
func (s *Store) DisconnectClio(ctx context.Context, a identity.Actor) (bool, error) {
	existed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE clio_connection SET token_blob = NULL WHERE id = 1 AND token_blob IS NOT NULL")
		if err != nil {
			return fmt.Errorf("disconnect clio: %w", err)
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			return nil
		}
		existed = true
		return s.appendAudit(ctx, tx, a, "clio.disconnect", "clio", "connection", nil)
	})
	return existed, err
}

// RecordClioSync stores the outcome of a push (last_sync_at, last_error) and, when the
// push touched any entry, audits a "clio.sync" summary.
func (s *Store) RecordClioSync(ctx context.Context, a identity.Actor, trigger string, synced, failed int, lastErr string) error {
	if len(lastErr) > maxClioError {
		lastErr = lastErr[:maxClioError]
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE clio_connection SET last_sync_at = ?, last_error = ? WHERE id = 1", s.ts(), lastErr); err != nil {
			return fmt.Errorf("record clio sync: %w", err)
		}
		if synced+failed == 0 {
			return nil // a scheduled run with nothing to do is not worth an audit event
		}
		return s.appendAudit(ctx, tx, a, "clio.sync", "clio", "connection", map[string]any{"trigger": trigger, "synced": synced, "failed": failed})
	})
}

const clioLeaseKey = "clio.lease"

// AcquireClioLease takes the firm-wide Clio lease (one sync or import at a time, across
// the server and the CLI) for ttl. holder must be unique per attempt. An expired lease
// (a crashed holder) is taken over.
func (s *Store) AcquireClioLease(ctx context.Context, holder string, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var v string
		err := tx.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", clioLeaseKey).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read clio lease: %w", err)
		}
		if cur, until, ok := parseLease(v); ok && cur != holder && s.now().Before(until) {
			return ErrClioBusy
		}
		return s.putLease(ctx, tx, holder, ttl)
	})
}

// RenewClioLease extends a held lease; it fails with ErrClioBusy when the lease was lost.
func (s *Store) RenewClioLease(ctx context.Context, holder string, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var v string
		err := tx.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", clioLeaseKey).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read clio lease: %w", err)
		}
		if cur, _, ok := parseLease(v); !ok || cur != holder {
			return ErrClioBusy
		}
		return s.putLease(ctx, tx, holder, ttl)
	})
}

// ReleaseClioLease gives the lease up if holder still has it.
func (s *Store) ReleaseClioLease(ctx context.Context, holder string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var v string
		err := tx.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", clioLeaseKey).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read clio lease: %w", err)
		}
		if cur, _, ok := parseLease(v); ok && cur == holder {
			if _, err := tx.ExecContext(ctx, "DELETE FROM firm_settings WHERE key = ?", clioLeaseKey); err != nil {
				return fmt.Errorf("release clio lease: %w", err)
			}
		}
		return nil
	})
}

func (s *Store) putLease(ctx context.Context, tx *sql.Tx, holder string, ttl time.Duration) error {
	v := holder + "|" + s.now().Add(ttl).UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, "INSERT INTO firm_settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", clioLeaseKey, v); err != nil {
		return fmt.Errorf("write clio lease: %w", err)
	}
	return nil
}

func parseLease(v string) (string, time.Time, bool) {
	holder, until, ok := strings.Cut(v, "|")
	if !ok || holder == "" {
		return "", time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, until)
	if err != nil {
		return "", time.Time{}, false
	}
	return holder, t, true
}

// ClioCounts summarises sync state: Pending are approved entries not yet in Clio (never
// tried, or with a send in flight or unconfirmed), Failed those whose last push failed.
type ClioCounts struct {
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
	Synced  int `json:"synced"`
}

// ClioCounts counts entries by sync state.
func (s *Store) ClioCounts(ctx context.Context) (ClioCounts, error) {
	var c ClioCounts
	err := s.db.QueryRowContext(ctx, `SELECT
		coalesce(sum(status = 'approved' AND deleted_at IS NULL AND (clio_state IS NULL OR clio_state = 'intent')), 0),
		coalesce(sum(status = 'approved' AND deleted_at IS NULL AND clio_state = 'failed'), 0),
		coalesce(sum(status = 'synced'), 0)
		FROM entries`).Scan(&c.Pending, &c.Failed, &c.Synced)
	if err != nil {
		return c, fmt.Errorf("count clio states: %w", err)
	}
	return c, nil
}

// ClioSyncError is an approved entry whose last push failed, for the billing admin.
type ClioSyncError struct {
	EntryID    string  `json:"entry_id"`
	Date       string  `json:"date"`
	Timekeeper string  `json:"timekeeper"`
	Matter     string  `json:"matter"`
	Hours      float64 `json:"hours"`
	Message    string  `json:"message"`
	// MaybeInClio is true when a send was started: the next push looks the entry up in
	// Clio before sending it again.
	MaybeInClio bool `json:"maybe_in_clio"`
}

// ClioErrors lists approved entries whose last push failed, oldest first.
func (s *Store) ClioErrors(ctx context.Context) ([]ClioSyncError, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.date, u.username, coalesce(m.number, ''), e.tenths, coalesce(e.clio_error, ''), e.clio_intent_at IS NOT NULL
		FROM entries e JOIN users u ON u.id = e.user_id LEFT JOIN matters m ON m.id = e.matter_id
		WHERE e.status = 'approved' AND e.deleted_at IS NULL AND e.clio_state = 'failed'
		ORDER BY e.date, e.created_at`)
	if err != nil {
		return nil, fmt.Errorf("list clio errors: %w", err)
	}
	defer rows.Close()
	out := []ClioSyncError{}
	for rows.Next() {
		var e ClioSyncError
		var tenths int
		if err := rows.Scan(&e.EntryID, &e.Date, &e.Timekeeper, &e.Matter, &tenths, &e.Message, &e.MaybeInClio); err != nil {
			return nil, fmt.Errorf("read clio error: %w", err)
		}
		e.Hours = float64(tenths) / 10
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClioPendingEntry is an approved, not deleted entry not yet in Clio (never tried, failed,
// or with a send in flight), with what a push needs from its matter and timekeeper.
type ClioPendingEntry struct {
	EntryID   string
	Date      string
	Tenths    int
	Narrative string
	Billable  bool
	Activity  string
	Task      string
	// Intent is true when a send was recorded as started (MarkClioIntent).
	Intent       bool
	HasMatter    bool
	MatterNumber string
	MatterClioID *int64 // nil: the matter is not linked to Clio
	MatterLEDES  bool   // the matter is billed with UTBMS codes
	Username     string
	UserClioID   *int64 // nil: the timekeeper is not linked to Clio
}

// ClioPendingEntries lists the entries a push would consider, oldest first.
func (s *Store) ClioPendingEntries(ctx context.Context) ([]ClioPendingEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.date, e.tenths, e.narrative, e.billable, e.activity, coalesce(e.task, ''),
		e.clio_intent_at IS NOT NULL, e.matter_id IS NOT NULL, coalesce(m.number, ''), m.clio_id, coalesce(m.ledes_enabled, 0), u.username, u.clio_user_id
		FROM entries e JOIN users u ON u.id = e.user_id LEFT JOIN matters m ON m.id = e.matter_id
		WHERE e.status = 'approved' AND e.deleted_at IS NULL AND (e.clio_state IS NULL OR e.clio_state IN ('failed', 'intent'))
		ORDER BY e.date, e.created_at`)
	if err != nil {
		return nil, fmt.Errorf("list entries to push: %w", err)
	}
	defer rows.Close()
	var out []ClioPendingEntry
	for rows.Next() {
		var p ClioPendingEntry
		var matterClio, userClio sql.NullInt64
		if err := rows.Scan(&p.EntryID, &p.Date, &p.Tenths, &p.Narrative, &p.Billable, &p.Activity, &p.Task,
			&p.Intent, &p.HasMatter, &p.MatterNumber, &matterClio, &p.MatterLEDES, &p.Username, &userClio); err != nil {
			return nil, fmt.Errorf("read entry to push: %w", err)
		}
		if matterClio.Valid {
			p.MatterClioID = &matterClio.Int64
		}
		if userClio.Valid {
			p.UserClioID = &userClio.Int64
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MarkClioIntent records (before the send) that the entry is about to be sent to Clio,
// audited as "clio.intent". It refuses an entry that is no longer approved
// (entry.ErrConflict), so it is not sent.
func (s *Store) MarkClioIntent(ctx context.Context, a identity.Actor, entryID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE entries SET clio_state = 'intent', clio_intent_at = coalesce(clio_intent_at, ?)
			WHERE id = ? AND status = 'approved' AND deleted_at IS NULL`, s.ts(), entryID)
		if err != nil {
			return fmt.Errorf("record clio intent: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: entry %s is no longer approved", entry.ErrConflict, entryID)
		}
		return s.appendAudit(ctx, tx, a, "clio.intent", "entry", entryID, nil)
	})
}

// MarkClioSynced records that the entry is in Clio as activity clioID: it becomes synced
// (locked), audited as "clio.synced". An entry exported meanwhile keeps its exported status.
func (s *Store) MarkClioSynced(ctx context.Context, a identity.Actor, entryID string, clioID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var deleted sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT status, deleted_at FROM entries WHERE id = ?", entryID).Scan(&status, &deleted)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mark entry %s synced: %w", entryID, entry.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("mark entry %s synced: %w", entryID, err)
		}
		newStatus := entry.Synced
		if status == entry.Exported {
			newStatus = entry.Exported
		}
		_, err = tx.ExecContext(ctx, `UPDATE entries SET status = ?, clio_id = ?, clio_state = 'synced', clio_error = NULL, updated_at = ? WHERE id = ?`,
			newStatus, clioID, s.ts(), entryID)
		if err != nil {
			return fmt.Errorf("mark entry %s synced: %w", entryID, err)
		}
		detail := map[string]any{"clio_id": clioID}
		if status != entry.Approved {
			detail["status_before"] = status // reopened or exported while the send was in flight
		}
		if deleted.Valid {
			detail["deleted"] = true
		}
		return s.appendAudit(ctx, tx, a, "clio.synced", "entry", entryID, detail)
	})
}

// MarkClioFailed records why the entry's push failed, audited as "clio.failed". It keeps
// any recorded intent, so the next push looks the entry up in Clio before sending it
// again. Repeating the same failure changes nothing (and writes no new audit event); a
// synced entry is left alone.
func (s *Store) MarkClioFailed(ctx context.Context, a identity.Actor, entryID, reason string) error {
	if len(reason) > maxClioError {
		reason = strings.ToValidUTF8(reason[:maxClioError], "") + "..."
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var state, prev sql.NullString
		var intent bool
		err := tx.QueryRowContext(ctx, "SELECT clio_state, clio_error, clio_intent_at IS NOT NULL FROM entries WHERE id = ?", entryID).Scan(&state, &prev, &intent)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mark entry %s failed: %w", entryID, entry.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("mark entry %s failed: %w", entryID, err)
		}
		if state.String == "synced" || (state.String == "failed" && prev.String == reason) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE entries SET clio_state = 'failed', clio_error = ? WHERE id = ?", reason, entryID); err != nil {
			return fmt.Errorf("mark entry %s failed: %w", entryID, err)
		}
		return s.appendAudit(ctx, tx, a, "clio.failed", "entry", entryID, map[string]any{"error": reason, "intent": intent})
	})
}

// ClioImport is what an import brings from Clio (cliosync converts the Clio client's records).
type ClioImport struct {
	Clients []ClioClientIn
	Matters []ClioMatterIn
	Users   []ClioUserIn
}

// ClioClientIn is a Clio contact that is a client.
type ClioClientIn struct {
	ID   int64
	Name string
}

// ClioMatterIn is a Clio matter.
type ClioMatterIn struct {
	ID          int64
	Number      string // display number
	Description string
	Status      string // Open, Pending, Closed
	ClientID    int64
	ClientName  string
	// UTBMS, when known, sets ledes_enabled (nil leaves it as it is).
	UTBMS *bool
	// ClientReference is the client's own matter id and ClientLEDESID the client's LEDES
	// client id in Clio; each fills Dictum's value when that is still empty.
	ClientReference, ClientLEDESID string
}

// ClioUserIn is a Clio firm user.
type ClioUserIn struct {
	ID                        int64
	Name, FirstName, LastName string
	Email                     string
	Enabled                   bool
}

// ClioUserLink is a Dictum user linked to a Clio user.
type ClioUserLink struct {
	Username   string `json:"username"`
	ClioUserID int64  `json:"clio_user_id"`
	ClioName   string `json:"clio_name"`
	By         string `json:"by"` // email, name, or kept
}

// ClioImportReport says what an import changed.
type ClioImportReport struct {
	ClientsCreated int            `json:"clients_created"`
	ClientsLinked  int            `json:"clients_linked"`
	MattersCreated int            `json:"matters_created"`
	MattersLinked  int            `json:"matters_linked"`
	MattersSkipped int            `json:"matters_skipped_closed"`
	Users          []ClioUserLink `json:"users"`
	UsersUnlinked  []string       `json:"users_unlinked"`
	Problems       []string       `json:"problems"`
}

// ImportClio upserts clients (by Clio id, else by name), matters (by Clio id, else by
// number; new ones open; closed Clio matters not known here are skipped) and links Dictum
// users to Clio users (by email = username, or by name = display name; one-to-one only).
// It never creates Dictum logins. One transaction, audited as "clio.import" plus
// "matter.create" / "user.clio_link" for each change.
func (s *Store) ImportClio(ctx context.Context, a identity.Actor, in ClioImport) (*ClioImportReport, error) {
	var rep *ClioImportReport
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rep = &ClioImportReport{Users: []ClioUserLink{}, UsersUnlinked: []string{}, Problems: []string{}}
		for _, c := range in.Clients {
			if _, err := s.upsertClioClient(ctx, tx, rep, c.ID, c.Name); err != nil {
				return err
			}
		}
		for _, m := range in.Matters {
			if err := s.upsertClioMatter(ctx, tx, a, rep, m); err != nil {
				return err
			}
			if err := s.fillClioEBilling(ctx, tx, rep, m); err != nil {
				return err
			}
		}
		if err := s.linkClioUsers(ctx, tx, a, rep, in.Users); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "clio.import", "clio", "connection", map[string]any{
			"clients_created": rep.ClientsCreated, "clients_linked": rep.ClientsLinked,
			"matters_created": rep.MattersCreated, "matters_linked": rep.MattersLinked,
			"users_linked": len(rep.Users), "problems": len(rep.Problems)})
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// upsertClioClient returns the Dictum client id for a Clio contact ("" when it could not
// be linked; the reason is in rep.Problems).
func (s *Store) upsertClioClient(ctx context.Context, tx *sql.Tx, rep *ClioImportReport, clioID int64, name string) (string, error) {
	name = strings.TrimSpace(name)
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM clients WHERE clio_id = ?", clioID).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("find client by clio id: %w", err)
	}
	if name == "" {
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio contact %d has no name; not imported", clioID))
		return "", nil
	}
	var other sql.NullInt64
	err = tx.QueryRowContext(ctx, "SELECT id, clio_id FROM clients WHERE name = ?", name).Scan(&id, &other)
	switch {
	case err == nil && !other.Valid:
		if _, err := tx.ExecContext(ctx, "UPDATE clients SET clio_id = ? WHERE id = ?", clioID, id); err != nil {
			return "", fmt.Errorf("link client: %w", err)
		}
		rep.ClientsLinked++
		return id, nil
	case err == nil:
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio contact %d %q has the name of a client already linked to Clio contact %d; not linked", clioID, name, other.Int64))
		return "", nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("find client by name: %w", err)
	}
	id = NewID("cli")
	if _, err := tx.ExecContext(ctx, "INSERT INTO clients(id, name, clio_id, created_at) VALUES (?,?,?,?)", id, name, clioID, s.ts()); err != nil {
		return "", fmt.Errorf("create client: %w", err)
	}
	rep.ClientsCreated++
	return id, nil
}

func (s *Store) upsertClioMatter(ctx context.Context, tx *sql.Tx, a identity.Actor, rep *ClioImportReport, m ClioMatterIn) error {
	number := strings.TrimSpace(m.Number)
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM matters WHERE clio_id = ?", m.ID).Scan(&id)
	if err == nil {
		if m.UTBMS != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE matters SET ledes_enabled = ?, updated_at = ? WHERE id = ? AND ledes_enabled != ?", *m.UTBMS, s.ts(), id, *m.UTBMS); err != nil {
				return fmt.Errorf("update matter: %w", err)
			}
		}
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find matter by clio id: %w", err)
	}
	if number == "" {
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio matter %d has no display number; not imported", m.ID))
		return nil
	}
	var other sql.NullInt64
	err = tx.QueryRowContext(ctx, "SELECT id, clio_id FROM matters WHERE number = ?", number).Scan(&id, &other)
	switch {
	case err == nil && !other.Valid:
		q, args := "UPDATE matters SET clio_id = ?, updated_at = ? WHERE id = ?", []any{m.ID, s.ts(), id}
		if m.UTBMS != nil {
			q, args = "UPDATE matters SET clio_id = ?, ledes_enabled = ?, updated_at = ? WHERE id = ?", []any{m.ID, *m.UTBMS, s.ts(), id}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("link matter: %w", err)
		}
		rep.MattersLinked++
		return nil
	case err == nil:
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio matter %d has number %s, which is already linked to Clio matter %d; not linked", m.ID, number, other.Int64))
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("find matter by number: %w", err)
	}
	if strings.EqualFold(strings.TrimSpace(m.Status), "closed") {
		rep.MattersSkipped++
		return nil
	}
	if m.ClientID == 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio matter %s has no client; not imported", number))
		return nil
	}
	cid, err := s.upsertClioClient(ctx, tx, rep, m.ClientID, m.ClientName)
	if err != nil {
		return err
	}
	if cid == "" {
		rep.Problems = append(rep.Problems, fmt.Sprintf("Clio matter %s: its client could not be imported; not imported", number))
		return nil
	}
	name := strings.TrimSpace(m.Description)
	if name == "" {
		name = number
	}
	ledes := m.UTBMS != nil && *m.UTBMS
	id = NewID("mat")
	now := s.ts()
	_, err = tx.ExecContext(ctx, `INSERT INTO matters(id, number, client_id, name, status, ledes_enabled, clio_id, created_at, updated_at)
		VALUES (?,?,?,?,'open',?,?,?,?)`, id, number, cid, name, ledes, m.ID, now, now)
	if err != nil {
		return fmt.Errorf("create matter %s: %w", number, err)
	}
	rep.MattersCreated++
	return s.appendAudit(ctx, tx, a, "matter.create", "matter", id, map[string]any{"number": number, "source": "clio", "clio_id": m.ID})
}

func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func (s *Store) linkClioUsers(ctx context.Context, tx *sql.Tx, a identity.Actor, rep *ClioImportReport, clioUsers []ClioUserIn) error {
	type local struct {
		id                      int64
		username, display, role string
		cur                     sql.NullInt64
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, username, display_name, role, clio_user_id FROM users ORDER BY username")
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	var users []local
	for rows.Next() {
		var u local
		if err := rows.Scan(&u.id, &u.username, &u.display, &u.role, &u.cur); err != nil {
			rows.Close()
			return fmt.Errorf("read user: %w", err)
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	byID := map[int64]ClioUserIn{}
	for _, cu := range clioUsers {
		byID[cu.ID] = cu
	}
	// Candidates per Dictum user; a Clio user claimed by more than one is linked to none.
	type match struct {
		cu ClioUserIn
		by string
	}
	want := map[int64]match{} // dictum user id -> match
	claims := map[int64]int{} // clio user id -> number of Dictum users wanting it
	for _, u := range users {
		if u.cur.Valid {
			if cu, ok := byID[u.cur.Int64]; ok {
				want[u.id] = match{cu, "kept"}
				claims[cu.ID]++
				continue
			}
		}
		var cands []match
		uname, disp := strings.ToLower(u.username), normName(u.display)
		for _, cu := range clioUsers {
			if !cu.Enabled {
				continue
			}
			email := strings.ToLower(strings.TrimSpace(cu.Email))
			local, _, _ := strings.Cut(email, "@")
			switch {
			case email != "" && (email == uname || local == uname):
				cands = append(cands, match{cu, "email"})
			case disp != "" && (disp == normName(cu.Name) || disp == normName(cu.FirstName+" "+cu.LastName)):
				cands = append(cands, match{cu, "name"})
			}
		}
		switch len(cands) {
		case 0:
		case 1:
			want[u.id] = cands[0]
			claims[cands[0].cu.ID]++
		default:
			rep.Problems = append(rep.Problems, fmt.Sprintf("user %s matches %d Clio users; not linked", u.username, len(cands)))
		}
	}
	for _, u := range users {
		m, ok := want[u.id]
		if ok && claims[m.cu.ID] > 1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("Clio user %d (%s) matches more than one Dictum user; %s not linked", m.cu.ID, m.cu.Name, u.username))
			ok = false
		}
		var newID sql.NullInt64
		if ok {
			newID = sql.NullInt64{Int64: m.cu.ID, Valid: true}
			rep.Users = append(rep.Users, ClioUserLink{Username: u.username, ClioUserID: m.cu.ID, ClioName: m.cu.Name, By: m.by})
		} else if u.role == RoleTimekeeper || u.cur.Valid {
			rep.UsersUnlinked = append(rep.UsersUnlinked, u.username)
		}
		if newID == u.cur {
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET clio_user_id = ?, updated_at = ? WHERE id = ?", newID, s.ts(), u.id); err != nil {
			return fmt.Errorf("link user %s: %w", u.username, err)
		}
		detail := map[string]any{"clio_user_id": nil}
		if newID.Valid {
			detail["clio_user_id"] = newID.Int64
		}
		if err := s.appendAudit(ctx, tx, a, "user.clio_link", "user", u.username, detail); err != nil {
			return err
		}
	}
	sort.Strings(rep.UsersUnlinked)
	return nil
}
