package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"dictum/internal/access"
	"dictum/internal/cliosync"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// The authorization matrix: every route of the router, for an anonymous caller, the owner
// (alice), another timekeeper (bob), billing (bill) and admin (ada). A route missing here
// fails the test, so a new route cannot ship without a decision about who may call it.
//
// Expectations: "ok" = allowed (any status below 500 except 401/403/404), "401", "403",
// "404", "login" = a page redirecting to /login, "public" = anyone (not 5xx), "stream" =
// an SSE stream that stays open.

type authzCase struct {
	fixture string // "", "draft", "approved", "deleted", "recording", "matter", "export", "token"
	body    func(r *rig, as string) (string, []byte)
	want    [5]string // anon, alice, bob, bill, ada
}

var principals = [5]string{"", "alice", "bob", "bill", "ada"}

func jsonBody(s string) func(*rig, string) (string, []byte) {
	return func(*rig, string) (string, []byte) { return "application/json", []byte(s) }
}

var (
	all         = [5]string{"401", "ok", "ok", "ok", "ok"}
	owner       = [5]string{"401", "ok", "404", "ok", "ok"}
	ownerOnly   = [5]string{"401", "ok", "404", "403", "403"}
	billingOnly = [5]string{"401", "403", "403", "ok", "ok"}
	admin       = [5]string{"401", "403", "403", "403", "ok"}
	anyPage     = [5]string{"login", "ok", "ok", "ok", "ok"}
	adminPage   = [5]string{"login", "403", "403", "403", "ok"}
	billPage    = [5]string{"login", "403", "403", "ok", "ok"}
	adminForm   = [5]string{"401", "403", "403", "403", "ok"}
	billForm    = [5]string{"401", "403", "403", "ok", "ok"}
	// A token-authenticated caller cannot change a password (that needs a login session).
	passwordForm = [5]string{"401", "403", "403", "403", "403"}
	public       = [5]string{"public", "public", "public", "public", "public"}
	catchAll     = [5]string{"404", "404", "404", "404", "404"}
)

var authzMatrix = map[string]authzCase{
	"GET /healthz":                       {want: public},
	"GET /readyz":                        {want: public},
	"GET /ca.crt":                        {want: public},
	"GET /ca.crl":                        {want: public},
	"GET /ca":                            {want: public},
	"GET /static/:hash/*":                {want: public},
	"GET /login":                         {want: public},
	"POST /login":                        {want: public, body: formBody("username=nobody&password=wrong")},
	"POST /logout":                       {want: [5]string{"public", "public", "public", "public", "public"}},
	"GET /clio/callback":                 {want: public},
	"GET /":                              {want: anyPage},
	"GET /record":                        {want: anyPage},
	"GET /inbox":                         {want: anyPage},
	"GET /week":                          {want: anyPage},
	"GET /inbox/entries/:id":             {fixture: "draft", want: [5]string{"login", "ok", "404", "404", "404"}},
	"GET /approved":                      {want: anyPage},
	"GET /billing":                       {want: billPage},
	"GET /account":                       {want: anyPage},
	"GET /2fa":                           {want: anyPage},
	"POST /account/password":             {want: passwordForm, body: formBody("current=x&new=y&confirm=y")},
	"POST /account/tokens":               {want: passwordForm, body: formBody("name=x&expires_in_days=90&password=x")},
	"POST /account/tokens/:id/revoke":    {fixture: "token", want: passwordForm},
	"GET /admin":                         {want: adminPage},
	"GET /admin/users":                   {want: adminPage},
	"POST /admin/users":                  {want: adminForm, body: formBody("username=zed&role=timekeeper")},
	"POST /admin/users/:username":        {want: adminForm, body: formBody("display_name=Bob")},
	"GET /admin/matters":                 {want: billPage},
	"POST /admin/matters":                {want: billForm, body: formBody("number=77&client=C&name=N")},
	"POST /admin/matters/import":         {want: billForm, body: formBody("csv=number,client,name")},
	"POST /admin/matters/import/confirm": {want: billForm, body: formBody("csv=number,client,name")},
	"GET /admin/matters/:id":             {fixture: "matter", want: billPage},
	"POST /admin/matters/:id":            {fixture: "matter", want: billForm, body: formBody("name=Renamed")},
	"GET /admin/dataflow":                {want: adminPage},
	"GET /admin/backups":                 {want: adminPage},
	"POST /admin/backups":                {want: adminForm},
	"GET /api/v1/backups":                {want: admin},
	"POST /api/v1/backups":               {want: admin},
	"GET /api/v1/dataflow":               {want: admin},
	"GET /admin/settings":                {want: adminPage},
	"POST /admin/settings":               {want: adminForm, body: formBody("firm_name=Firm")},

	"POST /api/v1/session":        {want: public, body: jsonBody(`{"username":"nobody","password":"wrong"}`)},
	"DELETE /api/v1/session":      {want: all},
	"GET /api/v1/me":              {want: all},
	"GET /api/v1/me/2fa":          {want: all},
	"POST /api/v1/me/2fa":         {want: all},
	"POST /api/v1/me/2fa/confirm": {want: all, body: jsonBody(`{"code":"000000"}`)},
	"DELETE /api/v1/me/2fa": {want: all, body: func(_ *rig, as string) (string, []byte) {
		return "application/json", []byte(`{"password":"password-` + as + `"}`)
	}},
	"GET /api/v1/matters":       {want: all},
	"POST /api/v1/matters":      {want: billingOnly, body: jsonBody(`{"number":"88","client":"C","name":"N"}`)},
	"GET /api/v1/matters/:id":   {fixture: "matter", want: all},
	"PATCH /api/v1/matters/:id": {fixture: "matter", want: billingOnly, body: jsonBody(`{"name":"Renamed"}`)},
	"GET /api/v1/entries":       {want: all},
	"POST /api/v1/entries":      {want: all, body: jsonBody(`{"narrative":"Manual."}`)},
	"POST /api/v1/entries/approve": {fixture: "draft", want: all, body: func(r *rig, _ string) (string, []byte) {
		return "application/json", []byte(`{"ids":["` + r.fixtureID + `"]}`)
	}},
	"GET /api/v1/entries/:id":             {fixture: "draft", want: owner},
	"PATCH /api/v1/entries/:id":           {fixture: "draft", want: ownerOnly, body: jsonBody(`{"narrative":"Edited."}`)},
	"DELETE /api/v1/entries/:id":          {fixture: "draft", want: ownerOnly},
	"POST /api/v1/entries/:id/approve":    {fixture: "draft", want: ownerOnly},
	"POST /api/v1/entries/:id/reopen":     {fixture: "approved", want: owner},
	"POST /api/v1/entries/:id/restore":    {fixture: "deleted", want: [5]string{"401", "ok", "404", "403", "ok"}},
	"POST /api/v1/recordings":             {want: all, body: func(*rig, string) (string, []byte) { return "audio/wav", tone(1) }},
	"GET /api/v1/recordings":              {want: all},
	"GET /api/v1/recordings/:id":          {fixture: "recording", want: owner},
	"GET /api/v1/recordings/:id/audio":    {fixture: "recording", want: owner},
	"DELETE /api/v1/recordings/:id/audio": {fixture: "recording", want: ownerOnly},
	"GET /api/v1/aliases":                 {want: all},
	"POST /api/v1/aliases": {want: all, body: func(r *rig, _ string) (string, []byte) {
		return "application/json", []byte(`{"phrase":"marina deal","matter":"` + r.matterID() + `"}`)
	}},
	// a user alias is its owner's alone: nobody else, not even an admin, deletes it
	"DELETE /api/v1/aliases":             {fixture: "alias", want: [5]string{"401", "ok", "404", "404", "404"}},
	"GET /api/v1/timesheet":              {want: all},
	"POST /api/v1/dictations":            {want: all, body: jsonBody(`{"text":"Point three on Smith v. Jones drafting the motion."}`)},
	"GET /api/v1/events":                 {want: [5]string{"401", "stream", "stream", "stream", "stream"}},
	"GET /api/v1/users":                  {want: billingOnly},
	"POST /api/v1/users":                 {want: admin, body: jsonBody(`{"username":"newbie","role":"timekeeper"}`)},
	"PATCH /api/v1/users/:username":      {want: admin, body: jsonBody(`{"display_name":"Alice A."}`)},
	"DELETE /api/v1/users/:username/2fa": {want: admin},
	"GET /api/v1/tokens":                 {want: all},
	"POST /api/v1/tokens":                {want: all, body: withPassword(`"name":"script"`)},
	"DELETE /api/v1/tokens/:id":          {fixture: "token", want: [5]string{"401", "ok", "404", "404", "ok"}},
	"GET /api/v1/lockouts":               {want: admin},
	"GET /api/v1/audit":                  {want: admin},
	"GET /api/v1/audit.csv":              {want: admin},
	"GET /admin/audit":                   {want: adminPage},
	"GET /admin/directory":               {want: adminPage},
	"POST /admin/directory":              {want: adminForm},
	// A timekeeper may archive only themselves, billing a matter (this body), admins anything.
	"POST /api/v1/archives": {fixture: "matter", want: [5]string{"401", "403", "403", "ok", "ok"}, body: func(r *rig, _ string) (string, []byte) {
		return "application/json", []byte(`{"scope":"matter:` + r.fixtureID + `"}`)
	}},
	"GET /api/v1/archives": {want: all},
	// The fixture is a matter archive bill asked for: bill and ada see it, others get 404.
	"GET /api/v1/archives/:id":          {fixture: "archive", want: [5]string{"401", "404", "404", "ok", "ok"}},
	"GET /api/v1/archives/:id/download": {fixture: "archive", want: [5]string{"401", "404", "404", "ok", "ok"}},
	"GET /api/v1/settings":              {want: billingOnly},
	"PATCH /api/v1/settings":            {want: admin, body: jsonBody(`{"firm_name":"Firm"}`)},
	"GET /api/v1/exports/entries.csv":   {want: billingOnly},
	"GET /api/v1/exports/entries.ledes": {fixture: "matter", want: billingOnly},
	"POST /api/v1/exports":              {want: billingOnly, body: jsonBody(`{"format":"csv"}`)},
	"GET /api/v1/exports":               {want: billingOnly},
	"GET /api/v1/exports/:id/download":  {fixture: "export", want: billingOnly},
	"GET /api/v1/clio":                  {want: billingOnly},
	"DELETE /api/v1/clio":               {want: admin},
	"POST /api/v1/clio/connect":         {want: admin},
	"POST /api/v1/clio/import":          {want: billingOnly},
	"POST /api/v1/clio/sync":            {want: billingOnly},
	"GET /api/v1/clio/errors":           {want: billingOnly},
	"POST /api/v1/clio/retry":           {want: billingOnly, body: jsonBody(`{"ids":[]}`)},
	"ANY /api/v1/*":                     {want: catchAll},

	// Retention: deleted items, admin only (fixture: an entry its owner deleted).
	"GET /api/v1/deleted":                    {want: admin},
	"POST /api/v1/deleted/:kind/:id/restore": {fixture: "deleted", want: admin},
	"GET /admin/deleted":                     {want: adminPage},
	"POST /admin/deleted/:kind/:id/restore":  {fixture: "deleted", want: adminForm, body: formBody("")},

	// E-billing (issue 19): client profiles and the LEDES check for billing, timekeeper
	// e-billing fields for admins.
	"GET /api/v1/clients":             {want: billingOnly},
	"GET /api/v1/clients/:id":         {fixture: "client", want: billingOnly},
	"PATCH /api/v1/clients/:id":       {fixture: "client", want: billingOnly, body: jsonBody(`{"required_codes":"both"}`)},
	"GET /api/v1/exports/ledes/check": {fixture: "matter", want: billingOnly},
	"POST /api/v1/clients/:id/codes": {fixture: "client", want: billingOnly, body: func(*rig, string) (string, []byte) {
		return "text/csv", []byte("task,L110,Fact Investigation\n")
	}},
	"GET /admin/clients":                  {want: billPage},
	"GET /admin/clients/:id":              {fixture: "client", want: billPage},
	"POST /admin/clients/:id":             {fixture: "client", want: billForm, body: formBody("ledes_client_id=C1&required_codes=both&code_set=utbms-litigation")},
	"POST /admin/clients/:id/codes":       {fixture: "client", want: billForm, body: formBody("csv=task,L110,Fact")},
	"GET /admin/users/:username/ebilling": {want: adminPage},

	// Matter access (issue 15): walls are read by billing, changed by admins; share links
	// are billing's; the shared page needs no account (the token is the credential).
	// Walled matters: TestWalledMatterIs404Everywhere.
	"GET /api/v1/matters/:id/access":         {fixture: "matter", want: billingOnly},
	"PUT /api/v1/matters/:id/access":         {fixture: "matter", want: admin, body: jsonBody(`{"restricted":false,"members":[],"screened":[],"reason":"matrix"}`)},
	"POST /api/v1/matters/:id/shares":        {fixture: "matter", want: billingOnly, body: jsonBody(`{"from":"2026-11-01","to":"2026-11-30"}`)},
	"GET /api/v1/matters/:id/shares":         {fixture: "matter", want: billingOnly},
	"DELETE /api/v1/matters/:id/shares/:sid": {fixture: "share", want: billingOnly},
	"POST /admin/matters/:id/access":         {fixture: "matter", want: adminForm, body: formBody("reason=matrix")},
	"GET /s/:token":                          {fixture: "sharetoken", want: public},
	"GET /s/:token/entries.csv":              {fixture: "sharetoken", want: public},
	"POST /admin/users/:username/ebilling":   {want: adminForm, body: formBody("first_name=Alice&last_name=Adams")},
}

// withPassword is a JSON body with the caller's password added (re-authentication).
func withPassword(fields string) func(*rig, string) (string, []byte) {
	return func(_ *rig, as string) (string, []byte) {
		return "application/json", []byte(`{` + fields + `,"password":"password-` + as + `"}`)
	}
}

func formBody(s string) func(*rig, string) (string, []byte) {
	return func(*rig, string) (string, []byte) { return "application/x-www-form-urlencoded", []byte(s) }
}

// fixture creates a fresh object for one check and returns the path with its id filled in.
func (r *rig) fixture(kind, path string) string {
	t := r.T()
	ctx := context.Background()
	alice, _ := r.st.UserByName(ctx, "alice")
	pa := identity.Actor{UserID: alice.ID, Username: "alice", Role: "timekeeper"}
	id := ""
	switch kind {
	case "draft", "approved", "deleted":
		m := r.matterID()
		e, err := r.st.CreateEntry(ctx, pa, store.NewEntry{UserID: alice.ID, Fields: entry.Fields{MatterID: m, Date: "2026-11-20", Tenths: 3, Activity: "A103", Narrative: "Drafted.", Billable: true}})
		if err != nil {
			t.Fatal(err)
		}
		id = e.ID
		if kind == "approved" {
			if _, err := r.st.Approve(ctx, pa, id, r.now); err != nil {
				t.Fatal(err)
			}
		}
		if kind == "deleted" {
			if _, err := r.st.DeleteEntry(ctx, pa, id); err != nil {
				t.Fatal(err)
			}
		}
	case "recording":
		res := r.do("POST", "/api/v1/recordings", "alice", tone(1), "Content-Type", "audio/wav")
		id = res.json(t)["id"].(string)
	case "matter":
		id = r.matterID()
	case "client":
		m, err := r.st.MatterByID(ctx, r.matterID())
		if err != nil {
			t.Fatal(err)
		}
		id = m.ClientID
	case "export":
		e := r.fixture("approved", ":id")
		_ = e
		res := r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "csv"})
		id = res.json(t)["export"].(map[string]any)["id"].(string)
	case "archive":
		bill, _ := r.st.UserByName(ctx, "bill")
		x, err := r.st.CreateArchive(ctx, identity.Actor{UserID: bill.ID, Username: "bill", Role: "billing"}, "matter:"+r.matterID())
		if err != nil {
			t.Fatal(err)
		}
		id = x.ID
	case "share", "sharetoken":
		cr, err := r.srv.access.CreateShare(ctx, identity.Actor{UserID: r.ids["bill"], Username: "bill", Role: "billing"}, r.matterID(),
			access.ShareRequest{From: "2026-11-01", To: "2026-11-30"})
		if err != nil {
			t.Fatal(err)
		}
		id = r.matterID()
		path = strings.NewReplacer(":sid", cr.Share.ID, ":token", cr.Token).Replace(path)
	case "alias":
		al, err := r.st.PutAlias(ctx, pa, store.Alias{Phrase: "marina deal", MatterID: r.matterID(), Scope: store.AliasUser, UserID: alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		id = al.ID
		path += "?id=" + id
	case "token":
		res := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "x", "password": "password-alice"})
		if res.Status != 201 {
			t.Fatalf("token fixture: %d %s", res.Status, res.Body)
		}
		id = fmt.Sprint(int64(res.json(t)["id"].(float64)))
	}
	r.fixtureID = id
	// User routes act on a user of their own: an admin resetting alice would revoke the
	// token the rest of the matrix calls as alice.
	if strings.Contains(path, ":username") {
		if _, ok := r.tokens["target"]; !ok {
			r.addUser("target", "timekeeper", "password-target")
		}
	}
	p := strings.NewReplacer(":id", id, ":kind", "entry", ":username", "target", ":hash", "0", "*", "x").Replace(path)
	if strings.HasSuffix(path, "entries.ledes") || strings.HasSuffix(path, "ledes/check") {
		p += "?matter=" + id + "&from=2026-11-01&to=2026-11-30"
	}
	return p
}

func (r *rig) matterID() string {
	if r.mid == "" {
		r.mid = r.matter("M-1", "Client", "Matter")
	}
	return r.mid
}

func TestAuthorizationMatrix(t *testing.T) {
	r := newRig(t, func(c *configT) {
		c.Limits.RequestsPerMin = 1 << 20
		c.Limits.UploadsPerHour = 1 << 20
		c.Clio.ClientID, c.Clio.RedirectURL, c.Clio.BaseURL = "cid", "https://dictum.test/clio/callback", "http://127.0.0.1:1"
	})
	r.srv.SetClio(cliosync.New(cliosync.Deps{Config: r.cfg, Store: r.st, TokenKey: [32]byte{1}}))
	seen := map[string]bool{}
	for _, rt := range r.srv.Routes() {
		key := rt.Method + " " + rt.Path
		if rt.Path == "/api/v1/*" {
			key = "ANY /api/v1/*"
		}
		tc, ok := authzMatrix[key]
		if !ok {
			t.Errorf("route %s has no entry in the authorization matrix: decide who may call it", key)
			continue
		}
		seen[key] = true
		for i, who := range principals {
			path := r.fixture(tc.fixture, rt.Path)
			ct, body := "", []byte(nil)
			if tc.body != nil {
				ct, body = tc.body(r, who)
			}
			got, loc := r.call(rt.Method, path, who, ct, body, tc.want[i] == "stream")
			if !authzOK(tc.want[i], got, loc) {
				t.Errorf("%s %s as %q: got %d (location %q), want %s", rt.Method, path, who, got, loc, tc.want[i])
			}
		}
	}
	for key := range authzMatrix {
		if !seen[key] {
			t.Errorf("matrix entry %q matches no route (stale?)", key)
		}
	}
}

func authzOK(want string, got int, loc string) bool {
	switch want {
	case "ok":
		return got < 500 && got != 401 && got != 403 && got != 404
	case "public":
		return got < 500
	case "stream":
		return got == -1
	case "login":
		return (got == 302 || got == 303) && strings.HasPrefix(loc, "/login")
	}
	return fmt.Sprint(got) == want
}

// call sends one request; a stream that is still open after a moment reports -1.
func (r *rig) call(method, path, as, ct string, body []byte, stream bool) (int, string) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "text/html")
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+r.tokens[as])
	}
	timeout := -1
	if stream {
		timeout = 300
	}
	res, err := r.srv.App().Test(req, timeout)
	if err != nil {
		if stream && strings.Contains(err.Error(), "timeout") {
			return -1, ""
		}
		r.T().Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// The walled matrix: every route that names a matter (and the entry routes), on a matter
// restricted to alice that screens bill. bob (outside the wall) and bill (screened) get
// exactly what a missing id gets: 404, or the role check's 403 that every id gets.
// A new matter route fails the test until it has a row here.
var walledMatrix = map[string]authzCase{
	"GET /api/v1/matters/:id":                {fixture: "walled", want: [5]string{"401", "ok", "404", "404", "ok"}},
	"PATCH /api/v1/matters/:id":              {fixture: "walled", want: [5]string{"401", "403", "403", "404", "ok"}, body: jsonBody(`{"name":"Renamed"}`)},
	"GET /api/v1/matters/:id/access":         {fixture: "walled", want: [5]string{"401", "403", "403", "404", "ok"}},
	"PUT /api/v1/matters/:id/access":         {fixture: "walled", want: [5]string{"401", "403", "403", "403", "ok"}, body: jsonBody(walledBody)},
	"POST /api/v1/matters/:id/shares":        {fixture: "walled", want: [5]string{"401", "403", "403", "404", "ok"}, body: jsonBody(`{"from":"2026-11-01","to":"2026-11-30"}`)},
	"GET /api/v1/matters/:id/shares":         {fixture: "walled", want: [5]string{"401", "403", "403", "404", "ok"}},
	"DELETE /api/v1/matters/:id/shares/:sid": {fixture: "walledshare", want: [5]string{"401", "403", "403", "404", "ok"}},
	"GET /admin/matters/:id":                 {fixture: "walled", want: [5]string{"login", "403", "403", "404", "ok"}},
	"POST /admin/matters/:id":                {fixture: "walled", want: [5]string{"401", "403", "403", "404", "ok"}, body: formBody("op=save&number=WM-1&client=C&name=Renamed&status=open")},
	"POST /admin/matters/:id/access":         {fixture: "walled", want: [5]string{"401", "403", "403", "403", "ok"}, body: formBody("restricted=on&members=alice&screened=bill&reason=matrix")},
	"GET /api/v1/entries/:id":                {fixture: "walledentry", want: [5]string{"401", "ok", "404", "404", "ok"}},
	"PATCH /api/v1/entries/:id":              {fixture: "walledentry", want: [5]string{"401", "ok", "404", "404", "403"}, body: jsonBody(`{"narrative":"Edited."}`)},
	"DELETE /api/v1/entries/:id":             {fixture: "walledentry", want: [5]string{"401", "ok", "404", "404", "403"}},
	"POST /api/v1/entries/:id/approve":       {fixture: "walledentry", want: [5]string{"401", "ok", "404", "404", "403"}},
	"GET /inbox/entries/:id":                 {fixture: "walledentry", want: [5]string{"login", "ok", "404", "404", "404"}},
}

const walledBody = `{"restricted":true,"members":["alice"],"screened":["bill"],"reason":"matrix"}`

func TestAuthorizationMatrixWalled(t *testing.T) {
	r := newRig(t, func(c *configT) { c.Limits.RequestsPerMin = 1 << 20 })
	seen := map[string]bool{}
	for _, rt := range r.srv.Routes() {
		key := rt.Method + " " + rt.Path
		tc, ok := walledMatrix[key]
		if !ok {
			if strings.Contains(rt.Path, "/matters/:id") {
				t.Errorf("route %s names a matter but has no row in the walled matrix", key)
			}
			continue
		}
		seen[key] = true
		for i, who := range principals {
			path := r.walledFixture(tc.fixture, rt.Path)
			ct, body := "", []byte(nil)
			if tc.body != nil {
				ct, body = tc.body(r, who)
			}
			got, loc := r.call(rt.Method, path, who, ct, body, false)
			if !authzOK(tc.want[i], got, loc) {
				t.Errorf("walled: %s %s as %q: got %d (location %q), want %s", rt.Method, path, who, got, loc, tc.want[i])
			}
		}
	}
	for key := range walledMatrix {
		if !seen[key] {
			t.Errorf("walled matrix entry %q matches no route (stale?)", key)
		}
	}
}

// walledFixture makes (once) a matter restricted to alice that screens bill, and per check
// a draft of alice's on it or a share link of it.
func (r *rig) walledFixture(kind, path string) string {
	t := r.T()
	ctx := context.Background()
	if r.walled == "" {
		r.walled = r.matter("WM-1", "Walled Client", "Walled matter")
		if res := r.do("PUT", "/api/v1/matters/"+r.walled+"/access", "ada", walledBody); res.Status != 200 {
			t.Fatalf("wall: %d %s", res.Status, res.Body)
		}
	}
	rep := []string{":id", r.walled}
	switch kind {
	case "walledentry":
		alice := identity.Actor{UserID: r.ids["alice"], Username: "alice", Role: "timekeeper"}
		e, err := r.st.CreateEntry(ctx, alice, store.NewEntry{UserID: alice.UserID, Fields: entry.Fields{MatterID: r.walled, Date: "2026-11-20", Tenths: 3, Activity: "A103", Narrative: "Walled.", Billable: true}})
		if err != nil {
			t.Fatal(err)
		}
		rep = []string{":id", e.ID}
	case "walledshare":
		cr, err := r.srv.access.CreateShare(ctx, identity.Actor{UserID: r.ids["ada"], Username: "ada", Role: "admin"}, r.walled, access.ShareRequest{From: "2026-11-01", To: "2026-11-30"})
		if err != nil {
			t.Fatal(err)
		}
		rep = append(rep, ":sid", cr.Share.ID)
	}
	return strings.NewReplacer(rep...).Replace(path)
}
