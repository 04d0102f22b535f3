package billing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"dictum/internal/utbms"
)

// Limits e-billing platforms enforce on LEDES 1998B fields.
const (
	// MaxLEDESID is the longest ID field (INVOICE_NUMBER, CLIENT_ID, LAW_FIRM_MATTER_ID,
	// TIMEKEEPER_ID, LAW_FIRM_ID, CLIENT_MATTER_ID) LEDES 1998B allows.
	MaxLEDESID = 20
	// MaxLEDESDescription is the longest description platforms accept.
	MaxLEDESDescription = 1024
	// MaxLEDESTimekeeperName caps TIMEKEEPER_NAME (0: no cap of its own).
	MaxLEDESTimekeeperName = 0
)

// Profile is what one client's e-billing platform requires of a LEDES invoice.
type Profile struct {
	// RequireTask and RequireActivity make a fee line without that code a problem.
	RequireTask, RequireActivity bool
	// Tasks and Activities are the allowed codes (code -> description); nil means the
	// UTBMS litigation task codes and the UTBMS activity codes.
	Tasks, Activities map[string]string
	// CodeSetName names the code set in messages ("" = "the UTBMS litigation code set").
	CodeSetName string
	// RequireClientMatterID makes an empty CLIENT_MATTER_ID a problem.
	RequireClientMatterID bool
	// ClientName and ClientID name the client in messages and fixes ("" when unknown).
	ClientName, ClientID string
}

// DefaultProfile is what a LEDES invoice must meet when the client has no e-billing
// profile: both UTBMS codes on every fee line, from the litigation code set.
func DefaultProfile() Profile { return Profile{RequireTask: true, RequireActivity: true} }

func (p Profile) validTask(c string) bool {
	if p.Tasks == nil {
		return utbms.ValidTask(c)
	}
	_, ok := p.Tasks[c]
	return ok
}

func (p Profile) validActivity(c string) bool {
	if p.Activities == nil {
		return utbms.ValidActivity(c)
	}
	_, ok := p.Activities[c]
	return ok
}

func (p Profile) setName() string {
	if p.CodeSetName != "" {
		return p.CodeSetName
	}
	return "the UTBMS litigation code set"
}

func (p Profile) who() string {
	if p.ClientName != "" {
		return "client " + p.ClientName
	}
	return "LEDES"
}

func (p Profile) clientFix() string {
	if p.ClientID == "" {
		return "set the client's ledes_client_id in Admin > Clients"
	}
	return fmt.Sprintf(`set ledes_client_id in Admin > Clients > %s or with PATCH /api/v1/clients/%s {"ledes_client_id": "..."}`, p.ClientName, p.ClientID)
}

// ascii spells characters that have no decomposition into a base letter plus marks.
var ascii = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ø': "o", 'Ø': "O",
	'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'ł': "l", 'Ł': "L", 'þ': "th", 'Þ': "Th", 'ı': "i",
	'ħ': "h", 'Ħ': "H", 'ŋ': "ng", 'Ŋ': "NG", 'ĸ': "k", 'ſ': "s",
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", '‹': "'", '›': "'", '`': "'",
	'“': `"`, '”': `"`, '„': `"`, '‟': `"`, '″': `"`, '«': `"`, '»': `"`,
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-",
	'…': "...", '•': "-", '·': ".", '×': "x", '÷': "/", '€': "EUR", '£': "GBP", '¥': "JPY",
	'©': "(c)", '®': "(R)", '™': "(TM)", '§': "S.", '¶': "P.", '°': " deg", '½': "1/2", '¼': "1/4", '¾': "3/4",
	'\u00a0': " ", '\u2002': " ", '\u2003': " ", '\u2009': " ", '\u200a': " ", '\u202f': " ", '\u2007': " ",
	'\u200b': "", '\u200c': "", '\u200d': "", '\ufeff': "", '\u00ad': "",
}

var stripMarks = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

var ledesReplacer = strings.NewReplacer(
	"\r\n", " ", "\r", " ", "\n", " ", "\t", " ", "\v", " ", "\f", " ",
	"|", "/", "[", "(", "]", ")",
)

// LEDESText cleans a value for a LEDES field: delimiters and line breaks replaced (see
// WriteLEDESProfile), accents and typographic characters transliterated to ASCII
// ("Müller" -> "Muller", curly quotes -> straight), runs of spaces collapsed. bad lists
// the characters that have no ASCII spelling (they stay in out; the caller refuses it).
func LEDESText(s string) (out string, bad []rune) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case r < 0x80:
			b.WriteRune(r)
		default:
			if a, ok := ascii[r]; ok {
				b.WriteString(a)
				continue
			}
			d, _, err := transform.String(stripMarks, string(r))
			if err == nil && d != "" && isASCII(d) {
				b.WriteString(d)
				continue
			}
			if unicode.IsSpace(r) {
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
			if len(bad) < 10 && !containsRune(bad, r) {
				bad = append(bad, r)
			}
		}
	}
	out = ledesReplacer.Replace(b.String())
	return strings.Join(strings.Fields(out), " "), bad
}

// ledesText is LEDESText without the list of bad characters.
func ledesText(s string) string {
	out, _ := LEDESText(s)
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func quoteRunes(rs []rune) string {
	q := make([]string, len(rs))
	for i, r := range rs {
		q[i] = fmt.Sprintf("%q (U+%04X)", string(r), r)
	}
	return strings.Join(q, ", ")
}

// IsLiteralNULL reports a field that is the text NULL, which platforms read as empty.
func IsLiteralNULL(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "NULL") }

// lastFirst is "Last, First": names of letters, spaces, dots, apostrophes and hyphens
// (after transliteration), starting with a letter, either side of ", ".
var lastFirst = regexp.MustCompile(`^[A-Za-z][A-Za-z .'-]*, [A-Za-z][A-Za-z .'-]*$`)

// IsLastFirst reports a timekeeper name in the form "Last, First".
func IsLastFirst(s string) bool { return lastFirst.MatchString(s) }

// ledesFields are the field names of a 1998B record, in order (LEDESHeader split).
var ledesFields = strings.Split(LEDESHeader, "|")

// Indexes of the fields checkRecords reads.
const (
	fInvDate, fInvNumber, fClientID, fMatterID, fInvTotal, fStart, fEnd = 0, 1, 2, 3, 4, 5, 6
	fLineNo, fType, fUnits, fAdj, fLineTotal, fLineDate                 = 8, 9, 10, 11, 12, 13
	fTkID, fFirmID, fUnitCost, fTkName, fTkClass                        = 17, 19, 20, 21, 22
)

// required are the fields Legal Tracker's error 005 checks on a fee line.
var required = []int{fInvDate, fInvNumber, fClientID, fMatterID, fInvTotal, fStart, fEnd, fLineNo, fType,
	fUnits, fAdj, fLineTotal, fLineDate, fTkID, fFirmID, fUnitCost, fTkName, fTkClass}

// checkRecords applies Legal Tracker's posting checks to formatted fee records: 003 (a
// date that is not a real CCYYMMDD date), 004 (an amount that is not a number), 005 (a
// required field blank), 006 (units x unit cost + adjustment differs from the line total)
// and 007 (the invoice total differs between lines or from the sum of the lines).
func checkRecords(recs [][]string) []Problem {
	var probs []Problem
	bug := "this is a bug in Dictum's LEDES writer; report it"
	add := func(line int, field int, msg string) {
		probs = append(probs, Problem{EntryID: "line " + strconv.Itoa(line), Field: ledesFields[field], Message: msg, Fix: bug})
	}
	var sum int64
	for i, f := range recs {
		line := i + 1
		if len(f) != LEDESFieldCount {
			add(line, fInvDate, fmt.Sprintf("record has %d fields, not %d", len(f), LEDESFieldCount))
			continue
		}
		for _, k := range required {
			if strings.TrimSpace(f[k]) == "" {
				add(line, k, "error 005: required field is blank")
			}
		}
		for _, k := range []int{fInvDate, fStart, fEnd, fLineDate} {
			if _, err := ledesDate(f[k]); err != nil || len(f[k]) != 8 {
				add(line, k, fmt.Sprintf("error 003: %q is not a CCYYMMDD date", f[k]))
			}
		}
		amounts := map[int]int64{}
		for _, k := range []int{fInvTotal, fUnits, fAdj, fLineTotal, fUnitCost} {
			v, ok := parseFixed(f[k], 4)
			if !ok {
				add(line, k, fmt.Sprintf("error 004: %q is not a number", f[k]))
				continue
			}
			amounts[k] = v
		}
		if len(amounts) == 5 {
			// units and cost in 1/10000: the product in 1/10^8, rounded half up to cents.
			prod := amounts[fUnits] * amounts[fUnitCost]
			cents := (prod + 500000) / 1000000
			if cents*100+amounts[fAdj] != amounts[fLineTotal] {
				add(line, fLineTotal, fmt.Sprintf("error 006: %s x %s + %s is not %s", f[fUnits], f[fUnitCost], f[fAdj], f[fLineTotal]))
			}
			sum += amounts[fLineTotal]
		}
		if i > 0 && f[fInvTotal] != recs[0][fInvTotal] {
			add(line, fInvTotal, fmt.Sprintf("error 007: invoice total %s differs from line 1's %s", f[fInvTotal], recs[0][fInvTotal]))
		}
	}
	if len(recs) > 0 && len(probs) == 0 {
		if t, ok := parseFixed(recs[0][fInvTotal], 4); ok && t != sum {
			add(1, fInvTotal, fmt.Sprintf("error 007: invoice total %s is not the sum of the line totals", recs[0][fInvTotal]))
		}
	}
	return probs
}

// parseFixed reads a plain decimal ("-12.5", "0.30") with at most scale decimals as an
// integer scaled by 10^scale.
func parseFixed(s string, scale int) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (frac != "" && !allDigits(frac)) || len(frac) > scale || len(whole) > 12 {
		return 0, false
	}
	frac += strings.Repeat("0", scale-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
