// Package cliofake is a fake Clio Manage account for tests: an httptest server on
// 127.0.0.1 that speaks the subset of the Clio API v4 wire format Dictum uses (the OAuth
// token endpoint, cursor-paged index endpoints, and time entry creation), with faults a
// test can queue per route. It starts empty; tests add the matters, users, contacts and
// activity descriptions they need.
//
// It imports nothing from Dictum but the wire shapes in internal/clio/clioapi, so the
// clio package's own tests can use it.
package cliofake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dictum/internal/clio/clioapi"
)

// The app registration and codes the fake accepts.
const (
	ClientID     = "cid"
	ClientSecret = "csecret"
	RedirectURL  = "https://dictum.local/clio/callback"
	// GoodCode is the one authorization code the token endpoint exchanges.
	GoodCode = "good-code"
	// RefreshToken is handed out with the first token; like Clio, a refresh answers with
	// a new access token and no new refresh token.
	RefreshToken = "refresh-SECRET-1"
	// AccessTokenPrefix starts every access token; the n-th one issued ends in n.
	AccessTokenPrefix = "access-SECRET-"
)

// PageSize is how many records an index page holds (small, so paging is exercised).
const PageSize = 2

// Routes a test queues faults on.
const (
	RouteCreateActivity = "POST /api/v4/activities.json"
	RouteListActivities = "GET /api/v4/activities.json"
)

// Contact is a Clio contact; IsClient says whether client_only=true lists it.
type Contact struct {
	clioapi.Contact
	IsClient bool `json:"-"`
}

// Activity is a time entry created in the fake: what Clio returns for
// fields=id,type,date,quantity,note,matter{id},user{id}, and what else the fake kept of
// the create request.
type Activity struct {
	clioapi.TimeEntry
	NonBillable           bool  `json:"-"`
	ActivityDescriptionID int64 `json:"-"`
}

// Fault replaces the answer to the next request on a route. A Fault with neither Status
// nor Hang lets that request through (a placeholder that keeps later faults in order).
type Fault struct {
	Status      int
	RetryAfter  string // Retry-After header sent with Status
	AfterCreate bool   // POST: create the activity, then answer with the fault
	Hang        bool   // block until the client gives up (at most 10 s)
}

// Server is the fake Clio account.
type Server struct {
	// URL is the scheme and host to use as Clio's base URL.
	URL string
	srv *httptest.Server

	mu          sync.Mutex
	valid       map[string]bool // access tokens the API accepts
	issued      int
	refreshes   int
	rejectAll   bool
	matters     []clioapi.Matter
	users       []clioapi.User
	contacts    []Contact
	descs       []clioapi.ActivityDescription
	activities  []Activity
	nextID      int64
	faults      map[string][]Fault
	requestsLog []string
}

// New starts an empty fake account, closed when the test ends.
func New(t testing.TB) *Server {
	f := &Server{valid: map[string]bool{}, faults: map[string][]Fault{}, nextID: 9000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("GET /api/v4/matters.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, snapshot(f, &f.matters)) })
	mux.HandleFunc("GET /api/v4/users.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, snapshot(f, &f.users)) })
	mux.HandleFunc("GET /api/v4/contacts.json", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var list []any
		for _, c := range f.contacts {
			if r.URL.Query().Get("client_only") != "true" || c.IsClient {
				list = append(list, c)
			}
		}
		f.mu.Unlock()
		f.index(w, r, list)
	})
	mux.HandleFunc("GET /api/v4/activity_descriptions.json", func(w http.ResponseWriter, r *http.Request) { f.index(w, r, snapshot(f, &f.descs)) })
	mux.HandleFunc(RouteListActivities, f.listActivities)
	mux.HandleFunc(RouteCreateActivity, f.createActivity)
	f.srv = httptest.NewServer(f.versioned(mux)) // listens on 127.0.0.1
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// versioned answers API requests the way Clio treats X-API-VERSION: a request without the
// version Dictum pins (clioapi.Version) gets 410 Gone, as Clio answers an unknown or
// retired version; answers name the version used. (Clio itself falls back to its default
// version when the header is missing; the fake refuses so an unpinned request fails tests.)
func (f *Server) versioned(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			if v := r.Header.Get("X-API-VERSION"); v != clioapi.Version {
				apiErr(w, http.StatusGone, "Gone", "fake Clio serves API version "+clioapi.Version+" only, got X-API-VERSION "+strconv.Quote(v))
				return
			}
			w.Header().Set("X-API-VERSION", clioapi.Version)
		}
		next.ServeHTTP(w, r)
	})
}

func toAny[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// add appends vs to one of the account's lists.
func add[T any](f *Server, list *[]T, vs []T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*list = append(*list, vs...)
}

// snapshot copies one of the account's lists for an index answer.
func snapshot[T any](f *Server, list *[]T) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return toAny(*list)
}

// AddMatters adds matters to the account.
func (f *Server) AddMatters(vs ...clioapi.Matter) { add(f, &f.matters, vs) }

// AddUsers adds firm users to the account.
func (f *Server) AddUsers(vs ...clioapi.User) { add(f, &f.users, vs) }

// AddContacts adds contacts to the account.
func (f *Server) AddContacts(vs ...Contact) { add(f, &f.contacts, vs) }

// AddActivityDescriptions adds activity descriptions to the account.
func (f *Server) AddActivityDescriptions(vs ...clioapi.ActivityDescription) { add(f, &f.descs, vs) }

// AddFault queues faults for the next requests on route ("POST /api/v4/activities.json").
func (f *Server) AddFault(route string, fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[route] = append(f.faults[route], fs...)
}

// RevokeAll invalidates every access token issued so far.
func (f *Server) RevokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

// RejectAll makes every API call answer 401, even with a fresh token.
func (f *Server) RejectAll(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectAll = on
}

// Refreshes is how many refresh grants the token endpoint answered.
func (f *Server) Refreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// Count is how many API requests reached route ("GET /api/v4/matters.json"), answered or not.
func (f *Server) Count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.requestsLog {
		if l == route {
			n++
		}
	}
	return n
}

// Activities returns a copy of every activity created.
func (f *Server) Activities() []Activity {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Activity(nil), f.activities...)
}

// ActivitiesNoted returns the activities whose note ends with marker (trailing white
// space ignored).
func (f *Server) ActivitiesNoted(marker string) []Activity {
	var out []Activity
	for _, a := range f.Activities() {
		if strings.HasSuffix(strings.TrimRight(a.Note, " \t\r\n"), marker) {
			out = append(out, a)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, typ, msg string) {
	e := map[string]any{"message": msg}
	if typ != "" {
		e["type"] = typ
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// issue mints an access token (caller holds mu).
func (f *Server) issue() string {
	f.issued++
	tok := AccessTokenPrefix + strconv.Itoa(f.issued)
	f.valid[tok] = true
	return tok
}

func (f *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	form := r.PostForm
	if form.Get("client_id") != ClientID || form.Get("client_secret") != ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		if form.Get("code") != GoodCode || form.Get("redirect_uri") != RedirectURL {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": f.issue(), "token_type": "bearer", "expires_in": 3600, "refresh_token": RefreshToken})
	case "refresh_token":
		if form.Get("refresh_token") != RefreshToken {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
			return
		}
		f.refreshes++
		writeJSON(w, http.StatusOK, map[string]any{"access_token": f.issue(), "token_type": "bearer", "expires_in": 3600})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
	}
}

// pre logs the request, checks the bearer token and takes the route's next fault. It
// returns the fault to apply after a create, and false when the request was answered.
func (f *Server) pre(w http.ResponseWriter, r *http.Request) (*Fault, bool) {
	route := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requestsLog = append(f.requestsLog, route)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if f.rejectAll || !f.valid[tok] {
		f.mu.Unlock()
		apiErr(w, http.StatusUnauthorized, "UnauthorizedError", "The access token is invalid")
		return nil, false
	}
	var flt *Fault
	if q := f.faults[route]; len(q) > 0 {
		x := q[0]
		f.faults[route] = q[1:]
		if x.Status != 0 || x.Hang {
			flt = &x
		}
	}
	f.mu.Unlock()
	if flt == nil || flt.AfterCreate {
		return flt, true
	}
	apply(w, r, *flt)
	return nil, false
}

func apply(w http.ResponseWriter, r *http.Request, flt Fault) {
	if flt.Hang {
		// The server notices a client that gave up only once the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // never hang a test run
		}
		return
	}
	if flt.RetryAfter != "" {
		w.Header().Set("Retry-After", flt.RetryAfter)
	}
	apiErr(w, flt.Status, "Fault", http.StatusText(flt.Status))
}

func (f *Server) index(w http.ResponseWriter, r *http.Request, all []any) {
	if _, ok := f.pre(w, r); !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("fields") == "" || q.Get("order") != "id(asc)" || q.Get("limit") != "200" {
		apiErr(w, http.StatusBadRequest, "", "fake requires fields, order=id(asc), limit=200: "+r.URL.RawQuery)
		return
	}
	start := 0
	if pt := q.Get("page_token"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		if err != nil {
			apiErr(w, http.StatusBadRequest, "", "bad page_token")
			return
		}
		start, _ = strconv.Atoi(string(b))
	}
	start = min(max(start, 0), len(all))
	end := min(start+PageSize, len(all))
	page := append([]any{}, all[start:end]...)
	paging := map[string]any{}
	if end < len(all) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page_token", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		paging["next"] = f.URL + r.URL.Path + "?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": page, "meta": map[string]any{"paging": paging, "records": len(all)}})
}

func (f *Server) listActivities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	var list []any
	for _, a := range f.activities {
		if (q.Get("type") != "" && a.Type != q.Get("type")) ||
			(q.Get("matter_id") != "" && strconv.FormatInt(a.Matter.ID, 10) != q.Get("matter_id")) ||
			(q.Get("start_date") != "" && a.Date < q.Get("start_date")) ||
			(q.Get("end_date") != "" && a.Date > q.Get("end_date")) {
			continue
		}
		list = append(list, a)
	}
	f.mu.Unlock()
	f.index(w, r, list)
}

func (f *Server) createActivity(w http.ResponseWriter, r *http.Request) {
	after, ok := f.pre(w, r)
	if !ok {
		return
	}
	var body struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data == nil {
		apiErr(w, http.StatusBadRequest, "", `body must be {"data":{...}}`)
		return
	}
	for k := range body.Data {
		switch k {
		case "type", "date", "quantity", "note", "non_billable", "matter", "user", "activity_description":
		default:
			apiErr(w, http.StatusUnprocessableEntity, "", "unknown field "+k)
			return
		}
	}
	var in clioapi.TimeEntryCreate
	raw, _ := json.Marshal(body.Data)
	if err := json.Unmarshal(raw, &in); err != nil {
		apiErr(w, http.StatusBadRequest, "", err.Error())
		return
	}
	if _, err := time.Parse(time.DateOnly, in.Date); err != nil || in.Type != "TimeEntry" || in.Quantity <= 0 || in.Matter == nil {
		apiErr(w, http.StatusUnprocessableEntity, "UnprocessableEntity", "invalid time entry")
		return
	}
	f.mu.Lock()
	known := false
	for _, m := range f.matters {
		known = known || m.ID == in.Matter.ID
	}
	if !known {
		f.mu.Unlock()
		apiErr(w, http.StatusUnprocessableEntity, "UnprocessableEntity", "Matter can't be blank")
		return
	}
	f.nextID++
	a := Activity{TimeEntry: clioapi.TimeEntry{ID: f.nextID, Type: "TimeEntry", Date: in.Date, Quantity: in.Quantity, Note: in.Note,
		Matter: &clioapi.Ref{ID: in.Matter.ID}}, NonBillable: in.NonBillable}
	if in.User != nil {
		a.User = &clioapi.Ref{ID: in.User.ID}
	}
	if in.ActivityDescription != nil {
		a.ActivityDescriptionID = in.ActivityDescription.ID
	}
	f.activities = append(f.activities, a)
	f.mu.Unlock()
	if after != nil {
		apply(w, r, *after)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": a})
}
