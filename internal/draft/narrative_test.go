package draft

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// Narratives a partner would send: abbreviations never cut them short, a dictation that
// opens with the duration or the matter still gives a past-tense sentence, and no spoken
// duration, date or framing matter name is left in it.
func TestNarrativeQuality(t *testing.T) {
	ms := append(dayMatters(t),
		Matter{ID: "G-1", Number: "2026-0400", Client: "Elena Garcia", Name: "Garcia v. U.S. Bank N.A."},
		Matter{ID: "G-2", Number: "2026-0401", Client: "Riverside Dental Inc.", Name: "Riverside Dental Inc. lease"})
	for _, tc := range []struct {
		text, matter, activity, narrative string
	}{
		// the example: duration and matter first
		{"twenty minutes on the Garcia file calling the court reporter", "G-1", "A108", "Called the court reporter."},
		{"Twenty minutes on the Garcia file, calling the court reporter.", "G-1", "A108", "Called the court reporter."},
		// abbreviations in names and captions
		{"Garcia, an hour drafting the complaint against U.S. Bank N.A. for the client.", "G-1", "A103", "Drafted the complaint against U.S. Bank N.A. for the client."},
		{"Point three reviewing the letter from Dr. Reyes about Mr. Patel's injuries.", "M-1005", "A104", "Reviewed the letter from Dr. Reyes about Mr. Patel's injuries."},
		{"Riverside Dental Inc. point five reviewing the lease amendment from Dentco Inc. and the landlord's notice.", "G-2", "A104", "Reviewed the lease amendment from Dentco Inc. and the landlord's notice."},
		{"An hour on Smith v. Jones, drafting the motion to compel.", "M-1004", "A103", "Drafted the motion to compel."},
		{"Point four on Patel v. Northside Regional Hospital reviewing the hospital's answer.", "M-1005", "A104", "Reviewed the hospital's answer."},
		// leading durations, dates and matters are not part of the work
		{"Forty five minutes yesterday on Patel, research on the statute of limitations.", "M-1005", "A102", "Researched the statute of limitations."},
		{"On Monday I spent two hours on the Whitfield estate reviewing the appraisal.", "M-1001", "A104", "Reviewed the appraisal."},
		{"Whitfield estate, telephone conference with the appraiser re valuation, half an hour on November 12th.", "M-1001", "A108", "Conferred by telephone with the appraiser re valuation."},
		{"Drafted the brief for Delgado, then revised it, two hours total.", "M-1006", "A103", "Drafted the brief, revised it."},
		{"Point two on Patel. Email to opposing counsel re: discovery schedule.", "M-1005", "A107", "Emailed opposing counsel re discovery schedule."},
		{"An hour in total on Brightline drafting the investor rights agreement.", "M-1010", "A103", "Drafted the investor rights agreement."},
	} {
		t.Run(tc.text, func(t *testing.T) {
			d, err := NewRules(Config{}).Draft(context.Background(), Request{Text: tc.text, Today: dayToday, Matters: ms})
			if err != nil {
				t.Fatal(err)
			}
			gm := ""
			if d.Matter != nil {
				gm = *d.Matter
			}
			if gm != tc.matter || d.Activity != tc.activity || d.Narrative != tc.narrative {
				t.Errorf("got %s %s %q; want %s %s %q", gm, d.Activity, d.Narrative, tc.matter, tc.activity, tc.narrative)
			}
			checkNarrative(t, d.Narrative)
		})
	}
}

var spokenLeftovers = regexp.MustCompile(`(?i)\b(minutes?|hours?|point (one|two|three|four|five|six|seven|eight|nine)|yesterday|today|monday|tuesday|wednesday|thursday|friday|november \d+|total|then)\b`)

// checkNarrative holds every narrative to the shape of a billing line.
func checkNarrative(t *testing.T, n string) {
	t.Helper()
	if n == "" {
		return
	}
	if m := spokenLeftovers.FindString(n); m != "" {
		t.Errorf("narrative %q keeps the spoken %q", n, m)
	}
	first := strings.ToLower(strings.Fields(n)[0])
	v, ok := verbs[first]
	if !ok || v.past != first {
		if _, known := verbs[first]; known || strings.HasSuffix(first, "ing") {
			t.Errorf("narrative %q does not start with a past-tense verb", n)
		}
	}
	if !strings.HasSuffix(n, ".") {
		t.Errorf("narrative %q does not end a sentence", n)
	}
}

// Every narrative of the day dev set is a clean billing line.
func TestNarrativeQualityDaySet(t *testing.T) {
	ms, cases := loadDayCases(t)
	for _, c := range cases {
		parts, err := DraftMulti(context.Background(), NewRules(Config{}), Request{Text: c.Text, Today: dayToday, Matters: ms}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			checkNarrative(t, p.Narrative)
		}
	}
}

// A name suffix or initialism at the end of a sentence still ends it: the next entry is split.
func TestAbbreviationEndsASentenceBeforeANewOne(t *testing.T) {
	ms := dayMatters(t)
	for _, text := range []string{
		"Point five on Acme Logistics Inc. Then an hour on Patel reviewing records.",
		"Point five on Acme Logistics Inc. An hour on Patel reviewing records.",
	} {
		parts, err := DraftMulti(context.Background(), NewRules(Config{}), Request{Text: text, Today: dayToday, Matters: ms}, Config{})
		if err != nil || len(parts) != 2 || parts[0].Matter == nil || *parts[0].Matter != "M-1003" || parts[1].Matter == nil || *parts[1].Matter != "M-1005" {
			t.Errorf("%q: %v %+v", text, err, parts)
		}
	}
}
