package cliosync

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"dictum/internal/clio"
	"dictum/internal/config"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig/cliofake"
)

var clioKey = [32]byte{9, 9, 9}

// openStore creates a fresh keyed store in a temp dir.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	key := [32]byte{1, 2, 3}
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "dictum.db"), store.Options{Key: &key, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func auditCount(t *testing.T, s *store.Store, action, id string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM audit_events WHERE action = ? AND object_id = ?", action, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func assertNoSecretInAudit(t *testing.T, s *store.Store, secrets ...string) {
	t.Helper()
	rows, err := s.DB().Query("SELECT action || ' ' || detail FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		rows.Scan(&line)
		for _, sec := range secrets {
			if strings.Contains(line, sec) {
				t.Fatalf("audit event holds a secret: %s", line)
			}
		}
	}
}

func TestTokenSealed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := OpenToken(ctx, s, clioKey); !errors.Is(err, store.ErrClioNotConnected) {
		t.Fatalf("token before connect: %v", err)
	}
	if _, err := sealToken(clioKey, &oauth2.Token{}); err == nil {
		t.Fatal("an empty token was sealed")
	}
	tok := &oauth2.Token{AccessToken: "ACCESS-SECRET-1234", RefreshToken: "REFRESH-SECRET-5678", TokenType: "bearer", Expiry: time.Now().Add(time.Hour).Round(time.Second)}
	sealed, err := sealToken(clioKey, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConnectClio(ctx, identity.Actor{Username: "ada"}, "us", sealed); err != nil {
		t.Fatal(err)
	}
	var blob []byte
	if err := s.DB().QueryRow("SELECT token_blob FROM clio_connection WHERE id = 1").Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if len(blob) == 0 || bytes.Contains(blob, []byte("ACCESS-SECRET")) || bytes.Contains(blob, []byte("REFRESH-SECRET")) {
		t.Fatalf("token_blob holds the token in clear (%d bytes)", len(blob))
	}
	got, err := OpenToken(ctx, s, clioKey)
	if err != nil || got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken || !got.Expiry.Equal(tok.Expiry) {
		t.Fatalf("token round trip: %+v %v", got, err)
	}
	if _, err := OpenToken(ctx, s, [32]byte{1}); err == nil {
		t.Fatal("token opened with the wrong key")
	}
	// A refresh replaces the token.
	if err := SaveToken(ctx, s, clioKey, &oauth2.Token{AccessToken: "ACCESS-SECRET-2", RefreshToken: "REFRESH-SECRET-5678"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := OpenToken(ctx, s, clioKey); got.AccessToken != "ACCESS-SECRET-2" {
		t.Fatalf("refreshed token not saved: %+v", got)
	}
	if _, err := s.DisconnectClio(ctx, identity.Actor{Username: "ada"}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenToken(ctx, s, clioKey); !errors.Is(err, store.ErrClioNotConnected) {
		t.Fatalf("token after disconnect: %v", err)
	}
	if err := SaveToken(ctx, s, clioKey, tok); !errors.Is(err, store.ErrClioNotConnected) {
		t.Fatalf("a refresh after disconnect must not reconnect: %v", err)
	}
	assertNoSecretInAudit(t, s, "ACCESS-SECRET", "REFRESH-SECRET")
}

type ledgerWorld struct {
	s                   *store.Store
	alice, bob          *store.User
	linked, unlinked    *store.Matter
	draft, ok, noMatter string
	noUser, deleted     string
}

func newLedgerWorld(t *testing.T) *ledgerWorld {
	t.Helper()
	ctx := context.Background()
	s := openStore(t)
	w := &ledgerWorld{s: s}
	w.alice = &store.User{Username: "alice", Role: store.RoleTimekeeper, PasswordHash: "x"}
	w.bob = &store.User{Username: "bob", Role: store.RoleTimekeeper, PasswordHash: "x"}
	for _, u := range []*store.User{w.alice, w.bob} {
		if err := s.CreateUser(ctx, identity.Actor{Username: "test"}, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DB().Exec("UPDATE users SET clio_user_id = 201 WHERE id = ?", w.alice.ID); err != nil {
		t.Fatal(err)
	}
	cid := int64(101)
	w.linked = &store.Matter{Number: "2024-0100", Client: "Acme", Name: "Acme v. Beta", ClioID: &cid}
	w.unlinked = &store.Matter{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones"}
	for _, m := range []*store.Matter{w.linked, w.unlinked} {
		if err := s.CreateMatter(ctx, identity.Actor{Username: "test"}, m); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(u *store.User, matter string, approve bool) string {
		e, err := s.CreateEntry(ctx, identity.Actor{Username: u.Username}, store.NewEntry{UserID: u.ID, Fields: entry.Fields{
			MatterID: matter, Date: "2026-11-18", Tenths: 3, Activity: "A103", Narrative: "Drafted motion.", Billable: true}})
		if err != nil {
			t.Fatal(err)
		}
		if approve {
			p := identity.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}
			if _, err := s.Approve(ctx, p, e.ID, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
		}
		return e.ID
	}
	w.draft = mk(w.alice, w.linked.ID, false)
	w.ok = mk(w.alice, w.linked.ID, true)
	w.noMatter = mk(w.alice, w.unlinked.ID, true)
	w.noUser = mk(w.bob, w.linked.ID, true)
	w.deleted = mk(w.alice, w.linked.ID, true)
	if _, err := s.DeleteEntry(ctx, identity.Actor{UserID: w.alice.ID, Username: "alice", Role: store.RoleTimekeeper}, w.deleted); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestLedgerStates(t *testing.T) {
	ctx := context.Background()
	w := newLedgerWorld(t)
	s := w.s
	l := newLedger(s, identity.Actor{Username: "bill"})
	items, err := l.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].EntryID != w.ok {
		t.Fatalf("pending = %+v, want only %s (drafts, deleted and unlinked entries are not sendable)", items, w.ok)
	}
	it := items[0]
	if it.ClioMatterID != 101 || it.ClioUserID != 201 || it.Hours != 3 || it.Activity != "A103" || !it.Billable || it.Intent || it.Date != "2026-11-18" {
		t.Fatalf("item = %+v", it)
	}
	un, err := l.Unmapped(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, u := range un {
		reasons[u.EntryID] = u.Err.Error()
	}
	if len(un) != 2 ||
		!strings.Contains(reasons[w.noMatter], "matter 2024-0412 is not linked to a Clio matter; run import") ||
		!strings.Contains(reasons[w.noUser], "timekeeper bob is not linked to a Clio user") {
		t.Fatalf("unmapped = %v", reasons)
	}
	if only, _ := newLedger(s, identity.Actor{Username: "bill"}, w.noMatter).Pending(ctx); len(only) != 0 {
		t.Fatalf("ledger limited to one unmapped id lists %+v", only)
	}

	// Intent, then a failure: the intent is kept, the entry stays pending, and it is listed.
	if err := l.MarkIntent(ctx, w.ok); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkIntent(ctx, w.draft); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("intent on a draft: %v", err)
	}
	if err := l.MarkFailed(ctx, w.ok, "clio: POST /api/v4/activities.json: HTTP 502"); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkFailed(ctx, w.ok, "clio: POST /api/v4/activities.json: HTTP 502"); err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, s, "clio.failed", w.ok); n != 1 {
		t.Fatalf("repeating the same failure wrote %d audit events, want 1", n)
	}
	items, _ = l.Pending(ctx)
	if len(items) != 1 || !items[0].Intent {
		t.Fatalf("after failure with intent: %+v (the intent must survive MarkFailed)", items)
	}
	errs, err := s.ClioErrors(ctx)
	if err != nil || len(errs) != 1 || errs[0].EntryID != w.ok || !errs[0].MaybeInClio || !strings.Contains(errs[0].Message, "502") || errs[0].Matter != "2024-0100" {
		t.Fatalf("errors = %+v %v", errs, err)
	}
	counts, _ := s.ClioCounts(ctx)
	if counts != (store.ClioCounts{Pending: 2, Failed: 1, Synced: 0}) {
		t.Fatalf("counts = %+v", counts)
	}

	if err := l.MarkSynced(ctx, w.ok, 9001); err != nil {
		t.Fatal(err)
	}
	e, _ := s.EntryByID(ctx, w.ok)
	if e.Status != entry.Synced || e.ClioState == nil || *e.ClioState != "synced" || e.ClioError != nil {
		t.Fatalf("synced entry = %+v", e)
	}
	if _, err := s.Reopen(ctx, identity.Actor{UserID: w.alice.ID, Username: "alice", Role: store.RoleTimekeeper}, w.ok); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("reopen of a synced entry: %v", err)
	}
	// A late failure report cannot undo a sync.
	if err := l.MarkFailed(ctx, w.ok, "late"); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.EntryByID(ctx, w.ok); *e.ClioState != "synced" {
		t.Fatalf("MarkFailed overwrote a synced entry: %v", *e.ClioState)
	}
	if items, _ := l.Pending(ctx); len(items) != 0 {
		t.Fatalf("synced entry still pending: %+v", items)
	}
	for _, a := range []string{"clio.intent", "clio.failed", "clio.synced"} {
		if auditCount(t, s, a, w.ok) != 1 {
			t.Errorf("no %s audit event", a)
		}
	}
	if bad, _, err := s.VerifyAudit(ctx); err != nil || bad != 0 {
		t.Fatalf("audit chain broken at %d: %v", bad, err)
	}
}

// newService is a service for a store with Clio configured against a fake account.
func newService(t *testing.T, s *store.Store, f *cliofake.Server) *Service {
	cfg := &config.Config{Clio: config.Clio{ClientID: cliofake.ClientID, ClientSecret: cliofake.ClientSecret,
		RedirectURL: cliofake.RedirectURL, Region: "us", BaseURL: f.URL}}
	return New(Deps{Config: cfg, Store: s, TokenKey: clioKey, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
}

// connected stores a token the fake accepts, as if an admin had connected Clio.
func connected(t *testing.T, svc *Service) {
	t.Helper()
	if err := svc.connect(context.Background(), identity.Actor{Username: "ada"}, cliofake.GoodCode); err != nil {
		t.Fatal(err)
	}
}

func TestScheduledSync(t *testing.T) {
	ctx := context.Background()
	w := newLedgerWorld(t)
	f := cliofake.New(t)
	f.AddMatters(clio.Matter{ID: 101, DisplayNumber: "2024-0100", Status: "Open", Client: &clio.ClientRef{ID: 501, Name: "Acme"}})
	svc := newService(t, w.s, f)
	if err := svc.ScheduledSync(ctx); err == nil || !strings.Contains(err.Error(), "Clio is not connected") {
		t.Fatalf("not connected: %v", err)
	}
	connected(t, svc)
	if err := w.s.AcquireClioLease(ctx, "dictum-cli-sync", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := svc.ScheduledSync(ctx); err != nil {
		t.Fatalf("another sync running: %v (want it skipped)", err)
	}
	if err := w.s.ReleaseClioLease(ctx, "dictum-cli-sync"); err != nil {
		t.Fatal(err)
	}
	// The linked entry goes; the two unlinked ones fail the job.
	err := svc.ScheduledSync(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 entries failed") {
		t.Fatalf("scheduled sync: %v", err)
	}
	if n := len(f.Activities()); n != 1 {
		t.Fatalf("%d activities in Clio, want 1", n)
	}
	evs, _ := w.s.AuditEvents(ctx, "clio", "connection", 5)
	if len(evs) == 0 || evs[0].Action != "clio.sync" || evs[0].Actor != identity.System().Username {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestRetryLimit(t *testing.T) {
	svc := newService(t, openStore(t), cliofake.New(t))
	var ie *InputError
	if _, err := svc.Retry(context.Background(), identity.System(), make([]string, MaxRetryIDs+1)); !errors.As(err, &ie) || ie.Msg != "at most 5000 ids per retry" {
		t.Fatalf("err = %v", err)
	}
}

func TestFinishConnect(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	svc := newService(t, s, cliofake.New(t))
	svc.now = func() time.Time { return now }
	ada := &store.User{Username: "ada", Role: store.RoleAdmin, PasswordHash: "x"}
	if err := s.CreateUser(ctx, identity.Actor{Username: "test"}, ada); err != nil {
		t.Fatal(err)
	}
	start := func() string {
		t.Helper()
		u, err := svc.AuthorizeURL(ada.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return pu.Query().Get("state")
	}
	var se *StateError
	if _, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode, State: "unknown"}); !errors.As(err, &se) {
		t.Fatalf("unknown state: %v", err)
	}
	var ie *InputError
	if _, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode}); !errors.As(err, &ie) {
		t.Fatalf("no state: %v", err)
	}
	var de *DeniedError
	if _, err := svc.FinishConnect(ctx, Callback{Error: "access_denied", ErrorDescription: "no", State: "x"}); !errors.As(err, &de) || !strings.Contains(de.Msg, "access_denied no") {
		t.Fatalf("denied: %v", err)
	}
	expired := start()
	now = now.Add(StateTTL + time.Second)
	if _, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode, State: expired}); !errors.As(err, &se) {
		t.Fatalf("expired state: %v", err)
	}
	state := start()
	if _, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode, State: state, CallerID: ada.ID + 1}); !errors.As(err, &se) {
		t.Fatalf("another user's callback: %v", err)
	}
	state = start()
	if who, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode, State: state, IP: "192.0.2.1"}); err != nil || who != "ada" {
		t.Fatalf("connect: %q %v", who, err)
	}
	if _, err := svc.FinishConnect(ctx, Callback{Code: cliofake.GoodCode, State: state}); !errors.As(err, &se) {
		t.Fatalf("replayed state: %v", err)
	}
	if st, err := svc.Status(ctx); err != nil || !st.Connected || st.ConnectedBy != "ada" {
		t.Fatalf("status: %+v %v", st, err)
	}
}

// An import maps what Clio knows of e-billing: the matter's client reference becomes the
// client's matter id, the contact's LEDES client id the client's, and a client billed by
// LEDES makes its matters UTBMS-billed; Dictum's own values are never overwritten.
func TestImportMapsEBilling(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	f := cliofake.New(t)
	f.AddMatters(
		clio.Matter{ID: 101, DisplayNumber: "2024-0100", Description: "Acme v. Beta", Status: "Open", ClientReference: "ACME-LIT-7",
			Client: &clio.ClientRef{ID: 501, Name: "Acme", LEDESClientID: "ACME01"}},
		clio.Matter{ID: 102, DisplayNumber: "2024-0101", Description: "Plain", Status: "Open", Client: &clio.ClientRef{ID: 502, Name: "Walk-in"}},
		clio.Matter{ID: 103, DisplayNumber: "2024-0102", Description: "Bad ref", Status: "Open", ClientReference: strings.Repeat("X", 21),
			Client: &clio.ClientRef{ID: 502, Name: "Walk-in"}},
	)
	svc := newService(t, s, f)
	connected(t, svc)
	rep, err := svc.Import(ctx, identity.Actor{Username: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Matters(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*store.Matter{}
	for _, m := range ms {
		by[m.Number] = m
	}
	acme := by["2024-0100"]
	if acme == nil || acme.ClientMatterID != "ACME-LIT-7" || !acme.LEDESEnabled {
		t.Fatalf("acme matter: %+v", acme)
	}
	if plain := by["2024-0101"]; plain == nil || plain.LEDESEnabled || plain.ClientMatterID != "" {
		t.Fatalf("plain matter: %+v", plain)
	}
	c, err := s.ClientByID(ctx, acme.ClientID)
	if err != nil || c.LEDESClientID != "ACME01" {
		t.Fatalf("client: %+v %v", c, err)
	}
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "is not a LEDES id") || by["2024-0102"].ClientMatterID != "" {
		t.Fatalf("a 21-character reference must be reported, not stored: %v", rep.Problems)
	}
	// A value set in Dictum stays.
	own := "OWN-REF"
	if _, err := s.UpdateMatter(ctx, identity.Actor{Username: "ada"}, acme.ID, store.MatterPatch{ClientMatterID: &own}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, identity.Actor{Username: "ada"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.MatterByID(ctx, acme.ID); m.ClientMatterID != "OWN-REF" {
		t.Fatalf("import overwrote Dictum's client matter id: %q", m.ClientMatterID)
	}
	if f.Count("GET /api/v4/matters.json") == 0 {
		t.Fatal("no matters request")
	}
}
