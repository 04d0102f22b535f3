package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/billing"
	"dictum/internal/entry"
	"dictum/internal/store"
)

// exportParams are the filters of an export, from a query string or a JSON body.
type exportParams struct {
	Format        string `json:"format"`
	From          string `json:"from"`
	To            string `json:"to"`
	Matter        string `json:"matter"`
	Timekeeper    string `json:"timekeeper"`
	Status        string `json:"status"`
	Mark          bool   `json:"mark"`
	InvoiceNumber string `json:"invoice_number"`
	BOM           bool   `json:"bom"`
}

func (p *exportParams) check(needMatter bool) error {
	for _, d := range []string{p.From, p.To} {
		if d != "" && !validDate(d) {
			return errf(400, "bad_request", "dates must be YYYY-MM-DD, got %q", d)
		}
	}
	if p.From != "" && p.To != "" && p.To < p.From {
		return errf(400, "bad_request", "to (%s) is before from (%s)", p.To, p.From)
	}
	if needMatter && (p.Matter == "" || p.From == "" || p.To == "") {
		return errf(400, "bad_request", "a LEDES invoice needs matter, from and to (one matter and one billing period)")
	}
	return nil
}

func (p *exportParams) filter() (store.ExportFilter, error) {
	f := store.ExportFilter{From: p.From, To: p.To, Timekeeper: p.Timekeeper, MatterID: p.Matter}
	switch p.Status {
	case "", entry.Approved:
	case entry.Exported, entry.Synced:
		if p.Mark {
			return f, errf(400, "bad_request", "only approved entries can be marked exported")
		}
		f.Statuses = []string{p.Status}
	case "all":
		if p.Mark {
			return f, errf(400, "bad_request", "only approved entries can be marked exported")
		}
		f.Statuses = []string{entry.Approved, entry.Exported, entry.Synced}
	default:
		return f, errf(400, "bad_request", "status must be approved, exported, synced or all")
	}
	return f, nil
}

func queryParams(c *fiber.Ctx) exportParams {
	return exportParams{From: c.Query("from"), To: c.Query("to"), Matter: c.Query("matter"), Timekeeper: c.Query("timekeeper"),
		Status: c.Query("status"), InvoiceNumber: c.Query("invoice_number"), BOM: c.Query("bom") == "1" || c.Query("bom") == "true"}
}

func exportName(ext string, p exportParams) string {
	name := "dictum-entries"
	if p.From != "" || p.To != "" {
		name += "-" + p.From + "_" + p.To
	}
	return name + "." + ext
}

// apiExportCSVPreview streams a CSV of approved entries; it marks nothing.
func (s *Server) apiExportCSVPreview(c *fiber.Ctx) error {
	p, err := needRole(c, store.RoleBilling, store.RoleAdmin)
	if err != nil {
		return err
	}
	q := queryParams(c)
	if err := q.check(false); err != nil {
		return err
	}
	f, err := q.filter()
	if err != nil {
		return err
	}
	rows, err := s.Store.ExportRows(c.UserContext(), f)
	if err != nil {
		return err
	}
	actor := p.Actor
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+exportName("csv", q)+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer rows.Close()
		if _, err := billing.WriteCSV(w, rows, billing.CSVOptions{BOM: q.BOM}); err != nil {
			s.Log.Error("csv export stream", "err", err)
			return
		}
		_ = s.Store.AuditExportPreview(context.Background(), actor, "csv", rows.IDs())
	})
	return nil
}

// ledes builds a LEDES 1998B invoice into a buffer, or a 422 listing every problem.
func (s *Server) ledes(c *fiber.Ctx, q exportParams, number string) ([]byte, []string, int, error) {
	f, err := q.filter()
	if err != nil {
		return nil, nil, 0, err
	}
	m, err := s.Store.MatterByID(c.UserContext(), q.Matter)
	if err != nil {
		return nil, nil, 0, errf(400, "bad_request", "no matter %q", q.Matter)
	}
	rows, err := s.Store.ExportRows(c.UserContext(), f)
	if err != nil {
		return nil, nil, 0, err
	}
	var list []billing.Row
	tenths := 0
	for {
		r, ok, err := rows.Next()
		if err != nil {
			rows.Close()
			return nil, nil, 0, err
		}
		if !ok {
			break
		}
		list = append(list, r)
		if r.Billable {
			tenths += int(r.Hours)
		}
	}
	rows.Close()
	if len(list) == 0 {
		return nil, nil, 0, errf(422, "nothing_to_export", "no approved entries for matter %s between %s and %s", m.Number, q.From, q.To)
	}
	firmID, err := s.Store.Setting(c.UserContext(), store.SettingLEDESFirmID)
	if err != nil {
		return nil, nil, 0, err
	}
	inv := billing.Invoice{Number: number, Date: s.today().Format("2006-01-02"), PeriodStart: q.From, PeriodEnd: q.To, LawFirmID: firmID,
		ClientID: m.ClientID, LawFirmMatterID: m.Number, ClientMatterID: m.Number, Description: "Legal services: " + m.Name}
	var buf bytes.Buffer
	if err := billing.WriteLEDES(&buf, inv, list); err != nil {
		var rej *billing.RejectError
		if errors.As(err, &rej) {
			return nil, nil, 0, &ledesRejected{rej}
		}
		return nil, nil, 0, err
	}
	ids := make([]string, 0, len(list))
	for _, r := range list {
		ids = append(ids, r.EntryID)
	}
	return buf.Bytes(), ids, tenths, nil
}

// ledesRejected is a 422 that lists each entry and field that keeps the file from being valid.
type ledesRejected struct{ rej *billing.RejectError }

func (e *ledesRejected) Error() string { return e.rej.Error() }

func (s *Server) sendLEDESRejected(c *fiber.Ctx, e *ledesRejected) error {
	probs := make([]fiber.Map, 0, len(e.rej.Problems))
	for _, p := range e.rej.Problems {
		probs = append(probs, fiber.Map{"entry_id": p.EntryID, "field": p.Field, "message": p.Message})
	}
	hint := ""
	for _, p := range e.rej.Problems {
		if p.Field == "LAW_FIRM_ID" {
			hint = " Set the firm's LEDES law firm id with PATCH /api/v1/settings {\"ledes_law_firm_id\": \"...\"}."
		}
	}
	return c.Status(422).JSON(fiber.Map{"error": fiber.Map{"code": "ledes_rejected",
		"message": fmt.Sprintf("%d problem(s) keep this invoice from being a valid LEDES file; fix them and export again.%s", len(probs), hint)},
		"problems": probs})
}

func (s *Server) apiExportLEDESPreview(c *fiber.Ctx) error {
	p, err := needRole(c, store.RoleBilling, store.RoleAdmin)
	if err != nil {
		return err
	}
	q := queryParams(c)
	if err := q.check(true); err != nil {
		return err
	}
	number := q.InvoiceNumber
	if number == "" {
		number = "PREVIEW"
	}
	body, ids, _, err := s.ledes(c, q, number)
	var rej *ledesRejected
	if errors.As(err, &rej) {
		return s.sendLEDESRejected(c, rej)
	}
	if err != nil {
		return err
	}
	_ = s.Store.AuditExportPreview(c.UserContext(), p.Actor, "ledes", ids)
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+exportName("txt", q)+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

// apiCreateExport makes a kept export: the file is stored encrypted and can be downloaded
// again; with "mark": true its entries become exported (locked) in the same transaction.
func (s *Server) apiCreateExport(c *fiber.Ctx) error {
	p, err := needRole(c, store.RoleBilling, store.RoleAdmin)
	if err != nil {
		return err
	}
	var q exportParams
	if err := s.decodeJSON(c, &q); err != nil {
		return err
	}
	if q.Format != "csv" && q.Format != "ledes" {
		return errf(400, "bad_request", "format must be csv or ledes")
	}
	if err := q.check(q.Format == "ledes"); err != nil {
		return err
	}
	f, err := q.filter()
	if err != nil {
		return err
	}
	w, err := s.Blobs.Create()
	if err != nil {
		return err
	}
	defer w.Abort()
	var ids []string
	tenths := 0
	name := exportName("csv", q)
	switch q.Format {
	case "csv":
		rows, err := s.Store.ExportRows(c.UserContext(), f)
		if err != nil {
			return err
		}
		_, err = billing.WriteCSV(w, &tenthsCounter{it: rows, tenths: &tenths}, billing.CSVOptions{BOM: q.BOM})
		rows.Close()
		if err != nil {
			return fmt.Errorf("write csv export: %w", err)
		}
		ids = rows.IDs()
	case "ledes":
		number := q.InvoiceNumber
		if number == "" {
			if number, err = s.Store.NextInvoiceNumber(c.UserContext(), p.Actor); err != nil {
				return err
			}
		}
		q.InvoiceNumber = number
		body, lids, t, err := s.ledes(c, q, number)
		var rej *ledesRejected
		if errors.As(err, &rej) {
			return s.sendLEDESRejected(c, rej)
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
			return fmt.Errorf("store export: %w", err)
		}
		ids, tenths = lids, t
		name = "ledes-" + strings.ReplaceAll(number, "/", "-") + ".txt"
	}
	if len(ids) == 0 {
		return errf(422, "nothing_to_export", "no entries match these filters; nothing was exported")
	}
	blobID, size, err := w.Commit()
	if err != nil {
		return fmt.Errorf("store export: %w", err)
	}
	params, _ := json.Marshal(q)
	x := &store.Export{Format: q.Format, Params: params, EntryIDs: ids, BlobID: blobID, SizeBytes: size, Filename: name}
	if err := s.Store.SaveExport(c.UserContext(), p.Actor, x, tenths, q.Mark); err != nil {
		_ = s.Blobs.Delete(blobID)
		if errors.Is(err, store.ErrChanged) {
			return errf(409, "conflict", "%s", err.Error())
		}
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"export": x, "download": "/api/v1/exports/" + x.ID + "/download"})
}

// tenthsCounter sums the hours of the rows passing through.
type tenthsCounter struct {
	it     billing.RowIterator
	tenths *int
}

func (t *tenthsCounter) Next() (billing.Row, bool, error) {
	r, ok, err := t.it.Next()
	if ok {
		*t.tenths += int(r.Hours)
	}
	return r, ok, err
}

func (s *Server) apiListExports(c *fiber.Ctx) error {
	if _, err := needRole(c, store.RoleBilling, store.RoleAdmin); err != nil {
		return err
	}
	list, err := s.Store.Exports(c.UserContext(), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"exports": list})
}

func (s *Server) apiDownloadExport(c *fiber.Ctx) error {
	p, err := needRole(c, store.RoleBilling, store.RoleAdmin)
	if err != nil {
		return err
	}
	x, err := s.Store.ExportByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	rc, size, err := s.Blobs.OpenSeeker(x.BlobID)
	if err != nil {
		return fmt.Errorf("open export: %w", err)
	}
	_ = s.Store.Audit(c.UserContext(), p.Actor, "export.download", "export", x.ID, nil)
	ct := "text/csv; charset=utf-8"
	if x.Format == "ledes" {
		ct = "text/plain; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+x.Filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStream(rc, int(size))
	return nil
}

// Settings the API exposes (admin), with their validation.
func (s *Server) apiGetSettings(c *fiber.Ctx) error {
	if _, err := needRole(c, store.RoleAdmin, store.RoleBilling); err != nil {
		return err
	}
	all, err := s.Store.Settings(c.UserContext())
	if err != nil {
		return err
	}
	out := fiber.Map{"firm_name": all[store.SettingFirmName], "ledes_law_firm_id": all[store.SettingLEDESFirmID], "default_rate": nil,
		"require_2fa_roles": all[store.SettingRequire2FA]}
	if v := all[store.SettingDefaultRate]; v != "" {
		var n int64
		fmt.Sscan(v, &n)
		out["default_rate"] = float64(n) / 100
	}
	return c.JSON(out)
}

func (s *Server) apiPatchSettings(c *fiber.Ctx) error {
	p, err := needRole(c, store.RoleAdmin)
	if err != nil {
		return err
	}
	var b struct {
		FirmName    *string  `json:"firm_name"`
		LEDESFirmID *string  `json:"ledes_law_firm_id"`
		DefaultRate *float64 `json:"default_rate"`
		Require2FA  *string  `json:"require_2fa_roles"`
	}
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	a := p.Actor
	if b.FirmName != nil {
		if err := s.Store.SetSetting(c.UserContext(), a, store.SettingFirmName, strings.TrimSpace(*b.FirmName)); err != nil {
			return err
		}
	}
	if b.LEDESFirmID != nil {
		if err := s.Store.SetSetting(c.UserContext(), a, store.SettingLEDESFirmID, strings.TrimSpace(*b.LEDESFirmID)); err != nil {
			return err
		}
	}
	if b.Require2FA != nil {
		v := strings.ReplaceAll(strings.TrimSpace(*b.Require2FA), " ", "")
		for _, r := range strings.Split(v, ",") {
			if r != "" && r != "all" && !store.ValidRole(r) {
				return errf(422, "invalid", "require_2fa_roles must list roles (timekeeper, billing, admin), \"all\" or be empty")
			}
		}
		if err := s.Store.SetSetting(c.UserContext(), a, store.SettingRequire2FA, v); err != nil {
			return err
		}
	}
	if b.DefaultRate != nil {
		cents, err := rateCents(*b.DefaultRate)
		if err != nil {
			return err
		}
		if err := s.Store.SetSetting(c.UserContext(), a, store.SettingDefaultRate, fmt.Sprint(cents)); err != nil {
			return err
		}
	}
	return s.apiGetSettings(c)
}
