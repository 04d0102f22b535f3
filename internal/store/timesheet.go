package store

import (
	"context"
	"fmt"
	"strings"
)

// DayTotal is one user's recorded time on one day in one state.
type DayTotal struct {
	Date     string
	Status   string // draft, approved, exported, synced
	Dictated bool   // drafted from a dictation (any engine but manual)
	Tenths   int
	Entries  int
	FirstID  string // the earliest entry of the group (a link target)
	FirstKey string // its creation time and id, to compare groups
}

// DayTotals sums a user's entries (not deleted) per day, state and origin between two
// dates (inclusive).
func (s *Store) DayTotals(ctx context.Context, userID int64, from, to string) ([]DayTotal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT date, status, engine <> 'manual', SUM(tenths), COUNT(*), MIN(created_at || ' ' || id)
		FROM entries WHERE user_id = ? AND deleted_at IS NULL AND date BETWEEN ? AND ?
		GROUP BY date, status, engine <> 'manual' ORDER BY date`, userID, from, to)
	if err != nil {
		return nil, fmt.Errorf("day totals: %w", err)
	}
	defer rows.Close()
	var out []DayTotal
	for rows.Next() {
		var d DayTotal
		var first string
		if err := rows.Scan(&d.Date, &d.Status, &d.Dictated, &d.Tenths, &d.Entries, &first); err != nil {
			return nil, fmt.Errorf("day totals: %w", err)
		}
		d.FirstKey = first
		if i := strings.LastIndexByte(first, ' '); i >= 0 {
			d.FirstID = first[i+1:]
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
