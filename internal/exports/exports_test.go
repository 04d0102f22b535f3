package exports

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/billing"
	"dictum/internal/blob"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// world is a store and blob dir in a temp dir, a timekeeper (alice), a biller (bill), an
// admin (ada), one matter and the export service, on 2026-11-20.
type world struct {
	t               *testing.T
	ctx             context.Context
	st              *store.Store
	firm            *settings.Service
	svc             *Service
	alice, bill, ad identity.Actor
	matter, client  string
	today           time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	var key [32]byte
	key[0] = 9
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "dictum.db"), store.Options{Key: &key, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), key)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, st: st, today: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	w.firm = settings.New(st)
	w.svc = New(st, blobs, w.firm, func() time.Time { return w.today })
	w.alice = w.user("alice", store.RoleTimekeeper)
	w.bill = w.user("bill", store.RoleBilling)
	w.ad = w.user("ada", store.RoleAdmin)
	m := &store.Matter{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones", Status: "open"}
	if err := st.CreateMatter(ctx, w.ad, m); err != nil {
		t.Fatal(err)
	}
	w.matter, w.client = m.ID, m.ClientID
	return w
}

func (w *world) user(name, role string) identity.Actor {
	w.t.Helper()
	u := &store.User{Username: name, Role: role, PasswordHash: "x"}
	if err := w.st.CreateUser(w.ctx, identity.Actor{Username: "test"}, u); err != nil {
		w.t.Fatal(err)
	}
	return identity.Actor{UserID: u.ID, Username: name, Role: role}
}

// entry creates one of alice's entries on the world's matter; approved unless draft.
func (w *world) entry(f entry.Fields, draft bool) string {
	w.t.Helper()
	f.MatterID, f.Billable = w.matter, true
	e, err := w.st.CreateEntry(w.ctx, w.alice, store.NewEntry{UserID: w.alice.UserID, Fields: f})
	if err != nil {
		w.t.Fatal(err)
	}
	if !draft {
		if _, err := w.st.Approve(w.ctx, w.alice, e.ID, w.today); err != nil {
			w.t.Fatal(err)
		}
	}
	return e.ID
}

func (w *world) status(id string) string {
	w.t.Helper()
	e, err := w.st.EntryByID(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return e.Status
}

func kind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestPreviewCSV(t *testing.T) {
	w := newWorld(t)
	id := w.entry(entry.Fields{Tenths: 3, Activity: "A103", Task: "L250", Date: "2026-11-18",
		Narrative: `=HYPERLINK("http://evil","x"), with "quotes", commas
and a newline`}, false)
	w.entry(entry.Fields{Tenths: 10, Activity: "A103", Date: "2026-11-18", Narrative: "Still a draft."}, true)
	preview, err := w.svc.PreviewCSV(w.ctx, w.bill, Params{From: "2026-11-01", To: "2026-11-30", BOM: true})
	if err != nil {
		t.Fatal(err)
	}
	if preview.Filename != "dictum-entries-2026-11-01_2026-11-30.csv" {
		t.Fatalf("filename: %q", preview.Filename)
	}
	var b strings.Builder
	b.Write(preview.Body)
	if !strings.HasPrefix(b.String(), "\xef\xbb\xbf") {
		t.Fatalf("no BOM: %q", b.String())
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\xef\xbb\xbf"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("rows: %d (only the approved entry must be exported): %v", len(recs), recs)
	}
	row := strings.Join(recs[1], "|")
	if !strings.Contains(row, "'=HYPERLINK") || !strings.Contains(row, id) || !strings.Contains(row, "0.3") || !strings.Contains(row, "2024-0412") {
		t.Fatalf("row: %v", recs[1])
	}
	// A preview marks nothing, and is audited.
	if st := w.status(id); st != entry.Approved {
		t.Fatalf("preview changed status: %v", st)
	}
	ev, err := w.st.AuditEvents(w.ctx, "export", "csv", 10)
	if err != nil || len(ev) != 1 || ev[0].Action != "export.preview" || ev[0].Actor != "bill" {
		t.Fatalf("preview audit: %v %v", ev, err)
	}
}

func TestRefusals(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name string
		p    Params
		want string
	}{
		{"bad date", Params{From: "nope"}, `dates must be YYYY-MM-DD, got "nope"`},
		{"reversed", Params{From: "2026-11-30", To: "2026-11-01"}, "to (2026-11-01) is before from (2026-11-30)"},
		{"status", Params{Status: "draft"}, "status must be approved, exported, synced or all"},
		{"mark exported", Params{Status: "exported", Mark: true}, "only approved entries can be marked exported"},
		{"mark all", Params{Status: "all", Mark: true}, "only approved entries can be marked exported"},
	} {
		_, err := w.svc.PreviewCSV(w.ctx, w.bill, c.p)
		if kind(err) != BadRequest || err.Error() != c.want {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := w.svc.PreviewLEDES(w.ctx, w.bill, Params{Matter: w.matter, From: "2026-11-01"}); kind(err) != BadRequest {
		t.Errorf("ledes without a period: %v", err)
	}
	if _, err := w.svc.PreviewLEDES(w.ctx, w.bill, Params{Matter: "mat_nope", From: "2026-11-01", To: "2026-11-30"}); kind(err) != BadRequest || err.Error() != `no matter "mat_nope"` {
		t.Errorf("unknown matter: %v", err)
	}
	if _, err := w.svc.PreviewLEDES(w.ctx, w.bill, Params{Matter: w.matter, From: "2026-11-01", To: "2026-11-30"}); kind(err) != NothingToExport {
		t.Errorf("no entries: %v", err)
	}
	if _, err := w.svc.Create(w.ctx, w.bill, Params{Format: "pdf"}); kind(err) != BadRequest || err.Error() != "format must be csv or ledes" {
		t.Errorf("format: %v", err)
	}
	if _, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatCSV}); kind(err) != NothingToExport {
		t.Errorf("empty kept export: %v", err)
	}
	if list, err := w.svc.List(w.ctx, identity.System(), 0); err != nil || len(list) != 0 {
		t.Errorf("a refused export was kept: %v %v", list, err)
	}
}

func TestLEDESRejectsThenKeepsAndLocks(t *testing.T) {
	w := newWorld(t)
	e1 := w.entry(entry.Fields{Tenths: 3, Activity: "A103", Task: "L250", Date: "2026-11-18", Narrative: "Drafted motion | to compel."}, false)
	e2 := w.entry(entry.Fields{Tenths: 15, Activity: "A104", Date: "2026-11-19", Narrative: "Reviewed production."}, false)
	q := Params{Matter: w.matter, From: "2026-11-01", To: "2026-11-30"}
	_, err := w.svc.PreviewLEDES(w.ctx, w.bill, q)
	var rej *billing.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("want a LEDES rejection, got %v", err)
	}
	fields := map[string]bool{}
	for _, p := range rej.Problems {
		fields[p.EntryID+" "+p.Field] = true
		fields[p.Field] = true
	}
	if !fields["LAW_FIRM_ID"] || !fields[e2+" LINE_ITEM_TASK_CODE"] || !fields["CLIENT_ID"] || !fields[e1+" TIMEKEEPER_NAME"] {
		t.Fatalf("rejection lacks the firm id, client id, e1's name or e2's task code: %v", rej.Problems)
	}
	for _, p := range rej.Problems {
		if p.Fix == "" {
			t.Errorf("problem without a fix: %+v", p)
		}
	}
	// Fix: firm id, a default rate, timekeeper ids and rate, the missing task code.
	id, rate := "12-3456789", 250.0
	if _, err := w.firm.Update(w.ctx, w.ad, settings.Patch{LEDESFirmID: &id, DefaultRate: &rate}); err != nil {
		t.Fatal(err)
	}
	tk, class, cents := "AL1", "Partner", int64(40000)
	pc := &cents
	first, last := "Alice", "Adams"
	if _, err := w.st.UpdateUser(w.ctx, w.ad, "alice", store.UserPatch{TimekeeperID: &tk, Classification: &class, RateCents: &pc,
		EBilling: &store.TimekeeperBillingPatch{FirstName: &first, LastName: &last}}); err != nil {
		t.Fatal(err)
	}
	ledesID := "SMITH-01"
	if _, err := w.st.UpdateClient(w.ctx, w.ad, w.client, store.ClientPatch{LEDESClientID: &ledesID}); err != nil {
		t.Fatal(err)
	}
	task := "L310"
	if _, err := w.st.Reopen(w.ctx, w.alice, e2); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.UpdateEntry(w.ctx, w.alice, e2, store.EntryPatch{Task: &task}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Approve(w.ctx, w.alice, e2, w.today); err != nil {
		t.Fatal(err)
	}
	q.InvoiceNumber = "INV-7"
	f, err := w.svc.PreviewLEDES(w.ctx, w.bill, q)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(f.Body), "\r\n")
	if lines[0] != "LEDES1998B[]" || len(strings.Split(lines[2], "|")) != 24 || !strings.HasSuffix(lines[2], "[]") {
		t.Fatalf("ledes: %q", f.Body)
	}
	if !strings.Contains(string(f.Body), "|720.00|") { // 0.3*400 + 1.5*400 = 720.00 invoice total
		t.Fatalf("total: %s", f.Body)
	}
	if strings.Contains(lines[2]+lines[3], "motion | to") {
		t.Fatal("pipe not cleaned")
	}
	if f.Filename != "dictum-entries-2026-11-01_2026-11-30.txt" || w.status(e1) != entry.Approved {
		t.Fatalf("preview: %q, e1 %s", f.Filename, w.status(e1))
	}
	// Kept export that marks: numbered, entries lock, the file opens again byte for byte.
	q.InvoiceNumber, q.Format, q.Mark = "", FormatLEDES, true
	x, err := w.svc.Create(w.ctx, w.bill, q)
	if err != nil {
		t.Fatal(err)
	}
	if !x.Marked || x.EntryCount != 2 || x.Hours != 1.8 || x.Filename != "ledes-DCT-000001.txt" || !strings.Contains(string(x.Params), `"invoice_number":"DCT-000001"`) {
		t.Fatalf("export: %+v %s", x, x.Params)
	}
	for _, id := range []string{e1, e2} {
		if st := w.status(id); st != entry.Exported {
			t.Fatalf("entry %s status %v", id, st)
		}
	}
	dl, err := w.svc.Open(w.ctx, w.bill, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || int64(len(body)) != dl.Size || !strings.HasPrefix(string(body), "LEDES1998B[]") || !strings.Contains(string(body), "DCT-000001") {
		t.Fatalf("download: %v %s", err, body)
	}
	// Nothing approved remains: a second marking export exports nothing.
	if _, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatCSV, From: "2026-11-01", To: "2026-11-30", Mark: true}); kind(err) != NothingToExport {
		t.Fatalf("second export: %v", err)
	}
	// The audit log names the exported entries and the download.
	ev, err := w.st.AuditEvents(w.ctx, "export", x.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range ev {
		actions[e.Action] = true
		if e.Action == "export.create" {
			ids, _ := e.Detail["entry_ids"].([]any)
			if len(ids) != 2 || ids[0] != e1 || ids[1] != e2 {
				t.Fatalf("audit entry ids: %v", e.Detail)
			}
		}
	}
	if !actions["export.create"] || !actions["export.download"] {
		t.Fatalf("audit: %v", ev)
	}
	if list, err := w.svc.List(w.ctx, identity.System(), 100); err != nil || len(list) != 1 {
		t.Fatalf("exports list: %v %v", list, err)
	}
}

func TestReadOnlyExportOfExportedEntries(t *testing.T) {
	w := newWorld(t)
	id := w.entry(entry.Fields{Tenths: 3, Activity: "A103", Date: "2026-11-18", Narrative: "Call."}, false)
	// A CSV export that marks, then a kept export that only reads the (now exported) entry.
	if _, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatCSV, Mark: true}); err != nil {
		t.Fatal(err)
	}
	x, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatCSV, Status: "all"})
	if err != nil || x.Marked || x.EntryCount != 1 || x.EntryIDs[0] != id {
		t.Fatalf("read-only export: %+v %v", x, err)
	}
}
