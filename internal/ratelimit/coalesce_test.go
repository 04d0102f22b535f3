package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestCoalescer(t *testing.T) {
	type hit struct {
		advance time.Duration
		key     string
		report  bool
		count   int
	}
	tests := []struct {
		name string
		hits []hit
	}{
		{"first hit reports, the rest of the window is counted", []hit{
			{0, "a", true, 1},
			{time.Second, "a", false, 0},
			{time.Second, "a", false, 0},
			{time.Minute, "a", true, 3}, // two counted earlier + this one
			{0, "a", false, 0},
		}},
		{"keys are independent", []hit{
			{0, "a", true, 1},
			{0, "b", true, 1},
			{0, "a", false, 0},
			{0, "b", false, 0},
		}},
		{"a quiet key starts afresh", []hit{
			{0, "a", true, 1},
			{2 * time.Minute, "a", true, 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			c := NewCoalescer(time.Minute, WithClock(clk.Now))
			for i, h := range tc.hits {
				clk.Advance(h.advance)
				report, n, _ := c.Hit(h.key)
				if report != h.report || n != h.count {
					t.Fatalf("hit %d (%s): got %v, %d; want %v, %d", i, h.key, report, n, h.report, h.count)
				}
			}
		})
	}
}

func TestCoalescerFloodOfKeys(t *testing.T) {
	clk := newClock()
	c := NewCoalescer(time.Minute, WithClock(clk.Now), WithMaxKeys(100))
	reports := 0
	for i := range 10_000 {
		if ok, _, _ := c.Hit(fmt.Sprint("user-", i)); ok {
			reports++
		}
		clk.Advance(time.Millisecond)
	}
	// 100 keys report once each, then everything else shares the overflow key.
	if reports != 101 {
		t.Fatalf("reports = %d, want 101", reports)
	}
	if c.Len() > 101 {
		t.Fatalf("Len = %d, want at most 101", c.Len())
	}
}
