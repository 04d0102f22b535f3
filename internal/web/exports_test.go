package web

import (
	"encoding/csv"
	"strings"
	"testing"
)

func approvedEntry(t *testing.T, r *rig, as string, fields map[string]any) string {
	t.Helper()
	e := r.entry(as, fields)
	id := e["id"].(string)
	if res := r.do("POST", "/api/v1/entries/"+id+"/approve", as, nil); res.Status != 200 {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	return id
}

func TestCSVExport(t *testing.T) {
	r := newRig(t)
	m := r.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	id := approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 0.3, "activity": "A103", "task": "L250", "date": "2026-11-18",
		"narrative": `=HYPERLINK("http://evil","x"), with "quotes", commas
and a newline`})
	r.entry("alice", map[string]any{"matter": m, "hours": 1, "activity": "A103", "narrative": "Still a draft."})
	if res := r.do("GET", "/api/v1/exports/entries.csv", "alice", nil); res.Status != 403 {
		t.Fatalf("timekeeper export: %d", res.Status)
	}
	// The CSV streams as a download (its rows are tested in internal/exports).
	res := r.do("GET", "/api/v1/exports/entries.csv?from=2026-11-01&to=2026-11-30&bom=1", "bill", nil)
	if res.Status != 200 || !strings.HasPrefix(string(res.Body), "\xef\xbb\xbf") {
		t.Fatalf("csv: %d %q", res.Status, res.Body)
	}
	assertDownload(t, res, "text/csv; charset=utf-8", "dictum-entries-2026-11-01_2026-11-30.csv")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res.Body), "\xef\xbb\xbf"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !strings.Contains(strings.Join(recs[1], "|"), id) {
		t.Fatalf("rows: %d (only the approved entry must be exported): %v", len(recs), recs)
	}
	if res := r.do("GET", "/api/v1/exports/entries.csv", "bill", nil); res.Status != 200 || strings.HasPrefix(string(res.Body), "\xef\xbb\xbf") {
		t.Fatalf("csv without bom: %d %q", res.Status, res.Body)
	}
	// A preview marks nothing.
	if e := r.do("GET", "/api/v1/entries/"+id, "alice", nil).json(t); e["status"] != "approved" {
		t.Fatalf("preview changed status: %v", e["status"])
	}
	if res := r.do("GET", "/api/v1/exports/entries.csv?from=nope", "bill", nil); res.Status != 400 || res.errCode(t) != "bad_request" {
		t.Fatalf("bad date: %d", res.Status)
	}
}

// assertDownload checks the headers of an export download.
func assertDownload(t *testing.T, res resp, contentType, filename string) {
	t.Helper()
	if res.Header.Get("Content-Type") != contentType || res.Header.Get("Content-Disposition") != `attachment; filename="`+filename+`"; filename*=UTF-8''`+filename ||
		!strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "; sandbox") ||
		res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("download headers: %v", res.Header)
	}
}

func TestLEDESExportRejectsThenSucceeds(t *testing.T) {
	r := newRig(t)
	m := r.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	e1 := approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 0.3, "activity": "A103", "task": "L250", "date": "2026-11-18", "narrative": "Drafted motion | to compel."})
	e2 := approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 1.5, "activity": "A104", "date": "2026-11-19", "narrative": "Reviewed production."})
	q := "/api/v1/exports/entries.ledes?matter=" + m + "&from=2026-11-01&to=2026-11-30"
	res := r.do("GET", q, "bill", nil)
	if res.Status != 422 || res.errCode(t) != "ledes_rejected" {
		t.Fatalf("want 422, got %d %s", res.Status, res.Body)
	}
	body := string(res.Body)
	for _, want := range []string{e2, "LAW_FIRM_ID", "ledes_rejected", `"problems":[`, "PATCH /api/v1/settings"} {
		if !strings.Contains(body, want) {
			t.Errorf("rejection lacks %q: %s", want, body)
		}
	}
	// Fix: firm id, a default rate, timekeeper ids, the missing task code.
	r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"ledes_law_firm_id": "12-3456789", "default_rate": 250})
	if res := r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"timekeeper_id": "AL1", "classification": "Partner", "rate": 400,
		"first_name": "Alice", "last_name": "Adams"}); res.Status != 200 {
		t.Fatalf("patch user: %d %s", res.Status, res.Body)
	}
	client := r.do("GET", "/api/v1/matters/"+m, "bill", nil).json(t)["client_id"].(string)
	if res := r.do("PATCH", "/api/v1/clients/"+client, "bill", map[string]any{"ledes_client_id": "SMITH-01"}); res.Status != 200 {
		t.Fatalf("patch client: %d %s", res.Status, res.Body)
	}
	if res := r.do("PATCH", "/api/v1/users/alice", "bill", map[string]any{"rate": 1}); res.Status != 403 {
		t.Fatalf("billing patches user: %d", res.Status)
	}
	r.do("POST", "/api/v1/entries/"+e2+"/reopen", "alice", nil)
	r.do("PATCH", "/api/v1/entries/"+e2, "alice", map[string]any{"task": "L310"})
	r.do("POST", "/api/v1/entries/"+e2+"/approve", "alice", nil)
	// The file's lines are tested in internal/exports.
	res = r.do("GET", q+"&invoice_number=INV-7", "bill", nil)
	if res.Status != 200 || !strings.HasPrefix(string(res.Body), "LEDES1998B[]") || !strings.Contains(string(res.Body), "INV-7") {
		t.Fatalf("ledes: %d %s", res.Status, res.Body)
	}
	assertDownload(t, res, "text/plain; charset=utf-8", "dictum-entries-2026-11-01_2026-11-30.txt")
	// Kept export that marks: entries lock; the file downloads again byte for byte.
	res = r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "ledes", "matter": m, "from": "2026-11-01", "to": "2026-11-30", "mark": true})
	if res.Status != 201 {
		t.Fatalf("kept export: %d %s", res.Status, res.Body)
	}
	x := res.json(t)["export"].(map[string]any)
	if x["marked"] != true || x["entry_count"].(float64) != 2 {
		t.Fatalf("export: %v", x)
	}
	for _, id := range []string{e1, e2} {
		e := r.do("GET", "/api/v1/entries/"+id, "alice", nil).json(t)
		if e["status"] != "exported" {
			t.Fatalf("entry %s status %v", id, e["status"])
		}
		if res := r.do("POST", "/api/v1/entries/"+id+"/reopen", "alice", nil); res.Status != 409 {
			t.Fatalf("reopen exported: %d", res.Status)
		}
		if res := r.do("DELETE", "/api/v1/entries/"+id, "alice", nil); res.Status != 409 {
			t.Fatalf("delete exported: %d", res.Status)
		}
	}
	dl := r.do("GET", "/api/v1/exports/"+x["id"].(string)+"/download", "bill", nil)
	if dl.Status != 200 || !strings.HasPrefix(string(dl.Body), "LEDES1998B[]") || !strings.Contains(string(dl.Body), "DCT-000001") {
		t.Fatalf("download: %d %s", dl.Status, dl.Body)
	}
	assertDownload(t, dl, "text/plain; charset=utf-8", "ledes-DCT-000001.txt")
	if res := r.do("GET", "/api/v1/exports/"+x["id"].(string)+"/download", "alice", nil); res.Status != 403 {
		t.Fatalf("timekeeper download: %d", res.Status)
	}
	// Nothing approved remains: a second marking export exports nothing.
	res = r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "csv", "from": "2026-11-01", "to": "2026-11-30", "mark": true})
	if res.Status != 422 || res.errCode(t) != "nothing_to_export" {
		t.Fatalf("second export: %d %s", res.Status, res.Body)
	}
	// The audit log names the exported entries.
	ev := r.do("GET", "/api/v1/audit?object_type=export&object_id="+x["id"].(string), "ada", nil)
	if !strings.Contains(string(ev.Body), e1) || !strings.Contains(string(ev.Body), e2) {
		t.Fatalf("audit: %s", ev.Body)
	}
	if list := r.do("GET", "/api/v1/exports", "bill", nil).json(t); len(list["exports"].([]any)) != 1 {
		t.Fatalf("exports list: %v", list)
	}
}
