package store_test

import (
	"context"
	"errors"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// The wall rule, the one place that decides who sees a matter: every role against every
// kind of wall.
func TestMatterVisibilityRule(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithMatters())
	admin := w.User("ada")
	adminA := identity.Actor{UserID: admin.ID, Username: "ada", Role: identity.RoleAdmin}
	m := w.AddMatter(store.Matter{Number: "V-1", Client: "C", Name: "Walled"})
	type wall struct {
		restricted        bool
		members, screened []string
	}
	for _, tc := range []struct {
		name string
		wall wall
		sees map[string]bool // alice, bob (timekeepers), bill (billing), ada (admin)
	}{
		{"no wall", wall{}, map[string]bool{"alice": true, "bob": true, "bill": true, "ada": true}},
		{"restricted to alice", wall{true, []string{"alice"}, nil}, map[string]bool{"alice": true, "bob": false, "bill": true, "ada": true}},
		{"restricted, bill screened", wall{true, []string{"alice"}, []string{"bill"}}, map[string]bool{"alice": true, "bob": false, "bill": false, "ada": true}},
		{"open, bob screened", wall{false, nil, []string{"bob"}}, map[string]bool{"alice": true, "bob": false, "bill": true, "ada": true}},
		{"restricted, bob member", wall{true, []string{"alice", "bob"}, nil}, map[string]bool{"alice": true, "bob": true, "bill": true, "ada": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.Store.SetMatterAccess(ctx, adminA, store.MatterAccess{MatterID: m.ID, Restricted: tc.wall.restricted, Members: tc.wall.members, Screened: tc.wall.screened, Reason: tc.name}); err != nil {
				t.Fatal(err)
			}
			for who, want := range tc.sees {
				u := w.User(who)
				got, err := w.Store.MatterVisibleTo(ctx, u.ID, m.ID)
				if err != nil || got != want {
					t.Errorf("%s: visible %v (%v), want %v", who, got, err, want)
				}
				list, err := w.Store.MattersFor(ctx, u.ID, "", "")
				if err != nil {
					t.Fatal(err)
				}
				listed := false
				for _, x := range list {
					listed = listed || x.ID == m.ID
				}
				if listed != want {
					t.Errorf("%s: listed %v, want %v", who, listed, want)
				}
				_, err = w.Store.MatterFor(ctx, identity.Actor{UserID: u.ID, Username: who}, m.ID)
				if want != (err == nil) || (!want && !errors.Is(err, store.ErrNotFound)) {
					t.Errorf("%s: MatterFor err %v, want visible %v", who, err, want)
				}
			}
			// Dictum itself (UserID 0) always sees it.
			if ok, _ := w.Store.MatterVisibleTo(ctx, 0, m.ID); !ok {
				t.Errorf("the system does not see the matter")
			}
		})
	}
	// An unknown user or a user listed twice changes nothing.
	before, _ := w.Store.MatterAccessOf(ctx, m.ID)
	for _, bad := range []store.MatterAccess{
		{MatterID: m.ID, Restricted: true, Members: []string{"ghost"}},
		{MatterID: m.ID, Restricted: true, Members: []string{"alice"}, Screened: []string{"ALICE"}},
	} {
		if _, err := w.Store.SetMatterAccess(ctx, adminA, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	after, _ := w.Store.MatterAccessOf(ctx, m.ID)
	if after.Restricted != before.Restricted || len(after.Members) != len(before.Members) || len(after.Screened) != len(before.Screened) {
		t.Errorf("a refused change altered the wall: %+v -> %+v", before, after)
	}
}
