package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/clio"
	"dictum/internal/cliosync"
	"dictum/internal/config"
	"dictum/internal/store"
	"dictum/internal/testrig/cliofake"
)

// newFakeClio is a fake Clio account with three matters (one closed), two users (one of
// them alice by email) and two clients.
func newFakeClio(t *testing.T) *cliofake.Server {
	f := cliofake.New(t)
	f.AddMatters(
		clio.Matter{ID: 101, DisplayNumber: "2024-0412", Description: "Smith v. Jones", Status: "Open", Billable: true, Client: &clio.ClientRef{ID: 501, Name: "Daniel Smith"}},
		clio.Matter{ID: 102, DisplayNumber: "2025-0001", Description: "Acme general", Status: "Open", Billable: true, Client: &clio.ClientRef{ID: 502, Name: "Acme Corp"}},
		clio.Matter{ID: 103, DisplayNumber: "2019-0007", Description: "Old", Status: "Closed", Client: &clio.ClientRef{ID: 502, Name: "Acme Corp"}},
	)
	f.AddUsers(
		clio.User{ID: 201, Name: "Alice Archer", Email: "alice@firm.example", Enabled: true},
		clio.User{ID: 202, Name: "Someone Else", Email: "else@firm.example", Enabled: true},
	)
	f.AddContacts(
		cliofake.Contact{Contact: clio.Contact{ID: 501, Name: "Daniel Smith", Type: "Person"}, IsClient: true},
		cliofake.Contact{Contact: clio.Contact{ID: 502, Name: "Acme Corp", Type: "Company"}, IsClient: true},
	)
	return f
}

var testClioKey = [32]byte{0xc1, 0x10}

func clioConfig(baseURL string) func(*config.Config) {
	return func(c *config.Config) {
		c.Clio = config.Clio{ClientID: cliofake.ClientID, ClientSecret: cliofake.ClientSecret, RedirectURL: cliofake.RedirectURL, Region: "us", BaseURL: baseURL}
	}
}

type clioRig struct {
	*rig
	fake *cliofake.Server
	svc  *cliosync.Service
}

// newClioRig is a rig with Clio configured against a fake (configured false: Clio not configured).
func newClioRig(t *testing.T, configured bool) *clioRig {
	t.Helper()
	cr := &clioRig{}
	var muts []func(*config.Config)
	if configured {
		cr.fake = newFakeClio(t)
		muts = append(muts, clioConfig(cr.fake.URL))
	}
	cr.rig = newRig(t, muts...)
	cr.svc = cliosync.New(cliosync.Deps{Config: cr.cfg, Store: cr.st, TokenKey: testClioKey, Log: cr.srv.Log, Now: cr.srv.Now,
		Sleep:      func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	cr.srv.SetClio(cr.svc)
	return cr
}

// withMarker returns the activities in the fake carrying entryID's marker.
func (cr *clioRig) withMarker(entryID string) []cliofake.Activity {
	return cr.fake.ActivitiesNoted(clio.Marker(entryID))
}

// connect runs the OAuth flow as ada, through the API and the callback page.
func (cr *clioRig) connect() {
	cr.t.Helper()
	res := cr.do("POST", "/api/v1/clio/connect", "ada", nil)
	if res.Status != 200 {
		cr.t.Fatalf("connect: %d %s", res.Status, res.Body)
	}
	u, _ := url.Parse(res.json(cr.t)["authorize_url"].(string))
	cb := cr.do("GET", "/clio/callback?code=good-code&state="+url.QueryEscape(u.Query().Get("state")), "", nil, "Accept", "text/html")
	if cb.Status != 200 {
		cr.t.Fatalf("callback: %d %s", cb.Status, cb.Body)
	}
}

func (cr *clioRig) sync(as string) (synced map[string]cliosync.SyncedEntry, failed map[string]string) {
	cr.t.Helper()
	res := cr.do("POST", "/api/v1/clio/sync", as, nil)
	if res.Status != 200 {
		cr.t.Fatalf("sync: %d %s", res.Status, res.Body)
	}
	return decodeReport(cr.t, res.Body)
}

func decodeReport(t *testing.T, body []byte) (map[string]cliosync.SyncedEntry, map[string]string) {
	t.Helper()
	var rep cliosync.SyncReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("report: %v: %s", err, body)
	}
	synced, failed := map[string]cliosync.SyncedEntry{}, map[string]string{}
	for _, s := range rep.Synced {
		synced[s.EntryID] = s
	}
	for _, f := range rep.Failed {
		failed[f.EntryID] = f.Message
	}
	return synced, failed
}

var clioRoutesTable = []struct{ method, path string }{
	{"GET", "/api/v1/clio"},
	{"DELETE", "/api/v1/clio"},
	{"POST", "/api/v1/clio/connect"},
	{"POST", "/api/v1/clio/import"},
	{"POST", "/api/v1/clio/sync"},
	{"GET", "/api/v1/clio/errors"},
	{"POST", "/api/v1/clio/retry"},
}

// ---- tests ----

func TestClioNotConfigured(t *testing.T) {
	cr := newClioRig(t, false)
	routes := append(clioRoutesTable, struct{ method, path string }{"GET", "/clio/callback?code=x&state=y"})
	for _, rt := range routes {
		res := cr.do(rt.method, rt.path, "ada", nil)
		if res.Status != 409 || res.errCode(t) != "clio_not_configured" {
			t.Errorf("%s %s: %d %s (want 409 clio_not_configured)", rt.method, rt.path, res.Status, res.Body)
			continue
		}
		msg := res.json(t)["error"].(map[string]any)["message"].(string)
		for _, key := range []string{"clio.client_id", "clio.client_secret_file", "clio.redirect_url"} {
			if !strings.Contains(msg, key) {
				t.Errorf("%s %s: message does not name %s: %s", rt.method, rt.path, key, msg)
			}
		}
	}
	// A client id without a secret is not enough either.
	cr2 := newClioRig(t, true)
	cr2.cfg.Clio.ClientSecret = ""
	if res := cr2.do("GET", "/api/v1/clio", "bill", nil); res.Status != 409 || res.errCode(t) != "clio_not_configured" {
		t.Fatalf("no secret: %d %s", res.Status, res.Body)
	}
	// A secret file others can read is refused with the reason, and the secret is not shown.
	secretFile := filepath.Join(t.TempDir(), "clio-secret")
	if err := os.WriteFile(secretFile, []byte("csecret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cr2.cfg.Clio.ClientSecretFile = secretFile
	res := cr2.do("GET", "/api/v1/clio", "bill", nil)
	if res.Status != 409 || res.errCode(t) != "clio_not_configured" || !strings.Contains(string(res.Body), "chmod 600") || strings.Contains(string(res.Body), "csecret") {
		t.Fatalf("world-readable secret file: %d %s", res.Status, res.Body)
	}
	os.Chmod(secretFile, 0o600)
	if res := cr2.do("GET", "/api/v1/clio", "bill", nil); res.Status != 200 {
		t.Fatalf("secret from a 0600 file: %d %s", res.Status, res.Body)
	}
}

func TestClioRoles(t *testing.T) {
	cr := newClioRig(t, true)
	for _, rt := range clioRoutesTable {
		if res := cr.do(rt.method, rt.path, "alice", nil); res.Status != 403 || res.errCode(t) != "forbidden" {
			t.Errorf("timekeeper %s %s: %d %s (want 403)", rt.method, rt.path, res.Status, res.Body)
		}
		if res := cr.do(rt.method, rt.path, "", nil); res.Status != 401 {
			t.Errorf("anonymous %s %s: %d (want 401)", rt.method, rt.path, res.Status)
		}
	}
	for _, rt := range []struct{ method, path string }{{"POST", "/api/v1/clio/connect"}, {"DELETE", "/api/v1/clio"}} {
		if res := cr.do(rt.method, rt.path, "bill", nil); res.Status != 403 {
			t.Errorf("billing %s %s: %d (connect and disconnect are for admins)", rt.method, rt.path, res.Status)
		}
	}
	if res := cr.do("GET", "/api/v1/clio", "bill", nil); res.Status != 200 || res.json(t)["connected"] != false {
		t.Fatalf("billing status: %d %s", res.Status, res.Body)
	}
	// Not connected yet: syncs and imports say so.
	for _, p := range []string{"/api/v1/clio/sync", "/api/v1/clio/import", "/api/v1/clio/retry"} {
		if res := cr.do("POST", p, "bill", map[string]any{"ids": []string{"ent_x"}}); res.Status != 409 || res.errCode(t) != "clio_not_connected" {
			t.Errorf("%s before connect: %d %s", p, res.Status, res.Body)
		}
	}
}

func TestClioConnectFlow(t *testing.T) {
	cr := newClioRig(t, true)
	start := func(as string, hdr ...string) (authURL *url.URL, state string) {
		t.Helper()
		res := cr.do("POST", "/api/v1/clio/connect", as, nil, hdr...)
		if res.Status != 200 {
			t.Fatalf("connect: %d %s", res.Status, res.Body)
		}
		u, err := url.Parse(res.json(t)["authorize_url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return u, u.Query().Get("state")
	}
	u, state := start("ada")
	q := u.Query()
	if u.Scheme+"://"+u.Host != cr.fake.URL || u.Path != "/oauth/authorize" || q.Get("client_id") != "cid" ||
		q.Get("redirect_uri") != cliofake.RedirectURL || q.Get("response_type") != "code" || len(state) < 40 {
		t.Fatalf("authorize url: %s", u)
	}
	if strings.Contains(u.String(), "csecret") {
		t.Fatal("the client secret is in the authorize URL")
	}
	_, state2 := start("ada")
	if state2 == state {
		t.Fatal("two connects got the same state")
	}
	notConnected := func(why string) {
		t.Helper()
		if st := cr.do("GET", "/api/v1/clio", "ada", nil).json(t); st["connected"] != false {
			t.Fatalf("%s: connected anyway", why)
		}
	}
	callback := func(q string, hdr ...string) resp { return cr.do("GET", "/clio/callback?"+q, "", nil, hdr...) }
	bad := []struct {
		name, query string
		hdr         []string
		status      int
	}{
		{"wrong state", "code=good-code&state=" + strings.Repeat("A", 43), nil, 403},
		{"no state", "code=good-code", nil, 400},
		{"denied at Clio", "error=access_denied&error_description=The+user+denied&state=" + state2, nil, 400},
		{"state used by the denial", "code=good-code&state=" + state2, nil, 403},
	}
	for _, b := range bad {
		if res := callback(b.query, b.hdr...); res.Status != b.status {
			t.Errorf("%s: %d %s (want %d)", b.name, res.Status, res.Body, b.status)
		}
		notConnected(b.name)
	}
	// Another user's browser cannot finish ada's connection (and burns the state).
	_, s3 := start("ada")
	if res := cr.do("GET", "/clio/callback?code=good-code&state="+s3, "bill", nil); res.Status != 403 {
		t.Fatalf("bill finishing ada's connect: %d %s", res.Status, res.Body)
	}
	notConnected("other user")
	// Expired.
	_, s4 := start("ada")
	cr.now = cr.now.Add(11 * time.Minute)
	if res := callback("code=good-code&state=" + s4); res.Status != 403 {
		t.Fatalf("expired state: %d %s", res.Status, res.Body)
	}
	notConnected("expired")
	// A session-bound state stops working when that session ends.
	cookie, csrf, _ := login(t, cr.rig, "ada", "password-ada")
	_, s5 := start("", "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf)
	cr.do("DELETE", "/api/v1/session", "", nil, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf)
	if res := callback("code=good-code&state=" + s5); res.Status != 403 {
		t.Fatalf("state of a logged-out session: %d %s", res.Status, res.Body)
	}
	notConnected("logged out")
	// Clio refuses the code: nothing stored.
	_, s6 := start("ada")
	if res := callback("code=bad-code&state=" + s6); res.Status != 502 || strings.Contains(string(res.Body), "csecret") {
		t.Fatalf("bad code: %d %s", res.Status, res.Body)
	}
	notConnected("bad code")

	// The real thing: the browser comes back without its (SameSite=Strict) cookie.
	_, s7 := start("ada")
	res := callback("code=good-code&state="+s7, "Accept", "text/html")
	if res.Status != 200 || !strings.Contains(string(res.Body), "Clio is connected") || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("callback: %d %s", res.Status, res.Body)
	}
	if res := callback("code=good-code&state=" + s7); res.Status != 403 {
		t.Fatalf("replayed state: %d", res.Status)
	}
	st := cr.do("GET", "/api/v1/clio", "bill", nil).json(t)
	if st["connected"] != true || st["region"] != "us" || st["connected_by"] != "ada" {
		t.Fatalf("status: %v", st)
	}
	var blob []byte
	if err := cr.st.DB().QueryRow("SELECT token_blob FROM clio_connection WHERE id = 1").Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if len(blob) == 0 || bytes.Contains(blob, []byte("access-SECRET")) || bytes.Contains(blob, []byte("refresh-SECRET")) {
		t.Fatalf("token_blob is not sealed (%d bytes)", len(blob))
	}
	tok, err := cliosync.OpenToken(context.Background(), cr.st, testClioKey)
	if err != nil || !strings.HasPrefix(tok.AccessToken, "access-SECRET-") || tok.RefreshToken != "refresh-SECRET-1" {
		t.Fatalf("stored token: %v", err)
	}
	evs, _ := cr.st.AuditEvents(context.Background(), "clio", "connection", 5)
	if len(evs) != 1 || evs[0].Action != "clio.connect" || evs[0].Actor != "ada" {
		t.Fatalf("audit: %+v", evs)
	}
	assertNoTokenInAudit(t, cr)

	// Disconnect (admin only) forgets the token.
	if res := cr.do("DELETE", "/api/v1/clio", "ada", nil); res.Status != 200 || res.json(t)["was_connected"] != true {
		t.Fatalf("disconnect: %d %s", res.Status, res.Body)
	}
	notConnected("after disconnect")
	if _, err := cliosync.OpenToken(context.Background(), cr.st, testClioKey); err == nil {
		t.Fatal("token kept after disconnect")
	}
}

func assertNoTokenInAudit(t *testing.T, cr *clioRig) {
	t.Helper()
	rows, err := cr.st.DB().Query("SELECT detail FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		rows.Scan(&d)
		if strings.Contains(d, "SECRET") || strings.Contains(d, "csecret") {
			t.Fatalf("audit detail holds a secret: %s", d)
		}
	}
}

// approved creates and approves an entry.
func (cr *clioRig) approved(as, matter, date string, hours float64) string {
	cr.t.Helper()
	return approvedEntry(cr.t, cr.rig, as, map[string]any{"matter": matter, "hours": hours, "activity": "A103", "narrative": "Drafted motion to compel.", "date": date})
}

func (cr *clioRig) matterID(number string) string {
	cr.t.Helper()
	ms, err := cr.st.Matters(context.Background(), "", number)
	if err != nil || len(ms) != 1 {
		cr.t.Fatalf("matter %s: %v %v", number, ms, err)
	}
	return ms[0].ID
}

func TestClioImportSyncRetry(t *testing.T) {
	cr := newClioRig(t, true)
	local := cr.matter("2024-0412", "Daniel Smith", "Smith v. Jones") // linked by number on import
	only := cr.matter("9999-0001", "Nobody", "Not in Clio")
	cr.connect()

	res := cr.do("POST", "/api/v1/clio/import", "bill", nil)
	if res.Status != 200 {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	var imp store.ClioImportReport
	json.Unmarshal(res.Body, &imp)
	if imp.MattersLinked != 1 || imp.MattersCreated != 1 || imp.MattersSkipped != 1 || len(imp.Users) != 1 || imp.Users[0].Username != "alice" || imp.Users[0].ClioUserID != 201 {
		t.Fatalf("import report: %s", res.Body)
	}
	if m, _ := cr.st.MatterByID(context.Background(), local); m.ClioID == nil || *m.ClioID != 101 {
		t.Fatalf("local matter not linked: %+v", m)
	}
	acme := cr.matterID("2025-0001")
	if n, _ := cr.st.CountUsers(context.Background()); n != 4 {
		t.Fatalf("import created logins: %d users", n)
	}

	e1 := cr.approved("alice", local, "2026-11-18", 0.3)
	e2 := cr.approved("alice", acme, "2026-11-19", 1.5)
	draft := cr.entry("alice", map[string]any{"matter": local, "hours": 1, "activity": "A103", "narrative": "Still a draft.", "date": "2026-11-19"})["id"].(string)
	eBob := cr.approved("bob", local, "2026-11-18", 0.5)
	eOnly := cr.approved("alice", only, "2026-11-18", 0.2)

	synced, failed := cr.sync("bill")
	if len(synced) != 2 || synced[e1].ClioID == 0 || synced[e2].ClioID == 0 || len(failed) != 2 {
		t.Fatalf("first sync: synced=%v failed=%v", synced, failed)
	}
	if !strings.Contains(failed[eOnly], "matter 9999-0001 is not linked to a Clio matter; run import") ||
		!strings.Contains(failed[eBob], "timekeeper bob is not linked to a Clio user") {
		t.Fatalf("failure reasons: %v", failed)
	}
	a1 := cr.withMarker(e1)
	if len(a1) != 1 || a1[0].Quantity != 1080 || a1[0].Matter.ID != 101 || a1[0].User == nil || a1[0].User.ID != 201 || a1[0].Date != "2026-11-18" {
		t.Fatalf("activity for e1: %+v", a1)
	}
	if len(cr.withMarker(draft)) != 0 || len(cr.withMarker(eBob)) != 0 {
		t.Fatal("a draft or an unlinked entry reached Clio")
	}
	// Synced entries are locked.
	if e := cr.do("GET", "/api/v1/entries/"+e1, "alice", nil).json(t); e["status"] != "synced" {
		t.Fatalf("e1 status %v", e["status"])
	}
	if res := cr.do("POST", "/api/v1/entries/"+e1+"/reopen", "alice", nil); res.Status != 409 {
		t.Fatalf("reopen of a synced entry: %d %s", res.Status, res.Body)
	}
	// A second sync sends nothing again.
	postsBefore := cr.fake.Count(cliofake.RouteCreateActivity)
	synced, failed = cr.sync("ada")
	if acts, posts := len(cr.fake.Activities()), cr.fake.Count(cliofake.RouteCreateActivity); len(synced) != 0 || len(failed) != 2 || acts != 2 || posts != postsBefore {
		t.Fatalf("second sync: synced=%v failed=%v activities=%d posts=%d->%d", synced, failed, acts, postsBefore, posts)
	}

	// The billing admin sees the failures...
	errs := cr.do("GET", "/api/v1/clio/errors", "bill", nil)
	if errs.Status != 200 || errs.json(t)["count"].(float64) != 2 || !strings.Contains(string(errs.Body), eBob) || !strings.Contains(string(errs.Body), "9999-0001") {
		t.Fatalf("errors: %d %s", errs.Status, errs.Body)
	}
	st := cr.do("GET", "/api/v1/clio", "bill", nil).json(t)
	if c := st["counts"].(map[string]any); c["synced"].(float64) != 2 || c["failed"].(float64) != 2 || c["pending"].(float64) != 0 || st["last_sync_at"] == "" {
		t.Fatalf("status: %v", st)
	}
	// ...fixes one in Clio (bob gets a Clio user), imports, and retries it.
	cr.fake.AddUsers(clio.User{ID: 203, Name: "Bob Brown", Email: "bob@firm.example", Enabled: true})
	if res := cr.do("POST", "/api/v1/clio/import", "ada", nil); res.Status != 200 {
		t.Fatalf("re-import: %d %s", res.Status, res.Body)
	}
	res = cr.do("POST", "/api/v1/clio/retry", "bill", map[string]any{"ids": []string{eBob, draft, e1, "ent_nope"}})
	if res.Status != 200 {
		t.Fatalf("retry: %d %s", res.Status, res.Body)
	}
	var rep cliosync.SyncReport
	json.Unmarshal(res.Body, &rep)
	if len(rep.Synced) != 1 || rep.Synced[0].EntryID != eBob || len(rep.Failed) != 0 || len(rep.Skipped) != 3 {
		t.Fatalf("retry report: %s", res.Body)
	}
	if a := cr.withMarker(eBob); len(a) != 1 || a[0].User == nil || a[0].User.ID != 203 {
		t.Fatalf("bob's activity: %+v", a)
	}
	// Retry with no body retries every failed entry: eOnly fails again, with its reason.
	res = cr.do("POST", "/api/v1/clio/retry", "bill", nil)
	_, failed = decodeReport(t, res.Body)
	if res.Status != 200 || len(failed) != 1 || !strings.Contains(failed[eOnly], "9999-0001") {
		t.Fatalf("retry all: %d %s", res.Status, res.Body)
	}
	if n := cr.do("GET", "/api/v1/clio/errors", "bill", nil).json(t)["count"].(float64); n != 1 {
		t.Fatalf("%v errors left, want 1", n)
	}
	for _, id := range []string{e1, e2, eBob} {
		if n := len(cr.withMarker(id)); n != 1 {
			t.Errorf("entry %s is in Clio %d times", id, n)
		}
	}
	assertNoTokenInAudit(t, cr)
	if bad, _, err := cr.st.VerifyAudit(context.Background()); bad != 0 || err != nil {
		t.Fatalf("audit chain: %d %v", bad, err)
	}
}

// A crash between Clio's answer and the local commit, a lost answer, and a rejection:
// every entry ends up in Clio exactly once and every failure is listed until fixed.
func TestClioSyncExactlyOnce(t *testing.T) {
	cr := newClioRig(t, true)
	cr.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	cr.connect()
	if res := cr.do("POST", "/api/v1/clio/import", "ada", nil); res.Status != 200 {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	m := cr.matterID("2024-0412")
	eCrash := cr.approved("alice", m, "2026-11-16", 0.3)
	eLost := cr.approved("alice", m, "2026-11-17", 0.4)
	eRejected := cr.approved("alice", m, "2026-11-18", 0.5)

	// MarkSynced for eCrash fails after Clio created the activity (power lost before commit).
	db := cr.st.DB()
	if _, err := db.Exec(`CREATE TRIGGER crash_before_commit BEFORE UPDATE OF clio_state ON entries
		WHEN NEW.clio_state = 'synced' AND NEW.id = '` + eCrash + `' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`); err != nil {
		t.Fatal(err)
	}
	// Entries go in date order: eCrash's POST is clean, eLost's answer is lost after the
	// create, eRejected is refused by Clio.
	cr.fake.AddFault(cliofake.RouteCreateActivity, cliofake.Fault{}, cliofake.Fault{Status: 502, AfterCreate: true}, cliofake.Fault{Status: 422})

	synced, failed := cr.sync("bill")
	if !synced[eLost].Reconciled || len(synced) != 1 {
		t.Fatalf("lost answer not reconciled: synced=%v failed=%v", synced, failed)
	}
	if !strings.Contains(failed[eCrash], "not recorded locally") || !strings.Contains(failed[eRejected], "422") || len(failed) != 2 {
		t.Fatalf("failed = %v", failed)
	}
	var list struct {
		Errors []store.ClioSyncError `json:"errors"`
	}
	json.Unmarshal(cr.do("GET", "/api/v1/clio/errors", "bill", nil).Body, &list)
	maybe := map[string]bool{}
	for _, e := range list.Errors {
		maybe[e.EntryID] = e.MaybeInClio
	}
	if len(list.Errors) != 2 || !maybe[eCrash] {
		t.Fatalf("errors list: %+v", list.Errors)
	}
	if e := cr.do("GET", "/api/v1/entries/"+eCrash, "alice", nil).json(t); e["status"] != "approved" {
		t.Fatalf("crashed entry status %v", e["status"])
	}

	// "Restart": the database works again. The next sync finds eCrash in Clio instead of
	// sending it again, and sends eRejected (Clio accepts it now).
	if _, err := db.Exec("DROP TRIGGER crash_before_commit"); err != nil {
		t.Fatal(err)
	}
	synced, failed = cr.sync("bill")
	if len(failed) != 0 || !synced[eCrash].Reconciled || synced[eRejected].Reconciled || len(synced) != 2 {
		t.Fatalf("second sync: synced=%v failed=%v", synced, failed)
	}
	for _, id := range []string{eCrash, eLost, eRejected} {
		if n := len(cr.withMarker(id)); n != 1 {
			t.Errorf("entry %s is in Clio %d times, want exactly 1", id, n)
		}
	}
	if acts := len(cr.fake.Activities()); acts != 3 {
		t.Fatalf("%d activities in Clio, want 3", acts)
	}
	if n := cr.do("GET", "/api/v1/clio/errors", "bill", nil).json(t)["count"].(float64); n != 0 {
		t.Fatalf("%v errors left", n)
	}
}

func TestClioSyncIsExclusive(t *testing.T) {
	cr := newClioRig(t, true)
	cr.connect()
	ctx := context.Background()
	if err := cr.st.AcquireClioLease(ctx, "dictum-cli-sync", time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/v1/clio/sync", "/api/v1/clio/import"} {
		if res := cr.do("POST", p, "bill", nil); res.Status != 409 || res.errCode(t) != "clio_busy" {
			t.Fatalf("%s while another sync runs: %d %s", p, res.Status, res.Body)
		}
	}
	if err := cr.st.ReleaseClioLease(ctx, "dictum-cli-sync"); err != nil {
		t.Fatal(err)
	}
	if res := cr.do("POST", "/api/v1/clio/sync", "bill", nil); res.Status != 200 {
		t.Fatalf("sync after release: %d %s", res.Status, res.Body)
	}
	// The scheduled job is the same code path.
	if err := cr.svc.ScheduledSync(ctx); err != nil {
		t.Fatalf("scheduled sync with nothing to do: %v", err)
	}
}
