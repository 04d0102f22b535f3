package draft

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"dictum/internal/billing"
	"dictum/internal/utbms"
)

const maxNarrativeRunes = 1000

// Validate checks a draft from any engine against the request and the firm's
// settings, and repairs it in place: invalid values are dropped to null/empty
// (or today for the date) with a warning. After Validate:
//   - Matter is nil or the id of one of req.Matters;
//   - Date is YYYY-MM-DD, not after today, not before today - look-back;
//   - Minutes is 0 (warned "no duration heard") or in (0, 24h], a multiple of
//     the increment, and Hours matches it;
//   - Activity is "" (warned) or a UTBMS activity code;
//   - Task is nil or a litigation task code and the matter is a litigation matter;
//   - Narrative is one clean line, sentence case, ending in a period;
//   - Confidence is in [0, 1]; Warnings is non-nil and has no duplicates.
//
// Validate is idempotent.
func Validate(d *Draft, req Request, cfg Config) {
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	warn := func(format string, a ...any) { d.Warnings = append(d.Warnings, fmt.Sprintf(format, a...)) }
	today := civil(req.Today)

	// matter
	var matter *Matter
	if d.Matter != nil {
		for i := range req.Matters {
			if req.Matters[i].ID == *d.Matter {
				matter = &req.Matters[i]
				break
			}
		}
		if matter == nil {
			warn("matter %q is not an open matter; pick the matter", clip(*d.Matter, 40))
			d.Matter = nil
		} else {
			d.Matter = strPtr(matter.ID)
		}
	}

	// date
	day, err := time.Parse(time.DateOnly, d.Date)
	switch {
	case err != nil:
		if d.Date != "" {
			warn("date %q is not a date; set to today", clip(d.Date, 20))
		}
		day = today
	case day.After(today):
		warn("date %s is in the future; set to today", d.Date)
		day = today
	case day.Before(today.AddDate(0, 0, -cfg.lookback())):
		warn("date %s is more than %d days ago; set to today", d.Date, cfg.lookback())
		day = today
	}
	d.Date = day.Format(time.DateOnly)

	// hours
	inc := cfg.increment()
	minutes := d.Minutes
	if minutes <= 0 || minutes%inc != 0 || minutesToHours(minutes) != d.Hours {
		minutes = 0
		h := d.Hours
		switch {
		case math.IsNaN(h) || math.IsInf(h, 0) || h < 0:
			warn("hours %v not valid", clip(fmt.Sprint(h), 20))
		case h > 24:
			warn("hours %s more than 24; dropped", formatHours(h))
		case h > 0:
			minutes = billing.BilledMinutes(int(math.Round(h*3600)), inc)
		}
	}
	if minutes > 24*60 {
		warn("hours %s more than 24; dropped", formatHours(minutesToHours(minutes)))
		minutes = 0
	}
	d.Minutes = minutes
	d.Hours = minutesToHours(minutes)
	if minutes == 0 && !has(d.Warnings, WarnNoDuration) {
		warn(WarnNoDuration)
	}

	// activity and task
	if d.Activity != "" && !utbms.ValidActivity(d.Activity) {
		warn("activity %q is not a UTBMS activity code", clip(d.Activity, 12))
		d.Activity = ""
	}
	if d.Activity == "" && !has(d.Warnings, WarnNoActivity) {
		warn(WarnNoActivity)
	}
	if d.Task != nil {
		switch {
		case !utbms.ValidTask(*d.Task):
			warn("task %q is not a UTBMS litigation task code", clip(*d.Task, 12))
			d.Task = nil
		case matter == nil:
			d.Task = nil
		case !matter.Litigation:
			warn("task %s dropped: matter %s is not a litigation matter", *d.Task, matter.ID)
			d.Task = nil
		default:
			d.Task = strPtr(*d.Task)
		}
	}

	// narrative
	d.Narrative = cleanNarrative(d.Narrative)
	if d.Narrative == "" && !has(d.Warnings, WarnNoNarrative) {
		warn(WarnNoNarrative)
	}

	// confidence
	c := d.Confidence
	if math.IsNaN(c) || c < 0 {
		c = 0
	}
	if c > 1 {
		c = 1
	}
	d.Confidence = math.Round(c*100) / 100

	// warnings: no empties, no duplicates, bounded
	out := d.Warnings[:0]
	seen := map[string]bool{}
	for _, w := range d.Warnings {
		w = clip(strings.TrimSpace(w), 200)
		if w == "" || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	d.Warnings = out
}

func has(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// clip shortens s to n runes and removes control characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// cleanNarrative makes one line: no control characters, single spaces,
// at most maxNarrativeRunes, sentence case, final period.
func cleanNarrative(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxNarrativeRunes {
		s = string([]rune(s)[:maxNarrativeRunes])
		s = strings.TrimSpace(s)
	}
	s = strings.TrimLeft(s, ".,;: ")
	return sentenceCase(s)
}
