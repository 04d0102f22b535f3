package entry

import (
	"errors"
	"testing"
	"time"

	"dictum/internal/identity"
)

func TestRules(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	recent := now.Add(-24 * time.Hour)
	old := now.Add(-31 * 24 * time.Hour)
	owner := identity.Actor{UserID: 1, Role: "timekeeper"}
	other := identity.Actor{UserID: 2, Role: "timekeeper"}
	billing := identity.Actor{UserID: 3, Role: "billing"}
	admin := identity.Actor{UserID: 4, Role: "admin"}
	draft := State{OwnerID: 1, Status: Draft}
	approved := State{OwnerID: 1, Status: Approved}
	exported := State{OwnerID: 1, Status: Exported}
	deleted := State{OwnerID: 1, Status: Draft, DeletedAt: &recent}
	expired := State{OwnerID: 1, Status: Draft, DeletedAt: &old}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"owner views", CanView(owner, draft), nil},
		{"other cannot view", CanView(other, draft), ErrNotFound},
		{"billing views", CanView(billing, approved), nil},
		{"owner edits draft", CanEdit(owner, draft), nil},
		{"other edit is not found", CanEdit(other, draft), ErrNotFound},
		{"billing cannot edit", CanEdit(billing, draft), ErrForbidden},
		{"approved is read-only", CanEdit(owner, approved), ErrConflict},
		{"exported locked", CanEdit(owner, exported), ErrConflict},
		{"deleted not editable", CanEdit(owner, deleted), ErrConflict},
		{"owner approves", CanApprove(owner, draft), nil},
		{"admin cannot approve others", CanApprove(admin, draft), ErrForbidden},
		{"other approve not found", CanApprove(other, draft), ErrNotFound},
		{"approve twice", CanApprove(owner, approved), ErrConflict},
		{"reopen approved", CanReopen(owner, approved), nil},
		{"billing reopens", CanReopen(billing, approved), nil},
		{"reopen exported", CanReopen(owner, exported), ErrConflict},
		{"reopen draft", CanReopen(owner, draft), ErrConflict},
		{"delete draft", CanDelete(owner, draft), nil},
		{"delete exported", CanDelete(owner, exported), ErrConflict},
		{"other delete", CanDelete(other, draft), ErrNotFound},
		{"reopen while syncing", CanReopen(owner, State{OwnerID: 1, Status: Approved, Syncing: true}), ErrConflict},
		{"delete while syncing", CanDelete(owner, State{OwnerID: 1, Status: Approved, Syncing: true}), ErrConflict},
		{"restore recent", CanRestore(owner, deleted, now), nil},
		{"admin restores", CanRestore(admin, deleted, now), nil},
		{"restore after grace", CanRestore(owner, expired, now), ErrConflict},
		{"restore not deleted", CanRestore(owner, draft, now), ErrConflict},
	}
	for _, tc := range cases {
		if tc.want == nil && tc.err != nil || tc.want != nil && !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func TestComplete(t *testing.T) {
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ok := Fields{MatterID: "M-1", Date: "2026-11-20", Tenths: 3, Activity: "A103", Narrative: "Drafted motion."}
	if err := Complete(ok, today); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mut  func(*Fields)
	}{
		{"no matter", func(f *Fields) { f.MatterID = "" }},
		{"zero hours", func(f *Fields) { f.Tenths = 0 }},
		{"too many hours", func(f *Fields) { f.Tenths = 241 }},
		{"bad activity", func(f *Fields) { f.Activity = "A999" }},
		{"no activity", func(f *Fields) { f.Activity = "" }},
		{"bad task", func(f *Fields) { f.Task = "X1" }},
		{"future date", func(f *Fields) { f.Date = "2026-11-21" }},
		{"bad date", func(f *Fields) { f.Date = "20/11/2026" }},
		{"empty narrative", func(f *Fields) { f.Narrative = "  " }},
	}
	for _, tc := range cases {
		f := ok
		tc.mut(&f)
		if err := Complete(f, today); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}

func TestTenthsFromHours(t *testing.T) {
	cases := []struct {
		h    float64
		inc  int
		want int
	}{
		{0.3, 6, 3}, {0.25, 6, 3}, {1, 6, 10}, {0, 6, 0}, {2.3, 6, 23}, {0.01, 6, 1},
		{0.3, 15, 5}, {1.0, 15, 10}, {0.1, 10, 2}, {24, 6, 240},
	}
	for _, tc := range cases {
		got, err := TenthsFromHours(tc.h, tc.inc)
		if err != nil || got != tc.want {
			t.Errorf("TenthsFromHours(%v,%d) = %d, %v; want %d", tc.h, tc.inc, got, err, tc.want)
		}
	}
	for _, bad := range []float64{-1, 24.1} {
		if _, err := TenthsFromHours(bad, 6); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestListScope(t *testing.T) {
	tk := identity.Actor{UserID: 1, Role: "timekeeper"}
	bill := identity.Actor{UserID: 3, Role: "billing"}
	for _, tc := range []struct {
		name       string
		a          identity.Actor
		mine       bool
		timekeeper string
		want       ListOwner
	}{
		{"timekeeper gets own", tk, false, "", ListOwner{UserID: 1}},
		{"timekeeper cannot name another", tk, false, "bob", ListOwner{UserID: 1}},
		{"billing gets everyone", bill, false, "", ListOwner{}},
		{"billing names one", bill, false, "bob", ListOwner{Timekeeper: "bob"}},
		{"billing asks for own", bill, true, "bob", ListOwner{UserID: 3}},
	} {
		if got := ListScope(tc.a, tc.mine, tc.timekeeper); got != tc.want {
			t.Errorf("%s: ListScope = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
