package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

func TestEntryEditRecordsFieldDiff(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	alice := w.User("alice")
	m1, m2 := w.Matters[0], w.Matters[1]
	e, err := w.Store.CreateEntry(ctx, alice.Actor(), store.NewEntry{UserID: alice.ID,
		Fields: entry.Fields{MatterID: m1.ID, Date: "2026-11-20", Tenths: 3, Activity: "A103", Narrative: "Secret client strategy.", Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	hours, narrative, matter, date := 5, "Other privileged words here", m2.ID, "2026-11-20" // date given but unchanged
	if _, err := w.Store.UpdateEntry(ctx, alice.Actor(), e.ID, store.EntryPatch{Tenths: &hours, Narrative: &narrative, MatterID: &matter, Date: &date}); err != nil {
		t.Fatal(err)
	}
	evs, err := w.Store.AuditQuery(ctx, store.AuditFilter{ObjectType: "entry", ObjectID: e.ID, Action: "entry.update"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("update events: %v %v", evs, err)
	}
	raw, _ := json.Marshal(evs[0].Detail["diff"])
	var diff map[string]map[string]any
	json.Unmarshal(raw, &diff)
	want := map[string]map[string]any{
		"hours":     {"from": 0.3, "to": 0.5},
		"matter":    {"from": m1.ID, "to": m2.ID},
		"narrative": {"from_chars": float64(len("Secret client strategy.")), "to_chars": float64(len(narrative))},
	}
	if fmt.Sprint(diff) != fmt.Sprint(want) {
		t.Errorf("diff = %s, want %v", raw, want)
	}
	all, _ := json.Marshal(evs[0].Detail)
	if strings.Contains(string(all), "Secret") || strings.Contains(string(all), "privileged") {
		t.Errorf("the audit detail holds narrative text: %s", all)
	}
	ch := evs[0].Changes()
	if len(ch) != 3 || ch[0].Field != "hours" || ch[0].From != "0.3" || ch[0].To != "0.5" || ch[2].From != "(23 characters)" {
		t.Errorf("Changes() = %+v", ch)
	}
}

func TestAuditFilters(t *testing.T) {
	ctx := context.Background()
	// The world's users, tokens and matters are made on the 19th; the events under test
	// happen from the 20th.
	w := testrig.New(t, testrig.WithStoreClock(), testrig.WithTime(time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)))
	s := w.Store
	alice, bob, bill := w.User("alice"), w.User("bob"), w.User("bill")
	m1, m2 := w.Matters[0], w.Matters[1]
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

	// Day 20: alice drafts on m1, ada logs in.
	w.Clock.Set(day(20).Add(15 * time.Hour))
	ea, err := s.CreateEntry(ctx, alice.Actor(), store.NewEntry{UserID: alice.ID, Fields: entry.Fields{MatterID: m1.ID, Date: "2026-11-20", Tenths: 3, Narrative: "A"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Audit(ctx, identity.Actor{Username: "ada", IP: "10.0.0.9"}, "login.ok", "user", "ada", nil)
	// Day 21: alice edits, bob drafts on m2.
	w.Clock.Set(day(21).Add(9 * time.Hour))
	h := 4
	if _, err := s.UpdateEntry(ctx, alice.Actor(), ea.ID, store.EntryPatch{Tenths: &h}); err != nil {
		t.Fatal(err)
	}
	eb, err := s.CreateEntry(ctx, bob.Actor(), store.NewEntry{UserID: bob.ID, Fields: entry.Fields{MatterID: m2.ID, Date: "2026-11-21", Tenths: 2, Narrative: "B"}})
	if err != nil {
		t.Fatal(err)
	}
	// Day 22, a minute before midnight: bill keeps an export of alice's entry; bob deletes his.
	w.Clock.Set(day(22).Add(23*time.Hour + 59*time.Minute))
	x := &store.Export{Format: "csv", Params: json.RawMessage(`{}`), EntryIDs: []string{ea.ID}, BlobID: "0123456789abcdef0123456789abcdef", Filename: "x.csv"}
	if err := s.SaveExport(ctx, bill.Actor(), x, 4, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteEntry(ctx, bob.Actor(), eb.ID); err != nil {
		t.Fatal(err)
	}

	key := func(e store.Event) string { return e.Action + " " + e.ObjectID }
	ent := func(action, id string) string { return action + " " + id }
	cases := []struct {
		name string
		f    store.AuditFilter
		want []string // exactly these (in any order) among the non-setup events
		all  bool     // want lists every event (setup included) instead
	}{
		{"action exact", store.AuditFilter{Action: "entry.update"}, []string{ent("entry.update", ea.ID)}, true},
		{"action prefix star", store.AuditFilter{Action: "entry.*"},
			[]string{ent("entry.create", ea.ID), ent("entry.update", ea.ID), ent("entry.create", eb.ID), ent("entry.delete", eb.ID)}, true},
		{"action prefix dot", store.AuditFilter{Action: "entry."},
			[]string{ent("entry.create", ea.ID), ent("entry.update", ea.ID), ent("entry.create", eb.ID), ent("entry.delete", eb.ID)}, true},
		{"action wildcard chars are literal", store.AuditFilter{Action: "entry_%"}, nil, true},
		{"user alice: her entry, not bob's, not ada's login", store.AuditFilter{User: "alice", From: day(20)},
			[]string{ent("entry.create", ea.ID), ent("entry.update", ea.ID)}, false},
		{"user is case-insensitive", store.AuditFilter{User: "ALICE", From: day(20)},
			[]string{ent("entry.create", ea.ID), ent("entry.update", ea.ID)}, false},
		{"user bill: what he did", store.AuditFilter{User: "bill", From: day(20)}, []string{ent("export.create", x.ID)}, false},
		{"user ada: her login", store.AuditFilter{User: "ada", From: day(20)}, []string{ent("login.ok", "ada")}, false},
		{"matter m1: its entry and the export holding it", store.AuditFilter{Matter: m1.ID, From: day(20)},
			[]string{ent("entry.create", ea.ID), ent("entry.update", ea.ID), ent("export.create", x.ID)}, false},
		{"matter m2", store.AuditFilter{Matter: m2.ID, From: day(20)}, []string{ent("entry.create", eb.ID), ent("entry.delete", eb.ID)}, false},
		{"one day", store.AuditFilter{From: day(21), To: day(22)}, []string{ent("entry.update", ea.ID), ent("entry.create", eb.ID)}, false},
		{"last second of a day is in it", store.AuditFilter{From: day(22), To: day(23)},
			[]string{ent("export.create", x.ID), ent("entry.delete", eb.ID)}, false},
		{"user and action", store.AuditFilter{User: "alice", Action: "entry.update"}, []string{ent("entry.update", ea.ID)}, true},
		{"matter and range", store.AuditFilter{Matter: m1.ID, From: day(21), To: day(22)}, []string{ent("entry.update", ea.ID)}, false},
		{"object", store.AuditFilter{ObjectType: "entry", ObjectID: eb.ID}, []string{ent("entry.create", eb.ID), ent("entry.delete", eb.ID)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.all && c.f.From.IsZero() {
				t.Fatal("a case that skips setup events needs From")
			}
			evs, err := s.AuditQuery(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, key(e))
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].ID >= evs[i-1].ID {
					t.Errorf("not newest first: %d then %d", evs[i-1].ID, evs[i].ID)
				}
			}
			// EachAudit streams the same set.
			n := 0
			if err := s.EachAudit(ctx, c.f, func(store.Event) error { n++; return nil }); err != nil || n != len(evs) {
				t.Errorf("EachAudit: %d events, %v; AuditQuery %d", n, err, len(evs))
			}
		})
	}

	// Paging: two at a time, newest first, covers everything exactly once.
	all, _ := s.AuditQuery(ctx, store.AuditFilter{Limit: 1000})
	var paged []int64
	f := store.AuditFilter{Limit: 2}
	for {
		page, err := s.AuditQuery(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		f.BeforeID = page[len(page)-1].ID
	}
	if len(paged) != len(all) || paged[0] != all[0].ID {
		t.Errorf("paging saw %d events, want %d", len(paged), len(all))
	}
}
