package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dictum/internal/identity"
)

// Share is a client share link: read-only access, without an account, to one matter's
// approved and exported entries in a date range. Only the SHA-256 of its token is kept.
type Share struct {
	ID         string  `json:"id"`
	MatterID   string  `json:"matter"`
	TokenLast4 string  `json:"token_last4"`
	Label      string  `json:"label"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	CreatedBy  string  `json:"created_by"`
	CreatedAt  string  `json:"created_at"`
	ExpiresAt  string  `json:"expires_at"`
	RevokedAt  *string `json:"revoked_at"`
	LastUsedAt *string `json:"last_used_at"`
	Views      int64   `json:"views"`
}

const shareCols = `s.id, s.matter_id, s.token_last4, s.label, s.date_from, s.date_to, s.created_by, s.created_at, s.expires_at, s.revoked_at, s.last_used_at, s.views`

func scanShare(sc interface{ Scan(...any) error }) (*Share, error) {
	var sh Share
	var revoked, used sql.NullString
	if err := sc.Scan(&sh.ID, &sh.MatterID, &sh.TokenLast4, &sh.Label, &sh.From, &sh.To, &sh.CreatedBy, &sh.CreatedAt, &sh.ExpiresAt, &revoked, &used, &sh.Views); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("read share link: %w", err)
	}
	if revoked.Valid {
		sh.RevokedAt = &revoked.String
	}
	if used.Valid {
		sh.LastUsedAt = &used.String
	}
	return &sh, nil
}

// CreateShare records a share link by its token's hash and audits it (never the token).
// The matter must be visible to the actor.
func (s *Store) CreateShare(ctx context.Context, a identity.Actor, sh *Share, tokenHash []byte) error {
	if sh.ID == "" {
		sh.ID = NewID("shr")
	}
	vc, va := matterVisible("m.id", a.UserID)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM matters m WHERE m.id = ? AND m.deleted_at IS NULL AND "+vc, append([]any{sh.MatterID}, va...)...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("create share link: %w", err)
		}
		sh.CreatedBy, sh.CreatedAt = a.Username, s.ts()
		if _, err := tx.ExecContext(ctx, `INSERT INTO share_links(id, matter_id, token_hash, token_last4, label, date_from, date_to, created_by, created_at, expires_at)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, sh.ID, sh.MatterID, tokenHash, sh.TokenLast4, sh.Label, sh.From, sh.To, sh.CreatedBy, sh.CreatedAt, sh.ExpiresAt); err != nil {
			return fmt.Errorf("create share link: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "share.create", "share", sh.ID, map[string]any{
			"matter": sh.MatterID, "from": sh.From, "to": sh.To, "expires_at": sh.ExpiresAt, "label": sh.Label, "token_last4": sh.TokenLast4})
	})
}

// Shares lists a matter's share links, newest first, for an actor who may see the matter
// (ErrNotFound otherwise, as for a matter that does not exist).
func (s *Store) Shares(ctx context.Context, a identity.Actor, matterID string) ([]*Share, error) {
	ok, err := s.MatterVisibleTo(ctx, a.UserID, matterID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+shareCols+" FROM share_links s WHERE s.matter_id = ? ORDER BY s.created_at DESC, s.id", matterID)
	return collect(rows, err, "list share links", func(r *sql.Rows) (*Share, error) { return scanShare(r) })
}

// RevokeShare revokes a matter's share link at once and audits it. A link of another
// matter, or of a matter walled off from the actor, is ErrNotFound.
func (s *Store) RevokeShare(ctx context.Context, a identity.Actor, matterID, id string) (*Share, error) {
	vc, va := matterVisible("s.matter_id", a.UserID)
	var out *Share
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sh, err := scanShare(tx.QueryRowContext(ctx, "SELECT "+shareCols+" FROM share_links s WHERE s.id = ? AND s.matter_id = ? AND "+vc, append([]any{id, matterID}, va...)...))
		if err != nil {
			return err
		}
		if sh.RevokedAt == nil {
			now := s.ts()
			if _, err := tx.ExecContext(ctx, "UPDATE share_links SET revoked_at = ? WHERE id = ?", now, id); err != nil {
				return fmt.Errorf("revoke share link: %w", err)
			}
			sh.RevokedAt = &now
			if err := s.appendAudit(ctx, tx, a, "share.revoke", "share", id, map[string]any{"matter": matterID}); err != nil {
				return err
			}
		}
		out = sh
		return nil
	})
	return out, err
}

// ShareByTokenHash finds a share link by its token's hash, whatever its state (the caller
// decides whether it is still valid).
func (s *Store) ShareByTokenHash(ctx context.Context, h []byte) (*Share, error) {
	return scanShare(s.db.QueryRowContext(ctx, "SELECT "+shareCols+" FROM share_links s WHERE s.token_hash = ?", h))
}

// RecordShareView counts a view of a share link and audits it (link id, IP and time;
// what was viewed: the page or the CSV).
func (s *Store) RecordShareView(ctx context.Context, id, ip, what string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		if _, err := tx.ExecContext(ctx, "UPDATE share_links SET views = views + 1, last_used_at = ? WHERE id = ?", now, id); err != nil {
			return fmt.Errorf("record share view: %w", err)
		}
		return s.appendAudit(ctx, tx, identity.Actor{Username: "share:" + id, IP: ip}, "share.view", "share", id, map[string]any{"view": what})
	})
}

// ActiveShares counts the share links not revoked and not expired at now (RFC 3339).
func (s *Store) ActiveShares(ctx context.Context, now string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM share_links WHERE revoked_at IS NULL AND expires_at > ?", now).Scan(&n); err != nil {
		return 0, fmt.Errorf("count share links: %w", err)
	}
	return n, nil
}
