package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Event is a live update for a user's pages (recording progress, entry changes).
type Event struct {
	Type     string `json:"type"` // recording | entry
	ID       string `json:"id"`
	Status   string `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Progress int    `json:"progress,omitempty"`
	EntryID  string `json:"entry_id,omitempty"`
}

// Hub fans events out to each user's SSE subscribers. Slow subscribers drop events
// (the page refetches state on reconnect), so a stuck browser cannot block workers.
type Hub struct {
	mu     sync.Mutex
	subs   map[int64]map[chan Event]struct{}
	closed bool
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int64]map[chan Event]struct{}{}} }

// Publish sends an event to the user's subscribers.
func (h *Hub) Publish(userID int64, ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[userID] {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (h *Hub) subscribe(userID int64) (chan Event, func()) {
	ch := make(chan Event, 32)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs[userID] == nil {
		h.subs[userID] = map[chan Event]struct{}{}
	}
	h.subs[userID][ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[userID][ch]; ok {
			delete(h.subs[userID], ch)
			close(ch)
		}
	}
}

// Close ends every subscription (shutdown).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, m := range h.subs {
		for ch := range m {
			close(ch)
		}
	}
	h.subs = map[int64]map[chan Event]struct{}{}
}

// apiEvents is the SSE stream of the caller's events.
func (s *Server) apiEvents(c *fiber.Ctx) error {
	p := me(c)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	ch, cancel := s.Events.subscribe(p.User.ID)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer cancel()
		fmt.Fprint(w, "retry: 3000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		ping := time.NewTicker(20 * time.Second)
		defer ping.Stop()
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				b, _ := json.Marshal(ev)
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
			}
			if err := w.Flush(); err != nil {
				return
			}
		}
	}))
	return nil
}
