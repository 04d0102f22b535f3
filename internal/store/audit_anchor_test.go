package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"dictum/internal/identity"
)

// VerifyAuditAgainst catches what VerifyAudit cannot: a tail rewritten with the chain
// recomputed, or cut, after the head was recorded elsewhere.
func TestVerifyAuditAgainst(t *testing.T) {
	ctx := context.Background()
	seed := func(t *testing.T, n int) (*Store, AuditHead) {
		s, _ := open(t)
		for i := 0; i < n; i++ {
			if err := s.Audit(ctx, identity.Actor{Username: "a"}, "test.event", "x", "1", map[string]any{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := s.AuditHead(ctx)
		if err != nil || h.ID != int64(n) || len(h.Hash) != 64 {
			t.Fatalf("head %+v %v", h, err)
		}
		return s, h
	}
	// recompute rewrites events from id on (a new detail) with a valid chain.
	recompute := func(t *testing.T, s *Store, from int64) {
		var prev []byte
		s.db.QueryRow("SELECT prev_hash FROM audit_events WHERE id = ?", from).Scan(&prev)
		rows, _ := s.db.Query("SELECT id, at, actor, action, object_type, object_id, ip FROM audit_events WHERE id >= ? ORDER BY id", from)
		type ev struct {
			id                             int64
			at, actor, action, ot, oid, ip string
		}
		var evs []ev
		for rows.Next() {
			var e ev
			rows.Scan(&e.id, &e.at, &e.actor, &e.action, &e.ot, &e.oid, &e.ip)
			evs = append(evs, e)
		}
		rows.Close()
		for _, e := range evs {
			h := chainHash(prev, e.at, e.actor, e.action, e.ot, e.oid, `{"forged":1}`, e.ip)
			if _, err := s.db.Exec("UPDATE audit_events SET detail=?, prev_hash=?, hash=? WHERE id=?", `{"forged":1}`, prev, h, e.id); err != nil {
				t.Fatal(err)
			}
			prev = h
		}
	}
	cases := []struct {
		name    string
		tamper  func(t *testing.T, s *Store, h *AuditHead)
		wantIs  error
		wantSub string
	}{
		{name: "intact"},
		{name: "grown since", tamper: func(t *testing.T, s *Store, h *AuditHead) {
			s.Audit(ctx, identity.Actor{Username: "b"}, "later", "x", "2", nil)
		}},
		{name: "anchored when empty", tamper: func(t *testing.T, s *Store, h *AuditHead) { *h = AuditHead{} }},
		{name: "rewritten tail", wantIs: ErrAuditAnchor, wantSub: "rewritten at or before event 5", tamper: func(t *testing.T, s *Store, h *AuditHead) {
			recompute(t, s, 4)
		}},
		{name: "cut tail", wantIs: ErrAuditAnchor, wantSub: "ends at event 3: its tail was cut", tamper: func(t *testing.T, s *Store, h *AuditHead) {
			s.db.Exec("DELETE FROM audit_events WHERE id > 3")
		}},
		{name: "everything deleted", wantIs: ErrAuditAnchor, wantSub: "tail was cut", tamper: func(t *testing.T, s *Store, h *AuditHead) {
			s.db.Exec("DELETE FROM audit_events")
		}},
		{name: "broken chain", wantIs: ErrAuditBroken, wantSub: "at event 2", tamper: func(t *testing.T, s *Store, h *AuditHead) {
			s.db.Exec("UPDATE audit_events SET actor='mallory' WHERE id=2")
		}},
		{name: "bad anchor hash", wantSub: "64-hex-digit", tamper: func(t *testing.T, s *Store, h *AuditHead) { h.Hash = "abc" }},
		{name: "negative id", wantSub: "event id", tamper: func(t *testing.T, s *Store, h *AuditHead) { h.ID = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, h := seed(t, 5)
			if tc.tamper != nil {
				tc.tamper(t, s, &h)
			}
			if bad, _, err := s.VerifyAudit(ctx); tc.wantIs == ErrAuditAnchor && (bad != 0 || err != nil) {
				t.Fatalf("plain VerifyAudit already fails (bad=%d, %v): the case does not test the anchor", bad, err)
			}
			_, err := s.VerifyAuditAgainst(ctx, h)
			if tc.wantSub == "" {
				if err != nil {
					t.Fatalf("VerifyAuditAgainst: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantSub) || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) {
				t.Fatalf("err = %v, want %v %q", err, tc.wantIs, tc.wantSub)
			}
		})
	}
}
