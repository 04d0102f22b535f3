package billing

import (
	"errors"
	"math"
	"testing"
)

func TestRoundUpMinutes(t *testing.T) {
	tests := []struct {
		min, inc int
		want     Tenths
	}{
		{0, 6, 0},
		{-5, 6, 0},
		{1, 6, 1},
		{6, 6, 1},
		{7, 6, 2},
		{60, 6, 10},
		{61, 6, 11},
		{1, 15, 3},   // 15 min = 0.25 h -> 0.3
		{16, 15, 5},  // 30 min
		{10, 10, 2},  // 10 min = 0.1667 h -> 0.2
		{1, 0, 1},    // default increment
		{5, -3, 1},   // default increment
		{59, 60, 10}, // hourly increment
	}
	for _, tt := range tests {
		if got := RoundUpMinutes(tt.min, tt.inc); got != tt.want {
			t.Errorf("RoundUpMinutes(%d, %d) = %d, want %d", tt.min, tt.inc, got, tt.want)
		}
	}
	if got := RoundUpMinutes(math.MaxInt, 6); got != MaxTenths {
		t.Errorf("huge minutes = %d, want clamp %d", got, MaxTenths)
	}
}

func TestRoundUpSeconds(t *testing.T) {
	tests := []struct {
		sec  int
		want Tenths
	}{{0, 0}, {1, 1}, {360, 1}, {361, 2}, {3600, 10}}
	for _, tt := range tests {
		if got := RoundUpSeconds(tt.sec, 6); got != tt.want {
			t.Errorf("RoundUpSeconds(%d) = %d, want %d", tt.sec, got, tt.want)
		}
	}
}

// TestRounding is the table of the firm's one rounding rule, from seconds, minutes and
// hours, for the increments firms use.
func TestRounding(t *testing.T) {
	tests := []struct {
		name        string
		seconds     int
		inc         int
		wantMinutes int    // BilledMinutes
		wantTenths  Tenths // RoundUpSeconds
	}{
		{"zero", 0, 6, 0, 0},
		{"negative", -90, 6, 0, 0},
		{"one second, 6 min", 1, 6, 6, 1},
		{"exactly 6 min", 360, 6, 6, 1},
		{"6 min and a second", 361, 6, 12, 2},
		{"an hour", 3600, 6, 60, 10},
		{"an hour and a second", 3601, 6, 66, 11},
		{"one second, 10 min", 1, 10, 10, 2}, // 10 min = 0.1667 h -> 0.2
		{"exactly 10 min", 600, 10, 10, 2},
		{"20 min, 10 min", 1200, 10, 20, 4}, // 0.333 h -> 0.4
		{"30 min, 10 min", 1800, 10, 30, 5},
		{"one second, 15 min", 1, 15, 15, 3}, // 0.25 h -> 0.3
		{"exactly 15 min", 900, 15, 15, 3},
		{"16 min, 15 min", 960, 15, 30, 5},
		{"45 min, 15 min", 2700, 15, 45, 8}, // 0.75 h -> 0.8
		{"hourly", 59 * 60, 60, 60, 10},
		{"zero increment means 6", 1, 0, 6, 1},
		{"negative increment means 6", 400, -3, 12, 2},
		{"increment over an hour means 6", 400, 90, 12, 2},
		{"24 h", 24 * 3600, 6, 1440, 240},
		{"huge, clamped tenths", math.MaxInt, 6, (math.MaxInt/360 + 1) * 6, MaxTenths},
		{"huge, 15 min", math.MaxInt, 15, (math.MaxInt/900 + 1) * 15, MaxTenths},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BilledMinutes(tt.seconds, tt.inc); got != tt.wantMinutes {
				t.Errorf("BilledMinutes(%d, %d) = %d, want %d", tt.seconds, tt.inc, got, tt.wantMinutes)
			}
			if got := RoundUpSeconds(tt.seconds, tt.inc); got != tt.wantTenths {
				t.Errorf("RoundUpSeconds(%d, %d) = %d, want %d", tt.seconds, tt.inc, got, tt.wantTenths)
			}
			if tt.seconds%60 == 0 && tt.seconds < math.MaxInt/60 {
				if got := RoundUpMinutes(tt.seconds/60, tt.inc); got != tt.wantTenths {
					t.Errorf("RoundUpMinutes(%d, %d) = %d, want %d", tt.seconds/60, tt.inc, got, tt.wantTenths)
				}
			}
		})
	}
}

func TestRoundUpHours(t *testing.T) {
	tests := []struct {
		hours float64
		inc   int
		want  Tenths
	}{
		{0, 6, 0},
		{-1, 6, 0},
		{math.NaN(), 6, 0},
		{0.3, 6, 3}, // 0.3*60 = 17.999...: float noise does not bill a 19th minute
		{0.25, 6, 3},
		{0.31, 6, 4},
		{0.01, 6, 1},
		{1, 6, 10},
		{2.3, 6, 23},
		{0.1, 10, 2},
		{0.3, 15, 5},
		{1, 15, 10},
		{24, 6, 240},
		{1e300, 6, MaxTenths},
		{math.Inf(1), 6, MaxTenths},
	}
	for _, tt := range tests {
		if got := RoundUpHours(tt.hours, tt.inc); got != tt.want {
			t.Errorf("RoundUpHours(%v, %d) = %d, want %d", tt.hours, tt.inc, got, tt.want)
		}
	}
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		in      string
		want    Tenths
		wantErr bool
	}{
		{"0.3", 3, false},
		{".3", 3, false},
		{"1", 10, false},
		{"1.", 10, false},
		{" 2.0 ", 20, false},
		{"1.25", 13, false},
		{"1.20", 12, false},
		{"1.2000001", 13, false},
		{"0.01", 1, false},
		{"0", 0, false},
		{"007.5", 75, false},
		{"99999.9", 999999, false},
		{"100000", 0, true},
		{"99999999999999999999", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1e3", 0, true},
		{"1,5", 0, true},
		{"1.2.3", 0, true},
		{"abc", 0, true},
		{"１", 0, true}, // full-width digit
	}
	for _, tt := range tests {
		got, err := ParseHours(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseHours(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseHours(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestTenthsString(t *testing.T) {
	tests := []struct {
		in   Tenths
		want string
	}{{0, "0.0"}, {3, "0.3"}, {20, "2.0"}, {125, "12.5"}, {-3, "-0.3"}}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Tenths(%d).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
	// String and ParseHours round-trip for every value a day can hold.
	for v := Tenths(0); v <= 240; v++ {
		back, err := ParseHours(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip %d: got %d, %v", v, back, err)
		}
	}
}

func TestCentsString(t *testing.T) {
	tests := []struct {
		in   Cents
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {50, "0.50"}, {12345, "123.45"}, {100, "1.00"},
		{-5, "-0.05"}, {-12345, "-123.45"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Cents(%d).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAmount(t *testing.T) {
	tests := []struct {
		h    Tenths
		rate Cents
		want Cents
	}{
		{10, 25000, 25000}, // 1.0 h x 250.00
		{3, 33333, 10000},  // 0.3 x 333.33 = 99.999 -> 100.00
		{1, 33333, 3333},   // 3333.3 cents -> 33.33
		{3, 12345, 3704},   // 3703.5 cents -> 37.04 (half up)
		{1, 12345, 1235},   // 1234.5 -> 12.35
		{1, 12344, 1234},   // 1234.4 -> 12.34
		{13, 27500, 35750}, // 1.3 x 275.00 = 357.50
		{0, 27500, 0},
		{13, 0, 0},
		{-1, 12345, -1235}, // half away from zero
	}
	for _, tt := range tests {
		got, err := Amount(tt.h, tt.rate)
		if err != nil || got != tt.want {
			t.Errorf("Amount(%d, %d) = %d, %v; want %d", tt.h, tt.rate, got, err, tt.want)
		}
	}
	if _, err := Amount(MaxTenths, math.MaxInt64/2); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: err = %v, want ErrOverflow", err)
	}
	if _, err := AddCents(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("AddCents overflow: err = %v", err)
	}
	if s, err := AddCents(-5, 10); err != nil || s != 5 {
		t.Errorf("AddCents(-5,10) = %d, %v", s, err)
	}
}

func TestResolveRate(t *testing.T) {
	tests := []struct {
		firm, tk, matter, want Cents
	}{
		{10000, 20000, 30000, 30000},
		{10000, 20000, 0, 20000},
		{10000, 0, 0, 10000},
		{0, 0, 0, 0},
		{10000, -1, 0, 10000}, // negative is never a rate
		{0, 0, 5, 5},
	}
	for _, tt := range tests {
		if got := ResolveRate(tt.firm, tt.tk, tt.matter); got != tt.want {
			t.Errorf("ResolveRate(%d,%d,%d) = %d, want %d", tt.firm, tt.tk, tt.matter, got, tt.want)
		}
	}
}

func TestRateTable(t *testing.T) {
	rt := RateTable{
		FirmDefault:      10000,
		Timekeeper:       map[string]Cents{"tk1": 20000, "tk2": 25000},
		Matter:           map[string]Cents{"m1": 30000},
		MatterTimekeeper: map[RateKey]Cents{{MatterID: "m1", TimekeeperID: "tk2"}: 35000},
	}
	tests := []struct {
		matter, tk string
		want       Cents
	}{
		{"m1", "tk2", 35000}, // negotiated per-matter-per-timekeeper
		{"m1", "tk1", 30000}, // matter override
		{"m2", "tk1", 20000}, // timekeeper
		{"m2", "tk9", 10000}, // firm default
	}
	for _, tt := range tests {
		if got := rt.Rate(tt.matter, tt.tk); got != tt.want {
			t.Errorf("Rate(%s,%s) = %d, want %d", tt.matter, tt.tk, got, tt.want)
		}
	}
	if got := (RateTable{}).Rate("m", "t"); got != 0 {
		t.Errorf("empty table rate = %d", got)
	}
}
