// Package cliosync is Dictum's Clio integration as an application service: connecting
// the firm's Clio account (OAuth), importing clients, matters and timekeeper links, and
// pushing approved time entries (idempotently, with per-entry errors). The web API, the
// `dictum clio` commands and the scheduler all go through Service.
package cliosync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"dictum/internal/clio"
	"dictum/internal/config"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// leaseTTL is how long the firm-wide Clio lease lasts unless renewed.
const leaseTTL = 5 * time.Minute

// MaxRetryIDs bounds the entries one retry may name.
const MaxRetryIDs = 5000

// Deps are what the service works with.
type Deps struct {
	Config *config.Config
	Store  *store.Store
	// TokenKey seals the OAuth tokens at rest: keys.Derive(TokenLabel).
	TokenKey [32]byte
	// HTTPClient talks to Clio (nil: 60 s timeout per request).
	HTTPClient *http.Client
	// Sleep replaces waiting between retries (tests); nil waits for real.
	Sleep clio.Sleeper
	// Log receives warnings and the scheduled sync's outcome (nil: slog.Default()).
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service holds the Clio operations shared by the API, the CLI and the scheduler.
// Syncs and imports take a lease in the database, so two of them never run at once, not
// even one from the server and one from `dictum clio sync`.
type Service struct {
	cfg    *config.Config
	st     *store.Store
	deps   Deps
	log    *slog.Logger
	now    func() time.Time
	states states // connections started, waiting for Clio's callback
}

// New returns the service.
func New(d Deps) *Service {
	log, now := d.Log, d.Now
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Service{cfg: d.Config, st: d.Store, deps: d, log: log, now: now}
}

// CheckConfigured reports whether the [clio] config section has what a connection needs:
// ErrNotConfigured, or a *ConfigError for a setting that cannot be used.
func (c *Service) CheckConfigured() error {
	_, err := c.oauth()
	return err
}

// oauth builds the OAuth configuration from the config file; ErrNotConfigured when incomplete.
func (c *Service) oauth() (clio.OAuthConfig, error) {
	cc := c.cfg.Clio
	if cc.ClientID == "" || cc.RedirectURL == "" {
		return clio.OAuthConfig{}, ErrNotConfigured
	}
	secret, err := c.cfg.ClioSecret()
	if err != nil {
		return clio.OAuthConfig{}, &ConfigError{fmt.Errorf("clio client secret: %w", err)}
	}
	if secret == "" {
		return clio.OAuthConfig{}, ErrNotConfigured
	}
	return clio.OAuthConfig{ClientID: cc.ClientID, ClientSecret: secret, RedirectURL: cc.RedirectURL,
		Region: clio.Region(cc.Region), BaseURL: cc.BaseURL, HTTPClient: c.deps.HTTPClient}, nil
}

// Status is what GET /api/v1/clio and `dictum clio status` show.
type Status struct {
	store.ClioConnection
	Schedule string           `json:"sync_schedule"`
	Counts   store.ClioCounts `json:"counts"`
}

// Status reports the connection and the sync counts.
func (c *Service) Status(ctx context.Context) (*Status, error) {
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
	return &Status{ClioConnection: *conn, Schedule: c.cfg.Clio.SyncSchedule, Counts: counts}, nil
}

// AuthorizeURL starts a connection for an admin: a fresh random state, bound to the user
// (and session, if any) and valid for StateTTL, single use.
func (c *Service) AuthorizeURL(userID int64, session []byte) (string, error) {
	oc, err := c.oauth()
	if err != nil {
		return "", err
	}
	state, err := randomState()
	if err != nil {
		return "", err
	}
	u, err := oc.AuthCodeURL(state)
	if err != nil {
		return "", err
	}
	c.states.add(c.now(), state, userID, session)
	return u, nil
}

// Callback is what Clio sends the admin's browser back with.
type Callback struct {
	Code, State string
	// Error and ErrorDescription are set when Clio did not grant access.
	Error, ErrorDescription string
	// CallerID is the signed-in user the request carries (0: none; the session cookie is
	// SameSite=Strict, so the cross-site navigation from Clio usually arrives without it).
	CallerID int64
	// IP is the request's address, for the audit log.
	IP string
}

// FinishConnect completes a connection from Clio's callback and returns the admin who
// started it. The state (random, single use, StateTTL) identifies that admin, whose
// account and, if they asked from a browser session, that session must still be valid; a
// request that carries a signed-in user must be that admin's.
func (c *Service) FinishConnect(ctx context.Context, cb Callback) (string, error) {
	if _, err := c.oauth(); err != nil {
		return "", err
	}
	if cb.Error != "" {
		if cb.State != "" {
			c.states.consume(c.now(), cb.State)
		}
		desc := cb.ErrorDescription
		if len(desc) > 200 {
			desc = desc[:200]
		}
		return "", &DeniedError{fmt.Sprintf("Clio did not connect (%s %s). Start again from Settings.", strings.ToValidUTF8(cb.Error, ""), strings.ToValidUTF8(desc, ""))}
	}
	if cb.Code == "" || cb.State == "" {
		return "", &InputError{"the Clio callback needs code and state; start again from Settings"}
	}
	st, ok := c.states.consume(c.now(), cb.State)
	if !ok {
		return "", &StateError{"this Clio connection link is not valid (unknown, used or older than ten minutes); start again from Settings"}
	}
	if cb.CallerID != 0 && cb.CallerID != st.userID {
		return "", &StateError{"this Clio connection was started by another user"}
	}
	u, err := c.st.UserByID(ctx, st.userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || u.Role != store.RoleAdmin)) {
		return "", &StateError{"the user who started this Clio connection is no longer an active admin"}
	}
	if err != nil {
		return "", err
	}
	if st.session != nil {
		sess, err := c.st.SessionByHash(ctx, st.session)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !c.now().Before(sess.ExpiresAt)) {
			return "", &StateError{"the session that started this Clio connection has ended; log in and start again"}
		}
		if err != nil {
			return "", err
		}
	}
	if err := c.connect(ctx, identity.Actor{Username: u.Username, IP: cb.IP}, cb.Code); err != nil {
		return "", err
	}
	return u.Username, nil
}

// connect exchanges an authorization code and stores the token sealed.
func (c *Service) connect(ctx context.Context, a identity.Actor, code string) error {
	oc, err := c.oauth()
	if err != nil {
		return err
	}
	tok, err := oc.Exchange(ctx, code)
	if err != nil {
		return &UpstreamError{err}
	}
	sealed, err := sealToken(c.deps.TokenKey, tok)
	if err != nil {
		return err
	}
	return c.st.ConnectClio(ctx, a, strings.ToLower(c.cfg.Clio.Region), sealed)
}

// Disconnect forgets the stored token; it reports whether there was one.
func (c *Service) Disconnect(ctx context.Context, a identity.Actor) (bool, error) {
	return c.st.DisconnectClio(ctx, a)
}

// client builds an API client from the stored token; refreshed tokens are stored sealed.
func (c *Service) client(ctx context.Context) (*clio.Client, error) {
	oc, err := c.oauth()
	if err != nil {
		return nil, err
	}
	tok, err := OpenToken(ctx, c.st, c.deps.TokenKey)
	if err != nil {
		return nil, err
	}
	ts, err := clio.NewTokenSource(oc, tok, func(t *oauth2.Token) error {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return SaveToken(sctx, c.st, c.deps.TokenKey, t)
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
func (c *Service) withLease(ctx context.Context, fn func(ctx context.Context) error) error {
	holder := store.NewID("lease")
	if err := c.st.AcquireClioLease(ctx, holder, leaseTTL); err != nil {
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
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := c.st.RenewClioLease(ctx, holder, leaseTTL); err != nil {
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
func (c *Service) Import(ctx context.Context, a identity.Actor) (*store.ClioImportReport, error) {
	var rep *store.ClioImportReport
	err := c.withLease(ctx, func(ctx context.Context) error {
		cl, err := c.client(ctx)
		if err != nil {
			return err
		}
		res, err := clio.NewSyncer(cl).Import(ctx)
		if err != nil {
			return &UpstreamError{err}
		}
		rep, err = c.st.ImportClio(ctx, a, importInput(res))
		return err
	})
	return rep, err
}

// SyncedEntry is an entry that is in Clio now.
type SyncedEntry struct {
	EntryID    string `json:"entry_id"`
	ClioID     int64  `json:"clio_id"`
	Reconciled bool   `json:"reconciled"` // found in Clio (an earlier send) rather than created now
}

// FailedEntry is an entry that was not synced, and why.
type FailedEntry struct {
	EntryID string `json:"entry_id"`
	Message string `json:"message"`
}

// SyncReport is the outcome of a push.
type SyncReport struct {
	Synced  []SyncedEntry `json:"synced"`
	Failed  []FailedEntry `json:"failed"`
	Skipped []FailedEntry `json:"skipped,omitempty"` // retry ids that are not waiting for Clio
	// Incomplete says why the push stopped before every entry was tried (the rest stay pending).
	Incomplete string `json:"incomplete,omitempty"`
}

// Sync pushes approved entries (only ids, when given) to Clio; trigger names the caller
// for the audit log (api, cli, schedule, retry).
func (c *Service) Sync(ctx context.Context, a identity.Actor, trigger string, ids []string) (*SyncReport, error) {
	rep := &SyncReport{Synced: []SyncedEntry{}, Failed: []FailedEntry{}}
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
		l := newLedger(c.st, a, ids...)
		unmapped, err := l.Unmapped(ctx)
		if err != nil {
			return err
		}
		for _, u := range unmapped {
			msg := u.Err.Error()
			if err := l.MarkFailed(ctx, u.EntryID, msg); err != nil {
				msg += fmt.Sprintf(" (and recording the failure failed: %v)", err)
			}
			rep.Failed = append(rep.Failed, FailedEntry{EntryID: u.EntryID, Message: msg})
		}
		syncer := clio.NewSyncer(cl)
		if c.deps.Sleep != nil {
			syncer.Sleep = c.deps.Sleep
		}
		r, perr := syncer.Push(ctx, l)
		for _, s := range r.Synced {
			rep.Synced = append(rep.Synced, SyncedEntry{EntryID: s.EntryID, ClioID: s.ClioID, Reconciled: s.Reconciled})
		}
		for _, f := range r.Failed {
			rep.Failed = append(rep.Failed, FailedEntry{EntryID: f.EntryID, Message: f.Err.Error()})
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
func (c *Service) retryable(ctx context.Context, ids []string, rep *SyncReport) ([]string, error) {
	keep := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		e, err := c.st.EntryByID(ctx, id)
		if errors.Is(err, entry.ErrNotFound) {
			rep.Skipped = append(rep.Skipped, FailedEntry{EntryID: id, Message: "no such entry"})
			continue
		}
		if err != nil {
			return nil, err
		}
		switch {
		case e.Status == entry.Synced || (e.ClioState != nil && *e.ClioState == "synced"):
			rep.Skipped = append(rep.Skipped, FailedEntry{EntryID: id, Message: "already in Clio"})
		case e.Status != entry.Approved:
			rep.Skipped = append(rep.Skipped, FailedEntry{EntryID: id, Message: fmt.Sprintf("the entry is %s; only approved entries are pushed", e.Status)})
		default:
			keep = append(keep, id)
		}
	}
	return keep, nil
}

// Retry pushes the given entries again (at most MaxRetryIDs), or every failed one when
// ids is empty.
func (c *Service) Retry(ctx context.Context, a identity.Actor, ids []string) (*SyncReport, error) {
	if len(ids) > MaxRetryIDs {
		return nil, &InputError{fmt.Sprintf("at most %d ids per retry", MaxRetryIDs)}
	}
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
			return &SyncReport{Synced: []SyncedEntry{}, Failed: []FailedEntry{}}, nil
		}
	}
	return c.Sync(ctx, a, "retry", ids)
}

// Errors lists entries whose last push failed.
func (c *Service) Errors(ctx context.Context) ([]store.ClioSyncError, error) {
	if _, err := c.oauth(); err != nil {
		return nil, err
	}
	return c.st.ClioErrors(ctx)
}

// ScheduledSync is the scheduler's job: a push as "system". Not being connected, or
// another sync running, is logged and skipped; failed entries make the job fail (logged).
func (c *Service) ScheduledSync(ctx context.Context) error {
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
