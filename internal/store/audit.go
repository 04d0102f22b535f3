package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"dictum/internal/identity"
)

// Event is one audit log entry. Detail must never carry secrets or transcript text.
type Event struct {
	ID         int64          `json:"id"`
	At         string         `json:"at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Detail     map[string]any `json:"detail,omitempty"`
	IP         string         `json:"ip,omitempty"`
}

// appendAudit writes an event in the caller's transaction, chained to the previous one:
// hash = SHA-256(prev_hash || canonical JSON of the event). The transaction is BEGIN
// IMMEDIATE, so appends are serialised and the chain has no forks.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, a identity.Actor, action, objType, objID string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	var prev []byte
	err = tx.QueryRowContext(ctx, "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read chain head: %w", err)
	}
	at := s.ts()
	h := chainHash(prev, at, a.Username, action, objType, objID, string(d), a.IP)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events(at, actor, action, object_type, object_id, detail, ip, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?)`, at, a.Username, action, objType, objID, string(d), a.IP, prev, h)
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

func chainHash(prev []byte, fields ...string) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, f := range fields {
		b, _ := json.Marshal(f)
		h.Write(b)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// Audit records an event on its own (for actions with no other state change, e.g. login).
func (s *Store) Audit(ctx context.Context, a identity.Actor, action, objType, objID string, detail map[string]any) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, a, action, objType, objID, detail) })
}

// VerifyAudit walks the chain and returns the id of the first event whose hash does not
// match (0 when the chain is intact) and the number of events checked.
func (s *Store) VerifyAudit(ctx context.Context) (badID int64, n int, err error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, at, actor, action, object_type, object_id, detail, ip, prev_hash, hash FROM audit_events ORDER BY id")
	if err != nil {
		return 0, 0, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var prev []byte
	for rows.Next() {
		var id int64
		var at, actor, action, ot, oid, detail, ip string
		var p, h []byte
		if err := rows.Scan(&id, &at, &actor, &action, &ot, &oid, &detail, &ip, &p, &h); err != nil {
			return 0, n, fmt.Errorf("verify audit: %w", err)
		}
		n++
		want := chainHash(prev, at, actor, action, ot, oid, detail, ip)
		if string(p) != string(prev) || string(h) != string(want) {
			return id, n, nil
		}
		prev = h
	}
	return 0, n, rows.Err()
}

// AuditEvents lists events newest first, optionally for one object.
func (s *Store) AuditEvents(ctx context.Context, objType, objID string, limit int) ([]Event, error) {
	if limit <= 0 || limit > 10000 {
		limit = 200
	}
	q := "SELECT id, at, actor, action, object_type, object_id, detail, ip FROM audit_events"
	var args []any
	if objType != "" {
		q += " WHERE object_type = ? AND object_id = ?"
		args = append(args, objType, objID)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var d string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &d, &e.IP); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(d), &e.Detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditHead is the newest event of the hash chain: the anchor written into backup and
// archive manifests, logged daily and printed by `dictum audit head`. A later
// `audit verify --against` detects a rewritten or cut tail by comparing with it.
type AuditHead struct {
	ID   int64  `json:"id"`
	At   string `json:"at"`
	Hash string `json:"hash"` // hex SHA-256
}

// AuditHead returns the chain head (zero ID and empty hash when the log is empty).
func (s *Store) AuditHead(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	var raw []byte
	err := s.db.QueryRowContext(ctx, "SELECT id, at, hash FROM audit_events ORDER BY id DESC LIMIT 1").Scan(&h.ID, &h.At, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, nil
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("audit head: %w", err)
	}
	h.Hash = hex.EncodeToString(raw)
	return h, nil
}

// ErrAuditAnchor is returned by VerifyAuditAgainst when the log does not contain the
// anchored head: its tail was cut or rewritten after the head was recorded.
var ErrAuditAnchor = errors.New("audit log does not match the anchored head")

// ErrAuditBroken is returned by VerifyAuditAgainst when the hash chain itself is broken.
var ErrAuditBroken = errors.New("audit chain broken")

// VerifyAuditAgainst checks the whole chain (as VerifyAudit) and then that it still
// holds the anchored head: the event with head.ID must exist and have exactly head.Hash.
// Whoever holds the database key can rewrite the tail and recompute every hash, which
// VerifyAudit alone cannot see; a head recorded elsewhere (the journal, a backup
// manifest, a file printed by `dictum audit head`) can. Events after the head are fine:
// the log grows. n is the number of events checked.
func (s *Store) VerifyAuditAgainst(ctx context.Context, head AuditHead) (n int, err error) {
	want, err := hex.DecodeString(head.Hash)
	if head.ID < 0 || (head.ID > 0 && (err != nil || len(want) != sha256.Size)) || (head.ID == 0 && head.Hash != "") {
		return 0, fmt.Errorf("audit anchor: want an event id and a 64-hex-digit SHA-256 hash, got id %d hash %q", head.ID, head.Hash)
	}
	bad, n, err := s.VerifyAudit(ctx)
	if err != nil {
		return n, err
	}
	if bad != 0 {
		return n, fmt.Errorf("%w at event %d (of %d checked): the log was altered", ErrAuditBroken, bad, n)
	}
	if head.ID == 0 { // anchored while the log was empty: anything that verifies is newer
		return n, nil
	}
	last, err := s.AuditHead(ctx)
	if err != nil {
		return n, err
	}
	var got []byte
	err = s.db.QueryRowContext(ctx, "SELECT hash FROM audit_events WHERE id = ?", head.ID).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("%w: event %d (anchored at %s) is missing; the log has %d event(s) and ends at event %d: its tail was cut", ErrAuditAnchor, head.ID, head.At, n, last.ID)
	}
	if err != nil {
		return n, fmt.Errorf("audit anchor: %w", err)
	}
	if string(got) != string(want) {
		return n, fmt.Errorf("%w: event %d has hash %s but the anchor (%s) says %s: the log was rewritten at or before event %d", ErrAuditAnchor, head.ID, hex.EncodeToString(got), head.At, head.Hash, head.ID)
	}
	return n, nil
}
