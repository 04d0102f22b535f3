package clio

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/testrig/cliofake"
)

// memLedger is an in-memory Ledger whose state survives "restarts" (new Syncers).
type memLedger struct {
	mu      sync.Mutex
	items   []PushItem
	intent  map[string]bool
	synced  map[string]int64
	failed  map[string]string
	calls   []string
	pending error
	// failSynced makes MarkSynced fail for an entry (a crash between POST and commit).
	failSynced map[string]bool
	failIntent map[string]bool
	// onIntent runs inside MarkIntent (to crash the process right after it, say).
	onIntent func(entryID string)
}

func newLedger(items ...PushItem) *memLedger {
	return &memLedger{items: items, intent: map[string]bool{}, synced: map[string]int64{}, failed: map[string]string{},
		failSynced: map[string]bool{}, failIntent: map[string]bool{}}
}

func (l *memLedger) Pending(ctx context.Context) ([]PushItem, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending != nil {
		return nil, l.pending
	}
	var out []PushItem
	for _, it := range l.items {
		if _, done := l.synced[it.EntryID]; done {
			continue
		}
		it.Intent = l.intent[it.EntryID]
		out = append(out, it)
	}
	return out, nil
}

func (l *memLedger) MarkIntent(ctx context.Context, id string) error {
	l.mu.Lock()
	l.calls = append(l.calls, "intent "+id)
	if l.failIntent[id] {
		l.mu.Unlock()
		return errors.New("database is locked")
	}
	l.intent[id] = true
	hook := l.onIntent
	l.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	return nil
}

func (l *memLedger) MarkSynced(ctx context.Context, id string, clioID int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("synced %s %d", id, clioID))
	if l.failSynced[id] {
		return errors.New("power lost before commit")
	}
	l.synced[id] = clioID
	return nil
}

func (l *memLedger) MarkFailed(ctx context.Context, id, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "failed "+id)
	l.failed[id] = reason
	return nil
}

func items() []PushItem {
	return []PushItem{
		{EntryID: "e-1", Date: "2026-11-02", Hours: 13, ClioMatterID: 101, ClioUserID: 201, Narrative: "Draft complaint", Billable: true, UTBMS: true, Activity: "A103", Task: "L210"},
		{EntryID: "e-2", Date: "2026-11-02", Hours: 3, ClioMatterID: 101, ClioUserID: 202, Narrative: "Call with client", Billable: true, Activity: "A106", Task: "L120"},
		{EntryID: "e-3", Date: "2026-11-03", Hours: 1, ClioMatterID: 102, Narrative: "Internal note", Billable: false},
	}
}

func syncedIDs(r Report) []string {
	var out []string
	for _, s := range r.Synced {
		out = append(out, s.EntryID)
	}
	sort.Strings(out)
	return out
}

func TestPushCreatesEachEntryOnce(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	l := newLedger(items()...)
	rep, err := NewSyncer(c).Push(context.Background(), l)
	if err != nil || len(rep.Failed) != 0 || strings.Join(syncedIDs(rep), ",") != "e-1,e-2,e-3" {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	acts := f.Activities()
	if len(acts) != 3 {
		t.Fatalf("%d activities in Clio", len(acts))
	}
	byMarker := map[string]cliofake.Activity{}
	for _, a := range acts {
		for _, id := range []string{"e-1", "e-2", "e-3"} {
			if hasMarker(a.Note, id) {
				byMarker[id] = a
			}
		}
	}
	a1, a2, a3 := byMarker["e-1"], byMarker["e-2"], byMarker["e-3"]
	if a1.Quantity != 4680 || a1.Date != "2026-11-02" || a1.Matter.ID != 101 || a1.User == nil || a1.User.ID != 201 ||
		a1.ActivityDescriptionID != 71 || a1.NonBillable || a1.Note != "Draft complaint\n[dictum:e-1]" {
		t.Errorf("e-1 in Clio = %+v", a1)
	}
	if a2.Quantity != 1080 || a2.ActivityDescriptionID != 0 {
		t.Errorf("e-2 (not a UTBMS matter) = %+v; codes must not be sent", a2)
	}
	if !a3.NonBillable || a3.User != nil {
		t.Errorf("e-3 = %+v", a3)
	}
	for _, s := range rep.Synced {
		if l.synced[s.EntryID] != s.ClioID || s.Reconciled {
			t.Errorf("ledger %s = %d, report %+v", s.EntryID, l.synced[s.EntryID], s)
		}
	}
	// Intent is recorded before each send.
	want := []string{"intent e-1", "synced e-1 9001", "intent e-2", "synced e-2 9002", "intent e-3", "synced e-3 9003"}
	if strings.Join(l.calls, ";") != strings.Join(want, ";") {
		t.Errorf("ledger calls = %v", l.calls)
	}
	// A second push has nothing to do.
	rep, err = NewSyncer(c).Push(context.Background(), l)
	if err != nil || len(rep.Synced)+len(rep.Failed) != 0 || f.Count("POST /api/v4/activities.json") != 3 {
		t.Fatalf("second push = %+v, %v", rep, err)
	}
}

// A crash between Clio's answer and the local commit: MarkSynced fails. After a restart
// (new client, new syncer, same ledger) the entry is found in Clio, not sent again.
func TestPushCrashBetweenPostAndCommit(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger(items()...)
	l.failSynced["e-2"] = true
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].EntryID != "e-2" || !strings.Contains(rep.Failed[0].Error(), "not recorded locally") {
		t.Fatalf("failed = %+v", rep.Failed)
	}
	if strings.Join(syncedIDs(rep), ",") != "e-1,e-3" {
		t.Fatalf("synced = %v", syncedIDs(rep))
	}
	// Restart.
	l.failSynced = map[string]bool{}
	rep, err = NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Failed) != 0 || len(rep.Synced) != 1 || !rep.Synced[0].Reconciled || rep.Synced[0].ClioID != 9002 {
		t.Fatalf("after restart: %+v, %v", rep, err)
	}
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		if n := countMarker(f, id); n != 1 {
			t.Errorf("entry %s is in Clio %d times, want 1", id, n)
		}
	}
	if n := f.Count("POST /api/v4/activities.json"); n != 3 {
		t.Errorf("%d POSTs, want 3", n)
	}
}

// The process dies while the POST is in flight (Clio created the entry, the answer never
// arrived): the syncer is abandoned with its context. A new syncer reconciles.
func TestPushAbandonedAfterPost(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger(items()...)
	f.AddFault("POST /api/v4/activities.json", cliofake.Fault{AfterCreate: true, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// "Crash" once the first entry exists in Clio.
		defer cancel()
		for deadline := time.Now().Add(10 * time.Second); countMarker(f, "e-1") == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(ctx, l)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if len(rep.Synced) != 0 || len(l.synced) != 0 || !l.intent["e-1"] || l.intent["e-2"] {
		t.Fatalf("state after crash: report %+v, synced %v, intent %v", rep, l.synced, l.intent)
	}
	rep, err = NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Failed) != 0 || strings.Join(syncedIDs(rep), ",") != "e-1,e-2,e-3" {
		t.Fatalf("after restart: %+v, %v", rep, err)
	}
	if !rep.Synced[0].Reconciled || rep.Synced[0].EntryID != "e-1" {
		t.Errorf("e-1 not reconciled: %+v", rep.Synced[0])
	}
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		if n := countMarker(f, id); n != 1 {
			t.Errorf("entry %s is in Clio %d times, want 1", id, n)
		}
	}
}

// The process dies after MarkIntent and before the POST: the next push finds nothing in
// Clio and sends it once.
func TestPushCrashAfterIntentBeforePost(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger(items()[:1]...)
	ctx, cancel := context.WithCancel(context.Background())
	l.onIntent = func(string) { cancel() }
	if _, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(ctx, l); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if countMarker(f, "e-1") != 0 || !l.intent["e-1"] {
		t.Fatalf("state: marker %d, intent %v", countMarker(f, "e-1"), l.intent)
	}
	l.onIntent = nil
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Synced) != 1 || rep.Synced[0].Reconciled || countMarker(f, "e-1") != 1 {
		t.Fatalf("after restart: %+v, %v, count %d", rep, err, countMarker(f, "e-1"))
	}
}

func TestPushServerErrors(t *testing.T) {
	tests := []struct {
		name           string
		faults         []cliofake.Fault
		wantReconciled bool
		wantPosts      int
	}{
		{"500 before create, then success", []cliofake.Fault{{Status: 500}}, false, 2},
		{"created but answered 500", []cliofake.Fault{{Status: 502, AfterCreate: true}}, true, 1},
		{"429 then success", []cliofake.Fault{{Status: 429, RetryAfter: "5"}}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeClio(t)
			sl := &sleeps{}
			l := newLedger(items()[1])
			f.AddFault("POST /api/v4/activities.json", tt.faults...)
			rep, err := NewSyncer(connect(t, f, sl, nil)).Push(context.Background(), l)
			if err != nil || len(rep.Failed) != 0 || len(rep.Synced) != 1 {
				t.Fatalf("report = %+v, %v", rep, err)
			}
			if rep.Synced[0].Reconciled != tt.wantReconciled {
				t.Errorf("reconciled = %v", rep.Synced[0].Reconciled)
			}
			if n := f.Count("POST /api/v4/activities.json"); n != tt.wantPosts {
				t.Errorf("POSTs = %d, want %d", n, tt.wantPosts)
			}
			if n := countMarker(f, "e-2"); n != 1 {
				t.Errorf("entry in Clio %d times", n)
			}
			if len(sl.all()) == 0 {
				t.Errorf("no wait before retrying")
			}
		})
	}
}

func TestPushGivesUpAfterUnknownOutcomes(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger(items()[1])
	f.AddFault("POST /api/v4/activities.json", cliofake.Fault{Status: 500}, cliofake.Fault{Status: 500}, cliofake.Fault{Status: 500}, cliofake.Fault{Status: 500})
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Failed) != 1 || !errors.Is(rep.Failed[0], ErrOutcomeUnknown) {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if f.Count("POST /api/v4/activities.json") != 3 || l.failed["e-2"] == "" || !l.intent["e-2"] {
		t.Fatalf("posts %d, failed %q, intent %v", f.Count("POST /api/v4/activities.json"), l.failed["e-2"], l.intent["e-2"])
	}
	// Next run: reconcile first (nothing there), then send.
	rep, err = NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Synced) != 1 || countMarker(f, "e-2") != 1 {
		t.Fatalf("retry run = %+v, %v", rep, err)
	}
}

func TestPushPerEntryFailuresAreReported(t *testing.T) {
	f := newFakeClio(t)
	bad := []PushItem{
		{EntryID: "no-matter", Date: "2026-11-02", Hours: 3, Billable: true},
		{EntryID: "bad date", Date: "02/11/2026", Hours: 0, ClioMatterID: 101},
		{EntryID: "no-desc", Date: "2026-11-02", Hours: 3, ClioMatterID: 101, UTBMS: true, Activity: "A101", Task: "L110", Billable: true},
		{EntryID: "no-codes", Date: "2026-11-02", Hours: 3, ClioMatterID: 101, UTBMS: true, Billable: true},
		{EntryID: "unknown-matter", Date: "2026-11-02", Hours: 3, ClioMatterID: 999, Billable: true},
		{EntryID: "intent-fails", Date: "2026-11-02", Hours: 3, ClioMatterID: 101, Billable: true},
		items()[1],
		items()[1], // listed twice by a buggy ledger: sent once
	}
	l := newLedger(bad...)
	l.failIntent["intent-fails"] = true
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(syncedIDs(rep), ",") != "e-2" {
		t.Errorf("synced = %v", syncedIDs(rep))
	}
	failed := map[string]string{}
	for _, fe := range rep.Failed {
		failed[fe.EntryID] = fe.Error()
	}
	wantFail := map[string]string{
		"no-matter":      "not linked to a Clio matter",
		"bad date":       "cannot be used as a Clio marker",
		"no-desc":        "no Clio activity description carries UTBMS activity A101 with task L110",
		"no-codes":       "lacks an activity or task code",
		"unknown-matter": "Matter can't be blank",
		"intent-fails":   "could not record the intent",
	}
	if len(failed) != len(wantFail) {
		t.Errorf("failed = %v", failed)
	}
	for id, msg := range wantFail {
		if !strings.Contains(failed[id], msg) {
			t.Errorf("%s: error %q does not contain %q", id, failed[id], msg)
		}
		if l.failed[id] == "" {
			t.Errorf("%s: MarkFailed not called", id)
		}
	}
	for _, id := range []string{"no-matter", "bad date", "no-desc", "no-codes", "intent-fails"} {
		if l.intent[id] {
			t.Errorf("%s: intent recorded for an entry that was never sent", id)
		}
	}
	if n := f.Count("POST /api/v4/activities.json"); n != 2 { // unknown-matter (422) and e-2
		t.Errorf("POSTs = %d, want 2", n)
	}
	if n := f.Count("GET /api/v4/activity_descriptions.json"); n != 2 {
		t.Errorf("activity description pages fetched %d times, want 2 (3 records, 2 per page, listed once per push)", n)
	}
}

func TestPushReconcileFailureDoesNotResend(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger(items()[1])
	l.intent["e-2"] = true // an earlier push may have sent it
	f.AddFault("GET /api/v4/activities.json", cliofake.Fault{Status: 403})
	rep, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l)
	if err != nil || len(rep.Failed) != 1 || f.Count("POST /api/v4/activities.json") != 0 {
		t.Fatalf("report %+v, err %v, posts %d", rep, err, f.Count("POST /api/v4/activities.json"))
	}
}

func TestPushLedgerError(t *testing.T) {
	f := newFakeClio(t)
	l := newLedger()
	l.pending = errors.New("no such table")
	if _, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Push(context.Background(), l); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("err = %v", err)
	}
}

func TestImport(t *testing.T) {
	f := newFakeClio(t)
	res, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Import(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matters) != 5 || len(res.Users) != 3 || len(res.Clients) != 3 {
		t.Fatalf("import = %d matters, %d users, %d clients", len(res.Matters), len(res.Users), len(res.Clients))
	}
	f.AddFault("GET /api/v4/contacts.json", cliofake.Fault{Status: 403})
	if _, err := NewSyncer(connect(t, f, &sleeps{}, nil)).Import(context.Background()); err == nil || !strings.Contains(err.Error(), "clients") {
		t.Fatalf("err = %v", err)
	}
}
