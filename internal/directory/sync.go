package directory

import (
	"context"
	"errors"
	"fmt"

	"dictum/internal/identity"
	"dictum/internal/store"
)

// Disabled is one account the sync disabled.
type Disabled struct {
	Username      string `json:"username"`
	Reason        string `json:"reason"`
	SessionsEnded int64  `json:"sessions_ended"`
	TokensRevoked int64  `json:"tokens_revoked"`
}

// SyncReport says what a sync did.
type SyncReport struct {
	Checked     int        `json:"checked"`
	Disabled    []Disabled `json:"disabled"`
	RoleChanged []string   `json:"role_changed"`
	Skipped     []string   `json:"skipped"` // ambiguous entries, left alone
}

const reasonGone = "gone from the directory"

// Sync checks every enabled directory account against the directory and disables those
// gone, disabled there, or in no mapped group (ending sessions, revoking tokens); a role
// the groups changed is applied. If the directory cannot be reached or a mapped group is
// missing nothing is changed: an outage never locks the firm out; nor does a sync that
// finds every one of three or more users gone (a configuration mistake, not a mass exodus).
func (s *Service) Sync(ctx context.Context, a identity.Actor) (*SyncReport, error) {
	if !s.Enabled() {
		return nil, errors.New("directory sign-in is off ([ldap] url is empty)")
	}
	users, err := s.store.DirectoryUsers(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close()
	type verdict struct {
		u      store.DirectoryUser
		reason string
		role   string
	}
	// Read everything first, change nothing until every lookup succeeded.
	var verdicts []verdict
	rep := &SyncReport{Disabled: []Disabled{}, RoleChanged: []string{}, Skipped: []string{}}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		rep.Checked++
		p, err := s.find(conn, u.Username)
		switch {
		case errors.Is(err, errNotFound):
			verdicts = append(verdicts, verdict{u: u, reason: reasonGone})
			continue
		case errors.Is(err, errAmbiguous):
			rep.Skipped = append(rep.Skipped, u.Username)
			continue
		case err != nil:
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		off, why, err := s.disabled(conn, p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if off {
			verdicts = append(verdicts, verdict{u: u, reason: why})
			continue
		}
		role, _, err := s.role(conn, p.DN)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if role == "" {
			verdicts = append(verdicts, verdict{u: u, reason: "in no mapped group"})
		} else if role != u.Role {
			verdicts = append(verdicts, verdict{u: u, role: role})
		}
	}
	// A mistyped user_filter or a search the service account may no longer make looks like
	// everyone left: refuse rather than lock the whole firm out.
	gone := 0
	for _, v := range verdicts {
		if v.reason == reasonGone {
			gone++
		}
	}
	if rep.Checked >= 3 && gone == rep.Checked {
		return nil, fmt.Errorf("refusing to disable all %d directory users as gone: check ldap.user_base, ldap.user_filter and the service account's read access (dictum ldap test --username U)", gone)
	}
	for _, v := range verdicts {
		if v.role != "" {
			if err := s.store.DirectorySetRole(ctx, a, v.u.UserID, v.role); err != nil {
				return rep, err
			}
			rep.RoleChanged = append(rep.RoleChanged, v.u.Username+": "+v.u.Role+" -> "+v.role)
			continue
		}
		r, err := s.store.DirectoryDisable(ctx, a, v.u.UserID, v.reason)
		if err != nil {
			return rep, err
		}
		rep.Disabled = append(rep.Disabled, Disabled{Username: v.u.Username, Reason: v.reason, SessionsEnded: r.Sessions, TokensRevoked: r.Tokens})
	}
	// Each disable and role change has its own event; the summary is written when the sync
	// changed something or an operator ran it (not every quiet 15-minute run).
	if len(rep.Disabled)+len(rep.RoleChanged) == 0 && a.Username == identity.System().Username {
		return rep, nil
	}
	if err := s.store.Audit(ctx, a, "directory.sync", "directory", "", map[string]any{
		"checked": rep.Checked, "disabled": len(rep.Disabled), "role_changed": len(rep.RoleChanged), "skipped": len(rep.Skipped)}); err != nil {
		return rep, err
	}
	return rep, nil
}

// ScheduledSync is Sync as the scheduler's job, acting as the system.
func (s *Service) ScheduledSync(ctx context.Context) error {
	_, err := s.Sync(ctx, identity.System())
	return err
}
