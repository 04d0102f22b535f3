package draft

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// FuzzRules: the rules engine never panics and always returns a draft that
// Validate leaves unchanged.
func FuzzRules(f *testing.F) {
	for _, s := range []string{
		"Point three hours on Smith versus Jones, drafting the motion to compel discovery responses.",
		"Two hours, no, make that two and a quarter, drafting the appellate brief for Greenway.",
		"November 12th, Whitfield, letter to the probate court clerk regarding the filing fee, point one.",
		"", ".", "point", "the 31st", "February 29th, 11/31/2026, 99/99", "an an an hour and and a half",
	} {
		f.Add(s, uint8(0))
	}
	ms := testMatters(f)
	f.Fuzz(func(t *testing.T, text string, inc uint8) {
		cfg := Config{IncrementMinutes: int(inc % 61)}
		today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		req := Request{Text: text, Today: today, Matters: ms}
		d, err := NewRules(cfg).Draft(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		again := d
		again.Warnings = append([]string(nil), d.Warnings...)
		Validate(&again, req, cfg)
		if !equalDrafts(d, again) {
			t.Fatalf("draft changes under Validate:\n%+v\n%+v", d, again)
		}
		if d.Hours < 0 || d.Hours > 24 || d.Confidence < 0 || d.Confidence > 1 || d.Warnings == nil {
			t.Fatalf("out of range: %+v", d)
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	})
}
