// Package timesheet is the week at a glance: for one timekeeper and one ISO week, each
// day's dictated, draft and approved hours against the firm's daily target, and the
// working days with nothing recorded. The Week page and GET /api/v1/timesheet show the
// same numbers.
package timesheet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// ErrInvalid marks a week the caller must fix (422).
var ErrInvalid = fmt.Errorf("%w", entry.ErrInvalid)

// Day is one day of the week. Hours are in tenths-exact decimals.
type Day struct {
	Date         string  `json:"date"`
	Weekday      string  `json:"weekday"`
	Working      bool    `json:"working"` // Monday to Friday
	Target       float64 `json:"target_hours"`
	Dictated     float64 `json:"dictated_hours"` // drafted from a dictation, in any state
	Draft        float64 `json:"draft_hours"`    // still in the inbox
	Approved     float64 `json:"approved_hours"` // approved, exported or synced
	Entries      int     `json:"entries"`
	Empty        bool    `json:"nothing_recorded"` // a working day with no entry at all
	Short        float64 `json:"short_hours"`      // target minus draft and approved, when positive
	Inbox        string  `json:"inbox_link,omitempty"`
	ApprovedLink string  `json:"approved_link,omitempty"`
}

// Week is one timekeeper's week.
type Week struct {
	Week        string  `json:"week"` // YYYY-Www
	From        string  `json:"from"`
	To          string  `json:"to"`
	Timekeeper  string  `json:"timekeeper"`
	DailyTarget float64 `json:"daily_target_hours"`
	Days        []Day   `json:"days"`
	Totals      struct {
		Target   float64 `json:"target_hours"`
		Dictated float64 `json:"dictated_hours"`
		Draft    float64 `json:"draft_hours"`
		Approved float64 `json:"approved_hours"`
		Empty    int     `json:"days_with_nothing"`
	} `json:"totals"`
	Prev string `json:"prev"`
	Next string `json:"next"`
}

// Service builds weeks.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Today    func() time.Time // the firm's civil date (UTC midnight)
}

// ParseWeek reads "YYYY-Www" (ISO 8601 week) and returns its Monday.
func ParseWeek(s string) (time.Time, error) {
	y, w, ok := strings.Cut(strings.ToUpper(strings.TrimSpace(s)), "-W")
	year, err1 := strconv.Atoi(y)
	week, err2 := strconv.Atoi(w)
	if !ok || len(y) != 4 || len(w) != 2 || err1 != nil || err2 != nil || year < 2000 || year > 2999 || week < 1 {
		return time.Time{}, fmt.Errorf("%w: week %q: want YYYY-Www, like 2026-W48", ErrInvalid, clip(s))
	}
	// ISO week 1 holds January 4th
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
	mon := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	d := mon.AddDate(0, 0, 7*(week-1))
	if y2, w2 := d.ISOWeek(); y2 != year || w2 != week {
		return time.Time{}, fmt.Errorf("%w: %d has no week %d", ErrInvalid, year, week)
	}
	return d, nil
}

// WeekOf names the ISO week of a day.
func WeekOf(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func hours(tenths int) float64 { return float64(tenths) / 10 }

// Week returns the actor's own week ("" = this week).
func (s *Service) Week(ctx context.Context, a identity.Actor, week string) (*Week, error) {
	today := s.Today()
	if week == "" {
		week = WeekOf(today)
	}
	mon, err := ParseWeek(week)
	if err != nil {
		return nil, err
	}
	f, err := s.Settings.Firm(ctx)
	if err != nil {
		return nil, err
	}
	sun := mon.AddDate(0, 0, 6)
	totals, err := s.Store.DayTotals(ctx, a.UserID, mon.Format(time.DateOnly), sun.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	out := &Week{Week: WeekOf(mon), From: mon.Format(time.DateOnly), To: sun.Format(time.DateOnly), Timekeeper: a.Username,
		DailyTarget: hours(f.DailyTargetTenths), Prev: WeekOf(mon.AddDate(0, 0, -7)), Next: WeekOf(mon.AddDate(0, 0, 7))}
	type acc struct{ dictated, draft, approved, n int }
	byDay := map[string]*acc{}
	firstDraft, firstKey := map[string]string{}, map[string]string{}
	for _, t := range totals {
		a := byDay[t.Date]
		if a == nil {
			a = &acc{}
			byDay[t.Date] = a
		}
		a.n += t.Entries
		if t.Dictated {
			a.dictated += t.Tenths
		}
		if t.Status == entry.Draft {
			a.draft += t.Tenths
			if firstKey[t.Date] == "" || t.FirstKey < firstKey[t.Date] {
				firstDraft[t.Date], firstKey[t.Date] = t.FirstID, t.FirstKey
			}
		} else {
			a.approved += t.Tenths
		}
	}
	var tTarget, tDict, tDraft, tAppr int
	for i := 0; i < 7; i++ {
		d := mon.AddDate(0, 0, i)
		ds := d.Format(time.DateOnly)
		day := Day{Date: ds, Weekday: d.Weekday().String(), Working: i < 5}
		target := 0
		if day.Working && !d.After(today) {
			target = f.DailyTargetTenths
		}
		day.Target = hours(target)
		if a := byDay[ds]; a != nil {
			day.Dictated, day.Draft, day.Approved, day.Entries = hours(a.dictated), hours(a.draft), hours(a.approved), a.n
			tDict += a.dictated
			tDraft += a.draft
			tAppr += a.approved
			if short := target - a.draft - a.approved; short > 0 {
				day.Short = hours(short)
			}
			if a.approved > 0 {
				day.ApprovedLink = "/approved?from=" + ds + "&to=" + ds
			}
		} else {
			day.Short = hours(target)
			day.Empty = day.Working && !d.After(today)
		}
		if id := firstDraft[ds]; id != "" {
			day.Inbox = "/inbox#entry-" + id
		}
		if day.Empty {
			out.Totals.Empty++
		}
		tTarget += target
		out.Days = append(out.Days, day)
	}
	out.Totals.Target, out.Totals.Dictated, out.Totals.Draft, out.Totals.Approved = hours(tTarget), hours(tDict), hours(tDraft), hours(tAppr)
	return out, nil
}
