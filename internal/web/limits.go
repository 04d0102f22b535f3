package web

import (
	"errors"
	"strings"
	"sync"
	"time"

	"dictum/internal/config"
	"dictum/internal/ratelimit"
)

// limiter holds the server's rate limits and login backoff.
type limiter struct {
	api     *ratelimit.Limiter
	uploads *ratelimit.Limiter
	acct    *ratelimit.Backoff   // failed logins per account
	ip      *ratelimit.Backoff   // failed logins per client IP
	audits  *ratelimit.Coalescer // one login.throttled audit event per account or IP per window
	quota   *uploadQuota
}

func newLimiter(cfg *config.Config, now func() time.Time) *limiter {
	clock := ratelimit.WithClock(now)
	free := cfg.Limits.LoginFailures
	return &limiter{
		api:     ratelimit.New(cfg.Limits.RequestsPerMin, time.Minute, cfg.Limits.RequestsPerMin, clock),
		uploads: ratelimit.New(cfg.Limits.UploadsPerHour, time.Hour, max(1, cfg.Limits.UploadsPerHour/4), clock),
		acct:    ratelimit.NewBackoff(free, time.Second, 15*time.Minute, clock),
		ip:      ratelimit.NewBackoff(free*4, time.Second, 15*time.Minute, clock),
		audits:  ratelimit.NewCoalescer(throttleAuditWindow, clock),
		quota:   &uploadQuota{inflight: map[int64]int64{}},
	}
}

func (l *limiter) allowAPI(key string) (bool, time.Duration) { return l.api.Allow(key) }

func (l *limiter) allowUpload(user string) (bool, time.Duration) { return l.uploads.Allow(user) }

func acctKey(user string) string { return strings.ToLower(strings.TrimSpace(user)) }

// loginWait is how long a login for this account or IP must wait (0 = go ahead).
func (l *limiter) loginWait(user, ip string) time.Duration {
	return max(l.acct.Check(acctKey(user)), l.ip.Check(ip))
}

func (l *limiter) loginFailed(user, ip string) {
	l.acct.Fail(acctKey(user))
	l.ip.Fail(ip)
}

func (l *limiter) loginOK(user, ip string) {
	l.acct.Succeed(acctKey(user))
	l.ip.Succeed(ip)
}

// lockouts lists the accounts and client IPs with failed logins (admin view).
func (l *limiter) lockouts() (accounts, ips []ratelimit.Entry) {
	return l.acct.Locked(), l.ip.Locked()
}

// errQuota is returned by an upload's writer when the user's daily upload quota is spent.
var errQuota = errors.New("daily upload quota reached")

// uploadQuota counts the bytes of uploads still arriving, per user, so that parallel
// uploads share one daily quota (the committed ones are counted in the store).
type uploadQuota struct {
	mu       sync.Mutex
	inflight map[int64]int64
}

// quotaUse is one upload's share of its user's quota: stored is what the user's committed
// recordings of the last 24 hours hold, limit the quota.
type quotaUse struct {
	q             *uploadQuota
	user          int64
	stored, limit int64
	mine          int64
}

func (q *uploadQuota) start(user, stored, limit int64) *quotaUse {
	return &quotaUse{q: q, user: user, stored: stored, limit: limit}
}

// left is what the user may still upload, counting every upload in flight.
func (u *quotaUse) left() int64 {
	u.q.mu.Lock()
	defer u.q.mu.Unlock()
	return u.limit - u.stored - u.q.inflight[u.user]
}

// take counts n more bytes of this upload, or fails with errQuota past the quota.
func (u *quotaUse) take(n int64) error {
	u.q.mu.Lock()
	defer u.q.mu.Unlock()
	u.q.inflight[u.user] += n
	u.mine += n
	if u.stored+u.q.inflight[u.user] > u.limit {
		return errQuota
	}
	return nil
}

// done releases this upload's bytes (once it is stored, the store counts them).
func (u *quotaUse) done() {
	u.q.mu.Lock()
	defer u.q.mu.Unlock()
	if u.q.inflight[u.user] -= u.mine; u.q.inflight[u.user] <= 0 {
		delete(u.q.inflight, u.user)
	}
	u.mine = 0
}
