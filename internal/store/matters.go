package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"dictum/internal/identity"
)

// Matter is a client matter.
type Matter struct {
	ID           string `json:"id"`
	Number       string `json:"number"`
	Client       string `json:"client"`
	ClientID     string `json:"client_id"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	Litigation   bool   `json:"litigation"`
	RateCents    *int64 `json:"rate_cents"`
	LEDESEnabled bool   `json:"ledes_enabled"`
	ClioID       *int64 `json:"clio_id,omitempty"`
	// ClosedAt is when the matter was last closed (nil while open); the retention window
	// counts from it.
	ClosedAt *string `json:"closed_at,omitempty"`
	// ClientMatterID is the client's own reference for the matter (LEDES CLIENT_MATTER_ID).
	ClientMatterID string `json:"client_matter_id"`
}

const matterCols = `m.id, m.number, c.name, c.id, m.name, m.status, m.litigation, m.rate_cents, m.ledes_enabled, m.clio_id, m.closed_at, m.client_matter_id`

func scanMatter(sc interface{ Scan(...any) error }) (*Matter, error) {
	var m Matter
	var rate, clio sql.NullInt64
	var closed sql.NullString
	if err := sc.Scan(&m.ID, &m.Number, &m.Client, &m.ClientID, &m.Name, &m.Status, &m.Litigation, &rate, &m.LEDESEnabled, &clio, &closed, &m.ClientMatterID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if rate.Valid {
		m.RateCents = &rate.Int64
	}
	if clio.Valid {
		m.ClioID = &clio.Int64
	}
	if closed.Valid {
		m.ClosedAt = &closed.String
	}
	return &m, nil
}

// ErrInvalid is returned for invalid input to the store.
var ErrInvalid = errors.New("invalid")

func (s *Store) clientID(ctx context.Context, tx *sql.Tx, name string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM clients WHERE name = ?", name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("find client: %w", err)
	}
	id = NewID("cli")
	if _, err := tx.ExecContext(ctx, "INSERT INTO clients(id, name, created_at) VALUES (?,?,?)", id, name, s.ts()); err != nil {
		return "", fmt.Errorf("create client: %w", err)
	}
	return id, nil
}

// CreateMatter adds a matter (creating its client by name when new). An empty ID is generated.
func (s *Store) CreateMatter(ctx context.Context, a identity.Actor, m *Matter) error {
	m.Number, m.Client, m.Name = strings.TrimSpace(m.Number), strings.TrimSpace(m.Client), strings.TrimSpace(m.Name)
	var missing []string
	if m.Number == "" {
		missing = append(missing, "number")
	}
	if m.Client == "" {
		missing = append(missing, "client")
	}
	if m.Name == "" {
		missing = append(missing, "name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: matter needs %s", ErrInvalid, strings.Join(missing, ", "))
	}
	if m.ID == "" {
		m.ID = NewID("mat")
	}
	if m.Status == "" {
		m.Status = "open"
	}
	if m.Status != "open" && m.Status != "closed" {
		return fmt.Errorf("%w: status must be open or closed", ErrInvalid)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		cid, err := s.clientID(ctx, tx, m.Client)
		if err != nil {
			return err
		}
		m.ClientID = cid
		now := s.ts()
		m.ClosedAt = nil
		if m.Status == "closed" {
			m.ClosedAt = &now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO matters(id, number, client_id, name, status, litigation, rate_cents, ledes_enabled, clio_id, closed_at, client_matter_id, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, m.ID, m.Number, cid, m.Name, m.Status, m.Litigation, m.RateCents, m.LEDESEnabled, m.ClioID, m.ClosedAt, m.ClientMatterID, now, now)
		if isUnique(err) {
			return fmt.Errorf("matter %q: %w", m.Number, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create matter: %w", err)
		}
		return s.appendAudit(ctx, tx, a, "matter.create", "matter", m.ID, map[string]any{"number": m.Number})
	})
}

// MatterPatch changes fields of a matter.
type MatterPatch struct {
	Number, Client, Name, Status *string
	Litigation, LEDESEnabled     *bool
	RateCents                    **int64
	ClientMatterID               *string // validated by the caller
}

// UpdateMatter applies a patch.
func (s *Store) UpdateMatter(ctx context.Context, a identity.Actor, id string, p MatterPatch) (*Matter, error) {
	var out *Matter
	vc, va := matterVisible("m.id", a.UserID) // a matter walled off from the actor "does not exist"
	err := s.tx(ctx, func(tx *sql.Tx) error {
		m, err := scanMatter(tx.QueryRowContext(ctx, "SELECT "+matterCols+" FROM matters m JOIN clients c ON c.id = m.client_id WHERE m.id = ? AND m.deleted_at IS NULL AND "+vc, append([]any{id}, va...)...))
		if err != nil {
			return err
		}
		now := s.ts()
		if p.Number != nil {
			m.Number = strings.TrimSpace(*p.Number)
		}
		if p.Name != nil {
			m.Name = strings.TrimSpace(*p.Name)
		}
		if p.Client != nil {
			m.Client = strings.TrimSpace(*p.Client)
			if m.ClientID, err = s.clientID(ctx, tx, m.Client); err != nil {
				return err
			}
		}
		if p.Status != nil {
			if *p.Status != "open" && *p.Status != "closed" {
				return fmt.Errorf("%w: status must be open or closed", ErrInvalid)
			}
			if *p.Status != m.Status {
				// The retention window counts from the last close; reopening stops it.
				m.ClosedAt = nil
				if *p.Status == "closed" {
					m.ClosedAt = &now
				}
			}
			m.Status = *p.Status
		}
		if p.Litigation != nil {
			m.Litigation = *p.Litigation
		}
		if p.LEDESEnabled != nil {
			m.LEDESEnabled = *p.LEDESEnabled
		}
		if p.RateCents != nil {
			m.RateCents = *p.RateCents
		}
		if p.ClientMatterID != nil {
			m.ClientMatterID = strings.TrimSpace(*p.ClientMatterID)
		}
		if m.Number == "" || m.Name == "" || m.Client == "" {
			return fmt.Errorf("%w: number, client and name must not be empty", ErrInvalid)
		}
		_, err = tx.ExecContext(ctx, `UPDATE matters SET number=?, client_id=?, name=?, status=?, litigation=?, ledes_enabled=?, rate_cents=?, closed_at=?, client_matter_id=?, updated_at=? WHERE id=?`,
			m.Number, m.ClientID, m.Name, m.Status, m.Litigation, m.LEDESEnabled, m.RateCents, m.ClosedAt, m.ClientMatterID, now, m.ID)
		if isUnique(err) {
			return fmt.Errorf("matter %q: %w", m.Number, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("update matter: %w", err)
		}
		out = m
		return s.appendAudit(ctx, tx, a, "matter.update", "matter", m.ID, map[string]any{"number": m.Number, "status": m.Status, "client_matter_id": m.ClientMatterID})
	})
	return out, err
}

// MatterByID finds a matter (a matter deleted by retention is not found).
func (s *Store) MatterByID(ctx context.Context, id string) (*Matter, error) {
	return scanMatter(s.db.QueryRowContext(ctx, "SELECT "+matterCols+" FROM matters m JOIN clients c ON c.id = m.client_id WHERE m.id = ? AND m.deleted_at IS NULL", id))
}

// Matters lists matters; status "" means all, else open/closed. q filters by number, name or
// client. Matters deleted by retention are not listed (see DeletedItems).
func (s *Store) Matters(ctx context.Context, status, q string) ([]*Matter, error) {
	return s.MattersFor(ctx, 0, status, q) // user 0: the system, behind no wall
}
