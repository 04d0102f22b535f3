package pipeline

import (
	"context"
	"strings"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/transcribe"
)

// A whole day in one recording gives one draft per entry, in spoken order, each with its
// span of the transcript and the date said once at the start; the recording's entry_id
// stays the first and a retried job does not draft again.
func TestQueueDraftsSeveralEntriesFromOneRecording(t *testing.T) {
	eng := &fakeEngine{text: "Yesterday: Smith versus Jones, two hours, no, make that two and a quarter, drafting the motion to compel. " +
		"Then point three on Smith versus Jones emailing opposing counsel. And ten minutes reviewing the court's order."}
	w := newQueueWorld(t, func() (transcribe.Transcriber, error) { return eng, nil })
	id := w.upload(t)
	if !w.step(t) {
		t.Fatal("no job")
	}
	ctx := context.Background()
	owner := identity.Actor{UserID: w.user.ID, Username: "alice", Role: store.RoleTimekeeper}
	r, err := w.Store.RecordingFor(ctx, owner, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RecDone || len(r.EntryIDs) != 3 || r.EntryID == nil || *r.EntryID != r.EntryIDs[0] {
		t.Fatalf("recording: status %s entry_id %v entry_ids %v", r.Status, r.EntryID, r.EntryIDs)
	}
	wants := []struct {
		tenths int
		span   string
	}{{23, "Yesterday: Smith versus Jones, two hours, no, make that two and a quarter"}, {3, "Then point three"}, {2, "And ten minutes"}}
	for k, eid := range r.EntryIDs {
		e, err := w.Store.EntryByID(ctx, eid)
		if err != nil {
			t.Fatal(err)
		}
		if e.Tenths != wants[k].tenths || e.Date != "2026-11-19" || e.Span == nil || !strings.HasPrefix(*e.Span, wants[k].span) || e.MatterID == nil {
			t.Errorf("entry %d: tenths %d date %s matter %v span %v", k, e.Tenths, e.Date, e.MatterID, e.Span)
		}
	}
	// the same drafts come back when the finish is retried (a crash after drafting)
	again, err := w.Store.FinishRecordingEntries(ctx, id, []store.NewEntry{{UserID: w.user.ID}})
	if err != nil || strings.Join(again, ",") != strings.Join(r.EntryIDs, ",") {
		t.Fatalf("retry gave %v, %v; want %v", again, err, r.EntryIDs)
	}
	list, err := w.Store.Recordings(ctx, w.user.ID, 10)
	if err != nil || len(list) != 1 || len(list[0].EntryIDs) != 3 {
		t.Fatalf("list: %v %+v", err, list)
	}
}
