package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/cliosync"
	"dictum/internal/store"
)

// clioSyncLimit bounds a sync or import started over HTTP: below the server's 10-minute
// write timeout.
const clioSyncLimit = 9 * time.Minute

// SetClio enables the Clio routes with the service (call once after New, before serving).
func (s *Server) SetClio(svc *cliosync.Service) { s.clio = svc }

// clioService returns the Clio service once the [clio] config section has what it needs.
func (s *Server) clioService() (*cliosync.Service, error) {
	if s.Config.Clio.ClientID == "" {
		return nil, clioErr(cliosync.ErrNotConfigured)
	}
	if s.clio == nil {
		return nil, errf(503, "clio_unavailable", "Clio is configured but this server was started without its token key; restart dictum")
	}
	if err := s.clio.CheckConfigured(); err != nil {
		return nil, clioErr(err)
	}
	return s.clio, nil
}

// clioErr maps the integration's errors to API errors.
func clioErr(err error) error {
	var ue *cliosync.UpstreamError
	var ce *cliosync.ConfigError
	var ie *cliosync.InputError
	var de *cliosync.DeniedError
	var se *cliosync.StateError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, cliosync.ErrNotConfigured):
		return errf(409, "clio_not_configured", "%s", err.Error())
	case errors.Is(err, store.ErrClioNotConnected):
		return errf(409, "clio_not_connected", "Clio is not connected: an admin connects it first (POST /api/v1/clio/connect)")
	case errors.Is(err, store.ErrClioBusy):
		return errf(409, "clio_busy", "another Clio sync or import is running; try again when it has finished")
	case errors.As(err, &ce):
		return errf(409, "clio_not_configured", "%s", ce.Err.Error())
	case errors.As(err, &ue):
		return errf(502, "clio_error", "Clio: %s", ue.Err.Error())
	case errors.As(err, &ie):
		return errf(400, "bad_request", "%s", ie.Msg)
	case errors.As(err, &de):
		return errf(400, "clio_denied", "%s", de.Msg)
	case errors.As(err, &se):
		return errf(403, "clio_state", "%s", se.Msg)
	}
	return err
}

func (s *Server) apiClioStatus(c *fiber.Ctx) error {
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	st, err := svc.Status(c.UserContext())
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(st)
}

func (s *Server) apiClioConnect(c *fiber.Ctx) error {
	p := me(c)
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	var sess []byte
	if p.Session != nil {
		sess = p.Session.IDHash
	}
	u, err := svc.AuthorizeURL(p.User.ID, sess)
	if err != nil {
		return clioErr(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"authorize_url": u, "expires_in": int(cliosync.StateTTL.Seconds())})
}

func (s *Server) apiClioDisconnect(c *fiber.Ctx) error {
	p := me(c)
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	existed, err := svc.Disconnect(c.UserContext(), p.Actor)
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(fiber.Map{"connected": false, "was_connected": existed,
		"note": "the tokens are deleted here; to revoke Dictum's access in Clio too, remove the app under Settings > Apps in Clio"})
}

func (s *Server) apiClioImport(c *fiber.Ctx) error {
	p := me(c)
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), clioSyncLimit)
	defer cancel()
	rep, err := svc.Import(ctx, p.Actor)
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(rep)
}

func (s *Server) apiClioSync(c *fiber.Ctx) error {
	p := me(c)
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), clioSyncLimit)
	defer cancel()
	rep, err := svc.Sync(ctx, p.Actor, "api", nil)
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(rep)
}

func (s *Server) apiClioErrors(c *fiber.Ctx) error {
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	list, err := svc.Errors(c.UserContext())
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(fiber.Map{"errors": list, "count": len(list)})
}

func (s *Server) apiClioRetry(c *fiber.Ctx) error {
	p := me(c)
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if c.Request().Header.ContentLength() != 0 {
		if err := s.decodeJSON(c, &req); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), clioSyncLimit)
	defer cancel()
	rep, err := svc.Retry(ctx, p.Actor, req.IDs)
	if err != nil {
		return clioErr(err)
	}
	return c.JSON(rep)
}

var clioDonePage = template.Must(template.New("clio").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clio connected · Dictum</title></head>
<body><main>
<h1>Clio is connected</h1>
<p>Dictum can now import matters and push approved time entries to the firm's Clio account (region {{.Region}}), connected by {{.User}}.</p>
<p>Next: import matters and timekeepers, then sync.</p>
<p><a href="/settings">Back to settings</a></p>
</main></body></html>
`))

// clioCallback is where Clio sends the admin's browser back (see
// cliosync.Service.FinishConnect for who may finish a connection).
func (s *Server) clioCallback(c *fiber.Ctx) error {
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	cb := cliosync.Callback{Code: c.Query("code"), State: c.Query("state"), Error: c.Query("error"),
		ErrorDescription: c.Query("error_description"), IP: c.IP()}
	if p, _ := c.Locals("p").(*caller); p != nil {
		cb.CallerID = p.User.ID
	}
	username, err := svc.FinishConnect(c.UserContext(), cb)
	if err != nil {
		return clioErr(err)
	}
	var buf bytes.Buffer
	if err := clioDonePage.Execute(&buf, struct{ Region, User string }{strings.ToUpper(s.Config.Clio.Region), username}); err != nil {
		return fmt.Errorf("render clio page: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(200).Send(buf.Bytes())
}
