package draft

import (
	"fmt"
	"strings"
	"time"
)

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

var months = map[string]time.Month{
	"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
	"apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
	"september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
	"december": 12, "dec": 12,
}

// dateResult is what the dictation said about the date.
type dateResult struct {
	date     time.Time
	explicit bool
	warning  string
}

type dateMention struct {
	start, end int
	date       time.Time
	ok         bool   // false: a date was said but it does not exist
	said       string // for warnings
}

// dayOrdinal parses "12th", "12", "twelfth", "twenty-first", "twenty first".
func dayOrdinal(toks []token, i int, needSuffix bool) (int, int, bool) {
	if i >= len(toks) || toks[i].used != useNone {
		return 0, 0, false
	}
	w := toks[i].w
	for _, suf := range []string{"st", "nd", "rd", "th"} {
		if d, ok := digitsInt(strings.TrimSuffix(w, suf)); ok && strings.HasSuffix(w, suf) && d >= 1 && d <= 31 {
			return d, 1, true
		}
	}
	if d, ok := ordinalWords[w]; ok {
		return d, 1, true
	}
	if a, b, ok := strings.Cut(w, "-"); ok {
		if t, ok1 := tens[a]; ok1 && t <= 30 {
			if u, ok2 := ordinalWords[b]; ok2 && u < 10 {
				return t + u, 1, true
			}
		}
	}
	if t, ok := tens[w]; ok && t <= 30 && !toks[i].brk && i+1 < len(toks) && toks[i+1].used == useNone {
		if u, ok := ordinalWords[toks[i+1].w]; ok && u < 10 {
			return t + u, 2, true
		}
	}
	if needSuffix {
		return 0, 0, false
	}
	if d, n, ok := intAt(toks, i); ok && d >= 1 && d <= 31 {
		return d, n, true
	}
	return 0, 0, false
}

func validDate(y int, m time.Month, d int) (time.Time, bool) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return t, t.Month() == m && t.Day() == d
}

// monthDay resolves a month and day without a year: this year, or last year
// when it would be in the future.
func monthDay(today time.Time, m time.Month, d int) (time.Time, bool) {
	y := today.Year()
	if m > today.Month() || (m == today.Month() && d > today.Day()) {
		y--
	}
	return validDate(y, m, d)
}

// yearAt reads an optional four-digit year ("2026") after a date.
func yearAt(toks []token, i int) (int, bool) {
	if i < len(toks) && toks[i].used == useNone && len(toks[i].w) == 4 {
		if y, ok := digitsInt(toks[i].w); ok && y >= 1990 && y <= 2100 {
			return y, true
		}
	}
	return 0, false
}

// numericDate parses 11/12, 11/12/2026, 11/12/26 and 2026-11-12.
func numericDate(w string, today time.Time) (time.Time, bool, bool) {
	if parts := strings.Split(w, "/"); len(parts) == 2 || len(parts) == 3 {
		m, ok1 := digitsInt(parts[0])
		d, ok2 := digitsInt(parts[1])
		if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > 31 || len(parts[0]) > 2 || len(parts[1]) > 2 {
			return time.Time{}, false, false
		}
		if len(parts) == 3 {
			y, ok := digitsInt(parts[2])
			if !ok || (len(parts[2]) != 2 && len(parts[2]) != 4) {
				return time.Time{}, false, false
			}
			if len(parts[2]) == 2 {
				y += 2000
			}
			t, valid := validDate(y, time.Month(m), d)
			return t, valid, true
		}
		t, valid := monthDay(today, time.Month(m), d)
		return t, valid, true
	}
	if len(w) == 10 && w[4] == '-' && w[7] == '-' {
		y, ok1 := digitsInt(w[:4])
		m, ok2 := digitsInt(w[5:7])
		d, ok3 := digitsInt(w[8:])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 {
			t, valid := validDate(y, time.Month(m), d)
			return t, valid, true
		}
	}
	return time.Time{}, false, false
}

// dateAt parses one date expression at toks[i].
func dateAt(toks []token, i int, today time.Time) (dateMention, bool) {
	w := toks[i].w
	free := func(j int) bool { return j < len(toks) && toks[j].used == useNone }
	next := func(j int) string {
		if free(j) {
			return toks[j].w
		}
		return ""
	}
	mk := func(end int, t time.Time, ok bool) (dateMention, bool) {
		return dateMention{start: i, end: end, date: t, ok: ok}, true
	}
	switch w {
	case "today", "tonight":
		return mk(i+1, today, true)
	case "earlier":
		if next(i+1) == "today" {
			return mk(i+2, today, true)
		}
	case "this":
		switch next(i + 1) {
		case "morning", "afternoon", "evening":
			return mk(i+2, today, true)
		}
		if wd, ok := weekdays[next(i+1)]; ok {
			back := (int(today.Weekday()) - int(wd) + 7) % 7
			return mk(i+2, today.AddDate(0, 0, -back), true)
		}
		if next(i+1) == "past" {
			if wd, ok := weekdays[next(i+2)]; ok {
				return mk(i+3, lastWeekday(today, wd), true)
			}
		}
	case "yesterday":
		end := i + 1
		switch next(i + 1) {
		case "morning", "afternoon", "evening":
			if !toks[i].brk {
				end++
			}
		}
		return mk(end, today.AddDate(0, 0, -1), true)
	case "last":
		if next(i+1) == "night" {
			return mk(i+2, today.AddDate(0, 0, -1), true)
		}
		if wd, ok := weekdays[next(i+1)]; ok {
			return mk(i+2, lastWeekday(today, wd), true)
		}
	case "the", "day":
		// "the day before yesterday", "day before yesterday"
		j := i
		if w == "the" {
			if next(i+1) != "day" {
				// "the 12th", "the 12th of November"
				if d, n, ok := dayOrdinal(toks, i+1, true); ok {
					end := i + 1 + n
					if next(end) == "of" {
						if m, ok := months[next(end+1)]; ok {
							end += 2
							if y, ok := yearAt(toks, end); ok {
								t, valid := validDate(y, m, d)
								return mk(end+1, t, valid)
							}
							t, valid := monthDay(today, m, d)
							return mk(end, t, valid)
						}
					}
					if toks[i+n].brk || !free(end) || isPreposition(next(end)) || months[next(end)] != 0 {
						t, valid := dayOfRecentMonth(today, d)
						return mk(end, t, valid)
					}
				}
				return dateMention{}, false
			}
			j++
		}
		if next(j+1) == "before" && next(j+2) == "yesterday" {
			return mk(j+3, today.AddDate(0, 0, -2), true)
		}
	}
	if wd, ok := weekdays[w]; ok {
		end := i + 1
		switch next(end) {
		case "morning", "afternoon", "evening", "night":
			if !toks[i].brk {
				end++
			}
		}
		return mk(end, lastWeekday(today, wd), true)
	}
	// "two days ago", "a week ago"
	if n, used, ok := intAt(toks, i); ok || w == "a" {
		if !ok {
			n, used = 1, 1
		}
		j := i + used
		switch {
		case (next(j) == "days" || next(j) == "day") && next(j+1) == "ago" && n >= 1 && n <= 366:
			return mk(j+2, today.AddDate(0, 0, -n), true)
		case (next(j) == "weeks" || next(j) == "week") && next(j+1) == "ago" && n >= 1 && n <= 52:
			return mk(j+2, today.AddDate(0, 0, -7*n), true)
		}
	}
	if m, ok := months[w]; ok && !toks[i].brk {
		if d, n, ok := dayOrdinal(toks, i+1, false); ok {
			end := i + 1 + n
			if !toks[end-1].brk {
				if y, ok := yearAt(toks, end); ok {
					t, valid := validDate(y, m, d)
					return mk(end+1, t, valid)
				}
			} else if y, ok := yearAt(toks, end); ok && (toks[end].brk || end+1 == len(toks)) {
				t, valid := validDate(y, m, d)
				return mk(end+1, t, valid)
			}
			t, valid := monthDay(today, m, d)
			return mk(end, t, valid)
		}
		if next(i+1) == "the" {
			if d, n, ok := dayOrdinal(toks, i+2, true); ok {
				t, valid := monthDay(today, m, d)
				return mk(i+2+n, t, valid)
			}
		}
	}
	// "12th of November", "12th November"
	if d, n, ok := dayOrdinal(toks, i, true); ok {
		end := i + n
		if next(end) == "of" {
			end++
		}
		if m, ok := months[next(end)]; ok && end > i+n-1 {
			t, valid := monthDay(today, m, d)
			return mk(end+1, t, valid)
		}
	}
	if strings.ContainsAny(w, "/-") {
		if t, valid, ok := numericDate(w, today); ok {
			return mk(i+1, t, valid)
		}
	}
	return dateMention{}, false
}

// lastWeekday is the most recent past occurrence of wd; said on that same
// weekday it is one week ago.
func lastWeekday(today time.Time, wd time.Weekday) time.Time {
	back := (int(today.Weekday()) - int(wd) + 7) % 7
	if back == 0 {
		back = 7
	}
	return today.AddDate(0, 0, -back)
}

// dayOfRecentMonth resolves "the 12th": this month if not after today, else
// last month.
func dayOfRecentMonth(today time.Time, d int) (time.Time, bool) {
	if d <= today.Day() {
		return validDate(today.Year(), today.Month(), d)
	}
	prev := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	return validDate(prev.Year(), prev.Month(), d)
}

func isPreposition(w string) bool {
	switch w {
	case "on", "in", "for", "re", "regarding", "with", "at", "to", "about", "and":
		return true
	}
	return false
}

// findDate resolves the work date. No date spoken means today. A date after a
// correction marker replaces the one before; other repeated dates warn.
func findDate(toks []token, today time.Time) dateResult {
	var mentions []dateMention
	correction := false
	for i := 0; i < len(toks); i++ {
		if toks[i].used != useNone {
			continue
		}
		if correctionWords[toks[i].w] || (toks[i].w == "mean" && i > 0 && toks[i-1].w == "i") {
			correction = len(mentions) > 0
			continue
		}
		if strings.HasSuffix(toks[i].w, "'s") { // "Monday's hearing" is not the work date
			continue
		}
		m, ok := dateAt(toks, i, today)
		if !ok {
			continue
		}
		// "on Monday", "on November 12th"
		if i > 0 && toks[i-1].used == useNone && !toks[i-1].brk && toks[i-1].w == "on" {
			m.start = i - 1
		}
		for k := m.start; k < m.end; k++ {
			toks[k].used = useDate
		}
		m.said = spanText(toks, i, m.end)
		if correction && len(mentions) > 0 {
			mentions[len(mentions)-1] = m
		} else {
			mentions = append(mentions, m)
		}
		correction = false
		i = m.end - 1
	}
	if len(mentions) == 0 {
		if v := vagueDate(toks); v != "" {
			return dateResult{date: today, warning: fmt.Sprintf("vague date %q heard; set to today", v)}
		}
		return dateResult{date: today}
	}
	m := mentions[0]
	res := dateResult{date: m.date, explicit: true}
	if !m.ok {
		return dateResult{date: today, warning: fmt.Sprintf("date %q does not exist; set to today", m.said)}
	}
	for _, o := range mentions[1:] {
		if o.ok && !o.date.Equal(m.date) {
			res.warning = fmt.Sprintf("several dates heard; used %s", m.date.Format(time.DateOnly))
			break
		}
	}
	return res
}

func spanText(toks []token, a, b int) string {
	var sb strings.Builder
	for k := a; k < b && k < len(toks); k++ {
		if k > a {
			sb.WriteByte(' ')
		}
		sb.WriteString(toks[k].raw)
	}
	return sb.String()
}

var vaguePhrases = [][]string{
	{"last", "week"}, {"this", "week"}, {"earlier", "this", "week"}, {"the", "other", "day"},
	{"last", "month"}, {"a", "few", "days", "ago"}, {"recently"},
}

// vagueDate finds a spoken time that names no day ("last week").
func vagueDate(toks []token) string {
	for i := range toks {
		for _, p := range vaguePhrases {
			if phraseAt(toks, i, p) {
				return strings.Join(p, " ")
			}
		}
	}
	return ""
}
