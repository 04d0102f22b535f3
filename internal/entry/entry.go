// Package entry holds the time-entry rules: states, who may do what, and what an entry
// must carry to be approved. Handlers and the store call these; no rule lives elsewhere.
//
// States: draft -> approved -> exported|synced (locked); approved -> draft (reopen, only
// before export); any -> deleted (soft, restorable within the grace period).
package entry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"dictum/internal/billing"
	"dictum/internal/identity"
	"dictum/internal/utbms"
)

// Statuses.
const (
	Draft    = "draft"
	Approved = "approved"
	Exported = "exported"
	Synced   = "synced"
	Deleted  = "deleted" // shown for soft-deleted entries; stored as deleted_at
)

// GracePeriod is how long a soft-deleted entry can be restored.
const GracePeriod = 30 * 24 * time.Hour

// MaxTenths is 24 hours.
const MaxTenths = 240

// Errors a caller maps to HTTP statuses.
var (
	// ErrNotFound: the entry does not exist or the actor may not see it (ids do not leak).
	ErrNotFound = errors.New("entry not found")
	// ErrForbidden: the actor can see the entry but may not do this.
	ErrForbidden = errors.New("not allowed")
	// ErrConflict: the entry's state does not allow this.
	ErrConflict = errors.New("entry state does not allow this")
	// ErrInvalid: the entry or the change is not valid.
	ErrInvalid = errors.New("invalid entry")
)

// State is what the rules need to know about an entry.
type State struct {
	OwnerID   int64
	Status    string // draft, approved, exported, synced
	DeletedAt *time.Time
	// Syncing: a push to Clio was started and its outcome is not known yet. Until a
	// sync reconciles it, the entry may already exist in Clio, so it must not change.
	Syncing bool
}

func (s State) owner(a identity.Actor) bool { return s.OwnerID == a.UserID }

// CanView: the owner, billing and admin.
func CanView(a identity.Actor, s State) error {
	if s.owner(a) || a.Privileged() {
		return nil
	}
	return ErrNotFound
}

// ListOwner is whose entries a list shows: one user's (UserID), one timekeeper's named
// by login (Timekeeper), or, when both are zero, every timekeeper's.
type ListOwner struct {
	UserID     int64
	Timekeeper string
}

// ListScope is CanView for lists: a timekeeper sees only their own entries, whatever they
// ask for; billing and admin see their own when they ask for mine, one timekeeper's when
// they name one, and everyone's otherwise. The actor is a signed-in user (UserID set).
func ListScope(a identity.Actor, mine bool, timekeeper string) ListOwner {
	if !a.Privileged() || mine {
		return ListOwner{UserID: a.UserID}
	}
	return ListOwner{Timekeeper: timekeeper}
}

// CanEdit: only the owner, only drafts that are not deleted.
func CanEdit(a identity.Actor, s State) error {
	if err := CanView(a, s); err != nil {
		return err
	}
	if !s.owner(a) {
		return fmt.Errorf("%w: only the entry's timekeeper edits it", ErrForbidden)
	}
	if s.DeletedAt != nil {
		return fmt.Errorf("%w: the entry is deleted; restore it first", ErrConflict)
	}
	switch s.Status {
	case Draft:
		return nil
	case Approved:
		return fmt.Errorf("%w: approved entries are read-only; reopen it to edit", ErrConflict)
	default:
		return fmt.Errorf("%w: %s entries are locked", ErrConflict, s.Status)
	}
}

// CanApprove: only the owner, only drafts; the entry must be complete (see Complete).
func CanApprove(a identity.Actor, s State) error {
	if err := CanView(a, s); err != nil {
		return err
	}
	if !s.owner(a) {
		return fmt.Errorf("%w: only the entry's timekeeper approves it", ErrForbidden)
	}
	if s.DeletedAt != nil {
		return fmt.Errorf("%w: the entry is deleted", ErrConflict)
	}
	if s.Status != Draft {
		return fmt.Errorf("%w: only drafts can be approved (this one is %s)", ErrConflict, s.Status)
	}
	return nil
}

// CanReopen: owner, billing or admin; only approved entries not yet exported or synced.
func CanReopen(a identity.Actor, s State) error {
	if err := CanView(a, s); err != nil {
		return err
	}
	if s.DeletedAt != nil {
		return fmt.Errorf("%w: the entry is deleted", ErrConflict)
	}
	if s.Syncing {
		return fmt.Errorf("%w: the entry is being sent to Clio; run the Clio sync first", ErrConflict)
	}
	if s.Status != Approved {
		if s.Status == Exported || s.Status == Synced {
			return fmt.Errorf("%w: %s entries are locked and cannot be reopened", ErrConflict, s.Status)
		}
		return fmt.Errorf("%w: only approved entries can be reopened", ErrConflict)
	}
	return nil
}

// CanDelete: only the owner; not exported/synced entries; not already deleted.
func CanDelete(a identity.Actor, s State) error {
	if err := CanView(a, s); err != nil {
		return err
	}
	if !s.owner(a) {
		return fmt.Errorf("%w: only the entry's timekeeper deletes it", ErrForbidden)
	}
	if s.DeletedAt != nil {
		return fmt.Errorf("%w: the entry is already deleted", ErrConflict)
	}
	if s.Status == Exported || s.Status == Synced {
		return fmt.Errorf("%w: %s entries are locked and cannot be deleted", ErrConflict, s.Status)
	}
	if s.Syncing {
		return fmt.Errorf("%w: the entry is being sent to Clio; run the Clio sync first", ErrConflict)
	}
	return nil
}

// CanRestore: the owner or an admin, within the grace period.
func CanRestore(a identity.Actor, s State, now time.Time) error {
	if err := CanView(a, s); err != nil {
		return err
	}
	if !s.owner(a) && a.Role != "admin" {
		return fmt.Errorf("%w: only the entry's timekeeper or an admin restores it", ErrForbidden)
	}
	if s.DeletedAt == nil {
		return fmt.Errorf("%w: the entry is not deleted", ErrConflict)
	}
	if now.Sub(*s.DeletedAt) > GracePeriod {
		return fmt.Errorf("%w: the 30-day grace period has passed", ErrConflict)
	}
	return nil
}

// Fields are the editable fields of an entry.
type Fields struct {
	MatterID  string // "" = none
	Date      string // YYYY-MM-DD
	Tenths    int
	Activity  string
	Task      string // "" = none
	Narrative string
	Billable  bool
}

// Codes are codes a matter accepts beyond the UTBMS sets: the client's own code list,
// when its e-billing profile uses one (code -> description).
type Codes struct {
	Tasks, Activities map[string]string
}

func (c *Codes) task(code string) bool {
	_, ok := c.tasks()[code]
	return ok || utbms.ValidTask(code)
}

func (c *Codes) activity(code string) bool {
	if c != nil {
		if _, ok := c.Activities[code]; ok {
			return true
		}
	}
	return utbms.ValidActivity(code)
}

func (c *Codes) tasks() map[string]string {
	if c == nil {
		return nil
	}
	return c.Tasks
}

// CheckFields validates field values as stored in a draft (drafts may be incomplete).
func CheckFields(f Fields) error { return CheckFieldsIn(f, nil) }

// CheckFieldsIn is CheckFields for a matter that also accepts extra codes (nil: none).
func CheckFieldsIn(f Fields, extra *Codes) error {
	var problems []string
	if _, err := time.Parse("2006-01-02", f.Date); err != nil {
		problems = append(problems, fmt.Sprintf("date %q must be YYYY-MM-DD", f.Date))
	}
	if f.Tenths < 0 || f.Tenths > MaxTenths {
		problems = append(problems, "hours must be between 0 and 24")
	}
	if f.Activity != "" && !extra.activity(f.Activity) {
		problems = append(problems, fmt.Sprintf("activity %q is not a UTBMS activity code (A101-A111)", f.Activity))
	}
	if f.Task != "" && !extra.task(f.Task) {
		problems = append(problems, fmt.Sprintf("task %q is not a UTBMS task code", f.Task))
	}
	if len(f.Narrative) > 4000 {
		problems = append(problems, "narrative is longer than 4000 characters")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// Complete checks an entry has what approval needs.
func Complete(f Fields, today time.Time) error { return CompleteIn(f, today, nil) }

// CompleteIn is Complete for a matter that also accepts extra codes (nil: none).
func CompleteIn(f Fields, today time.Time, extra *Codes) error {
	if err := CheckFieldsIn(f, extra); err != nil {
		return err
	}
	var missing []string
	if f.MatterID == "" {
		missing = append(missing, "a matter")
	}
	if f.Tenths <= 0 {
		missing = append(missing, "hours above zero")
	}
	if f.Activity == "" {
		missing = append(missing, "an activity code")
	}
	if strings.TrimSpace(f.Narrative) == "" {
		missing = append(missing, "a narrative")
	}
	if d, err := time.Parse("2006-01-02", f.Date); err == nil {
		t := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
		if d.After(t) {
			missing = append(missing, "a date that is not in the future")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: approval needs %s", ErrInvalid, strings.Join(missing, ", "))
	}
	return nil
}

// TenthsFromHours checks hours typed for an entry (0 to 24) and converts them to tenths with
// the firm's rounding rule, billing.RoundUpHours: UP to the increment (minutes), then to the
// next tenth, so 0.25 h with a 6-minute increment is 0.3.
func TenthsFromHours(h float64, incrementMinutes int) (int, error) {
	if h != h || h < 0 || h > 24 {
		return 0, fmt.Errorf("%w: hours must be between 0 and 24", ErrInvalid)
	}
	return int(billing.RoundUpHours(h, incrementMinutes)), nil
}
