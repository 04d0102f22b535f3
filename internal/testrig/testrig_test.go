package testrig_test

import (
	"context"
	"testing"
	"time"

	"dictum/internal/auth"
	"dictum/internal/config"
	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/vault"
)

func TestNewWorld(t *testing.T) {
	ctx := context.Background()
	w := testrig.New(t)
	if err := w.Config.Validate(); err != nil {
		t.Fatalf("world config is not valid: %v", err)
	}
	keys, err := vault.Load(w.Config.MasterKeyPath())
	if err != nil || keys.Fingerprint() != w.Keys.Fingerprint() {
		t.Fatalf("master key on disk: %v", err)
	}
	roles := map[string]int{}
	for _, spec := range testrig.DefaultUsers() {
		u := w.User(spec.Username)
		roles[u.Role]++
		if auth.Verify(u.Password, u.PasswordHash) != nil {
			t.Errorf("%s: password does not match the stored hash", u.Username)
		}
		got, err := w.Store.UserByTokenHash(ctx, auth.HashToken(u.Token))
		if err != nil || got.ID != u.ID {
			t.Errorf("%s: token does not lead to the user: %v", u.Username, err)
		}
	}
	if roles[store.RoleTimekeeper] != 2 || roles[store.RoleBilling] != 1 || roles[store.RoleAdmin] != 1 {
		t.Errorf("roles: %v", roles)
	}
	open, _ := w.Store.Matters(ctx, "open", "")
	closed, _ := w.Store.Matters(ctx, "closed", "")
	if len(open) != 3 || len(closed) != 1 || w.Matter("2025-090").Status != "closed" {
		t.Errorf("matters: %d open, %d closed", len(open), len(closed))
	}
	if id, _, err := func() (string, int64, error) {
		bw, err := w.Blobs.Create()
		if err != nil {
			return "", 0, err
		}
		bw.Write([]byte("audio"))
		return bw.Commit()
	}(); err != nil || id == "" {
		t.Errorf("blob store: %v", err)
	}
}

func TestOptions(t *testing.T) {
	w := testrig.New(t,
		testrig.WithUsers(testrig.UserSpec{Username: "tk", Role: store.RoleTimekeeper, Password: "pw-tk-long-enough"}),
		testrig.WithMatters(),
		testrig.WithConfig(func(c *config.Config) { c.Firm.Name = "Hale & Pike" }),
		testrig.WithStoreClock(),
		testrig.WithSetup(func(w *testrig.World) { w.AddUser("boss", store.RoleAdmin, "pw-boss-long-enough") }),
	)
	if len(w.Users) != 2 || len(w.Matters) != 0 || w.Config.Firm.Name != "Hale & Pike" {
		t.Fatalf("users %d, matters %d, firm %q", len(w.Users), len(w.Matters), w.Config.Firm.Name)
	}
	if w.Store.Now() != testrig.Start {
		t.Fatalf("store clock: %v", w.Store.Now())
	}
	if got := w.Clock.Advance(time.Hour); !got.Equal(testrig.Start.Add(time.Hour)) || !w.Store.Now().Equal(got) {
		t.Fatalf("advance: %v, store %v", got, w.Store.Now())
	}
}
