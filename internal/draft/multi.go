package draft

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A whole day in one dictation: the transcript is cut into parts at spoken
// boundaries and every part is drafted by the configured engine.
//
// Decisions (tested in multi_test.go and measured by TestEvalMulti):
//   - A part starts at a spoken boundary: a new sentence, "then", "also",
//     "next", "after that", "and then", or "and"/"plus" followed by a new
//     duration. A part with no duration of its own is not an entry: it joins
//     the entry before it (or, when it opens the dictation or starts with a
//     boundary word, the entry after it).
//   - A part that starts with a correction ("No, make that two and a
//     quarter") belongs to the entry before it: a corrected duration is never
//     split into two entries.
//   - A date said in one entry applies to the entries after it until another
//     date is said ("Yesterday: ... then ... then ...").
//   - An entry that names no matter continues the matter of the entry before
//     it (with a warning saying so); an entry that names a matter the firm
//     does not have (a capitalised name or "the X file") gets none.

// Part is one entry of a dictation: the draft and the span of the transcript
// it came from (byte offsets into the transcript as drafted).
type Part struct {
	Draft
	Span  string `json:"span"`
	Start int    `json:"-"`
	End   int    `json:"-"`
	text  string // the part without its boundary words: what is drafted
}

// Warnings of the multi-entry drafter.
const (
	WarnMatterCarried = "matter carried over from the entry before; check it"
)

// boundary words that start a new part at the start of a clause.
var boundaryWords = setOf(`then also next afterwards`)

// words after "next" that make it a date or an adjective, not a boundary.
var nextNotBoundary = setOf(`week month year day time monday tuesday wednesday thursday friday saturday sunday
morning afternoon step steps steps round hearing meeting call`)

// words after which a capitalised word is still no name.
var commonCaps = setOf(`i i'm i've i'd then also next and after afterwards yesterday today monday tuesday wednesday
thursday friday saturday sunday january february march april may june july august september october november december
no make sorry actually okay ok so um uh`)

// wordsBoundary reports whether toks[i] starts a boundary phrase and how many
// words of it to drop from the text that is drafted.
func boundaryAt(toks []token, i int) (bool, int) {
	clauseStart := i == 0 || toks[i-1].brk
	w := toks[i].w
	switch {
	case w == "and" && i+1 < len(toks) && (toks[i+1].w == "then" || toks[i+1].w == "also" || toks[i+1].w == "afterwards"):
		return true, 2
	case w == "and" && i+2 < len(toks) && toks[i+1].w == "after" && toks[i+2].w == "that":
		return true, 3
	case w == "after" && i+1 < len(toks) && toks[i+1].w == "that" && clauseStart:
		return true, 2
	case w == "next" && clauseStart && (i+1 >= len(toks) || !nextNotBoundary[toks[i+1].w]):
		return true, 1
	case boundaryWords[w] && w != "next" && clauseStart:
		return true, 1
	}
	return false, 0
}

// cutPart is one piece of the transcript before grouping.
type cutPart struct {
	a, b       int  // token range
	drop       int  // boundary words at its start
	boundary   bool // starts with a boundary word
	correction bool // starts with a correction
	dur        bool // holds a duration
}

// splitParts cuts text into the token ranges of its entries. toks must be
// tokenize(text) with durations marked (findDurations).
func splitParts(toks []token) [][3]int {
	if len(toks) == 0 {
		return nil
	}
	var cuts []cutPart
	cur := cutPart{a: 0}
	if ok, n := boundaryAt(toks, 0); ok {
		cur.boundary, cur.drop = true, n
	}
	for i := 1; i < len(toks); i++ {
		ok, n := boundaryAt(toks, i)
		andDur := (toks[i].w == "and" || toks[i].w == "plus") && toks[i].used == useNone && durationFollows(toks, i+1)
		if !(toks[i].first || ok || andDur) {
			continue
		}
		cur.b = i
		cuts = append(cuts, cur)
		cur = cutPart{a: i}
		if ok {
			cur.boundary, cur.drop = true, n
		} else if andDur {
			cur.boundary, cur.drop = true, 1
		}
	}
	cur.b = len(toks)
	cuts = append(cuts, cur)
	for k := range cuts {
		c := &cuts[k]
		for i := c.a; i < c.b; i++ {
			if toks[i].used == useDuration {
				c.dur = true
				break
			}
		}
		j := c.a + c.drop
		for j < c.b && fillers[toks[j].w] {
			j++
		}
		if j < c.b {
			w := toks[j].w
			c.correction = correctionWords[w] && w != "no" || (w == "no" && !(j+1 < c.b && toks[j+1].w == "charge")) ||
				(w == "make" && j+1 < c.b && (toks[j+1].w == "that" || toks[j+1].w == "it")) ||
				(w == "i" && j+1 < c.b && toks[j+1].w == "mean")
		}
	}
	// group: a new group starts at a part with a duration when the group has
	// one, or at a boundary; corrections always stay.
	type group struct {
		a, b, drop int
		dur        bool
	}
	var groups []group
	for _, c := range cuts {
		if len(groups) == 0 {
			groups = append(groups, group{a: c.a, b: c.b, drop: c.drop, dur: c.dur})
			continue
		}
		g := &groups[len(groups)-1]
		switch {
		case c.correction:
			g.b, g.dur = c.b, g.dur || c.dur
		case c.boundary, c.dur && g.dur:
			groups = append(groups, group{a: c.a, b: c.b, drop: c.drop, dur: c.dur})
		default:
			g.b, g.dur = c.b, g.dur || c.dur
		}
	}
	// a group without a duration joins the one before it (the first joins the next)
	var out []group
	for k, g := range groups {
		switch {
		case g.dur || len(groups) == 1:
			out = append(out, g)
		case len(out) > 0:
			out[len(out)-1].b = g.b
		case k+1 < len(groups):
			groups[k+1].a, groups[k+1].drop = g.a, g.drop
		default:
			out = append(out, g)
		}
	}
	res := make([][3]int, len(out))
	for k, g := range out {
		res[k] = [3]int{g.a, g.b, g.drop}
	}
	return res
}

// durationFollows reports whether a new duration starts at toks[i], after
// at most three fillers or framing words ("and, uh, another thirty minutes").
func durationFollows(toks []token, i int) bool {
	for n := 0; i < len(toks) && n <= 3; i, n = i+1, n+1 {
		if startsDuration(toks, i) {
			return true
		}
		if toks[i].used != useNone || !(fillers[toks[i].w] || durationFrame[toks[i].w] || toks[i].w == "then") {
			return false
		}
	}
	return false
}

// startsDuration reports whether a duration mention starts at toks[i].
func startsDuration(toks []token, i int) bool {
	return toks[i].used == useDuration && (i == 0 || toks[i-1].used != useDuration)
}

// SplitText cuts a transcript into the spans of its entries, in spoken
// order. A transcript of one entry gives one span, the whole text.
func SplitText(text string) []Part {
	text = cleanText(text)
	toks := tokenize(text)
	findDurations(toks)
	ranges := splitParts(toks)
	parts := make([]Part, 0, len(ranges))
	for k, r := range ranges {
		start := toks[r[0]].off
		end := len(text)
		if k+1 < len(ranges) {
			end = toks[ranges[k+1][0]].off
		}
		dstart := start
		if r[2] > 0 && r[0]+r[2] < r[1] {
			dstart = toks[r[0]+r[2]].off
		}
		parts = append(parts, Part{Span: strings.TrimSpace(text[start:end]), Start: start, End: end, text: strings.TrimSpace(text[dstart:end])})
	}
	if len(parts) == 0 {
		parts = append(parts, Part{Span: strings.TrimSpace(text), End: len(text), text: text})
	}
	return parts
}

func cleanText(text string) string {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, " ")
	}
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return text
}

// DraftMulti drafts every entry of a dictation with d, in spoken order. A
// dictation of one entry gives exactly d.Draft's answer for the whole text.
func DraftMulti(ctx context.Context, d Drafter, req Request, cfg Config) ([]Part, error) {
	parts := SplitText(req.Text)
	if len(parts) == 1 {
		dr, err := d.Draft(ctx, req)
		if err != nil {
			return nil, err
		}
		aliasFill(&dr, req, buildIndex(req.Matters), cfg)
		parts[0].Draft = dr
		return parts, nil
	}
	today := civil(req.Today)
	idx := buildIndex(req.Matters)
	carryDate := ""
	var carryMatter *string
	for k := range parts {
		text := parts[k].text
		sub := req
		sub.Text = text
		dr, err := d.Draft(ctx, sub)
		if err != nil {
			return nil, fmt.Errorf("entry %d of %d: %w", k+1, len(parts), err)
		}
		toks := tokenize(text)
		markNonBillable(toks)
		dres := findDate(toks, today)
		if dres.explicit {
			carryDate = dr.Date
		} else if carryDate != "" {
			dr.Date = carryDate
		}
		findDurations(toks)
		mr := findMatter(toks, idx)
		aliasFill(&dr, sub, idx, cfg)
		switch {
		case dr.Matter != nil:
			carryMatter = dr.Matter
		case mr.idx < 0 && mr.warning == warnNoMatter && carryMatter != nil && !namesOtherMatter(toks):
			dr.Matter = strPtr(*carryMatter)
			dr.Warnings = append(without(dr.Warnings, mr.warning), WarnMatterCarried)
		default:
			carryMatter = nil // an unknown or unclear matter ends the run
		}
		Validate(&dr, sub, cfg)
		parts[k].Draft = dr
	}
	return parts, nil
}

// aliasFill gives a draft without a matter the matter of an alias said in its
// text (engines other than rules do not read aliases themselves). A matter the
// text names explicitly is never replaced.
func aliasFill(d *Draft, req Request, idx []matterIndex, cfg Config) {
	if len(req.Aliases) == 0 {
		return
	}
	toks := tokenize(cleanText(req.Text))
	markNonBillable(toks)
	findDate(toks, civil(req.Today))
	findDurations(toks)
	if a, ok := findActivityAlias(toks, orderAliases(req.Aliases)); ok && d.Activity != a.Activity {
		d.Activity = a.Activity
		d.Warnings = append(d.Warnings, aliasNote(a))
		Validate(d, req, cfg)
	}
	if d.Matter != nil {
		return
	}
	mr := findMatter(toks, idx)
	if mr.idx >= 0 || !(mr.warning == warnNoMatter || strings.HasPrefix(mr.warning, "matter not certain")) {
		return
	}
	a, mi, _, ok := findAlias(toks, orderAliases(req.Aliases), idx)
	if !ok {
		return
	}
	d.Matter = strPtr(idx[mi].m.ID)
	d.Warnings = append(without(d.Warnings, mr.warning), aliasNote(a))
	Validate(d, req, cfg)
}

// namesOtherMatter reports whether unused words look like the name of a matter
// the firm does not have: a capitalised word inside a sentence, or "the X
// file/matter/case/deal".
func namesOtherMatter(toks []token) bool {
	firstContent := true
	for i, t := range toks {
		if t.used != useNone || fillers[t.w] || commonCaps[t.w] && !t.cap {
			continue
		}
		if t.cap && !commonCaps[t.w] {
			if firstContent || (i > 0 && matterLead[toks[i-1].w]) || (i > 1 && toks[i-1].w == "the" && matterLead[toks[i-2].w]) {
				return true
			}
		}
		firstContent = false
		if (t.w == "file" || t.w == "matter" || t.w == "case" || t.w == "deal" || t.w == "estate") && i >= 2 && toks[i-2].w == "the" {
			return true
		}
	}
	return false
}

// words before a matter's name ("on Henderson", "for the Henderson estate")
var matterLead = setOf(`on for re regarding in`)

func without(ws []string, w string) []string {
	out := make([]string, 0, len(ws))
	for _, x := range ws {
		if x != w {
			out = append(out, x)
		}
	}
	return out
}
