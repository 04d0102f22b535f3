package draft

import (
	"context"
	"strings"
	"testing"
)

// FuzzDraftMulti: any text gives at least one entry, spans in spoken order taken from
// the text, and drafts that pass Validate unchanged.
func FuzzDraftMulti(f *testing.F) {
	for _, s := range []string{
		"Whitfield estate, point four, reviewing the appraisal. Then an hour on Brightline. And ten minutes on a call.",
		"two hours, no, make that two and a quarter. Then U.S. Bank N.A. Inc. re: then then and and",
		"", ".", "then", "and then also next after that", "Inc. Inc. U.S. v. Dr. Mr.",
	} {
		f.Add(s)
	}
	ms := []Matter{{ID: "M-1", Number: "2026-0001", Client: "Harold Whitfield", Name: "Estate of Harold Whitfield"},
		{ID: "M-2", Number: "2026-0002", Client: "Brightline Software Corp.", Name: "Brightline - Series A"}}
	r := NewRules(Config{})
	f.Fuzz(func(t *testing.T, text string) {
		parts, err := DraftMulti(context.Background(), r, Request{Text: text, Today: dayToday, Matters: ms,
			Aliases: []Alias{{Phrase: "marina deal", Matter: "M-1", Scope: ScopeUser}}}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) == 0 {
			t.Fatal("no entries")
		}
		clean := cleanText(text)
		end := 0
		for _, p := range parts {
			if p.Start < end || p.End < p.Start || p.End > len(clean) || !strings.Contains(clean[p.Start:p.End], p.Span) {
				t.Fatalf("span %q [%d,%d) out of order or not from the text %q", p.Span, p.Start, p.End, clean)
			}
			end = p.End
			d := p.Draft
			Validate(&d, Request{Text: text, Today: dayToday, Matters: ms}, Config{})
			if d.Date != p.Date || d.Hours != p.Hours || d.Narrative != p.Narrative {
				t.Fatalf("draft changed by Validate: %+v -> %+v", p.Draft, d)
			}
		}
	})
}
