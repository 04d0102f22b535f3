package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dictum/internal/identity"
)

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
}

// CreateToken stores a token hash for a user.
func (s *Store) CreateToken(ctx context.Context, a identity.Actor, userID int64, name, prefix string, hash []byte) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO api_tokens(user_id, name, token_hash, prefix, created_at) VALUES (?,?,?,?,?)", userID, name, hash, prefix, s.ts())
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		id, _ = res.LastInsertId()
		return s.appendAudit(ctx, tx, a, "token.create", "token", fmt.Sprint(id), map[string]any{"prefix": prefix, "name": name})
	})
	return id, err
}

// UserByTokenHash finds the (enabled) user owning an unrevoked token and marks it used.
func (s *Store) UserByTokenHash(ctx context.Context, hash []byte) (*User, error) {
	var tokID int64
	var uid int64
	err := s.db.QueryRowContext(ctx, "SELECT id, user_id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", hash).Scan(&tokID, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	_, _ = s.db.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", s.ts(), tokID)
	return s.UserByID(ctx, uid)
}

// Tokens lists tokens (all users when username is "").
func (s *Store) Tokens(ctx context.Context, username string) ([]Token, error) {
	q := `SELECT t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, coalesce(t.last_used_at,''), coalesce(t.revoked_at,'')
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
		if err := rows.Scan(&t.ID, &t.UserID, &t.Username, &t.Name, &t.Prefix, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
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
