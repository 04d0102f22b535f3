package dictation

import (
	"context"
	"strings"
)

// MaxPromptBytes bounds whisper's initial prompt. whisper.cpp keeps at most half its text
// context (224 tokens) of a prompt and drops the START of a longer one; names run about
// three to four bytes a token, so 600 bytes stays inside the limit and nothing is cut
// by the engine: the least recent matters are left out here instead.
const MaxPromptBytes = 600

// Prompt is whisper's initial prompt for a lawyer's recording: the firm's configured
// words, then the lawyer's matters, most recently worked on first, then the firm's other
// open matters the firm worked on most recently, then the rest (captions, clients and
// matter numbers), trimmed to MaxPromptBytes at a
// whole name.
func (s *Service) Prompt(ctx context.Context, userID int64, base string) string {
	var b strings.Builder
	add := func(n string) bool {
		n = strings.TrimSpace(n)
		if n == "" {
			return true
		}
		sep := 0
		if b.Len() > 0 {
			sep = 2
		}
		if b.Len()+sep+len(n) > MaxPromptBytes {
			return false
		}
		if sep > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		return true
	}
	if !add(base) {
		return clip(strings.TrimSpace(base), MaxPromptBytes)
	}
	ms, err := s.OpenMatters(ctx, userID)
	if err != nil {
		return b.String()
	}
	recent, err := s.Store.RecentMatters(ctx, userID, 50)
	if err != nil {
		recent = nil
	}
	if firm, err := s.Store.RecentMatters(ctx, 0, 50); err == nil {
		recent = append(recent, firm...)
	}
	order := make([]int, 0, len(ms))
	byID := map[string]int{}
	for i, m := range ms {
		byID[m.ID] = i
	}
	seenIdx := map[int]bool{}
	for _, id := range recent {
		if i, ok := byID[id]; ok && !seenIdx[i] {
			order = append(order, i)
			seenIdx[i] = true
		}
	}
	for i := range ms {
		if !seenIdx[i] {
			order = append(order, i)
		}
	}
	seen := map[string]bool{}
	for _, i := range order {
		m := ms[i]
		for _, n := range []string{m.Name, m.Client, m.Number} {
			if n == "" || seen[strings.ToLower(n)] {
				continue
			}
			if !add(n) {
				return b.String()
			}
			seen[strings.ToLower(n)] = true
		}
	}
	return b.String()
}
