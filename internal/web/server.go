// Package web is Dictum's HTTP server: the JSON API under /api/v1 and the server-rendered UI.
// One file per handler group. Role checks are middleware on the route groups of routes.go;
// handlers only fetch the caller and leave ownership to the store's access-checked methods
// and the services (owners only, billing/admin by role; others get 404).
package web

import (
	"context"
	"dictum/internal/access"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"dictum/internal/auth"
	"dictum/internal/blob"
	"dictum/internal/cliosync"
	"dictum/internal/config"
	"dictum/internal/dictation"
	"dictum/internal/directory"
	"dictum/internal/draft"
	"dictum/internal/exports"
	"dictum/internal/lifecycle"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// Deps are the server's collaborators, passed explicitly.
type Deps struct {
	Config *config.Config
	Store  *store.Store
	Blobs  *blob.Store
	Log    *slog.Logger
	// Events delivers recording progress to SSE subscribers (may be nil).
	Events *Hub
	// Ready reports extra readiness problems (keys, queue); nil means ready.
	Ready func(ctx context.Context) error
	// Now is the clock (tests).
	Now func() time.Time
	// TLS says whether the server is reached over TLS (Secure, __Host- cookies).
	TLS bool
	// Kick wakes the transcription queue after an upload (may be nil).
	Kick func()
	// CARoot is the firm root CA certificate (PEM) served at /ca.crt (may be nil).
	CARoot []byte
	// CRL returns the firm root's signed CRL (DER) served at /ca.crl (nil func or result: 404).
	CRL func() []byte
	// Cancel stops a running transcription of a recording (may be nil).
	Cancel func(recordingID string)
	// Archives makes ZIP archives in the background (nil: New builds one; whoever built
	// it closes it).
	Archives *lifecycle.Archives
	// Backups writes, lists and checks backups (nil: the backup routes answer 503).
	Backups *lifecycle.Backups
	// Drafter drafts typed dictations (nil: the rules engine with the firm's increment).
	Drafter draft.Drafter
}

// Server is the HTTP server.
type Server struct {
	Deps
	app       *fiber.App
	hashParam auth.Params
	dummyHash string
	limiter   *limiter
	clio      *cliosync.Service // nil until SetClio
	settings  *settings.Service
	exports   *exports.Service
	archives  *lifecycle.Archives
	retention *lifecycle.Retention
	dictation *dictation.Service
	directory *directory.Service // sign-in with the firm's AD/LDAP (Enabled false when off)
	access    *access.Service
	once      sync.Once
}

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Events == nil {
		d.Events = NewHub()
	}
	s := &Server{Deps: d}
	s.settings = settings.New(d.Store)
	s.exports = exports.New(d.Store, d.Blobs, s.settings, s.today)
	s.archives = d.Archives
	s.dictation = dictation.New(d.Store, d.Drafter, d.Config, d.Now)
	s.directory = directory.New(d.Config, d.Store)
	s.access = access.New(d.Store, s.settings, d.Now)
	if s.archives == nil {
		s.archives = lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: d.Store, Blobs: d.Blobs, Log: d.Log})
	}
	s.retention = lifecycle.NewRetention(lifecycle.RetentionDeps{Store: d.Store, Blobs: d.Blobs, Settings: s.settings, Now: d.Now, Log: d.Log})
	s.hashParam = auth.Params{MemoryKiB: d.Config.Auth.Argon2MemoryKiB, Time: d.Config.Auth.Argon2Time, Threads: d.Config.Auth.Argon2Threads}
	dh, err := auth.Hash("dummy password for timing", s.hashParam)
	if err != nil {
		return nil, err
	}
	s.dummyHash = dh
	s.limiter = newLimiter(d.Config, d.Now)
	s.app = fiber.New(fiber.Config{
		AppName:               "dictum",
		DisableStartupMessage: true,
		ServerHeader:          "",
		// Every body reaches the handlers as a stream (fasthttp pre-reads at most 8 KiB of
		// it, whatever BodyLimit says); bodyGuard (body.go) reads each one but the upload's
		// into memory up to its route's cap, and the upload handler enforces
		// limits.max_upload_mb itself, mid-stream, while encrypting.
		BodyLimit:         1 << 20,
		StreamRequestBody: true,
		// fasthttp would otherwise pre-read multipart forms and spill large file parts
		// to plaintext temp files: the upload handler parses multipart as a stream instead.
		DisablePreParseMultipartForm: true,
		// Headers and body must arrive within read_timeout (slowloris); headersRead below
		// gives the upload's body upload_read_timeout.
		ReadTimeout:  d.Config.Limits.ReadTimeout.Duration,
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorHandler: s.errorHandler,
		ProxyHeader:  "",
	})
	srv := s.app.Server()
	// A client IP holding more connections than this gets 429 and a closed connection,
	// so one machine cannot exhaust the server with idle or trickling connections.
	srv.MaxConnsPerIP = d.Config.Limits.MaxConnsPerIP
	srv.HeaderReceived = s.headersRead
	s.routes()
	return s, nil
}

// headersRead runs once a request's headers are in: only the audio upload may take longer
// than read_timeout to send its body.
func (s *Server) headersRead(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	path, _, _ := strings.Cut(string(h.RequestURI()), "?")
	if isUpload(string(h.Method()), path) {
		return fasthttp.RequestConfig{ReadTimeout: s.Config.Limits.UploadTimeout.Duration}
	}
	return fasthttp.RequestConfig{}
}

// App exposes the fiber app (tests use App().Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve listens on ln until ctx is done, then shuts down gracefully within the timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Events.Close()
	if err := s.app.ShutdownWithTimeout(timeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// apiError is the one error shape of the API: {"error":{"code","message"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

func errf(status int, code, format string, a ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var ae *apiError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = &apiError{Status: fe.Code, Code: codeFor(fe.Code), Message: fe.Message}
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			ae.Message = "request body too large"
		}
	default:
		ae = mapDomain(err)
		if ae.Status >= 500 {
			s.Log.Error("request failed", "method", c.Method(), "path", logPath(c), "err", err.Error())
		}
	}
	if c.Request().Header.ContentLength() != 0 {
		// The handler may have stopped reading the body (a refused upload): do not try to
		// parse the rest of it as the next request on this connection.
		c.Context().SetConnectionClose()
	}
	if !strings.HasPrefix(c.Path(), "/api/") && ae.Status != fiber.StatusTooManyRequests && acceptsHTML(c) {
		return s.renderError(c, ae)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(ae.Status).JSON(fiber.Map{"error": fiber.Map{"code": ae.Code, "message": ae.Message}})
}

func acceptsHTML(c *fiber.Ctx) bool { return strings.Contains(c.Get(fiber.HeaderAccept), "text/html") }

func codeFor(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 405:
		return "method_not_allowed"
	case 409:
		return "conflict"
	case 413:
		return "too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "invalid"
	case 429:
		return "rate_limited"
	case 503:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}
