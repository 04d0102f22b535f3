package store_test

import (
	"context"
	"testing"
	"time"

	"dictum/internal/store"
	"dictum/internal/testrig"
)

// The retention window counts from the last close: closing stamps closed_at, reopening
// clears it, closing again restarts it; a matter created closed is stamped at creation.
func TestMatterClosedAt(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithStoreClock())
	bill := w.User("bill").Actor()
	m := w.Matter("2026-001")
	if m.ClosedAt != nil {
		t.Fatalf("open matter has closed_at %v", *m.ClosedAt)
	}
	if c := w.Matter("2025-090"); c.ClosedAt == nil || *c.ClosedAt != testrig.Start.Format(time.RFC3339Nano) {
		t.Fatalf("matter created closed: %v", c.ClosedAt)
	}
	status := func(s string) *store.Matter {
		t.Helper()
		got, err := w.Store.UpdateMatter(ctx, bill, m.ID, store.MatterPatch{Status: &s})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	w.Clock.Advance(time.Hour)
	first := status("closed")
	if first.ClosedAt == nil || *first.ClosedAt != w.Clock.Now().UTC().Format(time.RFC3339Nano) {
		t.Fatalf("closing: %v", first.ClosedAt)
	}
	w.Clock.Advance(time.Hour)
	name := "Renamed"
	if got, err := w.Store.UpdateMatter(ctx, bill, m.ID, store.MatterPatch{Name: &name}); err != nil || *got.ClosedAt != *first.ClosedAt {
		t.Fatalf("an edit of a closed matter moved closed_at: %v %v", got, err)
	}
	if got := status("open"); got.ClosedAt != nil {
		t.Fatalf("reopening kept closed_at %v", *got.ClosedAt)
	}
	w.Clock.Advance(time.Hour)
	again := status("closed")
	if again.ClosedAt == nil || *again.ClosedAt == *first.ClosedAt {
		t.Fatalf("closing again must restart the window: %v", again.ClosedAt)
	}
	read, err := w.Store.MatterByID(ctx, m.ID)
	if err != nil || read.ClosedAt == nil || *read.ClosedAt != *again.ClosedAt {
		t.Fatalf("read back: %+v %v", read, err)
	}
}
