package draft

// Spoken durations. Amounts are kept in seconds (integers) until they are
// rounded up to the billing increment.

type unit uint8

const (
	unitNone unit = iota
	unitHour
	unitMinute
)

var hourWords = map[string]bool{"hour": true, "hours": true, "hr": true, "hrs": true, "h": true}
var minuteWords = map[string]bool{"minute": true, "minutes": true, "min": true, "mins": true}

// correction markers: what follows replaces the duration said before.
var correctionWords = map[string]bool{
	"no": true, "actually": true, "sorry": true, "correction": true, "rather": true,
	"wait": true, "oops": true, "scratch": true, "strike": true,
}

// words before a bare "hour" that still mean one hour ("about hour and a half")
var bareHourLead = setOf(`about approximately roughly around almost nearly spent for just over`)

type durMention struct {
	start, end int // token range [start, end)
	secs       int
	unit       unit
}

// unitAt reports the unit word at toks[i], skipping "an"/"a"/"of an" before it
// when allowArticle is set ("half an hour", "quarter of an hour").
func unitAt(toks []token, i int, allowArticle bool) (unit, int) {
	j := i
	if allowArticle {
		if j < len(toks) && toks[j].w == "of" && !toks[j].brk {
			j++
		}
		if j < len(toks) && (toks[j].w == "an" || toks[j].w == "a") && !toks[j].brk {
			j++
		}
	}
	if j >= len(toks) || toks[j].used != useNone {
		return unitNone, 0
	}
	switch {
	case hourWords[toks[j].w]:
		return unitHour, j - i + 1
	case minuteWords[toks[j].w]:
		if j != i && toks[i].w == "of" { // "quarter of a minute" is not billing speech
			return unitNone, 0
		}
		return unitMinute, j - i + 1
	}
	return unitNone, 0
}

// durationAt parses one duration starting at toks[i]. prevUnit, when set, is
// used for a bare amount (after a spoken correction).
func durationAt(toks []token, i int, prevUnit unit) (durMention, bool) {
	q, ok := quantityAt(toks, i)
	if !ok {
		// "hour and a half on Patel": a bare "hour" opening a clause is one hour
		if toks[i].used != useNone || toks[i].w != "hour" ||
			(i > 0 && !toks[i-1].brk && toks[i-1].used != useDuration && !bareHourLead[toks[i-1].w]) {
			return durMention{}, false
		}
		q = quantity{v: 100}
	}
	j := i + q.n
	u, un := unitNone, 0
	if q.n == 0 || !toks[j-1].brk {
		u, un = unitAt(toks, j, q.frac || q.tenths)
	}
	if u == unitNone {
		switch {
		case q.decimal || q.tenths:
			u = unitHour
		case prevUnit != unitNone && q.v > 0 && toks[i].w != "a" && toks[i].w != "an":
			u = prevUnit
		default:
			return durMention{}, false
		}
	}
	j += un
	m := durMention{start: i, unit: u}
	if u == unitHour {
		m.secs = q.v * 36
	} else {
		m.secs = q.v * 60 / 100
		if q.tenths {
			m.secs = q.v * 36
		}
	}
	// after an hour amount: "and a half", "fifteen minutes", "and fifteen", "thirty"
	if u == unitHour && un > 0 && !toks[j-1].brk && q.v%100 == 0 && !q.decimal {
		k := j
		if k < len(toks) && toks[k].w == "and" && toks[k].used == useNone && !toks[k].brk {
			k++
		}
		if k+1 < len(toks) && toks[k].used == useNone && toks[k+1].used == useNone &&
			(toks[k].w == "a" || toks[k].w == "one") && toks[k+1].w == "half" && k > j {
			m.secs += 1800
			j = k + 2
		} else if k+1 < len(toks) && toks[k].used == useNone && toks[k+1].used == useNone &&
			toks[k].w == "a" && toks[k+1].w == "quarter" && k > j {
			m.secs += 900
			j = k + 2
		} else if mins, n, ok := intAt(toks, k); ok && mins > 0 && mins < 60 {
			mu, mn := unitAt(toks, k+n, false)
			if mu == unitMinute || mu == unitNone {
				// "one hour fifteen minutes", "two hours thirty"; not "two hours 2026"
				m.secs += mins * 60
				j = k + n + mn
			}
		}
	}
	m.end = j
	return m, true
}

// findDurations returns the duration the dictation bills, in seconds, and the
// token ranges that spoke it. A spoken correction replaces the amount said
// before it; several durations without a correction are added up (warned).
func findDurations(toks []token) (secs int, found bool, summed bool) {
	var mentions []durMention
	correctionSince := false
	lastMarker := -10
	for i := 0; i < len(toks); i++ {
		if toks[i].used != useNone {
			continue
		}
		w := toks[i].w
		if correctionWords[w] || (w == "i" && i+1 < len(toks) && toks[i+1].w == "mean") ||
			(w == "make" && i+1 < len(toks) && (toks[i+1].w == "that" || toks[i+1].w == "it")) {
			if len(mentions) > 0 {
				correctionSince = true
				lastMarker = i
				if w == "i" || w == "make" {
					lastMarker = i + 1
				}
			}
			continue
		}
		var prev unit
		if correctionSince && len(mentions) > 0 && i-lastMarker <= 2 {
			prev = mentions[len(mentions)-1].unit
		}
		m, ok := durationAt(toks, i, prev)
		if !ok {
			continue
		}
		if correctionSince && len(mentions) > 0 && i-lastMarker <= 6 {
			last := mentions[len(mentions)-1]
			for k := last.end; k < m.start; k++ {
				if toks[k].used == useNone && (correctionWords[toks[k].w] || isFillerAround(toks[k].w)) {
					toks[k].used = useFiller
				}
			}
			mentions = mentions[:len(mentions)-1]
		}
		correctionSince = false
		mentions = append(mentions, m)
		for k := m.start; k < m.end; k++ {
			toks[k].used = useDuration
		}
		i = m.end - 1
	}
	for _, m := range mentions {
		secs += m.secs
	}
	return secs, len(mentions) > 0, len(mentions) > 1
}
