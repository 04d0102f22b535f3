package clio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeClio speaks the subset of the Clio API v4 wire format Dictum uses: the OAuth token
// endpoint, cursor-paged index endpoints and activity creation.
type fakeClio struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	pageSize     int
	valid        map[string]bool // access tokens the API accepts
	refreshToken string
	issued       int // access tokens issued
	refreshes    int
	rejectAll    bool // 401 for every API call, even with fresh tokens
	matters      []Matter
	users        []User
	contacts     []Contact
	clients      map[int64]bool
	descs        []ActivityDescription
	activities   []storedActivity
	nextID       int64
	faults       map[string][]fault // "POST /api/v4/activities.json" -> queued faults
	log          []string
}

type storedActivity struct {
	TimeEntry
	NonBillable           bool
	ActivityDescriptionID int64
}

// fault is injected into the next request on a route.
type fault struct {
	status      int
	retryAfter  string
	afterCreate bool // let a POST create the activity, then answer with the fault
	hang        bool // block until the client gives up
}

func newFakeClio(t *testing.T) *fakeClio {
	f := &fakeClio{
		t: t, pageSize: 2, valid: map[string]bool{}, refreshToken: "refresh-1",
		clients: map[int64]bool{}, faults: map[string][]fault{}, nextID: 9000,
	}
	for i := int64(1); i <= 5; i++ {
		f.matters = append(f.matters, Matter{ID: 100 + i, DisplayNumber: fmt.Sprintf("00%d-Acme", i), Description: fmt.Sprintf("Matter %d", i), Status: "Open", Billable: true, Client: &Ref{ID: 500 + i%2, Name: "Client"}})
		f.users = append(f.users, User{ID: 200 + i, Name: fmt.Sprintf("User %d", i), Enabled: true})
	}
	f.users = f.users[:3]
	for i := int64(1); i <= 4; i++ {
		f.contacts = append(f.contacts, Contact{ID: 500 + i, Name: fmt.Sprintf("Contact %d", i), Type: "Company"})
	}
	f.clients[501], f.clients[502], f.clients[504] = true, true, true
	f.descs = []ActivityDescription{
		{ID: 70, Name: "Plain"},
		{ID: 71, Name: "Draft pleadings", UTBMSActivity: &UTBMSCode{ID: 3, Code: "A103"}, UTBMSTask: &UTBMSCode{ID: 21, Code: "L210"}},
		{ID: 72, Name: "Review strategy", UTBMSActivity: &UTBMSCode{ID: 4, Code: "A104"}, UTBMSTask: &UTBMSCode{ID: 12, Code: "L120"}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("GET /api/v4/matters.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, toAny(f.matters)) })
	mux.HandleFunc("GET /api/v4/users.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, toAny(f.users)) })
	mux.HandleFunc("GET /api/v4/contacts.json", func(w http.ResponseWriter, r *http.Request) {
		var list []any
		for _, c := range f.contacts {
			if r.URL.Query().Get("client_only") != "true" || f.clients[c.ID] {
				list = append(list, c)
			}
		}
		f.index(w, r, list)
	})
	mux.HandleFunc("GET /api/v4/activity_descriptions.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, toAny(f.descs)) })
	mux.HandleFunc("GET /api/v4/activities.json", f.listActivities)
	mux.HandleFunc("POST /api/v4/activities.json", f.createActivity)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func toAny[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

func (f *fakeClio) oauthConfig() OAuthConfig {
	return OAuthConfig{ClientID: "cid", ClientSecret: "csecret", RedirectURL: "https://dictum.local/clio/callback", BaseURL: f.srv.URL}
}

// issue mints an access token (caller holds mu).
func (f *fakeClio) issue() string {
	f.issued++
	tok := fmt.Sprintf("access-%d", f.issued)
	f.valid[tok] = true
	return tok
}

func (f *fakeClio) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fakeClio) addFault(route string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[route] = append(f.faults[route], fs...)
}

func (f *fakeClio) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("client_id") != "cid" || r.PostForm.Get("client_secret") != "csecret" {
		writeJSON(w, 401, map[string]any{"error": "invalid_client"})
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		if r.PostForm.Get("code") != "good-code" || r.PostForm.Get("redirect_uri") != "https://dictum.local/clio/callback" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": f.issue(), "token_type": "bearer", "expires_in": 3600, "refresh_token": f.refreshToken})
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != f.refreshToken {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
			return
		}
		f.refreshes++
		// Like Clio: a refresh answers with a new access token and no new refresh token.
		writeJSON(w, 200, map[string]any{"access_token": f.issue(), "token_type": "bearer", "expires_in": 3600})
	default:
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pre runs auth and fault injection; it returns the fault to apply after a create, and
// false when the request was answered.
func (f *fakeClio) pre(w http.ResponseWriter, r *http.Request) (*fault, bool) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if f.rejectAll || !f.valid[tok] {
		f.mu.Unlock()
		writeJSON(w, 401, map[string]any{"error": map[string]any{"type": "UnauthorizedError", "message": "The access token is invalid"}})
		return nil, false
	}
	route := r.Method + " " + r.URL.Path
	var flt *fault
	if q := f.faults[route]; len(q) > 0 {
		x := q[0]
		f.faults[route] = q[1:]
		flt = &x
	}
	f.mu.Unlock()
	if flt == nil || flt.afterCreate {
		return flt, true
	}
	f.apply(w, r, *flt)
	return nil, false
}

func (f *fakeClio) apply(w http.ResponseWriter, r *http.Request, flt fault) {
	if flt.hang {
		// The server notices a client that gave up only once the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // never hang a test run
		}
		return
	}
	if flt.retryAfter != "" {
		w.Header().Set("Retry-After", flt.retryAfter)
	}
	writeJSON(w, flt.status, map[string]any{"error": map[string]any{"type": "Fault", "message": http.StatusText(flt.status)}})
}

func (f *fakeClio) index(w http.ResponseWriter, r *http.Request, all []any) {
	if _, ok := f.pre(w, r); !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("fields") == "" || q.Get("order") != "id(asc)" || q.Get("limit") != "200" {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "fake requires fields, order=id(asc), limit=200: " + r.URL.RawQuery}})
		return
	}
	start := 0
	if pt := q.Get("page_token"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		if err != nil {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "bad page_token"}})
			return
		}
		start, _ = strconv.Atoi(string(b))
	}
	f.mu.Lock()
	size := f.pageSize
	f.mu.Unlock()
	end := min(start+size, len(all))
	page := all[start:end]
	if page == nil {
		page = []any{}
	}
	meta := map[string]any{"records": len(all)}
	if end < len(all) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page_token", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		meta["paging"] = map[string]any{"next": f.srv.URL + r.URL.Path + "?" + nq.Encode()}
	} else {
		meta["paging"] = map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"data": page, "meta": meta})
}

func (f *fakeClio) listActivities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	var list []any
	for _, a := range f.activities {
		if t := q.Get("type"); t != "" && a.Type != t {
			continue
		}
		if m := q.Get("matter_id"); m != "" && strconv.FormatInt(a.Matter.ID, 10) != m {
			continue
		}
		if s := q.Get("start_date"); s != "" && a.Date < s {
			continue
		}
		if e := q.Get("end_date"); e != "" && a.Date > e {
			continue
		}
		list = append(list, a.TimeEntry)
	}
	f.mu.Unlock()
	f.index(w, r, list)
}

func (f *fakeClio) createActivity(w http.ResponseWriter, r *http.Request) {
	after, ok := f.pre(w, r)
	if !ok {
		return
	}
	var body struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data == nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "body must be {\"data\":{...}}"}})
		return
	}
	var in struct {
		Type                string  `json:"type"`
		Date                string  `json:"date"`
		Quantity            float64 `json:"quantity"`
		Note                string  `json:"note"`
		NonBillable         bool    `json:"non_billable"`
		Matter              *Ref    `json:"matter"`
		User                *Ref    `json:"user"`
		ActivityDescription *Ref    `json:"activity_description"`
	}
	raw, _ := json.Marshal(body.Data)
	if err := json.Unmarshal(raw, &in); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": err.Error()}})
		return
	}
	for k := range body.Data {
		switch k {
		case "type", "date", "quantity", "note", "non_billable", "matter", "user", "activity_description":
		default:
			writeJSON(w, 422, map[string]any{"error": map[string]any{"message": "unknown field " + k}})
			return
		}
	}
	if _, err := time.Parse(time.DateOnly, in.Date); err != nil || in.Type != "TimeEntry" || in.Quantity <= 0 || in.Matter == nil {
		writeJSON(w, 422, map[string]any{"error": map[string]any{"type": "UnprocessableEntity", "message": "invalid time entry"}})
		return
	}
	f.mu.Lock()
	known := false
	for _, m := range f.matters {
		known = known || m.ID == in.Matter.ID
	}
	if !known {
		f.mu.Unlock()
		writeJSON(w, 422, map[string]any{"error": map[string]any{"type": "UnprocessableEntity", "message": "Matter can't be blank"}})
		return
	}
	f.nextID++
	a := storedActivity{TimeEntry: TimeEntry{ID: f.nextID, Type: "TimeEntry", Date: in.Date, Quantity: in.Quantity, Note: in.Note, Matter: &Ref{ID: in.Matter.ID}, User: in.User}, NonBillable: in.NonBillable}
	if in.ActivityDescription != nil {
		a.ActivityDescriptionID = in.ActivityDescription.ID
	}
	f.activities = append(f.activities, a)
	f.mu.Unlock()
	if after != nil {
		f.apply(w, r, *after)
		return
	}
	writeJSON(w, 201, map[string]any{"data": a.TimeEntry})
}

// countMarker returns how many activities carry entryID's marker.
func (f *fakeClio) countMarker(entryID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.activities {
		if hasMarker(a.Note, entryID) {
			n++
		}
	}
	return n
}

func (f *fakeClio) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if l == route {
			n++
		}
	}
	return n
}

// sleeps records the waits a client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// connect runs the authorization code exchange against the fake and returns a client whose
// refreshed tokens are saved into *saved.
func (f *fakeClio) connect(t *testing.T, sl *sleeps, saved *[]*oauth2.Token, opts ...Option) *Client {
	t.Helper()
	cfg := f.oauthConfig()
	tok, err := cfg.Exchange(context.Background(), "good-code")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	var mu sync.Mutex
	ts, err := NewTokenSource(cfg, tok, func(tk *oauth2.Token) error {
		mu.Lock()
		defer mu.Unlock()
		if saved != nil {
			*saved = append(*saved, tk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := cfg.Base()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(base, ts, append([]Option{WithSleeper(sl.sleep)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
