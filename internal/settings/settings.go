// Package settings is the firm settings service: the firm name, the LEDES law firm id, the
// default hourly rate, the roles that must use two-factor authentication and the retention
// policy (window, auto-delete, audio window).
//
// It is the one place that reads these values from the store as typed values and the one
// place that validates a change to them: the JSON API, the admin pages, exports and the
// two-factor check all go through it.
package settings

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"dictum/internal/billing"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// Length caps of the text settings, in bytes.
const (
	MaxFirmNameLen    = 120
	MaxLEDESFirmIDLen = 50
)

// Bounds of the retention settings, in days.
const (
	MinRetentionDays      = 90
	MaxRetentionDays      = 5 * 365 // five years
	MaxAudioRetentionDays = MaxRetentionDays
)

// invoicePrefixRE is a valid invoice number prefix (empty allowed).
var invoicePrefixRE = regexp.MustCompile(`^[A-Za-z0-9._/-]{0,12}$`)

// RequireAll in the two-factor setting means every role must use two-factor authentication.
const RequireAll = "all"

// Firm is the firm's settings, typed.
type Firm struct {
	Name        string
	LEDESFirmID string
	// DefaultRate is the firm's default hourly rate; HasDefaultRate is false when unset.
	DefaultRate    billing.Cents
	HasDefaultRate bool
	// Require2FA lists the roles that must use two-factor authentication, as stored:
	// "admin,billing", "all" or "".
	Require2FA string
	// RetentionDays is how long a closed matter is kept after it was closed, in days
	// (MinRetentionDays to MaxRetentionDays); 0 keeps matters indefinitely.
	RetentionDays int
	// RetentionAutoDelete lets the retention job delete (off by default): closed matters
	// past the window, and deleted items whose grace period is over.
	RetentionAutoDelete bool
	// AudioRetentionDays deletes a recording's audio this many days after its entries were
	// approved; 0 (the default) keeps audio.
	AudioRetentionDays int
	// InvoicePrefix starts every LEDES invoice number (store.DefaultInvoicePrefix unless
	// set); a six-digit sequence that only moves forward follows it.
	InvoicePrefix string
	// DailyTargetTenths is the hours a timekeeper should record on a working day, in
	// tenths (DefaultDailyTargetTenths when unset); the Week page measures days against it.
	DailyTargetTenths int
}

// DefaultDailyTargetTenths is the daily target when the firm has not set one (6.0 h).
const DefaultDailyTargetTenths = 60

// roles are the three roles, in the order the admin page lists them.
var roles = []string{identity.RoleTimekeeper, identity.RoleBilling, identity.RoleAdmin}

// RequiresTwoFA reports whether users of a role must use two-factor authentication.
func (f Firm) RequiresTwoFA(role string) bool {
	return f.TwoFactorRoles()[role]
}

// TwoFactorRoles is the set of roles that must use two-factor authentication ("all" expanded).
func (f Firm) TwoFactorRoles() map[string]bool {
	out := map[string]bool{}
	for _, r := range strings.Split(f.Require2FA, ",") {
		if r = strings.TrimSpace(r); r == RequireAll {
			for _, role := range roles {
				out[role] = true
			}
		} else if r != "" {
			out[r] = true
		}
	}
	return out
}

// TwoFactorList joins roles into the stored form of the two-factor setting ("billing,admin").
func TwoFactorList(required map[string]bool) string {
	var out []string
	for _, r := range roles {
		if required[r] {
			out = append(out, r)
		}
	}
	return strings.Join(out, ",")
}

// Patch is a change to the firm settings; nil fields stay as they are.
type Patch struct {
	FirmName    *string
	LEDESFirmID *string
	// DefaultRate is an hourly rate in currency units (412.50); ClearDefaultRate unsets it.
	DefaultRate      *float64
	ClearDefaultRate bool
	// Require2FA is a comma-separated list of roles, "all" or "" (spaces are ignored).
	Require2FA *string
	// RetentionDays: 0 (indefinite) or MinRetentionDays..MaxRetentionDays.
	RetentionDays *int
	// RetentionAutoDelete turns the retention job's deleting on or off.
	RetentionAutoDelete *bool
	// AudioRetentionDays: 0 (off) or 1..MaxAudioRetentionDays.
	AudioRetentionDays *int
	// InvoicePrefix is the invoice number prefix (up to 12 of A-Z a-z 0-9 . _ / -).
	InvoicePrefix *string
	// InvoiceNextNumber moves the invoice sequence forward (never back: numbers are
	// never reused), e.g. to continue the numbering of a previous billing system.
	InvoiceNextNumber *int
	// DailyTarget is the daily target in hours (0.1 to 24); ClearDailyTarget restores the default.
	DailyTarget      *float64
	ClearDailyTarget bool
}

// ParseTarget reads a daily target typed by a person ("6.5"); "" is nil (the default).
func ParseTarget(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &InvalidError{Field: "daily_target_hours", Message: "the daily target must be a number of hours, like 6 or 6.5"}
	}
	return &f, nil
}

// InvalidError is a refused change: Field is the setting's API name, Message says why.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

// ParseRate reads an hourly rate typed by a person ("350", "1,412.50"); "" is nil (no rate).
func ParseRate(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		return nil, &InvalidError{Field: "default_rate", Message: "the default rate must be a number, like 350 or 412.50"}
	}
	return &f, nil
}

// ParseDays reads a number of days typed into a form field ("" is 0); field names the
// setting in a refusal.
func ParseDays(field, s string) (*int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return new(int), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, &InvalidError{Field: field, Message: fmt.Sprintf("%s must be a whole number of days", field)}
	}
	return &n, nil
}

// changes validates and normalises a patch into the store writes it stands for.
func (p Patch) changes() ([]store.SettingChange, error) {
	var out []store.SettingChange
	if p.FirmName != nil {
		v := strings.TrimSpace(*p.FirmName)
		if len(v) > MaxFirmNameLen {
			return nil, &InvalidError{Field: "firm_name", Message: fmt.Sprintf("the firm name is longer than %d characters", MaxFirmNameLen)}
		}
		out = append(out, store.SettingChange{Key: store.SettingFirmName, Value: v})
	}
	if p.LEDESFirmID != nil {
		v := strings.TrimSpace(*p.LEDESFirmID)
		if len(v) > MaxLEDESFirmIDLen {
			return nil, &InvalidError{Field: "ledes_law_firm_id", Message: fmt.Sprintf("the LEDES law firm ID is longer than %d characters", MaxLEDESFirmIDLen)}
		}
		out = append(out, store.SettingChange{Key: store.SettingLEDESFirmID, Value: v})
	}
	switch {
	case p.DefaultRate != nil:
		cents, err := billing.HourlyRate(*p.DefaultRate)
		if err != nil {
			return nil, &InvalidError{Field: "default_rate", Message: err.Error()}
		}
		out = append(out, store.SettingChange{Key: store.SettingDefaultRate, Value: strconv.FormatInt(int64(cents), 10)})
	case p.ClearDefaultRate:
		out = append(out, store.SettingChange{Key: store.SettingDefaultRate, Value: ""})
	}
	switch {
	case p.DailyTarget != nil:
		h := *p.DailyTarget
		tenths := math.Round(h * 10)
		if math.IsNaN(h) || tenths < 1 || tenths > 240 || math.Abs(h*10-tenths) > 1e-6 {
			return nil, &InvalidError{Field: "daily_target_hours", Message: "the daily target must be between 0.1 and 24 hours, in tenths"}
		}
		out = append(out, store.SettingChange{Key: store.SettingDailyTarget, Value: strconv.Itoa(int(tenths))})
	case p.ClearDailyTarget:
		out = append(out, store.SettingChange{Key: store.SettingDailyTarget, Value: ""})
	}
	if p.Require2FA != nil {
		v := strings.ReplaceAll(strings.TrimSpace(*p.Require2FA), " ", "")
		for _, r := range strings.Split(v, ",") {
			if r != "" && r != RequireAll && !identity.ValidRole(r) {
				return nil, &InvalidError{Field: "require_2fa_roles", Message: `require_2fa_roles must list roles (timekeeper, billing, admin), "all" or be empty`}
			}
		}
		out = append(out, store.SettingChange{Key: store.SettingRequire2FA, Value: v})
	}
	if p.RetentionDays != nil {
		d := *p.RetentionDays
		if d != 0 && (d < MinRetentionDays || d > MaxRetentionDays) {
			return nil, &InvalidError{Field: "retention_days", Message: fmt.Sprintf("the retention window must be %d to %d days (5 years), or 0 to keep matters indefinitely", MinRetentionDays, MaxRetentionDays)}
		}
		out = append(out, store.SettingChange{Key: store.SettingRetentionDays, Value: strconv.Itoa(d)})
	}
	if p.RetentionAutoDelete != nil {
		out = append(out, store.SettingChange{Key: store.SettingRetentionAutoDelete, Value: strconv.FormatBool(*p.RetentionAutoDelete)})
	}
	if p.AudioRetentionDays != nil {
		d := *p.AudioRetentionDays
		if d < 0 || d > MaxAudioRetentionDays {
			return nil, &InvalidError{Field: "audio_retention_days", Message: fmt.Sprintf("the audio window must be 1 to %d days, or 0 to keep audio", MaxAudioRetentionDays)}
		}
		out = append(out, store.SettingChange{Key: store.SettingAudioRetentionDays, Value: strconv.Itoa(d)})
	}
	if p.InvoicePrefix != nil {
		v := strings.TrimSpace(*p.InvoicePrefix)
		if !invoicePrefixRE.MatchString(v) {
			return nil, &InvalidError{Field: "invoice_prefix", Message: "the invoice prefix must be at most 12 letters, digits, dots, dashes, slashes or underscores (LEDES invoice numbers hold 20 characters)"}
		}
		out = append(out, store.SettingChange{Key: store.SettingInvoicePrefix, Value: v})
	}
	if p.InvoiceNextNumber != nil {
		n := *p.InvoiceNextNumber
		if n < 1 || n > 999999 {
			return nil, &InvalidError{Field: "invoice_next_number", Message: "the next invoice number must be between 1 and 999999"}
		}
		out = append(out, store.SettingChange{Key: store.SettingInvoiceSeq, Value: strconv.Itoa(n - 1)})
	}
	return out, nil
}

// checkCombined refuses settings that are each valid but make no sense together.
func checkCombined(f Firm) error {
	if f.RetentionAutoDelete && f.RetentionDays == 0 {
		return &InvalidError{Field: "retention_auto_delete", Message: fmt.Sprintf("auto-delete needs a retention window: set retention_days to %d to %d days first", MinRetentionDays, MaxRetentionDays)}
	}
	return nil
}

func intSetting(all map[string]string, key string) (int, error) {
	v := all[key]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("setting %s: %w", key, err)
	}
	return n, nil
}

// Service reads and changes the firm settings.
type Service struct {
	store *store.Store
}

// New returns the settings service over a store.
func New(st *store.Store) *Service { return &Service{store: st} }

// Firm reads the firm settings.
func (s *Service) Firm(ctx context.Context) (Firm, error) {
	all, err := s.store.Settings(ctx)
	if err != nil {
		return Firm{}, fmt.Errorf("firm settings: %w", err)
	}
	f := Firm{Name: all[store.SettingFirmName], LEDESFirmID: all[store.SettingLEDESFirmID], Require2FA: all[store.SettingRequire2FA], InvoicePrefix: store.DefaultInvoicePrefix, DailyTargetTenths: DefaultDailyTargetTenths}
	if v, ok := all[store.SettingInvoicePrefix]; ok {
		f.InvoicePrefix = v
	}
	if v := all[store.SettingDailyTarget]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Firm{}, fmt.Errorf("setting %s: %w", store.SettingDailyTarget, err)
		}
		f.DailyTargetTenths = n
	}
	if v := all[store.SettingDefaultRate]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Firm{}, fmt.Errorf("setting %s: %w", store.SettingDefaultRate, err)
		}
		f.DefaultRate, f.HasDefaultRate = billing.Cents(n), true
	}
	return firmRetention(f, all)
}

func firmRetention(f Firm, all map[string]string) (Firm, error) {
	var err error
	if f.RetentionDays, err = intSetting(all, store.SettingRetentionDays); err != nil {
		return Firm{}, err
	}
	if f.AudioRetentionDays, err = intSetting(all, store.SettingAudioRetentionDays); err != nil {
		return Firm{}, err
	}
	f.RetentionAutoDelete = all[store.SettingRetentionAutoDelete] == "true"
	return f, nil
}

// FirmName is the firm's name as set by an admin ("" when unset).
func (s *Service) FirmName(ctx context.Context) (string, error) {
	return s.store.Setting(ctx, store.SettingFirmName)
}

// RequiresTwoFA reports whether the firm requires two-factor authentication for a role.
// It reads only its own setting, so no other (bad) value can switch the requirement off.
func (s *Service) RequiresTwoFA(ctx context.Context, role string) (bool, error) {
	v, err := s.store.Setting(ctx, store.SettingRequire2FA)
	if err != nil {
		return false, err
	}
	return Firm{Require2FA: v}.RequiresTwoFA(role), nil
}

// Update validates a patch and writes the settings it changes, all or none, each audited.
// A value equal to the stored one is not written again. It returns the settings after.
func (s *Service) Update(ctx context.Context, a identity.Actor, p Patch) (Firm, error) {
	changes, err := p.changes()
	if err != nil {
		return Firm{}, err
	}
	old, err := s.store.Settings(ctx)
	if err != nil {
		return Firm{}, fmt.Errorf("update settings: %w", err)
	}
	var changed []store.SettingChange
	after := map[string]string{}
	for k, v := range old {
		after[k] = v
	}
	for _, ch := range changes {
		if ch.Key == store.SettingInvoiceSeq {
			last, _ := strconv.Atoi(old[ch.Key])
			if next, _ := strconv.Atoi(ch.Value); next < last {
				return Firm{}, &InvalidError{Field: "invoice_next_number", Message: fmt.Sprintf("invoice numbers are never reused: the next number must be at least %d", last+1)}
			}
		}
		after[ch.Key] = ch.Value
		if old[ch.Key] != ch.Value { // an unset setting reads as ""
			changed = append(changed, ch)
		}
	}
	if f, err := firmRetention(Firm{}, after); err != nil {
		return Firm{}, fmt.Errorf("update settings: %w", err)
	} else if err := checkCombined(f); err != nil {
		return Firm{}, err
	}
	if err := s.store.SetSettings(ctx, a, changed); err != nil {
		return Firm{}, fmt.Errorf("update settings: %w", err)
	}
	return s.Firm(ctx)
}
