// Package access is who may see a matter inside the firm (ethical walls) and what a
// client outside it may see (share links).
//
// Walls: the rule itself is one SQL condition in the store (matterVisible) that every
// matter, entry, export, archive and audit query applies for the person asking; this
// service changes walls (admins, with a reason, audited) and reads them.
//
// Share links: a billing user or admin creates a link to one matter and a date range;
// its token is shown once and only its SHA-256 is kept. Opening it needs no account and
// shows only approved, exported or synced entries of that matter in that range. Each
// link answers at most TokenPerHour requests an hour; failed lookups back off per IP
// (brute force); expired, revoked and unknown tokens are one and the same "not found".
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"dictum/internal/billing"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/ratelimit"
	"dictum/internal/settings"
	"dictum/internal/store"
)

// Limits of share links.
const (
	DefaultShareDays = 14
	MaxShareDays     = 90
	// TokenPerHour is how many requests one share link answers in an hour.
	TokenPerHour = 100
	// FreeMisses is how many unknown tokens an IP may try before it is made to wait
	// (doubling up to MaxMissWait).
	FreeMisses  = 10
	MaxMissWait = 30 * time.Minute
	// MaxReasonLen and MaxLabelLen bound the free text.
	MaxReasonLen = 500
	MaxLabelLen  = 120
	// MaxShareRows bounds a shared page (and its CSV).
	MaxShareRows = 5000
)

// LimitedError: too many requests; try again after RetryAfter.
type LimitedError struct{ RetryAfter time.Duration }

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many requests; try again in %s", e.RetryAfter.Round(time.Second))
}

// Service changes walls and serves share links.
type Service struct {
	store    *store.Store
	firm     *settings.Service
	now      func() time.Time
	perToken *ratelimit.Limiter
	perIP    *ratelimit.Backoff
}

// New builds the service (now nil: time.Now).
func New(st *store.Store, firm *settings.Service, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	clock := ratelimit.WithClock(now)
	return &Service{store: st, firm: firm, now: now,
		perToken: ratelimit.New(TokenPerHour, time.Hour, TokenPerHour, clock),
		perIP:    ratelimit.NewBackoff(FreeMisses, time.Second, MaxMissWait, clock)}
}

// ---- walls ----

// Wall reads a matter's wall; a matter the actor may not see is store.ErrNotFound.
func (s *Service) Wall(ctx context.Context, a identity.Actor, matterID string) (*store.MatterAccess, error) {
	if _, err := s.store.MatterFor(ctx, a, matterID); err != nil {
		return nil, err
	}
	return s.store.MatterAccessOf(ctx, matterID)
}

// WallChange is what PUT .../access sends.
type WallChange struct {
	Restricted bool     `json:"restricted"`
	Members    []string `json:"members"`
	Screened   []string `json:"screened"`
	Reason     string   `json:"reason"`
}

// SetWall replaces a matter's wall: admins only, with a reason (the audit log keeps who,
// why and the before and after).
func (s *Service) SetWall(ctx context.Context, a identity.Actor, matterID string, c WallChange) (*store.MatterAccess, error) {
	if a.Role != identity.RoleAdmin {
		return nil, fmt.Errorf("%w: only an administrator changes a matter's wall", entry.ErrForbidden)
	}
	if _, err := s.store.MatterFor(ctx, a, matterID); err != nil {
		return nil, err
	}
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Reason == "" {
		return nil, fmt.Errorf("%w: a reason is required (it is kept in the audit log)", store.ErrInvalid)
	}
	if utf8.RuneCountInString(c.Reason) > MaxReasonLen {
		return nil, fmt.Errorf("%w: the reason is longer than %d characters", store.ErrInvalid, MaxReasonLen)
	}
	clean := func(in []string) []string {
		out := []string{}
		for _, n := range in {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
		return out
	}
	c.Members, c.Screened = clean(c.Members), clean(c.Screened)
	for _, n := range c.Screened {
		if strings.EqualFold(n, a.Username) {
			// An admin screening themselves would lose the matter at once; another admin does it.
			return nil, fmt.Errorf("%w: you cannot screen yourself; ask another administrator", store.ErrInvalid)
		}
	}
	if c.Restricted && len(c.Members) == 0 {
		return nil, fmt.Errorf("%w: a restricted matter needs at least one member", store.ErrInvalid)
	}
	return s.store.SetMatterAccess(ctx, a, store.MatterAccess{MatterID: matterID, Restricted: c.Restricted, Members: c.Members, Screened: c.Screened, Reason: c.Reason})
}

// ---- share links ----

// ShareRequest is what POST .../shares sends.
type ShareRequest struct {
	From          string `json:"from"`
	To            string `json:"to"`
	ExpiresInDays int    `json:"expires_in_days"`
	Label         string `json:"label"`
}

// Created is a new share link: Token is shown once (the store keeps its hash only).
type Created struct {
	Share *store.Share
	Token string
}

// HashToken is what the store keeps of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateShare makes a share link for a matter the actor may see (billing and admin).
func (s *Service) CreateShare(ctx context.Context, a identity.Actor, matterID string, r ShareRequest) (*Created, error) {
	if !a.Privileged() {
		return nil, fmt.Errorf("%w: only billing and administrators share matters", entry.ErrForbidden)
	}
	var problems []string
	for _, d := range []string{r.From, r.To} {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			problems = append(problems, fmt.Sprintf("from and to must be YYYY-MM-DD dates, got %q", clip(d, 20)))
		}
	}
	if len(problems) == 0 && r.To < r.From {
		problems = append(problems, fmt.Sprintf("to (%s) is before from (%s)", r.To, r.From))
	}
	days := r.ExpiresInDays
	if days == 0 {
		days = DefaultShareDays
	}
	if days < 1 || days > MaxShareDays {
		problems = append(problems, fmt.Sprintf("expires_in_days must be between 1 and %d", MaxShareDays))
	}
	r.Label = strings.TrimSpace(r.Label)
	if utf8.RuneCountInString(r.Label) > MaxLabelLen {
		problems = append(problems, fmt.Sprintf("label is longer than %d characters", MaxLabelLen))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", store.ErrInvalid, strings.Join(problems, "; "))
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("share token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	sh := &store.Share{MatterID: matterID, TokenLast4: token[len(token)-4:], Label: r.Label, From: r.From, To: r.To,
		ExpiresAt: s.now().UTC().Add(time.Duration(days) * 24 * time.Hour).Format(time.RFC3339)}
	if err := s.store.CreateShare(ctx, a, sh, HashToken(token)); err != nil {
		return nil, err
	}
	return &Created{Share: sh, Token: token}, nil
}

// Shares lists a matter's links (store.ErrNotFound for a matter the actor may not see).
func (s *Service) Shares(ctx context.Context, a identity.Actor, matterID string) ([]*store.Share, error) {
	return s.store.Shares(ctx, a, matterID)
}

// Revoke revokes a link at once.
func (s *Service) Revoke(ctx context.Context, a identity.Actor, matterID, id string) (*store.Share, error) {
	return s.store.RevokeShare(ctx, a, matterID, id)
}

// SharedEntry is one line of a shared page: what a client reviews, nothing more (no
// drafts, transcripts or audio, no internal ids).
type SharedEntry struct {
	Date       string
	Timekeeper string
	Hours      billing.Tenths
	Activity   string
	Task       string
	Narrative  string
	Billable   bool
	Rate       billing.Cents
	Amount     billing.Cents
}

// Shared is what a share link shows.
type Shared struct {
	ShareID      string
	Firm         string
	Client       string
	MatterNumber string
	MatterName   string
	From, To     string
	ExpiresAt    string
	Entries      []SharedEntry
	Hours        billing.Tenths
	Amount       billing.Cents
	Truncated    bool
}

// Open resolves a token seen from ip and returns what it shows, counting and auditing
// the view (what: "page" or "csv"). Unknown, expired and revoked tokens are all
// store.ErrNotFound; too many requests are *LimitedError.
func (s *Service) Open(ctx context.Context, token, ip, what string) (*Shared, error) {
	if wait := s.perIP.Check(ip); wait > 0 {
		return nil, &LimitedError{RetryAfter: wait}
	}
	sh, err := s.valid(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		s.perIP.Fail(ip)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if ok, wait := s.perToken.Allow(sh.ID); !ok {
		return nil, &LimitedError{RetryAfter: wait}
	}
	m, err := s.store.MatterFor(ctx, identity.System(), sh.MatterID)
	if err != nil {
		return nil, err
	}
	firm, err := s.firm.Firm(ctx)
	if err != nil {
		return nil, err
	}
	out := &Shared{ShareID: sh.ID, Firm: firm.Name, Client: m.Client, MatterNumber: m.Number, MatterName: m.Name, From: sh.From, To: sh.To, ExpiresAt: sh.ExpiresAt}
	rows, err := s.store.ExportRows(ctx, store.ExportFilter{From: sh.From, To: sh.To, MatterID: sh.MatterID,
		Statuses: []string{entry.Approved, entry.Exported, entry.Synced}, DefaultRate: firm.DefaultRate})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for {
		r, ok, err := rows.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if r.MatterID != sh.MatterID { // the filter names the matter; never anything else
			continue
		}
		if len(out.Entries) >= MaxShareRows {
			out.Truncated = true
			break
		}
		amt := billing.Cents(0)
		if r.Billable {
			if amt, err = billing.Amount(r.Hours, r.RateCents); err != nil {
				return nil, err
			}
		}
		out.Entries = append(out.Entries, SharedEntry{Date: r.Date, Timekeeper: r.TimekeeperName, Hours: r.Hours, Activity: r.Activity, Task: r.Task,
			Narrative: r.Narrative, Billable: r.Billable, Rate: r.RateCents, Amount: amt})
		out.Hours += r.Hours
		out.Amount += amt
	}
	if err := s.store.RecordShareView(ctx, sh.ID, ip, what); err != nil {
		return nil, err // no audit record, no page
	}
	return out, nil
}

func (s *Service) valid(ctx context.Context, token string) (*store.Share, error) {
	if len(token) < 20 || len(token) > 100 {
		return nil, store.ErrNotFound
	}
	sh, err := s.store.ShareByTokenHash(ctx, HashToken(token))
	if err != nil {
		return nil, err
	}
	exp, err := time.Parse(time.RFC3339, sh.ExpiresAt)
	if err != nil || sh.RevokedAt != nil || !s.now().Before(exp) {
		return nil, store.ErrNotFound
	}
	return sh, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
