package httpretry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"12", 12 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-3", 0, false},
		{"junk", 0, false},
		{"Mon, 23 Nov 2026 12:00:45 GMT", 45 * time.Second, true},
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0, true},
		{"999999999", 24 * time.Hour, true},
		{"99999999999999999", 24 * time.Hour, true},
	} {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseRetryHeaders(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second, true},
		{http.Header{"Retry-After": {"Fri, 20 Nov 2026 12:00:10 GMT"}}, 10 * time.Second, true},
		{http.Header{"Retry-After": {"Fri, 20 Nov 2026 11:00:00 GMT"}}, 0, true},
		{http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"9"}}, 9 * time.Second, true},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{"Retry-After": {"-1"}}, 0, false},
		{http.Header{}, 0, false},
	} {
		got, ok := ParseRetryHeaders(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: got %v %v, want %v %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for n := 0; n < 8; n++ {
		got = append(got, Backoff(time.Second, n, 5))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 32, 32}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("Backoff(1s, n, 5) = %v, want %v seconds", got, want)
		}
	}
	if d := Backoff(500*time.Millisecond, -1, 4); d != 500*time.Millisecond {
		t.Fatalf("negative attempt: %v", d)
	}
}

func TestJitter(t *testing.T) {
	d := 500 * time.Millisecond
	seen := map[time.Duration]bool{}
	for range 200 {
		j := Jitter(d, 20)
		if j < 400*time.Millisecond || j > 600*time.Millisecond {
			t.Fatalf("Jitter(500ms, 20) = %v, outside 400ms..600ms", j)
		}
		seen[j] = true
	}
	if len(seen) < 2 {
		t.Fatal("Jitter does not vary")
	}
	if j := Jitter(d, 0); j != d {
		t.Fatalf("Jitter(d, 0) = %v", j)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("cancelled sleep: %v after %v", err, time.Since(start))
	}
}
