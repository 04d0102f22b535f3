package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"dictum/internal/identity"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/oauth2"

	"dictum/internal/clio"
	"dictum/internal/config"
	"dictum/internal/entry"
	"dictum/internal/store"
)

// ClioDeps is what the Clio integration needs beyond the server's own dependencies.
type ClioDeps struct {
	// TokenKey seals the OAuth tokens at rest: keys.Derive(store.ClioTokenLabel).
	TokenKey [32]byte
	// HTTPClient talks to Clio (nil: 60 s timeout per request).
	HTTPClient *http.Client
	// Sleep replaces waiting between retries (tests); nil waits for real.
	Sleep clio.Sleeper
}

// ErrClioNotConfigured is returned when the [clio] config section lacks what a connection needs.
var ErrClioNotConfigured = errors.New("Clio is not configured: set clio.client_id, clio.client_secret_file (or DICTUM_CLIO_CLIENT_SECRET) and clio.redirect_url " +
	"(the redirect URL registered with the firm's Clio app, ending in /clio/callback) in dictum.toml, then restart dictum")

// clioConfigError is a [clio] setting that cannot be used (an unreadable secret file, say).
type clioConfigError struct{ err error }

func (e *clioConfigError) Error() string { return e.err.Error() }
func (e *clioConfigError) Unwrap() error { return e.err }

// clioUpstreamError is a failure talking to Clio (shown as 502 with Clio's message).
type clioUpstreamError struct{ err error }

func (e *clioUpstreamError) Error() string { return e.err.Error() }
func (e *clioUpstreamError) Unwrap() error { return e.err }

const (
	clioStateTTL  = 10 * time.Minute
	clioMaxStates = 64
	clioLeaseTTL  = 5 * time.Minute
	clioSyncLimit = 9 * time.Minute // below the server's 10-minute write timeout
)

// ClioService holds the Clio operations shared by the API, the CLI and the scheduler.
// Syncs and imports take a lease in the database, so two of them never run at once, not
// even one from the server and one from `dictum clio sync`.
type ClioService struct {
	cfg  *config.Config
	st   *store.Store
	deps ClioDeps
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	states map[string]oauthState // sha256(state) -> who asked
}

type oauthState struct {
	userID  int64
	session []byte // hash of the session that asked; nil for API tokens
	expires time.Time
}

// NewClioService returns the service; now may be nil (time.Now).
func NewClioService(cfg *config.Config, st *store.Store, deps ClioDeps, log *slog.Logger, now func() time.Time) *ClioService {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &ClioService{cfg: cfg, st: st, deps: deps, log: log, now: now, states: map[string]oauthState{}}
}

// The server's Clio service. Server's fields live in server.go; until it gains a field for
// this, SetClio keeps the service here, keyed weakly so a collected Server frees its entry.
// SetClio enables the Clio routes (call once after New, before serving).
func (s *Server) SetClio(d *ClioDeps) {
	s.clio = NewClioService(s.Config, s.Store, *d, s.Log, s.Now)
}

// ClioScheduledSync is the job `dictum serve` schedules for clio.sync_schedule.
func (s *Server) ClioScheduledSync(ctx context.Context) error {
	svc, err := s.clioService()
	if err != nil {
		return err
	}
	return svc.ScheduledSync(ctx)
}

func (s *Server) clioService() (*ClioService, error) {
	if s.Config.Clio.ClientID == "" {
		return nil, ErrClioNotConfigured
	}
	if s.clio == nil {
		return nil, errf(503, "clio_unavailable", "Clio is configured but this server was started without its token key; restart dictum")
	}
	return s.clio, nil
}

// oauth builds the OAuth configuration from the config file; ErrClioNotConfigured when incomplete.
func (c *ClioService) oauth() (clio.OAuthConfig, error) {
	cc := c.cfg.Clio
	if cc.ClientID == "" || cc.RedirectURL == "" {
		return clio.OAuthConfig{}, ErrClioNotConfigured
	}
	secret, err := c.cfg.ClioSecret()
	if err != nil {
		return clio.OAuthConfig{}, &clioConfigError{fmt.Errorf("clio client secret: %w", err)}
	}
	if secret == "" {
		return clio.OAuthConfig{}, ErrClioNotConfigured
	}
	return clio.OAuthConfig{ClientID: cc.ClientID, ClientSecret: secret, RedirectURL: cc.RedirectURL,
		Region: clio.Region(cc.Region), BaseURL: cc.BaseURL, HTTPClient: c.deps.HTTPClient}, nil
}

// ClioStatus is what GET /api/v1/clio and `dictum clio status` show.
type ClioStatus struct {
	store.ClioConnection
	Schedule string           `json:"sync_schedule"`
	Counts   store.ClioCounts `json:"counts"`
}

// Status reports the connection and the sync counts.
func (c *ClioService) Status(ctx context.Context) (*ClioStatus, error) {
	if _, err := c.oauth(); err != nil {
		return nil, err
	}
	conn, err := c.st.ClioConnection(ctx)
	if err != nil {
		return nil, err
	}
	if conn.Region == "" {
		conn.Region = c.cfg.Clio.Region
	}
	counts, err := c.st.ClioCounts(ctx)
	if err != nil {
		return nil, err
	}
	return &ClioStatus{ClioConnection: *conn, Schedule: c.cfg.Clio.SyncSchedule, Counts: counts}, nil
}

func stateKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// AuthorizeURL starts a connection for an admin: a fresh random state, bound to the user
// (and session, if any) and valid for ten minutes, single use.
func (c *ClioService) AuthorizeURL(userID int64, session []byte) (string, error) {
	oc, err := c.oauth()
	if err != nil {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("clio state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b[:])
	u, err := oc.AuthCodeURL(state)
	if err != nil {
		return "", err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.states {
		if now.After(v.expires) {
			delete(c.states, k)
		}
	}
	if len(c.states) >= clioMaxStates {
		var oldest string
		for k, v := range c.states {
			if oldest == "" || v.expires.Before(c.states[oldest].expires) {
				oldest = k
			}
		}
		delete(c.states, oldest)
	}
	c.states[stateKey(state)] = oauthState{userID: userID, session: bytes.Clone(session), expires: now.Add(clioStateTTL)}
	return u, nil
}

// consumeState returns who started the connection; each state works once.
func (c *ClioService) consumeState(state string) (oauthState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stateKey(state)
	st, ok := c.states[k]
	delete(c.states, k)
	if !ok || c.now().After(st.expires) {
		return oauthState{}, false
	}
	return st, true
}

// Connect exchanges an authorization code and stores the token sealed.
func (c *ClioService) Connect(ctx context.Context, a identity.Actor, code string) error {
	oc, err := c.oauth()
	if err != nil {
		return err
	}
	tok, err := oc.Exchange(ctx, code)
	if err != nil {
		return &clioUpstreamError{err}
	}
	return c.st.ConnectClio(ctx, a, c.deps.TokenKey, strings.ToLower(c.cfg.Clio.Region), tok)
}

// Disconnect forgets the stored token.
func (c *ClioService) Disconnect(ctx context.Context, a identity.Actor) (bool, error) {
	return c.st.DisconnectClio(ctx, a)
}

// client builds an API client from the stored token; refreshed tokens are stored sealed.
func (c *ClioService) client(ctx context.Context) (*clio.Client, error) {
	oc, err := c.oauth()
	if err != nil {
		return nil, err
	}
	tok, err := c.st.ClioToken(ctx, c.deps.TokenKey)
	if err != nil {
		return nil, err
	}
	ts, err := clio.NewTokenSource(oc, tok, func(t *oauth2.Token) error {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return c.st.SaveClioToken(sctx, c.deps.TokenKey, t)
	})
	if err != nil {
		return nil, err
	}
	base, err := oc.Base()
	if err != nil {
		return nil, err
	}
	var opts []clio.Option
	if c.deps.HTTPClient != nil {
		opts = append(opts, clio.WithHTTPClient(c.deps.HTTPClient))
	}
	if c.deps.Sleep != nil {
		opts = append(opts, clio.WithSleeper(c.deps.Sleep))
	}
	return clio.NewClient(base, ts, opts...)
}

// withLease runs fn while holding the firm-wide Clio lease, renewing it; losing the lease
// cancels fn's context.
func (c *ClioService) withLease(ctx context.Context, fn func(ctx context.Context) error) error {
	holder := store.NewID("lease")
	if err := c.st.AcquireClioLease(ctx, holder, clioLeaseTTL); err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := c.st.ReleaseClioLease(rctx, holder); err != nil {
			c.log.Warn("clio: release lease", "err", err.Error())
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(clioLeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := c.st.RenewClioLease(ctx, holder, clioLeaseTTL); err != nil {
					cancel(fmt.Errorf("clio: lost the sync lease: %w", err))
					return
				}
			}
		}
	}()
	err := fn(ctx)
	close(stop)
	wg.Wait()
	return err
}

// Import reads Clio's clients, matters and users and upserts them.
func (c *ClioService) Import(ctx context.Context, a identity.Actor) (*store.ClioImportReport, error) {
	var rep *store.ClioImportReport
	err := c.withLease(ctx, func(ctx context.Context) error {
		cl, err := c.client(ctx)
		if err != nil {
			return err
		}
		res, err := clio.NewSyncer(cl).Import(ctx)
		if err != nil {
			return &clioUpstreamError{err}
		}
		rep, err = c.st.ImportClio(ctx, a, store.ClioImportFrom(res))
		return err
	})
	return rep, err
}

// ClioSynced is an entry that is in Clio now.
type ClioSynced struct {
	EntryID    string `json:"entry_id"`
	ClioID     int64  `json:"clio_id"`
	Reconciled bool   `json:"reconciled"` // found in Clio (an earlier send) rather than created now
}

// ClioFailed is an entry that was not synced, and why.
type ClioFailed struct {
	EntryID string `json:"entry_id"`
	Message string `json:"message"`
}

// ClioSyncReport is the outcome of a push.
type ClioSyncReport struct {
	Synced  []ClioSynced `json:"synced"`
	Failed  []ClioFailed `json:"failed"`
	Skipped []ClioFailed `json:"skipped,omitempty"` // retry ids that are not waiting for Clio
	// Incomplete says why the push stopped before every entry was tried (the rest stay pending).
	Incomplete string `json:"incomplete,omitempty"`
}

// Sync pushes approved entries (only ids, when given) to Clio; trigger names the caller
// for the audit log (api, cli, schedule, retry).
func (c *ClioService) Sync(ctx context.Context, a identity.Actor, trigger string, ids []string) (*ClioSyncReport, error) {
	rep := &ClioSyncReport{Synced: []ClioSynced{}, Failed: []ClioFailed{}}
	err := c.withLease(ctx, func(ctx context.Context) error {
		cl, err := c.client(ctx)
		if err != nil {
			return err
		}
		if ids != nil {
			if ids, err = c.retryable(ctx, ids, rep); err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
		}
		l := c.st.ClioLedger(a, ids...)
		unmapped, err := l.Unmapped(ctx)
		if err != nil {
			return err
		}
		for _, u := range unmapped {
			msg := u.Err.Error()
			if err := l.MarkFailed(ctx, u.EntryID, msg); err != nil {
				msg += fmt.Sprintf(" (and recording the failure failed: %v)", err)
			}
			rep.Failed = append(rep.Failed, ClioFailed{EntryID: u.EntryID, Message: msg})
		}
		syncer := clio.NewSyncer(cl)
		if c.deps.Sleep != nil {
			syncer.Sleep = c.deps.Sleep
		}
		r, perr := syncer.Push(ctx, l)
		for _, s := range r.Synced {
			rep.Synced = append(rep.Synced, ClioSynced{EntryID: s.EntryID, ClioID: s.ClioID, Reconciled: s.Reconciled})
		}
		for _, f := range r.Failed {
			rep.Failed = append(rep.Failed, ClioFailed{EntryID: f.EntryID, Message: f.Err.Error()})
		}
		if perr != nil {
			if ctx.Err() == nil {
				return perr
			}
			rep.Incomplete = perr.Error() + "; entries not reached stay pending"
		}
		last := ""
		switch {
		case rep.Incomplete != "":
			last = rep.Incomplete
		case len(rep.Failed) > 0:
			last = fmt.Sprintf("%s failed; see the Clio errors list", entries(len(rep.Failed)))
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		return c.st.RecordClioSync(rctx, a, trigger, len(rep.Synced), len(rep.Failed), last)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// retryable keeps the ids that are approved entries not yet in Clio; the others go to
// rep.Skipped with the reason.
func (c *ClioService) retryable(ctx context.Context, ids []string, rep *ClioSyncReport) ([]string, error) {
	keep := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		e, err := c.st.EntryByID(ctx, id)
		if errors.Is(err, entry.ErrNotFound) {
			rep.Skipped = append(rep.Skipped, ClioFailed{EntryID: id, Message: "no such entry"})
			continue
		}
		if err != nil {
			return nil, err
		}
		switch {
		case e.Status == entry.Synced || (e.ClioState != nil && *e.ClioState == "synced"):
			rep.Skipped = append(rep.Skipped, ClioFailed{EntryID: id, Message: "already in Clio"})
		case e.Status != entry.Approved:
			rep.Skipped = append(rep.Skipped, ClioFailed{EntryID: id, Message: fmt.Sprintf("the entry is %s; only approved entries are pushed", e.Status)})
		default:
			keep = append(keep, id)
		}
	}
	return keep, nil
}

// Retry pushes the given entries again, or every failed one when ids is empty.
func (c *ClioService) Retry(ctx context.Context, a identity.Actor, ids []string) (*ClioSyncReport, error) {
	if len(ids) == 0 {
		errs, err := c.st.ClioErrors(ctx)
		if err != nil {
			return nil, err
		}
		ids = []string{}
		for _, e := range errs {
			ids = append(ids, e.EntryID)
		}
		if len(ids) == 0 {
			return &ClioSyncReport{Synced: []ClioSynced{}, Failed: []ClioFailed{}}, nil
		}
	}
	return c.Sync(ctx, a, "retry", ids)
}

// Errors lists entries whose last push failed.
func (c *ClioService) Errors(ctx context.Context) ([]store.ClioSyncError, error) {
	if _, err := c.oauth(); err != nil {
		return nil, err
	}
	return c.st.ClioErrors(ctx)
}

// ScheduledSync is the scheduler's job: a push as "system". Not being connected, or
// another sync running, is logged and skipped; failed entries make the job fail (logged).
func (c *ClioService) ScheduledSync(ctx context.Context) error {
	rep, err := c.Sync(ctx, identity.System(), "schedule", nil)
	switch {
	case errors.Is(err, store.ErrClioBusy):
		c.log.Info("clio: scheduled sync skipped: another sync is running")
		return nil
	case errors.Is(err, store.ErrClioNotConnected):
		return errors.New("clio: scheduled sync skipped: Clio is not connected (an admin connects it in Settings)")
	case err != nil:
		return fmt.Errorf("clio: scheduled sync: %w", err)
	}
	c.log.Info("clio: scheduled sync", "synced", len(rep.Synced), "failed", len(rep.Failed))
	if rep.Incomplete != "" {
		return fmt.Errorf("clio: scheduled sync stopped early: %s", rep.Incomplete)
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("clio: scheduled sync: %d of %s failed (see GET /api/v1/clio/errors)", len(rep.Failed), entries(len(rep.Failed)+len(rep.Synced)))
	}
	return nil
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// ---- HTTP ----

// clioErr maps the integration's errors to API errors.
func clioErr(err error) error {
	var ue *clioUpstreamError
	var ce *clioConfigError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClioNotConfigured):
		return errf(409, "clio_not_configured", "%s", err.Error())
	case errors.Is(err, store.ErrClioNotConnected):
		return errf(409, "clio_not_connected", "Clio is not connected: an admin connects it first (POST /api/v1/clio/connect)")
	case errors.Is(err, store.ErrClioBusy):
		return errf(409, "clio_busy", "another Clio sync or import is running; try again when it has finished")
	case errors.As(err, &ce):
		return errf(409, "clio_not_configured", "%s", ce.err.Error())
	case errors.As(err, &ue):
		return errf(502, "clio_error", "Clio: %s", ue.err.Error())
	}
	return err
}

// clioCaller checks the role, then that Clio is configured.
func (s *Server) clioCaller(c *fiber.Ctx, roles ...string) (*caller, *ClioService, error) {
	p, err := needRole(c, roles...)
	if err != nil {
		return nil, nil, err
	}
	svc, err := s.clioService()
	if err != nil {
		return nil, nil, clioErr(err)
	}
	if _, err := svc.oauth(); err != nil {
		return nil, nil, clioErr(err)
	}
	return p, svc, nil
}

func (s *Server) apiClioStatus(c *fiber.Ctx) error {
	_, svc, err := s.clioCaller(c, store.RoleBilling, store.RoleAdmin)
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
	p, svc, err := s.clioCaller(c, store.RoleAdmin)
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
	return c.JSON(fiber.Map{"authorize_url": u, "expires_in": int(clioStateTTL.Seconds())})
}

func (s *Server) apiClioDisconnect(c *fiber.Ctx) error {
	p, svc, err := s.clioCaller(c, store.RoleAdmin)
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
	p, svc, err := s.clioCaller(c, store.RoleBilling, store.RoleAdmin)
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
	p, svc, err := s.clioCaller(c, store.RoleBilling, store.RoleAdmin)
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
	_, svc, err := s.clioCaller(c, store.RoleBilling, store.RoleAdmin)
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
	p, svc, err := s.clioCaller(c, store.RoleBilling, store.RoleAdmin)
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
	if len(req.IDs) > 5000 {
		return errf(400, "bad_request", "at most 5000 ids per retry")
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

// clioCallback is where Clio sends the admin's browser back. The session cookie is
// SameSite=Strict, so this cross-site navigation usually arrives without it: the state
// (random, single use, ten minutes) identifies the admin who asked, whose account and,
// if they asked from a browser session, that session must still be valid. A request that
// does carry a session must be that admin's.
func (s *Server) clioCallback(c *fiber.Ctx) error {
	svc, err := s.clioService()
	if err != nil {
		return clioErr(err)
	}
	if _, err := svc.oauth(); err != nil {
		return clioErr(err)
	}
	state := c.Query("state")
	if e := c.Query("error"); e != "" {
		if state != "" {
			svc.consumeState(state)
		}
		desc := c.Query("error_description")
		if len(desc) > 200 {
			desc = desc[:200]
		}
		return errf(400, "clio_denied", "Clio did not connect (%s %s). Start again from Settings.", strings.ToValidUTF8(e, ""), strings.ToValidUTF8(desc, ""))
	}
	code := c.Query("code")
	if code == "" || state == "" {
		return errf(400, "bad_request", "the Clio callback needs code and state; start again from Settings")
	}
	st, ok := svc.consumeState(state)
	if !ok {
		return errf(403, "clio_state", "this Clio connection link is not valid (unknown, used or older than ten minutes); start again from Settings")
	}
	ctx := c.UserContext()
	if p, _ := c.Locals("p").(*caller); p != nil && p.User.ID != st.userID {
		return errf(403, "clio_state", "this Clio connection was started by another user")
	}
	u, err := s.Store.UserByID(ctx, st.userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || u.Role != store.RoleAdmin)) {
		return errf(403, "clio_state", "the user who started this Clio connection is no longer an active admin")
	}
	if err != nil {
		return err
	}
	if st.session != nil {
		sess, err := s.Store.SessionByHash(ctx, st.session)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !s.Now().Before(sess.ExpiresAt)) {
			return errf(403, "clio_state", "the session that started this Clio connection has ended; log in and start again")
		}
		if err != nil {
			return err
		}
	}
	if err := svc.Connect(ctx, identity.Actor{Username: u.Username, IP: c.IP()}, code); err != nil {
		return clioErr(err)
	}
	var buf bytes.Buffer
	if err := clioDonePage.Execute(&buf, struct{ Region, User string }{strings.ToUpper(s.Config.Clio.Region), u.Username}); err != nil {
		return fmt.Errorf("render clio page: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(200).Send(buf.Bytes())
}
