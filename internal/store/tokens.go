package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dictum/internal/identity"
)

// ErrTokenExpired is returned for an API token past its expiry.
var ErrTokenExpired = errors.New("API token expired")

// Token is an API token; only its hash is stored.
type Token struct {
	ID         int64  `json:"id"`
	UserID     int64  `json:"-"`
	Username   string `json:"username"`
	Name       string `json:"name"`
	Prefix     string `json:"prefix"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	ExpiresAt  string `json:"expires_at,omitempty"` // "" = never
}

// Expired reports whether the token is past its expiry at now.
func (t Token) Expired(now time.Time) bool {
	if t.ExpiresAt == "" {
		return false
	}
	exp, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	return err != nil || !now.Before(exp) // an unreadable expiry counts as expired
}

// CreateToken stores a token hash for a user that never expires (tests, migrations of
// old setups); the API and CLI use CreateTokenUntil with the firm's default expiry.
func (s *Store) CreateToken(ctx context.Context, a identity.Actor, userID int64, name, prefix string, hash []byte) (int64, error) {
	return s.CreateTokenUntil(ctx, a, userID, name, prefix, hash, time.Time{})
}

// CreateTokenUntil stores a token hash for a user, valid until expiresAt (zero: never).
func (s *Store) CreateTokenUntil(ctx context.Context, a identity.Actor, userID int64, name, prefix string, hash []byte, expiresAt time.Time) (int64, error) {
	var id int64
	var exp sql.NullString
	detail := map[string]any{"prefix": prefix, "name": name}
	if !expiresAt.IsZero() {
		exp = sql.NullString{String: expiresAt.UTC().Format(time.RFC3339Nano), Valid: true}
		detail["expires_at"] = expiresAt.UTC().Format(time.RFC3339)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO api_tokens(user_id, name, token_hash, prefix, created_at, expires_at) VALUES (?,?,?,?,?,?)",
			userID, name, hash, prefix, s.ts(), exp)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		id, _ = res.LastInsertId()
		return s.appendAudit(ctx, tx, a, "token.create", "token", fmt.Sprint(id), detail)
	})
	return id, err
}

// UserByTokenHash finds the user owning an unrevoked, unexpired token (by the store's
// clock) and marks the token used. The caller checks whether the user is disabled.
func (s *Store) UserByTokenHash(ctx context.Context, hash []byte) (*User, error) {
	return s.AuthenticateToken(ctx, hash, s.now())
}

// AuthenticateToken is UserByTokenHash at a given time: ErrNotFound for an unknown or
// revoked token, ErrTokenExpired for one past its expiry.
func (s *Store) AuthenticateToken(ctx context.Context, hash []byte, now time.Time) (*User, error) {
	t, err := s.tokenByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	if t.Expired(now) {
		return nil, fmt.Errorf("%w on %s", ErrTokenExpired, t.ExpiresAt)
	}
	// Best effort: a busy database must not refuse a valid token over a "last used" date.
	_, _ = s.db.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", s.ts(), t.ID)
	return s.UserByID(ctx, t.UserID)
}

// TokenActive reports (nil) whether a token is still unrevoked, unexpired and its user
// enabled, without marking it used (a long-lived stream re-checks its credential).
func (s *Store) TokenActive(ctx context.Context, hash []byte, now time.Time) error {
	t, err := s.tokenByHash(ctx, hash)
	if err != nil {
		return err
	}
	if t.Expired(now) {
		return ErrTokenExpired
	}
	u, err := s.UserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	if u.Disabled {
		return ErrNotFound
	}
	return nil
}

func (s *Store) tokenByHash(ctx context.Context, hash []byte) (*Token, error) {
	var t Token
	err := s.db.QueryRowContext(ctx, "SELECT id, user_id, coalesce(expires_at,'') FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", hash).
		Scan(&t.ID, &t.UserID, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return &t, nil
}

// Tokens lists tokens (all users when username is "").
func (s *Store) Tokens(ctx context.Context, username string) ([]Token, error) {
	q := `SELECT t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, coalesce(t.last_used_at,''), coalesce(t.revoked_at,''), coalesce(t.expires_at,'')
		FROM api_tokens t JOIN users u ON u.id = t.user_id`
	var args []any
	if username != "" {
		q += " WHERE u.username = ?"
		args = append(args, username)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY t.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.ID, &t.UserID, &t.Username, &t.Name, &t.Prefix, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt, &t.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id.
func (s *Store) RevokeToken(ctx context.Context, a identity.Actor, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", s.ts(), id)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.appendAudit(ctx, tx, a, "token.revoke", "token", fmt.Sprint(id), nil)
	})
}

// Revoked counts what an account change ended: the user's sessions and API tokens.
type Revoked struct {
	Sessions int64
	Tokens   int64
}

// endAccess ends every session and revokes every live API token of a user, in the
// caller's transaction, and audits the count (reason: why, e.g. "password changed").
func (s *Store) endAccess(ctx context.Context, tx *sql.Tx, a identity.Actor, userID int64, username, reason string) (Revoked, error) {
	var r Revoked
	res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
	if err != nil {
		return r, fmt.Errorf("end sessions: %w", err)
	}
	r.Sessions, _ = res.RowsAffected()
	res, err = tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", s.ts(), userID)
	if err != nil {
		return r, fmt.Errorf("revoke tokens: %w", err)
	}
	r.Tokens, _ = res.RowsAffected()
	if r.Tokens > 0 {
		if err := s.appendAudit(ctx, tx, a, "token.revoke_all", "user", username, map[string]any{"count": r.Tokens, "reason": reason}); err != nil {
			return r, err
		}
	}
	return r, nil
}
