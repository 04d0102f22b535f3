package draft

import (
	"fmt"
	"strings"
	"time"
)

// timeZero is the reference day LearnPhrase resolves dates against (it only
// needs to know which words are dates).
var timeZero = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Alias is a phrase that names a matter for one lawyer ("the marina deal" ->
// M-1042) or, with scope "firm", for everyone. Aliases only fill a matter the
// dictation did not name: a matter said explicitly always wins, an alias
// pointing at a matter that is not open is ignored, and a lawyer's drafts only
// ever see that lawyer's own aliases and the firm's.
//
// An alias may instead name an activity ("went over" -> A104): it then sets the
// draft's activity whenever the phrase is said (the lawyer taught it).
type Alias struct {
	Phrase   string // normalised: lower-case words (see NormalizePhrase)
	Matter   string // matter id (a matter alias)
	Activity string // UTBMS activity code (an activity alias)
	Scope    string // "user" or "firm"
}

// Alias scopes.
const (
	ScopeUser = "user"
	ScopeFirm = "firm"
)

// Phrase limits.
const (
	MaxAliasWords = 6
	MaxAliasBytes = 80
)

// aliasNote is the warning that says why a draft has its matter.
func aliasNote(a Alias) string {
	if a.Activity != "" {
		if a.Scope == ScopeFirm {
			return fmt.Sprintf("activity from the firm's alias '%s'", a.Phrase)
		}
		return fmt.Sprintf("activity from your alias '%s'", a.Phrase)
	}
	if a.Scope == ScopeFirm {
		return fmt.Sprintf("matter from the firm's alias '%s'", a.Phrase)
	}
	return fmt.Sprintf("matter from your alias '%s'", a.Phrase)
}

// NormalizePhrase folds a phrase to the words an alias matches on: lower case,
// letters and digits only, a leading article dropped. It returns "" for a
// phrase with no word.
func NormalizePhrase(s string) string {
	var ws []string
	for f := range strings.FieldsSeq(s) {
		if k := key(f); k != "" {
			ws = append(ws, k)
		}
	}
	for len(ws) > 0 && (ws[0] == "the" || ws[0] == "a" || ws[0] == "an") {
		ws = ws[1:]
	}
	return strings.Join(ws, " ")
}

// CheckPhrase validates a normalised alias phrase.
func CheckPhrase(p string) error {
	ws := strings.Fields(p)
	switch {
	case len(ws) == 0:
		return fmt.Errorf("the phrase has no words")
	case len(ws) > MaxAliasWords:
		return fmt.Errorf("the phrase has %d words; at most %d", len(ws), MaxAliasWords)
	case len(p) > MaxAliasBytes:
		return fmt.Errorf("the phrase is longer than %d characters", MaxAliasBytes)
	case len(p) < 3:
		return fmt.Errorf("the phrase %q is too short to tell a matter", p)
	}
	content := 0
	for _, w := range ws {
		if !genericWords[w] && !aliasStop[w] {
			content++
		}
	}
	if content == 0 {
		return fmt.Errorf("the phrase %q has only common words", p)
	}
	return nil
}

// words that never make an alias on their own
var aliasStop = setOf(`the a an and or of on for in to with re regarding about file matter case deal client
this that my our his her their hour hours minute minutes call email meeting`)

// findAlias returns the first alias (the caller orders them: the lawyer's own
// before the firm's, longer phrases first) whose words stand unused in toks,
// and its token span. Aliases for matters not in ms are skipped.
func findAlias(toks []token, aliases []Alias, ms []matterIndex) (Alias, int, [2]int, bool) {
	if len(aliases) == 0 {
		return Alias{}, -1, [2]int{}, false
	}
	keys := make([]string, len(toks))
	for i := range toks {
		keys[i] = key(toks[i].w)
	}
	for _, a := range aliases {
		if a.Matter == "" {
			continue // an activity alias
		}
		mi := -1
		for j := range ms {
			if ms[j].m.ID == a.Matter {
				mi = j
				break
			}
		}
		if mi < 0 {
			continue // a closed or unknown matter: never
		}
		ws := strings.Fields(a.Phrase)
		if len(ws) == 0 {
			continue
		}
	next:
		for i := 0; i+len(ws) <= len(toks); i++ {
			for k, w := range ws {
				if keys[i+k] != w || toks[i+k].used != useNone || (k < len(ws)-1 && toks[i+k].brk) {
					continue next
				}
			}
			return a, mi, [2]int{i, i + len(ws)}, true
		}
	}
	return Alias{}, -1, [2]int{}, false
}

// findActivityAlias returns the first activity alias whose words stand unused in toks.
func findActivityAlias(toks []token, aliases []Alias) (Alias, bool) {
	for _, a := range aliases {
		if a.Activity == "" {
			continue
		}
		ws := strings.Fields(a.Phrase)
		if len(ws) == 0 {
			continue
		}
	next:
		for i := 0; i+len(ws) <= len(toks); i++ {
			for k, w := range ws {
				if key(toks[i+k].w) != w || toks[i+k].used != useNone || (k < len(ws)-1 && toks[i+k].brk) {
					continue next
				}
			}
			return a, true
		}
	}
	return Alias{}, false
}

// particles that belong to the verb before them ("went over", "looked into")
var particles = setOf(`over through at into up out with on about`)

// LearnActivityPhrase finds the words that named the work, for a lawyer who corrected
// a draft's activity: the first verb of the dictation after its duration, date and
// matter ("went over" in "point four on Patel, went over the lease"). "" when none.
func LearnActivityPhrase(text string) string {
	toks := tokenize(cleanText(text))
	markNonBillable(toks)
	findDate(toks, timeZero)
	findDurations(toks)
	markFillers(toks)
	for i, t := range toks {
		if t.used != useNone || (t.cap && !t.first) || leadingJunk[t.w] || matterFrame[t.w] || genericWords[key(t.w)] {
			continue
		}
		if t.cap && t.first && !verbLike(t.w) && !(i+1 < len(toks) && particles[toks[i+1].w]) {
			continue // a name opening the dictation ("Patel, went over ...")
		}
		p := t.raw
		if !t.brk && i+1 < len(toks) && particles[toks[i+1].w] && toks[i+1].used == useNone {
			p += " " + toks[i+1].raw
		} else if !verbLike(t.w) && !strings.HasSuffix(t.w, "ed") {
			return "" // not the work
		}
		p = NormalizePhrase(p)
		if CheckPhrase(p) != nil {
			return ""
		}
		return p
	}
	return ""
}

// orderAliases puts the lawyer's own aliases first, then the firm's, longer
// phrases before shorter ones within each.
func orderAliases(as []Alias) []Alias {
	out := make([]Alias, 0, len(as))
	for _, scope := range []string{ScopeUser, ScopeFirm} {
		start := len(out)
		for _, a := range as {
			if a.Scope == scope || (scope == ScopeUser && a.Scope == "") {
				out = append(out, a)
			}
		}
		part := out[start:]
		for i := 1; i < len(part); i++ {
			for j := i; j > 0 && len(strings.Fields(part[j].Phrase)) > len(strings.Fields(part[j-1].Phrase)); j-- {
				part[j], part[j-1] = part[j-1], part[j]
			}
		}
	}
	return out
}

// matterHeads are the nouns that end a spoken matter nickname ("the marina
// deal", "the Hendricks file").
var matterHeads = setOf(`deal file matter case project account transaction estate lawsuit litigation closing
purchase sale acquisition merger lease dispute appeal suit refinancing financing divorce custody trust`)

// LearnPhrase finds the phrase of text that named a matter, for a lawyer who
// corrected the draft's matter: "the marina deal" in "twenty minutes on the
// marina deal calling the broker", or a short opening clause ("Marina deal,
// point four ..."). It returns "" when no phrase can be told; explicit names of
// other open matters and durations, dates and verbs are never part of it.
func LearnPhrase(text string) string {
	toks := tokenize(cleanText(text))
	markNonBillable(toks)
	findDate(toks, timeZero)
	findDurations(toks)
	markFillers(toks)
	// "on|for|re|regarding|in|with (the) W.. HEAD"
	for i := range toks {
		if !matterHeads[toks[i].w] || toks[i].used != useNone {
			continue
		}
		j := i
		for j > 0 && i-j < MaxAliasWords-1 && toks[j-1].used == useNone && !toks[j-1].brk &&
			!matterLead[toks[j-1].w] && toks[j-1].w != "the" && !verbLike(toks[j-1].w) {
			j--
		}
		if j == i { // a bare head noun ("the file") names nothing
			continue
		}
		p := phraseOf(toks[j : i+1])
		if CheckPhrase(p) == nil {
			return p
		}
	}
	// an opening clause of at most four words with nothing else in it
	end := 0
	for end < len(toks) && !toks[end].brk {
		end++
	}
	if end < len(toks) && end > 0 && end <= 4 {
		for _, t := range toks[:end+1] {
			if t.used != useNone && t.used != useFiller || verbLike(t.w) {
				return ""
			}
		}
		p := phraseOf(toks[:end+1])
		if CheckPhrase(p) == nil {
			return p
		}
	}
	return ""
}

func phraseOf(ts []token) string {
	var ws []string
	for _, t := range ts {
		if t.used == useNone {
			ws = append(ws, t.raw)
		}
	}
	return NormalizePhrase(strings.Join(ws, " "))
}

// verbLike reports words that start the work, not a name.
func verbLike(w string) bool {
	if _, ok := verbs[w]; ok {
		return true
	}
	return strings.HasSuffix(w, "ing") && len(w) > 5
}

// PhraseNamesMatter reports whether a phrase names one of the matters (or
// several) by itself, as a dictation would.
func PhraseNamesMatter(phrase string, ms []Matter) bool {
	toks := tokenize(phrase)
	mr := findMatter(toks, buildIndex(ms))
	return mr.idx >= 0 || strings.HasPrefix(mr.warning, "several matters")
}
