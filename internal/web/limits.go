package web

import (
	"strings"
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
