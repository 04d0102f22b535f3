package access_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"dictum/internal/access"
	"dictum/internal/settings"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

func TestShareTokenHashedExpiresAndLimited(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t, testrig.WithMatters())
	now := w.Clock.Now()
	clock := func() time.Time { return now }
	svc := access.New(w.Store, settings.New(w.Store), clock)
	m := w.AddMatter(store.Matter{Number: "S-1", Client: "C", Name: "Shared"})
	bill := w.User("bill").Actor()
	for _, bad := range []access.ShareRequest{
		{From: "2026-11-02", To: "2026-11-01"},
		{From: "2026-11-01", To: "2026-11-30", ExpiresInDays: access.MaxShareDays + 1},
		{From: "2026-11-01", To: "2026-11-30", ExpiresInDays: -1},
		{From: "2026-11-01", To: "2026-11-30", Label: strings.Repeat("x", access.MaxLabelLen+1)},
	} {
		if _, err := svc.CreateShare(ctx, bill, m.ID, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	if _, err := svc.CreateShare(ctx, w.User("alice").Actor(), m.ID, access.ShareRequest{From: "2026-11-01", To: "2026-11-30"}); err == nil {
		t.Errorf("a timekeeper created a share link")
	}
	cr, err := svc.CreateShare(ctx, bill, m.ID, access.ShareRequest{From: "2026-11-01", To: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	// Default expiry: 14 days.
	if exp, _ := time.Parse(time.RFC3339, cr.Share.ExpiresAt); exp.Sub(now).Round(time.Hour) != access.DefaultShareDays*24*time.Hour {
		t.Errorf("expires at %s, want %d days after %s", cr.Share.ExpiresAt, access.DefaultShareDays, now)
	}
	// Stored as its SHA-256 only.
	if _, err := w.Store.ShareByTokenHash(ctx, access.HashToken(cr.Token)); err != nil {
		t.Errorf("by hash: %v", err)
	}
	if _, err := w.Store.ShareByTokenHash(ctx, []byte(cr.Token)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the plain token finds the link: %v", err)
	}
	// 100 requests an hour per token, then *LimitedError with a wait.
	for i := 0; i < access.TokenPerHour; i++ {
		if _, err := svc.Open(ctx, cr.Token, "ip-"+string(rune('a'+i%26)), "page"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	var le *access.LimitedError
	if _, err := svc.Open(ctx, cr.Token, "ip-z", "page"); !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Fatalf("request 101: %v", err)
	}
	// Just before expiry it opens (an hour later, the bucket refilled); at expiry it is gone.
	now = now.Add(14*24*time.Hour - time.Second)
	if _, err := svc.Open(ctx, cr.Token, "ip-y", "page"); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := svc.Open(ctx, cr.Token, "ip-y", "page"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("at expiry: %v", err)
	}
}
