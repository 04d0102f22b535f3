package exports

import (
	"strings"
	"testing"

	"dictum/internal/entry"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// failAudit makes every audit write of the given action fail, as a full disk or a broken
// chain would.
func (w *world) failAudit(action string) {
	w.t.Helper()
	if _, err := w.st.DB().Exec(`CREATE TRIGGER "fail_` + action + `" BEFORE INSERT ON audit_events WHEN NEW.action = '` + action + `'
		BEGIN SELECT RAISE(ABORT, 'audit write failed'); END`); err != nil {
		w.t.Fatal(err)
	}
}

// A CSV preview is read to its end before it is returned: it holds no pooled database
// connection while a slow client downloads it.
func TestPreviewCSVHoldsNoConnection(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 50; i++ {
		w.entry(entry.Fields{Tenths: 2, Activity: "A103", Date: "2026-11-18", Narrative: "Reviewed the file."}, false)
	}
	preview, err := w.svc.PreviewCSV(w.ctx, w.bill, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.st.DB().Stats().InUse; n != 0 {
		t.Fatalf("%d database connection(s) still in use by a preview nobody has read yet", n)
	}
	if got := strings.Count(string(preview.Body), "\n"); got != 51 {
		t.Fatalf("preview has %d lines, want a header and 50 rows", got)
	}
}

// A preview past MaxPreviewBytes is refused with a way out, not truncated.
func TestPreviewCSVTooLarge(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 20; i++ {
		w.entry(entry.Fields{Tenths: 2, Activity: "A103", Date: "2026-11-18", Narrative: strings.Repeat("Long narrative. ", 20)}, false)
	}
	old := MaxPreviewBytes
	MaxPreviewBytes = 2 << 10
	defer func() { MaxPreviewBytes = old }()
	_, err := w.svc.PreviewCSV(w.ctx, w.bill, Params{})
	if kind(err) != TooLarge || !strings.Contains(err.Error(), "kept export") {
		t.Fatalf("oversized preview: %v", err)
	}
	if n := w.st.DB().Stats().InUse; n != 0 {
		t.Fatalf("%d database connection(s) left in use", n)
	}
}

// Previews and downloads disclose billing data, so their audit record is a precondition:
// when it cannot be written, the caller gets an error and no file.
func TestExportAuditFailsClosed(t *testing.T) {
	w := newWorld(t)
	w.ledesReady()
	w.entry(entry.Fields{Tenths: 3, Activity: "A103", Task: "L250", Date: "2026-11-18", Narrative: "Drafted the motion."}, false)
	x, err := w.svc.Create(w.ctx, w.bill, Params{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	w.failAudit("export.preview")
	if f, err := w.svc.PreviewCSV(w.ctx, w.bill, Params{}); err == nil || f != nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("csv preview without its audit record: %v %v", f, err)
	}
	if f, err := w.svc.PreviewLEDES(w.ctx, w.bill, Params{Matter: w.matter, From: "2026-11-01", To: "2026-11-30"}); err == nil || f != nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("ledes preview without its audit record: %v %v", f, err)
	}
	w.failAudit("export.download")
	if dl, err := w.svc.Open(w.ctx, w.bill, x.ID); err == nil || dl != nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("download without its audit record: %v %v", dl, err)
	}
}

// ledesReady sets what a valid LEDES invoice needs: the firm id, a rate, alice's
// timekeeper id, classification and name, the client's LEDES id.
func (w *world) ledesReady() {
	w.t.Helper()
	id, rate := "12-3456789", 250.0
	if _, err := w.firm.Update(w.ctx, w.ad, settings.Patch{LEDESFirmID: &id, DefaultRate: &rate}); err != nil {
		w.t.Fatal(err)
	}
	tk, class := "AL1", "Partner"
	first, last := "Alice", "Adams"
	if _, err := w.st.UpdateUser(w.ctx, w.ad, "alice", store.UserPatch{TimekeeperID: &tk, Classification: &class,
		EBilling: &store.TimekeeperBillingPatch{FirstName: &first, LastName: &last}}); err != nil {
		w.t.Fatal(err)
	}
	ledesID := "SMITH-01"
	if _, err := w.st.UpdateClient(w.ctx, w.ad, w.client, store.ClientPatch{LEDESClientID: &ledesID}); err != nil {
		w.t.Fatal(err)
	}
}

// File names made from user input (invoice numbers) carry no path, quote, control or
// bidi characters.
func TestSafeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"DCT-000001":                "DCT-000001",
		`../../etc/passwd`:          "-..-etc-passwd",
		`INV"; filename=evil.html`:  "INV-- filename=evil.html",
		"Ré\u202egnp.exe":           "Régnp.exe",
		"a\r\nb\x00c":               "abc",
		"...":                       "download",
		"":                          "download",
		strings.Repeat("x", 300):    strings.Repeat("x", 120),
		"Rechnung 2026/11 – Müller": "Rechnung 2026-11 – Müller",
		`C:\Users\x`:                "C--Users-x",
	} {
		if got := SafeFilename(in); got != want {
			t.Errorf("SafeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
