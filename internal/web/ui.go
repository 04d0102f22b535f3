package web

import "github.com/gofiber/fiber/v2"

// uiRoutes registers the server-rendered pages (see ui_*.go).
func (s *Server) uiRoutes() {}

// renderError shows an error page to a browser.
func (s *Server) renderError(c *fiber.Ctx, ae *apiError) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Status(ae.Status).SendString(ae.Message)
}
