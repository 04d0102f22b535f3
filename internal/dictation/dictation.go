// Package dictation drafts time entries from what a lawyer said or typed: one
// dictation may hold a whole day (several entries, see draft.DraftMulti). The
// transcription pipeline uses it for recordings and the web layer for typed or
// pasted text (POST /api/v1/dictations), so both go through the same engine
// and rules.
package dictation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"dictum/internal/billing"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// MaxTextBytes bounds a typed dictation (the drafter reads no more).
const MaxTextBytes = 16 << 10

// ErrInvalid marks input the caller must fix (it wraps entry.ErrInvalid, which
// the web layer answers with 422).
var ErrInvalid = fmt.Errorf("%w", entry.ErrInvalid)

// Service drafts dictations.
type Service struct {
	Store   *store.Store
	Drafter draft.Drafter
	Config  *config.Config
	Now     func() time.Time
}

// New builds the service; a nil drafter is the rules engine with the firm's increment.
func New(st *store.Store, d draft.Drafter, cfg *config.Config, now func() time.Time) *Service {
	if d == nil {
		d = draft.NewRules(DraftConfig(cfg))
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Drafter: d, Config: cfg, Now: now}
}

// DraftConfig is the drafting configuration of the firm (increment, look-back).
func DraftConfig(cfg *config.Config) draft.Config {
	return draft.Config{Engine: cfg.Draft.Engine, IncrementMinutes: cfg.Draft.IncrementMinutes, LookbackDays: cfg.Draft.LookbackDays}
}

// Today is the firm's civil date at t.
func (s *Service) Today(t time.Time) time.Time {
	loc, err := s.Config.Location()
	if err != nil {
		loc = time.UTC
	}
	n := t.In(loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// OpenMatters returns the open matters userID may see in the drafter's shape: a matter
// walled off from them is never offered, so their dictation never matches it (userID 0:
// every open matter).
func (s *Service) OpenMatters(ctx context.Context, userID int64) ([]draft.Matter, error) {
	ms, err := s.Store.MattersFor(ctx, userID, "open", "")
	if err != nil {
		return nil, err
	}
	out := make([]draft.Matter, 0, len(ms))
	for _, m := range ms {
		out = append(out, draft.Matter{ID: m.ID, Number: m.Number, Client: m.Client, Name: m.Name, Litigation: m.Litigation || draft.IsLitigationCaption(m.Name)})
	}
	return out, nil
}

// Drafts drafts every entry of a dictation by userID on the day today, in spoken
// order, as store rows (recording, user and sequence left for the caller).
func (s *Service) Drafts(ctx context.Context, userID int64, text string, today time.Time) ([]store.NewEntry, error) {
	matters, err := s.OpenMatters(ctx, userID)
	if err != nil {
		return nil, err
	}
	aliases, err := s.draftAliases(ctx, userID)
	if err != nil {
		return nil, err
	}
	parts, err := draft.DraftMulti(ctx, s.Drafter, draft.Request{Text: text, Today: today, Matters: matters, Aliases: aliases}, DraftConfig(s.Config))
	if err != nil {
		return nil, fmt.Errorf("drafting: %w", err)
	}
	out := make([]store.NewEntry, 0, len(parts))
	for _, p := range parts {
		out = append(out, s.newEntry(userID, p))
	}
	return out, nil
}

func (s *Service) newEntry(userID int64, p draft.Part) store.NewEntry {
	d := p.Draft
	f := entry.Fields{Date: d.Date, Tenths: Tenths(d, s.Config.Draft.IncrementMinutes), Activity: d.Activity, Narrative: d.Narrative, Billable: d.Billable}
	if d.Matter != nil {
		f.MatterID = *d.Matter
	}
	if d.Task != nil {
		f.Task = *d.Task
	}
	conf := d.Confidence
	engine := d.Engine
	if engine == "" {
		engine = s.Drafter.Name()
	}
	return store.NewEntry{UserID: userID, Fields: f, Confidence: &conf, Warnings: d.Warnings, Engine: engine, Span: p.Span}
}

// Tenths is a draft's duration in tenths, rounded up to the firm's increment: from its
// minutes, or from its hours when an engine left minutes out.
func Tenths(d draft.Draft, incrementMinutes int) int {
	if d.Minutes == 0 && d.Hours > 0 {
		return int(billing.RoundUpHours(d.Hours, incrementMinutes))
	}
	return int(billing.RoundUpMinutes(d.Minutes, incrementMinutes))
}

// FromText drafts a typed or pasted dictation by the actor and stores its drafts.
// date, when set (YYYY-MM-DD), is the day the text speaks of: no date said means
// that day and "yesterday" the day before it.
func (s *Service) FromText(ctx context.Context, a identity.Actor, text, date string) ([]*store.Entry, error) {
	if a.UserID == 0 {
		return nil, errors.New("dictation: no user")
	}
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: text is empty: type or paste what you did", ErrInvalid)
	}
	if len(text) > MaxTextBytes {
		return nil, fmt.Errorf("%w: text is longer than %d KiB: send one day at a time", ErrInvalid, MaxTextBytes>>10)
	}
	today := s.Today(s.Now())
	if date != "" {
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			return nil, fmt.Errorf("%w: date %q: want YYYY-MM-DD", ErrInvalid, clip(date, 20))
		}
		if d.After(today) {
			return nil, fmt.Errorf("%w: date %s is in the future", ErrInvalid, date)
		}
		lb := s.Config.Draft.LookbackDays
		if lb <= 0 {
			lb = draft.DefaultLookbackDays
		}
		if d.Before(today.AddDate(0, 0, -lb)) {
			return nil, fmt.Errorf("%w: date %s is more than %d days ago", ErrInvalid, date, lb)
		}
		today = d
	}
	ns, err := s.Drafts(ctx, a.UserID, text, today)
	if err != nil {
		return nil, err
	}
	return s.Store.CreateEntries(ctx, a, ns)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
