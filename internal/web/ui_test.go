package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"dictum/internal/auth"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// uiWorld is the page tests' rig: one user per role plus a second timekeeper (tk, tk2,
// biller, boss; passwords "pw-<name>-long-enough"), driven like a browser.
type uiWorld struct {
	*rig
}

func newUIWorld(t *testing.T) *uiWorld {
	t.Helper()
	var users []testrig.UserSpec
	for _, u := range []struct{ name, role string }{{"tk", "timekeeper"}, {"tk2", "timekeeper"}, {"biller", "billing"}, {"boss", "admin"}} {
		users = append(users, testrig.UserSpec{Username: u.name, Role: u.role, Password: "pw-" + u.name + "-long-enough"})
	}
	return &uiWorld{newServerRig(t, users)}
}

type uiResp struct {
	Status int
	Header http.Header
	Body   string
}

// req sends a browser-like request (Accept: text/html) with an optional session cookie.
func (w *uiWorld) req(method, path, cookie string, form url.Values) uiResp {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		r.Header.Set("Cookie", "dictum_session="+cookie)
	}
	return w.send(r)
}

func (w *uiWorld) send(r *http.Request) uiResp {
	w.t.Helper()
	res := w.roundTrip(r)
	return uiResp{Status: res.Status, Header: res.Header, Body: string(res.Body)}
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// login logs in through the HTML form and returns the session cookie and CSRF token.
func (w *uiWorld) login(user string) (cookie, csrf string) {
	w.t.Helper()
	res := w.req("POST", "/login", "", url.Values{"username": {user}, "password": {"pw-" + user + "-long-enough"}})
	if res.Status != http.StatusSeeOther {
		w.t.Fatalf("login %s: %d %s", user, res.Status, res.Body)
	}
	for _, c := range res.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(c, "dictum_session="); ok {
			cookie = strings.SplitN(v, ";", 2)[0]
		}
	}
	if cookie == "" {
		w.t.Fatal("no session cookie")
	}
	page := w.req("GET", "/2fa", cookie, nil) // exempt from the 2FA enrolment redirect
	m := csrfRe.FindStringSubmatch(page.Body)
	if m == nil {
		w.t.Fatalf("no CSRF field on /2fa: %s", page.Body)
	}
	return cookie, m[1]
}

func titleOf(body string) string {
	m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestUIAnonymousRedirectsToLogin(t *testing.T) {
	w := newUIWorld(t)
	for _, p := range []string{"/", "/record", "/inbox", "/approved", "/billing", "/account", "/admin", "/admin/users", "/admin/matters", "/admin/settings"} {
		res := w.req("GET", p, "", nil)
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s anonymous: %d %q", p, res.Status, res.Header.Get("Location"))
		}
	}
	// A form post without a session is not a page: it gets the error page, never a change.
	res := w.req("POST", "/admin/settings", "", url.Values{"firm_name": {"x"}})
	if res.Status != http.StatusUnauthorized {
		t.Errorf("anonymous POST /admin/settings: %d", res.Status)
	}
	lp := w.req("GET", "/login", "", nil)
	if lp.Status != 200 || !strings.Contains(titleOf(lp.Body), "Log in") || !strings.Contains(lp.Body, `<label for="password">`) {
		t.Errorf("login page: %d %q", lp.Status, titleOf(lp.Body))
	}
}

func TestUILoginForm(t *testing.T) {
	w := newUIWorld(t)
	res := w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {"wrong password!"}})
	if res.Status != 401 || !strings.Contains(res.Body, "Wrong username or password.") {
		t.Fatalf("bad login: %d %s", res.Status, res.Body)
	}
	if strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "dictum_session=") {
		t.Fatal("cookie set on failed login")
	}
	// A cross-site post is refused before any password check.
	r := httptest.NewRequest("POST", "/login", strings.NewReader("username=tk&password=pw-tk-long-enough"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := w.send(r); res.Status != 403 {
		t.Fatalf("cross-site login: %d", res.Status)
	}
	// next= is honoured on this site only.
	res = w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {"pw-tk-long-enough"}, "next": {"//evil.example/"}})
	if res.Status != 303 || res.Header.Get("Location") != "/record" {
		t.Fatalf("login redirect: %d %q", res.Status, res.Header.Get("Location"))
	}
	res = w.req("POST", "/login", "", url.Values{"username": {"biller"}, "password": {"pw-biller-long-enough"}, "next": {"/approved?status=exported"}})
	if res.Header.Get("Location") != "/approved?status=exported" {
		t.Fatalf("next: %q", res.Header.Get("Location"))
	}
	// Logging out needs the CSRF token, then ends the session.
	cookie, csrf := w.login("tk")
	if res := w.req("POST", "/logout", cookie, url.Values{}); res.Status != 403 {
		t.Fatalf("logout without csrf: %d", res.Status)
	}
	if res := w.req("POST", "/logout", cookie, url.Values{"_csrf": {csrf}}); res.Status != 303 {
		t.Fatalf("logout: %d", res.Status)
	}
	if res := w.req("GET", "/inbox", cookie, nil); res.Status != 303 {
		t.Fatalf("after logout: %d", res.Status)
	}
}

func TestUIPagesRenderPerRole(t *testing.T) {
	w := newUIWorld(t)
	cases := map[string]map[string]int{
		"tk":     {"/record": 200, "/inbox": 200, "/approved": 200, "/account": 200, "/billing": 403, "/admin/users": 403, "/admin/matters": 403, "/admin/settings": 403, "/admin": 403},
		"biller": {"/record": 200, "/inbox": 200, "/approved": 200, "/billing": 200, "/admin/matters": 200, "/admin/users": 403, "/admin/settings": 403},
		"boss":   {"/record": 200, "/inbox": 200, "/approved": 200, "/billing": 200, "/admin/users": 200, "/admin/matters": 200, "/admin/settings": 200, "/admin": 303},
	}
	for user, pages := range cases {
		cookie, _ := w.login(user)
		for p, want := range pages {
			res := w.req("GET", p, cookie, nil)
			if res.Status != want {
				t.Errorf("%s GET %s: %d, want %d", user, p, res.Status, want)
				continue
			}
			if want == 303 {
				continue
			}
			if titleOf(res.Body) == "" || !strings.Contains(res.Body, `<main id="main"`) {
				t.Errorf("%s GET %s: no title or main", user, p)
			}
			if want == 403 && !strings.Contains(titleOf(res.Body), "Not allowed") {
				t.Errorf("%s GET %s: 403 page title %q", user, p, titleOf(res.Body))
			}
			if strings.Contains(res.Body, " style=") || strings.Contains(res.Body, " onclick=") || regexp.MustCompile(`<script>`).MatchString(res.Body) {
				t.Errorf("%s GET %s: inline style/script (CSP forbids it)", user, p)
			}
		}
	}
	// Unknown pages get the HTML 404 page.
	cookie, _ := w.login("tk")
	if res := w.req("GET", "/no-such-page", cookie, nil); res.Status != 404 || !strings.Contains(titleOf(res.Body), "Not found") {
		t.Errorf("404 page: %d %q", res.Status, titleOf(res.Body))
	}
}

func TestUIInboxShowsOnlyOwnDrafts(t *testing.T) {
	w := newUIWorld(t)
	ctx := context.Background()
	m := &store.Matter{Number: "2026-014", Client: "Smith Holdings", Name: "Smith v. Jones"}
	if err := w.st.CreateMatter(ctx, identity.Actor{Username: "t"}, m); err != nil {
		t.Fatal(err)
	}
	mine, err := w.st.CreateEntry(ctx, identity.Actor{Username: "tk"}, store.NewEntry{UserID: w.ids["tk"], Engine: "manual",
		Fields: entry.Fields{Date: "2026-11-20", Tenths: 3, MatterID: m.ID, Activity: "A103", Narrative: "Draft motion to compel <b>now</b>", Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := w.st.CreateEntry(ctx, identity.Actor{Username: "tk2"}, store.NewEntry{UserID: w.ids["tk2"], Engine: "manual",
		Fields: entry.Fields{Date: "2026-11-20", Tenths: 5, Narrative: "SECRET-OTHER-NARRATIVE", Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := w.login("tk")
	res := w.req("GET", "/inbox", cookie, nil)
	if res.Status != 200 || !strings.Contains(res.Body, `data-entry-id="`+mine.ID+`"`) {
		t.Fatalf("inbox lacks own draft: %d", res.Status)
	}
	if strings.Contains(res.Body, "SECRET-OTHER-NARRATIVE") || strings.Contains(res.Body, theirs.ID) {
		t.Fatal("inbox shows another timekeeper's draft")
	}
	if !strings.Contains(res.Body, "Draft motion to compel &lt;b&gt;now&lt;/b&gt;") {
		t.Fatal("narrative not escaped or missing")
	}
	if !strings.Contains(res.Body, `value="2026-014 — Smith v. Jones (Smith Holdings)"`) {
		t.Fatal("matter label missing")
	}
	// The card fragment: own entry yes, another's no (404, same as a missing id).
	if res := w.req("GET", "/inbox/entries/"+mine.ID, cookie, nil); res.Status != 200 || !strings.Contains(res.Body, `<article class="card"`) {
		t.Fatalf("own card: %d", res.Status)
	}
	if res := w.req("GET", "/inbox/entries/"+theirs.ID, cookie, nil); res.Status != 404 {
		t.Fatalf("other's card: %d", res.Status)
	}
	// Billing sees every timekeeper's approved entries; the timekeeper's list is their own.
	if _, err := w.st.Approve(ctx, identity.Actor{UserID: w.ids["tk"], Username: "tk", Role: "timekeeper"}, mine.ID, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	res = w.req("GET", "/approved", cookie, nil)
	if !strings.Contains(res.Body, mine.ID) || !strings.Contains(res.Body, `data-action="reopen"`) || !strings.Contains(res.Body, `<span class="big">0.3</span> h total`) {
		t.Fatalf("approved list: %s", res.Body)
	}
	bc, _ := w.login("biller")
	res = w.req("GET", "/billing?status=done&from=2026-11-01&to=2026-11-30", bc, nil)
	if res.Status != 200 || !strings.Contains(res.Body, mine.ID) || !strings.Contains(res.Body, "/api/v1/exports/entries.csv?from=2026-11-01&amp;status=all&amp;to=2026-11-30") {
		t.Fatalf("billing list: %d %s", res.Status, res.Body)
	}
	if res := w.req("GET", "/billing?from=yesterday", bc, nil); res.Status != 400 {
		t.Fatalf("bad date: %d", res.Status)
	}
}

func TestUIAdminFormsNeedCSRF(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("boss")
	if res := w.req("POST", "/admin/settings", cookie, url.Values{"firm_name": {"Evil & Co"}}); res.Status != 403 {
		t.Fatalf("settings without csrf: %d", res.Status)
	}
	if res := w.req("POST", "/admin/settings", cookie, url.Values{"_csrf": {csrf}, "firm_name": {"Hale & Pike LLP"}}); res.Status != 303 {
		t.Fatalf("settings: %d %s", res.Status, res.Body)
	}
	if v, _ := w.st.Setting(context.Background(), "firm_name"); v != "Hale & Pike LLP" {
		t.Fatalf("firm name = %q", v)
	}
	if res := w.req("GET", "/record", cookie, nil); !strings.Contains(res.Body, "Hale &amp; Pike LLP") {
		t.Fatal("firm name not in header")
	}
	// Add a user with a generated one-time password, then disable them.
	res := w.req("POST", "/admin/users", cookie, url.Values{"_csrf": {csrf}, "username": {"carol"}, "role": {"timekeeper"}})
	if res.Status != 201 || !strings.Contains(res.Body, `id="onetime"`) {
		t.Fatalf("add user: %d", res.Status)
	}
	u, err := w.st.UserByName(context.Background(), "carol")
	if err != nil || !u.MustChangePassword {
		t.Fatalf("carol: %v %+v", err, u)
	}
	if res := w.req("POST", "/admin/users/carol", cookie, url.Values{"_csrf": {csrf}, "op": {"disable"}}); res.Status != 303 {
		t.Fatalf("disable: %d", res.Status)
	}
	if u, _ := w.st.UserByName(context.Background(), "carol"); !u.Disabled {
		t.Fatal("carol not disabled")
	}
	if res := w.req("POST", "/admin/users/boss", cookie, url.Values{"_csrf": {csrf}, "op": {"disable"}}); res.Status != 409 {
		t.Fatalf("self-disable: %d", res.Status)
	}
	// A timekeeper cannot post to admin forms even with their own valid token.
	tc, tcsrf := w.login("tk")
	if res := w.req("POST", "/admin/users", tc, url.Values{"_csrf": {tcsrf}, "username": {"mallory"}, "role": {"admin"}}); res.Status != 403 {
		t.Fatalf("timekeeper adds user: %d", res.Status)
	}
}

func TestParseMatterCSV(t *testing.T) {
	existing := map[string]bool{"2026-001": true}
	in := "\xef\xbb\xbfnumber,client,name,status,litigation\n" +
		"2026-014,Smith Holdings,Smith v. Jones,open,yes\n" +
		"2026-015, Acme ,\"Acme, Inc. lease\",closed,no\n" +
		"2026-001,Old,Existing matter\n" +
		"2026-014,Dup,Duplicate\n" +
		"2026-016,,No client\n" +
		"2026-017,X,Bad status,pending\n" +
		"2026-018,X,Bad lit,open,maybe\n" +
		"2026-019,Y\n" +
		"\n"
	rows, err := parseMatterCSV([]byte(in), existing)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line int
		err  string
	}{{2, ""}, {3, ""}, {4, "already exists"}, {5, "also on line 2"}, {6, "client is empty"}, {7, "must be open or closed"}, {8, "must be yes or no"}, {9, "at least 3 columns"}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		if rows[i].Line != w.line || (w.err == "") != (rows[i].Err == "") || !strings.Contains(rows[i].Err, w.err) {
			t.Errorf("row %d: %+v, want line %d err %q", i, rows[i], w.line, w.err)
		}
	}
	if !rows[0].Litigation || rows[1].Status != "closed" || rows[1].Client != "Acme" || rows[1].Name != "Acme, Inc. lease" {
		t.Errorf("values: %+v %+v", rows[0], rows[1])
	}
	semi, err := parseMatterCSV([]byte("A-1;Client;Name\n"), nil)
	if err != nil || len(semi) != 1 || semi[0].Err != "" {
		t.Errorf("semicolons: %v %+v", err, semi)
	}
	for _, bad := range []string{"", "number,client,name\n", "a,\"b,c\n", "\xff\xfe,x,y"} {
		if _, err := parseMatterCSV([]byte(bad), nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestUIMatterImport(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("boss")
	csv := "number,client,name\nM-1,Client A,First\nM-2,Client B,Second\nM-2,Client C,Dup\n"
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("_csrf", csrf)
	fw, _ := mw.CreateFormFile("file", "matters.csv")
	_, _ = fw.Write([]byte(csv))
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/admin/matters/import", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Cookie", "dictum_session="+cookie)
	res := w.send(r)
	if res.Status != 200 || !strings.Contains(res.Body, "<strong>2</strong> row(s) ready to import") || !strings.Contains(res.Body, "also on line 3") {
		t.Fatalf("preview: %d %s", res.Status, res.Body)
	}
	if list, _ := w.st.Matters(context.Background(), "", ""); len(list) != 0 {
		t.Fatal("preview created matters")
	}
	res = w.req("POST", "/admin/matters/import/confirm", cookie, url.Values{"_csrf": {csrf}, "csv": {csv}})
	if res.Status != 200 || !strings.Contains(res.Body, "Imported 2 matter(s); 1 row(s) not imported.") {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	list, _ := w.st.Matters(context.Background(), "", "")
	if len(list) != 2 {
		t.Fatalf("%d matters", len(list))
	}
	// Close one through the list's button, then edit the other.
	if res := w.req("POST", "/admin/matters/"+list[0].ID, cookie, url.Values{"_csrf": {csrf}, "op": {"close"}}); res.Status != 303 {
		t.Fatalf("close: %d", res.Status)
	}
	if m, _ := w.st.MatterByID(context.Background(), list[0].ID); m.Status != "closed" {
		t.Fatal("not closed")
	}
	res = w.req("POST", "/admin/matters/"+list[1].ID, cookie, url.Values{"_csrf": {csrf}, "op": {"save"}, "number": {list[1].Number}, "client": {"Renamed Client"}, "name": {"Renamed"}, "status": {"open"}})
	if res.Status != 303 {
		t.Fatalf("save: %d %s", res.Status, res.Body)
	}
	if m, _ := w.st.MatterByID(context.Background(), list[1].ID); m.Name != "Renamed" || m.Client != "Renamed Client" {
		t.Fatalf("edit: %+v", m)
	}
}

func TestUIStaticAssets(t *testing.T) {
	w := newUIWorld(t)
	k, err := loadUI()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"css/app.css", "js/app.js", "js/recorder-worklet.js", "img/icon.svg"} {
		f := k.static.Get(p)
		if f == nil {
			t.Fatalf("missing %s", p)
		}
		res := w.req("GET", f.URL(), "", nil)
		if res.Status != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || res.Body != string(f.Data) {
			t.Errorf("%s: %d %q", p, res.Status, res.Header.Get("Cache-Control"))
		}
		if strings.HasSuffix(p, ".js") && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s content type %q", p, res.Header.Get("Content-Type"))
		}
		old := w.req("GET", "/static/000000000000/"+p, "", nil)
		if old.Status != 302 || old.Header.Get("Location") != f.URL() {
			t.Errorf("stale %s: %d %q", p, old.Status, old.Header.Get("Location"))
		}
	}
	if res := w.req("GET", "/static/abc/../../etc/passwd", "", nil); res.Status != 404 {
		t.Errorf("traversal: %d", res.Status)
	}
}

func TestUIAccountPasswordChange(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("tk")
	res := w.req("POST", "/account/password", cookie, url.Values{"_csrf": {csrf}, "current": {"nope"}, "new": {"another-long-pass"}, "confirm": {"another-long-pass"}})
	if res.Status != 422 || !strings.Contains(res.Body, "current password is wrong") {
		t.Fatalf("wrong current: %d", res.Status)
	}
	res = w.req("POST", "/account/password", cookie, url.Values{"_csrf": {csrf}, "current": {"pw-tk-long-enough"}, "new": {"another-long-pass"}, "confirm": {"another-long-pass"}})
	if res.Status != 303 {
		t.Fatalf("change: %d %s", res.Status, res.Body)
	}
	if u, _ := w.st.UserByName(context.Background(), "tk"); auth.Verify("another-long-pass", u.PasswordHash) != nil {
		t.Fatal("password not changed")
	}
	if res := w.req("GET", "/inbox", cookie, nil); res.Status != 303 {
		t.Fatalf("old session still valid: %d", res.Status)
	}
}

func TestUILoginWithTwoFactor(t *testing.T) {
	w := newUIWorld(t)
	ctx := context.Background()
	secret, _, _, err := auth.NewTOTP("Dictum", "tk")
	if err != nil {
		t.Fatal(err)
	}
	codes, hashes, err := auth.NewRecoveryCodes(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.StartTwoFA(ctx, identity.Actor{Username: "t"}, w.ids["tk"], secret); err != nil {
		t.Fatal(err)
	}
	if err := w.st.EnableTwoFA(ctx, identity.Actor{Username: "t"}, w.ids["tk"], 0, hashes); err != nil {
		t.Fatal(err)
	}
	pw := "pw-tk-long-enough"
	// Password alone is not enough: the form asks for the code and sets no cookie.
	res := w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {pw}})
	if res.Status != 401 || !strings.Contains(res.Body, "two-factor authentication") || strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "dictum_session=") {
		t.Fatalf("no code: %d %s", res.Status, res.Body)
	}
	if !strings.Contains(res.Body, `name="code"`) || !strings.Contains(res.Body, `autocomplete="one-time-code"`) {
		t.Fatal("no code field")
	}
	if res := w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {pw}, "code": {"000000"}}); res.Status != 401 || !strings.Contains(res.Body, "code is wrong") {
		t.Fatalf("wrong code: %d", res.Status)
	}
	code, err := totp.GenerateCode(secret, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if res := w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {pw}, "code": {code[:3] + " " + code[3:]}}); res.Status != 303 {
		t.Fatalf("good code: %d %s", res.Status, res.Body)
	}
	if res := w.req("POST", "/login", "", url.Values{"username": {"tk"}, "password": {pw}, "code": {codes[0]}}); res.Status != 303 {
		t.Fatalf("recovery code: %d %s", res.Status, res.Body)
	}
	// The firm requires 2FA for billing: a biller without it is sent to the enrolment page.
	if err := w.st.SetSetting(ctx, identity.Actor{Username: "t"}, store.SettingRequire2FA, "billing"); err != nil {
		t.Fatal(err)
	}
	bc, _ := w.login("biller")
	if res := w.req("GET", "/billing", bc, nil); res.Status != 303 || res.Header.Get("Location") != "/2fa" {
		t.Fatalf("billing without 2FA: %d %q", res.Status, res.Header.Get("Location"))
	}
	res = w.req("GET", "/2fa", bc, nil)
	if res.Status != 200 || !strings.Contains(res.Body, "requires two-factor authentication for your role") || !strings.Contains(res.Body, `id="tfa-start"`) {
		t.Fatalf("2fa page: %d", res.Status)
	}
}

func TestUIAdminSettingsAndReset2FA(t *testing.T) {
	w := newUIWorld(t)
	ctx := context.Background()
	cookie, csrf := w.login("boss")
	res := w.req("POST", "/admin/settings", cookie, url.Values{"_csrf": {csrf}, "firm_name": {"Hale"}, "ledes_law_firm_id": {"12-3456789"},
		"default_rate": {"412.50"}, "require_2fa_billing": {"on"}})
	if res.Status != 303 {
		t.Fatalf("settings: %d %s", res.Status, res.Body)
	}
	all, _ := w.st.Settings(ctx)
	if all[store.SettingLEDESFirmID] != "12-3456789" || all[store.SettingDefaultRate] != "41250" || all[store.SettingRequire2FA] != "billing" {
		t.Fatalf("settings: %v", all)
	}
	page := w.req("GET", "/admin/settings", cookie, nil)
	if !strings.Contains(page.Body, `value="412.50"`) || !strings.Contains(page.Body, `id="req-billing" name="require_2fa_billing" checked`) {
		t.Fatal("settings page does not show the saved values")
	}
	if res := w.req("POST", "/admin/settings", cookie, url.Values{"_csrf": {csrf}, "default_rate": {"lots"}}); res.Status != 422 {
		t.Fatalf("bad rate: %d", res.Status)
	}
	secret, _, _, _ := auth.NewTOTP("Dictum", "tk")
	_ = w.st.StartTwoFA(ctx, identity.Actor{Username: "t"}, w.ids["tk"], secret)
	_ = w.st.EnableTwoFA(ctx, identity.Actor{Username: "t"}, w.ids["tk"], 0, nil)
	if res := w.req("GET", "/admin/users", cookie, nil); !strings.Contains(res.Body, "Reset 2FA<span class=\"visually-hidden\"> of tk") {
		t.Fatal("no 2FA reset button for tk")
	}
	if res := w.req("POST", "/admin/users/tk", cookie, url.Values{"_csrf": {csrf}, "op": {"reset2fa"}}); res.Status != 200 {
		t.Fatalf("reset 2fa: %d", res.Status)
	}
	if m, _ := w.st.TwoFAFor(ctx, w.ids["tk"]); m.Enabled {
		t.Fatal("2FA still on")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/inbox": "/inbox", "/approved?from=2026-11-01": "/approved?from=2026-11-01",
		"": "", "https://evil.example/": "", "//evil.example": "", "/\\evil.example": "", "/\t/evil.example": "",
		"/\n/evil.example": "", "/api/v1/me": "", "/login": "", "inbox": "", "/in box": "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
