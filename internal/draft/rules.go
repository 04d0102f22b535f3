package draft

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"dictum/internal/billing"
)

// Rules is the default engine: deterministic, no model, no network. It is
// safe for concurrent use.
type Rules struct {
	cfg Config

	mu          sync.Mutex
	lastMatters []Matter  // the matters the cached index was built from
	lastIdx     *indexSet // read-only once built
}

// indexSet is the matter index of one matter list.
type indexSet struct {
	ms         []matterIndex
	allClients map[string]bool // client name words of every matter
}

// index returns the matter index for ms, reusing the last one when the
// matters are unchanged (the server drafts many transcripts per matter list).
func (r *Rules) index(ms []Matter) *indexSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastIdx != nil && slices.Equal(r.lastMatters, ms) {
		return r.lastIdx
	}
	set := &indexSet{ms: buildIndex(ms), allClients: map[string]bool{}}
	for _, ix := range set.ms {
		for k := range ix.client {
			if !genericWords[k] {
				set.allClients[k] = true
			}
		}
	}
	r.lastMatters = slices.Clone(ms)
	r.lastIdx = set
	return set
}

// NewRules returns the rules engine.
func NewRules(cfg Config) *Rules { return &Rules{cfg: cfg} }

// Name implements Drafter.
func (r *Rules) Name() string { return EngineRules }

// Warnings the rules engine and Validate emit (tests and the UI match on them).
const (
	WarnNoDuration  = "no duration heard"
	WarnNoActivity  = "activity not recognised; pick one"
	WarnNoNarrative = "no narrative heard"
)

// Draft implements Drafter. It never fails on input; ctx is only checked
// for cancellation.
func (r *Rules) Draft(ctx context.Context, req Request) (Draft, error) {
	if err := ctx.Err(); err != nil {
		return Draft{}, fmt.Errorf("rules draft: %w", err)
	}
	d := r.draft(req)
	Validate(&d, req, r.cfg)
	return d, nil
}

func (r *Rules) draft(req Request) Draft {
	today := civil(req.Today)
	d := Draft{Billable: true, Engine: EngineRules, Warnings: []string{}}
	text := req.Text
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
		d.Warnings = append(d.Warnings, fmt.Sprintf("transcript longer than %d bytes; only the start was read", maxTextBytes))
	}
	toks := tokenize(text)

	if markNonBillable(toks) {
		d.Billable = false
	}
	dr := findDate(toks, today)
	d.Date = dr.date.Format(time.DateOnly)
	if dr.warning != "" {
		d.Warnings = append(d.Warnings, dr.warning)
	}

	secs, found, summed := findDurations(toks)
	if found && secs > 0 {
		d.Minutes = billing.BilledMinutes(secs, r.cfg.increment())
		d.Hours = minutesToHours(d.Minutes)
		if summed {
			d.Warnings = append(d.Warnings, fmt.Sprintf("several durations heard; added up to %s h", formatHours(d.Hours)))
		}
	}

	idx := r.index(req.Matters)
	mr := findMatter(toks, idx.ms)
	aliasWhy := ""
	if mr.idx < 0 && len(req.Aliases) > 0 && (mr.warning == warnNoMatter || strings.HasPrefix(mr.warning, "matter not certain")) {
		if a, mi, sp, ok := findAlias(toks, orderAliases(req.Aliases), idx.ms); ok {
			mr = matterResult{idx: mi, spans: [][2]int{sp}}
			aliasWhy = aliasNote(a)
		}
	}
	var pc partyCtx
	var nameKeys, capKeys map[string]bool
	if mr.idx >= 0 {
		ix := &idx.ms[mr.idx]
		d.Matter = strPtr(ix.m.ID)
		pc = partyCtx{client: ix.client, opposing: ix.opposing}
		nameKeys, capKeys = ix.nameWords, ix.capWords
	} else {
		pc = partyCtx{client: idx.allClients}
	}
	if mr.warning != "" {
		d.Warnings = append(d.Warnings, mr.warning)
	}
	if aliasWhy != "" {
		d.Warnings = append(d.Warnings, aliasWhy)
	}

	d.Activity = classify(toks, pc)
	if a, ok := findActivityAlias(toks, orderAliases(req.Aliases)); ok {
		d.Activity = a.Activity
		d.Warnings = append(d.Warnings, aliasNote(a))
	}

	markFillers(toks)
	if mr.idx >= 0 {
		markMatterSpans(toks, mr.spans, nameKeys, capKeys)
	}
	d.Narrative = buildNarrative(toks, d.Activity)

	if mr.idx >= 0 && idx.ms[mr.idx].m.Litigation {
		if t := task(strings.ToLower(d.Narrative)); t != "" {
			d.Task = strPtr(t)
		}
	}

	// confidence: how much of an entry was heard
	c := 0.0
	if d.Matter != nil {
		c += 0.35
	}
	if d.Minutes > 0 {
		c += 0.3
	}
	if d.Activity != "" {
		c += 0.15
	}
	if dr.explicit {
		c += 0.1
	} else {
		c += 0.05
	}
	if len(strings.Fields(d.Narrative)) >= 3 {
		c += 0.1
	}
	c -= 0.05 * float64(len(d.Warnings))
	d.Confidence = c
	return d
}

// minutesToHours converts whole minutes to hours with two decimals
// (exact for the default 6-minute increment).
func minutesToHours(min int) float64 {
	hundredths := (min*100 + 30) / 60 // round half up to the hundredth
	return float64(hundredths) / 100
}

func formatHours(h float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", h), "0"), ".")
}
