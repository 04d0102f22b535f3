package draft

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var dayToday = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func dayMatters(t *testing.T) []Matter {
	t.Helper()
	ms, err := LoadMatters("testdata/day_matters.json")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

type wantPart struct {
	matter string // "" = null
	date   string
	hours  float64
	span   string // a prefix of the span
}

func TestDraftMulti(t *testing.T) {
	ms := dayMatters(t)
	for _, tc := range []struct {
		name string
		text string
		want []wantPart
		warn map[int]string // entry index -> a warning it must carry
	}{
		{"issue example: three entries on spoken boundaries",
			"Whitfield estate, point four, reviewing the appraisal. Then an hour on Brightline, drafting the stock purchase agreement. And ten minutes on a call with Keisha Thompson.",
			[]wantPart{{"M-1001", "2026-11-20", 0.4, "Whitfield estate, point four"}, {"M-1010", "2026-11-20", 1, "Then an hour on Brightline"}, {"M-1011", "2026-11-20", 0.2, "And ten minutes"}}, nil},
		{"a correction in one sentence is one entry",
			"Smith v. Jones, two hours, no, make that two and a quarter, drafting the motion to compel.",
			[]wantPart{{"M-1004", "2026-11-20", 2.3, "Smith v. Jones, two hours, no"}}, nil},
		{"a correction in its own sentence stays with its entry",
			"Two hours on Smith versus Jones. No, make that two and a half. Drafting the opposition.",
			[]wantPart{{"M-1004", "2026-11-20", 2.5, "Two hours on Smith versus Jones. No, make that"}}, nil},
		{"a correction after 'then' stays in its entry",
			"Delgado, one hour drafting the parenting plan. Then twenty minutes, no, thirty minutes, reviewing the school records.",
			[]wantPart{{"M-1006", "2026-11-20", 1, "Delgado"}, {"M-1006", "2026-11-20", 0.5, "Then twenty minutes, no, thirty"}}, map[int]string{1: WarnMatterCarried}},
		{"shared date from the start; a new date from then on",
			"Yesterday: an hour on Greenway Farms researching zoning exemptions. Then point five on Greenway drafting the notice of appeal. Then on November 12th, fifteen minutes on Greenway calling the county clerk. Then point two on Greenway reviewing the file.",
			[]wantPart{{"M-1007", "2026-11-19", 1, "Yesterday"}, {"M-1007", "2026-11-19", 0.5, "Then point five"}, {"M-1007", "2026-11-12", 0.3, "Then on November"}, {"M-1007", "2026-11-12", 0.2, "Then point two"}}, nil},
		{"a part without a duration joins the entry before it",
			"Whitfield, one point two drafting the petition for probate, and then I filed it with the court. Then half an hour on Patel reviewing records.",
			[]wantPart{{"M-1001", "2026-11-20", 1.2, "Whitfield, one point two"}, {"M-1005", "2026-11-20", 0.5, "Then half an hour"}}, nil},
		{"a boundary without a duration opens the entry after it",
			"Drafted the brief for Delgado, then revised it, two hours total.",
			[]wantPart{{"M-1006", "2026-11-20", 2, "Drafted the brief"}}, nil},
		{"'and' with a new duration splits",
			"An hour on Brightline drafting the agreement and, uh, another thirty minutes on Patel reviewing records.",
			[]wantPart{{"M-1010", "2026-11-20", 1, "An hour on Brightline"}, {"M-1005", "2026-11-20", 0.5, "and, uh"}}, nil},
		{"'one hour and fifteen minutes' is one duration",
			"Patel, one hour and fifteen minutes drafting the opposition.",
			[]wantPart{{"M-1005", "2026-11-20", 1.3, "Patel"}}, nil},
		{"an unknown matter is never the previous one",
			"An hour on Chen Family Trust drafting the amendment. Also point three on the Henderson file reviewing emails. Then ten minutes on Henderson calling the bank.",
			[]wantPart{{"M-1008", "2026-11-20", 1, "An hour"}, {"", "2026-11-20", 0.3, "Also point three"}, {"", "2026-11-20", 0.2, "Then ten"}}, nil},
		{"a person named in the entry does not stop the matter carrying over",
			"Patel, an hour reviewing the expert report, then forty minutes on a call with the expert, Dr. Reyes, about his opinions.",
			[]wantPart{{"M-1005", "2026-11-20", 1, "Patel"}, {"M-1005", "2026-11-20", 0.7, "then forty"}}, map[int]string{1: WarnMatterCarried}},
		{"'next week' is no boundary",
			"Alvarez, half an hour preparing for next week's hearing, next steps discussed with the client.",
			[]wantPart{{"M-1002", "2026-11-20", 0.5, "Alvarez"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := DraftMulti(context.Background(), NewRules(Config{}), Request{Text: tc.text, Today: dayToday, Matters: ms}, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != len(tc.want) {
				spans := []string{}
				for _, p := range parts {
					spans = append(spans, p.Span)
				}
				t.Fatalf("got %d entries %q, want %d", len(parts), spans, len(tc.want))
			}
			end := 0
			for k, w := range tc.want {
				p := parts[k]
				gm := ""
				if p.Matter != nil {
					gm = *p.Matter
				}
				if gm != w.matter || p.Date != w.date || p.Hours != w.hours || !strings.HasPrefix(p.Span, w.span) {
					t.Errorf("entry %d: got matter %q date %s hours %v span %q; want %q %s %v %q... (warnings %v)", k, gm, p.Date, p.Hours, p.Span, w.matter, w.date, w.hours, w.span, p.Warnings)
				}
				if p.Start < end || !strings.Contains(tc.text, p.Span) {
					t.Errorf("entry %d: span %q not in spoken order or not from the text", k, p.Span)
				}
				end = p.End
				if want := tc.warn[k]; want != "" && !has(p.Warnings, want) {
					t.Errorf("entry %d: warnings %v lack %q", k, p.Warnings, want)
				}
				if tc.warn[k] == "" && has(p.Warnings, WarnMatterCarried) {
					t.Errorf("entry %d: unexpected %q", k, WarnMatterCarried)
				}
				if p.Narrative == "" || strings.Contains(strings.ToLower(p.Narrative), "then ") {
					t.Errorf("entry %d: narrative %q", k, p.Narrative)
				}
			}
		})
	}
}

// A dictation of one entry drafts exactly as without the split.
func TestDraftMultiSingleIsDraft(t *testing.T) {
	ms := dayMatters(t)
	r := NewRules(Config{})
	for _, text := range []string{
		"Point three hours on Smith versus Jones, drafting the motion to compel discovery responses.",
		"",
		"um",
		"Yesterday I had a phone call with Maria Alvarez regarding the temporary support hearing. Half an hour.",
	} {
		req := Request{Text: text, Today: dayToday, Matters: ms}
		parts, err := DraftMulti(context.Background(), r, req, Config{})
		if err != nil {
			t.Fatal(err)
		}
		one, _ := r.Draft(context.Background(), req)
		if len(parts) != 1 {
			t.Fatalf("%q: %d parts", text, len(parts))
		}
		a, _ := json.Marshal(parts[0].Draft)
		b, _ := json.Marshal(one)
		if string(a) != string(b) {
			t.Errorf("%q:\n multi  %s\n single %s", text, a, b)
		}
	}
}

func TestCLIMulti(t *testing.T) {
	m := writeMatters(t)
	text := "Point three on Smith v. Jones drafting the motion. Then an hour on Smith v. Jones reviewing the production."
	code, out, errs := runCLI(t, "", "--multi", "--matters", m, "--today", "2026-11-20", text)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		ID      any               `json:"id"`
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.ID != nil || len(got.Entries) != 2 || !strings.Contains(string(got.Entries[1]), `"span":"Then an hour`) {
		t.Fatalf("got %s", out)
	}
	// batch: one line per input, ids kept, a bad line gives an error line
	in := `{"id":"a","text":"` + text + `"}` + "\n" + `{"id":7,"text":"point two on Smith v. Jones drafting"}` + "\nnot json\n"
	code, out, _ = runCLI(t, in, "--multi", "--batch", "--matters", m, "--today", "2026-11-20")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for the bad line", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines: %q", lines)
	}
	for k, want := range []string{`{"id":"a","entries":[{`, `{"id":7,"entries":[{`, `{"id":null,"entries":[],"error":"line 3 is not a JSON object"}`} {
		if !strings.HasPrefix(lines[k], want) {
			t.Errorf("line %d: %s, want prefix %s", k+1, lines[k], want)
		}
	}
	// without --multi the output keeps its shape
	_, out, _ = runCLI(t, "", "--matters", m, "--today", "2026-11-20", text)
	if strings.Contains(out, `"entries"`) || strings.Contains(out, `"span"`) {
		t.Errorf("plain output changed: %s", out)
	}
}
