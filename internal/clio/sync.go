package clio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dictum/internal/billing"
)

// PushItem is an approved entry waiting to be pushed to Clio.
type PushItem struct {
	EntryID      string
	Date         string // YYYY-MM-DD
	Hours        billing.Tenths
	ClioMatterID int64
	ClioUserID   int64 // 0 = the connected user
	Narrative    string
	Billable     bool
	// UTBMS is set when the matter is billed with UTBMS codes in Clio (LEDES-enabled). Then
	// Activity and Task are required and travel as the Clio activity description that
	// carries exactly that pair; otherwise they are not sent.
	UTBMS    bool
	Activity string // e.g. A103
	Task     string // e.g. L210
	// Intent is true when MarkIntent was recorded for this entry by an earlier push: that
	// push may have created the Clio entry before it could record the result.
	Intent bool
}

// Ledger is the caller's durable record of sync state (cliosync implements it over the store).
//
//   - Pending returns approved entries not yet synced, including ones that failed before,
//     with Intent set for every entry MarkIntent was ever called for.
//   - MarkIntent durably records that a push is about to send the entry; it is called
//     before every first send, and the entry must not be sent when it fails.
//   - MarkSynced records the Clio activity id and locks the entry.
//   - MarkFailed records the last error for people to see. It must keep an earlier intent:
//     a failed or interrupted send may still have created the entry.
type Ledger interface {
	Pending(ctx context.Context) ([]PushItem, error)
	MarkIntent(ctx context.Context, entryID string) error
	MarkSynced(ctx context.Context, entryID string, clioID int64) error
	MarkFailed(ctx context.Context, entryID, reason string) error
}

// Synced is an entry that is in Clio now.
type Synced struct {
	EntryID string
	ClioID  int64
	// Reconciled is true when the entry was found in Clio (created by an earlier,
	// interrupted push or by a send whose answer was lost) instead of created now.
	Reconciled bool
}

// ItemError is why one entry was not synced.
type ItemError struct {
	EntryID string
	Err     error
}

func (e ItemError) Error() string { return "entry " + e.EntryID + ": " + e.Err.Error() }
func (e ItemError) Unwrap() error { return e.Err }

// Report is the outcome of a push: every pending entry ends up in exactly one list, except
// those not reached because the context ended (Push then returns the context's error).
type Report struct {
	Synced []Synced
	Failed []ItemError
}

// ImportResult holds Clio's records for the caller to upsert.
type ImportResult struct {
	Clients []Contact
	Matters []Matter
	Users   []User
}

// Syncer pushes approved entries to Clio so that each is created at most once.
type Syncer struct {
	Client *Client
	// SendAttempts bounds sends of one entry in one push when the outcome of a send is
	// unknown; each retry is preceded by a read-back. Default 3.
	SendAttempts int
	// Sleep waits between those attempts; default: the client's sleeper.
	Sleep Sleeper
}

// NewSyncer returns a Syncer using c.
func NewSyncer(c *Client) *Syncer { return &Syncer{Client: c} }

// Import lists Clio's clients, matters and users.
func (s *Syncer) Import(ctx context.Context) (ImportResult, error) {
	var r ImportResult
	var err error
	if r.Users, err = s.Client.ListUsers(ctx); err != nil {
		return ImportResult{}, fmt.Errorf("clio import users: %w", err)
	}
	if r.Clients, err = s.Client.ListContacts(ctx, true); err != nil {
		return ImportResult{}, fmt.Errorf("clio import clients: %w", err)
	}
	if r.Matters, err = s.Client.ListMatters(ctx); err != nil {
		return ImportResult{}, fmt.Errorf("clio import matters: %w", err)
	}
	return r, nil
}

// Push sends every pending entry to Clio.
//
// Protocol per entry: an entry with a recorded intent is first looked up in Clio by its
// marker (FindTimeEntry) and only sent when it is not there; an entry without one gets
// MarkIntent before the POST. A send whose outcome is unknown (5xx, lost connection) is
// read back before it is retried. A crash anywhere therefore leaves either no Clio entry
// and no intent, or an intent that the next push reconciles: at most one Clio entry per
// Dictum entry (as long as nobody removes the marker from the note in Clio).
//
// Per-entry problems are reported in Report.Failed (and MarkFailed) and do not stop the
// push. A ledger that cannot list pending entries, or a context that ends, stops it with an
// error; the report then holds what was done so far.
func (s *Syncer) Push(ctx context.Context, l Ledger) (Report, error) {
	var rep Report
	items, err := l.Pending(ctx)
	if err != nil {
		return rep, fmt.Errorf("clio push: list pending entries: %w", err)
	}
	p := &push{s: s, l: l, rep: &rep}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("clio push: %w", err)
		}
		if seen[it.EntryID] {
			continue // a ledger listing an entry twice must not make us send it twice
		}
		seen[it.EntryID] = true
		p.one(ctx, it)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("clio push: %w", err)
	}
	return rep, nil
}

type push struct {
	s     *Syncer
	l     Ledger
	rep   *Report
	descs map[string]int64 // "A103/L210" -> activity description id, loaded on first need
}

func (p *push) synced(ctx context.Context, it PushItem, id int64, reconciled bool) {
	if err := p.l.MarkSynced(ctx, it.EntryID, id); err != nil {
		// The entry is in Clio; the intent stays recorded, so the next push finds it
		// instead of sending it again.
		p.fail(ctx, it, fmt.Errorf("created in Clio as activity %d but not recorded locally (the next sync reconciles it): %w", id, err))
		return
	}
	p.rep.Synced = append(p.rep.Synced, Synced{EntryID: it.EntryID, ClioID: id, Reconciled: reconciled})
}

func (p *push) fail(ctx context.Context, it PushItem, err error) {
	p.rep.Failed = append(p.rep.Failed, ItemError{EntryID: it.EntryID, Err: err})
	if ctx.Err() != nil {
		return // the ledger call would fail too; the entry stays pending
	}
	if merr := p.l.MarkFailed(ctx, it.EntryID, err.Error()); merr != nil {
		p.rep.Failed[len(p.rep.Failed)-1].Err = fmt.Errorf("%w (and recording the failure failed: %v)", err, merr)
	}
}

func (p *push) one(ctx context.Context, it PushItem) {
	if err := validateItem(it); err != nil {
		p.fail(ctx, it, err)
		return
	}
	c := p.s.Client
	if it.Intent {
		te, found, err := c.FindTimeEntry(ctx, it.EntryID, it.ClioMatterID, it.Date)
		if err != nil {
			p.fail(ctx, it, fmt.Errorf("an earlier push may have sent this entry and checking Clio failed, so it was not sent again: %w", err))
			return
		}
		if found {
			p.synced(ctx, it, te.ID, true)
			return
		}
	}
	entry := NewTimeEntry{
		Date: it.Date, Seconds: it.Hours.Seconds(), MatterID: it.ClioMatterID, UserID: it.ClioUserID,
		Note: NoteWithMarker(it.Narrative, it.EntryID), NonBillable: !it.Billable,
	}
	if it.UTBMS {
		id, err := p.activityDescription(ctx, it.Activity, it.Task)
		if err != nil {
			p.fail(ctx, it, err)
			return
		}
		entry.ActivityDescriptionID = id
	}
	if !it.Intent {
		if err := p.l.MarkIntent(ctx, it.EntryID); err != nil {
			p.fail(ctx, it, fmt.Errorf("not sent: could not record the intent to send: %w", err))
			return
		}
	}
	attempts := p.s.SendAttempts
	if attempts <= 0 {
		attempts = 3
	}
	sleep := p.s.Sleep
	if sleep == nil {
		sleep = c.sleep
	}
	for attempt := 1; ; attempt++ {
		te, err := c.CreateTimeEntry(ctx, entry)
		if err == nil {
			p.synced(ctx, it, te.ID, false)
			return
		}
		if !errors.Is(err, ErrOutcomeUnknown) {
			p.fail(ctx, it, err)
			return
		}
		if ctx.Err() != nil || attempt >= attempts {
			p.fail(ctx, it, fmt.Errorf("sent %d time(s) without a clear answer; the next sync checks Clio before sending again: %w", attempt, err))
			return
		}
		if serr := sleep(ctx, backoff(attempt)); serr != nil {
			p.fail(ctx, it, fmt.Errorf("%w (interrupted: %v)", err, serr))
			return
		}
		found, ok, ferr := c.FindTimeEntry(ctx, it.EntryID, it.ClioMatterID, it.Date)
		if ferr != nil {
			p.fail(ctx, it, fmt.Errorf("send outcome unknown and checking Clio failed, so it was not sent again: %w (after: %v)", ferr, err))
			return
		}
		if ok {
			p.synced(ctx, it, found.ID, true)
			return
		}
	}
}

func (p *push) activityDescription(ctx context.Context, activity, task string) (int64, error) {
	act := strings.ToUpper(strings.TrimSpace(activity))
	tsk := strings.ToUpper(strings.TrimSpace(task))
	if act == "" || tsk == "" {
		return 0, errors.New("the matter is UTBMS-billed in Clio but the entry lacks an activity or task code")
	}
	if p.descs == nil {
		list, err := p.s.Client.ListActivityDescriptions(ctx)
		if err != nil {
			return 0, fmt.Errorf("look up Clio activity descriptions: %w", err)
		}
		p.descs = make(map[string]int64, len(list))
		for _, d := range list {
			if d.UTBMSActivity == nil || d.UTBMSTask == nil {
				continue
			}
			k := strings.ToUpper(d.UTBMSActivity.Code) + "/" + strings.ToUpper(d.UTBMSTask.Code)
			if _, dup := p.descs[k]; !dup { // lowest id wins (list is id-ordered): stable
				p.descs[k] = d.ID
			}
		}
	}
	id, ok := p.descs[act+"/"+tsk]
	if !ok {
		return 0, fmt.Errorf("no Clio activity description carries UTBMS activity %s with task %s; create one in Clio (Settings > Activities) and sync again", act, tsk)
	}
	return id, nil
}

func validateItem(it PushItem) error {
	var probs []string
	id := it.EntryID
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "[] \t\r\n") {
		probs = append(probs, fmt.Sprintf("entry id %q cannot be used as a Clio marker", id))
	}
	if _, err := time.Parse(time.DateOnly, it.Date); err != nil {
		probs = append(probs, fmt.Sprintf("date %q is not YYYY-MM-DD", it.Date))
	}
	if it.Hours <= 0 {
		probs = append(probs, "hours must be more than zero")
	}
	if it.ClioMatterID <= 0 {
		probs = append(probs, "the matter is not linked to a Clio matter")
	}
	if len(probs) > 0 {
		return errors.New("not sent: " + strings.Join(probs, "; "))
	}
	return nil
}
