package draft

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	friday = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) // the eval reference day
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testMatters is the eval set's matter list, kept here so unit tests run
// without ../shared.
func testMatters(t testing.TB) []Matter {
	t.Helper()
	ms, err := ParseMatters([]byte(`[
  {"id": "M-1001", "number": "2026-0114", "client": "Harold Whitfield", "name": "Estate of Harold Whitfield"},
  {"id": "M-1002", "number": "2025-0873", "client": "Maria Alvarez", "name": "In re Marriage of Alvarez"},
  {"id": "M-1003", "number": "2026-0201", "client": "Acme Logistics Inc.", "name": "Acme Logistics - Master Services Agreement review"},
  {"id": "M-1004", "number": "2024-0412", "client": "Daniel Smith", "name": "Smith v. Jones"},
  {"id": "M-1005", "number": "2026-0333", "client": "Priya Patel", "name": "Patel v. Northside Regional Hospital"},
  {"id": "M-1006", "number": "2026-0150", "client": "Luis Delgado", "name": "Delgado custody modification"},
  {"id": "M-1007", "number": "2025-0999", "client": "Greenway Farms LLC", "name": "Greenway Farms - zoning appeal"},
  {"id": "M-1008", "number": "2026-0047", "client": "Chen Family Trust", "name": "Chen Family Trust administration"},
  {"id": "M-1009", "number": "2026-0288", "client": "Robert O'Neil", "name": "State v. O'Neil"},
  {"id": "M-1010", "number": "2026-0302", "client": "Brightline Software Corp.", "name": "Brightline - Series A financing"},
  {"id": "M-1011", "number": "2025-0610", "client": "Keisha Thompson", "name": "Thompson v. Thompson (equitable distribution)"},
  {"id": "M-1012", "number": "2026-0019", "client": "Harbor Point HOA", "name": "Harbor Point HOA v. Coastal Builders"}
]`))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func rulesDraft(t testing.TB, cfg Config, text string, today time.Time, ms []Matter) Draft {
	t.Helper()
	d, err := NewRules(cfg).Draft(context.Background(), Request{Text: text, Today: today, Matters: ms})
	if err != nil {
		t.Fatalf("Draft(%q): %v", text, err)
	}
	return d
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		text  string
		inc   int
		hours float64
	}{
		{"point three on the brief", 0, 0.3},
		{"Point three hours.", 0, 0.3},
		{"point two five hours", 0, 0.3},
		{"point 4", 0, 0.4},
		{"three tenths", 0, 0.3},
		{"three tenths of an hour", 0, 0.3},
		{"a tenth of an hour", 0, 0.1},
		{"1.4 hours", 0, 1.4},
		{"1.8.", 0, 1.8},
		{"billed 0.25", 0, 0.3},
		{".5 hours", 0, 0.5},
		{"an hour and a half", 0, 1.5},
		{"an hour", 0, 1},
		{"one hour", 0, 1},
		{"2 hours", 0, 2},
		{"2 hrs", 0, 2},
		{"two point five hours", 0, 2.5},
		{"one point two hours", 0, 1.2},
		{"forty-five minutes", 0, 0.8},
		{"forty five minutes", 0, 0.8},
		{"45 mins", 0, 0.8},
		{"ninety minutes", 0, 1.5},
		{"six minutes", 0, 0.1},
		{"seven minutes", 0, 0.2},
		{"one minute", 0, 0.1},
		{"twelve minutes", 0, 0.2},
		{"sixty minutes", 0, 1},
		{"two hours thirty", 0, 2.5},
		{"one hour fifteen minutes", 0, 1.3},
		{"an hour and fifteen minutes", 0, 1.3},
		{"two and a half hours", 0, 2.5},
		{"three and a half hours including waiting time", 0, 3.5},
		{"one and a quarter hours", 0, 1.3},
		{"quarter hour", 0, 0.3},
		{"a quarter hour", 0, 0.3},
		{"a quarter of an hour", 0, 0.3},
		{"three quarters of an hour", 0, 0.8},
		{"half an hour", 0, 0.5},
		{"a half hour", 0, 0.5},
		{"a couple of hours", 0, 2},
		{"hour and a half on the brief", 0, 1.5},
		{"Drafted brief, hour and fifteen minutes", 0, 1.3},
		{"one-and-a-half hours", 0, 1.5},
		{"a two-hour call", 0, 2},
		{"1 hour and 6 minutes", 0, 1.1},
		{"an hour ten", 0, 1.2},
		{"three-tenths", 0, 0.3},
		{"one-point-five hours", 0, 1.5},
		{"a half-hour", 0, 0.5},
		{"quarter-hour", 0, 0.3},
		{"2h", 0, 2},
		{"1.5hrs", 0, 1.5},
		{"45min", 0, 0.8},
		{"reviewed the hour-long recording", 0, 0},
		{"billed per hour", 0, 0},
		{"twenty-four hours", 0, 24},
		// corrections
		{"two hours, no, make that two and a quarter", 0, 2.3},
		{"forty minutes, sorry, fifty", 0, 0.9},
		{"one hour, actually an hour and a half", 0, 1.5},
		{"point four, I mean point five", 0, 0.5},
		{"an hour, I mean an hour and twenty minutes", 0, 1.4},
		// several durations without a correction are added up
		{"call point two and email point one", 0, 0.3},
		// increments in minutes
		{"forty-five minutes", 15, 0.75},
		{"seven minutes", 15, 0.25},
		{"forty-five minutes", 10, 0.83},
		{"one hour", 10, 1},
		// nothing to bill
		{"reviewed 3 documents", 0, 0},
		{"Brightline Series A", 0, 0},
		{"one of the exhibits", 0, 0},
		{"twenty-five hours", 0, 0},
		{"", 0, 0},
	} {
		t.Run(tc.text, func(t *testing.T) {
			d := rulesDraft(t, Config{IncrementMinutes: tc.inc}, tc.text, friday, nil)
			if d.Hours != tc.hours {
				t.Fatalf("hours = %v, want %v (warnings %v)", d.Hours, tc.hours, d.Warnings)
			}
			if tc.hours == 0 && !has(d.Warnings, WarnNoDuration) {
				t.Fatalf("no %q warning: %v", WarnNoDuration, d.Warnings)
			}
			if inc := (Config{IncrementMinutes: tc.inc}).increment(); d.Minutes%inc != 0 {
				t.Fatalf("minutes %d not a multiple of %d", d.Minutes, inc)
			}
		})
	}
}

func TestSeveralDurationsWarn(t *testing.T) {
	d := rulesDraft(t, Config{}, "call point two and email point one", friday, nil)
	if !strings.Contains(strings.Join(d.Warnings, "|"), "several durations") {
		t.Fatalf("warnings = %v", d.Warnings)
	}
}

func TestDates(t *testing.T) {
	for _, tc := range []struct {
		text  string
		today string
		want  string
		warn  string // substring of a warning, if one is expected
	}{
		{"reviewed file", "2026-11-20", "2026-11-20", ""},
		{"today reviewed file", "2026-11-20", "2026-11-20", ""},
		{"this morning", "2026-11-20", "2026-11-20", ""},
		{"this afternoon", "2026-11-20", "2026-11-20", ""},
		{"yesterday", "2026-11-20", "2026-11-19", ""},
		{"yesterday afternoon", "2026-11-20", "2026-11-19", ""},
		{"day before yesterday", "2026-11-20", "2026-11-18", ""},
		{"the day before yesterday", "2026-11-20", "2026-11-18", ""},
		{"Monday", "2026-11-20", "2026-11-16", ""},
		{"on Monday", "2026-11-20", "2026-11-16", ""},
		{"last Monday", "2026-11-20", "2026-11-16", ""},
		{"this past Monday", "2026-11-20", "2026-11-16", ""},
		{"Monday the 16th", "2026-11-20", "2026-11-16", ""},
		{"earlier today", "2026-11-20", "2026-11-20", ""},
		{"last night", "2026-11-20", "2026-11-19", ""},
		{"two days ago", "2026-11-20", "2026-11-18", ""},
		{"a week ago", "2026-11-20", "2026-11-13", ""},
		{"Tuesday morning", "2026-11-20", "2026-11-17", ""},
		{"sometime last week", "2026-11-20", "2026-11-20", "vague date"},
		{"on Wednesday", "2026-11-20", "2026-11-18", ""},
		{"Thursday", "2026-11-20", "2026-11-19", ""},
		// a weekday said on that weekday is a week ago; "this Friday" is today
		{"Friday", "2026-11-20", "2026-11-13", ""},
		{"on Friday", "2026-11-20", "2026-11-13", ""},
		{"this Friday", "2026-11-20", "2026-11-20", ""},
		{"November 12th", "2026-11-20", "2026-11-12", ""},
		{"November 12", "2026-11-20", "2026-11-12", ""},
		{"Nov 12th", "2026-11-20", "2026-11-12", ""},
		{"November twelfth", "2026-11-20", "2026-11-12", ""},
		{"November twenty first", "2026-11-20", "2026-11-20", "2025-11-21 is more than 60 days"},
		{"the 12th", "2026-11-20", "2026-11-12", ""},
		{"on the 12th of November", "2026-11-20", "2026-11-12", ""},
		{"12th of November", "2026-11-20", "2026-11-12", ""},
		{"November 12th, 2026", "2026-11-20", "2026-11-12", ""},
		{"11/12", "2026-11-20", "2026-11-12", ""},
		{"11/12/2026", "2026-11-20", "2026-11-12", ""},
		{"2026-11-02", "2026-11-20", "2026-11-02", ""},
		// future month-day means last year (then outside the look-back)
		{"December 3rd", "2026-11-20", "2026-11-20", "more than 60 days"},
		{"the 25th", "2026-11-20", "2026-10-25", ""},
		// month and year boundaries
		{"yesterday", "2026-12-01", "2026-11-30", ""},
		{"on Monday", "2026-12-01", "2026-11-30", ""},
		{"the 30th", "2026-12-01", "2026-11-30", ""},
		{"yesterday", "2027-01-01", "2026-12-31", ""},
		{"December 31st", "2027-01-01", "2026-12-31", ""},
		{"Thursday", "2027-01-01", "2026-12-31", ""},
		{"12/30", "2027-01-01", "2026-12-30", ""},
		// February 29
		{"February 29th", "2028-03-01", "2028-02-29", ""},
		{"yesterday", "2028-03-01", "2028-02-29", ""},
		{"yesterday", "2028-02-29", "2028-02-28", ""},
		{"February 29th", "2027-03-01", "2027-03-01", "does not exist"},
		{"the 31st", "2026-12-01", "2026-12-01", "does not exist"},
		// not dates
		{"prepared for Monday's hearing", "2026-11-20", "2026-11-20", ""},
		{"reviewed the second amended complaint", "2026-11-20", "2026-11-20", ""},
		{"Monday, sorry, Tuesday", "2026-11-20", "2026-11-17", ""},
		{"March 3rd", "2026-11-20", "2026-11-20", "more than 60 days"},
	} {
		t.Run(tc.today+" "+tc.text, func(t *testing.T) {
			d := rulesDraft(t, Config{}, tc.text, day(tc.today), nil)
			if d.Date != tc.want {
				t.Fatalf("date = %s, want %s (warnings %v)", d.Date, tc.want, d.Warnings)
			}
			joined := strings.Join(d.Warnings, "|")
			if tc.warn != "" && !strings.Contains(joined, tc.warn) {
				t.Fatalf("warnings %v lack %q", d.Warnings, tc.warn)
			}
			if tc.warn == "" && strings.Contains(joined, "date") {
				t.Fatalf("unexpected date warning: %v", d.Warnings)
			}
		})
	}
}

func TestTodayIsCivilDate(t *testing.T) {
	// the time of day and zone of Today do not move the date
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	for _, now := range []time.Time{
		time.Date(2026, 11, 20, 0, 0, 0, 0, ny),
		time.Date(2026, 11, 20, 23, 59, 59, 0, ny),
		time.Date(2026, 11, 20, 23, 59, 59, 0, time.UTC),
	} {
		d := rulesDraft(t, Config{}, "yesterday point one", now, nil)
		if d.Date != "2026-11-19" {
			t.Fatalf("Today %v: date %s", now, d.Date)
		}
	}
}

func TestMatters(t *testing.T) {
	ms := testMatters(t)
	for _, tc := range []struct {
		text string
		want string // "" = null
		warn string
	}{
		{"Whitfeld estate, point one", "M-1001", ""},
		{"call with Maria Alvares", "M-1002", ""},
		{"Alvarez", "M-1002", ""},
		{"State v. O'Neill", "M-1009", ""},
		{"the Oneil file", "M-1009", ""},
		{"O Neil jail visit", "M-1009", ""},
		{"Harbour Point, organize documents", "M-1012", ""},
		{"the Smith matter", "M-1004", ""},
		{"Smith versus Jones", "M-1004", ""},
		{"matter 2026-0333", "M-1005", ""},
		{"matter number 2026 0333", "M-1005", ""},
		{"M-1008", "M-1008", ""},
		{"Green Way Farms", "M-1007", ""},
		{"Bright Line financing", "M-1010", ""},
		{"the chen trust", "M-1008", ""},
		{"Coastal Builders production", "M-1012", ""},
		// never a guess
		{"Drafted a demand letter", "", "no open matter"},
		{"Johnson deposition", "", "no open matter"},
		{"Smith and Alvarez joint call", "", "several matters"},
		{"call with Keisha", "", "first name"},
		{"expert panel review", "", "no open matter"},
		{"Panel discussion", "", "no open matter"},
		{"reviewed the master services agreement", "", "no open matter"},
		{"custody modification research", "", "no open matter"},
		{"point three on the zoning appeal", "", "no open matter"},
		{"reviewed 1004 pages", "", "no open matter"},
		{"Harbor", "M-1012", ""},
	} {
		t.Run(tc.text, func(t *testing.T) {
			d := rulesDraft(t, Config{}, tc.text, friday, ms)
			got := ""
			if d.Matter != nil {
				got = *d.Matter
			}
			if got != tc.want {
				t.Fatalf("matter = %q, want %q (warnings %v)", got, tc.want, d.Warnings)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(d.Warnings, "|"), tc.warn) {
				t.Fatalf("warnings %v lack %q", d.Warnings, tc.warn)
			}
		})
	}
}

func TestShortNumbersAndIDs(t *testing.T) {
	ms := []Matter{{ID: "12", Number: "7", Client: "Ann Lee", Name: "Lee v. Park"}, {ID: "M-20", Number: "2026-0001", Client: "Bo Ray", Name: "Ray estate"}}
	for text, want := range map[string]string{
		"reviewed 12 documents, 7 minutes": "null",
		"matter 2026-0001, point one":      "M-20",
		"M-20 point one":                   "M-20",
		"M 20, point one":                  "M-20",
	} {
		if d := rulesDraft(t, Config{}, text, friday, ms); deref(d.Matter) != want {
			t.Errorf("%q: matter %s, want %s", text, deref(d.Matter), want)
		}
	}
}

func TestNarrativeAndFlags(t *testing.T) {
	ms := testMatters(t)
	for _, tc := range []struct {
		text      string
		narrative string
		billable  bool
		activity  string
		task      string
	}{
		{"Point three hours on Smith versus Jones, drafting the motion to compel discovery responses.",
			"Drafted the motion to compel discovery responses.", true, "A103", "L350"},
		{"Um, Whitfield estate, reviewed the inventory of assets from the executor, about forty-five minutes.",
			"Reviewed the inventory of assets from the executor.", true, "A104", ""},
		{"On Monday I attended the custody hearing in the Delgado matter, three and a half hours including waiting time.",
			"Attended the custody hearing, including waiting time.", true, "A109", ""},
		{"Greenway Farms, prepare for the zoning board hearing, outline argument, one hour fifteen minutes.",
			"Prepared for the zoning board hearing, outlined argument.", true, "A101", ""},
		{"Harbor Point, organize and index the documents produced by Coastal Builders, three hours, no charge.",
			"Organized and indexed the documents produced by Coastal Builders.", false, "A110", "L320"},
		{"Brightline, call with the investors' counsel about the term sheet, point four, non-billable.",
			"Conferred by telephone with the investors' counsel about the term sheet.", false, "A107", ""},
		{"uh, you know, Patel, like, telephone conference with our medical expert, forty minutes, don't bill",
			"Conferred by telephone with our medical expert.", false, "A108", "L130"},
		{"Email to opposing counsel in Patel v. Northside about the deposition schedule, point two.",
			"Emailed opposing counsel about the deposition schedule.", true, "A107", "L330"},
		{"Alvarez, status conference with the judge, point five", "Attended status conference with the judge.", true, "A109", "L230"},
		{"Chen trust, filed the annual accounting with the court, point three", "Filed the annual accounting with the court.", true, "A111", ""},
		{"Smith, hmm, point two", "", true, "", ""},
	} {
		t.Run(tc.text, func(t *testing.T) {
			d := rulesDraft(t, Config{}, tc.text, friday, ms)
			if d.Narrative != tc.narrative {
				t.Errorf("narrative = %q, want %q", d.Narrative, tc.narrative)
			}
			if d.Billable != tc.billable {
				t.Errorf("billable = %v", d.Billable)
			}
			if d.Activity != tc.activity {
				t.Errorf("activity = %q, want %q", d.Activity, tc.activity)
			}
			task := ""
			if d.Task != nil {
				task = *d.Task
			}
			if task != tc.task {
				t.Errorf("task = %q, want %q", task, tc.task)
			}
		})
	}
}

func TestConfidenceOrders(t *testing.T) {
	ms := testMatters(t)
	full := rulesDraft(t, Config{}, "Yesterday, Smith v Jones, drafted the motion to compel, point three.", friday, ms)
	bare := rulesDraft(t, Config{}, "did some work", friday, ms)
	if !(full.Confidence > 0.9 && bare.Confidence < 0.3 && bare.Confidence >= 0) {
		t.Fatalf("confidence full=%v bare=%v", full.Confidence, bare.Confidence)
	}
}

// TestExtraDictations runs dictations written for other matters (see
// testdata) so the rules are not tuned to the eval set alone.
func TestExtraDictations(t *testing.T) {
	ms, err := LoadMatters("testdata/extra_matters.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/extra_dictations.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	today := day("2026-03-04") // a Wednesday
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var c struct {
			ID     string `json:"id"`
			Text   string `json:"text"`
			Expect struct {
				Matter   *string `json:"matter"`
				Date     string  `json:"date"`
				Hours    float64 `json:"hours"`
				Activity string  `json:"activity"`
				Task     *string `json:"task"`
				Billable *bool   `json:"billable"`
			} `json:"expect"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		d := rulesDraft(t, Config{}, c.Text, today, ms)
		if !reflect.DeepEqual(d.Matter, c.Expect.Matter) {
			t.Errorf("%s: matter = %v, want %v (%v)", c.ID, deref(d.Matter), deref(c.Expect.Matter), d.Warnings)
		}
		if d.Date != c.Expect.Date {
			t.Errorf("%s: date = %s, want %s", c.ID, d.Date, c.Expect.Date)
		}
		if d.Hours != c.Expect.Hours {
			t.Errorf("%s: hours = %v, want %v", c.ID, d.Hours, c.Expect.Hours)
		}
		if d.Activity != c.Expect.Activity {
			t.Errorf("%s: activity = %s, want %s", c.ID, d.Activity, c.Expect.Activity)
		}
		if c.Expect.Task != nil && deref(d.Task) != *c.Expect.Task {
			t.Errorf("%s: task = %s, want %s", c.ID, deref(d.Task), *c.Expect.Task)
		}
		if c.Expect.Billable != nil && d.Billable != *c.Expect.Billable {
			t.Errorf("%s: billable = %v", c.ID, d.Billable)
		}
		if d.Narrative == "" || !strings.HasSuffix(d.Narrative, ".") {
			t.Errorf("%s: narrative %q", c.ID, d.Narrative)
		}
		t.Logf("%s %s", c.ID, d.Narrative)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 30 {
		t.Fatalf("only %d extra dictations", n)
	}
}

func deref(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// TestRulesConcurrent drafts in parallel with two matter lists so the cached
// matter index is swapped while in use (run with -race).
func TestRulesConcurrent(t *testing.T) {
	a := testMatters(t)
	b := []Matter{{ID: "X-1", Number: "2026-9999", Client: "Ida Quill", Name: "Quill v. Ramos", Litigation: true}}
	r := NewRules(Config{})
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				ms, text, want := a, "Smith v Jones point two", "M-1004"
				if (g+i)%2 == 1 {
					ms, text, want = b, "Quill, drafted complaint, point two", "X-1"
				}
				d, err := r.Draft(context.Background(), Request{Text: text, Today: friday, Matters: ms})
				if err == nil && deref(d.Matter) != want {
					err = fmt.Errorf("matter %s, want %s", deref(d.Matter), want)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
