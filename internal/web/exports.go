package web

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/billing"
	"dictum/internal/exports"
)

// exportQuery reads the filters of an export preview from the query string.
func exportQuery(c *fiber.Ctx) exports.Params {
	return exports.Params{From: c.Query("from"), To: c.Query("to"), Matter: c.Query("matter"), Timekeeper: c.Query("timekeeper"),
		Status: c.Query("status"), InvoiceNumber: c.Query("invoice_number"), BOM: c.Query("bom") == "1" || c.Query("bom") == "true"}
}

// exportContentType is the media type of an export file.
func exportContentType(format string) string {
	if format == exports.FormatLEDES {
		return "text/plain; charset=utf-8"
	}
	return "text/csv; charset=utf-8"
}

// setDownload sets the headers of an export download.
func setDownload(c *fiber.Ctx, format, filename string) {
	c.Set(fiber.HeaderContentType, exportContentType(format))
	c.Set(fiber.HeaderContentDisposition, contentDisposition("attachment", filename))
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentSecurityPolicy, sandboxPolicy)
}

// contentDisposition is an RFC 6266 Content-Disposition of type kind (attachment or
// inline): the name made safe, as an ASCII filename for old clients and as the exact
// UTF-8 filename* (RFC 8187) that current browsers use.
func contentDisposition(kind, name string) string {
	name = exports.SafeFilename(name)
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+()", r)) {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return kind + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// exportFailed answers a refused export: a LEDES rejection lists every problem (422),
// other refusals become API errors.
func exportFailed(c *fiber.Ctx, err error) error {
	var rej *billing.RejectError
	if errors.As(err, &rej) {
		return sendLEDESRejected(c, rej)
	}
	var e *exports.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case exports.NothingToExport:
		return errf(422, "nothing_to_export", "%s", e.Message)
	case exports.Changed:
		return errf(409, "conflict", "%s", e.Message)
	case exports.TooLarge:
		return errf(422, "preview_too_large", "%s", e.Message)
	default:
		return errf(400, "bad_request", "%s", e.Message)
	}
}

// sendLEDESRejected is a 422 that lists each entry and field that keeps the file from being valid.
func sendLEDESRejected(c *fiber.Ctx, rej *billing.RejectError) error {
	probs := make([]fiber.Map, 0, len(rej.Problems))
	for _, p := range rej.Problems {
		probs = append(probs, fiber.Map{"entry_id": p.EntryID, "field": p.Field, "message": p.Message, "fix": p.Fix})
	}
	hint := ""
	for _, p := range rej.Problems {
		if p.Field == "LAW_FIRM_ID" {
			hint = " Set the firm's LEDES law firm id with PATCH /api/v1/settings {\"ledes_law_firm_id\": \"...\"}."
		}
	}
	return c.Status(422).JSON(fiber.Map{"error": fiber.Map{"code": "ledes_rejected",
		"message": fmt.Sprintf("%d problem(s) keep this invoice from being a valid LEDES file; fix them and export again.%s", len(probs), hint)},
		"problems": probs})
}

// apiExportCSVPreview answers a CSV of approved entries; it marks nothing. The file is
// built and audited before the first byte goes out (the service holds no database
// connection while the client reads).
func (s *Server) apiExportCSVPreview(c *fiber.Ctx) error {
	p := me(c)
	f, err := s.exports.PreviewCSV(c.UserContext(), p.Actor, exportQuery(c))
	if err != nil {
		return exportFailed(c, err)
	}
	setDownload(c, exports.FormatCSV, f.Filename)
	return c.Send(f.Body)
}

// apiExportLEDESPreview answers a LEDES invoice for one matter and period; it marks nothing.
func (s *Server) apiExportLEDESPreview(c *fiber.Ctx) error {
	p := me(c)
	f, err := s.exports.PreviewLEDES(c.UserContext(), p.Actor, exportQuery(c))
	if err != nil {
		return exportFailed(c, err)
	}
	setDownload(c, exports.FormatLEDES, f.Filename)
	return c.Send(f.Body)
}

// apiCreateExport makes a kept export: the file is stored encrypted and can be downloaded
// again; with "mark": true its entries become exported (locked) in the same transaction.
func (s *Server) apiCreateExport(c *fiber.Ctx) error {
	p := me(c)
	var q exports.Params
	if err := s.decodeJSON(c, &q); err != nil {
		return err
	}
	x, err := s.exports.Create(c.UserContext(), p.Actor, q)
	if err != nil {
		return exportFailed(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"export": x, "download": "/api/v1/exports/" + x.ID + "/download"})
}

func (s *Server) apiListExports(c *fiber.Ctx) error {
	list, err := s.exports.List(c.UserContext(), me(c).Actor, c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"exports": list})
}

func (s *Server) apiDownloadExport(c *fiber.Ctx) error {
	p := me(c)
	dl, err := s.exports.Open(c.UserContext(), p.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	setDownload(c, dl.Export.Format, dl.Export.Filename)
	c.Context().SetBodyStream(dl.Body, int(dl.Size))
	return nil
}
