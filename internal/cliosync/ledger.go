package cliosync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"dictum/internal/billing"
	"dictum/internal/clio"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// ledger is the store's sync state as a clio.Ledger: the state lives in the entries table
// and the store audits every change in the same transaction.
type ledger struct {
	st    *store.Store
	actor identity.Actor
	only  map[string]bool
}

var _ clio.Ledger = (*ledger)(nil)

// newLedger returns a ledger acting as a (for the audit log). With ids, only those
// entries are pending (a retry of chosen entries).
func newLedger(st *store.Store, a identity.Actor, ids ...string) *ledger {
	l := &ledger{st: st, actor: a}
	if len(ids) > 0 {
		l.only = make(map[string]bool, len(ids))
		for _, id := range ids {
			l.only[id] = true
		}
	}
	return l
}

// load lists approved, not deleted entries not yet in Clio, split into those that can be
// pushed and those whose matter or timekeeper is not linked to Clio.
func (l *ledger) load(ctx context.Context) ([]clio.PushItem, []clio.ItemError, error) {
	pending, err := l.st.ClioPendingEntries(ctx)
	if err != nil {
		return nil, nil, err
	}
	var ready []clio.PushItem
	var unmapped []clio.ItemError
	for _, p := range pending {
		if l.only != nil && !l.only[p.EntryID] {
			continue
		}
		it := clio.PushItem{EntryID: p.EntryID, Date: p.Date, Hours: billing.Tenths(p.Tenths), Narrative: p.Narrative,
			Billable: p.Billable, UTBMS: p.MatterLEDES, Activity: p.Activity, Task: p.Task, Intent: p.Intent}
		var probs []string
		switch {
		case !p.HasMatter:
			probs = append(probs, "the entry has no matter")
		case p.MatterClioID == nil:
			probs = append(probs, fmt.Sprintf("matter %s is not linked to a Clio matter; run import", p.MatterNumber))
		default:
			it.ClioMatterID = *p.MatterClioID
		}
		if p.UserClioID != nil {
			it.ClioUserID = *p.UserClioID
		} else {
			probs = append(probs, fmt.Sprintf("timekeeper %s is not linked to a Clio user; run import (Clio users are matched by email or name)", p.Username))
		}
		if len(probs) > 0 {
			unmapped = append(unmapped, clio.ItemError{EntryID: it.EntryID, Err: errors.New("not sent: " + strings.Join(probs, "; "))})
			continue
		}
		ready = append(ready, it)
	}
	return ready, unmapped, nil
}

// Pending implements clio.Ledger: entries that can be pushed now (see Unmapped for the rest).
func (l *ledger) Pending(ctx context.Context) ([]clio.PushItem, error) {
	ready, _, err := l.load(ctx)
	return ready, err
}

// Unmapped lists pending entries that cannot be pushed because their matter or timekeeper
// is not linked to Clio, each with the reason.
func (l *ledger) Unmapped(ctx context.Context) ([]clio.ItemError, error) {
	_, unmapped, err := l.load(ctx)
	return unmapped, err
}

// MarkIntent implements clio.Ledger (see store.MarkClioIntent).
func (l *ledger) MarkIntent(ctx context.Context, entryID string) error {
	return l.st.MarkClioIntent(ctx, l.actor, entryID)
}

// MarkSynced implements clio.Ledger (see store.MarkClioSynced).
func (l *ledger) MarkSynced(ctx context.Context, entryID string, clioID int64) error {
	return l.st.MarkClioSynced(ctx, l.actor, entryID, clioID)
}

// MarkFailed implements clio.Ledger (see store.MarkClioFailed).
func (l *ledger) MarkFailed(ctx context.Context, entryID, reason string) error {
	return l.st.MarkClioFailed(ctx, l.actor, entryID, reason)
}

// importInput converts the Clio client's import result for store.ImportClio.
func importInput(r clio.ImportResult) store.ClioImport {
	var in store.ClioImport
	for _, c := range r.Clients {
		in.Clients = append(in.Clients, store.ClioClientIn{ID: c.ID, Name: c.Name})
	}
	for _, m := range r.Matters {
		mi := store.ClioMatterIn{ID: m.ID, Number: m.DisplayNumber, Description: m.Description, Status: m.Status, ClientReference: m.ClientReference}
		if m.Client != nil {
			mi.ClientID, mi.ClientName, mi.ClientLEDESID = m.Client.ID, m.Client.Name, m.Client.LEDESClientID
			// Clio's matter API has no UTBMS field of its own: LEDES billing is switched on
			// per contact, which then carries a LEDES client id. A matter of such a client
			// is UTBMS-billed; any other keeps Dictum's setting (nil).
			if m.Client.LEDESClientID != "" {
				mi.UTBMS = new(true)
			}
		}
		in.Matters = append(in.Matters, mi)
	}
	for _, u := range r.Users {
		in.Users = append(in.Users, store.ClioUserIn{ID: u.ID, Name: u.Name, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Enabled: u.Enabled})
	}
	return in
}
