package draft

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const evalDir = "../../../shared/eval"

type evalCase struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Expect struct {
		Matter   *string `json:"matter"`
		Date     string  `json:"date"`
		Hours    float64 `json:"hours"`
		Activity string  `json:"activity"`
	} `json:"expect"`
}

func loadEval(t testing.TB) ([]Matter, []evalCase) {
	t.Helper()
	if _, err := os.Stat(evalDir); os.IsNotExist(err) {
		t.Skipf("eval set %s absent", evalDir)
	}
	ms, err := LoadMatters(filepath.Join(evalDir, "matters.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(evalDir, "dictations-dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []evalCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c evalCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("eval line: %v", err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ms, cases
}

// evalScore drafts every case and reports the share of correct fields.
type evalScore struct {
	n, hours, date, matter, wrongMatter, activity int
	misses                                        []string
}

func runEval(t testing.TB, d Drafter, ms []Matter, cases []evalCase, today time.Time) evalScore {
	var s evalScore
	for _, c := range cases {
		got, err := d.Draft(context.Background(), Request{Text: c.Text, Today: today, Matters: ms})
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		s.n++
		if got.Hours == c.Expect.Hours {
			s.hours++
		} else {
			s.misses = append(s.misses, fmt.Sprintf("%s hours got %v want %v", c.ID, got.Hours, c.Expect.Hours))
		}
		if got.Date == c.Expect.Date {
			s.date++
		} else {
			s.misses = append(s.misses, fmt.Sprintf("%s date got %s want %s", c.ID, got.Date, c.Expect.Date))
		}
		gm, wm := "null", "null"
		if got.Matter != nil {
			gm = *got.Matter
		}
		if c.Expect.Matter != nil {
			wm = *c.Expect.Matter
		}
		switch {
		case gm == wm:
			s.matter++
		case gm != "null":
			s.wrongMatter++
			s.misses = append(s.misses, fmt.Sprintf("%s WRONG matter got %s want %s", c.ID, gm, wm))
		default:
			s.misses = append(s.misses, fmt.Sprintf("%s matter got null want %s (%v)", c.ID, wm, got.Warnings))
		}
		if got.Activity == c.Expect.Activity {
			s.activity++
		} else {
			s.misses = append(s.misses, fmt.Sprintf("%s activity got %q want %s", c.ID, got.Activity, c.Expect.Activity))
		}
	}
	return s
}

func pct(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

func TestEval(t *testing.T) {
	ms, cases := loadEval(t)
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	s := runEval(t, d, ms, cases, today)
	for _, m := range s.misses {
		t.Log("miss:", m)
	}
	line := fmt.Sprintf("EVAL rules n=%d hours=%.1f%% date=%.1f%% matter=%.1f%% wrong_matter=%d activity=%.1f%%",
		s.n, pct(s.hours, s.n), pct(s.date, s.n), pct(s.matter, s.n), s.wrongMatter, pct(s.activity, s.n))
	fmt.Println(line) // at the start of a line for `make eval`
	if s.n == 0 {
		t.Fatal("eval set is empty")
	}
	if s.hours != s.n || s.date != s.n {
		t.Errorf("hours and date must be 100%%: %s", line)
	}
	if s.wrongMatter != 0 || pct(s.matter, s.n) < 97 {
		t.Errorf("matter must be >= 97%% with 0 wrong: %s", line)
	}
	if pct(s.activity, s.n) < 92 {
		t.Errorf("activity must be >= 92%%: %s", line)
	}
}

// TestEvalOllama measures a real local Ollama server when
// DICTUM_EVAL_OLLAMA_HOST (loopback only) and DICTUM_EVAL_OLLAMA_MODEL are
// set. It prints an EVAL line and fails on a wrong matter (the validation and
// grounding must hold whatever the model says).
func TestEvalOllama(t *testing.T) {
	host, model := os.Getenv("DICTUM_EVAL_OLLAMA_HOST"), os.Getenv("DICTUM_EVAL_OLLAMA_MODEL")
	if host == "" || model == "" {
		t.Skip("set DICTUM_EVAL_OLLAMA_HOST and DICTUM_EVAL_OLLAMA_MODEL to measure a local Ollama")
	}
	u, err := parseHost(host)
	if err != nil {
		t.Fatal(err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		t.Skipf("tests only talk to loopback, not %s", h)
	}
	ms, cases := loadEval(t)
	d, err := New(Config{Engine: EngineOllama, Ollama: OllamaConfig{Host: host, Model: model, Timeout: 5 * time.Minute, NumPredict: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	s := runEval(t, d, ms, cases, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	for _, m := range s.misses {
		t.Log("miss:", m)
	}
	fmt.Printf("EVAL ollama(%s) n=%d hours=%.1f%% date=%.1f%% matter=%.1f%% wrong_matter=%d activity=%.1f%%\n",
		model, s.n, pct(s.hours, s.n), pct(s.date, s.n), pct(s.matter, s.n), s.wrongMatter, pct(s.activity, s.n))
	if s.wrongMatter != 0 {
		t.Errorf("%d wrong matters", s.wrongMatter)
	}
}
