package draft

import (
	"context"
	"testing"
)

// BenchmarkRulesDraft drafts the eval-style dictations against the 12 eval
// matters. Target: >= 10,000 drafts/s per core (<= 100 µs/op).
func BenchmarkRulesDraft(b *testing.B) {
	ms := testMatters(b)
	texts := []string{
		"Point three hours on Smith versus Jones, drafting the motion to compel discovery responses.",
		"Um, Whitfield estate, reviewed the inventory of assets from the executor, about forty-five minutes.",
		"Yesterday I had a phone call with Maria Alvarez regarding the temporary support hearing. Half an hour.",
		"Two hours, no, make that two and a quarter, drafting the appellate brief for Greenway.",
		"On Wednesday, matter 2025-0999, draft notice of appeal, point six hours.",
		"Drafted a demand letter, one hour.",
	}
	r := NewRules(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Draft(ctx, Request{Text: texts[i%len(texts)], Today: friday, Matters: ms}); err != nil {
			b.Fatal(err)
		}
	}
}
