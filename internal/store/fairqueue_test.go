package store_test

import (
	"context"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// One lawyer's 40 uploads enqueued at once must not starve another's single one: the queue
// serves the lawyer served least recently first, so bob's one recording is the second job
// claimed, and alice's jobs still run in upload order.
func TestClaimJobFairBetweenLawyers(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	s := w.Store
	alice, bob := w.User("alice"), w.User("bob")
	blob := "b"
	enqueue := func(uid int64) string {
		t.Helper()
		r := &store.Recording{UserID: uid, BlobID: &blob, Format: "wav"}
		if err := s.CreateRecording(ctx, identity.Actor{}, r, 3); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	var aliceIDs []string
	for range 40 {
		aliceIDs = append(aliceIDs, enqueue(alice.ID))
	}
	bobID := enqueue(bob.ID)
	var order []string
	for {
		j, err := s.ClaimJob(ctx, store.JobTranscribe)
		if err != nil {
			break
		}
		order = append(order, j.Ref)
		if err := s.CompleteJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(order) != 41 {
		t.Fatalf("claimed %d jobs, want 41", len(order))
	}
	if order[0] != aliceIDs[0] || order[1] != bobID {
		t.Fatalf("bob's recording was claimed at position %d, want 2 (after alice's first)", indexOf(order, bobID)+1)
	}
	for i, id := range append(order[:1:1], order[2:]...) {
		if id != aliceIDs[i] {
			t.Fatalf("alice's recordings out of upload order at %d", i)
		}
	}
	// A lawyer who uploads later while alice's batch is still queued is served next too.
	for range 5 {
		enqueue(alice.ID)
	}
	j, _ := s.ClaimJob(ctx, store.JobTranscribe)
	_ = s.CompleteJob(ctx, j.ID)
	late := enqueue(bob.ID)
	if j, err := s.ClaimJob(ctx, store.JobTranscribe); err != nil || j.Ref != late {
		t.Fatalf("bob's late upload not served next: %+v %v", j, err)
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
