package draft

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

var fillers = setOf(`um umm uh uhh uhm er erm ah ahh hmm hm mm mhm okay ok`)

// words that only frame a duration ("spent about 50 minutes", "for two hours")
var durationFrame = setOf(`for about approximately approx roughly around almost nearly some spent spend
spending total maybe like just over under another additional of a`)

// words that only frame a matter reference ("in the Delgado matter")
var matterFrame = setOf(`on in for re regarding under of the matter case file`)

var matterTail = setOf(`matter case file the v vs versus`)

// joiners dropped at the start or end of a clause once other words are gone
var leadingJunk = setOf(`and then so also on for in at about to re regarding with of the i`)
var trailingJunk = setOf(`and then so on for in at about to re regarding with of the a an i including`)

func isFillerAround(w string) bool {
	switch w {
	case "make", "that", "it", "i", "mean", "let", "me", "say", "or", "scratch", "strike",
		"correction", "rather", "sorry", "actually", "no", "wait", "oops", "was":
		return true
	}
	return false
}

var nonBillable = [][]string{
	{"no", "charge"}, {"n/c"}, {"non-billable"}, {"nonbillable"}, {"non", "billable"},
	{"not", "billable"}, {"don't", "bill"}, {"dont", "bill"}, {"do", "not", "bill"},
	{"no", "bill"}, {"write", "off"}, {"write", "it", "off"}, {"pro", "bono"}, {"courtesy", "only"},
	{"unbillable"}, {"not", "to", "be", "billed"}, {"don't", "charge"}, {"do", "not", "charge"},
}

// markNonBillable finds "no charge" and its kin, marks the words and reports them.
func markNonBillable(toks []token) bool {
	found := false
	for i := range toks {
		for _, p := range nonBillable {
			if phraseAt(toks, i, p) {
				found = true
				for k := range p {
					toks[i+k].used = useBillable
				}
			}
		}
	}
	return found
}

// markFillers marks hesitation words, a bare "I", "you know", and words that
// only frame a duration or date.
func markFillers(toks []token) {
	for i := range toks {
		if toks[i].used != useNone {
			continue
		}
		w := toks[i].w
		switch {
		case fillers[w]:
			toks[i].used = useFiller
		case (w == "then" || w == "afterwards") && i > 0 && toks[i-1].w == "and" && !toks[i-1].brk:
			toks[i].used = useFiller // "drafted it and then I filed it" -> "drafted it and filed it"
		case (w == "i" || w == "i've" || w == "i'm") && (i == 0 || toks[i-1].brk || toks[i-1].used != useNone):
			toks[i].used = useFiller // "Yesterday I had", not "what I drafted"
		case w == "you" && i+1 < len(toks) && toks[i+1].w == "know" && (toks[i+1].brk || toks[i].first || (i > 0 && toks[i-1].brk)):
			toks[i].used, toks[i+1].used = useFiller, useFiller
		case w == "like" && (toks[i].brk || (i > 0 && toks[i-1].brk)):
			toks[i].used = useFiller
		}
	}
	// frames around durations: walk left from each duration
	for i := range toks {
		if toks[i].used != useDuration || (i > 0 && toks[i-1].used == useDuration) {
			continue
		}
		for j := i - 1; j >= 0 && toks[j].used == useNone && !toks[j].brk && durationFrame[toks[j].w]; j-- {
			toks[j].used = useFiller
		}
	}
	// "two hours total", "an hour in total", "forty minutes altogether"
	for i := 1; i < len(toks); i++ {
		if toks[i-1].used != useDuration || toks[i].used != useNone || toks[i-1].brk {
			continue
		}
		switch {
		case toks[i].w == "total" || toks[i].w == "altogether" || toks[i].w == "combined" || toks[i].w == "overall":
			toks[i].used = useFiller
		case toks[i].w == "in" && i+1 < len(toks) && toks[i+1].w == "total" && !toks[i].brk:
			toks[i].used, toks[i+1].used = useFiller, useFiller
		case toks[i].w == "all" && i+1 < len(toks) && toks[i+1].w == "told" && !toks[i].brk:
			toks[i].used, toks[i+1].used = useFiller, useFiller
		}
	}
	// "(for) two hours on Smith v. Jones": a preposition between a duration and a matter
	for i := 1; i+1 < len(toks); i++ {
		if toks[i].used == useNone && (toks[i].w == "on" || toks[i].w == "for" || toks[i].w == "in") &&
			toks[i-1].used == useDuration && !toks[i-1].brk {
			toks[i].used = useFiller
		}
	}
}

// markMatterSpans removes matter references that frame the entry
// ("Whitfield estate,", "in the Delgado matter", "on Smith versus Jones")
// and keeps names used as the object of the work ("call with Maria Alvarez").
func markMatterSpans(toks []token, spans [][2]int, nameKeys, capKeys map[string]bool) {
	grow := func(a, b int, keys map[string]bool) (int, int) {
		for a > 0 && !toks[a-1].brk && (toks[a-1].used == useNone || toks[a-1].used == useMatter) &&
			(keys[key(toks[a-1].w)] || toks[a-1].w == "v" || toks[a-1].w == "vs" || toks[a-1].w == "versus") {
			a--
		}
		for b < len(toks) && !toks[b-1].brk && (toks[b].used == useNone || toks[b].used == useMatter) &&
			(keys[key(toks[b].w)] || matterTail[toks[b].w]) {
			b++
		}
		return a, b
	}
	for _, sp := range spans {
		a, b := sp[0], sp[1]
		if a < 0 || b > len(toks) || a >= b {
			continue
		}
		// grow over the rest of the caption or name within the clause; the
		// descriptive (lower-case) words of a matter name only when they
		// fill the clause ("Thompson equitable distribution,"), not when the
		// clause goes on ("Greenway zoning appeal hearing")
		a2, b2 := grow(a, b, nameKeys)
		if toks[b2-1].brk || b2 == len(toks) || toks[b2].used != useNone {
			a, b = a2, b2
		} else {
			a, b = grow(a, b, capKeys)
		}
		// "matter 2026-0201", "matter number 2026-0201"
		for a > 0 && !toks[a-1].brk && (toks[a-1].w == "matter" || toks[a-1].w == "number" || toks[a-1].w == "no") {
			a--
		}
		clauseStart := a == 0 || toks[a-1].brk || toks[a-1].used != useNone
		clauseEnd := toks[b-1].brk || b == len(toks)
		framed := false
		k := a - 1
		for k >= 0 && !toks[k].brk && toks[k].used == useNone && matterFrame[toks[k].w] {
			k--
			framed = true
		}
		// a framed reference ends its noun phrase: "for the bakery name" is not one
		endOK := clauseEnd || toks[b].used != useNone || isPreposition(toks[b].w) || verbs[toks[b].w].act != ""
		// "voicemail for Keisha Thompson": the name is the recipient
		recipient := k >= 0 && verbs[toks[k].w].act == actComm
		switch {
		case framed && endOK && !recipient:
			a = k + 1
		case clauseStart:
		case clauseEnd && (toks[a-1].w == "with" || toks[a-1].used == useNone):
			// the object of the work ("call with Keisha", "emailed Daniel Smith"): keep
			continue
		default:
			continue
		}
		for k := a; k < b; k++ {
			if toks[k].used == useNone || toks[k].used == useMatter {
				toks[k].used = useMatter
			}
		}
	}
}

type nounLead struct {
	words []string
	repl  string
	act   string // only for drafts of this activity, when set
}

// leading noun phrases rewritten to a past-tense verb
var nounLeads = []nounLead{
	{[]string{"had", "a", "phone", "call", "with"}, "Conferred by telephone with", ""},
	{[]string{"had", "a", "call", "with"}, "Conferred by telephone with", ""},
	{[]string{"had", "a", "meeting", "with"}, "Met with", ""},
	{[]string{"had", "a", "conference", "with"}, "Conferred with", ""},
	{[]string{"telephone", "conference", "with"}, "Conferred by telephone with", ""},
	{[]string{"phone", "conference", "with"}, "Conferred by telephone with", ""},
	{[]string{"conference", "call", "with"}, "Conferred by telephone with", ""},
	{[]string{"telephone", "call", "with"}, "Conferred by telephone with", ""},
	{[]string{"phone", "call", "with"}, "Conferred by telephone with", ""},
	{[]string{"call", "with"}, "Conferred by telephone with", ""},
	{[]string{"call", "to"}, "Called", ""},
	{[]string{"phone", "call"}, "Conferred by telephone", ""},
	{[]string{"telephone", "call"}, "Conferred by telephone", ""},
	{[]string{"telephone", "conference"}, "Conferred by telephone", ""},
	{[]string{"conference", "call"}, "Conferred by telephone", ""},
	{[]string{"internal", "meeting", "with"}, "Met with", ""},
	{[]string{"conference", "with"}, "Conferred with", ""},
	{[]string{"meeting", "with"}, "Met with", ""},
	{[]string{"email", "to"}, "Emailed", ""},
	{[]string{"e-mail", "to"}, "Emailed", ""},
	{[]string{"emails", "with"}, "Exchanged emails with", ""},
	{[]string{"email", "exchange", "with"}, "Exchanged emails with", ""},
	{[]string{"text", "messages", "with"}, "Exchanged text messages with", ""},
	{[]string{"texts", "with"}, "Exchanged text messages with", ""},
	{[]string{"letter", "to"}, "Wrote letter to", ""},
	{[]string{"phone", "with"}, "Conferred by telephone with", ""},
	{[]string{"text", "exchange", "with"}, "Exchanged text messages with", ""},
	{[]string{"court", "appearance"}, "Appeared in court", ""},
	{[]string{"voicemail", "for"}, "Left voicemail for", ""},
	{[]string{"voicemail"}, "Left voicemail", ""},
	{[]string{"research", "on"}, "Researched", ""},
	{[]string{"research", "into"}, "Researched", ""},
	{[]string{"research", "regarding"}, "Researched", ""},
	{[]string{"review", "of"}, "Reviewed", ""},
	{[]string{"draft", "of"}, "Drafted", ""},
	{[]string{"revisions", "to"}, "Revised", ""},
	{[]string{"deposition", "of"}, "Attended deposition of", "A109"},
	{[]string{"court", "hearing"}, "Attended court hearing", "A109"},
	{[]string{"status", "conference"}, "Attended status conference", "A109"},
	{[]string{"pretrial", "conference"}, "Attended pretrial conference", "A109"},
	{[]string{"scheduling", "conference"}, "Attended scheduling conference", "A109"},
	{[]string{"settlement", "conference"}, "Attended settlement conference", "A109"},
	{[]string{"hearing"}, "Attended hearing", "A109"},
	{[]string{"mediation"}, "Attended mediation", "A109"},
	{[]string{"trial"}, "Attended trial", "A109"},
}

// buildNarrative joins the words nothing consumed into a billing line.
func buildNarrative(toks []token, activity string) string {
	type clause struct{ words []int }
	var clauses []clause
	cur := clause{}
	for i := range toks {
		if toks[i].used == useNone {
			cur.words = append(cur.words, i)
		}
		if toks[i].brk || i == len(toks)-1 {
			if len(cur.words) > 0 {
				clauses = append(clauses, cur)
			}
			cur = clause{}
		}
	}
	var parts []string
	for _, c := range clauses {
		ws := c.words
		for len(ws) > 0 && leadingJunk[toks[ws[0]].w] {
			ws = ws[1:]
		}
		for len(ws) > 0 && trailingJunk[toks[ws[len(ws)-1]].w] {
			ws = ws[:len(ws)-1]
		}
		if len(ws) == 0 {
			continue
		}
		out := make([]string, 0, len(ws)+2)
		start := 0
		if len(parts) == 0 {
			// leading noun phrase -> verb
			for _, nl := range nounLeads {
				if len(nl.words) > len(ws) || (nl.act != "" && nl.act != activity) {
					continue
				}
				ok := true
				for k, w := range nl.words {
					if toks[ws[k]].w != w {
						ok = false
						break
					}
				}
				if ok {
					out = append(out, nl.repl)
					start = len(nl.words)
					break
				}
			}
		}
		converted := false
		for k := start; k < len(ws); k++ {
			t := toks[ws[k]]
			word := t.raw
			if k == start && start == 0 {
				if v, ok := verbs[t.w]; ok && !appearanceNouns[t.w] && isVerbForm(t.w) {
					word = v.past
					converted = true
					// "emailed to X" -> "emailed X"
					if (t.w == "email" || t.w == "e-mail") && k+1 < len(ws) && toks[ws[k+1]].w == "to" {
						out = append(out, word)
						k++
						continue
					}
				}
			} else if converted && k >= 2 && toks[ws[k-1]].w == "and" {
				if v, ok := verbs[t.w]; ok && isVerbForm(t.w) && (k-2 == start || baseForm(t.w)) {
					word = v.past // "organize and index" -> "organized and indexed"
				}
			}
			out = append(out, word)
		}
		parts = append(parts, strings.Join(out, " "))
	}
	s := strings.Join(parts, ", ")
	return sentenceCase(s)
}

// baseForm reports whether w is the base form of a known verb ("wait", not
// "waiting" or "review" used as a noun after a past verb is rare enough).
func baseForm(w string) bool {
	v, ok := verbs[w]
	return ok && w != v.past && !strings.HasSuffix(w, "ing") && !strings.HasSuffix(w, "s")
}

// isVerbForm excludes words that are nouns more often than verbs at the start of
// a clause.
func isVerbForm(w string) bool {
	switch w {
	case "letter", "letters", "conference", "conferences", "correspondence", "consultation",
		"voicemail", "zoom", "messages", "texts", "emails", "calls", "meeting", "filing", "filings", "draft":
		return w == "draft"
	}
	return true
}

func sentenceCase(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, " ,;:")
	if s == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[size:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
