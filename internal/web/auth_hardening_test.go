package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"dictum/internal/config"
	"dictum/internal/store"
)

// enableTwoFA turns 2FA on for user (through the API, with their token) and returns a
// function giving the valid code at a time and a wrong one.
func enableTwoFA(t *testing.T, r *rig, user string) (code func(time.Time) string, wrong func(time.Time) string) {
	t.Helper()
	start := r.do("POST", "/api/v1/me/2fa", user, nil).json(t)
	secret, _ := start["secret"].(string)
	code = func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wrong = func(at time.Time) string {
		valid := map[string]bool{}
		for _, d := range []time.Duration{-60 * time.Second, -30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
			valid[code(at.Add(d))] = true
		}
		for i := 0; ; i++ {
			if c := fmt.Sprintf("%06d", (123456+i*7919)%1000000); !valid[c] {
				return c
			}
		}
	}
	if res := r.do("POST", "/api/v1/me/2fa/confirm", user, map[string]any{"code": code(r.now)}); res.Status != 200 {
		t.Fatalf("confirm 2fa: %d %s", res.Status, res.Body)
	}
	r.now = r.now.Add(30 * time.Second) // the confirm code's step is used
	return code, wrong
}

func auditCount(t *testing.T, r *rig, where string, args ...any) int {
	t.Helper()
	q := "SELECT count(*) FROM audit_events"
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := r.st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func formPost(r *rig, path, cookie string, v url.Values) resp {
	hdr := []string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}
	if cookie != "" {
		hdr = append(hdr, "Cookie", "dictum_session="+cookie)
	}
	return r.do("POST", path, "", []byte(v.Encode()), hdr...)
}

// A right password with wrong codes used to answer 401 forever (the counters were cleared
// when the password matched). Now 10 wrong codes in a row lock code entry: 429 with
// Retry-After, audited for the admin, still locked after a restart, on the API and on
// the form alike.
func TestTwoFactorGuessingLocksOut(t *testing.T) {
	for _, via := range []string{"api", "form"} {
		t.Run(via, func(t *testing.T) {
			r := newRig(t)
			code, wrong := enableTwoFA(t, r, "alice")
			try := func(srv *Server, otp string) resp {
				old := r.srv
				r.srv = srv
				defer func() { r.srv = old }()
				if via == "api" {
					return r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "otp": otp})
				}
				return formPost(r, "/login", "", url.Values{"username": {"alice"}, "password": {"password-alice"}, "code": {otp}})
			}
			var last resp
			for i := 1; i <= 10; i++ {
				r.now = r.now.Add(time.Minute) // past the login backoff: only the 2FA lockout may stop us
				last = try(r.srv, wrong(r.now))
				if i < 10 && last.Status != 401 {
					t.Fatalf("wrong code %d: %d %s", i, last.Status, last.Body)
				}
			}
			if last.Status != 429 || last.Header.Get("Retry-After") == "" {
				t.Fatalf("10th wrong code: %d (Retry-After %q), want 429 with Retry-After", last.Status, last.Header.Get("Retry-After"))
			}
			// Even the right code waits now.
			r.now = r.now.Add(time.Minute)
			res := try(r.srv, code(r.now))
			ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			if res.Status != 429 || ra < 60 || ra > int(twoFAFirstLock.Seconds()) {
				t.Fatalf("right code while locked: %d, Retry-After %d; want 429 with the lockout's rest", res.Status, ra)
			}
			if via == "api" && res.errCode(t) != "2fa_locked" {
				t.Fatalf("code: %s", res.Body)
			}
			if via == "form" && !strings.Contains(string(res.Body), "Too many wrong codes") {
				t.Fatalf("form message: %s", res.Body)
			}
			// An admin sees it.
			if ev := r.do("GET", "/api/v1/audit?object_type=user&object_id=alice", "ada", nil); !strings.Contains(string(ev.Body), "auth.2fa_lockout") {
				t.Fatalf("lockout not audited: %s", ev.Body)
			}
			if lk := r.do("GET", "/api/v1/lockouts", "ada", nil); !strings.Contains(string(lk.Body), `"second_factor":[{"failures":10,"key":"alice","locked_until":"`) {
				t.Fatalf("lockouts view: %s", lk.Body)
			}
			// A restart (a new server, new in-memory limits) does not reset it.
			restarted, err := New(Deps{Config: r.cfg, Store: r.st, Blobs: r.world.Blobs, Now: func() time.Time { return r.now }})
			if err != nil {
				t.Fatal(err)
			}
			r.now = r.now.Add(30 * time.Second)
			if res := try(restarted, code(r.now)); res.Status != 429 {
				t.Fatalf("after restart: %d, want 429", res.Status)
			}
			// After the lockout the right code works and clears the count.
			r.now = r.now.Add(twoFAFirstLock)
			if res := try(restarted, code(r.now)); res.Status != 200 && res.Status != 303 {
				t.Fatalf("right code after the lockout: %d %s", res.Status, res.Body)
			}
			u, _ := r.st.UserByName(context.Background(), "alice")
			if m, _ := r.st.TwoFAFor(context.Background(), u.ID); m.Failures != 0 || !m.LockedUntil.IsZero() {
				t.Fatalf("counter not cleared after success: %+v", m)
			}
		})
	}
}

// Guesses sent all at once are counted before they are checked: no more than 10 codes
// are ever tried, however many requests race.
func TestTwoFactorConcurrentGuessesCapped(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Limits.LoginFailures = 1000; c.Limits.RequestsPerMin = 1 << 20 })
	_, wrong := enableTwoFA(t, r, "alice")
	const n = 40
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(
				`{"username":"alice","password":"password-alice","otp":"`+wrong(r.now)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			res, err := r.srv.App().Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if tried := auditCount(t, r, "action = 'login.2fa_fail'"); tried > twoFAMaxFailures || count[401] > twoFAMaxFailures-1 || count[429] < n-twoFAMaxFailures {
		t.Fatalf("%d concurrent wrong codes: %d checked, statuses %v", n, tried, count)
	}
	// An admin's 2FA reset is the way out: it clears the lockout.
	if res := r.do("DELETE", "/api/v1/users/alice/2fa", "ada", nil); res.Status != 200 {
		t.Fatalf("reset: %d", res.Status)
	}
	u, _ := r.st.UserByName(context.Background(), "alice")
	if m, _ := r.st.TwoFAFor(context.Background(), u.ID); m.Failures != 0 || !m.LockedUntil.IsZero() {
		t.Fatalf("reset left the lockout: %+v", m)
	}
}

// A wrong code after a lockout locks again for longer, so guessing stays slow.
func TestTwoFALockGrows(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 0, 9: 0, 10: 15 * time.Minute, 11: 30 * time.Minute, 12: time.Hour, 30: 24 * time.Hour, 1000: 24 * time.Hour} {
		if got := twoFALockFor(n); got != want {
			t.Errorf("twoFALockFor(%d) = %v, want %v", n, got, want)
		}
	}
}

// The password alone must not clear the login backoff: wrong codes count as failures.
func TestRightPasswordDoesNotClearBackoff(t *testing.T) {
	r := newRig(t)
	_, wrong := enableTwoFA(t, r, "alice")
	var last resp
	for i := 0; i < 8; i++ {
		last = r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice", "otp": wrong(r.now)})
		if last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("wrong codes without a pause never throttled: %d %s", last.Status, last.Body)
	}
}

// The /login form is under the API's per-IP request limit too.
func TestLoginFormRateLimited(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Limits.RequestsPerMin = 5 })
	var last resp
	for i := 0; i < 7; i++ {
		last = formPost(r, "/login", "", url.Values{"username": {"alice"}}) // no password: no backoff involved
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("7 form posts with a limit of 5/min: %d (Retry-After %q)", last.Status, last.Header.Get("Retry-After"))
	}
}

// Malformed usernames are refused before any lookup, hash or audit row.
func TestLoginUsernameValidatedFirst(t *testing.T) {
	r := newRig(t)
	before := auditCount(t, r, "")
	for _, name := range []string{strings.Repeat("a", 200*1024), strings.Repeat("b", 65), "alice smith", "al<script>", "ä", "x\x00y"} {
		res := r.do("POST", "/api/v1/session", "", map[string]any{"username": name, "password": "x"})
		if res.Status != 400 || res.errCode(t) != "bad_username" {
			t.Fatalf("%.20q: %d %s", name, res.Status, res.Body)
		}
		if f := formPost(r, "/login", "", url.Values{"username": {name}, "password": {"x"}}); f.Status != 400 || !strings.Contains(string(f.Body), "not a valid username") {
			t.Fatalf("form %.20q: %d", name, f.Status)
		}
	}
	if after := auditCount(t, r, ""); after != before {
		t.Fatalf("malformed usernames wrote %d audit rows", after-before)
	}
	// 64 characters is still a username (a wrong one here).
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": strings.Repeat("c", 64), "password": "x"}); res.Status != 401 {
		t.Fatalf("64-char name: %d", res.Status)
	}
}

// Throttled attempts are coalesced: N attempts write a small constant number of rows.
func TestThrottledLoginsCoalesced(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Limits.RequestsPerMin = 1 << 20 })
	before := auditCount(t, r, "")
	const n = 300
	for i := 0; i < n; i++ {
		r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "wrong"})
	}
	free := r.cfg.Limits.LoginFailures
	rows := auditCount(t, r, "") - before
	if rows > free+2 {
		t.Fatalf("%d throttled attempts wrote %d audit rows, want at most %d", n, rows, free+2)
	}
	var detail string
	if err := r.st.DB().QueryRow("SELECT detail FROM audit_events WHERE action = 'login.throttled' ORDER BY id DESC LIMIT 1").Scan(&detail); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	_ = json.Unmarshal([]byte(detail), &d)
	if d["unauthenticated"] != true || d["count"] == nil {
		t.Fatalf("throttled event detail: %s", detail)
	}
	// The next window reports what the last one counted.
	r.now = r.now.Add(throttleAuditWindow + time.Second)
	for {
		if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "wrong"}); res.Status == 429 {
			break
		}
	}
	if err := r.st.DB().QueryRow("SELECT detail FROM audit_events WHERE action = 'login.throttled' ORDER BY id DESC LIMIT 1").Scan(&detail); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(detail), &d)
	if c, _ := d["count"].(float64); c < n-float64(free)-2 {
		t.Fatalf("next window's event counts %v attempts, want the ~%d of the last window: %s", d["count"], n-free, detail)
	}

	// Fresh usernames from one address: the IP backoff stops them, reported per IP.
	r2 := newRig(t, func(c *config.Config) { c.Limits.RequestsPerMin = 1 << 20 })
	before = auditCount(t, r2, "")
	for i := 0; i < n; i++ {
		r2.do("POST", "/api/v1/session", "", map[string]any{"username": fmt.Sprintf("user%d", i), "password": "wrong"})
	}
	if rows := auditCount(t, r2, "") - before; rows > free*4+3 {
		t.Fatalf("%d attempts with fresh usernames wrote %d audit rows", n, rows)
	}
	// Attempted names are never the actor: they are marked unauthenticated.
	if k := auditCount(t, r2, "action LIKE 'login.%' AND (actor <> '' OR detail NOT LIKE '%\"unauthenticated\":true%')"); k != 0 {
		t.Fatalf("%d unauthenticated login events carry an actor or lack the mark", k)
	}
}

// failAudit makes audit writes of one action fail (a full disk, a broken chain).
func failAudit(t *testing.T, r *rig, action string) func() {
	t.Helper()
	name := "fail_" + strings.ReplaceAll(action, ".", "_")
	if _, err := r.st.DB().Exec(fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON audit_events WHEN NEW.action = '%s' BEGIN SELECT RAISE(ABORT, 'audit write failed'); END`, name, action)); err != nil {
		t.Fatal(err)
	}
	return func() { _, _ = r.st.DB().Exec("DROP TRIGGER " + name) }
}

func sessionCount(t *testing.T, r *rig) int {
	t.Helper()
	var n int
	if err := r.st.DB().QueryRow("SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Login and logout audit writes are preconditions: when they fail, so does the action.
func TestLoginAuditIsPrecondition(t *testing.T) {
	r := newRig(t)
	undo := failAudit(t, r, "login.ok")
	res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"})
	if res.Status != 500 || res.Header.Get("Set-Cookie") != "" || sessionCount(t, r) != 0 {
		t.Fatalf("login with a failing audit: %d, cookie %q, %d sessions", res.Status, res.Header.Get("Set-Cookie"), sessionCount(t, r))
	}
	if f := formPost(r, "/login", "", url.Values{"username": {"alice"}, "password": {"password-alice"}}); f.Status != 500 || sessionCount(t, r) != 0 {
		t.Fatalf("form login with a failing audit: %d", f.Status)
	}
	undo()
	undo = failAudit(t, r, "login.fail")
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "wrong"}); res.Status != 500 {
		t.Fatalf("failed login with a failing audit: %d, want 500", res.Status)
	}
	undo()
	cookie, csrf, _ := login(t, r, "alice", "password-alice")
	undo = failAudit(t, r, "logout")
	if res := r.do("DELETE", "/api/v1/session", "", nil, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf); res.Status != 500 {
		t.Fatalf("logout with a failing audit: %d", res.Status)
	}
	undo()
	if res := r.do("DELETE", "/api/v1/session", "", nil, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf); res.Status != 204 {
		t.Fatalf("logout: %d", res.Status)
	}
	if n := auditCount(t, r, "action = 'logout' AND actor = 'alice'"); n != 1 {
		t.Fatalf("%d logout events", n)
	}
}

// The clearing cookie carries the set cookie's attributes, so a __Host- cookie is really
// cleared (a browser ignores a __Host- cookie without Secure and Path=/).
func TestLogoutClearsCookieWithSameAttributes(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			r := newRig(t)
			r.srv.TLS = tls
			name := r.srv.cookieName()
			res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"})
			set := res.Header.Get("Set-Cookie")
			if !strings.HasPrefix(set, name+"=") {
				t.Fatalf("login cookie: %q", set)
			}
			cookie := strings.SplitN(strings.TrimPrefix(set, name+"="), ";", 2)[0]
			csrf := res.json(t)["csrf_token"].(string)
			for _, logout := range []struct{ method, path string }{{"DELETE", "/api/v1/session"}, {"POST", "/logout"}} {
				out := r.do(logout.method, logout.path, "", nil, "Cookie", name+"="+cookie, "X-CSRF-Token", csrf)
				clear := strings.ToLower(out.Header.Get("Set-Cookie"))
				want := []string{strings.ToLower(name) + "=;", "path=/", "httponly", "samesite=strict", "expires="}
				if tls {
					want = append(want, "secure")
				}
				for _, w := range want {
					if !strings.Contains(clear, w) {
						t.Errorf("%s %s: clearing cookie %q lacks %q (set cookie: %q)", logout.method, logout.path, clear, w, set)
					}
				}
				if strings.Contains(clear, "domain=") {
					t.Errorf("clearing cookie has a Domain: %q", clear)
				}
				// Log in again for the second logout route.
				res = r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"})
				cookie = strings.SplitN(strings.TrimPrefix(res.Header.Get("Set-Cookie"), name+"="), ";", 2)[0]
				csrf = res.json(t)["csrf_token"].(string)
			}
		})
	}
}

// Usernames are case-insensitive, so is the "not yourself" check.
func TestCannotDisableYourselfAnyCase(t *testing.T) {
	r := newRig(t)
	for _, name := range []string{"ada", "ADA", "Ada"} {
		if res := r.do("PATCH", "/api/v1/users/"+name, "ada", map[string]any{"disabled": true}); res.Status != 409 {
			t.Fatalf("ada disables %s: %d %s", name, res.Status, res.Body)
		}
		if res := r.do("PATCH", "/api/v1/users/"+name, "ada", map[string]any{"role": "timekeeper"}); res.Status != 409 {
			t.Fatalf("ada demotes %s: %d", name, res.Status)
		}
	}
	if u, _ := r.st.UserByName(context.Background(), "ada"); u.Disabled || u.Role != store.RoleAdmin {
		t.Fatalf("ada changed: %+v", u)
	}
}

// Password change, admin reset, 2FA reset and disable revoke the user's API tokens and
// say so.
func TestAccountChangesRevokeTokens(t *testing.T) {
	cases := []struct {
		name string
		do   func(r *rig) resp
	}{
		{"admin sets a password", func(r *rig) resp {
			return r.do("PATCH", "/api/v1/users/ALICE", "ada", map[string]any{"password": "a-new-password-for-alice"})
		}},
		{"admin disables", func(r *rig) resp {
			return r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"disabled": true})
		}},
		{"admin resets 2fa", func(r *rig) resp { return r.do("DELETE", "/api/v1/users/alice/2fa", "ada", nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			second := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "second", "password": "password-alice"})
			if second.Status != 201 {
				t.Fatalf("create: %d %s", second.Status, second.Body)
			}
			tok2 := second.json(t)["token"].(string)
			res := tc.do(r)
			if res.Status != 200 {
				t.Fatalf("action: %d %s", res.Status, res.Body)
			}
			if got := res.json(t)["tokens_revoked"]; got != float64(2) || !strings.Contains(string(res.Body), "revoked 2 API token") {
				t.Fatalf("answer does not say 2 tokens were revoked: %s", res.Body)
			}
			for _, tok := range []string{r.tokens["alice"], tok2} {
				if res := r.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+tok); res.Status != 401 {
					t.Fatalf("token still works: %d", res.Status)
				}
			}
			if res := r.do("GET", "/api/v1/me", "bob", nil); res.Status != 200 {
				t.Fatalf("bob's token hit: %d", res.Status)
			}
		})
	}
}

// The UI: own password change and admin reset say how many tokens were revoked.
func TestUIPasswordChangeRevokesTokens(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("tk")
	res := w.req("POST", "/account/password", cookie, url.Values{"_csrf": {csrf}, "current": {"pw-tk-long-enough"},
		"new": {"another-long-password"}, "confirm": {"another-long-password"}})
	if res.Status != 303 {
		t.Fatalf("change: %d %s", res.Status, res.Body)
	}
	if got := w.do("GET", "/api/v1/me", "tk", nil); got.Status != 401 {
		t.Fatalf("token after the password change: %d", got.Status)
	}
	var fresh string
	for _, c := range res.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(c, "dictum_session="); ok {
			fresh = strings.SplitN(v, ";", 2)[0]
		}
	}
	page := w.req("GET", res.Header.Get("Location"), fresh, nil)
	if !strings.Contains(page.Body, "1 API token revoked") {
		t.Fatalf("account page does not say the token was revoked: %s", page.Body)
	}
	bc, bcsrf := w.login("boss")
	reset := w.req("POST", "/admin/users/tk2", bc, url.Values{"_csrf": {bcsrf}, "op": {"reset"}})
	if reset.Status != 200 || !strings.Contains(reset.Body, "1 API token revoked") {
		t.Fatalf("admin reset: %d", reset.Status)
	}
	dis := w.req("POST", "/admin/users/biller", bc, url.Values{"_csrf": {bcsrf}, "op": {"disable"}})
	if loc := dis.Header.Get("Location"); dis.Status != 303 || !strings.Contains(w.req("GET", loc, bc, nil).Body, "1 API token revoked") {
		t.Fatalf("admin disable: %d %s", dis.Status, loc)
	}
}

// Tokens expire (default 90 days, configurable, 0 = never) and need the password.
func TestTokenExpiryAndReauth(t *testing.T) {
	r := newRig(t)
	if res := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "x"}); res.Status != 403 || res.errCode(t) != "reauth_required" {
		t.Fatalf("no password: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "x", "password": "nope"}); res.Status != 403 || res.errCode(t) != "reauth_failed" {
		t.Fatalf("wrong password: %d", res.Status)
	}
	for _, bad := range []int{-1, 3651} {
		if res := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"password": "password-alice", "expires_in_days": bad}); res.Status != 422 {
			t.Fatalf("expires_in_days %d: %d", bad, res.Status)
		}
	}
	def := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "default", "password": "password-alice"}).json(t)
	if def["expires_at"] != r.now.Add(90*24*time.Hour).UTC().Format(time.RFC3339) {
		t.Fatalf("default expiry: %v (now %v)", def["expires_at"], r.now)
	}
	never := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "never", "password": "password-alice", "expires_in_days": 0}).json(t)
	if _, ok := never["expires_at"]; ok {
		t.Fatalf("0 days has an expiry: %v", never)
	}
	day := r.do("POST", "/api/v1/tokens", "alice", map[string]any{"name": "day", "password": "password-alice", "expires_in_days": 1}).json(t)
	bearer := func(tok any) resp { return r.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+tok.(string)) }
	if res := bearer(day["token"]); res.Status != 200 {
		t.Fatalf("fresh token: %d", res.Status)
	}
	list := r.do("GET", "/api/v1/tokens", "alice", nil)
	if !strings.Contains(string(list.Body), `"expires_at"`) {
		t.Fatalf("list lacks expiry: %s", list.Body)
	}
	r.now = r.now.Add(25 * time.Hour)
	if res := bearer(day["token"]); res.Status != 401 || res.errCode(t) != "token_expired" {
		t.Fatalf("expired token: %d %s", res.Status, res.Body)
	}
	if res := bearer(never["token"]); res.Status != 200 {
		t.Fatalf("never-expiring token: %d", res.Status)
	}
	r.now = r.now.Add(90 * 24 * time.Hour)
	if res := bearer(def["token"]); res.Status != 401 {
		t.Fatalf("90-day token after 91 days: %d", res.Status)
	}
}

var regexpToken = regexp.MustCompile(`dct_[A-Za-z0-9_-]{43}`)

// The account page lists tokens with their expiry and creates one only with the password.
func TestUITokens(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("tk")
	if res := w.req("POST", "/account/tokens", cookie, url.Values{"_csrf": {csrf}, "name": {"laptop"}, "expires_in_days": {"30"}, "password": {"wrong"}}); res.Status != 403 ||
		!strings.Contains(res.Body, "The password is wrong") || regexpToken.MatchString(res.Body) {
		t.Fatalf("wrong password: %d", res.Status)
	}
	if res := w.req("POST", "/account/tokens", cookie, url.Values{"_csrf": {csrf}, "name": {"laptop"}, "expires_in_days": {"30"}}); res.Status != 403 {
		t.Fatalf("no password: %d", res.Status)
	}
	res := w.req("POST", "/account/tokens", cookie, url.Values{"_csrf": {csrf}, "name": {"laptop"}, "expires_in_days": {"30"}, "password": {"pw-tk-long-enough"}})
	m := regexpToken.FindString(res.Body)
	if res.Status != 201 || m == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q", res.Status, res.Header.Get("Cache-Control"))
	}
	if got := w.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+m); got.Status != 200 {
		t.Fatalf("new token: %d", got.Status)
	}
	page := w.req("GET", "/account", cookie, nil)
	exp := w.now.Add(30 * 24 * time.Hour).UTC().Format("2006-01-02")
	if !strings.Contains(page.Body, "laptop") || !strings.Contains(page.Body, exp) || strings.Contains(page.Body, m) {
		t.Fatalf("account page: want the token listed with expiry %s and the secret not shown again", exp)
	}
	// Revoke it from the page.
	var id int64
	toks, _ := w.st.Tokens(context.Background(), "tk")
	for _, tk := range toks {
		if tk.Name == "laptop" {
			id = tk.ID
		}
	}
	if res := w.req("POST", fmt.Sprintf("/account/tokens/%d/revoke", id), cookie, url.Values{"_csrf": {csrf}}); res.Status != 303 {
		t.Fatalf("revoke: %d", res.Status)
	}
	if got := w.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+m); got.Status != 401 {
		t.Fatalf("revoked token: %d", got.Status)
	}
	// Another user's token is not theirs to revoke.
	other, _ := w.st.Tokens(context.Background(), "tk2")
	if res := w.req("POST", fmt.Sprintf("/account/tokens/%d/revoke", other[0].ID), cookie, url.Values{"_csrf": {csrf}}); res.Status != 404 {
		t.Fatalf("revoke another's token: %d", res.Status)
	}
}

// The SSE stream ends when the credential it was opened with stops being valid.
func TestEventStreamEndsWithItsCredential(t *testing.T) {
	cases := []struct {
		name   string
		bearer bool
		end    func(r *rig, cookie, csrf string)
	}{
		{"logout", false, func(r *rig, cookie, csrf string) {
			r.do("DELETE", "/api/v1/session", "", nil, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf)
		}},
		{"disable", false, func(r *rig, _, _ string) {
			r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"disabled": true})
		}},
		{"password change", false, func(r *rig, _, _ string) {
			r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"password": "a-new-password-for-alice"})
		}},
		{"token revoked by password change", true, func(r *rig, _, _ string) {
			r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"password": "a-new-password-for-alice"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = r.srv.App().Listener(ln) }()
			t.Cleanup(func() { _ = r.srv.App().ShutdownWithTimeout(time.Second) })
			cookie, csrf, _ := login(t, r, "alice", "password-alice")
			req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/events", nil)
			if tc.bearer {
				req.Header.Set("Authorization", "Bearer "+r.tokens["alice"])
			} else {
				req.Header.Set("Cookie", "dictum_session="+cookie)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("events: %d", res.StatusCode)
			}
			lines := make(chan string, 64)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(res.Body)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			waitFor := func(prefix string, d time.Duration) bool {
				timeout := time.After(d)
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							return prefix == "EOF"
						}
						if prefix != "EOF" && strings.HasPrefix(l, prefix) {
							return true
						}
					case <-timeout:
						return false
					}
				}
			}
			if !waitFor(": connected", 3*time.Second) {
				t.Fatal("stream did not start")
			}
			// Still open while the credential is good.
			if waitFor("EOF", 1500*time.Millisecond) {
				t.Fatal("stream ended on its own")
			}
			tc.end(r, cookie, csrf)
			if !waitFor("EOF", 3*time.Second) {
				t.Fatalf("stream still open 3 s after %s", tc.name)
			}
		})
	}
}

// Re-authentication (password change, token creation) is under the login backoff.
func TestReauthThrottled(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("tk")
	var last uiResp
	for i := 0; i < 8; i++ {
		last = w.req("POST", "/account/password", cookie, url.Values{"_csrf": {csrf}, "current": {"guess-" + strconv.Itoa(i)},
			"new": {"another-long-password"}, "confirm": {"another-long-password"}})
		if last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" || !strings.Contains(last.Body, "Too many wrong passwords") {
		t.Fatalf("password guessing through the change form: %d", last.Status)
	}
	// The right password waits too, here and for a token.
	if res := w.do("POST", "/api/v1/tokens", "tk", map[string]any{"password": "pw-tk-long-enough"}); res.Status != 429 {
		t.Fatalf("token create during backoff: %d", res.Status)
	}
}
