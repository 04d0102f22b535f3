package draft

import (
	"context"
	"strings"
	"testing"
)

func TestAliasFillsOnlyAnUnnamedMatter(t *testing.T) {
	ms := dayMatters(t)
	mine := []Alias{{Phrase: "marina deal", Matter: "M-1010", Scope: ScopeUser}}
	for _, tc := range []struct {
		name    string
		text    string
		aliases []Alias
		matter  string // "" = null
		why     string
	}{
		{"the alias names the matter", "Twenty minutes on the marina deal calling the broker.", mine, "M-1010", "matter from your alias 'marina deal'"},
		{"recogniser capitals and punctuation", "Point four, Marina Deal: reviewed the slip leases.", mine, "M-1010", "matter from your alias 'marina deal'"},
		{"an explicit matter always wins", "Smith v. Jones, twenty minutes on the marina deal issue with opposing counsel.", mine, "M-1004", ""},
		{"no alias, no matter", "Twenty minutes on the marina deal calling the broker.", nil, "", ""},
		{"an alias of a matter that is not open is ignored", "Twenty minutes on the marina deal calling the broker.", []Alias{{Phrase: "marina deal", Matter: "M-9999", Scope: ScopeUser}}, "", ""},
		{"a firm alias works for everyone", "An hour on the lighthouse project drafting the bylaws.", []Alias{{Phrase: "lighthouse project", Matter: "M-1012", Scope: ScopeFirm}}, "M-1012", "matter from the firm's alias 'lighthouse project'"},
		{"the lawyer's own alias beats the firm's", "An hour on the lighthouse project drafting the bylaws.",
			[]Alias{{Phrase: "lighthouse project", Matter: "M-1012", Scope: ScopeFirm}, {Phrase: "lighthouse project", Matter: "M-1008", Scope: ScopeUser}}, "M-1008", "matter from your alias 'lighthouse project'"},
		{"a phrase split by a sentence break does not match", "Twenty minutes on the marina. Deal with the broker later.", mine, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Text: tc.text, Today: dayToday, Matters: ms, Aliases: tc.aliases}
			parts, err := DraftMulti(context.Background(), NewRules(Config{}), req, Config{})
			if err != nil || len(parts) != 1 {
				t.Fatalf("%v %d", err, len(parts))
			}
			d := parts[0].Draft
			gm := ""
			if d.Matter != nil {
				gm = *d.Matter
			}
			if gm != tc.matter {
				t.Fatalf("matter %q, want %q (warnings %v)", gm, tc.matter, d.Warnings)
			}
			if tc.why != "" && !has(d.Warnings, tc.why) {
				t.Errorf("warnings %v lack %q", d.Warnings, tc.why)
			}
			if tc.why == "" && strings.Contains(strings.Join(d.Warnings, "|"), "alias") {
				t.Errorf("unexpected alias note: %v", d.Warnings)
			}
			if tc.why != "" && strings.Contains(strings.ToLower(d.Narrative), strings.Fields(tc.aliases[0].Phrase)[0]) {
				t.Errorf("narrative keeps the alias: %q", d.Narrative)
			}
		})
	}
}

// noMatterEngine stands for an LLM engine that never reads aliases.
type noMatterEngine struct{ r *Rules }

func (e noMatterEngine) Name() string { return "fake" }
func (e noMatterEngine) Draft(ctx context.Context, req Request) (Draft, error) {
	req.Aliases = nil
	return e.r.Draft(ctx, req)
}

func TestAliasFillsForEveryEngine(t *testing.T) {
	ms := dayMatters(t)
	req := Request{Text: "Twenty minutes on the marina deal calling the broker. Then an hour on Patel reviewing records.", Today: dayToday, Matters: ms,
		Aliases: []Alias{{Phrase: "marina deal", Matter: "M-1010", Scope: ScopeUser}}}
	parts, err := DraftMulti(context.Background(), noMatterEngine{NewRules(Config{})}, req, Config{})
	if err != nil || len(parts) != 2 {
		t.Fatalf("%v %d", err, len(parts))
	}
	if parts[0].Matter == nil || *parts[0].Matter != "M-1010" || !has(parts[0].Warnings, "matter from your alias 'marina deal'") {
		t.Fatalf("first: %+v", parts[0].Draft)
	}
	if parts[1].Matter == nil || *parts[1].Matter != "M-1005" {
		t.Fatalf("second: %+v", parts[1].Draft)
	}
}

func TestLearnPhrase(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"Twenty minutes on the marina deal calling the broker.", "marina deal"},
		{"point four on the Hendricks file, reviewing the lease", "hendricks file"},
		{"Um, Bayside refinancing, an hour drafting the loan documents.", "bayside refinancing"},
		{"Marina deal, point four, reviewed the slip leases.", "marina deal"},
		{"Yesterday two hours on the Lakeview acquisition drafting the APA.", "lakeview acquisition"},
		{"An hour drafting the brief.", ""},
		{"Reviewed the file, point two.", ""},
		{"Two hours, drafting the motion.", ""},
		{"", ""},
	} {
		if got := LearnPhrase(tc.text); got != tc.want {
			t.Errorf("LearnPhrase(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCheckPhrase(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"marina deal", true}, {"the", false}, {"", false}, {"file", false}, {"ab", false},
		{"one two three four five six seven", false}, {strings.Repeat("x", 81), false}, {"bayside", true},
	} {
		if err := CheckPhrase(NormalizePhrase(tc.p)); (err == nil) != tc.ok {
			t.Errorf("CheckPhrase(%q) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestLearnActivityPhrase(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"Point four on Patel, went over the lease.", "went over"},
		{"Patel, point four, looked into the statute of limitations.", "looked into"},
		{"Reviewed the appraisal for Whitfield, point two.", "reviewed"},
		{"Yesterday two hours prepping the witness.", "prepping"},
		{"Point four on Patel.", ""},
		{"", ""},
	} {
		if got := LearnActivityPhrase(tc.text); got != tc.want {
			t.Errorf("LearnActivityPhrase(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestActivityAlias(t *testing.T) {
	ms := dayMatters(t)
	as := []Alias{{Phrase: "went over", Activity: "A104", Scope: ScopeUser}}
	for _, e := range []Drafter{NewRules(Config{}), noMatterEngine{NewRules(Config{})}} {
		parts, err := DraftMulti(context.Background(), e, Request{Text: "Point four on Patel, went over the lease with the associate.", Today: dayToday, Matters: ms, Aliases: as}, Config{})
		if err != nil || len(parts) != 1 || parts[0].Activity != "A104" || !has(parts[0].Warnings, "activity from your alias 'went over'") {
			t.Errorf("%s: %v %+v", e.Name(), err, parts)
		}
	}
}
