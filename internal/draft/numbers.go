package draft

import "strings"

var units = map[string]int{
	"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
	"thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
	"eighteen": 18, "nineteen": 19,
}

var tens = map[string]int{
	"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
	"seventy": 70, "eighty": 80, "ninety": 90,
}

var ordinalWords = map[string]int{
	"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
	"eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
	"fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
	"nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}

// wordInt parses a single number word or a hyphenated compound ("forty-five").
func wordInt(w string) (int, bool) {
	if v, ok := units[w]; ok {
		return v, true
	}
	if v, ok := tens[w]; ok {
		return v, true
	}
	if a, b, ok := strings.Cut(w, "-"); ok {
		t, ok1 := tens[a]
		u, ok2 := units[b]
		if ok1 && ok2 && u > 0 && u < 10 {
			return t + u, true
		}
	}
	return 0, false
}

// digitsInt parses a plain run of ASCII digits (at most 6).
func digitsInt(w string) (int, bool) {
	if w == "" || len(w) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// intAt parses an integer at toks[i]: digits, a number word, or "forty five".
// It returns the value and the number of tokens used.
func intAt(toks []token, i int) (int, int, bool) {
	if i >= len(toks) || toks[i].used != useNone {
		return 0, 0, false
	}
	w := toks[i].w
	if v, ok := digitsInt(w); ok {
		return v, 1, true
	}
	v, ok := wordInt(w)
	if !ok {
		return 0, 0, false
	}
	if _, isTen := tens[w]; isTen && !toks[i].brk && i+1 < len(toks) && toks[i+1].used == useNone {
		if u, ok := units[toks[i+1].w]; ok && u > 0 && u < 10 {
			return v + u, 2, true
		}
	}
	return v, 1, true
}

// decimalDigits parses "1.8", ".3", "0.25" into hundredths. More than two
// decimals are rounded up to the hundredth (hours round up anyway).
func decimalDigits(w string) (int, bool) {
	ip, fp, ok := strings.Cut(w, ".")
	if !ok || fp == "" || len(fp) > 4 || strings.Contains(fp, ".") {
		return 0, false
	}
	n := 0
	if ip != "" {
		v, ok := digitsInt(ip)
		if !ok || v > 999 {
			return 0, false
		}
		n = v * 100
	}
	f, ok := digitsInt(fp)
	if !ok {
		return 0, false
	}
	switch len(fp) {
	case 1:
		n += f * 10
	case 2:
		n += f
	default:
		div := 1
		for range len(fp) - 2 {
			div *= 10
		}
		n += (f + div - 1) / div
	}
	return n, true
}

// quantity is a spoken amount in hundredths of a unit.
type quantity struct {
	v       int  // hundredths
	n       int  // tokens used
	decimal bool // spoken with a decimal point ("point three", "1.8"): implies hours
	tenths  bool // "three tenths": implies hours
	frac    bool // "half", "quarter": takes "an hour"/"of an hour"
}

// quantityAt parses an amount at toks[i]: digits, decimals, number words,
// "point three", "two point five", "three and a half", "half", "a quarter",
// "three quarters", "three tenths", "a couple of".
func quantityAt(toks []token, i int) (quantity, bool) {
	if i >= len(toks) || toks[i].used != useNone {
		return quantity{}, false
	}
	w := toks[i].w
	free := func(j int) bool { return j < len(toks) && toks[j].used == useNone }
	// "point three", "point two five"
	if w == "point" && !toks[i].brk {
		v, n := decimalWords(toks, i+1)
		if n > 0 {
			return quantity{v: v, n: n + 1, decimal: true}, true
		}
		return quantity{}, false
	}
	if v, ok := decimalDigits(w); ok {
		return quantity{v: v, n: 1, decimal: true}, true
	}
	// articles and fractions
	switch w {
	case "a", "an":
		if toks[i].brk || !free(i+1) {
			return quantity{}, false
		}
		switch toks[i+1].w {
		case "half":
			return quantity{v: 50, n: 2, frac: true}, true
		case "quarter":
			return quantity{v: 25, n: 2, frac: true}, true
		case "tenth":
			return quantity{v: 10, n: 2, tenths: true}, true
		case "couple":
			n := 2
			if free(i+2) && toks[i+2].w == "of" {
				n++
			}
			return quantity{v: 200, n: n}, true
		}
		return quantity{v: 100, n: 1}, true
	case "half":
		return quantity{v: 50, n: 1, frac: true}, true
	case "quarter":
		return quantity{v: 25, n: 1, frac: true}, true
	}
	iv, n, ok := intAt(toks, i)
	if !ok || iv > 999 {
		return quantity{}, false
	}
	q := quantity{v: iv * 100, n: n}
	j := i + n
	if toks[j-1].brk || !free(j) {
		return q, true
	}
	switch toks[j].w {
	case "point":
		if !toks[j].brk {
			if v, m := decimalWords(toks, j+1); m > 0 {
				return quantity{v: iv*100 + v, n: n + 1 + m, decimal: true}, true
			}
		}
	case "tenths", "tenth":
		if iv <= 10 {
			return quantity{v: iv * 10, n: n + 1, tenths: true}, true
		}
	case "quarters", "quarter":
		if iv >= 1 && iv <= 3 && (toks[j].w == "quarters" || iv == 1 || iv == 3) {
			return quantity{v: iv * 25, n: n + 1, frac: true}, true
		}
	case "and":
		if !toks[j].brk && free(j+1) && free(j+2) {
			a, b := toks[j+1].w, toks[j+2].w
			switch {
			case (a == "a" || a == "one") && b == "half":
				return quantity{v: iv*100 + 50, n: n + 3}, true
			case (a == "a" || a == "one") && b == "quarter":
				return quantity{v: iv*100 + 25, n: n + 3}, true
			case a == "three" && (b == "quarters" || b == "quarter"):
				return quantity{v: iv*100 + 75, n: n + 3}, true
			}
		}
	case "half":
		// "one half hour", "two and half" is handled above
	}
	return q, true
}

// decimalWords reads spoken decimal digits after "point": "three" -> 30,
// "two five" -> 25, "5" -> 50, "25" -> 25. It returns hundredths and tokens used.
func decimalWords(toks []token, i int) (int, int) {
	digits := make([]int, 0, 2)
	n := 0
	for j := i; j < len(toks) && len(digits) < 2 && toks[j].used == useNone; j++ {
		w := toks[j].w
		if v, ok := units[w]; ok && v < 10 {
			digits = append(digits, v)
			n++
			if toks[j].brk {
				break
			}
			continue
		}
		if len(digits) == 0 && len(w) <= 2 {
			if v, ok := digitsInt(w); ok {
				if len(w) == 1 {
					return v * 10, 1
				}
				return v, 1
			}
		}
		break
	}
	switch len(digits) {
	case 1:
		return digits[0] * 10, n
	case 2:
		return digits[0]*10 + digits[1], n
	}
	return 0, 0
}
