// Package httpretry holds the small pieces every retrying HTTP client in Dictum shares:
// reading a server's Retry-After, exponential backoff (with optional jitter) and a sleep
// that ends early when the context does. Retry policy (what to retry, how often) stays
// with each client.
package httpretry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a Retry-After given in seconds.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After value: a number of seconds (capped at a day) or an
// HTTP date (a date in the past means no wait). ok is false when v is empty, a negative
// number or neither form.
func ParseRetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// ParseRetryHeaders reads Retry-After-Ms (milliseconds, as Azure OpenAI sends it) and
// falls back to Retry-After (see ParseRetryAfter). ok is false when neither is usable.
func ParseRetryHeaders(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if v, err := strconv.ParseFloat(ms, 64); err == nil && v >= 0 && v < 1e9 {
			return time.Duration(v * float64(time.Millisecond)), true
		}
	}
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// Backoff is the wait before retry n (0-based): base doubled n times, but at most
// maxDoublings times (so base, 2*base, 4*base, ... up to base << maxDoublings).
func Backoff(base time.Duration, n, maxDoublings int) time.Duration {
	return base << min(max(n, 0), maxDoublings)
}

// Jitter spreads d at random by up to percent of it either way (20: 0.8d to 1.2d), so
// clients that failed together do not all retry at the same moment.
func Jitter(d time.Duration, percent int) time.Duration {
	spread := d * time.Duration(percent) / 100
	return d + time.Duration(rand.Int64N(int64(spread)*2+1)) - spread
}

// Sleep waits for d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
