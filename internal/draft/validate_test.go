package draft

import (
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ms := testMatters(t)
	req := Request{Today: friday, Matters: ms}
	good := func() Draft {
		return Draft{Matter: strPtr("M-1004"), Date: "2026-11-19", Hours: 0.3, Activity: "A103", Task: strPtr("L250"),
			Narrative: "Drafted motion.", Billable: true, Confidence: 0.9, Warnings: []string{}}
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		edit  func(*Draft)
		check func(*testing.T, Draft)
		warn  string
	}{
		{"valid stays", Config{}, func(d *Draft) {}, func(t *testing.T, d Draft) {
			if len(d.Warnings) != 0 || d.Minutes != 18 || d.Hours != 0.3 {
				t.Fatalf("%+v", d)
			}
		}, ""},
		{"unknown matter", Config{}, func(d *Draft) { d.Matter = strPtr("M-0") }, func(t *testing.T, d Draft) {
			if d.Matter != nil || d.Task != nil {
				t.Fatalf("%+v", d)
			}
		}, "not an open matter"},
		{"future date", Config{}, func(d *Draft) { d.Date = "2026-11-21" }, func(t *testing.T, d Draft) {
			if d.Date != "2026-11-20" {
				t.Fatal(d.Date)
			}
		}, "future"},
		{"look-back edge ok", Config{}, func(d *Draft) { d.Date = "2026-09-21" }, func(t *testing.T, d Draft) {
			if d.Date != "2026-09-21" {
				t.Fatal(d.Date)
			}
		}, ""},
		{"beyond look-back", Config{}, func(d *Draft) { d.Date = "2026-09-20" }, nil, "more than 60 days"},
		{"custom look-back", Config{LookbackDays: 7}, func(d *Draft) { d.Date = "2026-11-12" }, nil, "more than 7 days"},
		{"bad date", Config{}, func(d *Draft) { d.Date = "Nov 3" }, nil, "not a date"},
		{"rounds up", Config{}, func(d *Draft) { d.Hours = 0.31 }, func(t *testing.T, d Draft) {
			if d.Hours != 0.4 || d.Minutes != 24 {
				t.Fatalf("%v %v", d.Hours, d.Minutes)
			}
		}, ""},
		{"increment 15", Config{IncrementMinutes: 15}, func(d *Draft) { d.Hours = 0.3 }, func(t *testing.T, d Draft) {
			if d.Hours != 0.5 || d.Minutes != 30 {
				t.Fatalf("%v %v", d.Hours, d.Minutes)
			}
		}, ""},
		{"zero hours", Config{}, func(d *Draft) { d.Hours = 0 }, nil, WarnNoDuration},
		{"negative hours", Config{}, func(d *Draft) { d.Hours = -1 }, nil, "not valid"},
		{"NaN hours", Config{}, func(d *Draft) { d.Hours = math.NaN() }, nil, "not valid"},
		{"24h ok", Config{}, func(d *Draft) { d.Hours = 24 }, func(t *testing.T, d Draft) {
			if d.Hours != 24 {
				t.Fatal(d.Hours)
			}
		}, ""},
		{"over 24h", Config{}, func(d *Draft) { d.Hours = 23.99 }, func(t *testing.T, d Draft) {
			if d.Hours != 24 {
				t.Fatal(d.Hours)
			}
		}, ""},
		{"way over", Config{}, func(d *Draft) { d.Hours = 24.01 }, nil, "more than 24"},
		{"bad activity", Config{}, func(d *Draft) { d.Activity = "a103" }, nil, "not a UTBMS activity"},
		{"no activity", Config{}, func(d *Draft) { d.Activity = "" }, nil, WarnNoActivity},
		{"bad task", Config{}, func(d *Draft) { d.Task = strPtr("L999") }, nil, "not a UTBMS litigation task"},
		{"task on non-litigation", Config{}, func(d *Draft) { d.Matter = strPtr("M-1001") }, nil, "not a litigation matter"},
		{"task without matter", Config{}, func(d *Draft) { d.Matter = nil }, func(t *testing.T, d Draft) {
			if d.Task != nil {
				t.Fatal("task kept")
			}
		}, ""},
		{"narrative cleaned", Config{}, func(d *Draft) { d.Narrative = "  drafted\tthe\x00 motion \n" }, func(t *testing.T, d Draft) {
			if d.Narrative != "Drafted the motion." {
				t.Fatalf("%q", d.Narrative)
			}
		}, ""},
		{"narrative capped", Config{}, func(d *Draft) { d.Narrative = strings.Repeat("word ", 1000) }, func(t *testing.T, d Draft) {
			if n := len([]rune(d.Narrative)); n > maxNarrativeRunes+1 {
				t.Fatal(n)
			}
		}, ""},
		{"empty narrative", Config{}, func(d *Draft) { d.Narrative = " . " }, nil, WarnNoNarrative},
		{"confidence clamped", Config{}, func(d *Draft) { d.Confidence = 7 }, func(t *testing.T, d Draft) {
			if d.Confidence != 1 {
				t.Fatal(d.Confidence)
			}
		}, ""},
		{"warnings deduped", Config{}, func(d *Draft) { d.Warnings = []string{"a", "a", " ", "b"} }, func(t *testing.T, d Draft) {
			if strings.Join(d.Warnings, ",") != "a,b" {
				t.Fatal(d.Warnings)
			}
		}, ""},
		{"nil warnings", Config{}, func(d *Draft) { d.Warnings = nil }, func(t *testing.T, d Draft) {
			if d.Warnings == nil {
				t.Fatal("nil warnings encode as null")
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.edit(&d)
			Validate(&d, req, tc.cfg)
			if tc.warn != "" && !strings.Contains(strings.Join(d.Warnings, "|"), tc.warn) {
				t.Fatalf("warnings %q lack %q", d.Warnings, tc.warn)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			again := d
			again.Warnings = append([]string(nil), d.Warnings...)
			Validate(&again, req, tc.cfg)
			if !equalDrafts(again, d) {
				t.Fatalf("Validate not idempotent:\n%+v\n%+v", d, again)
			}
		})
	}
}
