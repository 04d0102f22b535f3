package dictation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// TestEvalLearning is the learning loop of `make eval`: a scripted day where alice
// corrects a draft's matter once; the phrase she used must name the matter in her next
// dictation, must not change bob's drafts, must not beat a matter said explicitly, and
// must stop once the matter is closed.
func TestEvalLearning(t *testing.T) {
	w := testrig.New(t, testrig.WithMatters(
		store.Matter{Number: "2026-050", Client: "Seaview Holdings", Name: "Seaview marina purchase"},
		store.Matter{Number: "2026-002", Client: "Daniel Smith", Name: "Smith v. Jones", Litigation: true},
	))
	ctx := context.Background()
	svc := New(w.Store, nil, w.Config, w.Clock.Now)
	alice, bob := w.User("alice").Actor(), w.User("bob").Actor()
	marina, smith := w.Matter("2026-050").ID, w.Matter("2026-002").ID

	matterOf := func(a identity.Actor, text string) (string, string) {
		es, err := svc.FromText(ctx, a, text, "")
		if err != nil || len(es) != 1 {
			t.Fatalf("%s %q: %v (%d drafts)", a.Username, text, err, len(es))
		}
		m := ""
		if es[0].MatterID != nil {
			m = *es[0].MatterID
		}
		return m, es[0].ID
	}
	type step struct {
		name string
		ok   bool
	}
	var steps []step
	check := func(name string, ok bool) { steps = append(steps, step{name, ok}) }

	m, id := matterOf(alice, "Twenty minutes on the marina deal calling the broker.")
	check("before: no matter guessed", m == "")
	_, learned, err := svc.EditEntry(ctx, alice, id, store.EntryPatch{MatterID: &marina})
	check("correction learned 'marina deal'", err == nil && learned != nil && learned.Phrase == "marina deal" && learned.MatterID == marina)
	m, _ = matterOf(alice, "Point four on the marina deal reviewing the slip leases.")
	check("used on alice's next dictation", m == marina)
	m, _ = matterOf(bob, "Point four on the marina deal reviewing the slip leases.")
	check("no leak to bob", m == "")
	m, _ = matterOf(alice, "Smith v. Jones, point two on the marina deal question for opposing counsel.")
	check("explicit matter wins", m == smith)
	// the activity loop: a corrected activity teaches the words of the work
	actOf := func(a identity.Actor, text string) (string, string) {
		es, err := svc.FromText(ctx, a, text, "")
		if err != nil || len(es) != 1 {
			t.Fatalf("%s %q: %v", a.Username, text, err)
		}
		act := ""
		if es[0].Activity != nil {
			act = *es[0].Activity
		}
		return act, es[0].ID
	}
	act, id := actOf(alice, "Point four on Smith v. Jones, went over the lease.")
	a104 := "A104"
	_, learned, err = svc.EditEntry(ctx, alice, id, store.EntryPatch{Activity: &a104})
	check("activity correction learned 'went over'", act != "A104" && err == nil && learned != nil && learned.Phrase == "went over" && learned.Activity == "A104")
	act, _ = actOf(alice, "Point two on Smith v. Jones, went over the deposition outline.")
	check("activity used on alice's next dictation", act == "A104")
	act, _ = actOf(bob, "Point two on Smith v. Jones, went over the deposition outline.")
	check("activity alias does not reach bob", act != "A104")
	closed := "closed"
	if _, err := w.Store.UpdateMatter(ctx, identity.System(), marina, store.MatterPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	m, _ = matterOf(alice, "Point four on the marina deal reviewing the slip leases.")
	check("closed matter never used", m == "")

	passed := 0
	var failed []string
	for _, s := range steps {
		if s.ok {
			passed++
		} else {
			failed = append(failed, s.name)
		}
	}
	fmt.Printf("EVAL learning steps=%d passed=%d failed=[%s]\n", len(steps), passed, strings.Join(failed, "; "))
	if passed != len(steps) {
		t.Errorf("learning loop failed: %v", failed)
	}
}
