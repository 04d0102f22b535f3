package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"dictum/internal/identity"
)

// Two-factor authentication ("2FA" in messages and routes, TwoFA in code): a TOTP secret
// (the algorithm is in internal/auth) and single-use recovery codes. The database keeps its
// older names: the users.totp_* columns and sessions.mfa.

// TwoFA is a user's second-factor state.
type TwoFA struct {
	Secret        string    // TOTP secret (base32); "" when never enrolled
	Enabled       bool      // confirmed with a valid code
	LastStep      int64     // last accepted TOTP time step (replays are refused)
	RecoveryCodes [][]byte  // hashes of unused recovery codes
	Failures      int       // second-factor failures in a row (persisted across restarts)
	LockedUntil   time.Time // no second-factor attempt before this (zero: not locked)
}

// TwoFAFor reads a user's 2FA state.
func (s *Store) TwoFAFor(ctx context.Context, userID int64) (*TwoFA, error) {
	var m TwoFA
	var secret []byte
	var codes, locked string
	err := s.db.QueryRowContext(ctx, "SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes, twofa_failures, coalesce(twofa_locked_until,'') FROM users WHERE id = ?", userID).
		Scan(&secret, &m.Enabled, &m.LastStep, &codes, &m.Failures, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read 2fa: %w", err)
	}
	m.Secret = string(secret)
	if locked != "" {
		if m.LockedUntil, err = time.Parse(time.RFC3339Nano, locked); err != nil {
			return nil, fmt.Errorf("read 2fa: lockout time %q: %w", locked, err)
		}
	}
	var hexes []string
	_ = json.Unmarshal([]byte(codes), &hexes)
	for _, h := range hexes {
		if b, err := hex.DecodeString(h); err == nil {
			m.RecoveryCodes = append(m.RecoveryCodes, b)
		}
	}
	return &m, nil
}

func encodeCodes(hashes [][]byte) string {
	hexes := make([]string, 0, len(hashes))
	for _, h := range hashes {
		hexes = append(hexes, hex.EncodeToString(h))
	}
	b, _ := json.Marshal(hexes)
	return string(b)
}

// StartTwoFA stores a new, not yet confirmed secret (enrolment step 1).
func (s *Store) StartTwoFA(ctx context.Context, a identity.Actor, userID int64, secret string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var enabled bool
		if err := tx.QueryRowContext(ctx, "SELECT totp_enabled FROM users WHERE id = ?", userID).Scan(&enabled); err != nil {
			return fmt.Errorf("start 2fa: %w", err)
		}
		if enabled {
			return fmt.Errorf("%w: two-factor authentication is already on; turn it off first", ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = ?, totp_last_step = 0, updated_at = ? WHERE id = ?", []byte(secret), s.ts(), userID); err != nil {
			return fmt.Errorf("start 2fa: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "2fa.enrol_start", "user", a.Username, nil)
	})
}

// EnableTwoFA turns 2FA on after a valid code (step 2), storing the recovery code hashes.
func (s *Store) EnableTwoFA(ctx context.Context, a identity.Actor, userID, step int64, recovery [][]byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_enabled = 1, totp_last_step = ?, recovery_codes = ?, updated_at = ? WHERE id = ?",
			step, encodeCodes(recovery), s.ts(), userID); err != nil {
			return fmt.Errorf("enable 2fa: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "2fa.enable", "user", a.Username, nil)
	})
}

// DisableTwoFA turns 2FA off for a user who asked for it with their password; their
// sessions end (they log in again), their API tokens stay.
func (s *Store) DisableTwoFA(ctx context.Context, a identity.Actor, userID int64, username string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.clearTwoFA(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID); err != nil {
			return fmt.Errorf("disable 2fa: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "2fa.disable", "user", username, nil)
	})
}

// ResetTwoFA is an admin turning a user's 2FA off (lost phone, or a suspected
// compromise): the account's second factor is gone, so every session ends and every API
// token is revoked; the counts are returned for the admin's answer.
func (s *Store) ResetTwoFA(ctx context.Context, a identity.Actor, userID int64, username string) (Revoked, error) {
	var r Revoked
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.clearTwoFA(ctx, tx, userID); err != nil {
			return err
		}
		var err error
		if r, err = s.endAccess(ctx, tx, a, userID, username, "2fa reset"); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "2fa.reset", "user", username, map[string]any{"sessions_ended": r.Sessions, "tokens_revoked": r.Tokens})
	})
	return r, err
}

func (s *Store) clearTwoFA(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = 0, recovery_codes = '[]',
		twofa_failures = 0, twofa_locked_until = NULL, updated_at = ? WHERE id = ?`, s.ts(), userID); err != nil {
		return fmt.Errorf("disable 2fa: %w", err)
	}
	return nil
}

// TwoFAAttempt reserves one second-factor attempt at now (the caller's clock) before the
// code is checked, so concurrent guesses cannot slip past the limit: while the account is
// locked it returns allowed=false and the lock's end; otherwise it counts the attempt as
// a failure in advance (TwoFAPassed clears the count when the code is right) and, when
// lockFor(count) is positive, locks further attempts until the returned time.
func (s *Store) TwoFAAttempt(ctx context.Context, userID int64, now time.Time, lockFor func(failures int) time.Duration) (allowed bool, failures int, until time.Time, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var locked string
		if err := tx.QueryRowContext(ctx, "SELECT twofa_failures, coalesce(twofa_locked_until,'') FROM users WHERE id = ?", userID).Scan(&failures, &locked); err != nil {
			return fmt.Errorf("2fa attempt: %w", err)
		}
		if locked != "" {
			t, err := time.Parse(time.RFC3339Nano, locked)
			if err != nil {
				return fmt.Errorf("2fa attempt: lockout time %q: %w", locked, err)
			}
			if now.Before(t) {
				until = t
				return nil
			}
		}
		allowed = true
		failures++
		var lock sql.NullString
		if d := lockFor(failures); d > 0 {
			until = now.Add(d)
			lock = sql.NullString{String: until.UTC().Format(time.RFC3339Nano), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET twofa_failures = ?, twofa_locked_until = ? WHERE id = ?", failures, lock, userID); err != nil {
			return fmt.Errorf("2fa attempt: %w", err)
		}
		return nil
	})
	return allowed, failures, until, err
}

// TwoFAPassed clears the second-factor failure counter after a correct code.
func (s *Store) TwoFAPassed(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, "UPDATE users SET twofa_failures = 0, twofa_locked_until = NULL WHERE id = ? AND (twofa_failures <> 0 OR twofa_locked_until IS NOT NULL)", userID)
	if err != nil {
		return fmt.Errorf("clear 2fa failures: %w", err)
	}
	return nil
}

// UseTOTPStep records an accepted code's step, refusing a step not after the last one
// (a replay, even by a concurrent login). It reports whether the step was accepted.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", step, userID, step)
	if err != nil {
		return false, fmt.Errorf("record 2fa step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode removes a used recovery code hash (by index in TwoFA.RecoveryCodes).
func (s *Store) UseRecoveryCode(ctx context.Context, a identity.Actor, userID int64, m *TwoFA, index int) error {
	rest := append(append([][]byte{}, m.RecoveryCodes[:index]...), m.RecoveryCodes[index+1:]...)
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET recovery_codes = ? WHERE id = ? AND recovery_codes = ?", encodeCodes(rest), userID, encodeCodes(m.RecoveryCodes))
		if err != nil {
			return fmt.Errorf("use recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: recovery codes changed; try again", ErrInvalid)
		}
		return s.appendAudit(ctx, tx, a, "2fa.recovery_code_used", "user", a.Username, map[string]any{"remaining": len(rest)})
	})
}

// MarkSessionTwoFA records that a session passed the second factor.
func (s *Store) MarkSessionTwoFA(ctx context.Context, h []byte) error {
	_, err := s.db.ExecContext(ctx, "UPDATE sessions SET mfa = 1 WHERE id_hash = ?", h)
	return err
}

// TwoFAFailure is an account with wrong second factors in a row (admin lockout view).
type TwoFAFailure struct {
	Username    string
	Failures    int
	LockedUntil time.Time // zero: not locked
}

// TwoFAFailures lists the accounts with second-factor failures, by username.
func (s *Store) TwoFAFailures(ctx context.Context) ([]TwoFAFailure, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT username, twofa_failures, coalesce(twofa_locked_until,'') FROM users WHERE twofa_failures > 0 ORDER BY username")
	return collect(rows, err, "list 2fa failures", func(r *sql.Rows) (TwoFAFailure, error) {
		var f TwoFAFailure
		var until string
		if err := r.Scan(&f.Username, &f.Failures, &until); err != nil {
			return f, err
		}
		if until != "" {
			f.LockedUntil, _ = time.Parse(time.RFC3339Nano, until)
		}
		return f, nil
	})
}
