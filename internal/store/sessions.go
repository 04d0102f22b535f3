package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dictum/internal/identity"
)

// Session is a server-side login session. The id itself is never stored, only its hash.
type Session struct {
	IDHash     []byte
	UserID     int64
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	TwoFA      bool // the second factor was given at login (column mfa)
}

// SessionByHash finds a session.
func (s *Store) SessionByHash(ctx context.Context, h []byte) (*Session, error) {
	var sess Session
	var c, l, e string
	err := s.db.QueryRowContext(ctx, "SELECT id_hash, user_id, csrf, created_at, last_seen_at, expires_at, mfa FROM sessions WHERE id_hash = ?", h).
		Scan(&sess.IDHash, &sess.UserID, &sess.CSRF, &c, &l, &e, &sess.TwoFA)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, _ = time.Parse(time.RFC3339Nano, c)
	sess.LastSeenAt, _ = time.Parse(time.RFC3339Nano, l)
	sess.ExpiresAt, _ = time.Parse(time.RFC3339Nano, e)
	return &sess, nil
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, h []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", at.UTC().Format(time.RFC3339Nano), h)
	return err
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, h []byte) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", h)
	return err
}

// RevokeSessions ends every session (all users when username is ""), audited.
func (s *Store) RevokeSessions(ctx context.Context, a identity.Actor, username string) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if username == "" {
			res, err = tx.ExecContext(ctx, "DELETE FROM sessions")
		} else {
			res, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", username)
		}
		if err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		target := username
		if target == "" {
			target = "*"
		}
		return s.appendAudit(ctx, tx, a, "session.revoke", "user", target, map[string]any{"count": n})
	})
	return n, err
}

// PurgeExpiredSessions deletes sessions past their expiry or idle limit.
func (s *Store) PurgeExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?",
		now.UTC().Format(time.RFC3339Nano), now.Add(-idle).UTC().Format(time.RFC3339Nano))
	return err
}

// StartSession stores a session and audits the login ("login.ok") in one transaction:
// when the audit write fails there is no session.
func (s *Store) StartSession(ctx context.Context, a identity.Actor, sess *Session, ua string, detail map[string]any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions(id_hash, user_id, csrf, created_at, last_seen_at, expires_at, ip, user_agent, mfa) VALUES (?,?,?,?,?,?,?,?,?)`,
			sess.IDHash, sess.UserID, sess.CSRF, sess.CreatedAt.UTC().Format(time.RFC3339Nano), sess.LastSeenAt.UTC().Format(time.RFC3339Nano),
			sess.ExpiresAt.UTC().Format(time.RFC3339Nano), a.IP, ua, sess.TwoFA)
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "login.ok", "user", a.Username, detail)
	})
}

// EndSession ends one session and audits the logout in one transaction: when the audit
// write fails the session stays (the caller answers 500 and the user can retry).
func (s *Store) EndSession(ctx context.Context, a identity.Actor, h []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", h); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "logout", "user", a.Username, nil)
	})
}
