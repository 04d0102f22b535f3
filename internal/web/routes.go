package web

import (
	"fmt"
	"runtime/debug"

	"dictum/internal/store"

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

// group is a set of routes that share middleware (a role check, say). fiber's own
// Group(prefix, handlers...) would run its handlers for every route under the prefix,
// whichever group registered it; this one attaches them to its own routes only.
type group struct {
	r  fiber.Router
	mw []fiber.Handler
}

func on(r fiber.Router, mw ...fiber.Handler) group { return group{r: r, mw: mw} }

func (g group) chain(h fiber.Handler) []fiber.Handler {
	return append(append([]fiber.Handler{}, g.mw...), h)
}
func (g group) get(path string, h fiber.Handler)    { g.r.Get(path, g.chain(h)...) }
func (g group) post(path string, h fiber.Handler)   { g.r.Post(path, g.chain(h)...) }
func (g group) patch(path string, h fiber.Handler)  { g.r.Patch(path, g.chain(h)...) }
func (g group) put(path string, h fiber.Handler)    { g.r.Put(path, g.chain(h)...) }
func (g group) delete(path string, h fiber.Handler) { g.r.Delete(path, g.chain(h)...) }

// routes is the one place that lists every route of both surfaces, the JSON API under
// /api/v1 and the server-rendered pages, grouped by who may call them. The role checks
// live here, as middleware on the groups; handlers only check ownership (which the store
// and the services do). authz_test.go walks this table as the safety net.
func (s *Server) routes() {
	if _, err := loadUI(); err != nil {
		// Embedded assets are fixed at build time: a broken template is a programming error
		// the unit tests catch; fail loudly rather than serve half a UI.
		panic(fmt.Sprintf("web: load UI templates: %v", err))
	}
	app := s.app
	app.Use(s.securityHeaders)
	// Last line of defence: a bug that panics answers 500 and is logged; the server lives on.
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.Log.Error("panic in handler", "method", c.Method(), "path", logPath(c), "panic", fmt.Sprint(e), "stack", string(debug.Stack()))
	}}))
	// Before anything reads a body: caps every body but the upload's while reading it (body.go).
	app.Use(s.bodyGuard)
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/ca.crt", s.caCert)
	app.Get("/ca.crl", s.caCRL)
	app.Get("/ca", s.caPage)
	// Client share links: no account; the token is the credential, limited per token and,
	// for failed lookups, per IP (internal/access).
	app.Get("/s/:token", s.uiShare)
	app.Get("/s/:token/entries.csv", s.uiShareCSV)
	app.Use(s.authn)

	// ---- JSON API ----
	v1 := app.Group("/api/v1")
	const admin, billing = store.RoleAdmin, store.RoleBilling
	public := on(v1)
	signedIn := on(v1, apiRole())
	billers := on(v1, apiRole(billing, admin))
	admins := on(v1, apiRole(admin))

	public.post("/session", s.apiLogin)
	signedIn.delete("/session", s.apiLogout)
	signedIn.get("/me", s.apiMe)
	signedIn.get("/me/2fa", s.apiTwoFAStatus)
	signedIn.post("/me/2fa", s.apiTwoFAStart)
	signedIn.post("/me/2fa/confirm", s.apiTwoFAConfirm)
	signedIn.delete("/me/2fa", s.apiTwoFADisable)

	signedIn.get("/matters", s.apiListMatters)
	signedIn.get("/matters/:id", s.apiGetMatter)
	billers.post("/matters", s.apiCreateMatter)
	billers.patch("/matters/:id", s.apiPatchMatter)
	billers.get("/clients", s.apiListClients)
	billers.get("/clients/:id", s.apiGetClient)
	billers.patch("/clients/:id", s.apiPatchClient)
	billers.post("/clients/:id/codes", s.apiImportClientCodes)
	// Ethical walls: billing reads them, admins change them (with a reason, audited).
	billers.get("/matters/:id/access", s.apiGetAccess)
	admins.put("/matters/:id/access", s.apiPutAccess)
	billers.post("/matters/:id/shares", s.apiCreateShare)
	billers.get("/matters/:id/shares", s.apiListShares)
	billers.delete("/matters/:id/shares/:sid", s.apiRevokeShare)

	signedIn.get("/entries", s.apiListEntries)
	signedIn.post("/entries", s.apiCreateEntry)
	signedIn.post("/entries/approve", s.apiBulkApprove)
	signedIn.get("/entries/:id", s.apiGetEntry)
	signedIn.patch("/entries/:id", s.apiPatchEntry)
	signedIn.delete("/entries/:id", s.apiDeleteEntry)
	signedIn.post("/entries/:id/approve", s.apiApprove)
	signedIn.post("/entries/:id/reopen", s.apiReopen)
	signedIn.post("/entries/:id/restore", s.apiRestore)

	signedIn.post("/recordings", s.apiUpload)
	signedIn.get("/recordings", s.apiListRecordings)
	signedIn.get("/recordings/:id", s.apiGetRecording)
	signedIn.get("/recordings/:id/audio", s.apiRecordingAudio)
	signedIn.delete("/recordings/:id/audio", s.apiDeleteAudio)
	signedIn.get("/events", s.apiEvents)
	signedIn.post("/dictations", s.apiDictation)
	signedIn.get("/aliases", s.apiListAliases)
	signedIn.post("/aliases", s.apiPutAlias) // scope "firm": admins only (the service answers 403)
	signedIn.delete("/aliases", s.apiDeleteAlias)
	signedIn.get("/timesheet", s.apiTimesheet)

	billers.get("/users", s.apiListUsers)
	admins.post("/users", s.apiCreateUser)
	admins.patch("/users/:username", s.apiPatchUser)
	admins.delete("/users/:username/2fa", s.apiResetUserTwoFA)
	signedIn.get("/tokens", s.apiListTokens)
	signedIn.post("/tokens", s.apiCreateToken)
	signedIn.delete("/tokens/:id", s.apiRevokeToken)
	admins.get("/audit", s.apiAudit)
	admins.get("/audit.csv", s.apiAuditCSV)
	admins.get("/lockouts", s.apiLockouts)
	admins.get("/dataflow", s.apiDataFlow)
	admins.post("/backups", s.apiCreateBackup)
	admins.get("/backups", s.apiListBackups)
	billers.get("/settings", s.apiGetSettings)
	admins.patch("/settings", s.apiPatchSettings)
	admins.get("/deleted", s.apiListDeleted)
	admins.post("/deleted/:kind/:id/restore", s.apiRestoreDeleted)

	billers.get("/exports/entries.csv", s.apiExportCSVPreview)
	billers.get("/exports/entries.ledes", s.apiExportLEDESPreview)
	billers.get("/exports/ledes/check", s.apiLEDESCheck)
	billers.post("/exports", s.apiCreateExport)
	billers.get("/exports", s.apiListExports)
	billers.get("/exports/:id/download", s.apiDownloadExport)

	// Archives: who may archive which scope depends on the scope (admins anything,
	// billing a matter, a timekeeper themselves): the service decides, 403 otherwise.
	signedIn.post("/archives", s.apiCreateArchive)
	signedIn.get("/archives", s.apiListArchives)
	signedIn.get("/archives/:id", s.apiGetArchive)
	signedIn.get("/archives/:id/download", s.apiDownloadArchive)

	billers.get("/clio", s.apiClioStatus)
	admins.delete("/clio", s.apiClioDisconnect)
	admins.post("/clio/connect", s.apiClioConnect)
	billers.post("/clio/import", s.apiClioImport)
	billers.post("/clio/sync", s.apiClioSync)
	billers.get("/clio/errors", s.apiClioErrors)
	billers.post("/clio/retry", s.apiClioRetry)

	v1.All("/*", func(c *fiber.Ctx) error {
		return errf(404, "not_found", "no such API route: %s %s", c.Method(), c.Path())
	})

	// ---- pages ----
	pages := on(app)
	anyPage := on(app, pageRole())
	billingPages := on(app, pageRole(billing, admin))
	adminPages := on(app, pageRole(admin))

	pages.get("/static/:hash/*", s.uiStatic)
	pages.get("/login", s.uiLoginPage)
	pages.post("/login", s.uiLogin)
	pages.post("/logout", s.uiLogout)
	// Clio sends the admin's browser back here, usually without the SameSite=Strict
	// session cookie: the OAuth state identifies the admin (see clioCallback).
	pages.get("/clio/callback", s.clioCallback)

	anyPage.get("/", s.uiHome)
	anyPage.get("/record", s.uiRecord)
	anyPage.get("/inbox", s.uiInbox)
	anyPage.get("/inbox/entries/:id", s.uiInboxCard)
	anyPage.get("/approved", s.uiApproved)
	anyPage.get("/week", s.uiWeek)
	anyPage.get("/account", s.uiAccount)
	anyPage.get("/2fa", s.uiTwoFA)
	anyPage.post("/account/password", s.uiChangePassword)
	anyPage.post("/account/tokens", s.uiCreateToken)
	anyPage.post("/account/tokens/:id/revoke", s.uiRevokeToken)
	billingPages.get("/billing", s.uiBilling)

	adminPages.get("/admin", func(c *fiber.Ctx) error { return c.Redirect("/admin/users", fiber.StatusSeeOther) })
	adminPages.get("/admin/users", s.uiAdminUsers)
	adminPages.post("/admin/users", s.uiAdminCreateUser)
	adminPages.post("/admin/users/:username", s.uiAdminUpdateUser)
	adminPages.get("/admin/users/:username/ebilling", s.uiAdminTimekeeper)
	adminPages.post("/admin/users/:username/ebilling", s.uiAdminTimekeeperSave)
	adminPages.get("/admin/settings", s.uiAdminSettings)
	adminPages.post("/admin/settings", s.uiAdminSaveSettings)
	adminPages.get("/admin/dataflow", s.uiDataFlow)
	adminPages.get("/admin/audit", s.uiAudit)
	adminPages.get("/admin/directory", s.uiAdminDirectory)
	adminPages.post("/admin/directory", s.uiAdminDirectoryCheck)
	adminPages.get("/admin/backups", s.uiAdminBackups)
	adminPages.post("/admin/backups", s.uiAdminBackupNow)
	adminPages.get("/admin/deleted", s.uiDeleted)
	adminPages.post("/admin/deleted/:kind/:id/restore", s.uiRestoreDeleted)
	billingPages.get("/admin/matters", s.uiAdminMatters)
	billingPages.post("/admin/matters", s.uiAdminCreateMatter)
	billingPages.post("/admin/matters/import", s.uiAdminImportPreview)
	billingPages.post("/admin/matters/import/confirm", s.uiAdminImportConfirm)
	billingPages.get("/admin/matters/:id", s.uiAdminMatterEdit)
	billingPages.post("/admin/matters/:id", s.uiAdminMatterSave)
	adminPages.post("/admin/matters/:id/access", s.uiAdminWallSave)
	billingPages.get("/admin/clients", s.uiAdminClients)
	billingPages.get("/admin/clients/:id", s.uiAdminClient)
	billingPages.post("/admin/clients/:id", s.uiAdminClientSave)
	billingPages.post("/admin/clients/:id/codes", s.uiAdminClientCodes)
}
