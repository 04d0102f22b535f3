package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"dictum/internal/identity"
)

// DirectoryProfile is what the firm's directory says about a user at sign-in.
type DirectoryProfile struct {
	Username     string
	DN           string
	DisplayName  string
	Email        string
	TimekeeperID string
	Role         string
}

// DirectoryUser is a Dictum account that signs in with the directory.
type DirectoryUser struct {
	UserID   int64
	Username string
	Role     string
	Disabled bool
	DN       string
	Email    string
	SyncedAt string
}

// DirectorySignIn records a successful directory sign-in in one transaction: the first one
// creates the account (no local password: it can only sign in through the directory) or
// links a same-named local account; every one re-applies role, display name and
// timekeeper id from the directory. A disabled account stays disabled (an admin re-enables
// it), unless the leaver sync disabled it and the directory now lets the person in again.
// Each change is audited.
func (s *Store) DirectorySignIn(ctx context.Context, a identity.Actor, p DirectoryProfile) (*User, error) {
	if !ValidRole(p.Role) {
		return nil, fmt.Errorf("role %q: must be timekeeper, billing or admin", p.Role)
	}
	var out *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		// The directory entry (DN) names the person: signing in as jsmith or as
		// jsmith@firm.local (a filter may accept both) is one account.
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+prefixed("u.", userCols)+" FROM users u JOIN directory_users d ON d.user_id = u.id WHERE d.dn = ? COLLATE NOCASE", p.DN))
		if errors.Is(err, ErrNotFound) {
			u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE username = ?", p.Username))
		}
		switch {
		case errors.Is(err, ErrNotFound):
			res, err := tx.ExecContext(ctx, `INSERT INTO users(username, display_name, role, password_hash, must_change_password, timekeeper_id, created_at, updated_at)
				VALUES (?,?,?,'',0,?,?,?)`, p.Username, p.DisplayName, p.Role, p.TimekeeperID, now, now)
			if err != nil {
				return fmt.Errorf("create directory user: %w", err)
			}
			id, _ := res.LastInsertId()
			if err := s.appendAudit(ctx, tx, a, "user.create", "user", p.Username, map[string]any{"role": p.Role, "source": "directory"}); err != nil {
				return err
			}
			if u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			detail := map[string]any{}
			if u.Role != p.Role {
				detail["role"] = p.Role
				detail["previous_role"] = u.Role
			}
			if p.DisplayName != "" && u.DisplayName != p.DisplayName {
				detail["display_name"] = p.DisplayName
				u.DisplayName = p.DisplayName
			}
			if p.TimekeeperID != "" && u.TimekeeperID != p.TimekeeperID {
				detail["timekeeper_id"] = p.TimekeeperID
				u.TimekeeperID = p.TimekeeperID
			}
			u.Role = p.Role
			if len(detail) > 0 {
				if _, err := tx.ExecContext(ctx, "UPDATE users SET role=?, display_name=?, timekeeper_id=?, updated_at=? WHERE id=?", u.Role, u.DisplayName, u.TimekeeperID, now, u.ID); err != nil {
					return fmt.Errorf("update directory user: %w", err)
				}
				detail["source"] = "directory"
				if err := s.appendAudit(ctx, tx, a, "user.update", "user", u.Username, detail); err != nil {
					return err
				}
			}
		}
		var linked int
		var bySync bool
		if err := tx.QueryRowContext(ctx, "SELECT count(*), coalesce(max(disabled_by_sync), 0) FROM directory_users WHERE user_id = ?", u.ID).Scan(&linked, &bySync); err != nil {
			return fmt.Errorf("directory link: %w", err)
		}
		if u.Disabled && bySync {
			// The sync disabled this account and the directory now lets the person in again
			// (re-enabled in AD, back in a mapped group): access returns, as IT expects.
			if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = 0, updated_at = ? WHERE id = ?", now, u.ID); err != nil {
				return fmt.Errorf("enable directory user: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE directory_users SET disabled_by_sync = 0 WHERE user_id = ?", u.ID); err != nil {
				return fmt.Errorf("enable directory user: %w", err)
			}
			u.Disabled = false
			if err := s.appendAudit(ctx, tx, a, "directory.enable", "user", u.Username, map[string]any{"reason": "signed in again through the directory"}); err != nil {
				return err
			}
		}
		if linked == 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO directory_users(user_id, dn, email, linked_at, synced_at) VALUES (?,?,?,?,?)", u.ID, p.DN, p.Email, now, now); err != nil {
				return fmt.Errorf("directory link: %w", err)
			}
			if err := s.appendAudit(ctx, tx, a, "directory.link", "user", u.Username, map[string]any{"dn": p.DN}); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, "UPDATE directory_users SET dn=?, email=?, synced_at=? WHERE user_id=?", p.DN, p.Email, now, u.ID); err != nil {
			return fmt.Errorf("directory link: %w", err)
		}
		out = u
		return nil
	})
	return out, err
}

// DirectoryUsers lists the accounts that sign in with the directory.
func (s *Store) DirectoryUsers(ctx context.Context) ([]DirectoryUser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.id, u.username, u.role, u.disabled, d.dn, d.email, d.synced_at
		FROM directory_users d JOIN users u ON u.id = d.user_id ORDER BY u.username`)
	return collect(rows, err, "list directory users", func(r *sql.Rows) (DirectoryUser, error) {
		var d DirectoryUser
		err := r.Scan(&d.UserID, &d.Username, &d.Role, &d.Disabled, &d.DN, &d.Email, &d.SyncedAt)
		return d, err
	})
}

// DirectoryDisable disables a directory user the sync found gone, disabled or out of every
// mapped group: the account is disabled, its sessions end and its API tokens are revoked,
// in one transaction with a directory.disable audit event naming the reason. Entries stay.
func (s *Store) DirectoryDisable(ctx context.Context, a identity.Actor, userID int64, reason string) (Revoked, error) {
	var r Revoked
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", userID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?", s.ts(), u.ID); err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE directory_users SET disabled_by_sync = 1 WHERE user_id = ?", u.ID); err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if r, err = s.endAccess(ctx, tx, a, u.ID, u.Username, "directory: "+reason); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "directory.disable", "user", u.Username,
			map[string]any{"reason": reason, "sessions_ended": r.Sessions, "tokens_revoked": r.Tokens})
	})
	return r, err
}

// DirectorySetRole applies a role change the sync read from the directory, audited.
func (s *Store) DirectorySetRole(ctx context.Context, a identity.Actor, userID int64, role string) error {
	if !ValidRole(role) {
		return fmt.Errorf("role %q: must be timekeeper, billing or admin", role)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", userID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, updated_at = ? WHERE id = ?", role, s.ts(), u.ID); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE directory_users SET synced_at = ? WHERE user_id = ?", s.ts(), u.ID); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "user.update", "user", u.Username, map[string]any{"role": role, "previous_role": u.Role, "source": "directory sync"})
	})
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + c
	}
	return strings.Join(parts, ", ")
}
