package ratelimit

import (
	"sync"
	"time"
)

// Coalescer turns a flood of repeated events per key (throttled logins, say) into at most
// one report per key per window. Hit says whether to report now and how many events the
// report stands for: the first hit of a window reports itself plus the hits of earlier
// windows that were not reported yet; later hits in the window are only counted. Memory
// is bounded: when the key cap is reached, forgotten keys are dropped, and failing that
// new keys share one overflow key (so a flood of fresh keys still reports once per window).
type Coalescer struct {
	window  time.Duration
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*pending
}

// OverflowKey is the key hits are counted under once the key cap is reached.
const OverflowKey = "*"

type pending struct {
	reportedAt time.Time // start of the current window
	unreported int       // hits since the last report
}

// NewCoalescer returns a Coalescer with one report per key per window.
func NewCoalescer(window time.Duration, opts ...Option) *Coalescer {
	o := buildOptions(opts)
	return &Coalescer{window: max(time.Second, window), now: o.now, maxKeys: o.maxKeys, keys: map[string]*pending{}}
}

// Window is the reporting window.
func (c *Coalescer) Window() time.Duration { return c.window }

// Hit counts an event for key. When report is true the caller writes one event carrying
// count (>= 1) and the key it was counted under (key, or OverflowKey).
func (c *Coalescer) Hit(key string) (report bool, count int, under string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.keys[key]
	if !ok {
		if len(c.keys) >= c.maxKeys {
			c.prune(now)
		}
		if len(c.keys) >= c.maxKeys {
			key = OverflowKey
			p, ok = c.keys[key]
		}
		if !ok {
			p = &pending{}
			c.keys[key] = p
			p.unreported++
			p.reportedAt = now
			n := p.unreported
			p.unreported = 0
			return true, n, key
		}
	}
	p.unreported++
	if now.Sub(p.reportedAt) >= c.window {
		p.reportedAt = now
		n := p.unreported
		p.unreported = 0
		return true, n, key
	}
	return false, 0, key
}

// prune drops keys whose window has passed with nothing left to report.
func (c *Coalescer) prune(now time.Time) {
	for k, p := range c.keys {
		if p.unreported == 0 && now.Sub(p.reportedAt) >= c.window {
			delete(c.keys, k)
		}
	}
}

// Len is the number of keys tracked.
func (c *Coalescer) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}
