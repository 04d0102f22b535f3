package settings

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"dictum/internal/store"
)

func TestDailyTargetPatch(t *testing.T) {
	for _, c := range []struct {
		name  string
		patch Patch
		want  []store.SettingChange
		bad   bool
	}{
		{name: "six and a half hours", patch: Patch{DailyTarget: ptr(6.5)}, want: []store.SettingChange{{Key: store.SettingDailyTarget, Value: "65"}}},
		{name: "a tenth", patch: Patch{DailyTarget: ptr(0.1)}, want: []store.SettingChange{{Key: store.SettingDailyTarget, Value: "1"}}},
		{name: "24 hours", patch: Patch{DailyTarget: ptr(24.0)}, want: []store.SettingChange{{Key: store.SettingDailyTarget, Value: "240"}}},
		{name: "clear", patch: Patch{ClearDailyTarget: true}, want: []store.SettingChange{{Key: store.SettingDailyTarget, Value: ""}}},
		{name: "zero", patch: Patch{DailyTarget: ptr(0.0)}, bad: true},
		{name: "negative", patch: Patch{DailyTarget: ptr(-1.0)}, bad: true},
		{name: "over a day", patch: Patch{DailyTarget: ptr(24.1)}, bad: true},
		{name: "not in tenths", patch: Patch{DailyTarget: ptr(6.25)}, bad: true},
		{name: "NaN", patch: Patch{DailyTarget: ptr(math.NaN())}, bad: true},
	} {
		got, err := c.patch.changes()
		var inv *InvalidError
		switch {
		case c.bad && (!errors.As(err, &inv) || inv.Field != "daily_target_hours"):
			t.Errorf("%s: err %v, want a daily_target_hours refusal", c.name, err)
		case !c.bad && (err != nil || !reflect.DeepEqual(got, c.want)):
			t.Errorf("%s: got %v %v, want %v", c.name, got, err, c.want)
		}
	}
	if v, err := ParseTarget(" 7.5 "); err != nil || *v != 7.5 {
		t.Errorf("ParseTarget: %v %v", v, err)
	}
	if v, err := ParseTarget(""); err != nil || v != nil {
		t.Errorf("ParseTarget empty: %v %v", v, err)
	}
	if _, err := ParseTarget("six"); err == nil {
		t.Error("ParseTarget six: no error")
	}
}
