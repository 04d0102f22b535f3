package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func login(t *testing.T, r *rig, user, pass string) (cookie, csrf string, res resp) {
	t.Helper()
	res = r.do("POST", "/api/v1/session", "", map[string]any{"username": user, "password": pass})
	if res.Status != 200 {
		return "", "", res
	}
	for _, c := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "dictum_session=") {
			cookie = strings.SplitN(strings.TrimPrefix(c, "dictum_session="), ";", 2)[0]
			for _, attr := range []string{"httponly", "samesite=strict", "path=/"} {
				if !strings.Contains(strings.ToLower(c), attr) {
					t.Errorf("cookie lacks %s: %s", attr, c)
				}
			}
		}
	}
	return cookie, res.json(t)["csrf_token"].(string), res
}

func TestSessionLoginCSRFAndExpiry(t *testing.T) {
	r := newRig(t)
	// Unknown user and wrong password look the same.
	a := r.do("POST", "/api/v1/session", "", map[string]any{"username": "nobody", "password": "x"})
	b := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "wrong"})
	if a.Status != 401 || b.Status != 401 || string(a.Body) != string(b.Body) {
		t.Fatalf("enumeration: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	cookie, csrf, res := login(t, r, "alice", "password-alice")
	if res.Status != 200 || cookie == "" || csrf == "" {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	me := r.do("GET", "/api/v1/me", "", nil, "Cookie", "dictum_session="+cookie)
	if me.Status != 200 || me.json(t)["username"] != "alice" || me.json(t)["role"] != "timekeeper" {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	// State change with the cookie but no CSRF token: refused, nothing created.
	no := r.do("POST", "/api/v1/entries", "", map[string]any{"narrative": "x"}, "Cookie", "dictum_session="+cookie)
	if no.Status != 403 || no.errCode(t) != "csrf" {
		t.Fatalf("no csrf: %d %s", no.Status, no.Body)
	}
	bad := r.do("POST", "/api/v1/entries", "", map[string]any{"narrative": "x"}, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", "nope")
	if bad.Status != 403 {
		t.Fatalf("wrong csrf: %d", bad.Status)
	}
	if l := r.do("GET", "/api/v1/entries", "alice", nil); l.json(t)["count"].(float64) != 0 {
		t.Fatal("an entry was created without CSRF")
	}
	ok := r.do("POST", "/api/v1/entries", "", map[string]any{"narrative": "x"}, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf)
	if ok.Status != 201 {
		t.Fatalf("with csrf: %d %s", ok.Status, ok.Body)
	}
	// Idle expiry.
	r.now = r.now.Add(r.cfg.Auth.SessionIdle.Duration + time.Minute)
	exp := r.do("GET", "/api/v1/me", "", nil, "Cookie", "dictum_session="+cookie)
	if exp.Status != 401 || exp.errCode(t) != "session_expired" {
		t.Fatalf("expired session: %d %s", exp.Status, exp.Body)
	}
	// Logout ends the session.
	cookie, csrf, _ = login(t, r, "alice", "password-alice")
	if out := r.do("DELETE", "/api/v1/session", "", nil, "Cookie", "dictum_session="+cookie, "X-CSRF-Token", csrf); out.Status != 204 {
		t.Fatalf("logout %d", out.Status)
	}
	if after := r.do("GET", "/api/v1/me", "", nil, "Cookie", "dictum_session="+cookie); after.Status != 401 {
		t.Fatalf("after logout %d", after.Status)
	}
	// Bearer tokens need no CSRF; bad tokens are refused clearly.
	if res := r.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer dct_"+strings.Repeat("x", 43)); res.Status != 401 {
		t.Fatalf("bogus token %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/me", "", nil, "Authorization", "Basic abc"); res.Status != 401 {
		t.Fatalf("basic auth %d", res.Status)
	}
}

func TestLoginThrottle(t *testing.T) {
	r := newRig(t)
	var last resp
	for i := 0; i < 8; i++ {
		last = r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "wrong"})
		if last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("no throttle: %d %v", last.Status, last.Header)
	}
	// Even the right password waits until the backoff passes.
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"}); res.Status != 429 {
		t.Fatalf("throttled login let through: %d", res.Status)
	}
	lock := r.do("GET", "/api/v1/lockouts", "ada", nil)
	if lock.Status != 200 || !strings.Contains(string(lock.Body), `"key":"alice"`) || !strings.Contains(string(lock.Body), "locked_until") {
		t.Fatalf("lockouts: %d %s", lock.Status, lock.Body)
	}
	if ev := r.do("GET", "/api/v1/audit", "ada", nil); !strings.Contains(string(ev.Body), "login.throttled") || !strings.Contains(string(ev.Body), "login.fail") {
		t.Fatalf("throttling not audited: %s", ev.Body)
	}
	r.now = r.now.Add(20 * time.Minute)
	if res := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"}); res.Status != 200 {
		t.Fatalf("after backoff: %d %s", res.Status, res.Body)
	}
}

func TestTwoTimekeepersCannotTouchEachOther(t *testing.T) {
	r := newRig(t)
	m := r.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	e := r.entry("alice", map[string]any{"matter": m, "hours": 0.3, "activity": "A103", "narrative": "Drafted motion to compel.", "date": "2026-11-20"})
	id := e["id"].(string)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/entries/" + id},
		{"PATCH", "/api/v1/entries/" + id},
		{"DELETE", "/api/v1/entries/" + id},
		{"POST", "/api/v1/entries/" + id + "/approve"},
		{"POST", "/api/v1/entries/" + id + "/reopen"},
		{"POST", "/api/v1/entries/" + id + "/restore"},
	} {
		res := r.do(c.method, c.path, "bob", map[string]any{"narrative": "hijack"})
		if res.Status != 404 || res.errCode(t) != "not_found" {
			t.Errorf("bob %s %s: %d %s (want 404)", c.method, c.path, res.Status, res.Body)
		}
	}
	// An id that does not exist answers exactly the same.
	ghost := r.do("GET", "/api/v1/entries/ent_doesnotexist", "bob", nil)
	other := r.do("GET", "/api/v1/entries/"+id, "bob", nil)
	if string(ghost.Body) != string(other.Body) {
		t.Fatal("responses differ for a stranger's id and a missing id")
	}
	if l := r.do("GET", "/api/v1/entries", "bob", nil); l.json(t)["count"].(float64) != 0 {
		t.Fatal("bob lists alice's entry")
	}
	if res := r.do("POST", "/api/v1/entries/approve", "bob", map[string]any{"ids": []string{id}}); len(res.json(t)["approved"].([]any)) != 0 {
		t.Fatal("bob bulk-approved alice's entry")
	}
	// Alice's entry is untouched.
	got := r.do("GET", "/api/v1/entries/"+id, "alice", nil).json(t)
	if got["narrative"] != "Drafted motion to compel." || got["status"] != "draft" {
		t.Fatalf("entry changed: %v", got)
	}
	// Billing and admin can read it, but not edit or approve someone else's entry.
	for _, who := range []string{"bill", "ada"} {
		if res := r.do("GET", "/api/v1/entries/"+id, who, nil); res.Status != 200 {
			t.Errorf("%s read: %d", who, res.Status)
		}
		if res := r.do("PATCH", "/api/v1/entries/"+id, who, map[string]any{"narrative": "x"}); res.Status != 403 {
			t.Errorf("%s edit: %d %s", who, res.Status, res.Body)
		}
		if res := r.do("POST", "/api/v1/entries/"+id+"/approve", who, nil); res.Status != 403 {
			t.Errorf("%s approve: %d", who, res.Status)
		}
	}
	if l := r.do("GET", "/api/v1/entries", "bill", nil); l.json(t)["count"].(float64) != 1 {
		t.Fatalf("billing list: %s", l.Body)
	}
	// Timekeepers cannot manage matters or users.
	if res := r.do("POST", "/api/v1/matters", "alice", map[string]any{"number": "9", "client": "c", "name": "n"}); res.Status != 403 {
		t.Errorf("timekeeper creates matter: %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/users", "alice", nil); res.Status != 403 {
		t.Errorf("timekeeper lists users: %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/audit", "bill", nil); res.Status != 403 {
		t.Errorf("billing reads audit: %d", res.Status)
	}
}

func TestEntryWorkflow(t *testing.T) {
	r := newRig(t)
	m := r.matter("2026-0201", "Acme Logistics Inc.", "Acme - MSA review")
	e := r.entry("alice", map[string]any{"narrative": "Reviewed the MSA."})
	id := e["id"].(string)
	if e["status"] != "draft" || e["date"] != "2026-11-20" || e["matter"] != nil || e["recording_id"] != nil {
		t.Fatalf("manual draft: %v", e)
	}
	// Approval refuses an incomplete entry and says what is missing.
	res := r.do("POST", "/api/v1/entries/"+id+"/approve", "alice", nil)
	if res.Status != 422 || !strings.Contains(string(res.Body), "a matter") {
		t.Fatalf("incomplete approve: %d %s", res.Status, res.Body)
	}
	bad := []map[string]any{
		{"hours": 25}, {"hours": -1}, {"date": "2026-13-01"}, {"activity": "A999"}, {"matter": "nope"}, {"task": "L999"},
	}
	for _, b := range bad {
		if res := r.do("PATCH", "/api/v1/entries/"+id, "alice", b); res.Status != 422 {
			t.Errorf("PATCH %v: %d %s", b, res.Status, res.Body)
		}
	}
	if res := r.do("PATCH", "/api/v1/entries/"+id, "alice", `{"hours": "lots"}`); res.Status != 400 {
		t.Errorf("hours as string: %d", res.Status)
	}
	if res := r.do("PATCH", "/api/v1/entries/"+id, "alice", `{"bogus": 1}`); res.Status != 400 {
		t.Errorf("unknown field: %d", res.Status)
	}
	res = r.do("PATCH", "/api/v1/entries/"+id, "alice", map[string]any{"matter": m, "hours": 0.25, "activity": "a104"})
	p := res.json(t)
	if res.Status != 200 || p["hours"].(float64) != 0.3 || p["activity"] != "A104" || p["matter"] != m {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/entries/"+id+"/approve", "alice", nil); res.Status != 200 || res.json(t)["status"] != "approved" {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	if res := r.do("PATCH", "/api/v1/entries/"+id, "alice", map[string]any{"narrative": "changed"}); res.Status != 409 {
		t.Fatalf("edit approved: %d", res.Status)
	}
	if res := r.do("DELETE", "/api/v1/entries/"+id, "alice", nil); res.Status != 200 {
		t.Fatalf("delete approved: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/entries?status=deleted", "alice", nil); res.json(t)["count"].(float64) != 1 {
		t.Fatal("deleted list")
	}
	if res := r.do("POST", "/api/v1/entries/"+id+"/restore", "alice", nil); res.Status != 200 || res.json(t)["status"] != "approved" {
		t.Fatalf("restore: %d %s", res.Status, res.Body)
	}
	l := r.do("GET", "/api/v1/entries?status=approved&from=2026-11-01&to=2026-11-30&matter="+m, "alice", nil).json(t)
	if l["count"].(float64) != 1 || l["total_hours"].(float64) != 0.3 {
		t.Fatalf("approved filter: %v", l)
	}
	if res := r.do("POST", "/api/v1/entries/"+id+"/reopen", "alice", nil); res.json(t)["status"] != "draft" {
		t.Fatalf("reopen: %s", res.Body)
	}
	// Bulk approve: each id on its own.
	e2 := r.entry("alice", map[string]any{"matter": m, "hours": 1, "activity": "A102", "narrative": "Researched."})
	res = r.do("POST", "/api/v1/entries/approve", "alice", map[string]any{"ids": []string{id, e2["id"].(string), "ent_missing"}})
	out := res.json(t)
	if len(out["approved"].([]any)) != 2 || len(out["errors"].([]any)) != 1 {
		t.Fatalf("bulk: %s", res.Body)
	}
	for _, q := range []string{"status=weird", "from=yesterday", "offset=-1"} {
		if res := r.do("GET", "/api/v1/entries?"+q, "alice", nil); res.Status != 400 {
			t.Errorf("%s: %d", q, res.Status)
		}
	}
}

func TestAnonymousGetsUnauthorized(t *testing.T) {
	r := newRig(t)
	for _, rt := range r.srv.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") || (rt.Method == "POST" && rt.Path == "/api/v1/session") || strings.HasSuffix(rt.Path, "*") {
			continue
		}
		path := strings.NewReplacer(":id", "x1", ":username", "alice").Replace(rt.Path)
		res := r.do(rt.Method, path, "", map[string]any{})
		if res.Status != 401 {
			t.Errorf("anonymous %s %s: %d", rt.Method, path, res.Status)
		}
	}
	res := r.do("GET", "/api/v1/nonexistent", "alice", nil)
	if res.Status != 404 || res.errCode(t) != "not_found" {
		t.Fatalf("unknown route: %d %s", res.Status, res.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	r := newRig(t)
	for _, p := range []string{"/healthz", "/api/v1/me"} {
		res := r.do("GET", p, "alice", nil)
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"} {
			if res.Header.Get(h) == "" {
				t.Errorf("%s lacks %s", p, h)
			}
		}
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("CSP %q", res.Header.Get("Content-Security-Policy"))
		}
	}
}

// allFiles returns the bytes of every file under dir.
func allFiles(t *testing.T, dirs ...string) map[string][]byte {
	out := map[string][]byte{}
	for _, dir := range dirs {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				b, _ := os.ReadFile(p)
				out[p] = b
			}
			return nil
		})
	}
	return out
}

func blobCount(t *testing.T, dir string) int {
	n := 0
	for p := range allFiles(t, filepath.Join(dir, "blobs")) {
		if !strings.Contains(p, ".rewrap") {
			n++
		}
	}
	return n
}

func TestUploads(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := newRig(t, func(c *configT) { c.Limits.MaxUploadMB = 1 })
	wav := tone(2)
	cases := []struct {
		name   string
		body   []byte
		ct     string
		status int
		code   string
	}{
		{"text file", []byte("hello, this is not audio at all, just words in a file"), "text/plain", 415, "unsupported_media_type"},
		{"empty", nil, "audio/wav", 422, ""},
		{"silent", silentWAV(2), "audio/wav", 422, "silent_audio"},
		{"truncated header", wav[:30], "audio/wav", 422, ""},
		{"oversized", tone(40), "audio/wav", 413, "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := r.do("POST", "/api/v1/recordings", "alice", tc.body, "Content-Type", tc.ct)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			code := res.errCode(t)
			if tc.code != "" && code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
			if tc.status == 415 && !strings.Contains(string(res.Body), "MP3") {
				t.Fatalf("415 should name the accepted formats: %s", res.Body)
			}
			if n := blobCount(t, r.dir); n != 0 {
				t.Fatalf("%d blob file(s) left after a refused upload", n)
			}
		})
	}
	// A good upload: 202, queued, encrypted at rest, readable only by its owner (and billing/admin).
	res := r.do("POST", "/api/v1/recordings", "alice", wav, "Content-Type", "audio/wav")
	if res.Status != 202 {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	id := res.json(t)["id"].(string)
	if res.json(t)["status"] != "queued" {
		t.Fatalf("status %s", res.Body)
	}
	probe := wav[len(wav)/2 : len(wav)/2+64]
	for p, b := range allFiles(t, r.dir, tmp) {
		if bytes.Contains(b, probe) {
			t.Fatalf("plaintext audio found in %s", p)
		}
	}
	get := r.do("GET", "/api/v1/recordings/"+id, "alice", nil).json(t)
	if get["status"] != "queued" || get["has_audio"] != true || get["duration_ms"].(float64) != 2000 {
		t.Fatalf("get: %v", get)
	}
	if res := r.do("GET", "/api/v1/recordings/"+id, "bob", nil); res.Status != 404 {
		t.Fatalf("bob reads recording: %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/recordings/"+id+"/audio", "bob", nil); res.Status != 404 {
		t.Fatalf("bob plays audio: %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/recordings/"+id, "bill", nil); res.Status != 200 {
		t.Fatalf("billing reads recording: %d", res.Status)
	}
	audioRes := r.do("GET", "/api/v1/recordings/"+id+"/audio", "alice", nil)
	if audioRes.Status != 200 || !bytes.Equal(audioRes.Body, wav) {
		t.Fatalf("audio: %d, %d bytes", audioRes.Status, len(audioRes.Body))
	}
	part := r.do("GET", "/api/v1/recordings/"+id+"/audio", "alice", nil, "Range", "bytes=100-199")
	if part.Status != 206 || !bytes.Equal(part.Body, wav[100:200]) || part.Header.Get("Content-Range") != "bytes 100-199/"+itoaT(len(wav)) {
		t.Fatalf("range: %d %q %d bytes", part.Status, part.Header.Get("Content-Range"), len(part.Body))
	}
	// Only the owner deletes audio; the recording row stays, the blob goes.
	if res := r.do("DELETE", "/api/v1/recordings/"+id+"/audio", "bob", nil); res.Status != 404 {
		t.Fatalf("bob deletes audio: %d", res.Status)
	}
	if res := r.do("DELETE", "/api/v1/recordings/"+id+"/audio", "alice", nil); res.Status != 204 {
		t.Fatalf("delete audio: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/recordings/"+id+"/audio", "alice", nil); res.Status != 410 {
		t.Fatalf("audio after delete: %d", res.Status)
	}
	if n := blobCount(t, r.dir); n != 0 {
		t.Fatalf("blob remains after audio delete: %d", n)
	}
	after := r.do("GET", "/api/v1/recordings/"+id, "alice", nil).json(t)
	if after["audio_deleted_at"] == nil || after["has_audio"] != false {
		t.Fatalf("after delete: %v", after)
	}
}

func TestMultipartUpload(t *testing.T) {
	r := newRig(t)
	var body bytes.Buffer
	mw := multipartWriter(&body)
	fw, _ := mw.CreateFormFile("file", "dictation.wav")
	fw.Write(tone(1))
	mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/recordings", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+r.tokens["alice"])
	res, err := r.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("multipart: %d", res.StatusCode)
	}
}

func TestUploadIdempotencyKey(t *testing.T) {
	r := newRig(t)
	wav := tone(1)
	first := r.do("POST", "/api/v1/recordings", "alice", wav, "Content-Type", "audio/wav", "Idempotency-Key", "rec-42")
	again := r.do("POST", "/api/v1/recordings", "alice", wav, "Content-Type", "audio/wav", "Idempotency-Key", "rec-42")
	if first.Status != 202 || again.Status != 200 || first.json(t)["id"] != again.json(t)["id"] {
		t.Fatalf("retry: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	// Another user's key space is separate.
	other := r.do("POST", "/api/v1/recordings", "bob", wav, "Content-Type", "audio/wav", "Idempotency-Key", "rec-42")
	if other.Status != 202 || other.json(t)["id"] == first.json(t)["id"] {
		t.Fatalf("bob: %d %s", other.Status, other.Body)
	}
	if list := r.do("GET", "/api/v1/recordings", "alice", nil).json(t); len(list["recordings"].([]any)) != 1 {
		t.Fatalf("alice has %d recordings", len(list["recordings"].([]any)))
	}
	if n := blobCount(t, r.dir); n != 2 {
		t.Fatalf("%d blobs, want 2 (the retry must not keep a copy)", n)
	}
}

func TestDataFlowFollowsConfig(t *testing.T) {
	r := newRig(t)
	d := r.do("GET", "/api/v1/dataflow", "ada", nil).json(t)
	if d["nothing_leaves"] != true {
		t.Fatalf("default config: %v", d)
	}
	r2 := newRig(t, func(c *configT) {
		c.Draft.Engine, c.Draft.Azure.Endpoint, c.Draft.Azure.Deployment = "azure", "https://firm-openai.openai.azure.com", "gpt-firm"
	})
	res := r2.do("GET", "/api/v1/dataflow", "ada", nil)
	if res.json(t)["nothing_leaves"] != false || !strings.Contains(string(res.Body), "firm-openai.openai.azure.com") || !strings.Contains(string(res.Body), "transcript text") {
		t.Fatalf("azure config: %s", res.Body)
	}
	page := r2.do("GET", "/admin/dataflow", "ada", nil, "Accept", "text/html")
	if page.Status != 200 || !strings.Contains(string(page.Body), "firm-openai.openai.azure.com") {
		t.Fatalf("page: %d", page.Status)
	}
}

func TestAPIRateLimit(t *testing.T) {
	r := newRig(t, func(c *configT) { c.Limits.RequestsPerMin = 5 })
	var last resp
	for i := 0; i < 10; i++ {
		if last = r.do("GET", "/api/v1/me", "alice", nil); last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" || last.errCode(t) != "rate_limited" {
		t.Fatalf("no 429: %d %v %s", last.Status, last.Header, last.Body)
	}
	// Per user: another user is not affected.
	if res := r.do("GET", "/api/v1/me", "bob", nil); res.Status != 200 {
		t.Fatalf("bob limited by alice's traffic: %d", res.Status)
	}
	r.now = r.now.Add(time.Minute)
	if res := r.do("GET", "/api/v1/me", "alice", nil); res.Status != 200 {
		t.Fatalf("after a minute: %d", res.Status)
	}
}

// Every page and API route answers with the security headers.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	r := newRig(t)
	for _, rt := range r.srv.Routes() {
		if rt.Method != "GET" || strings.Contains(rt.Path, "events") {
			continue
		}
		path := strings.NewReplacer(":id", "x", ":username", "alice", ":hash", "0", "*", "x").Replace(rt.Path)
		for _, as := range []string{"", "ada"} {
			res := r.do("GET", path, as, nil, "Accept", "text/html")
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
				res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" ||
				!strings.Contains(res.Header.Get("Permissions-Policy"), "microphone=(self)") {
				t.Errorf("GET %s as %q (%d): headers %v", path, as, res.Status, res.Header)
			}
		}
	}
}

// While an upload is still arriving, nothing under the data dir or TMPDIR holds its audio
// in plaintext (the blob is encrypted as it streams in). A real listener is used so the
// body really arrives in pieces.
func TestNoPlaintextWhileUploading(t *testing.T) {
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprintf("multipart=%v", multi), func(t *testing.T) { noPlaintextWhileUploading(t, multi) })
	}
}

func noPlaintextWhileUploading(t *testing.T, multi bool) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := newRig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.srv.App().Listener(ln)
	t.Cleanup(func() { r.srv.App().Shutdown() })
	audioBytes := tone(60) // larger than the in-memory body limit, so it streams
	wav, ct := audioBytes, "audio/wav"
	if multi {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "dictation.wav")
		fw.Write(audioBytes)
		mw.Close()
		wav, ct = b.Bytes(), mw.FormDataContentType()
	}
	pr, pw := io.Pipe()
	defer pw.CloseWithError(io.ErrUnexpectedEOF) // a failing check must not leave the upload hanging
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/v1/recordings", pr)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+r.tokens["alice"])
	req.ContentLength = int64(len(wav))
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	half := len(wav) * 3 / 4
	wrote := make(chan error, 1)
	go func() { _, err := pw.Write(wav[:half]); wrote <- err }() // the server may read it all before answering
	probe := audioBytes[half/2 : half/2+64]                      // audio the server has already received
	sawPartial := false
	for i := 0; i < 100 && !sawPartial; i++ {
		for p, b := range allFiles(t, r.dir, tmp) {
			if bytes.Contains(b, probe) {
				t.Fatalf("plaintext audio in %s during the upload", p)
			}
			if strings.Contains(p, "blobs") && len(b) > 64<<10 {
				sawPartial = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawPartial {
		t.Fatal("no partial blob appeared: the check did not observe the upload in flight")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	pw.Write(wav[half:])
	pw.Close()
	select {
	case st := <-done:
		if st != 202 {
			t.Fatalf("upload: %d", st)
		}
	case <-time.After(time.Minute):
		t.Fatal("upload never answered")
	}
}

// A full disk (here: the database may not grow) fails the request with a clear message
// and leaves the store consistent: earlier data is intact and writes work again once
// there is room.
func TestDiskFull(t *testing.T) {
	r := newRig(t)
	before := r.entry("alice", map[string]any{"narrative": "Written before the disk filled."})
	db := r.st.DB()
	db.SetMaxOpenConns(1) // the page limit below is per connection
	var pages int
	if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var res resp
	for i := 0; i < 200; i++ { // fill what is left of the last pages
		res = r.do("POST", "/api/v1/entries", "alice", map[string]any{"narrative": strings.Repeat("Long narrative. ", 200)})
		if res.Status != 201 {
			break
		}
	}
	if res.Status != 507 || res.errCode(t) != "disk_full" || !strings.Contains(string(res.Body), "nothing was saved") {
		t.Fatalf("disk full: %d %s", res.Status, res.Body)
	}
	if got := r.do("GET", "/api/v1/entries/"+before["id"].(string), "alice", nil); got.Status != 200 {
		t.Fatalf("earlier entry unreadable: %d", got.Status)
	}
	if _, err := db.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if res := r.do("POST", "/api/v1/entries", "alice", map[string]any{"narrative": "After space was freed."}); res.Status != 201 {
		t.Fatalf("after freeing space: %d %s", res.Status, res.Body)
	}
	if bad, _, err := r.st.VerifyAudit(context.Background()); err != nil || bad != 0 {
		t.Fatalf("audit chain after disk full: bad=%d err=%v", bad, err)
	}
}
