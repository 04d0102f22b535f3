package dictation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"dictum/internal/draft"
	"dictum/internal/entry"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// Aliases lists the aliases the actor's drafts use: their own, then the firm's.
func (s *Service) Aliases(ctx context.Context, a identity.Actor) ([]*store.Alias, error) {
	list, err := s.Store.AliasesFor(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, al := range list {
		if al.MatterID != "" {
			ok, err := s.Store.MatterVisibleTo(ctx, a.UserID, al.MatterID)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // a firm alias of a matter walled off from the user
			}
		}
		out = append(out, al)
	}
	return out, nil
}

// PutAlias sets an alias of a matter (or, with activity set, of a UTBMS activity): scope
// "user" (the default) for the actor, scope "firm" for everyone, which only an admin may set.
func (s *Service) PutAlias(ctx context.Context, a identity.Actor, phrase, matterID, activity, scope string) (*store.Alias, error) {
	if scope == "" {
		scope = store.AliasUser
	}
	if scope != store.AliasUser && scope != store.AliasFirm {
		return nil, fmt.Errorf("%w: scope %q: want \"user\" or \"firm\"", ErrInvalid, clip(scope, 20))
	}
	if scope == store.AliasFirm && a.Role != identity.RoleAdmin {
		return nil, fmt.Errorf("%w: only an administrator sets firm aliases", entry.ErrForbidden)
	}
	p := draft.NormalizePhrase(phrase)
	if err := draft.CheckPhrase(p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	matterID, activity = strings.TrimSpace(matterID), strings.ToUpper(strings.TrimSpace(activity))
	if matterID == "" && activity == "" {
		return nil, fmt.Errorf("%w: \"matter\" (or \"activity\") is required", ErrInvalid)
	}
	return s.Store.PutAlias(ctx, a, store.Alias{Phrase: p, MatterID: matterID, Activity: activity, Scope: scope, UserID: a.UserID, Source: store.AliasManual})
}

// DeleteAlias removes an alias by id, or by phrase within a scope (the actor's own
// for "user") and kind (matter unless "activity").
func (s *Service) DeleteAlias(ctx context.Context, a identity.Actor, id, phrase, scope, kind string) error {
	if id == "" {
		if scope == "" {
			scope = store.AliasUser
		}
		if kind != store.KindActivity {
			kind = store.KindMatter
		}
		p := draft.NormalizePhrase(phrase)
		if p == "" {
			return fmt.Errorf("%w: say which alias: \"id\", or \"phrase\" and \"scope\"", ErrInvalid)
		}
		al, err := s.Store.AliasByPhrase(ctx, scope, a.UserID, kind, p)
		if err != nil {
			return err
		}
		id = al.ID
	}
	return s.Store.DeleteAlias(ctx, a, id)
}

// draftAliases are a user's aliases in the drafter's shape; aliases of closed matters
// are left out.
func (s *Service) draftAliases(ctx context.Context, userID int64) ([]draft.Alias, error) {
	list, err := s.Store.AliasesFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]draft.Alias, 0, len(list))
	for _, a := range list {
		if a.Open && a.MatterID != "" {
			// A firm alias may name a matter walled off from this user: never for them.
			ok, err := s.Store.MatterVisibleTo(ctx, userID, a.MatterID)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if a.Open {
			out = append(out, draft.Alias{Phrase: a.Phrase, Matter: a.MatterID, Activity: a.Activity, Scope: a.Scope})
		}
	}
	return out, nil
}

// EditEntry edits a draft and, when its owner corrected the matter a drafting engine
// chose (or left empty), learns the phrase of the dictation that named it as the
// owner's alias. It returns the learned alias, or nil.
func (s *Service) EditEntry(ctx context.Context, a identity.Actor, id string, patch store.EntryPatch) (*store.Entry, *store.Alias, error) {
	before, err := s.Store.EntryFor(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	after, err := s.Store.UpdateEntry(ctx, a, id, patch)
	if err != nil {
		return nil, nil, err
	}
	learned, err := s.learn(ctx, a, before, after)
	if err != nil {
		// the edit stands; a failed lesson is not the lawyer's problem
		return after, nil, nil
	}
	return after, learned, nil
}

func (s *Service) learn(ctx context.Context, a identity.Actor, before, after *store.Entry) (*store.Alias, error) {
	if a.UserID == 0 || before.UserID != a.UserID || before.Engine == "manual" {
		return nil, nil
	}
	matterChanged := after.MatterID != nil && (before.MatterID == nil || *before.MatterID != *after.MatterID)
	activityChanged := after.Activity != nil && *after.Activity != "" && (before.Activity == nil || *before.Activity != *after.Activity)
	if !matterChanged && !activityChanged {
		return nil, nil
	}
	text := ""
	if before.Span != nil {
		text = *before.Span
	} else if before.RecordingID != nil {
		r, err := s.Store.RecordingByID(ctx, *before.RecordingID)
		if err != nil {
			return nil, err
		}
		if r.Transcript != nil {
			text = *r.Transcript
		}
	}
	var learned *store.Alias
	if activityChanged {
		if p := draft.LearnActivityPhrase(text); p != "" {
			al, err := s.Store.PutAlias(ctx, a, store.Alias{Phrase: p, Activity: *after.Activity, Scope: store.AliasUser, UserID: a.UserID, Source: store.AliasLearned})
			if err != nil && !errors.Is(err, entry.ErrInvalid) {
				return nil, err
			}
			learned = al
		}
	}
	if !matterChanged {
		return learned, nil
	}
	phrase := draft.LearnPhrase(text)
	if phrase == "" {
		return learned, nil
	}
	matters, err := s.OpenMatters(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	if draft.PhraseNamesMatter(phrase, matters) {
		return learned, nil // the name of a matter is never an alias (it is matched anyway)
	}
	al, err := s.Store.PutAlias(ctx, a, store.Alias{Phrase: phrase, MatterID: *after.MatterID, Scope: store.AliasUser, UserID: a.UserID, Source: store.AliasLearned})
	if errors.Is(err, entry.ErrInvalid) {
		return learned, nil // e.g. the matter was closed meanwhile
	}
	return al, err
}
