package ratelimit

import (
	"sort"
	"sync"
	"time"
)

// Backoff locks a key (a user name, an IP) out for exponentially growing periods after
// repeated failures: the first `free` failures cost nothing, the next waits base, then
// 2*base, 4*base, ... up to max. Succeed clears the key; a key with no failure for the
// forget period (WithForgetAfter) is dropped. When the key cap is reached, the key with
// the fewest failures is dropped first, so flooding with fresh keys cannot clear the
// counter of a key under attack.
type Backoff struct {
	free      int
	base, max time.Duration
	forget    time.Duration
	now       func() time.Time
	maxKeys   int

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n           int
	last        time.Time
	lockedUntil time.Time
}

// Entry is one key's state, for an admin view.
type Entry struct {
	Key         string
	Failures    int
	LockedUntil time.Time
}

// NewBackoff returns a Backoff that allows free failures, then waits base, doubling per
// further failure up to maxWait. Negative values are treated as 0, and maxWait as at
// least base.
func NewBackoff(free int, base, maxWait time.Duration, opts ...Option) *Backoff {
	o := buildOptions(opts)
	base = max(0, base)
	maxWait = max(base, maxWait)
	forget := o.forget
	if forget <= 0 {
		forget = 24 * time.Hour
	}
	return &Backoff{
		free:    max(0, free),
		base:    base,
		max:     maxWait,
		forget:  max(forget, maxWait),
		now:     o.now,
		maxKeys: o.maxKeys,
		keys:    make(map[string]*failures),
	}
}

// delay is the lockout after n failures.
func (b *Backoff) delay(n int) time.Duration {
	k := n - b.free - 1
	if k < 0 || b.base == 0 {
		return 0
	}
	d := b.base
	for ; k > 0; k-- {
		if d >= b.max/2 {
			return b.max
		}
		d *= 2
	}
	return min(d, b.max)
}

// Check returns how long key must still wait before its next attempt (0: go ahead).
func (b *Backoff) Check(key string) time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.keys[key]
	if !ok {
		return 0
	}
	if now.Sub(f.last) >= b.forget {
		delete(b.keys, key)
		return 0
	}
	return max(0, f.lockedUntil.Sub(now))
}

// Fail records a failed attempt for key and returns the wait it now imposes.
func (b *Backoff) Fail(key string) time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.keys[key]
	if ok && now.Sub(f.last) >= b.forget {
		ok = false
	}
	if !ok {
		if len(b.keys) >= b.maxKeys {
			b.makeRoom(now)
		}
		f = &failures{}
		b.keys[key] = f
	}
	f.n++
	f.last = now
	d := b.delay(f.n)
	f.lockedUntil = now.Add(d)
	return d
}

// makeRoom drops forgotten keys, or failing that the key with the fewest failures (the
// oldest among equals). It is O(keys) but only runs when the cap is reached.
func (b *Backoff) makeRoom(now time.Time) {
	var victim string
	var vf *failures
	for k, f := range b.keys {
		if now.Sub(f.last) >= b.forget {
			delete(b.keys, k)
			continue
		}
		if vf == nil || f.n < vf.n || (f.n == vf.n && f.last.Before(vf.last)) {
			victim, vf = k, f
		}
	}
	if len(b.keys) >= b.maxKeys && vf != nil {
		delete(b.keys, victim)
	}
}

// Succeed clears key's failures.
func (b *Backoff) Succeed(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.keys, key)
}

// Locked lists the keys that are locked out now, sorted by key.
func (b *Backoff) Locked() []Entry {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Entry
	for k, f := range b.keys {
		if f.lockedUntil.After(now) {
			out = append(out, Entry{Key: k, Failures: f.n, LockedUntil: f.lockedUntil})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
