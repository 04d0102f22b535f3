package web

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
)

func TestAuditTrailAPIAndCSV(t *testing.T) {
	r := newRig(t)
	m := r.matter("2026-9", "Client", "Matter")
	e := r.entry("alice", map[string]any{"matter": m, "date": "2026-11-20", "hours": 0.3, "narrative": "=HYPERLINK(\"x\")"})
	id := e["id"].(string)
	if res := r.do("PATCH", "/api/v1/entries/"+id, "alice", map[string]any{"hours": 0.5}); res.Status != 200 {
		t.Fatalf("edit: %d %s", res.Status, res.Body)
	}
	r.entry("bob", map[string]any{"date": "2026-11-20", "hours": 0.2, "narrative": "Bob."})

	res := r.do("GET", "/api/v1/audit?user=alice&action=entry.update", "ada", nil)
	if res.Status != 200 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	evs := res.json(t)["events"].([]any)
	if len(evs) != 1 {
		t.Fatalf("want alice's one edit, got %s", res.Body)
	}
	ch := evs[0].(map[string]any)["changes"].([]any)[0].(map[string]any)
	if ch["field"] != "hours" || ch["from"] != "0.3" || ch["to"] != "0.5" {
		t.Errorf("changes: %v", ch)
	}
	if res := r.do("GET", "/api/v1/audit?matter="+m+"&action=entry.", "ada", nil); strings.Contains(string(res.Body), "bob") {
		t.Errorf("matter filter shows bob's entry without a matter: %s", res.Body)
	}
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=2026-11-21&to=2026-11-20", "before=x", "object_id=1"} {
		if res := r.do("GET", "/api/v1/audit?"+q, "ada", nil); res.Status != 400 {
			t.Errorf("?%s: %d, want 400", q, res.Status)
		}
	}
	// Paging.
	p1 := r.do("GET", "/api/v1/audit?limit=2", "ada", nil).json(t)
	next := p1["next_before"].(float64)
	p2 := r.do("GET", "/api/v1/audit?limit=2&before="+strconv.FormatInt(int64(next), 10), "ada", nil).json(t)
	if first := p2["events"].([]any)[0].(map[string]any)["id"].(float64); first >= next {
		t.Errorf("page 2 starts at %v, not before %v", first, next)
	}

	// CSV of the filtered view: injection-safe, the download itself audited.
	c := r.do("GET", "/api/v1/audit.csv?user=alice", "ada", nil)
	if c.Status != 200 || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v", c.Status, c.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows) < 3 || rows[0][0] != "id" {
		t.Fatalf("csv: %v %q", err, c.Body)
	}
	for _, row := range rows[1:] {
		if row[2] != "alice" && !strings.Contains(row[8], "alice") && row[5] != "alice" {
			// user filter: alice acted, or the object is hers (her account, entries, token)
			if row[4] != "entry" && row[4] != "token" {
				t.Errorf("row not about alice: %v", row)
			}
		}
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("formula cell %q", cell)
			}
		}
	}
	if !strings.Contains(string(c.Body), `hours: ""0.3"" -> ""0.5""`) {
		t.Errorf("the CSV lacks the edit's diff:\n%s", c.Body)
	}
	if ev := r.do("GET", "/api/v1/audit?action=audit.export", "ada", nil); !strings.Contains(string(ev.Body), `"user":"alice"`) {
		t.Errorf("the CSV download is not audited with its filter: %s", ev.Body)
	}
	for _, who := range []string{"bill", "alice"} {
		if res := r.do("GET", "/api/v1/audit.csv", who, nil); res.Status != 403 {
			t.Errorf("%s downloading the audit CSV: %d", who, res.Status)
		}
	}

	// The admin page: same filters, the diff shown.
	pg := r.do("GET", "/admin/audit?user=alice&action=entry.update", "ada", nil, "Accept", "text/html")
	body := string(pg.Body)
	if pg.Status != 200 || !strings.Contains(body, "<strong>hours</strong>: <del>0.3</del> &rarr; <ins>0.5</ins>") ||
		!strings.Contains(body, `href="/api/v1/audit.csv?action=entry.update&amp;user=alice"`) {
		t.Errorf("page: %d\n%s", pg.Status, body)
	}
	if pg := r.do("GET", "/admin/audit?from=nonsense", "ada", nil, "Accept", "text/html"); pg.Status != 200 || !strings.Contains(string(pg.Body), "from must be a date") {
		t.Errorf("bad filter on the page: %d", pg.Status)
	}
}
