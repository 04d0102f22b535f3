package draft

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of the transcript.
type token struct {
	raw   string // the word as spoken, punctuation stripped at both ends
	w     string // lower case of raw
	brk   bool   // a clause break (, ; : . ? !) follows the word
	cap   bool   // raw starts with an upper-case letter
	first bool   // first word of a sentence
	used  uint8  // what consumed the word (see use* constants)
	off   int    // byte offset in the text of the field the word came from
}

const (
	useNone uint8 = iota
	useDuration
	useDate
	useMatter
	useFiller
	useBillable
)

// abbreviations whose trailing period is not a sentence break.
// ("Inc." and "Corp." usually end a name said at the end of a sentence, so
// they are not listed.)
var abbrev = map[string]bool{
	"v": true, "vs": true, "mr": true, "mrs": true, "ms": true, "dr": true, "st": true,
	"jr": true, "sr": true,
}

// name suffixes whose period ends a sentence only when a new sentence follows
var nameSuffix = setOf(`inc corp co ltd llc llp lp pc pllc plc jr sr esq bros no`)

// initialism reports dotted letters: "U.S", "N.A", "p.m".
func initialism(s string) bool {
	if len(s) < 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if (i%2 == 0) != letter || (i%2 == 1 && c != '.') {
			return false
		}
	}
	return len(s)%2 == 1
}

// sentenceFollows reports whether the word after an abbreviation's period starts a
// new sentence: the end of the text, or a capitalised word that opens a sentence
// rather than continuing a name ("Then", "Reviewed", "Two", not "Bank" or "Reyes").
func sentenceFollows(next string) bool {
	if next == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(next)
	if !unicode.IsUpper(r) {
		return unicode.IsDigit(r)
	}
	w := lower(strings.TrimRight(next, ".,;:!?"))
	if _, ok := verbs[w]; ok {
		return true
	}
	if _, ok := wordInt(w); ok {
		return true
	}
	return boundaryWords[w] || commonCaps[w] || fillers[w] || sentenceOpeners[w]
}

var sentenceOpeners = setOf(`the a an and then also point half quarter on in for at with we i my our after before
later finally plus another spent call called meeting met email emailed telephone phone`)

const maxTextBytes = 16 << 10

// tokenize splits text into words. It never fails; invalid UTF-8 is replaced.
func tokenize(text string) []token {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, " ")
	}
	toks := make([]token, 0, 32)
	sentenceStart := true
	type field struct {
		off int
		s   string
	}
	fields := make([]field, 0, 32)
	for off, f := range fieldsOff(text) {
		fields = append(fields, field{off, f})
	}
	for fi, fl := range fields {
		off, f := fl.off, fl.s
		next := ""
		if fi+1 < len(fields) {
			next = strings.TrimLeft(fields[fi+1].s, "\"'([")
		}
		// strip leading punctuation
		f = strings.TrimLeftFunc(f, func(r rune) bool {
			return r != '\'' && (unicode.IsPunct(r) || unicode.IsSymbol(r)) && r != '.'
		})
		f = strings.TrimLeft(f, "'\"")
		for len(f) > 1 && f[0] == '.' && (f[1] < '0' || f[1] > '9') {
			f = f[1:] // ".5" keeps its point
		}
		if f == "." {
			f = ""
		}
		if f == "" {
			if len(toks) > 0 {
				toks[len(toks)-1].brk = true
			}
			continue
		}
		brk := false
		end := false
		possessive := false
		keepDot := false
		for len(f) > 0 {
			r, size := utf8.DecodeLastRuneInString(f)
			if r == '.' {
				core := f[:len(f)-size]
				// decimals like "1.8." keep their inner dot; abbreviations keep theirs:
				// "Dr.", "v." always, "U.S.", "N.A.", "Inc.", "Jr." unless a new sentence follows
				lc := strings.ToLower(core)
				if abbrev[lc] || ((initialism(core) || nameSuffix[lc]) && !sentenceFollows(next)) {
					f = core
					keepDot = true
					break
				}
				f = core
				brk, end = true, true
				continue
			}
			if r == ':' && strings.EqualFold(f[:len(f)-size], "re") {
				f = f[:len(f)-size] // "re: the lease" is one phrase
				continue
			}
			if r == ',' || r == ';' || r == ':' || r == '!' || r == '?' {
				f = f[:len(f)-size]
				brk = true
				if r != ',' && r != ';' && r != ':' {
					end = true
				}
				continue
			}
			if r == '\'' && strings.HasSuffix(strings.ToLower(f), "s'") {
				possessive = true // investors' keeps its apostrophe in the narrative
				f = f[:len(f)-size]
				continue
			}
			if unicode.IsPunct(r) || unicode.IsSymbol(r) {
				f = f[:len(f)-size]
				continue
			}
			break
		}
		if f == "" {
			if len(toks) > 0 && brk {
				toks[len(toks)-1].brk = true
			}
			sentenceStart = sentenceStart || end
			continue
		}
		// "one-and-a-half", "two-hour": spoken number compounds become words
		if strings.IndexByte(f, '-') > 0 && numericCompound(f) {
			parts := strings.Split(f, "-")
			for k, p := range parts {
				toks = append(toks, token{raw: p, w: lower(p), first: sentenceStart && k == 0, brk: brk && k == len(parts)-1, off: off})
			}
			sentenceStart = end
			continue
		}
		// "2h", "45min", "1.5hrs": split the amount from the unit
		if num, u, ok := unitSuffix(f); ok {
			toks = append(toks, token{raw: num, w: num, first: sentenceStart, off: off}, token{raw: u, w: lower(u), brk: brk, off: off})
			sentenceStart = end
			continue
		}
		r, _ := utf8.DecodeRuneInString(f)
		raw := f
		if possessive {
			raw += "'"
		}
		if keepDot {
			raw += "."
		}
		toks = append(toks, token{
			raw:   raw,
			w:     lower(f),
			brk:   brk,
			cap:   unicode.IsUpper(r),
			first: sentenceStart,
			off:   off,
		})
		sentenceStart = end
	}
	return toks
}

// fieldsOff yields the space-separated fields of text with their byte offsets.
func fieldsOff(text string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		start := -1
		for i, r := range text {
			if unicode.IsSpace(r) {
				if start >= 0 {
					if !yield(start, text[start:i]) {
						return
					}
					start = -1
				}
			} else if start < 0 {
				start = i
			}
		}
		if start >= 0 {
			yield(start, text[start:])
		}
	}
}

var compoundWords = setOf(`and a an half quarter quarters hour hours minute minutes tenth tenths point`)

// unitSuffix splits "2h", "45min", "1.5hrs" into amount and unit.
func unitSuffix(f string) (string, string, bool) {
	i := 0
	for i < len(f) && (f[i] >= '0' && f[i] <= '9' || f[i] == '.') {
		i++
	}
	if i == 0 || i == len(f) || f[0] == '.' {
		return "", "", false
	}
	u := lower(f[i:])
	if !hourWords[u] && !minuteWords[u] && u != "m" {
		return "", "", false
	}
	if u == "m" {
		u = "min"
	}
	return f[:i], u, true
}

// numericCompound reports whether a hyphenated word is made of number words
// ("one-and-a-half", "forty-five", "two-hour").
func numericCompound(f string) bool {
	hasNumber := false
	for p := range strings.SplitSeq(lower(f), "-") {
		if _, ok := wordInt(p); ok {
			hasNumber = true
			continue
		}
		if _, ok := digitsInt(p); ok && len(p) <= 2 {
			hasNumber = true
			continue
		}
		if p == "half" || p == "quarter" {
			hasNumber = true
		}
		if !compoundWords[p] {
			return false
		}
	}
	return hasNumber
}

// lower is strings.ToLower with a fast path for ASCII.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// key normalises a word for matching names: lower case, letters and digits only,
// possessive "'s" dropped.
func key(w string) string {
	w = lower(w)
	w = strings.TrimSuffix(w, "'s")
	w = strings.TrimSuffix(w, "’s")
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		if r >= utf8.RuneSelf {
			if f, ok := accents[r]; ok {
				r = f
			}
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// accents folds the Latin letters recognisers and matter lists disagree on.
var accents = map[rune]rune{
	'á': 'a', 'à': 'a', 'â': 'a', 'ä': 'a', 'ã': 'a', 'å': 'a', 'é': 'e', 'è': 'e', 'ê': 'e',
	'ë': 'e', 'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i', 'ó': 'o', 'ò': 'o', 'ô': 'o', 'ö': 'o',
	'õ': 'o', 'ø': 'o', 'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u', 'ñ': 'n', 'ç': 'c', 'ý': 'y',
	'ÿ': 'y', 'ł': 'l', 'ś': 's', 'š': 's', 'ž': 'z', 'ź': 'z', 'ż': 'z', 'č': 'c', 'ć': 'c',
	'ř': 'r', 'ğ': 'g', 'ş': 's', 'ı': 'i', 'ń': 'n', 'ę': 'e', 'ą': 'a',
}

var phoneticReplacer = strings.NewReplacer("ph", "f", "ck", "k", "ou", "o", "ie", "i", "ei", "i", "z", "s", "y", "i")

// phonetic folds spellings a recogniser confuses: doubled letters, ou/o,
// z/s, ph/f, ck/k, y/i, ie/ei.
func phonetic(k string) string {
	if k == "" {
		return k
	}
	k = phoneticReplacer.Replace(k)
	var b strings.Builder
	b.Grow(len(k))
	var prev rune
	for _, c := range k {
		if c == prev {
			continue
		}
		b.WriteRune(c)
		prev = c
	}
	return b.String()
}

// editDistance1 reports whether a and b differ by at most one insertion,
// deletion, substitution or adjacent transposition.
func editDistance1(a, b string) bool {
	if a == b {
		return true
	}
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && a[i] == b[i] {
		i++
	}
	switch {
	case la == lb:
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la > lb:
		return a[i+1:] == b[i:]
	default:
		return a[i:] == b[i+1:]
	}
}

// phraseAt reports whether the words of phrase stand, unused, at toks[i:].
func phraseAt(toks []token, i int, phrase []string) bool {
	if i+len(phrase) > len(toks) {
		return false
	}
	for k, w := range phrase {
		if toks[i+k].w != w || toks[i+k].used != useNone {
			return false
		}
	}
	return true
}
