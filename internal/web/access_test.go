package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/access"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// walledWorld: matter W ("Smith v. Jones") is restricted to alice and screens bill; matter
// O is open. alice has an approved entry on each.
type walledWorld struct {
	r          *rig
	w, o       string
	wEnt, oEnt string
}

const wallNarr, openNarr = "Walled narrative about the merger.", "Open narrative about the lease."

func newWalled(t *testing.T) *walledWorld {
	r := newRig(t, func(c *configT) { c.Limits.RequestsPerMin = 1 << 20 })
	ww := &walledWorld{r: r}
	ww.w = r.matter("WZQ-1", "Daniel Smith", "Smith v. Jones")
	ww.o = r.matter("O-1", "Open Client", "Lease review")
	res := r.do("PATCH", "/api/v1/matters/"+ww.w, "ada", map[string]any{"rate": 500})
	if res.Status != 200 {
		t.Fatalf("rate: %d %s", res.Status, res.Body)
	}
	ww.wEnt = r.entry("alice", map[string]any{"matter": ww.w, "date": "2026-11-20", "hours": 1, "activity": "A103", "narrative": wallNarr})["id"].(string)
	ww.oEnt = r.entry("alice", map[string]any{"matter": ww.o, "date": "2026-11-20", "hours": 1, "activity": "A103", "narrative": openNarr})["id"].(string)
	for _, id := range []string{ww.wEnt, ww.oEnt} {
		if res := r.do("POST", "/api/v1/entries/"+id+"/approve", "alice", nil); res.Status != 200 {
			t.Fatalf("approve: %d %s", res.Status, res.Body)
		}
	}
	ww.setWall(t, []string{"alice"}, []string{"bill"})
	return ww
}

func (ww *walledWorld) setWall(t *testing.T, members, screened []string) {
	t.Helper()
	res := ww.r.do("PUT", "/api/v1/matters/"+ww.w+"/access", "ada", map[string]any{"restricted": true, "members": members, "screened": screened, "reason": "conflict: Smith is adverse to a client of bob's former firm"})
	if res.Status != 200 {
		t.Fatalf("set wall: %d %s", res.Status, res.Body)
	}
}

func matterIDs(t *testing.T, res resp) []string {
	t.Helper()
	var out struct{ Matters []map[string]any }
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatalf("matters: %d %s", res.Status, res.Body)
	}
	var ids []string
	for _, m := range out.Matters {
		ids = append(ids, m["id"].(string))
	}
	return ids
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A screened or non-member user gets exactly what an id that does not exist gets, on
// every route that names a matter, its entries or its share links.
func TestWalledMatterIs404Everywhere(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	shareW, err := r.srv.access.CreateShare(context.Background(), identity.Actor{UserID: r.ids["ada"], Username: "ada", Role: "admin"}, ww.w, access.ShareRequest{From: "2026-11-01", To: "2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	const nope = "mat_doesnotexist"
	type probe struct {
		method, path string
		body         any
		who          []string
	}
	probes := []probe{
		{"GET", "/api/v1/matters/{m}", nil, []string{"bob", "bill"}},
		{"PATCH", "/api/v1/matters/{m}", map[string]any{"name": "X"}, []string{"bill"}},
		{"GET", "/api/v1/matters/{m}/access", nil, []string{"bill"}},
		{"GET", "/api/v1/matters/{m}/shares", nil, []string{"bill"}},
		{"POST", "/api/v1/matters/{m}/shares", map[string]any{"from": "2026-11-01", "to": "2026-11-30"}, []string{"bill"}},
		{"DELETE", "/api/v1/matters/{m}/shares/" + shareW.Share.ID, nil, []string{"bill"}},
		{"GET", "/admin/matters/{m}", nil, []string{"bill"}},
		{"GET", "/api/v1/exports/entries.ledes?matter={m}&from=2026-11-01&to=2026-11-30", nil, []string{"bill"}},
		{"GET", "/api/v1/exports/ledes/check?matter={m}&from=2026-11-01&to=2026-11-30", nil, []string{"bill"}},
		{"POST", "/api/v1/archives", map[string]any{"scope": "matter:{m}"}, []string{"bill"}},
		{"POST", "/api/v1/aliases", map[string]any{"phrase": "the smith thing", "matter": "{m}"}, []string{"bob", "bill"}},
		{"POST", "/api/v1/entries", map[string]any{"matter": "{m}", "narrative": "x"}, []string{"bob", "bill"}},
	}
	fill := func(v any, id string) any {
		switch b := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, x := range b {
				if s, ok := x.(string); ok {
					x = strings.ReplaceAll(s, "{m}", id)
				}
				out[k] = x
			}
			return out
		}
		return v
	}
	for _, p := range probes {
		for _, who := range p.who {
			walled := r.do(p.method, strings.ReplaceAll(p.path, "{m}", ww.w), who, fill(p.body, ww.w))
			missing := r.do(p.method, strings.ReplaceAll(p.path, "{m}", nope), who, fill(p.body, nope))
			wb := strings.ReplaceAll(string(walled.Body), ww.w, "ID")
			mb := strings.ReplaceAll(string(missing.Body), nope, "ID")
			if walled.Status != missing.Status || wb != mb {
				t.Errorf("%s %s as %s: walled answers %d %.200s, a missing id %d %.200s", p.method, p.path, who, walled.Status, wb, missing.Status, mb)
			}
			if walled.Status < 400 {
				t.Errorf("%s %s as %s: walled matter answered %d", p.method, p.path, who, walled.Status)
			}
		}
	}
	// The walled matter's entry: 404 for bill like any unknown entry, also to change it.
	for _, m := range []string{"GET", "DELETE"} {
		if res := r.do(m, "/api/v1/entries/"+ww.wEnt, "bill", nil); res.Status != 404 {
			t.Errorf("%s walled entry as bill: %d", m, res.Status)
		}
	}
	if res := r.do("POST", "/api/v1/entries/"+ww.wEnt+"/reopen", "bill", nil); res.Status != 404 {
		t.Errorf("reopen walled entry as bill: %d %s", res.Status, res.Body)
	}
	// A recording that drafted an entry on the walled matter: its transcript and audio
	// speak of it, so bill gets 404; ada (not screened) still gets it.
	rec := r.do("POST", "/api/v1/recordings", "alice", tone(1), "Content-Type", "audio/wav").json(t)["id"].(string)
	alice := identity.Actor{UserID: r.ids["alice"], Username: "alice", Role: "timekeeper"}
	if _, err := r.st.CreateEntry(context.Background(), alice, store.NewEntry{UserID: alice.UserID, RecordingID: rec,
		Fields: entry.Fields{MatterID: ww.w, Date: "2026-11-20", Tenths: 2, Narrative: "x"}}); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]int{"bill": 404, "ada": 200} {
		for _, sfx := range []string{"", "/audio"} {
			if res := r.do("GET", "/api/v1/recordings/"+rec+sfx, who, nil); res.Status != want {
				t.Errorf("recording%s of the walled matter as %s: %d, want %d", sfx, who, res.Status, want)
			}
		}
	}
	// The wall's member and an admin still see it.
	for _, who := range []string{"alice", "ada"} {
		if res := r.do("GET", "/api/v1/matters/"+ww.w, who, nil); res.Status != 200 {
			t.Errorf("%s: %d", who, res.Status)
		}
	}
}

func TestWalledMatterAbsentFromListsExportsArchivesAudit(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	ctx := context.Background()
	lists := map[string]bool{"alice": true, "bob": false, "bill": false, "ada": true}
	for who, sees := range lists {
		ids := matterIDs(t, r.do("GET", "/api/v1/matters?status=all", who, nil))
		if has(ids, ww.w) != sees || !has(ids, ww.o) {
			t.Errorf("%s lists %v: walled visible = %v, want %v", who, ids, has(ids, ww.w), sees)
		}
	}
	// Entry lists, billing pages, exports: bill never sees the walled entry.
	for _, path := range []string{"/api/v1/entries?status=approved", "/api/v1/exports/entries.csv?from=2026-11-01&to=2026-11-30", "/billing?status=approved", "/admin/matters?status=all"} {
		res := r.do("GET", path, "bill", nil)
		if res.Status != 200 || strings.Contains(string(res.Body), wallNarr) || strings.Contains(string(res.Body), "WZQ-1") {
			t.Errorf("%s as bill: %d, walled data present", path, res.Status)
		}
		if res := r.do("GET", path, "ada", nil); res.Status != 200 || !strings.Contains(string(res.Body), "WZQ-1") && !strings.Contains(string(res.Body), wallNarr) {
			t.Errorf("%s as ada: %d, walled data missing (the test would prove nothing)", path, res.Status)
		}
	}
	// A kept export holding the walled entry is neither listed nor downloadable for bill.
	res := r.do("POST", "/api/v1/exports", "ada", map[string]any{"format": "csv", "from": "2026-11-01", "to": "2026-11-30"})
	if res.Status != 201 {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	xid := res.json(t)["export"].(map[string]any)["id"].(string)
	if res := r.do("GET", "/api/v1/exports", "bill", nil); strings.Contains(string(res.Body), xid) {
		t.Errorf("bill lists the export holding the walled entry")
	}
	if res := r.do("GET", "/api/v1/exports/"+xid+"/download", "bill", nil); res.Status != 404 {
		t.Errorf("bill downloads the walled export: %d", res.Status)
	}
	if res := r.do("GET", "/api/v1/exports/"+xid+"/download", "ada", nil); res.Status != 200 {
		t.Errorf("ada downloads her export: %d", res.Status)
	}
	// Archives and the audit view, through the store's one rule.
	count := func(viewer int64) (n int) {
		_ = r.st.EachArchiveEntry(ctx, store.ArchiveScope{Kind: "firm", Label: "firm", ViewerID: viewer}, func(e *store.Entry) error {
			if e.ID == ww.wEnt {
				n++
			}
			return nil
		})
		return n
	}
	if count(r.ids["bill"]) != 0 || count(r.ids["ada"]) != 1 {
		t.Errorf("archive: bill sees %d walled entries, ada %d", count(r.ids["bill"]), count(r.ids["ada"]))
	}
	for who, want := range map[string]bool{"bill": false, "ada": true} {
		evs, err := r.st.AuditQuery(ctx, store.AuditFilter{ViewerID: r.ids[who], Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := false
		for _, e := range evs {
			if e.ObjectID == ww.w || e.ObjectID == ww.wEnt {
				seen = true
			}
		}
		if seen != want {
			t.Errorf("audit as %s: walled events visible = %v, want %v", who, seen, want)
		}
	}
	// The wall change itself is audited with who and why.
	evs, _ := r.st.AuditQuery(ctx, store.AuditFilter{Action: "matter.access", Limit: 10})
	if len(evs) == 0 || evs[0].Actor != "ada" || !strings.Contains(fmt.Sprint(evs[0].Detail["reason"]), "conflict") {
		t.Errorf("wall change audit: %+v", evs)
	}
}

func TestDrafterNeverProposesWalledMatter(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	dictate := func(who string) *string {
		res := r.do("POST", "/api/v1/dictations", who, map[string]any{"text": "Point three on Smith v. Jones drafting the motion."})
		if res.Status != 201 {
			t.Fatalf("dictation as %s: %d %s", who, res.Status, res.Body)
		}
		var out struct{ Entries []dictEntry }
		if err := json.Unmarshal(res.Body, &out); err != nil || len(out.Entries) != 1 {
			t.Fatalf("dictation: %s", res.Body)
		}
		return out.Entries[0].Matter
	}
	if m := dictate("alice"); m == nil || *m != ww.w {
		t.Fatalf("the member's dictation should match the walled matter: %v", m)
	}
	// A firm alias naming the walled matter is not used for bob either.
	if res := r.do("POST", "/api/v1/aliases", "ada", map[string]any{"phrase": "zephyr project", "matter": ww.w, "scope": "firm"}); res.Status >= 300 {
		t.Fatalf("firm alias: %d %s", res.Status, res.Body)
	}
	if m := dictate("bob"); m != nil && *m == ww.w {
		t.Fatalf("the drafter proposed the walled matter to bob")
	}
	res := r.do("POST", "/api/v1/dictations", "bob", map[string]any{"text": "Point two on zephyr project reviewing the file."})
	if strings.Contains(string(res.Body), ww.w) {
		t.Fatalf("a firm alias leaked the walled matter to bob: %s", res.Body)
	}
	if res := r.do("GET", "/api/v1/aliases", "bob", nil); strings.Contains(string(res.Body), ww.w) {
		t.Errorf("bob's alias list names the walled matter: %s", res.Body)
	}
	if p := r.srv.dictation.Prompt(context.Background(), r.ids["bob"], ""); strings.Contains(p, "Smith v. Jones") {
		t.Errorf("whisper prompt for bob names the walled matter: %q", p)
	}
	// Adding bob to the wall makes it appear.
	ww.setWall(t, []string{"alice", "bob"}, []string{"bill"})
	if m := dictate("bob"); m == nil || *m != ww.w {
		t.Fatalf("after joining the wall bob's dictation should match it: %v", m)
	}
	if !has(matterIDs(t, r.do("GET", "/api/v1/matters", "bob", nil)), ww.w) {
		t.Errorf("bob, now a member, does not list the matter")
	}
}

func TestWallChangesAdminOnlyAndValidated(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"no reason", map[string]any{"restricted": true, "members": []string{"alice"}}, 422},
		{"unknown user", map[string]any{"restricted": true, "members": []string{"nobody"}, "reason": "x"}, 422},
		{"member and screened", map[string]any{"restricted": true, "members": []string{"bob"}, "screened": []string{"bob"}, "reason": "x"}, 422},
		{"screen yourself", map[string]any{"screened": []string{"ada"}, "reason": "x"}, 422},
		{"restricted without members", map[string]any{"restricted": true, "reason": "x"}, 422},
	} {
		res := r.do("PUT", "/api/v1/matters/"+ww.w+"/access", "ada", tc.body)
		if res.Status != tc.want || !strings.Contains(string(res.Body), "message") {
			t.Errorf("%s: %d %s", tc.name, res.Status, res.Body)
		}
	}
	res := r.do("GET", "/api/v1/matters/"+ww.w+"/access", "ada", nil)
	var a store.MatterAccess
	if err := json.Unmarshal(res.Body, &a); err != nil || !a.Restricted || strings.Join(a.Members, ",") != "alice" || strings.Join(a.Screened, ",") != "bill" {
		t.Fatalf("a refused change altered the wall: %s", res.Body)
	}
	// The matter page shows the wall.
	page := r.do("GET", "/admin/matters/"+ww.w, "ada", nil)
	if !strings.Contains(string(page.Body), "Restricted") || !strings.Contains(string(page.Body), "bill") {
		t.Errorf("matter page does not show the wall")
	}
}

func TestTimekeepersDoNotSeeRates(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	for who, want := range map[string]bool{"alice": false, "bill": true} {
		for _, path := range []string{"/api/v1/matters/" + ww.o, "/api/v1/matters?status=all"} {
			if path == "/api/v1/matters/"+ww.o && who == "alice" {
				path = "/api/v1/matters/" + ww.w
			}
			res := r.do("GET", path, who, nil)
			if got := strings.Contains(string(res.Body), "rate_cents"); got != want {
				t.Errorf("%s %s: rate shown = %v, want %v: %s", who, path, got, want, res.Body)
			}
		}
	}
}

// ---- share links ----

type shareWorld struct {
	r        *rig
	a, b     string
	url, tok string
	id       string
}

func newShareWorld(t *testing.T) *shareWorld {
	r := newRig(t, func(c *configT) { c.Limits.RequestsPerMin = 1 << 20 })
	sw := &shareWorld{r: r}
	sw.a = r.matter("A-1", "Acme", "Acme acquisition")
	sw.b = r.matter("B-1", "Beta", "Beta litigation")
	mk := func(m, date, narr string, approve bool) {
		id := r.entry("alice", map[string]any{"matter": m, "date": date, "hours": 1.5, "activity": "A103", "narrative": narr})["id"].(string)
		if approve {
			if res := r.do("POST", "/api/v1/entries/"+id+"/approve", "alice", nil); res.Status != 200 {
				t.Fatalf("approve: %s", res.Body)
			}
		}
	}
	mk(sw.a, "2026-11-10", "=HYPERLINK(\"http://evil\") Reviewed the term sheet.", true)
	mk(sw.a, "2026-11-11", "Draft not for the client.", false)
	mk(sw.a, "2026-10-01", "Out of range work.", true)
	mk(sw.b, "2026-11-10", "Beta secret strategy.", true)
	res := r.do("POST", "/api/v1/matters/"+sw.a+"/shares", "bill", map[string]any{"from": "2026-11-01", "to": "2026-11-30", "label": "Acme pre-bill"})
	if res.Status != 201 {
		t.Fatalf("create share: %d %s", res.Status, res.Body)
	}
	j := res.json(t)
	sw.url, sw.id = j["url"].(string), j["id"].(string)
	sw.tok = sw.url[strings.LastIndex(sw.url, "/s/")+3:]
	if j["token_last4"] != sw.tok[len(sw.tok)-4:] || j["expires_at"] == "" {
		t.Fatalf("create share: %s", res.Body)
	}
	return sw
}

func (sw *shareWorld) get(path, ip string) resp {
	req := httptest.NewRequest("GET", path, nil)
	if ip != "" {
		req.RemoteAddr = ip + ":1234"
	}
	return sw.r.roundTrip(req)
}

func TestShareLinkShowsOnlyItsMattersApprovedEntries(t *testing.T) {
	sw := newShareWorld(t)
	res := sw.get("/s/"+sw.tok, "")
	body := string(res.Body)
	if res.Status != 200 {
		t.Fatalf("share page: %d %s", res.Status, body)
	}
	if !strings.Contains(body, "Reviewed the term sheet.") || !strings.Contains(body, "Acme acquisition") {
		t.Errorf("share page lacks the approved entry or the matter")
	}
	for _, leak := range []string{"Draft not for the client.", "Out of range work.", "Beta secret strategy.", "Beta litigation"} {
		if strings.Contains(body, leak) {
			t.Errorf("share page shows %q", leak)
		}
	}
	if res.Header.Get("X-Robots-Tag") == "" || !strings.Contains(res.Header.Get("X-Robots-Tag"), "noindex") || res.Header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(body, `<meta name="robots" content="noindex`) || !strings.Contains(body, `name="viewport"`) {
		t.Errorf("share page headers/meta: %v", res.Header)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") && !strings.Contains(body, "HYPERLINK(&#34;http://evil") {
		t.Errorf("share page loads scripts or third-party assets")
	}
	csv := sw.get("/s/"+sw.tok+"/entries.csv", "")
	if csv.Status != 200 || !strings.Contains(string(csv.Body), "'=HYPERLINK") || strings.Contains(string(csv.Body), "Beta") || strings.Contains(string(csv.Body), "Draft not") {
		t.Errorf("share CSV: %d %s", csv.Status, csv.Body)
	}
	// Listed with its views and last use; the token is in no audit event and not listed.
	list := sw.r.do("GET", "/api/v1/matters/"+sw.a+"/shares", "bill", nil)
	if !strings.Contains(string(list.Body), `"views":2`) || !strings.Contains(string(list.Body), `"last_used_at":"2`) || strings.Contains(string(list.Body), sw.tok) {
		t.Errorf("share list: %s", list.Body)
	}
	evs, _ := sw.r.st.AuditQuery(context.Background(), store.AuditFilter{Limit: 1000})
	views := 0
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), sw.tok) {
			t.Fatalf("the token is in the audit log: %s", b)
		}
		if e.Action == "share.view" && e.ObjectID == sw.id && e.IP != "" {
			views++
		}
	}
	if views != 2 {
		t.Errorf("share views audited: %d, want 2", views)
	}
	// A token for A never shows B, even asked through B's id.
	if res := sw.r.do("GET", "/api/v1/matters/"+sw.b+"/shares", "bill", nil); strings.Contains(string(res.Body), sw.id) {
		t.Errorf("B lists A's link")
	}
	if res := sw.r.do("DELETE", "/api/v1/matters/"+sw.b+"/shares/"+sw.id, "bill", nil); res.Status != 404 {
		t.Errorf("revoking A's link through B: %d", res.Status)
	}
}

func TestShareLinkRateLimitedPerToken(t *testing.T) {
	sw := newShareWorld(t)
	for i := 1; i <= access.TokenPerHour; i++ {
		if res := sw.get("/s/"+sw.tok, ""); res.Status != 200 {
			t.Fatalf("request %d: %d", i, res.Status)
		}
	}
	res := sw.get("/s/"+sw.tok, "")
	if res.Status != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("request 101: %d Retry-After %q", res.Status, res.Header.Get("Retry-After"))
	}
	// An hour later the link answers again.
	sw.r.now = sw.r.now.Add(time.Hour)
	if res := sw.get("/s/"+sw.tok, ""); res.Status != 200 {
		t.Fatalf("an hour later: %d", res.Status)
	}
}

func TestShareLinkExpiredRevokedUnknownAlike(t *testing.T) {
	sw := newShareWorld(t)
	unknown := sw.get("/s/"+strings.Repeat("A", len(sw.tok)), "10.0.0.1")
	// Revoked.
	if res := sw.r.do("DELETE", "/api/v1/matters/"+sw.a+"/shares/"+sw.id, "bill", nil); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	revoked := sw.get("/s/"+sw.tok, "10.0.0.2")
	// Expired: a second link, 1 day, then the clock moves on.
	res := sw.r.do("POST", "/api/v1/matters/"+sw.a+"/shares", "bill", map[string]any{"from": "2026-11-01", "to": "2026-11-30", "expires_in_days": 1})
	tok2 := res.json(t)["url"].(string)
	tok2 = tok2[strings.LastIndex(tok2, "/s/")+3:]
	if res := sw.get("/s/"+tok2, "10.0.0.3"); res.Status != 200 {
		t.Fatalf("fresh link: %d", res.Status)
	}
	sw.r.now = sw.r.now.Add(25 * time.Hour)
	expired := sw.get("/s/"+tok2, "10.0.0.3")
	for name, got := range map[string]resp{"revoked": revoked, "expired": expired} {
		if got.Status != 404 || string(got.Body) != string(unknown.Body) || unknown.Status != 404 {
			t.Errorf("%s: %d, differs from an unknown token's %d", name, got.Status, unknown.Status)
		}
	}
	for _, tc := range []map[string]any{
		{"from": "2026-11-30", "to": "2026-11-01"},
		{"from": "2026-11-01", "to": "2026-11-30", "expires_in_days": 91},
		{"from": "yesterday", "to": "2026-11-30"},
	} {
		if res := sw.r.do("POST", "/api/v1/matters/"+sw.a+"/shares", "bill", tc); res.Status != 422 {
			t.Errorf("%v: %d %s", tc, res.Status, res.Body)
		}
	}
	if res := sw.r.do("POST", "/api/v1/matters/"+sw.a+"/shares", "alice", map[string]any{"from": "2026-11-01", "to": "2026-11-30"}); res.Status != 403 {
		t.Errorf("a timekeeper creates a share link: %d", res.Status)
	}
}

func TestShareTokenBruteForceLimitedPerIP(t *testing.T) {
	sw := newShareWorld(t)
	limited := false
	for i := 0; i < access.FreeMisses+2; i++ {
		res := sw.get(fmt.Sprintf("/s/%s%04d", strings.Repeat("x", 39), i), "")
		if res.Status == 429 {
			limited = res.Header.Get("Retry-After") != ""
			break
		}
		if res.Status != 404 {
			t.Fatalf("guess %d: %d", i, res.Status)
		}
	}
	if !limited {
		t.Fatalf("guessing tokens from one IP was never limited")
	}
	// Even the right token waits from that IP.
	if res := sw.get("/s/"+sw.tok, ""); res.Status != 429 {
		t.Errorf("right token from the guessing IP: %d", res.Status)
	}
	// Another IP is not affected (the service, since the test app has one client address).
	svc := access.New(sw.r.st, sw.r.srv.settings, func() time.Time { return sw.r.now })
	for i := 0; i < access.FreeMisses+2; i++ {
		_, _ = svc.Open(context.Background(), fmt.Sprintf("%s%04d", strings.Repeat("y", 39), i), "10.9.9.9", "page")
	}
	var le *access.LimitedError
	if _, err := svc.Open(context.Background(), sw.tok, "10.9.9.9", "page"); !errors.As(err, &le) {
		t.Errorf("right token from the guessing IP (service): %v", err)
	}
	if _, err := svc.Open(context.Background(), sw.tok, "10.1.1.1", "page"); err != nil {
		t.Errorf("right token from another IP: %v", err)
	}
}

func TestDataFlowDescribesShareLinks(t *testing.T) {
	sw := newShareWorld(t)
	res := sw.r.do("GET", "/api/v1/dataflow", "ada", nil)
	var d DataFlow
	if err := json.Unmarshal(res.Body, &d); err != nil {
		t.Fatal(err)
	}
	if d.ShareLinks.Active != 1 || d.NothingLeaves || !strings.Contains(d.ShareLinks.Exposes, "approved") || !strings.Contains(d.ShareLinks.Never, "transcripts") {
		t.Errorf("dataflow share links: %+v nothing_leaves=%v", d.ShareLinks, d.NothingLeaves)
	}
	page := sw.r.do("GET", "/admin/dataflow", "ada", nil)
	if !strings.Contains(string(page.Body), "Client share links") || !strings.Contains(string(page.Body), "What it never shows") {
		t.Errorf("dataflow page lacks the share links section")
	}
	if res := sw.r.do("DELETE", "/api/v1/matters/"+sw.a+"/shares/"+sw.id, "bill", nil); res.Status != 200 {
		t.Fatal(res.Status)
	}
	if err := json.Unmarshal(sw.r.do("GET", "/api/v1/dataflow", "ada", nil).Body, &d); err != nil || d.ShareLinks.Active != 0 {
		t.Errorf("revoked link still counted live: %+v", d.ShareLinks)
	}
}

func TestShareTokenNeverLogged(t *testing.T) {
	app := fiber.New()
	app.Get("/s/:token", func(c *fiber.Ctx) error { return c.SendString(logPath(c)) })
	app.Get("/api/v1/x", func(c *fiber.Ctx) error { return c.SendString(logPath(c)) })
	for path, want := range map[string]string{"/s/SECRETTOKEN1234567890": "/s/[token]", "/api/v1/x": "/api/v1/x"} {
		res, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 64)
		n, _ := res.Body.Read(b)
		if string(b[:n]) != want {
			t.Errorf("%s logged as %q, want %q", path, b[:n], want)
		}
	}
}

func TestWallFormOnMatterPage(t *testing.T) {
	ww := newWalled(t)
	r := ww.r
	form := func(body string) resp {
		return r.do("POST", "/admin/matters/"+ww.w+"/access", "ada", []byte(body), "Content-Type", "application/x-www-form-urlencoded")
	}
	// No reason: refused with the reason shown, the wall unchanged.
	res := form("restricted=on&members=alice,+bob&screened=bill")
	if res.Status != 422 || !strings.Contains(string(res.Body), "a reason is required") {
		t.Fatalf("no reason: %d", res.Status)
	}
	if has(matterIDs(t, r.do("GET", "/api/v1/matters", "bob", nil)), ww.w) {
		t.Fatalf("a refused form changed the wall")
	}
	res = form("restricted=on&members=alice,+bob&screened=bill&reason=bob+joins+the+deal+team")
	if res.Status != 303 || !strings.Contains(res.Header.Get("Location"), "ok=wall-saved") {
		t.Fatalf("save: %d %s", res.Status, res.Header.Get("Location"))
	}
	if !has(matterIDs(t, r.do("GET", "/api/v1/matters", "bob", nil)), ww.w) {
		t.Errorf("bob was added by the form but does not see the matter")
	}
	page := r.do("GET", "/admin/matters/"+ww.w+"?ok=wall-saved", "ada", nil)
	if !strings.Contains(string(page.Body), "wall is saved") || !strings.Contains(string(page.Body), "bob joins the deal team") {
		t.Errorf("matter page after saving the wall lacks the notice or the reason")
	}
	// Billing sees the wall but has no form.
	if b := string(r.do("GET", "/admin/matters/"+ww.o, "bill", nil).Body); strings.Contains(b, "Save wall") || !strings.Contains(b, "Ethical wall") {
		t.Errorf("billing's matter page: form shown or wall missing")
	}
}
