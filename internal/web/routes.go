package web

import (
	"fmt"
	"runtime/debug"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// Route is one entry of the route table (the authorization-matrix test walks it).
type Route struct {
	Method string
	Path   string
}

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == fiber.MethodHead {
			continue
		}
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

func (s *Server) routes() {
	app := s.app
	app.Use(s.securityHeaders)
	// Last line of defence: a bug that panics answers 500 and is logged; the server lives on.
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.Log.Error("panic in handler", "method", c.Method(), "path", c.Path(), "panic", fmt.Sprint(e), "stack", string(debug.Stack()))
	}}))
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/ca.crt", s.caCert)
	app.Get("/ca", s.caPage)
	app.Use(s.authn)

	api := app.Group("/api/v1")
	api.Post("/session", s.apiLogin)
	api.Delete("/session", s.apiLogout)
	api.Get("/me", s.apiMe)
	api.Get("/me/2fa", s.apiMFAStatus)
	api.Post("/me/2fa", s.apiMFAStart)
	api.Post("/me/2fa/confirm", s.apiMFAConfirm)
	api.Delete("/me/2fa", s.apiMFADisable)

	api.Get("/matters", s.apiListMatters)
	api.Post("/matters", s.apiCreateMatter)
	api.Get("/matters/:id", s.apiGetMatter)
	api.Patch("/matters/:id", s.apiPatchMatter)

	api.Get("/entries", s.apiListEntries)
	api.Post("/entries", s.apiCreateEntry)
	api.Post("/entries/approve", s.apiBulkApprove)
	api.Get("/entries/:id", s.apiGetEntry)
	api.Patch("/entries/:id", s.apiPatchEntry)
	api.Delete("/entries/:id", s.apiDeleteEntry)
	api.Post("/entries/:id/approve", s.apiApprove)
	api.Post("/entries/:id/reopen", s.apiReopen)
	api.Post("/entries/:id/restore", s.apiRestore)

	api.Post("/recordings", s.apiUpload)
	api.Get("/recordings", s.apiListRecordings)
	api.Get("/recordings/:id", s.apiGetRecording)
	api.Get("/recordings/:id/audio", s.apiRecordingAudio)
	api.Delete("/recordings/:id/audio", s.apiDeleteAudio)
	api.Get("/events", s.apiEvents)

	api.Get("/users", s.apiListUsers)
	api.Post("/users", s.apiCreateUser)
	api.Patch("/users/:username", s.apiPatchUser)
	api.Delete("/users/:username/2fa", s.apiResetUserMFA)
	api.Get("/tokens", s.apiListTokens)
	api.Post("/tokens", s.apiCreateToken)
	api.Delete("/tokens/:id", s.apiRevokeToken)
	api.Get("/audit", s.apiAudit)
	api.Get("/lockouts", s.apiLockouts)
	api.Get("/dataflow", s.apiDataFlow)
	api.Get("/settings", s.apiGetSettings)
	api.Patch("/settings", s.apiPatchSettings)

	api.Get("/exports/entries.csv", s.apiExportCSVPreview)
	api.Get("/exports/entries.ledes", s.apiExportLEDESPreview)
	api.Post("/exports", s.apiCreateExport)
	api.Get("/exports", s.apiListExports)
	api.Get("/exports/:id/download", s.apiDownloadExport)

	app.Get("/admin/dataflow", s.uiDataFlow)
	s.clioRoutes(api, app)
	s.uiRoutes()
	api.All("/*", func(c *fiber.Ctx) error {
		return errf(404, "not_found", "no such API route: %s %s", c.Method(), c.Path())
	})
}
