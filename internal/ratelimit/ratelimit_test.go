package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manual clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// step is one action in a limiter scenario: advance the clock, then call Allow.
type step struct {
	advance time.Duration
	key     string
	ok      bool
	retry   time.Duration
}

func TestLimiter(t *testing.T) {
	tests := []struct {
		name       string
		rate       int
		per        time.Duration
		burst      int
		steps      []step
		maxKeysLen int
	}{
		{
			name: "burst then refill", rate: 1, per: time.Second, burst: 3,
			steps: []step{
				{0, "a", true, 0},
				{0, "a", true, 0},
				{0, "a", true, 0},
				{0, "a", false, time.Second},
				{500 * time.Millisecond, "a", false, 500 * time.Millisecond},
				{499 * time.Millisecond, "a", false, time.Millisecond},
				{time.Millisecond, "a", true, 0},
				{0, "a", false, time.Second},
			},
		},
		{
			name: "refill is capped at burst", rate: 1, per: time.Second, burst: 2,
			steps: []step{
				{0, "a", true, 0},
				{time.Hour, "a", true, 0},
				{0, "a", true, 0},
				{0, "a", false, time.Second},
			},
		},
		{
			name: "keys are independent", rate: 1, per: time.Minute, burst: 1,
			steps: []step{
				{0, "a", true, 0},
				{0, "a", false, time.Minute},
				{0, "b", true, 0},
				{10 * time.Second, "b", false, 50 * time.Second},
				{0, "a", false, 50 * time.Second},
			},
		},
		{
			name: "10 per minute", rate: 10, per: time.Minute, burst: 2,
			steps: []step{
				{0, "ip", true, 0},
				{0, "ip", true, 0},
				{0, "ip", false, 6 * time.Second},
				{2 * time.Second, "ip", false, 4 * time.Second},
				{4 * time.Second, "ip", true, 0},
				{6 * time.Second, "ip", true, 0},
				{0, "ip", false, 6 * time.Second},
			},
		},
		{
			name: "denied calls do not consume", rate: 1, per: time.Second, burst: 1,
			steps: []step{
				{0, "a", true, 0},
				{0, "a", false, time.Second},
				{0, "a", false, time.Second},
				{0, "a", false, time.Second},
				{time.Second, "a", true, 0},
			},
		},
		{
			name: "invalid settings are clamped", rate: 0, per: time.Second, burst: 0,
			steps: []step{
				{0, "a", true, 0},
				{0, "a", false, time.Second},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			l := New(tc.rate, tc.per, tc.burst, WithClock(clk.Now))
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				ok, retry := l.Allow(s.key)
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d (%s): Allow = %v, %v; want %v, %v", i, s.key, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

func TestLimiterEvictsIdleKeys(t *testing.T) {
	clk := newClock()
	l := New(1, time.Second, 2, WithClock(clk.Now), WithMaxKeys(1000))
	for i := range 500 {
		l.Allow(fmt.Sprint("ip-", i))
	}
	if l.Len() != 500 {
		t.Fatalf("Len = %d, want 500", l.Len())
	}
	// Once their buckets are full again the keys carry no state and go away as the
	// limiter is used.
	clk.Advance(2 * time.Second)
	for range 300 {
		l.Allow("busy")
	}
	if n := l.Len(); n > 2 {
		t.Fatalf("Len = %d after the keys went idle, want at most 2", n)
	}
}

func TestLimiterCap(t *testing.T) {
	clk := newClock()
	l := New(1, time.Hour, 1, WithClock(clk.Now), WithMaxKeys(3))
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := l.Allow(k); !ok {
			t.Fatalf("first call for %s denied", k)
		}
	}
	// Every key is still refilling, so a new key evicts the least recently used.
	if ok, _ := l.Allow("b"); ok {
		t.Fatal("b allowed twice")
	}
	if ok, _ := l.Allow("d"); !ok {
		t.Fatal("d denied")
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d, want 3", l.Len())
	}
	// b and c were kept; a was evicted and starts again.
	for _, c := range []struct {
		key  string
		want bool
	}{{"b", false}, {"c", false}, {"a", true}} {
		if ok, _ := l.Allow(c.key); ok != c.want {
			t.Fatalf("Allow(%s) = %v, want %v", c.key, ok, c.want)
		}
	}
	for i := range 10_000 {
		l.Allow(fmt.Sprint(i))
		if l.Len() > 3 {
			t.Fatalf("Len = %d exceeds the cap", l.Len())
		}
	}
}

func TestLimiterConcurrent(t *testing.T) {
	clk := newClock()
	l := New(1, time.Hour, 50, WithClock(clk.Now))
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if ok, _ := l.Allow("k"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("allowed %d of 800 concurrent calls, want exactly the burst of 50", allowed)
	}
}

func TestBackoffGrowth(t *testing.T) {
	clk := newClock()
	b := NewBackoff(2, time.Second, 8*time.Second, WithClock(clk.Now))
	want := []time.Duration{0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := b.Fail("alice"); got != w {
			t.Fatalf("failure %d: Fail = %v, want %v", i+1, got, w)
		}
		if got := b.Check("alice"); got != w {
			t.Fatalf("failure %d: Check = %v, want %v", i+1, got, w)
		}
	}
	clk.Advance(3 * time.Second)
	if got := b.Check("alice"); got != 5*time.Second {
		t.Fatalf("Check after 3 s = %v, want 5s", got)
	}
	if got := b.Check("bob"); got != 0 {
		t.Fatalf("Check(unknown) = %v", got)
	}
	locked := b.Locked()
	if len(locked) != 1 || locked[0].Key != "alice" || locked[0].Failures != len(want) || !locked[0].LockedUntil.Equal(clk.Now().Add(5*time.Second)) {
		t.Fatalf("Locked = %+v", locked)
	}
	clk.Advance(5 * time.Second)
	if got := b.Check("alice"); got != 0 {
		t.Fatalf("Check after the lock = %v", got)
	}
	if len(b.Locked()) != 0 {
		t.Fatalf("Locked after expiry = %+v", b.Locked())
	}
	// The count is kept: the next failure waits the maximum again.
	if got := b.Fail("alice"); got != 8*time.Second {
		t.Fatalf("next Fail = %v, want 8s", got)
	}
	b.Succeed("alice")
	if got := b.Check("alice"); got != 0 || len(b.Locked()) != 0 {
		t.Fatalf("after Succeed: Check = %v, Locked = %v", got, b.Locked())
	}
	for i, w := range want[:3] {
		if got := b.Fail("alice"); got != w {
			t.Fatalf("after reset, failure %d: %v, want %v", i+1, got, w)
		}
	}
}

func TestBackoffForget(t *testing.T) {
	clk := newClock()
	b := NewBackoff(0, time.Minute, time.Hour, WithClock(clk.Now), WithForgetAfter(2*time.Hour))
	for range 10 {
		b.Fail("x")
	}
	if got := b.Check("x"); got != time.Hour {
		t.Fatalf("Check = %v, want 1h", got)
	}
	clk.Advance(2*time.Hour - time.Second)
	if got := b.Fail("x"); got != time.Hour {
		t.Fatalf("Fail before forgetting = %v, want 1h", got)
	}
	clk.Advance(2 * time.Hour)
	if got := b.Fail("x"); got != time.Minute {
		t.Fatalf("Fail after forgetting = %v, want 1m (count restarted)", got)
	}
	// forget is raised to at least the maximum wait, so a lock always runs its course.
	short := NewBackoff(0, time.Hour, 4*time.Hour, WithClock(clk.Now), WithForgetAfter(time.Minute))
	short.Fail("y")
	short.Fail("y")
	clk.Advance(90 * time.Minute)
	if got := short.Check("y"); got != 30*time.Minute {
		t.Fatalf("Check = %v, want 30m", got)
	}
}

func TestBackoffCapKeepsWorstKeys(t *testing.T) {
	clk := newClock()
	b := NewBackoff(0, time.Second, time.Hour, WithClock(clk.Now), WithMaxKeys(10))
	for range 12 {
		b.Fail("victim")
	}
	// An attacker floods with fresh keys to push the victim's counter out.
	for i := range 1000 {
		clk.Advance(time.Millisecond)
		b.Fail(fmt.Sprint("flood-", i))
	}
	if got := b.Check("victim"); got <= 0 {
		t.Fatal("the flood evicted the key with the most failures")
	}
	b.mu.Lock()
	n := len(b.keys)
	b.mu.Unlock()
	if n > 10 {
		t.Fatalf("%d keys tracked, cap is 10", n)
	}
}

func TestBackoffEdgeSettings(t *testing.T) {
	clk := newClock()
	tests := []struct {
		name      string
		free      int
		base, max time.Duration
		failures  int
		want      time.Duration
	}{
		{"huge max does not overflow", 0, time.Second, time.Duration(1<<63 - 1), 200, time.Duration(1<<63 - 1)},
		{"zero base never locks", 0, 0, time.Hour, 1000, 0},
		{"negative free is zero", -5, time.Second, time.Minute, 1, time.Second},
		{"max below base is base", 0, time.Minute, time.Second, 5, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBackoff(tc.free, tc.base, tc.max, WithClock(clk.Now))
			var got time.Duration
			for range tc.failures {
				got = b.Fail("k")
			}
			if got != tc.want {
				t.Fatalf("wait after %d failures = %v, want %v", tc.failures, got, tc.want)
			}
		})
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(100, time.Second, 100)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("10.0.", i/256, ".", i%256)
	}
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}
