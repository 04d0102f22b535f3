package billing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tenths is a duration in tenths of an hour (0.1 h = 6 minutes), the unit law firms bill in.
type Tenths int

// MaxTenths bounds parsed hour values (99,999.9 h) so arithmetic on them cannot overflow.
const MaxTenths Tenths = 999999

// DefaultIncrementMinutes is the billing increment used when a firm has not set one.
const DefaultIncrementMinutes = 6

// BilledMinutes rounds a duration in seconds UP to whole billing increments and returns the
// billed minutes, always a multiple of the increment: with the default 6-minute increment
// 1 s to 360 s bill 6 minutes and 361 s bills 12. It is the firm's one rounding rule (time
// is never billed short); RoundUpSeconds, RoundUpMinutes and RoundUpHours express it in
// tenths and every other package calls one of them. Zero or negative seconds give 0; an
// increment outside 1..60 minutes means DefaultIncrementMinutes.
func BilledMinutes(seconds, incrementMinutes int) int {
	if seconds <= 0 {
		return 0
	}
	if incrementMinutes <= 0 || incrementMinutes > 60 {
		incrementMinutes = DefaultIncrementMinutes
	}
	return ceilDiv(seconds, incrementMinutes*60) * incrementMinutes
}

// maxMinutes is MaxTenths in minutes: longer durations are clamped to it.
const maxMinutes = int(MaxTenths) * 6

// RoundUpSeconds returns BilledMinutes in tenths of an hour, rounding up again when the
// increment is not a multiple of 6 minutes (a 10-minute increment turns 10 minutes into
// 0.2 h). Results above MaxTenths are clamped to it.
func RoundUpSeconds(seconds, incrementMinutes int) Tenths {
	return Tenths(min(ceilDiv(BilledMinutes(seconds, incrementMinutes), 6), int(MaxTenths)))
}

// RoundUpMinutes is RoundUpSeconds for a duration in whole minutes.
func RoundUpMinutes(minutes, incrementMinutes int) Tenths {
	return RoundUpSeconds(min(minutes, maxMinutes)*60, incrementMinutes)
}

// RoundUpHours is RoundUpSeconds for decimal hours, as typed by a person or returned by a
// drafting engine: 0.25 h with a 6-minute increment is 0.3. Floating-point noise below a
// millionth of a minute is ignored, so 0.3 h bills 18 minutes, not 19. NaN, zero and
// negative hours give 0.
func RoundUpHours(hours float64, incrementMinutes int) Tenths {
	if !(hours > 0) {
		return 0
	}
	minutes := math.Ceil(min(hours*60, float64(maxMinutes)) - 1e-6)
	return RoundUpMinutes(int(minutes), incrementMinutes)
}

// ceilDiv is a/b rounded up, for a >= 0 and b > 0, without overflowing near math.MaxInt.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// ParseHours parses a decimal hour value as typed by a person ("0.3", ".3", "1", "1.25",
// "2.") into tenths. Digits beyond the first decimal round UP to the next tenth (1.25 ->
// 1.3, 0.01 -> 0.1), matching the firm's rule that time is rounded up, never down.
// Surrounding spaces are ignored; signs, exponents, thousands separators, empty input and
// values above MaxTenths are rejected.
func ParseHours(s string) (Tenths, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("parse hours: empty value")
	}
	intPart, frac, _ := strings.Cut(in, ".")
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("parse hours %q: no digits", s)
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("parse hours %q: only digits and one decimal point are allowed", s)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 5 {
		return 0, fmt.Errorf("parse hours %q: more than %s hours", s, MaxTenths)
	}
	whole := 0
	if intPart != "" {
		v, err := strconv.Atoi(intPart)
		if err != nil {
			return 0, fmt.Errorf("parse hours %q: %w", s, err)
		}
		whole = v
	}
	t := whole * 10
	if frac != "" {
		t += int(frac[0] - '0')
		if strings.TrimRight(frac[1:], "0") != "" {
			t++ // round up to the next tenth
		}
	}
	if Tenths(t) > MaxTenths {
		return 0, fmt.Errorf("parse hours %q: more than %s hours", s, MaxTenths)
	}
	return Tenths(t), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats tenths as decimal hours with one decimal: 3 -> "0.3", 20 -> "2.0".
func (t Tenths) String() string {
	sign := ""
	v := int64(t)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return sign + strconv.FormatInt(v/10, 10) + "." + strconv.FormatInt(v%10, 10)
}

// Seconds returns the duration in seconds (Clio's TimeEntry quantity unit).
func (t Tenths) Seconds() int64 { return int64(t) * 360 }

// Cents is an amount of money in the smallest currency unit.
type Cents int64

// String formats cents as a plain decimal with two places and no grouping: 12345 ->
// "123.45", 5 -> "0.05", -5 -> "-0.05".
func (c Cents) String() string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign = "-"
		u = -u // correct for math.MinInt64 too, in unsigned arithmetic
	}
	cents := u % 100
	return sign + strconv.FormatUint(u/100, 10) + "." + string(rune('0'+cents/10)) + string(rune('0'+cents%10))
}

// ErrOverflow is returned when an amount does not fit in Cents.
var ErrOverflow = errors.New("amount out of range")

// Amount returns hours x rate in cents, rounded half away from zero to the cent (rates are
// per hour, hours are tenths, so the exact value has at most one extra decimal).
func Amount(h Tenths, rate Cents) (Cents, error) {
	if h == 0 || rate == 0 {
		return 0, nil
	}
	a, b := int64(h), int64(rate)
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, fmt.Errorf("amount %s h x %s: %w", h, rate, ErrOverflow)
	}
	q, r := p/10, p%10
	if r >= 5 {
		q++
	} else if r <= -5 {
		q--
	}
	return Cents(q), nil
}

// AddCents adds two amounts and reports overflow instead of wrapping.
func AddCents(a, b Cents) (Cents, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, fmt.Errorf("sum %s + %s: %w", a, b, ErrOverflow)
	}
	return s, nil
}
