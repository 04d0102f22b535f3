package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"dictum/internal/identity"
	"dictum/internal/store"
)

// retentionFixture closes a matter with one entry of alice's and soft-deletes it the way
// the retention job does; it returns the matter and entry ids.
func retentionFixture(t *testing.T, r *rig, as string) (matterID, entryID string) {
	t.Helper()
	matterID = r.matter("R-1", "Retained Co", "Old dispute")
	e := r.entry(as, map[string]any{"matter": matterID, "date": "2026-11-02", "hours": 0.5, "activity": "A103", "narrative": "Old work."})
	entryID = e["id"].(string)
	if res := r.do("PATCH", "/api/v1/matters/"+matterID, "ada", map[string]any{"status": "closed"}); res.Status != 200 {
		t.Fatalf("close matter: %d %s", res.Status, res.Body)
	}
	rep, err := r.st.RetentionSoftDelete(context.Background(), identity.System(), time.Now().Add(time.Hour), false)
	if err != nil || len(rep.Matters) != 1 {
		t.Fatalf("soft delete: %+v %v", rep, err)
	}
	return matterID, entryID
}

func TestDeletedItemsAPI(t *testing.T) {
	r := newRig(t)
	matterID, entryID := retentionFixture(t, r, "alice")
	mine := r.entry("bob", map[string]any{"date": "2026-11-03", "hours": 0.2, "narrative": "Mine."})
	if res := r.do("DELETE", "/api/v1/entries/"+mine["id"].(string), "bob", nil); res.Status != 200 {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}

	res := r.do("GET", "/api/v1/deleted", "ada", nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"kind":"matter","id":"`+matterID) || !strings.Contains(string(res.Body), `"kind":"entry","id":"`+mine["id"].(string)) ||
		!strings.Contains(string(res.Body), `"purge_after"`) {
		t.Fatalf("deleted items: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/matters/"+matterID, "ada", nil); res.Status != 404 {
		t.Fatalf("a deleted matter is still served: %d", res.Status)
	}
	// The entry's owner cannot pull it out of its deleted matter.
	if res := r.do("POST", "/api/v1/entries/"+entryID+"/restore", "alice", nil); res.Status != 409 || !strings.Contains(string(res.Body), "restores the matter") {
		t.Fatalf("restoring one entry of a deleted matter: %d %s", res.Status, res.Body)
	}
	for _, c := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/api/v1/deleted/folder/" + matterID + "/restore", 404, "matter or entry"},
		{"/api/v1/deleted/matter/mat_nope/restore", 404, "not found"},
		{"/api/v1/deleted/matter/" + r.matter("R-2", "Live Co", "Live") + "/restore", 409, "is not deleted"},
	} {
		if res := r.do("POST", c.path, "ada", nil); res.Status != c.status || !strings.Contains(string(res.Body), c.msg) {
			t.Errorf("POST %s: %d %s", c.path, res.Status, res.Body)
		}
	}

	res = r.do("POST", "/api/v1/deleted/matter/"+matterID+"/restore", "ada", nil)
	if res.Status != 200 || res.json(t)["entries"] != float64(1) {
		t.Fatalf("restore matter: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/entries/"+entryID, "alice", nil); res.Status != 200 || res.json(t)["status"] == "deleted" {
		t.Fatalf("entry after the matter's restore: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/deleted/entry/"+mine["id"].(string)+"/restore", "ada", nil); res.Status != 200 {
		t.Fatalf("admin restores an entry: %d %s", res.Status, res.Body)
	}

	// Past the grace period the restore is refused with the reason; nothing changes.
	matter2, _ := retentionFixture2(t, r)
	if _, err := r.st.DB().Exec("UPDATE matters SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = ?", matter2); err != nil {
		t.Fatal(err)
	}
	res = r.do("POST", "/api/v1/deleted/matter/"+matter2+"/restore", "ada", nil)
	if res.Status != 409 || !strings.Contains(string(res.Body), "grace period") {
		t.Fatalf("restore after the grace: %d %s", res.Status, res.Body)
	}
	if res := r.do("GET", "/api/v1/matters/"+matter2, "ada", nil); res.Status != 404 {
		t.Fatalf("a refused restore changed the matter: %d", res.Status)
	}
}

func retentionFixture2(t *testing.T, r *rig) (string, string) {
	t.Helper()
	id := r.matter("R-3", "Other Co", "Another")
	if res := r.do("PATCH", "/api/v1/matters/"+id, "ada", map[string]any{"status": "closed"}); res.Status != 200 {
		t.Fatalf("close: %d", res.Status)
	}
	if _, err := r.st.RetentionSoftDelete(context.Background(), identity.System(), time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	return id, ""
}

func TestRetentionSettingsAPI(t *testing.T) {
	r := newRig(t)
	got := r.do("GET", "/api/v1/settings", "bill", nil).json(t)
	if got["retention_days"] != float64(0) || got["retention_auto_delete"] != false || got["audio_retention_days"] != float64(0) {
		t.Fatalf("defaults: %v", got)
	}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"retention_days": 30}, "the retention window must be 90 to 1825 days"},
		{map[string]any{"retention_days": 1826}, "the retention window must be 90 to 1825 days"},
		{map[string]any{"retention_auto_delete": true}, "auto-delete needs a retention window"},
		{map[string]any{"audio_retention_days": -1}, "the audio window must be 1 to 1825 days"},
	} {
		res := r.do("PATCH", "/api/v1/settings", "ada", c.body)
		if res.Status != 422 || !strings.Contains(string(res.Body), c.want) {
			t.Errorf("%v: %d %s", c.body, res.Status, res.Body)
		}
	}
	res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"retention_days": 365, "retention_auto_delete": true, "audio_retention_days": 60})
	if res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if got := res.json(t); got["retention_days"] != float64(365) || got["retention_auto_delete"] != true || got["audio_retention_days"] != float64(60) {
		t.Fatalf("after patch: %v", got)
	}
	if res := r.do("PATCH", "/api/v1/settings", "bill", map[string]any{"retention_days": 90}); res.Status != 403 {
		t.Fatalf("billing changes retention: %d", res.Status)
	}
	ev, err := r.st.AuditEvents(context.Background(), "setting", store.SettingRetentionAutoDelete, 5)
	if err != nil || len(ev) != 1 || ev[0].Actor != "ada" {
		t.Fatalf("audit of the retention setting: %+v %v", ev, err)
	}
}

func TestUIDeletedItemsAndRetentionSettings(t *testing.T) {
	w := newUIWorld(t)
	cookie, csrf := w.login("boss")
	// The settings form carries the retention policy.
	res := w.req("POST", "/admin/settings", cookie, url.Values{"_csrf": {csrf}, "retention_days": {"400"}, "retention_auto_delete": {"on"}, "audio_retention_days": {""}})
	if res.Status != 303 {
		t.Fatalf("save: %d %s", res.Status, res.Body)
	}
	page := w.req("GET", "/admin/settings", cookie, nil)
	if !strings.Contains(page.Body, `name="retention_days" type="number" min="0" max="1825" value="400"`) || !strings.Contains(page.Body, `name="retention_auto_delete" checked`) {
		t.Fatalf("settings page: %s", page.Body)
	}
	if res := w.req("POST", "/admin/settings", cookie, url.Values{"_csrf": {csrf}, "retention_days": {"ninety"}}); res.Status != 422 || !strings.Contains(res.Body, "whole number of days") {
		t.Fatalf("bad days: %d %s", res.Status, res.Body)
	}

	created := w.do("POST", "/api/v1/matters", "boss", map[string]any{"number": "U-1", "client": "Page Co", "name": "Closed one"})
	if created.Status != 201 {
		t.Fatalf("create matter: %d %s", created.Status, created.Body)
	}
	matterID := created.json(t)["id"].(string)
	if res := w.do("PATCH", "/api/v1/matters/"+matterID, "boss", map[string]any{"status": "closed"}); res.Status != 200 {
		t.Fatalf("close: %d %s", res.Status, res.Body)
	}
	if _, err := w.st.RetentionSoftDelete(context.Background(), identity.System(), time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	page = w.req("GET", "/admin/deleted", cookie, nil)
	action := `action="/admin/deleted/matter/` + matterID + `/restore"`
	if page.Status != 200 || !strings.Contains(page.Body, "U-1 · Page Co · Closed one") || !strings.Contains(page.Body, action) || !strings.Contains(page.Body, ">Restore</button>") {
		t.Fatalf("deleted items page: %d %s", page.Status, page.Body)
	}
	if res := w.req("POST", "/admin/deleted/matter/"+matterID+"/restore", cookie, url.Values{}); res.Status != 403 {
		t.Fatalf("restore without csrf: %d", res.Status)
	}
	res = w.req("POST", "/admin/deleted/matter/"+matterID+"/restore", cookie, url.Values{"_csrf": {csrf}})
	if res.Status != 303 || res.Header.Get("Location") != "/admin/deleted?ok=item-restored" {
		t.Fatalf("restore: %d %v", res.Status, res.Header)
	}
	if page := w.req("GET", "/admin/deleted?ok=item-restored", cookie, nil); !strings.Contains(page.Body, "Restored.") || !strings.Contains(page.Body, "Nothing is deleted.") {
		t.Fatalf("after restore: %s", page.Body)
	}
}
