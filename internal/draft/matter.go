package draft

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// genericWords never identify a matter on their own: captions and client
// names are full of them, and narratives too.
var genericWords = setOf(`a an and the of in re for to on at by with v vs versus et al
estate estates marriage matter matters case cases state people commonwealth united states usa
county city town village district court inc llc llp lp ltd co corp corporation company companies
pc pa plc group holdings holding partners partnership associates family trust trusts hoa
association assn bank national master services service agreement agreements review reviews
administration custody modification zoning appeal appeals series financing equitable distribution
software logistics farms farm regional hospital medical center health care healthcare
point north south east west new old
builders construction properties property realty management systems solutions technologies
technology enterprises international global industries products foundation fund capital
investments partners llc's dba guardianship conservatorship probate divorce dissolution
adoption bankruptcy contract lease purchase sale acquisition merger employment dispute
litigation claim claims lawsuit action petition application plan planning general
insurance mutual financial consulting home homes school schools church community
mr mrs ms dr jr sr ii iii iv`)

// commonNames are name words that are also ordinary English words; they only
// count when the recogniser capitalised them mid-sentence.
var commonNames = setOf(`will may mark bill grant hope rose june april faith joy rich
young king brown green white black gray grey long short hill wood woods park parks
lane price cash hunter baker miller cook fisher turner carter walker rivers stone
field fields wells little major case`)

// orgWords mark a client that is an organisation rather than a person.
var orgWords = setOf(`inc llc llp lp ltd co corp corporation company pc pa plc group
holdings trust hoa association bank foundation fund partners estate church school
county city`)

func setOf(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// IsLitigationCaption reports whether a matter name reads as a litigation
// caption: "A v. B", "A vs B", "A versus B", "State v. X", "In re Marriage of".
func IsLitigationCaption(name string) bool {
	n := " " + strings.ToLower(name) + " "
	for _, s := range []string{" v. ", " v ", " vs. ", " vs ", " versus ", "in re marriage of", " adv. "} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

type matterKey struct {
	k      string // key() form
	ph     string // phonetic form
	weight int    // 3 in client and name, 2 one field, 1 weak (first name)
	common bool
}

type matterIndex struct {
	m      Matter
	keys   []matterKey
	digits string // matter number, digits only
	idKey  string // id in key() form ("m1004")
	client map[string]bool
	// words of the client and name (all / capitalised ones), for narratives
	nameWords, capWords map[string]bool
	opposing            map[string]bool // keys of the name that are not the client's
}

func buildIndex(ms []Matter) []matterIndex {
	out := make([]matterIndex, 0, len(ms))
	for _, m := range ms {
		ix := matterIndex{m: m, client: map[string]bool{}}
		// short numbers and all-digit ids are too easy to hear by chance
		// ("12 documents"); they only count with 4+ digits / letters and digits
		ix.digits = onlyDigits(m.Number)
		if len(ix.digits) < 4 {
			ix.digits = ""
		}
		if k := key(m.ID); len(k) >= 3 && onlyDigits(k) != k && onlyDigits(k) != "" {
			ix.idKey = k
		}
		cw, cwCap := nameWordsCap(m.Client)
		nw, nwCap := nameWordsCap(m.Name)
		inName := map[string]bool{}
		for _, w := range nw {
			inName[w] = true
		}
		inClient := map[string]bool{}
		for _, w := range cw {
			inClient[w] = true
			ix.client[w] = true
		}
		isOrg := false
		for _, w := range cw {
			if orgWords[w] {
				isOrg = true
			}
		}
		ix.nameWords, ix.capWords, ix.opposing = map[string]bool{}, map[string]bool{}, map[string]bool{}
		for i, w := range cw {
			ix.nameWords[w] = true
			if cwCap[i] {
				ix.capWords[w] = true
			}
		}
		for i, w := range nw {
			ix.nameWords[w] = true
			if nwCap[i] {
				ix.capWords[w] = true
			}
		}
		seen := map[string]bool{}
		add := func(w string, weight int) {
			if seen[w] || genericWords[w] || len(w) < 2 || onlyDigits(w) == w {
				return
			}
			seen[w] = true
			ix.keys = append(ix.keys, matterKey{k: w, ph: phonetic(w), weight: weight, common: commonNames[w]})
		}
		for i, w := range cw {
			if !cwCap[i] {
				continue // lower-case words are descriptions, not names
			}
			switch {
			case inName[w]:
				add(w, 3)
			case !isOrg && i == 0 && len(cw) > 1:
				add(w, 1) // a person's first name
			default:
				add(w, 2)
			}
		}
		for i, w := range nw {
			if nwCap[i] {
				add(w, 2)
			}
		}
		for _, k := range ix.keys {
			if !ix.client[k.k] {
				ix.opposing[k.k] = true
			}
		}
		out = append(out, ix)
	}
	// A key shared by several matters still counts, for each of them; the
	// resolver then reports the ambiguity instead of picking one.
	return out
}

func nameWords(s string) []string {
	out, _ := nameWordsCap(s)
	return out
}

// nameWordsCap splits a client or matter name into key() words and reports
// which were written with a capital letter or digit.
func nameWordsCap(s string) ([]string, []bool) {
	var out []string
	var caps []bool
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' || r == ',' || r == '/' || r == '&'
	}) {
		if k := key(f); k != "" {
			out = append(out, k)
			r, _ := utf8.DecodeRuneInString(strings.TrimLeft(f, "\"'“‘"))
			caps = append(caps, unicode.IsUpper(r) || unicode.IsDigit(r))
		}
	}
	return out, caps
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

type matterHit struct {
	ix         int
	start, end int
	weight     int
}

// tokKeys are the forms of one transcript word that matter keys are matched
// against: the word, its phonetic form, and the word run together with the
// next one ("Green Way" -> greenway, "O Neil" -> oneil).
type tokKeys struct {
	k, ph    string
	joined   string
	joinedPh string
}

// matchKeyAt reports how many words at toks[i] match key mk (0: none):
// exactly, phonetically, by one edit for long capitalised words, or as two
// words run together.
func matchKeyAt(toks []token, i int, tk tokKeys, mk matterKey) int {
	if tk.k == "" {
		return 0
	}
	if mk.common && (!toks[i].cap || toks[i].first) {
		return 0
	}
	if tk.k == mk.k || (len(tk.k) >= 4 && tk.ph == mk.ph) {
		return 1
	}
	if len(mk.k) >= 6 && len(tk.k) >= 5 && toks[i].cap && tk.k[0] == mk.k[0] && !genericWords[tk.k] && editDistance1(tk.k, mk.k) {
		return 1
	}
	if tk.joined != "" && len(mk.k) >= 5 && (tk.joined == mk.k || tk.joinedPh == mk.ph) {
		return 2
	}
	return 0
}

const warnNoMatter = "no open matter recognised; pick the matter"

// matterResult is the outcome of matter resolution.
type matterResult struct {
	idx     int // index into matters, -1 when none
	warning string
	spans   [][2]int
}

// findMatter resolves which open matter the dictation names. It only
// returns a matter when exactly one matter has strong evidence.
func findMatter(toks []token, idx []matterIndex) matterResult {
	res := matterResult{idx: -1}
	if len(idx) == 0 {
		res.warning = "no open matters given; pick the matter"
		return res
	}
	var hits []matterHit
	// matter numbers and ids: "2026-0201", "2026 0201", "matter number 2026-0201", "M-1004"
	for i := 0; i < len(toks); i++ {
		if toks[i].used != useNone {
			continue
		}
		d := onlyDigits(toks[i].w)
		if d == "" {
			continue
		}
		for n := 1; n <= 3 && i+n <= len(toks); n++ {
			if n > 1 {
				nd := onlyDigits(toks[i+n-1].w)
				if nd == "" || toks[i+n-1].used != useNone {
					break
				}
				d += nd
			}
			for j, ix := range idx {
				if (ix.digits != "" && d == ix.digits) || (ix.idKey != "" && key(toks[i].w) == ix.idKey && n == 1) {
					hits = append(hits, matterHit{ix: j, start: i, end: i + n, weight: 5})
				}
			}
		}
		// "M 1004"
		if i > 0 && toks[i-1].w == "m" && toks[i-1].used == useNone {
			for j, ix := range idx {
				if ix.idKey == "m"+d {
					hits = append(hits, matterHit{ix: j, start: i - 1, end: i + 1, weight: 5})
				}
			}
		}
	}
	for i := 0; i < len(toks); i++ {
		if toks[i].used != useNone {
			continue
		}
		tk := key(toks[i].w)
		if tk == "" || genericWords[tk] {
			continue
		}
		tks := tokKeys{k: tk}
		if len(tk) >= 4 {
			tks.ph = phonetic(tk)
		}
		if i+1 < len(toks) && toks[i+1].used == useNone && !toks[i].brk {
			if nk := key(toks[i+1].w); nk != "" && len(tk)+len(nk) >= 5 {
				tks.joined = tk + nk
				tks.joinedPh = phonetic(tks.joined)
			}
		}
		for j := range idx {
			for _, mk := range idx[j].keys {
				if n := matchKeyAt(toks, i, tks, mk); n > 0 {
					hits = append(hits, matterHit{ix: j, start: i, end: i + n, weight: mk.weight})
				}
			}
		}
	}
	score := make(map[int]int)
	for _, h := range hits {
		score[h.ix] += h.weight
	}
	var strong, weak []int
	for j, s := range score {
		if s >= 2 {
			strong = append(strong, j)
		} else {
			weak = append(weak, j)
		}
	}
	sort.Ints(strong)
	sort.Ints(weak)
	switch {
	case len(strong) == 1:
		res.idx = strong[0]
	case len(strong) > 1:
		names := make([]string, 0, len(strong))
		for _, j := range strong {
			names = append(names, idx[j].m.ID)
		}
		res.warning = fmt.Sprintf("several matters mentioned (%s); pick the matter", strings.Join(names, ", "))
		return res
	case len(weak) > 0:
		names := make([]string, 0, len(weak))
		for _, j := range weak {
			names = append(names, idx[j].m.ID)
		}
		res.warning = fmt.Sprintf("matter not certain (only a first name matched %s); pick the matter", strings.Join(names, ", "))
		return res
	default:
		res.warning = warnNoMatter
		return res
	}
	for _, h := range hits {
		if h.ix == res.idx {
			res.spans = append(res.spans, [2]int{h.start, h.end})
		}
	}
	return res
}
