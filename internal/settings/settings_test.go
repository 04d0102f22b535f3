package settings

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestPatchValidation(t *testing.T) {
	for _, c := range []struct {
		name      string
		patch     Patch
		want      []store.SettingChange
		wantField string // the field a refusal names
		wantMsg   string
	}{
		{name: "empty patch", patch: Patch{}},
		{name: "trimmed text", patch: Patch{FirmName: ptr("  Hale & Pike LLP "), LEDESFirmID: ptr(" 12-3456789 ")},
			want: []store.SettingChange{{Key: store.SettingFirmName, Value: "Hale & Pike LLP"}, {Key: store.SettingLEDESFirmID, Value: "12-3456789"}}},
		{name: "firm name at the cap", patch: Patch{FirmName: ptr(strings.Repeat("a", MaxFirmNameLen))},
			want: []store.SettingChange{{Key: store.SettingFirmName, Value: strings.Repeat("a", MaxFirmNameLen)}}},
		{name: "firm name over the cap", patch: Patch{FirmName: ptr(strings.Repeat("a", MaxFirmNameLen+1))},
			wantField: "firm_name", wantMsg: "the firm name is longer than 120 characters"},
		{name: "LEDES id over the cap", patch: Patch{LEDESFirmID: ptr(strings.Repeat("1", MaxLEDESFirmIDLen+1))},
			wantField: "ledes_law_firm_id", wantMsg: "the LEDES law firm ID is longer than 50 characters"},
		{name: "rate in cents", patch: Patch{DefaultRate: ptr(412.5)},
			want: []store.SettingChange{{Key: store.SettingDefaultRate, Value: "41250"}}},
		{name: "rate rounded half up", patch: Patch{DefaultRate: ptr(0.006)},
			want: []store.SettingChange{{Key: store.SettingDefaultRate, Value: "1"}}},
		{name: "zero rate", patch: Patch{DefaultRate: ptr(0.0)}, want: []store.SettingChange{{Key: store.SettingDefaultRate, Value: "0"}}},
		{name: "cleared rate", patch: Patch{ClearDefaultRate: true}, want: []store.SettingChange{{Key: store.SettingDefaultRate, Value: ""}}},
		{name: "negative rate", patch: Patch{DefaultRate: ptr(-1.0)}, wantField: "default_rate", wantMsg: "rate must be between 0 and 100000 per hour"},
		{name: "huge rate", patch: Patch{DefaultRate: ptr(100000.01)}, wantField: "default_rate", wantMsg: "rate must be between 0 and 100000 per hour"},
		{name: "NaN rate", patch: Patch{DefaultRate: ptr(math.NaN())}, wantField: "default_rate", wantMsg: "rate must be between 0 and 100000 per hour"},
		{name: "2FA roles, spaces dropped", patch: Patch{Require2FA: ptr(" billing, admin ")},
			want: []store.SettingChange{{Key: store.SettingRequire2FA, Value: "billing,admin"}}},
		{name: "2FA all", patch: Patch{Require2FA: ptr("all")}, want: []store.SettingChange{{Key: store.SettingRequire2FA, Value: "all"}}},
		{name: "2FA none", patch: Patch{Require2FA: ptr("")}, want: []store.SettingChange{{Key: store.SettingRequire2FA, Value: ""}}},
		{name: "2FA unknown role", patch: Patch{Require2FA: ptr("wizards")},
			wantField: "require_2fa_roles", wantMsg: `require_2fa_roles must list roles (timekeeper, billing, admin), "all" or be empty`},
		{name: "retention indefinite", patch: Patch{RetentionDays: ptr(0)}, want: []store.SettingChange{{Key: store.SettingRetentionDays, Value: "0"}}},
		{name: "retention 90 days", patch: Patch{RetentionDays: ptr(90)}, want: []store.SettingChange{{Key: store.SettingRetentionDays, Value: "90"}}},
		{name: "retention 5 years", patch: Patch{RetentionDays: ptr(1825)}, want: []store.SettingChange{{Key: store.SettingRetentionDays, Value: "1825"}}},
		{name: "retention under 90 days", patch: Patch{RetentionDays: ptr(89)},
			wantField: "retention_days", wantMsg: "the retention window must be 90 to 1825 days (5 years), or 0 to keep matters indefinitely"},
		{name: "retention over 5 years", patch: Patch{RetentionDays: ptr(1826)},
			wantField: "retention_days", wantMsg: "the retention window must be 90 to 1825 days (5 years), or 0 to keep matters indefinitely"},
		{name: "retention negative", patch: Patch{RetentionDays: ptr(-90)},
			wantField: "retention_days", wantMsg: "the retention window must be 90 to 1825 days (5 years), or 0 to keep matters indefinitely"},
		{name: "auto-delete on", patch: Patch{RetentionAutoDelete: ptr(true)}, want: []store.SettingChange{{Key: store.SettingRetentionAutoDelete, Value: "true"}}},
		{name: "audio window off", patch: Patch{AudioRetentionDays: ptr(0)}, want: []store.SettingChange{{Key: store.SettingAudioRetentionDays, Value: "0"}}},
		{name: "audio window one day", patch: Patch{AudioRetentionDays: ptr(1)}, want: []store.SettingChange{{Key: store.SettingAudioRetentionDays, Value: "1"}}},
		{name: "audio window negative", patch: Patch{AudioRetentionDays: ptr(-1)},
			wantField: "audio_retention_days", wantMsg: "the audio window must be 1 to 1825 days, or 0 to keep audio"},
		{name: "audio window over 5 years", patch: Patch{AudioRetentionDays: ptr(1826)},
			wantField: "audio_retention_days", wantMsg: "the audio window must be 1 to 1825 days, or 0 to keep audio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.patch.changes()
			if c.wantField != "" {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.Field != c.wantField || inv.Message != c.wantMsg {
					t.Fatalf("want %s refused with %q, got %v", c.wantField, c.wantMsg, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *float64
		bad  bool
	}{
		{in: ""}, {in: "  "}, {in: "350", want: ptr(350.0)}, {in: " 1,412.50 ", want: ptr(1412.5)}, {in: "lots", bad: true},
	} {
		got, err := ParseRate(c.in)
		var inv *InvalidError
		if c.bad {
			if !errors.As(err, &inv) || inv.Field != "default_rate" || inv.Message != "the default rate must be a number, like 350 or 412.50" {
				t.Errorf("%q: %v", c.in, err)
			}
			continue
		}
		if err != nil || (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%q: %v %v", c.in, got, err)
		}
	}
}

func TestTwoFactorRoles(t *testing.T) {
	for _, c := range []struct {
		stored string
		want   map[string]bool
	}{
		{"", map[string]bool{}},
		{"billing", map[string]bool{"billing": true}},
		{" admin , billing", map[string]bool{"admin": true, "billing": true}},
		{"all", map[string]bool{"timekeeper": true, "billing": true, "admin": true}},
	} {
		f := Firm{Require2FA: c.stored}
		if got := f.TwoFactorRoles(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v", c.stored, got)
		}
		for _, r := range roles {
			if f.RequiresTwoFA(r) != c.want[r] {
				t.Errorf("%q requires %s: %v", c.stored, r, f.RequiresTwoFA(r))
			}
		}
	}
	if got := TwoFactorList(map[string]bool{"admin": true, "timekeeper": true, "billing": false}); got != "timekeeper,admin" {
		t.Errorf("list: %q", got)
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	var key [32]byte
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "dictum.db"), store.Options{Key: &key, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := New(st)
	ada := identity.Actor{Username: "ada", Role: identity.RoleAdmin}
	f, err := svc.Update(ctx, ada, Patch{FirmName: ptr("Hale"), DefaultRate: ptr(412.5), Require2FA: ptr("billing")})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "Hale" || !f.HasDefaultRate || f.DefaultRate != 41250 || f.Require2FA != "billing" || f.LEDESFirmID != "" {
		t.Fatalf("after update: %+v", f)
	}
	if ok, err := svc.RequiresTwoFA(ctx, identity.RoleBilling); !ok || err != nil {
		t.Fatalf("billing 2FA: %v %v", ok, err)
	}
	if name, err := svc.FirmName(ctx); name != "Hale" || err != nil {
		t.Fatalf("firm name: %q %v", name, err)
	}
	// A refused patch writes nothing, not even its valid fields.
	if _, err := svc.Update(ctx, ada, Patch{FirmName: ptr("Other"), Require2FA: ptr("wizards")}); err == nil {
		t.Fatal("bad roles accepted")
	}
	// Unchanged values are not written again (no audit noise); clearing the rate unsets it.
	if f, err = svc.Update(ctx, ada, Patch{FirmName: ptr("Hale"), ClearDefaultRate: true}); err != nil {
		t.Fatal(err)
	}
	if f.Name != "Hale" || f.HasDefaultRate {
		t.Fatalf("after clearing: %+v", f)
	}
	ev, err := st.AuditEvents(ctx, "setting", store.SettingFirmName, 10)
	if err != nil || len(ev) != 1 || ev[0].Action != "settings.update" || ev[0].Actor != "ada" {
		t.Fatalf("firm name audit: %v %v", ev, err)
	}
}

func TestRetentionSettings(t *testing.T) {
	ctx := context.Background()
	var key [32]byte
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "dictum.db"), store.Options{Key: &key, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := New(st)
	ada := identity.Actor{Username: "ada", Role: identity.RoleAdmin}
	f, err := svc.Firm(ctx)
	if err != nil || f.RetentionDays != 0 || f.RetentionAutoDelete || f.AudioRetentionDays != 0 {
		t.Fatalf("defaults must be indefinite, auto-delete off, audio kept: %+v %v", f, err)
	}
	// Auto-delete without a window is refused, and nothing is written.
	_, err = svc.Update(ctx, ada, Patch{RetentionAutoDelete: ptr(true), AudioRetentionDays: ptr(30)})
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "retention_auto_delete" {
		t.Fatalf("auto-delete with an indefinite window: %v", err)
	}
	if f, _ := svc.Firm(ctx); f.AudioRetentionDays != 0 || f.RetentionAutoDelete {
		t.Fatalf("a refused patch wrote: %+v", f)
	}
	// Window and auto-delete in one patch are fine.
	if f, err = svc.Update(ctx, ada, Patch{RetentionDays: ptr(365), RetentionAutoDelete: ptr(true), AudioRetentionDays: ptr(30)}); err != nil {
		t.Fatal(err)
	}
	if f.RetentionDays != 365 || !f.RetentionAutoDelete || f.AudioRetentionDays != 30 {
		t.Fatalf("after update: %+v", f)
	}
	// Going back to indefinite while auto-delete is on is refused too.
	if _, err := svc.Update(ctx, ada, Patch{RetentionDays: ptr(0)}); !errors.As(err, &inv) || inv.Field != "retention_auto_delete" {
		t.Fatalf("indefinite with auto-delete on: %v", err)
	}
	if f, err = svc.Update(ctx, ada, Patch{RetentionDays: ptr(0), RetentionAutoDelete: ptr(false)}); err != nil || f.RetentionDays != 0 || f.RetentionAutoDelete {
		t.Fatalf("turning it off: %+v %v", f, err)
	}
}
