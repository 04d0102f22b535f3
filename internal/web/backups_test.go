package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"dictum/internal/identity"
	"dictum/internal/lifecycle"
)

func TestAPIBackups(t *testing.T) {
	r := newRig(t)
	res := r.do("POST", "/api/v1/backups", "ada", nil)
	if res.Status != 202 {
		t.Fatalf("POST /api/v1/backups: %d %s", res.Status, res.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(res.Body, &created); err != nil || !strings.HasPrefix(created.ID, "bkr_") {
		t.Fatalf("202 body: %s", res.Body)
	}
	r.srv.Backups.Wait()
	res = r.do("GET", "/api/v1/backups", "ada", nil)
	if res.Status != 200 {
		t.Fatalf("GET /api/v1/backups: %d %s", res.Status, res.Body)
	}
	var st lifecycle.Status
	if err := json.Unmarshal(res.Body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Backups) != 1 || st.Backups[0].Size == 0 || st.Backups[0].AgeSeconds < 0 {
		t.Fatalf("listed backups: %+v", st.Backups)
	}
	if len(st.Runs) == 0 || st.Runs[0].ID != created.ID || st.Runs[0].Status != "ok" || st.Runs[0].File != st.Backups[0].Name {
		t.Fatalf("the run of id %s: %+v", created.ID, st.Runs)
	}
	if st.DrillOK || st.DrillProblem == "" {
		t.Fatalf("no drill ran, yet drill_ok: %+v", st)
	}
	for _, as := range []string{"alice", "bill"} {
		if got := r.do("POST", "/api/v1/backups", as, nil).Status; got != 403 {
			t.Fatalf("%s starting a backup: %d", as, got)
		}
	}
	// The API never shows paths of keys or anything secret.
	if strings.Contains(string(res.Body), "master.key") {
		t.Fatalf("listing mentions the key file: %s", res.Body)
	}
}

func TestBackupsPage(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("boss")
	page := w.req("GET", "/admin/backups", cookie, nil)
	if page.Status != 200 || !strings.Contains(page.Body, "No restore drill has run yet") || !strings.Contains(page.Body, "flash-bad") {
		t.Fatalf("backups page before any drill: %d", page.Status)
	}
	res := w.req("POST", "/admin/backups", cookie, url.Values{"_csrf": {csrf}})
	if res.Status != 303 || !strings.Contains(res.Header.Get("Location"), "backup-started") {
		t.Fatalf("Back up now: %d %s", res.Status, res.Header.Get("Location"))
	}
	w.srv.Backups.Wait()
	if _, err := w.srv.Backups.Drill(t.Context(), identity.System()); err != nil {
		t.Fatal(err)
	}
	page = w.req("GET", "/admin/backups", cookie, nil)
	if !strings.Contains(page.Body, "Last restore drill: <strong>ok</strong>") || strings.Contains(page.Body, "flash-bad") ||
		!strings.Contains(page.Body, "dictum-") || !strings.Contains(page.Body, "drill ok") {
		t.Fatalf("backups page after a good drill:\n%s", page.Body)
	}
}
