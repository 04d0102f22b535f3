package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/timesheet"
)

func TestTimesheetWeek(t *testing.T) {
	r := newRig(t) // today is Friday 2026-11-20, week 2026-W47
	ctx := context.Background()
	m := r.matterID()
	if res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"daily_target_hours": 6.5}); res.Status != 200 {
		t.Fatalf("target: %d %s", res.Status, res.Body)
	}
	add := func(user, date string, tenths int, engine string, approve, del bool) {
		u, _ := r.st.UserByName(ctx, user)
		a := identity.Actor{UserID: u.ID, Username: user, Role: u.Role}
		e, err := r.st.CreateEntry(ctx, a, store.NewEntry{UserID: u.ID, Engine: engine,
			Fields: entry.Fields{MatterID: m, Date: date, Tenths: tenths, Activity: "A103", Narrative: "Drafted.", Billable: true}})
		if err != nil {
			t.Fatal(err)
		}
		if approve {
			if _, err := r.st.Approve(ctx, a, e.ID, r.now); err != nil {
				t.Fatal(err)
			}
		}
		if del {
			if _, err := r.st.DeleteEntry(ctx, a, e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("alice", "2026-11-16", 10, "rules", false, false) // Monday: a dictated draft
	add("alice", "2026-11-16", 20, "manual", true, false) // and a typed-in approved entry
	add("alice", "2026-11-18", 65, "whisper", true, false)
	add("alice", "2026-11-19", 5, "manual", false, false)
	add("alice", "2026-11-19", 30, "rules", false, true)  // deleted: not counted
	add("alice", "2026-11-21", 10, "rules", false, false) // Saturday (dated ahead)
	add("bob", "2026-11-17", 80, "rules", true, false)    // bob's time is not alice's

	res := r.do("GET", "/api/v1/timesheet?week=2026-W47", "alice", nil)
	if res.Status != 200 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	var w timesheet.Week
	if err := json.Unmarshal(res.Body, &w); err != nil {
		t.Fatal(err)
	}
	if w.Week != "2026-W47" || w.From != "2026-11-16" || w.To != "2026-11-22" || w.DailyTarget != 6.5 || w.Timekeeper != "alice" || len(w.Days) != 7 {
		t.Fatalf("week: %+v", w)
	}
	type row struct {
		dict, draft, appr, target, short float64
		empty                            bool
	}
	want := []row{
		{1, 1, 2, 6.5, 3.5, false},   // Mon
		{0, 0, 0, 6.5, 6.5, true},    // Tue (bob's entry does not count)
		{6.5, 0, 6.5, 6.5, 0, false}, // Wed: target met
		{0, 0.5, 0, 6.5, 6, false},   // Thu
		{0, 0, 0, 6.5, 6.5, true},    // Fri (today)
		{1, 1, 0, 0, 0, false},       // Sat: no target
		{0, 0, 0, 0, 0, false},       // Sun: in the future
	}
	for i, d := range w.Days {
		g := row{d.Dictated, d.Draft, d.Approved, d.Target, d.Short, d.Empty}
		if g != want[i] {
			t.Errorf("%s %s: got %+v want %+v", d.Weekday, d.Date, g, want[i])
		}
	}
	if !strings.HasPrefix(w.Days[0].Inbox, "/inbox#entry-ent_") || w.Days[2].Inbox != "" || w.Days[2].ApprovedLink != "/approved?from=2026-11-18&to=2026-11-18" {
		t.Errorf("links: %+v %+v", w.Days[0], w.Days[2])
	}
	tot := w.Totals
	if tot.Target != 32.5 || tot.Dictated != 8.5 || tot.Draft != 2.5 || tot.Approved != 8.5 || tot.Empty != 2 {
		t.Errorf("totals: %+v", tot)
	}
	if w.Prev != "2026-W46" || w.Next != "2026-W48" {
		t.Errorf("prev/next: %s %s", w.Prev, w.Next)
	}

	// the page shows the same numbers
	page := r.do("GET", "/week?week=2026-W47", "alice", nil)
	body := string(page.Body)
	if page.Status != 200 || strings.Count(body, "Nothing recorded") != 2 || !strings.Contains(body, "Drafts in the inbox") || !strings.Contains(body, "32.5</span> h target") {
		t.Errorf("page %d: %s", page.Status, body)
	}
	// default is this week; refusals
	if res := r.do("GET", "/api/v1/timesheet", "alice", nil); res.Status != 200 || !strings.Contains(string(res.Body), `"week":"2026-W47"`) {
		t.Errorf("default week: %d %s", res.Status, res.Body)
	}
	for _, q := range []string{"2026-47", "2026-W54", "2026-W00", "26-W47", "2026-Wxx", "1999-W01"} {
		if res := r.do("GET", "/api/v1/timesheet?week="+q, "alice", nil); res.Status != 422 || !strings.Contains(string(res.Body), "week") {
			t.Errorf("week %q: %d %s", q, res.Status, res.Body)
		}
	}
}

func TestParseWeek(t *testing.T) {
	for w, mon := range map[string]string{"2026-W01": "2025-12-29", "2026-W47": "2026-11-16", "2026-W53": "2026-12-28", "2021-W53": "2022-01-03"} {
		d, err := timesheet.ParseWeek(w)
		if err == nil && w == "2021-W53" {
			t.Errorf("2021 has no week 53, got %s", d)
			continue
		}
		if w != "2021-W53" && (err != nil || d.Format("2006-01-02") != mon) {
			t.Errorf("%s: %v %v, want %s", w, d, err, mon)
		}
	}
}
