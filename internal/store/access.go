package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"dictum/internal/identity"
)

// Ethical walls. A matter may be restricted: then only its members, billing and admin see
// it. Any user may be screened from a matter by name (conflicts): then they never see it,
// whatever their role. matterVisible is the ONE rule; every query that lists or reads
// matters, entries, exports, archives or share links for a person goes through it, so a
// walled matter is absent exactly as an id that does not exist.

// matterVisible is the SQL condition "the matter in column col is visible to userID"
// (userID 0, Dictum itself or a CLI operator, sees every matter). A NULL matter (an entry
// without one) is visible. The user's role is read from the users table inside the query,
// so a role change takes effect at once.
func matterVisible(col string, userID int64) (string, []any) {
	if userID == 0 {
		return "1=1", nil
	}
	q := fmt.Sprintf(`(%[1]s IS NULL OR (
	NOT EXISTS (SELECT 1 FROM matter_walls ws WHERE ws.matter_id = %[1]s AND ws.user_id = ? AND ws.kind = 'screened')
	AND (NOT EXISTS (SELECT 1 FROM matter_access ra WHERE ra.matter_id = %[1]s AND ra.restricted = 1)
		OR EXISTS (SELECT 1 FROM users ur WHERE ur.id = ? AND ur.role IN ('billing','admin'))
		OR EXISTS (SELECT 1 FROM matter_walls wm WHERE wm.matter_id = %[1]s AND wm.user_id = ? AND wm.kind = 'member'))))`, col)
	return q, []any{userID, userID, userID}
}

// MatterVisibleTo reports whether the user may see the matter (false for a matter that
// does not exist).
func (s *Store) MatterVisibleTo(ctx context.Context, userID int64, matterID string) (bool, error) {
	cond, args := matterVisible("m.id", userID)
	var one int
	err := s.db.QueryRowContext(ctx, "SELECT 1 FROM matters m WHERE m.id = ? AND "+cond, append([]any{matterID}, args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("matter visibility: %w", err)
	}
	return true, nil
}

// MatterFor finds a matter the actor may see; a walled matter is ErrNotFound, exactly
// like one that does not exist.
func (s *Store) MatterFor(ctx context.Context, a identity.Actor, id string) (*Matter, error) {
	cond, args := matterVisible("m.id", a.UserID)
	return scanMatter(s.db.QueryRowContext(ctx, "SELECT "+matterCols+" FROM matters m JOIN clients c ON c.id = m.client_id WHERE m.id = ? AND m.deleted_at IS NULL AND "+cond,
		append([]any{id}, args...)...))
}

// MattersFor is Matters restricted to what the user may see.
func (s *Store) MattersFor(ctx context.Context, userID int64, status, q string) ([]*Matter, error) {
	cond, cargs := matterVisible("m.id", userID)
	query := "SELECT " + matterCols + " FROM matters m JOIN clients c ON c.id = m.client_id WHERE m.deleted_at IS NULL AND " + cond
	args := cargs
	if status != "" {
		query += " AND m.status = ?"
		args = append(args, status)
	}
	if q != "" {
		query += " AND (m.number LIKE ? OR m.name LIKE ? OR c.name LIKE ?)"
		like := "%" + strings.NewReplacer("%", "", "_", "").Replace(q) + "%"
		args = append(args, like, like, like)
	}
	rows, err := s.db.QueryContext(ctx, query+" ORDER BY c.name, m.number", args...)
	return collect(rows, err, "list matters", func(r *sql.Rows) (*Matter, error) { return scanMatter(r) })
}

// MatterAccess is a matter's wall.
type MatterAccess struct {
	MatterID   string   `json:"matter"`
	Restricted bool     `json:"restricted"`
	Members    []string `json:"members"`
	Screened   []string `json:"screened"`
	Reason     string   `json:"reason"`
	UpdatedAt  string   `json:"updated_at,omitempty"`
	UpdatedBy  string   `json:"updated_by,omitempty"`
}

// MatterAccessOf reads a matter's wall (an unwalled matter has an empty one). The caller
// has checked the matter is visible.
func (s *Store) MatterAccessOf(ctx context.Context, matterID string) (*MatterAccess, error) {
	out := &MatterAccess{MatterID: matterID, Members: []string{}, Screened: []string{}}
	err := s.db.QueryRowContext(ctx, "SELECT restricted, reason, updated_at, updated_by FROM matter_access WHERE matter_id = ?", matterID).
		Scan(&out.Restricted, &out.Reason, &out.UpdatedAt, &out.UpdatedBy)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read matter access: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT u.username, w.kind FROM matter_walls w JOIN users u ON u.id = w.user_id WHERE w.matter_id = ? ORDER BY u.username", matterID)
	if err != nil {
		return nil, fmt.Errorf("read matter wall: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, kind string
		if err := rows.Scan(&name, &kind); err != nil {
			return nil, fmt.Errorf("read matter wall: %w", err)
		}
		if kind == "member" {
			out.Members = append(out.Members, name)
		} else {
			out.Screened = append(out.Screened, name)
		}
	}
	return out, rows.Err()
}

// SetMatterAccess replaces a matter's wall and audits who changed it, why, and the
// before/after membership. Unknown usernames and a user both member and screened are
// ErrInvalid.
func (s *Store) SetMatterAccess(ctx context.Context, a identity.Actor, in MatterAccess) (*MatterAccess, error) {
	before, err := s.MatterAccessOf(ctx, in.MatterID)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM matters WHERE id = ? AND deleted_at IS NULL", in.MatterID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("set matter access: %w", err)
		}
		ids := map[string]int64{}
		resolve := func(names []string) error {
			for _, n := range names {
				if _, dup := ids[strings.ToLower(n)]; dup {
					return fmt.Errorf("%w: %q is listed twice (a user is either a member or screened)", ErrInvalid, n)
				}
				var id int64
				err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE username = ?", n).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: no user %q", ErrInvalid, n)
				}
				if err != nil {
					return fmt.Errorf("set matter access: %w", err)
				}
				ids[strings.ToLower(n)] = id
			}
			return nil
		}
		if err := resolve(in.Members); err != nil {
			return err
		}
		if err := resolve(in.Screened); err != nil {
			return err
		}
		now := s.ts()
		if _, err := tx.ExecContext(ctx, `INSERT INTO matter_access(matter_id, restricted, reason, updated_at, updated_by) VALUES (?,?,?,?,?)
			ON CONFLICT(matter_id) DO UPDATE SET restricted=excluded.restricted, reason=excluded.reason, updated_at=excluded.updated_at, updated_by=excluded.updated_by`,
			in.MatterID, in.Restricted, in.Reason, now, a.Username); err != nil {
			return fmt.Errorf("set matter access: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM matter_walls WHERE matter_id = ?", in.MatterID); err != nil {
			return fmt.Errorf("set matter access: %w", err)
		}
		for kind, names := range map[string][]string{"member": in.Members, "screened": in.Screened} {
			for _, n := range names {
				if _, err := tx.ExecContext(ctx, "INSERT INTO matter_walls(matter_id, user_id, kind) VALUES (?,?,?)", in.MatterID, ids[strings.ToLower(n)], kind); err != nil {
					return fmt.Errorf("set matter access: %w", err)
				}
			}
		}
		return s.appendAudit(ctx, tx, a, "matter.access", "matter", in.MatterID, map[string]any{
			"reason":     in.Reason,
			"restricted": map[string]any{"from": before.Restricted, "to": in.Restricted},
			"members":    map[string]any{"from": before.Members, "to": sorted(in.Members)},
			"screened":   map[string]any{"from": before.Screened, "to": sorted(in.Screened)},
		})
	})
	if err != nil {
		return nil, err
	}
	return s.MatterAccessOf(ctx, in.MatterID)
}

func sorted(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	return out
}

// auditVisible is the SQL condition (alias a) leaving out, for userID, the audit events on
// a matter walled off from them, on its entries and on its share links (userID 0: all).
func auditVisible(userID int64) (string, []any) {
	if userID == 0 {
		return "1=1", nil
	}
	mv, ma := matterVisible("mw.id", userID)
	ev, ea := matterVisible("ew.matter_id", userID)
	sv, sa := matterVisible("sw.matter_id", userID)
	q := `NOT ((a.object_type = 'matter' AND a.object_id IN (SELECT mw.id FROM matters mw WHERE NOT ` + mv + `))
		OR (a.object_type = 'entry' AND a.object_id IN (SELECT ew.id FROM entries ew WHERE NOT ` + ev + `))
		OR (a.object_type = 'share' AND a.object_id IN (SELECT sw.id FROM share_links sw WHERE NOT ` + sv + `)))`
	return q, append(append(ma, ea...), sa...)
}

// ExportsHidden lists the kept exports that hold an entry on a matter walled off from
// userID: such an export is not listed or downloadable for them.
func (s *Store) ExportsHidden(ctx context.Context, userID int64) (map[string]bool, error) {
	out := map[string]bool{}
	if userID == 0 {
		return out, nil
	}
	vc, va := matterVisible("e.matter_id", userID)
	rows, err := s.db.QueryContext(ctx, `SELECT x.id FROM exports x WHERE EXISTS (SELECT 1 FROM json_each(x.entry_ids) j JOIN entries e ON e.id = j.value WHERE NOT `+vc+`)`, va...)
	if err != nil {
		return nil, fmt.Errorf("walled exports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("walled exports: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
