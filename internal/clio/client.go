package clio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"dictum/internal/clio/clioapi"
	"dictum/internal/httpretry"
)

// ErrOutcomeUnknown marks a failed write whose effect on Clio is unknown: the request may
// or may not have been applied (5xx answer, connection lost or deadline hit after the
// request was sent). Callers must read back before sending it again; Syncer does.
var ErrOutcomeUnknown = errors.New("clio: outcome of write unknown")

// APIError is a non-success answer from Clio.
type APIError struct {
	Method     string
	Path       string
	Status     int
	Message    string        // Clio's error message, or the start of the body
	RetryAfter time.Duration // for 429 answers
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("clio: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Sleeper waits for d or until ctx is done. Tests inject one that does not sleep.
type Sleeper func(ctx context.Context, d time.Duration) error

// Client calls the Clio API v4 with a bearer token.
//
// Failure handling: a 401 refreshes the token once (when the token source can refresh) and
// retries, a second 401 fails; a 429 waits for Retry-After (each wait bounded, a bounded
// number of times; see WithRetries) and retries; 5xx answers and network errors are
// retried with exponential backoff (1 s, 2 s, 4 s, ...) for reads only: a failed write
// returns an error wrapping ErrOutcomeUnknown instead, because Clio has no idempotency key
// and a blind retry could create a duplicate time entry. Deadlines and cancellation come
// from the caller's context.
type Client struct {
	base  *url.URL
	hc    *http.Client
	ts    oauth2.TokenSource
	sleep Sleeper

	serverRetries    int
	rateLimitRetries int
	maxWait          time.Duration
	apiVersion       string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: 60 s timeout per request).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithSleeper replaces time-based waiting (tests).
func WithSleeper(s Sleeper) Option { return func(c *Client) { c.sleep = s } }

// WithRetries sets how often reads are retried after 5xx/network errors (default 3), how
// often any request is retried after 429 (default 5), and the longest single Retry-After
// wait accepted (default 2 minutes; a longer demand fails the call).
func WithRetries(serverRetries, rateLimitRetries int, maxWait time.Duration) Option {
	return func(c *Client) {
		c.serverRetries, c.rateLimitRetries, c.maxWait = serverRetries, rateLimitRetries, maxWait
	}
}

// APIVersion is the X-API-VERSION every request sends (see clioapi.Version).
const APIVersion = clioapi.Version

// WithAPIVersion overrides the pinned X-API-VERSION (default APIVersion). Versions before
// 4.0.4 count TimeEntry quantity in hours, not seconds: NewClient refuses them.
func WithAPIVersion(v string) Option { return func(c *Client) { c.apiVersion = v } }

// secondsVersion reports whether a 4.x.y version counts quantity in seconds (>= 4.0.4).
func secondsVersion(v string) bool {
	var major, minor, patch int
	if n, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil || n != 3 || fmt.Sprintf("%d.%d.%d", major, minor, patch) != v {
		return false
	}
	return major == 4 && (minor > 0 || patch >= 4)
}

// NewClient returns a client for baseURL (OAuthConfig.Base()) using ts for bearer tokens.
// If ts is a *TokenSource (or has Refresh(ctx, stale string) error), 401s refresh once.
func NewClient(baseURL string, ts oauth2.TokenSource, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("clio: base url %q must be http(s)://host", baseURL)
	}
	if ts == nil {
		return nil, errors.New("clio: token source is required")
	}
	c := &Client{
		base:             &url.URL{Scheme: u.Scheme, Host: u.Host},
		hc:               &http.Client{Timeout: 60 * time.Second},
		ts:               ts,
		sleep:            httpretry.Sleep,
		serverRetries:    3,
		rateLimitRetries: 5,
		maxWait:          2 * time.Minute,
		apiVersion:       APIVersion,
	}
	for _, o := range opts {
		o(c)
	}
	if !secondsVersion(c.apiVersion) {
		return nil, fmt.Errorf("clio: API version %q: Dictum needs a 4.x.y version from 4.0.4 on (quantity in seconds)", c.apiVersion)
	}
	if c.serverRetries < 0 || c.rateLimitRetries < 0 || c.maxWait < 0 {
		return nil, errors.New("clio: retry limits must not be negative")
	}
	return c, nil
}

type refresher interface {
	Refresh(ctx context.Context, stale string) error
}

type ctxTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if cts, ok := c.ts.(ctxTokenSource); ok {
		return cts.TokenContext(ctx)
	}
	return c.ts.Token()
}

// resolve turns a path ("/api/v4/matters.json") or an absolute URL from meta.paging.next
// into a URL on the configured host. Absolute URLs for other hosts are refused so the
// bearer token is never sent elsewhere.
func (c *Client) resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("clio: bad url %q: %w", ref, err)
	}
	if u.IsAbs() {
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return "", fmt.Errorf("clio: refusing to follow %s://%s (not the configured Clio host)", u.Scheme, u.Host)
		}
		return u.String(), nil
	}
	return c.base.ResolveReference(u).String(), nil
}

const maxBody = 16 << 20

// do sends one logical request (with the retries described on Client) and decodes a JSON
// success body into out when out is not nil.
func (c *Client) do(ctx context.Context, method, ref string, body []byte, out any) error {
	target, err := c.resolve(ref)
	if err != nil {
		return err
	}
	path := target
	if u, err := url.Parse(target); err == nil {
		path = u.Path
	}
	write := method != http.MethodGet && method != http.MethodHead
	refreshed := false
	serverFails, limited := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clio: %s %s: %w", method, path, err)
		}
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return fmt.Errorf("clio: build request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-API-VERSION", c.apiVersion)
		resp, err := c.hc.Do(req)
		if err != nil {
			err = fmt.Errorf("clio: %s %s: %w", method, path, err)
			if write {
				return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			if ctx.Err() != nil || serverFails >= c.serverRetries {
				return err
			}
			serverFails++
			if err := c.sleep(ctx, backoff(serverFails)); err != nil {
				return fmt.Errorf("clio: %s %s: %w", method, path, err)
			}
			continue
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if rerr == nil && len(data) > maxBody {
			rerr = errors.New("response body too large")
		}
		status := resp.StatusCode
		switch {
		case status >= 200 && status < 300 && resp.Header.Get("X-API-VERSION") != "" && resp.Header.Get("X-API-VERSION") != c.apiVersion:
			// Clio names the version it used; another one may count quantity differently.
			err := fmt.Errorf("clio: %s %s: answered under API version %s, not the pinned %s", method, path, resp.Header.Get("X-API-VERSION"), c.apiVersion)
			if write {
				return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			return err
		case status >= 200 && status < 300:
			if rerr != nil {
				err := fmt.Errorf("clio: %s %s: read response: %w", method, path, rerr)
				if write {
					return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
				}
				return err
			}
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				err := fmt.Errorf("clio: %s %s: decode response: %w", method, path, err)
				if write {
					return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
				}
				return err
			}
			return nil
		case status == http.StatusUnauthorized:
			r, ok := c.ts.(refresher)
			if ok && !refreshed {
				refreshed = true
				if err := r.Refresh(ctx, tok.AccessToken); err != nil {
					return fmt.Errorf("clio: %s %s: unauthorized and refresh failed: %w", method, path, err)
				}
				continue
			}
			return apiError(method, path, status, data, 0)
		case status == http.StatusTooManyRequests:
			wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if limited >= c.rateLimitRetries || wait > c.maxWait {
				return apiError(method, path, status, data, wait)
			}
			limited++
			if err := c.sleep(ctx, wait); err != nil {
				return fmt.Errorf("clio: %s %s: waiting for rate limit: %w", method, path, err)
			}
			continue
		case status >= 500:
			e := apiError(method, path, status, data, 0)
			if write {
				return fmt.Errorf("%w: %w", ErrOutcomeUnknown, e)
			}
			if serverFails >= c.serverRetries {
				return e
			}
			serverFails++
			if err := c.sleep(ctx, backoff(serverFails)); err != nil {
				return fmt.Errorf("clio: %s %s: %w", method, path, err)
			}
			continue
		default:
			return apiError(method, path, status, data, 0)
		}
	}
}

// backoff is the wait before retry attempt (1-based) of a read or an unknown-outcome
// send: 1 s, 2 s, 4 s, ... at most 32 s.
func backoff(attempt int) time.Duration { return httpretry.Backoff(time.Second, attempt-1, 5) }

// retryAfter reads a Retry-After header (seconds or an HTTP date; see
// httpretry.ParseRetryAfter). A negative number means no wait; a missing or unreadable
// value means 30 s, Clio's rate-limit window being a minute.
func retryAfter(v string, now time.Time) time.Duration {
	if d, ok := httpretry.ParseRetryAfter(v, now); ok {
		return d
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s < 0 {
		return 0
	}
	return 30 * time.Second
}

func apiError(method, path string, status int, body []byte, wait time.Duration) *APIError {
	msg := ""
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		msg = env.Error.Message
	} else {
		msg = strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
		if len(msg) > 300 {
			msg = strings.ToValidUTF8(msg[:300], "") + "..."
		}
	}
	return &APIError{Method: method, Path: path, Status: status, Message: msg, RetryAfter: wait}
}
