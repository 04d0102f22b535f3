package testrig

import (
	"sync"
	"time"
)

// Start is the instant a new Clock shows unless WithTime says otherwise: a Friday
// afternoon, 2026-11-20 15:00 UTC, the date the fixtures and many tests assume.
var Start = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// Clock is a controllable clock for tests. Hand its Now method to anything that takes a
// `func() time.Time` (web.Deps.Now, store.Options.Now, ...), then move time with Advance
// or Set. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's current time. It only changes through Advance and Set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backwards if d is negative) and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
