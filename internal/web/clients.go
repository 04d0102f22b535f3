package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/billing"
	"dictum/internal/ebilling"
	"dictum/internal/exports"
	"dictum/internal/store"
)

// ebillingFailed answers a refused e-billing change: a 422 naming the field.
func ebillingFailed(err error) error {
	var inv *ebilling.InvalidError
	if errors.As(err, &inv) {
		return errf(422, "invalid", "%s", inv.Error())
	}
	return err
}

// apiListClients lists the clients with their e-billing profiles (billing and admin).
func (s *Server) apiListClients(c *fiber.Ctx) error {
	list, err := ebilling.New(s.Store).Clients(c.UserContext())
	if err != nil {
		return err
	}
	if list == nil {
		list = []*store.Client{}
	}
	return c.JSON(fiber.Map{"clients": list})
}

// apiGetClient answers a client's e-billing profile and custom codes; the id is the
// client_id of GET /api/v1/matters/{id}.
func (s *Server) apiGetClient(c *fiber.Ctx) error {
	v, err := ebilling.New(s.Store).Client(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// apiPatchClient changes a client's e-billing profile.
func (s *Server) apiPatchClient(c *fiber.Ctx) error {
	p := me(c)
	var b ebilling.ClientPatch
	if err := s.decodeJSON(c, &b); err != nil {
		return err
	}
	v, err := ebilling.New(s.Store).UpdateClient(c.UserContext(), p.Actor, c.Params("id"), b)
	if err != nil {
		return ebillingFailed(err)
	}
	return c.JSON(v)
}

// apiImportClientCodes replaces a client's custom code set with a CSV (kind,code,description),
// sent as text/csv or as JSON {"csv": "..."}.
func (s *Server) apiImportClientCodes(c *fiber.Ctx) error {
	p := me(c)
	body, err := readBody(c, ebilling.MaxCodesCSV)
	if err != nil {
		return err
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		var b struct {
			CSV string `json:"csv"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return errf(400, "bad_request", "invalid JSON: %s", err.Error())
		}
		body = []byte(b.CSV)
	}
	v, err := ebilling.New(s.Store).ImportCodes(c.UserContext(), p.Actor, c.Params("id"), bytes.NewReader(body))
	if err != nil {
		return ebillingFailed(err)
	}
	return c.JSON(v)
}

// apiLEDESCheck checks a LEDES invoice (matter, from, to, optional invoice_number) against
// the client's profile and the platforms' rules before any file exists, and shows the
// invoice number a kept export made now would get.
func (s *Server) apiLEDESCheck(c *fiber.Ctx) error {
	p := me(c)
	chk, err := s.exports.CheckLEDES(c.UserContext(), p.Actor, exports.Params{From: c.Query("from"), To: c.Query("to"), Matter: c.Query("matter"),
		Timekeeper: c.Query("timekeeper"), Status: c.Query("status"), InvoiceNumber: c.Query("invoice_number")})
	if err != nil {
		var rej *billing.RejectError
		if errors.As(err, &rej) { // not returned by CheckLEDES, but keep the one 422 shape
			return sendLEDESRejected(c, rej)
		}
		return exportFailed(c, err)
	}
	return c.JSON(chk)
}
