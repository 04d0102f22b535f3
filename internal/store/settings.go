package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dictum/internal/identity"
)

// Keys of the firm settings an admin edits (internal/settings reads and validates them).
const (
	SettingDefaultRate = "default_rate_cents"
	SettingLEDESFirmID = "ledes_law_firm_id"
	SettingFirmName    = "firm_name"
	// SettingRequire2FA lists the roles that must use 2FA ("admin,billing", "all" or "").
	SettingRequire2FA = "require_2fa_roles"
	// SettingRetentionDays is the retention window of closed matters in days ("" or 0 = indefinite).
	SettingRetentionDays = "retention_days"
	// SettingRetentionAutoDelete is "true" when the retention job may delete ("" = off).
	SettingRetentionAutoDelete = "retention_auto_delete"
	// SettingAudioRetentionDays keeps audio this many days after approval ("" or 0 = off).
	SettingAudioRetentionDays = "audio_retention_days"
	// SettingDailyTarget is the firm's daily target of recorded time, in tenths of an hour.
	SettingDailyTarget = "daily_target_tenths"
)

// SettingChange is one firm setting to write.
type SettingChange struct {
	Key, Value string
}

// Setting reads a firm setting ("" when unset).
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM firm_settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting writes a firm setting, audited.
func (s *Store) SetSetting(ctx context.Context, a identity.Actor, key, value string) error {
	return s.SetSettings(ctx, a, []SettingChange{{Key: key, Value: value}})
}

// SetSettings writes firm settings in one transaction, each audited.
func (s *Store) SetSettings(ctx context.Context, a identity.Actor, changes []SettingChange) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, ch := range changes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO firm_settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ch.Key, ch.Value); err != nil {
				return fmt.Errorf("write setting %s: %w", ch.Key, err)
			}
			if err := s.appendAudit(ctx, tx, a, "settings.update", "setting", ch.Key, map[string]any{"value": ch.Value}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Settings returns all firm settings.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, value FROM firm_settings")
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}
