package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// clientOf returns the client_id GET /api/v1/matters/{id} names.
func clientOf(t *testing.T, r *rig, matter string) string {
	t.Helper()
	return r.do("GET", "/api/v1/matters/"+matter, "bill", nil).json(t)["client_id"].(string)
}

func TestClientProfileAPI(t *testing.T) {
	r := newRig(t)
	m := r.matter("2026-001", "Acme Corp", "Acme v. Beta")
	id := clientOf(t, r, m)
	path := "/api/v1/clients/" + id
	c := r.do("GET", path, "bill", nil).json(t)
	if c["name"] != "Acme Corp" || c["ledes_client_id"] != "" || c["ebilling"] != false || c["required_codes"] != "both" || c["code_set"] != "utbms-litigation" {
		t.Fatalf("new client: %v", c)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"ebilling": true}, "ledes_client_id: is missing"},
		{map[string]any{"ledes_client_id": "ACME-CORPORATION-0001"}, "ledes_client_id: is 21 characters"},
		{map[string]any{"ledes_client_id": "Acmé"}, "ledes_client_id:"},
		{map[string]any{"required_codes": "expense"}, "required_codes:"},
		{map[string]any{"code_set": "custom"}, "code_set: import the client's code list first"},
		{map[string]any{"invoice_description": "{nope}"}, "invoice_description:"},
	} {
		res := r.do("PATCH", path, "bill", bad.body)
		if res.Status != 422 || !strings.Contains(string(res.Body), bad.field) {
			t.Errorf("%v: %d %s", bad.body, res.Status, res.Body)
		}
	}
	if c := r.do("GET", path, "bill", nil).json(t); c["ledes_client_id"] != "" || c["ebilling"] != false {
		t.Fatalf("a refused patch changed the client: %v", c)
	}
	res := r.do("PATCH", path, "bill", map[string]any{"ledes_client_id": "ACME01", "ebilling": true, "required_codes": "task", "invoice_description": "{client}: {matter_name}"})
	if res.Status != 200 || res.json(t)["ledes_client_id"] != "ACME01" || res.json(t)["required_codes"] != "task" {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	// A custom code list: CSV body (bad lines named by number), or JSON {"csv"}.
	if res := r.do("POST", path+"/codes", "bill", []byte("task,G100,Advice\ntask,G 1,Bad\n"), "Content-Type", "text/csv"); res.Status != 422 || !strings.Contains(string(res.Body), "line 2") {
		t.Fatalf("bad codes: %d %s", res.Status, res.Body)
	}
	res = r.do("POST", path+"/codes", "bill", []byte("kind,code,description\ntask,G100,Advice\ntask,G200,Negotiation\n"), "Content-Type", "text/csv")
	if res.Status != 200 || res.json(t)["custom_task_codes"].(float64) != 2 || len(res.json(t)["custom_codes"].([]any)) != 2 {
		t.Fatalf("codes: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", path+"/codes", "bill", map[string]any{"csv": "task,G300,Other\n"}); res.Status != 200 || res.json(t)["custom_task_codes"].(float64) != 1 {
		t.Fatalf("codes as JSON: %d %s", res.Status, res.Body)
	}
	if res := r.do("PATCH", path, "bill", map[string]any{"code_set": "custom"}); res.Status != 200 {
		t.Fatalf("custom set: %d %s", res.Status, res.Body)
	}
	// An entry on the client's matter may carry its own code.
	e := r.entry("alice", map[string]any{"matter": m, "hours": 0.5, "activity": "A103", "task": "g300", "date": "2026-11-18", "narrative": "Advice."})
	if e["task"] != "G300" {
		t.Fatalf("entry with the client's own code: %v", e)
	}
	if res := r.do("GET", "/api/v1/clients/cli_nope", "bill", nil); res.Status != 404 {
		t.Fatalf("unknown client: %d", res.Status)
	}
	list := r.do("GET", "/api/v1/clients", "bill", nil).json(t)["clients"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["ledes_client_id"] != "ACME01" {
		t.Fatalf("list: %v", list)
	}
	ev, _ := r.st.AuditEvents(context.Background(), "client", id, 10)
	if len(ev) < 3 {
		t.Fatalf("audit: %d events", len(ev))
	}
	// The client's own matter id travels with the matter API (<= 20 characters).
	if res := r.do("PATCH", "/api/v1/matters/"+m, "bill", map[string]any{"client_matter_id": strings.Repeat("M", 21)}); res.Status != 422 || !strings.Contains(string(res.Body), "client_matter_id") {
		t.Fatalf("long client matter id: %d %s", res.Status, res.Body)
	}
	if res := r.do("PATCH", "/api/v1/matters/"+m, "bill", map[string]any{"client_matter_id": "ACME-LIT-7"}); res.Status != 200 || res.json(t)["client_matter_id"] != "ACME-LIT-7" {
		t.Fatalf("client matter id: %d %s", res.Status, res.Body)
	}
}

func TestTimekeeperEBillingAPI(t *testing.T) {
	r := newRig(t)
	cid := clientOf(t, r, r.matter("2026-001", "Acme Corp", "Acme v. Beta"))
	res := r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"first_name": "Alice", "last_name": "Adams", "classification": "partner",
		"timekeeper_id": "AA1", "client_rates": []any{map[string]any{"client_id": cid, "rate": 375, "timekeeper_id": "ACME-17"}}})
	if res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	u := res.json(t)
	rates, _ := u["client_rates"].([]any)
	if u["first_name"] != "Alice" || u["last_name"] != "Adams" || u["classification"] != "PT" || u["timekeeper_id"] != "AA1" || len(rates) != 1 ||
		rates[0].(map[string]any)["rate_cents"].(float64) != 37500 || rates[0].(map[string]any)["timekeeper_id"] != "ACME-17" {
		t.Fatalf("user: %v", u)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"last_name": "Adams, Jr", "classification": "AS"}, "last_name:"},
		{map[string]any{"classification": "senior"}, "classification:"},
		{map[string]any{"timekeeper_id": "TIMEKEEPER-ID-TOO-LONG"}, "timekeeper_id:"},
		{map[string]any{"client_rates": []any{map[string]any{"client_id": "cli_nope", "rate": 1}}}, "no client"},
		{map[string]any{"client_rates": []any{map[string]any{"client_id": cid, "rate": -5}}}, "client_rates:"},
	} {
		res := r.do("PATCH", "/api/v1/users/alice", "ada", bad.body)
		if res.Status != 422 || !strings.Contains(string(res.Body), bad.field) {
			t.Errorf("%v: %d %s", bad.body, res.Status, res.Body)
		}
	}
	var alice map[string]any
	for _, x := range r.do("GET", "/api/v1/users", "bill", nil).json(t)["users"].([]any) {
		if x.(map[string]any)["username"] == "alice" {
			alice = x.(map[string]any)
		}
	}
	if alice["last_name"] != "Adams" || alice["classification"] != "PT" || len(alice["client_rates"].([]any)) != 1 {
		t.Fatalf("a refused patch changed alice: %v", alice)
	}
	res = r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"client_rates": []any{map[string]any{"client_id": cid, "rate": nil}}})
	if res.Status != 200 || len(res.json(t)["client_rates"].([]any)) != 0 {
		t.Fatalf("remove client rate: %d %s", res.Status, res.Body)
	}
}

func TestLEDESCheckAPIAndInvoiceNumbering(t *testing.T) {
	r := newRig(t)
	m := r.matter("2026-001", "Acme Corp", "Acme v. Beta")
	approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 1.5, "activity": "A103", "task": "L210", "date": "2026-11-18", "narrative": "Drafted “motion” for Müller."})
	q := "/api/v1/exports/ledes/check?matter=" + m + "&from=2026-11-01&to=2026-11-30"
	chk := r.do("GET", q, "bill", nil).json(t)
	if chk["ok"] != false || chk["next_invoice_number"] != "DCT-000001" {
		t.Fatalf("check: %v", chk)
	}
	fields := map[string]string{}
	for _, p := range chk["problems"].([]any) {
		pm := p.(map[string]any)
		if pm["fix"] == "" {
			t.Errorf("problem without fix: %v", pm)
		}
		fields[pm["field"].(string)] = pm["fix"].(string)
	}
	for _, f := range []string{"CLIENT_ID", "LAW_FIRM_ID", "TIMEKEEPER_NAME", "LINE_ITEM_UNIT_COST"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("no %s problem: %v", f, chk["problems"])
		}
	}
	if !strings.Contains(fields["CLIENT_ID"], "PATCH /api/v1/clients/") {
		t.Errorf("client id fix: %q", fields["CLIENT_ID"])
	}
	// Fix everything; choose the firm's numbering.
	r.do("PATCH", "/api/v1/clients/"+clientOf(t, r, m), "bill", map[string]any{"ledes_client_id": "ACME01"})
	r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"first_name": "Alice", "last_name": "Adams", "classification": "PT", "timekeeper_id": "AA1", "rate": 400})
	s := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"ledes_law_firm_id": "12-3456789", "invoice_prefix": "SMF-", "invoice_next_number": 1041})
	if s.Status != 200 || s.json(t)["next_invoice_number"] != "SMF-001041" || s.json(t)["invoice_prefix"] != "SMF-" {
		t.Fatalf("settings: %d %s", s.Status, s.Body)
	}
	if res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"invoice_prefix": "WAY-TOO-LONG-PREFIX"}); res.Status != 422 {
		t.Fatalf("long prefix: %d", res.Status)
	}
	chk = r.do("GET", q, "bill", nil).json(t)
	if chk["ok"] != true || chk["invoice_number"] != "SMF-001041" {
		t.Fatalf("check after fixes: %v", chk)
	}
	res := r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "ledes", "matter": m, "from": "2026-11-01", "to": "2026-11-30"})
	if res.Status != 201 || res.json(t)["export"].(map[string]any)["filename"] != "ledes-SMF-001041.txt" {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	body := string(r.do("GET", res.json(t)["download"].(string), "bill", nil).Body)
	if !strings.Contains(body, `|Drafted "motion" for Muller.|`) || !strings.Contains(body, "|Adams, Alice|PT|") {
		t.Fatalf("file: %s", body)
	}
	// Never reused: the sequence cannot go back, the same number twice for one client is refused.
	if res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"invoice_next_number": 7}); res.Status != 422 || !strings.Contains(string(res.Body), "never reused") {
		t.Fatalf("sequence back: %d %s", res.Status, res.Body)
	}
	res = r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "ledes", "matter": m, "from": "2026-11-01", "to": "2026-11-30", "invoice_number": "SMF-001041"})
	if res.Status != 422 || !strings.Contains(string(res.Body), "already sent to client Acme Corp") {
		t.Fatalf("duplicate number: %d %s", res.Status, res.Body)
	}
}

func TestEBillingPages(t *testing.T) {
	w := newUIWorld(t)
	ctx := context.Background()
	bc, bcsrf := w.login("biller")
	m := w.do("POST", "/api/v1/matters", "boss", map[string]any{"number": "2026-001", "client": "Acme Corp", "name": "Acme v. Beta"}).json(t)["id"].(string)
	mm, _ := w.st.MatterByID(ctx, m)
	res := w.req("GET", "/admin/clients", bc, nil)
	if res.Status != 200 || !strings.Contains(res.Body, `href="/admin/clients/`+mm.ClientID+`"`) {
		t.Fatalf("clients page: %d %s", res.Status, res.Body)
	}
	if res := w.req("GET", "/admin/clients/"+mm.ClientID, bc, nil); res.Status != 200 || !strings.Contains(res.Body, `name="ledes_client_id"`) {
		t.Fatalf("client page: %d", res.Status)
	}
	res = w.req("POST", "/admin/clients/"+mm.ClientID, bc, url.Values{"_csrf": {bcsrf}, "ledes_client_id": {""}, "ebilling": {"on"}, "required_codes": {"both"}, "code_set": {"utbms-litigation"}})
	if res.Status != 422 || !strings.Contains(res.Body, "Not saved: ledes_client_id: is missing") {
		t.Fatalf("bad profile: %d %s", res.Status, res.Body)
	}
	res = w.req("POST", "/admin/clients/"+mm.ClientID, bc, url.Values{"_csrf": {bcsrf}, "ledes_client_id": {"ACME01"}, "ebilling": {"on"}, "required_codes": {"task"}, "code_set": {"utbms-litigation"}})
	if res.Status != 303 {
		t.Fatalf("save profile: %d %s", res.Status, res.Body)
	}
	if c, _ := w.st.ClientByID(ctx, mm.ClientID); c.LEDESClientID != "ACME01" || !c.EBilling || c.RequiredCodes != "task" {
		t.Fatalf("profile: %+v", c)
	}
	if res := w.req("POST", "/admin/clients/"+mm.ClientID+"/codes", bc, url.Values{"_csrf": {bcsrf}, "csv": {"task,G100,Advice\n"}}); res.Status != 303 {
		t.Fatalf("codes: %d %s", res.Status, res.Body)
	}
	res = w.req("POST", "/admin/clients/"+mm.ClientID, bc, url.Values{"_csrf": {bcsrf}, "ledes_client_id": {"ACME01"}, "ebilling": {"on"}, "required_codes": {"task"}, "code_set": {"custom"}})
	if res.Status != 303 {
		t.Fatalf("custom set: %d %s", res.Status, res.Body)
	}
	tc, _ := w.login("tk")
	if res := w.req("GET", "/inbox", tc, nil); res.Status != 200 || !strings.Contains(res.Body, `<option value="G100">G100 Advice (Acme Corp)</option>`) {
		t.Fatalf("inbox does not offer the client's code: %d", res.Status)
	}
	ac, acsrf := w.login("boss")
	res = w.req("GET", "/admin/users/tk/ebilling", ac, nil)
	if res.Status != 200 || !strings.Contains(res.Body, `name="rate-`+mm.ClientID+`"`) {
		t.Fatalf("timekeeper page: %d %s", res.Status, res.Body)
	}
	res = w.req("POST", "/admin/users/tk/ebilling", ac, url.Values{"_csrf": {acsrf}, "first_name": {"Tom"}, "last_name": {"Kay, Jr"}, "classification": {"AS"}})
	if res.Status != 422 || !strings.Contains(res.Body, "Not saved: last_name") {
		t.Fatalf("bad name: %d %s", res.Status, res.Body)
	}
	res = w.req("POST", "/admin/users/tk/ebilling", ac, url.Values{"_csrf": {acsrf}, "first_name": {"Tom"}, "last_name": {"Kay"}, "classification": {"AS"},
		"timekeeper_id": {"TK1"}, "rate-" + mm.ClientID: {"310"}, "tkid-" + mm.ClientID: {"ACME-TK"}})
	if res.Status != 303 {
		t.Fatalf("save timekeeper: %d %s", res.Status, res.Body)
	}
	tb, _ := w.st.TimekeeperBillingOf(ctx, "tk")
	if tb.LastName != "Kay" || len(tb.ClientRates) != 1 || *tb.ClientRates[0].RateCents != 31000 || tb.ClientRates[0].TimekeeperID != "ACME-TK" {
		t.Fatalf("timekeeper: %+v", tb)
	}
	// Saving the same form again writes no client rate (the audit names only changes).
	res = w.req("POST", "/admin/users/tk/ebilling", ac, url.Values{"_csrf": {acsrf}, "first_name": {"Tom"}, "last_name": {"Kay"}, "classification": {"AS"},
		"timekeeper_id": {"TK1"}, "rate-" + mm.ClientID: {"310.00"}, "tkid-" + mm.ClientID: {"ACME-TK"}})
	ev, _ := w.st.AuditEvents(ctx, "user", "tk", 1)
	if res.Status != 303 || len(ev) != 1 || ev[0].Detail["client_rates"] != nil {
		t.Fatalf("unchanged save: %d %+v", res.Status, ev)
	}
	// The matter CSV import carries the client's matter id.
	res = w.req("POST", "/admin/matters/import/confirm", bc, url.Values{"_csrf": {bcsrf}, "csv": {"number,client,name,client_matter_id\n2026-050,Acme Corp,Acme lease,ACME-RE-9\n"}})
	if res.Status != 200 || !strings.Contains(res.Body, "Imported 1 matter(s)") {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	if ms, _ := w.st.Matters(ctx, "", "2026-050"); len(ms) != 1 || ms[0].ClientMatterID != "ACME-RE-9" {
		t.Fatalf("imported matter: %+v", ms)
	}
	// The billing page checks the LEDES invoice of the filtered matter and period.
	w.do("POST", "/api/v1/entries", "tk", map[string]any{"matter": m, "hours": 1, "activity": "A103", "date": "2026-11-18", "narrative": "Drafted."})
	list := w.do("GET", "/api/v1/entries", "tk", nil).json(t)["entries"].([]any)
	w.do("POST", "/api/v1/entries/"+list[0].(map[string]any)["id"].(string)+"/approve", "tk", nil)
	res = w.req("GET", "/billing?matter="+m+"&from=2026-11-01&to=2026-11-30", bc, nil)
	if res.Status != 200 || !strings.Contains(res.Body, `id="ledes-check"`) || !strings.Contains(res.Body, "LINE_ITEM_TASK_CODE") ||
		!strings.Contains(res.Body, "client Acme Corp requires") || !strings.Contains(res.Body, "DCT-000001") {
		t.Fatalf("billing check: %d %s", res.Status, res.Body)
	}
}

// Creating a user takes a valid timekeeper id; the e-billing fields are refused (not
// silently dropped) and set with PATCH.
func TestCreateUserEBillingFields(t *testing.T) {
	r := newRig(t)
	if res := r.do("POST", "/api/v1/users", "ada", map[string]any{"username": "carol", "role": "timekeeper", "first_name": "Carol"}); res.Status != 422 ||
		!strings.Contains(string(res.Body), "PATCH /api/v1/users/{username}") {
		t.Fatalf("names on create: %d %s", res.Status, res.Body)
	}
	if res := r.do("POST", "/api/v1/users", "ada", map[string]any{"username": "carol", "role": "timekeeper", "timekeeper_id": strings.Repeat("C", 21)}); res.Status != 422 ||
		!strings.Contains(string(res.Body), "timekeeper_id") {
		t.Fatalf("long timekeeper id: %d %s", res.Status, res.Body)
	}
	if u, err := r.st.UserByName(context.Background(), "carol"); err == nil {
		t.Fatalf("a refused create made the user: %+v", u)
	}
	if res := r.do("POST", "/api/v1/users", "ada", map[string]any{"username": "carol", "role": "timekeeper", "timekeeper_id": " CC3 "}); res.Status != 201 ||
		res.json(t)["user"].(map[string]any)["timekeeper_id"] != "CC3" {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
}
