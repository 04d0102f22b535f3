package web

import (
	"bufio"
	"context"
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

// sseRecheck is how often an open stream re-checks the credential it was opened with.
const sseRecheck = time.Second

// apiEvents is the SSE stream of the caller's events. The stream lives only as long as
// the credential it was opened with: it re-checks it every second and ends when the
// session is logged out or revoked (password change, disable, 2FA reset, `dictum
// sessions revoke`, even from the CLI in another process) or the token is revoked or
// expired.
func (s *Server) apiEvents(c *fiber.Ctx) error {
	p := me(c)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	valid := s.credentialCheck(p)
	ch, cancel := s.Events.subscribe(p.User.ID)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer cancel()
		fmt.Fprint(w, "retry: 3000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		ping := time.NewTicker(20 * time.Second)
		defer ping.Stop()
		recheck := time.NewTicker(sseRecheck)
		defer recheck.Stop()
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
			case <-recheck.C:
				if !valid() {
					// Tell the page why, then end: its reconnect gets a 401.
					fmt.Fprint(w, "event: session_ended\ndata: {}\n\n")
					_ = w.Flush()
					return
				}
				continue
			}
			if err := w.Flush(); err != nil {
				return
			}
		}
	}))
	return nil
}

// credentialCheck returns a check of whether the caller's session or API token is still
// good: the session exists and is not past its absolute expiry, the token is neither
// revoked nor expired, and the user is enabled. A database error counts as not good
// (the stream ends; the page reconnects).
func (s *Server) credentialCheck(p *caller) func() bool {
	sess, tokenHash, userID := p.Session, p.TokenHash, p.User.ID
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if sess == nil {
			return tokenHash != nil && s.Store.TokenActive(ctx, tokenHash, s.Now()) == nil
		}
		cur, err := s.Store.SessionByHash(ctx, sess.IDHash)
		if err != nil || !s.Now().Before(cur.ExpiresAt) {
			return false
		}
		u, err := s.Store.UserByID(ctx, userID)
		return err == nil && !u.Disabled
	}
}
