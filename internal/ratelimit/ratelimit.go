// Package ratelimit holds two small keyed limiters for the web layer: Limiter, a token
// bucket per key (requests per IP, per user, per token), and Backoff, an exponential
// lockout after repeated login failures. Both keep memory bounded (idle keys are dropped,
// the number of keys is capped), take an injectable clock for tests and are safe for
// concurrent use.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// DefaultMaxKeys is the default cap on the number of keys a Limiter or Backoff tracks.
const DefaultMaxKeys = 10000

// Option configures a Limiter or a Backoff.
type Option func(*options)

type options struct {
	now     func() time.Time
	maxKeys int
	forget  time.Duration
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now, maxKeys: DefaultMaxKeys}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithMaxKeys caps the number of keys tracked (default DefaultMaxKeys; at least 1).
func WithMaxKeys(n int) Option {
	return func(o *options) { o.maxKeys = max(1, n) }
}

// WithForgetAfter sets how long after its last failure a Backoff forgets a key (default
// 24 h, never less than the Backoff's maximum wait). Limiter ignores it: a key is dropped
// as soon as its bucket is full again, which loses nothing.
func WithForgetAfter(d time.Duration) Option {
	return func(o *options) { o.forget = d }
}

// Limiter allows each key rate events per period with bursts of up to burst events. It is
// a token bucket kept as a single timestamp per key (GCRA), so there is no float drift.
type Limiter struct {
	interval  time.Duration // time to earn one token
	tolerance time.Duration // interval * burst
	now       func() time.Time
	maxKeys   int

	mu   sync.Mutex
	keys map[string]*list.Element // of *bucket
	lru  *list.List               // front: most recently used
}

type bucket struct {
	key string
	tat time.Time // theoretical arrival time: when the bucket is full again
}

// New returns a Limiter that allows rate events per period per key, and up to burst events
// at once. Values below 1 (or a period of 0) are raised to the smallest valid setting
// rather than rejected.
func New(rate int, per time.Duration, burst int, opts ...Option) *Limiter {
	o := buildOptions(opts)
	rate, burst = max(1, rate), max(1, burst)
	interval := max(time.Nanosecond, per/time.Duration(rate))
	return &Limiter{
		interval:  interval,
		tolerance: interval * time.Duration(burst),
		now:       o.now,
		maxKeys:   o.maxKeys,
		keys:      make(map[string]*list.Element),
		lru:       list.New(),
	}
}

// Allow takes one event for key. If the key is out of tokens it returns false and how long
// until the next event would be allowed (for a Retry-After header).
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneIdle(now, 2)
	var b *bucket
	if e, found := l.keys[key]; found {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		if len(l.keys) >= l.maxKeys {
			l.pruneIdle(now, 64)
			if len(l.keys) >= l.maxKeys {
				// The oldest keys are all still refilling: forget the least recently
				// used, which then starts again with a full bucket.
				l.remove(l.lru.Back())
			}
		}
		b = &bucket{key: key, tat: now}
		l.keys[key] = l.lru.PushFront(b)
	}
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	if wait := next.Sub(now) - l.tolerance; wait > 0 {
		return false, wait
	}
	b.tat = next
	return true, 0
}

// pruneIdle looks at the n least recently used keys and drops those whose buckets have
// refilled: forgetting them changes nothing. A little of this on every call keeps idle
// keys from piling up without a background goroutine.
func (l *Limiter) pruneIdle(now time.Time, n int) {
	for e := l.lru.Back(); e != nil && n > 0; n-- {
		prev := e.Prev()
		if !e.Value.(*bucket).tat.After(now) {
			l.remove(e)
		}
		e = prev
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
