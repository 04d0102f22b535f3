package web

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

func TestArchiveAPI(t *testing.T) {
	r := newRig(t)
	m := r.matter("2026-9", "Client", "Matter")
	r.entry("alice", map[string]any{"matter": m, "date": "2026-11-20", "hours": 0.3, "narrative": "ALICE-WORK"})
	r.entry("bob", map[string]any{"matter": m, "date": "2026-11-20", "hours": 0.2, "narrative": "BOB-WORK"})

	refused := []struct{ as, scope, code string }{
		{"alice", "firm", "forbidden"},
		{"alice", "user:bob", "forbidden"},
		{"alice", "matter:" + m, "forbidden"},
		{"bill", "firm", "forbidden"},
		{"bill", "user:alice", "forbidden"},
		{"ada", "matter:nope", "invalid"},
		{"ada", "everything", "invalid"},
	}
	for _, c := range refused {
		res := r.do("POST", "/api/v1/archives", c.as, map[string]any{"scope": c.scope})
		if got := res.errCode(t); got != c.code {
			t.Errorf("%s archiving %s: %d %s, want %s", c.as, c.scope, res.Status, res.Body, c.code)
		}
	}

	res := r.do("POST", "/api/v1/archives", "alice", map[string]any{"scope": "user:alice"})
	if res.Status != 202 {
		t.Fatalf("alice archiving herself: %d %s", res.Status, res.Body)
	}
	id := res.json(t)["id"].(string)
	r.srv.archives.Wait()
	st := r.do("GET", "/api/v1/archives/"+id, "alice", nil)
	if st.Status != 200 || st.json(t)["status"] != "done" || st.json(t)["progress"].(float64) != 100 {
		t.Fatalf("status: %d %s", st.Status, st.Body)
	}
	// Another timekeeper learns nothing about it, not even that it exists.
	for _, p := range []string{"/api/v1/archives/" + id, "/api/v1/archives/" + id + "/download"} {
		if res := r.do("GET", p, "bob", nil); res.Status != 404 {
			t.Errorf("bob GET %s: %d, want 404", p, res.Status)
		}
	}
	if res := r.do("GET", "/api/v1/archives/arc_nope", "alice", nil); res.Status != 404 {
		t.Errorf("unknown archive: %d", res.Status)
	}
	dl := r.do("GET", "/api/v1/archives/"+id+"/download", "alice", nil)
	if dl.Status != 200 || dl.Header.Get("Content-Type") != "application/zip" || !strings.Contains(dl.Header.Get("Content-Disposition"), "dictum-archive-user-alice-") {
		t.Fatalf("download: %d %v", dl.Status, dl.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(dl.Body), int64(len(dl.Body)))
	if err != nil {
		t.Fatalf("download is not a ZIP: %v", err)
	}
	var all bytes.Buffer
	for _, f := range zr.File {
		rc, _ := f.Open()
		all.ReadFrom(rc)
		rc.Close()
	}
	if !bytes.Contains(all.Bytes(), []byte("ALICE-WORK")) || bytes.Contains(all.Bytes(), []byte("BOB-WORK")) {
		t.Errorf("alice's archive: holds her work %v, bob's %v", bytes.Contains(all.Bytes(), []byte("ALICE-WORK")), bytes.Contains(all.Bytes(), []byte("BOB-WORK")))
	}
	// The list shows each caller theirs.
	if l := r.do("GET", "/api/v1/archives", "bob", nil); strings.Contains(string(l.Body), id) {
		t.Errorf("bob's list shows alice's archive")
	}
	if l := r.do("GET", "/api/v1/archives", "ada", nil); !strings.Contains(string(l.Body), id) {
		t.Errorf("ada's list lacks alice's archive")
	}
	// Requested, completed and downloaded: all in the audit log.
	ev := r.do("GET", "/api/v1/audit?action=archive.*", "ada", nil)
	for _, a := range []string{"archive.request", "archive.complete", "archive.download"} {
		if !strings.Contains(string(ev.Body), a) {
			t.Errorf("no %s event: %s", a, ev.Body)
		}
	}
}
