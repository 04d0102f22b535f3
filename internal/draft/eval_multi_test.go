package draft

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// The day-dictation dev set: whole days in one dictation, written for the
// multi-entry split (testdata/day_dictations-dev.jsonl, the firm of
// testdata/day_matters.json, today 2026-11-20), following the conventions of
// the shared evaluation set's README.

type dayExpect struct {
	Matter   *string `json:"matter"`
	Date     string  `json:"date"`
	Hours    float64 `json:"hours"`
	Activity string  `json:"activity"`
}

type dayCase struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Expect struct {
		Entries []dayExpect `json:"entries"`
	} `json:"expect"`
}

func loadDayCases(t testing.TB) ([]Matter, []dayCase) {
	t.Helper()
	ms, err := LoadMatters("testdata/day_matters.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/day_dictations-dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []dayCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c dayCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("day case: %v", err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ms, cases
}

type multiScore struct {
	dictations, splitRight       int // dictations whose entry count is right
	expected, found              int // entries
	fields, hours, date, matter  int // per entry, over the aligned entries of right splits
	activity, wrongMatter, pairs int
	misses                       []string
}

func runEvalMulti(t testing.TB, d Drafter, ms []Matter, cases []dayCase, today time.Time) multiScore {
	var s multiScore
	for _, c := range cases {
		parts, err := DraftMulti(context.Background(), d, Request{Text: c.Text, Today: today, Matters: ms}, Config{})
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		s.dictations++
		s.expected += len(c.Expect.Entries)
		s.found += len(parts)
		if len(parts) != len(c.Expect.Entries) {
			spans := make([]string, len(parts))
			for k, p := range parts {
				spans[k] = p.Span
			}
			s.misses = append(s.misses, fmt.Sprintf("%s split got %d entries want %d: %q", c.ID, len(parts), len(c.Expect.Entries), spans))
			continue
		}
		s.splitRight++
		for k, want := range c.Expect.Entries {
			got := parts[k]
			s.pairs++
			ok := 0
			if got.Hours == want.Hours {
				s.hours++
				ok++
			} else {
				s.misses = append(s.misses, fmt.Sprintf("%s#%d hours got %v want %v", c.ID, k+1, got.Hours, want.Hours))
			}
			if got.Date == want.Date {
				s.date++
				ok++
			} else {
				s.misses = append(s.misses, fmt.Sprintf("%s#%d date got %s want %s", c.ID, k+1, got.Date, want.Date))
			}
			gm, wm := "null", "null"
			if got.Matter != nil {
				gm = *got.Matter
			}
			if want.Matter != nil {
				wm = *want.Matter
			}
			switch {
			case gm == wm:
				s.matter++
				ok++
			case gm != "null":
				s.wrongMatter++
				s.misses = append(s.misses, fmt.Sprintf("%s#%d WRONG matter got %s want %s", c.ID, k+1, gm, wm))
			default:
				s.misses = append(s.misses, fmt.Sprintf("%s#%d matter got null want %s", c.ID, k+1, wm))
			}
			if got.Activity == want.Activity {
				s.activity++
				ok++
			} else {
				s.misses = append(s.misses, fmt.Sprintf("%s#%d activity got %q want %s (%s)", c.ID, k+1, got.Activity, want.Activity, got.Narrative))
			}
			if ok == 4 {
				s.fields++
			}
		}
	}
	return s
}

// TestEvalMulti measures the multi-entry split on the day-dictation dev set.
func TestEvalMulti(t *testing.T) {
	ms, cases := loadDayCases(t)
	if len(cases) < 20 {
		t.Fatalf("day dev set has %d dictations, want at least 20", len(cases))
	}
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := runEvalMulti(t, d, ms, cases, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	for _, m := range s.misses {
		t.Log("miss:", m)
	}
	line := fmt.Sprintf("EVAL multi rules dictations=%d split=%.1f%% entries found=%d expected=%d per-entry: hours=%.1f%% date=%.1f%% matter=%.1f%% wrong_matter=%d activity=%.1f%% all_fields=%.1f%%",
		s.dictations, pct(s.splitRight, s.dictations), s.found, s.expected,
		pct(s.hours, s.pairs), pct(s.date, s.pairs), pct(s.matter, s.pairs), s.wrongMatter, pct(s.activity, s.pairs), pct(s.fields, s.pairs))
	fmt.Println(line)
	if s.wrongMatter != 0 {
		t.Errorf("a wrong matter is never acceptable: %s", line)
	}
	if pct(s.splitRight, s.dictations) < 90 {
		t.Errorf("split must be right on >= 90%% of the dictations: %s", line)
	}
	if pct(s.hours, s.pairs) < 95 || pct(s.date, s.pairs) < 95 {
		t.Errorf("hours and date must be >= 95%%: %s", line)
	}
}
