package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"dictum/internal/entry"
	"dictum/internal/store"
)

type dictEntry struct {
	ID         string  `json:"id"`
	Timekeeper string  `json:"timekeeper"`
	Matter     *string `json:"matter"`
	Date       string  `json:"date"`
	Hours      float64 `json:"hours"`
	Narrative  string  `json:"narrative"`
	Span       *string `json:"span"`
	Status     string  `json:"status"`
	Engine     string  `json:"engine"`
}

func TestDictationFromText(t *testing.T) {
	r := newRig(t)
	smith := r.matter("2026-002", "Daniel Smith", "Smith v. Jones")
	res := r.do("POST", "/api/v1/dictations", "alice", map[string]any{
		"text": "Yesterday: an hour on Smith v. Jones drafting the motion to compel. Then point three on Smith v. Jones emailing opposing counsel.",
	})
	if res.Status != 201 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	var out struct{ Entries []dictEntry }
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Entries) != 2 {
		t.Fatalf("entries: %s", res.Body)
	}
	for k, want := range []struct {
		hours float64
		span  string
	}{{1, "Yesterday: an hour"}, {0.3, "Then point three"}} {
		e := out.Entries[k]
		if e.Timekeeper != "alice" || e.Status != "draft" || e.Engine != "rules" || e.Matter == nil || *e.Matter != smith ||
			e.Date != "2026-11-19" || e.Hours != want.hours || e.Span == nil || !strings.HasPrefix(*e.Span, want.span) {
			t.Errorf("entry %d: %+v", k, e)
		}
		ev, err := r.st.AuditEvents(context.Background(), "entry", e.ID, 10)
		if err != nil || len(ev) == 0 || ev[0].Actor != "alice" || ev[0].Action != "entry.create" {
			t.Errorf("entry %d audit: %v %+v", k, err, ev)
		}
	}
	// the drafts are alice's: bob cannot see them
	if res := r.do("GET", "/api/v1/entries/"+out.Entries[0].ID, "bob", nil); res.Status != 404 {
		t.Errorf("bob reads alice's draft: %d", res.Status)
	}
	// "date" is the day the text speaks of
	res = r.do("POST", "/api/v1/dictations", "alice", map[string]any{"text": "point two on Smith v. Jones reviewing the order", "date": "2026-11-16"})
	if res.Status != 201 || !strings.Contains(string(res.Body), `"date":"2026-11-16"`) {
		t.Fatalf("dated dictation: %d %s", res.Status, res.Body)
	}
}

func TestDictationRefusals(t *testing.T) {
	r := newRig(t)
	before, err := r.st.Entries(context.Background(), store.EntryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no text", `{"date":"2026-11-19"}`, 400, `text\" is required`},
		{"empty text", `{"text":"   "}`, 422, "text is empty"},
		{"bad date", `{"text":"point two on Smith","date":"19/11/2026"}`, 422, "want YYYY-MM-DD"},
		{"future date", `{"text":"point two on Smith","date":"2026-11-21"}`, 422, "in the future"},
		{"too old", `{"text":"point two on Smith","date":"2025-01-02"}`, 422, "days ago"},
		{"too long", `{"text":"` + strings.Repeat("drafted ", 2100) + `"}`, 422, "longer than 16 KiB"},
		{"unknown field", `{"text":"x","matter":"m"}`, 400, "unknown field"},
		{"not JSON", `text=hello`, 400, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := r.do("POST", "/api/v1/dictations", "alice", tc.body)
			if res.Status != tc.status || !strings.Contains(string(res.Body), tc.msg) {
				t.Fatalf("got %d %s; want %d with %q", res.Status, res.Body, tc.status, tc.msg)
			}
		})
	}
	after, err := r.st.Entries(context.Background(), store.EntryFilter{})
	if err != nil || len(after) != len(before) {
		t.Fatalf("refused dictations changed the store: %d -> %d entries (%v)", len(before), len(after), err)
	}
}

// GET /api/v1/recordings/{id} lists every draft of a recording in spoken order.
func TestRecordingEntryIDs(t *testing.T) {
	r := newRig(t)
	up := r.do("POST", "/api/v1/recordings", "alice", tone(1), "Content-Type", "audio/wav")
	if up.Status != 202 && up.Status != 201 {
		t.Fatalf("upload: %d %s", up.Status, up.Body)
	}
	id, _ := up.json(t)["id"].(string)
	ctx := context.Background()
	if err := r.st.SetTranscript(ctx, id, "one. two.", "[]", 1000); err != nil {
		t.Fatal(err)
	}
	u := r.ids["alice"]
	ids, err := r.st.FinishRecordingEntries(ctx, id, []store.NewEntry{
		{UserID: u, Fields: draftFields("2026-11-20", "One."), Span: "one."},
		{UserID: u, Fields: draftFields("2026-11-20", "Two."), Span: "two."},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.do("GET", "/api/v1/recordings/"+id, "alice", nil).json(t)
	list, _ := got["entry_ids"].([]any)
	if got["entry_id"] != ids[0] || len(list) != 2 || list[0] != ids[0] || list[1] != ids[1] {
		t.Fatalf("recording: entry_id %v entry_ids %v, want %v", got["entry_id"], got["entry_ids"], ids)
	}
}

func draftFields(date, narrative string) entry.Fields {
	return entry.Fields{Date: date, Narrative: narrative, Billable: true}
}
