package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"

	"dictum/internal/identity"
)

// Roles (identity's, named here for the store's callers).
const (
	RoleTimekeeper = identity.RoleTimekeeper
	RoleBilling    = identity.RoleBilling
	RoleAdmin      = identity.RoleAdmin
)

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return identity.ValidRole(r) }

// ErrExists is returned when a unique value (username, matter number) is taken.
var ErrExists = errors.New("already exists")

// User is an account.
type User struct {
	ID                 int64  `json:"-"`
	Username           string `json:"username"`
	DisplayName        string `json:"display_name"`
	Role               string `json:"role"`
	PasswordHash       string `json:"-"`
	Disabled           bool   `json:"disabled"`
	MustChangePassword bool   `json:"must_change_password"`
	RateCents          *int64 `json:"rate_cents"`
	TimekeeperID       string `json:"timekeeper_id"`
	Classification     string `json:"classification"`
	CreatedAt          string `json:"created_at"`
}

const userCols = "id, username, display_name, role, password_hash, disabled, must_change_password, rate_cents, timekeeper_id, classification, created_at"

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var rate sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash, &u.Disabled, &u.MustChangePassword, &rate, &u.TimekeeperID, &u.Classification, &u.CreatedAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if rate.Valid {
		u.RateCents = &rate.Int64
	}
	return &u, nil
}

func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}

// CreateUser adds a user (the hash is computed by the caller).
func (s *Store) CreateUser(ctx context.Context, a identity.Actor, u *User) error {
	if !ValidRole(u.Role) {
		return fmt.Errorf("role %q: must be timekeeper, billing or admin", u.Role)
	}
	u.Username = strings.TrimSpace(u.Username)
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.ts()
		res, err := tx.ExecContext(ctx, `INSERT INTO users(username, display_name, role, password_hash, must_change_password, timekeeper_id, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,?)`, u.Username, u.DisplayName, u.Role, u.PasswordHash, u.MustChangePassword, u.TimekeeperID, now, now)
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", u.Username, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		u.ID, _ = res.LastInsertId()
		u.CreatedAt = now
		return s.appendAudit(ctx, tx, a, "user.create", "user", u.Username, map[string]any{"role": u.Role})
	})
}

// UserByName finds a user (case-insensitive).
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	return scanUser(s.db.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE username = ?", strings.TrimSpace(name)))
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	return scanUser(s.db.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
}

// Users lists all users by name.
func (s *Store) Users(ctx context.Context) ([]*User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY username")
	return collect(rows, err, "list users", func(r *sql.Rows) (*User, error) { return scanUser(r) })
}

// CountUsers counts users (init uses it to know whether a first admin exists).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
	return n, err
}

// UserPatch changes some fields of a user; nil fields stay.
type UserPatch struct {
	DisplayName    *string
	Role           *string
	Disabled       *bool
	PasswordHash   *string
	MustChange     *bool
	RateCents      **int64
	TimekeeperID   *string
	Classification *string
	// EBilling changes the timekeeper's e-billing data (names, per-client rates and ids).
	EBilling *TimekeeperBillingPatch
}

// UpdateUser applies a patch, audits it (never the hash), and ends the user's sessions
// and revokes their API tokens when the password changes or the account is disabled.
func (s *Store) UpdateUser(ctx context.Context, a identity.Actor, username string, p UserPatch) (*User, error) {
	u, _, err := s.ChangeUser(ctx, a, username, p)
	return u, err
}

// ChangeUser is UpdateUser that also reports what it ended (for "revoked N API tokens").
func (s *Store) ChangeUser(ctx context.Context, a identity.Actor, username string, p UserPatch) (*User, Revoked, error) {
	var out *User
	var revoked Revoked
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE username = ?", username))
		if err != nil {
			return err
		}
		detail := map[string]any{}
		if p.DisplayName != nil {
			u.DisplayName = *p.DisplayName
			detail["display_name"] = *p.DisplayName
		}
		if p.Role != nil {
			if !ValidRole(*p.Role) {
				return fmt.Errorf("role %q: must be timekeeper, billing or admin", *p.Role)
			}
			u.Role = *p.Role
			detail["role"] = *p.Role
		}
		if p.Disabled != nil {
			u.Disabled = *p.Disabled
			detail["disabled"] = *p.Disabled
			// An admin's decision overrides the directory sync's: a directory sign-in no
			// longer re-enables the account by itself.
			if _, err := tx.ExecContext(ctx, "UPDATE directory_users SET disabled_by_sync = 0 WHERE user_id = ?", u.ID); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		if p.PasswordHash != nil {
			u.PasswordHash = *p.PasswordHash
			detail["password"] = "changed"
		}
		if p.MustChange != nil {
			u.MustChangePassword = *p.MustChange
		}
		if p.RateCents != nil {
			u.RateCents = *p.RateCents
			detail["rate_cents"] = u.RateCents
		}
		if p.TimekeeperID != nil {
			u.TimekeeperID = *p.TimekeeperID
			detail["timekeeper_id"] = *p.TimekeeperID
		}
		if p.Classification != nil {
			u.Classification = *p.Classification
			detail["classification"] = *p.Classification
		}
		var rate any
		if u.RateCents != nil {
			rate = *u.RateCents
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET display_name=?, role=?, disabled=?, password_hash=?, must_change_password=?, rate_cents=?, timekeeper_id=?, classification=?, updated_at=? WHERE id=?`,
			u.DisplayName, u.Role, u.Disabled, u.PasswordHash, u.MustChangePassword, rate, u.TimekeeperID, u.Classification, s.ts(), u.ID)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if err := s.updateTimekeeperBilling(ctx, tx, u.ID, p.EBilling, detail); err != nil {
			return err
		}
		if p.PasswordHash != nil || (p.Disabled != nil && *p.Disabled) {
			reason := "password changed"
			if p.PasswordHash == nil {
				reason = "account disabled"
			}
			if revoked, err = s.endAccess(ctx, tx, a, u.ID, u.Username, reason); err != nil {
				return err
			}
			detail["sessions_ended"], detail["tokens_revoked"] = revoked.Sessions, revoked.Tokens
		}
		out = u
		return s.appendAudit(ctx, tx, a, "user.update", "user", u.Username, detail)
	})
	return out, revoked, err
}
