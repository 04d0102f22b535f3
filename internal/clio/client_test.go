package clio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"dictum/internal/testrig/cliofake"
)

func TestRegionHosts(t *testing.T) {
	tests := []struct {
		r       Region
		want    string
		wantErr bool
	}{
		{RegionUS, "https://app.clio.com", false},
		{"", "https://app.clio.com", false},
		{RegionCA, "https://ca.app.clio.com", false},
		{"eu", "https://eu.app.clio.com", false},
		{RegionAU, "https://au.app.clio.com", false},
		{"UK", "", true},
	}
	for _, tt := range tests {
		cfg := OAuthConfig{ClientID: "a", ClientSecret: "b", Region: tt.r}
		got, err := cfg.Base()
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("region %q: base = %q, %v; want %q", tt.r, got, err, tt.want)
		}
		if tt.wantErr {
			continue
		}
		oc, err := cfg.OAuth2()
		if err != nil || oc.Endpoint.AuthURL != tt.want+"/oauth/authorize" || oc.Endpoint.TokenURL != tt.want+"/oauth/token" {
			t.Errorf("region %q: endpoint %+v, %v", tt.r, oc, err)
		}
	}
	if _, err := (OAuthConfig{ClientID: "a", ClientSecret: "b", BaseURL: "ftp://x"}).Base(); err == nil {
		t.Error("ftp base url accepted")
	}
	if _, err := (OAuthConfig{Region: RegionUS}).OAuth2(); err == nil {
		t.Error("missing client credentials accepted")
	}
}

func TestAuthCodeURLAndExchange(t *testing.T) {
	f := newFakeClio(t)
	cfg := oauthConfig(f)
	u, err := cfg.AuthCodeURL("st4te")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if pu.Path != "/oauth/authorize" || q.Get("response_type") != "code" || q.Get("client_id") != "cid" ||
		q.Get("state") != "st4te" || q.Get("redirect_uri") != cfg.RedirectURL {
		t.Errorf("auth url = %s", u)
	}
	if _, err := cfg.AuthCodeURL(""); err == nil {
		t.Error("empty state accepted")
	}
	tok, err := cfg.Exchange(context.Background(), "good-code")
	if err != nil || tok.AccessToken != cliofake.AccessTokenPrefix+"1" || tok.RefreshToken != cliofake.RefreshToken || tok.Expiry.IsZero() {
		t.Fatalf("exchange = %+v, %v", tok, err)
	}
	if _, err := cfg.Exchange(context.Background(), "bad-code"); err == nil {
		t.Error("bad code exchanged")
	}
}

func TestTokenSourceRefreshesExpiredAndPersists(t *testing.T) {
	f := newFakeClio(t)
	cfg := oauthConfig(f)
	var saved []*oauth2.Token
	failSave := true
	expired := &oauth2.Token{AccessToken: "old", RefreshToken: cliofake.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	ts, err := NewTokenSource(cfg, expired, func(tk *oauth2.Token) error {
		if failSave {
			return errors.New("disk full")
		}
		saved = append(saved, tk)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The refreshed token cannot be stored: it must not be handed out silently.
	if _, err := ts.Token(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want store failure", err)
	}
	failSave = false
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != cliofake.AccessTokenPrefix+"1" || tok.RefreshToken != cliofake.RefreshToken {
		t.Fatalf("token = %+v, %v", tok, err)
	}
	if len(saved) != 1 || saved[0].AccessToken != cliofake.AccessTokenPrefix+"1" || saved[0].RefreshToken != cliofake.RefreshToken {
		t.Fatalf("saved = %+v", saved)
	}
	if f.Refreshes() != 1 {
		t.Errorf("refreshes = %d, want 1 (save retried without refreshing again)", f.Refreshes())
	}
	if _, err := NewTokenSource(cfg, &oauth2.Token{}, nil); err == nil {
		t.Error("empty token accepted")
	}
	noRefresh, _ := NewTokenSource(cfg, &oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(-time.Minute)}, nil)
	if _, err := noRefresh.Token(); err == nil {
		t.Error("expired token without refresh token gave no error")
	}
}

func TestListPaging(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	ctx := context.Background()
	matters, err := c.ListMatters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(matters) != 5 || f.Count("GET /api/v4/matters.json") != 3 {
		t.Fatalf("got %d matters in %d requests, want 5 in 3 pages", len(matters), f.Count("GET /api/v4/matters.json"))
	}
	for i, m := range matters {
		if m.ID != int64(101+i) || m.DisplayNumber == "" || m.Client == nil || m.Client.ID == 0 {
			t.Errorf("matter %d = %+v", i, m)
		}
	}
	users, err := c.ListUsers(ctx)
	if err != nil || len(users) != 3 || users[2].ID != 203 || users[0].Name != "User 1" {
		t.Fatalf("users = %+v, %v", users, err)
	}
	clients, err := c.ListContacts(ctx, true)
	if err != nil || len(clients) != 3 || clients[2].ID != 504 {
		t.Fatalf("clients = %+v, %v", clients, err)
	}
	all, err := c.ListContacts(ctx, false)
	if err != nil || len(all) != 4 {
		t.Fatalf("contacts = %+v, %v", all, err)
	}
}

func TestPagingRefusesForeignHostAndLoops(t *testing.T) {
	for _, next := range []string{"https://evil.example/api/v4/matters.json?page_token=x", "SELF"} {
		var srvURL string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := next
			if n == "SELF" {
				n = srvURL + "/api/v4/matters.json?page_token=same"
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"data": []any{map[string]any{"id": 1}}, "meta": map[string]any{"paging": map[string]any{"next": n}}})
		}))
		srvURL = srv.URL
		c, err := NewClient(srv.URL, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListMatters(context.Background()); err == nil {
			t.Errorf("next=%s: no error", next)
		}
		srv.Close()
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	f := newFakeClio(t)
	var saved []*oauth2.Token
	c := connect(t, f, &sleeps{}, &saved)
	ctx := context.Background()
	f.RevokeAll() // Clio revoked the access token before it expired
	if _, err := c.ListUsers(ctx); err != nil {
		t.Fatalf("after revoke: %v", err)
	}
	if f.Refreshes() != 1 || len(saved) != 1 || saved[0].AccessToken != cliofake.AccessTokenPrefix+"2" {
		t.Fatalf("refreshes = %d, saved = %+v", f.Refreshes(), saved)
	}
	// Now every call is refused: exactly one more refresh, then a 401 error.
	f.RejectAll(true)
	_, err := c.ListUsers(ctx)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Message, "invalid") {
		t.Fatalf("err = %v, want APIError 401", err)
	}
	if f.Refreshes() != 2 {
		t.Errorf("refreshes = %d, want 2 (one per failed call)", f.Refreshes())
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	f := newFakeClio(t)
	sl := &sleeps{}
	c := connect(t, f, sl, nil)
	f.AddFault("GET /api/v4/users.json", cliofake.Fault{Status: 429, RetryAfter: "7"}, cliofake.Fault{Status: 429, RetryAfter: "3"})
	users, err := c.ListUsers(context.Background())
	if err != nil || len(users) != 3 {
		t.Fatalf("users = %d, %v", len(users), err)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 3*time.Second {
		t.Fatalf("waits = %v, want [7s 3s]", got)
	}
	// A Retry-After beyond the bound fails at once instead of stalling.
	sl2 := &sleeps{}
	c2 := connect(t, f, sl2, nil, WithRetries(3, 5, 10*time.Second))
	f.AddFault("GET /api/v4/users.json", cliofake.Fault{Status: 429, RetryAfter: "3600"})
	_, err = c2.ListUsers(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want 429 with retry after 1h", err)
	}
	if len(sl2.all()) != 0 {
		t.Errorf("slept %v", sl2.all())
	}
	// Too many 429s in a row fail after the retry budget.
	sl3 := &sleeps{}
	c3 := connect(t, f, sl3, nil, WithRetries(3, 2, time.Minute))
	f.AddFault("GET /api/v4/users.json", cliofake.Fault{Status: 429, RetryAfter: "1"}, cliofake.Fault{Status: 429, RetryAfter: "1"}, cliofake.Fault{Status: 429, RetryAfter: "1"})
	if _, err := c3.ListUsers(context.Background()); !errors.As(err, &ae) || ae.Status != 429 {
		t.Fatalf("err = %v", err)
	}
	if len(sl3.all()) != 2 {
		t.Errorf("waits = %v, want 2", sl3.all())
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 30 * time.Second},
		{"12", 12 * time.Second},
		{"-3", 0},
		{"junk", 30 * time.Second},
		{"Mon, 23 Nov 2026 12:00:45 GMT", 45 * time.Second},
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0},
		{"999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestServerErrorRetriedForReads(t *testing.T) {
	f := newFakeClio(t)
	sl := &sleeps{}
	c := connect(t, f, sl, nil)
	f.AddFault("GET /api/v4/matters.json", cliofake.Fault{Status: 500})
	m, err := c.ListMatters(context.Background())
	if err != nil || len(m) != 5 {
		t.Fatalf("matters = %d, %v", len(m), err)
	}
	if got := sl.all(); len(got) != 1 || got[0] != time.Second {
		t.Errorf("backoff = %v, want [1s]", got)
	}
	f.AddFault("GET /api/v4/matters.json", cliofake.Fault{Status: 503}, cliofake.Fault{Status: 502}, cliofake.Fault{Status: 500}, cliofake.Fault{Status: 500})
	sl2 := &sleeps{}
	c2 := connect(t, f, sl2, nil)
	_, err = c2.ListMatters(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("err = %v, want 500 after retries", err)
	}
	if got := sl2.all(); len(got) != 3 || got[2] != 4*time.Second {
		t.Errorf("backoff = %v, want [1s 2s 4s]", got)
	}
}

func TestWriteNotRetriedBlindly(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	f.AddFault("POST /api/v4/activities.json", cliofake.Fault{Status: 500, AfterCreate: true})
	_, err := c.CreateTimeEntry(context.Background(), NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 101, Note: "x"})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if n := f.Count("POST /api/v4/activities.json"); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
	// 422 is a definite refusal, not an unknown outcome.
	_, err = c.CreateTimeEntry(context.Background(), NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 999})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want plain 422", err)
	}
	// 429 on a write is retried: the request was refused before it was processed.
	f.AddFault("POST /api/v4/activities.json", cliofake.Fault{Status: 429, RetryAfter: "2"})
	if _, err := c.CreateTimeEntry(context.Background(), NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 101}); err != nil {
		t.Fatalf("after 429: %v", err)
	}
}

func TestTimeoutFromContext(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	f.AddFault("GET /api/v4/users.json", cliofake.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.ListUsers(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	f.AddFault("POST /api/v4/activities.json", cliofake.Fault{Hang: true})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = c.CreateTimeEntry(ctx2, NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 101})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want deadline exceeded and outcome unknown", err)
	}
}

func TestCreateTimeEntryWireFormat(t *testing.T) {
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/v4/activities.json" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unexpected request", 400)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		got = append(got, m)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": 42, "type": "TimeEntry"}})
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	te, err := c.CreateTimeEntry(ctx, NewTimeEntry{Date: "2026-11-02", Seconds: 4680, MatterID: 7, UserID: 9, Note: "Draft\n[dictum:e-1]", NonBillable: true, ActivityDescriptionID: 71})
	if err != nil || te.ID != 42 {
		t.Fatalf("create = %+v, %v", te, err)
	}
	if _, err := c.CreateTimeEntry(ctx, NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 7}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"data":{"activity_description":{"id":71},"date":"2026-11-02","matter":{"id":7},"non_billable":true,"note":"Draft\n[dictum:e-1]","quantity":4680,"type":"TimeEntry","user":{"id":9}}}`,
		`{"data":{"date":"2026-11-02","matter":{"id":7},"non_billable":false,"note":"","quantity":360,"type":"TimeEntry"}}`,
	}
	for i, w := range want {
		b, _ := json.Marshal(got[i]) // map keys sorted
		if string(b) != w {
			t.Errorf("body %d =\n%s\nwant\n%s", i, b, w)
		}
	}
	for _, bad := range []NewTimeEntry{
		{Date: "2026-13-01", Seconds: 1, MatterID: 1},
		{Date: "2026-11-01", Seconds: 0, MatterID: 1},
		{Date: "2026-11-01", Seconds: 1, MatterID: 0},
	} {
		if _, err := c.CreateTimeEntry(ctx, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if len(got) != 2 {
		t.Errorf("invalid entries reached the server")
	}
}

func TestFindTimeEntryMatchesMarkerExactly(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	ctx := context.Background()
	for _, n := range []NewTimeEntry{
		{Date: "2026-11-02", Seconds: 360, MatterID: 101, Note: NoteWithMarker("a", "e-10")},
		{Date: "2026-11-02", Seconds: 360, MatterID: 101, Note: "mentions [dictum:e-1] in the middle"},
		{Date: "2026-11-03", Seconds: 360, MatterID: 101, Note: NoteWithMarker("b", "e-1")}, // other day
		{Date: "2026-11-02", Seconds: 360, MatterID: 102, Note: NoteWithMarker("c", "e-1")}, // other matter
		{Date: "2026-11-02", Seconds: 360, MatterID: 101, Note: NoteWithMarker("d", "e-1")},
	} {
		if _, err := c.CreateTimeEntry(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	te, ok, err := c.FindTimeEntry(ctx, "e-1", 101, "2026-11-02")
	if err != nil || !ok || te.Note != "d\n[dictum:e-1]" {
		t.Fatalf("find = %+v, %v, %v", te, ok, err)
	}
	if _, ok, err := c.FindTimeEntry(ctx, "e-2", 101, "2026-11-02"); ok || err != nil {
		t.Fatalf("found e-2: %v, %v", ok, err)
	}
	if _, err := c.CreateTimeEntry(ctx, NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 101, Note: NoteWithMarker("dup", "e-1")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.FindTimeEntry(ctx, "e-1", 101, "2026-11-02"); err == nil || !strings.Contains(err.Error(), "2 times") {
		t.Fatalf("duplicate not reported: %v", err)
	}
}
