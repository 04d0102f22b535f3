package clio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"dictum/internal/clio/clioapi"
)

// The Clio API v4 resources Dictum reads, as package clioapi shapes them (see there).
type (
	Ref                 = clioapi.Ref
	Matter              = clioapi.Matter
	ClientRef           = clioapi.ClientRef
	User                = clioapi.User
	Contact             = clioapi.Contact
	UTBMSCode           = clioapi.UTBMSCode
	ActivityDescription = clioapi.ActivityDescription
	TimeEntry           = clioapi.TimeEntry
)

// NewTimeEntry is what Dictum sends to create a Clio time entry.
type NewTimeEntry struct {
	Date        string // YYYY-MM-DD
	Seconds     int64  // quantity; Clio's latest API version counts TimeEntry quantity in seconds
	MatterID    int64
	UserID      int64
	Note        string // should end with Marker(entryID) so the entry can be found again
	NonBillable bool
	// ActivityDescriptionID, when not 0, links the entry to a Clio activity description;
	// for LEDES/UTBMS matters that is how the UTBMS activity and task codes travel.
	ActivityDescriptionID int64
}

type listPage[T any] struct {
	Data []T `json:"data"`
	Meta struct {
		Paging struct {
			Next string `json:"next"`
		} `json:"paging"`
	} `json:"meta"`
}

const pageLimit = 200

// listAll reads every page of a cursor-paged index (order=id(asc), limit=200), following
// meta.paging.next as given by Clio.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", strconv.Itoa(pageLimit))
	q.Set("order", "id(asc)")
	ref := path + "?" + q.Encode()
	var all []T
	seen := map[string]bool{}
	for page := 1; ref != ""; page++ {
		if seen[ref] {
			return nil, fmt.Errorf("clio: list %s: paging loops back to page %q", path, ref)
		}
		seen[ref] = true
		var p listPage[T]
		if err := c.do(ctx, "GET", ref, nil, &p); err != nil {
			return nil, fmt.Errorf("list %s page %d: %w", path, page, err)
		}
		all = append(all, p.Data...)
		ref = p.Meta.Paging.Next
	}
	return all, nil
}

// ListMatters returns every matter visible to the connected user.
func (c *Client) ListMatters(ctx context.Context) ([]Matter, error) {
	return listAll[Matter](ctx, c, "/api/v4/matters.json", url.Values{"fields": {clioapi.MatterFields}})
}

// ListUsers returns every user of the firm's Clio account.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return listAll[User](ctx, c, "/api/v4/users.json", url.Values{"fields": {clioapi.UserFields}})
}

// ListContacts returns contacts; with clientsOnly just those that are clients.
func (c *Client) ListContacts(ctx context.Context, clientsOnly bool) ([]Contact, error) {
	q := url.Values{"fields": {clioapi.ContactFields}}
	if clientsOnly {
		q.Set("client_only", "true")
	}
	return listAll[Contact](ctx, c, "/api/v4/contacts.json", q)
}

// ListActivityDescriptions returns the account's activity descriptions with their UTBMS
// codes (see ActivityDescription).
func (c *Client) ListActivityDescriptions(ctx context.Context) ([]ActivityDescription, error) {
	return listAll[ActivityDescription](ctx, c, "/api/v4/activity_descriptions.json",
		url.Values{"fields": {clioapi.ActivityDescriptionFields}})
}

// CreateTimeEntry creates a TimeEntry (POST /api/v4/activities.json). An error wrapping
// ErrOutcomeUnknown means the entry may exist anyway: look for it with FindTimeEntry
// before trying again.
func (c *Client) CreateTimeEntry(ctx context.Context, e NewTimeEntry) (TimeEntry, error) {
	if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
		return TimeEntry{}, fmt.Errorf("clio: create time entry: date %q is not YYYY-MM-DD", e.Date)
	}
	if e.MatterID <= 0 {
		return TimeEntry{}, errors.New("clio: create time entry: matter id is required")
	}
	if e.Seconds <= 0 {
		return TimeEntry{}, errors.New("clio: create time entry: quantity must be positive")
	}
	body := clioapi.TimeEntryCreate{
		Type: "TimeEntry", Date: e.Date, Quantity: float64(e.Seconds), Matter: &Ref{ID: e.MatterID},
		Note: e.Note, NonBillable: e.NonBillable,
	}
	if e.UserID > 0 {
		body.User = &Ref{ID: e.UserID}
	}
	if e.ActivityDescriptionID > 0 {
		body.ActivityDescription = &Ref{ID: e.ActivityDescriptionID}
	}
	data, err := json.Marshal(map[string]any{"data": body})
	if err != nil {
		return TimeEntry{}, fmt.Errorf("clio: encode time entry: %w", err)
	}
	var out struct {
		Data TimeEntry `json:"data"`
	}
	q := url.Values{"fields": {clioapi.TimeEntryFields}}
	if err := c.do(ctx, "POST", "/api/v4/activities.json?"+q.Encode(), data, &out); err != nil {
		return TimeEntry{}, fmt.Errorf("create time entry: %w", err)
	}
	if out.Data.ID <= 0 {
		return TimeEntry{}, fmt.Errorf("create time entry: %w: created answer has no id", ErrOutcomeUnknown)
	}
	return out.Data, nil
}

// Marker is the reference Dictum appends to a time entry's note: Clio has no idempotency
// key or external id on activities, so the note carries "[dictum:<entry id>]" and
// FindTimeEntry matches it exactly.
func Marker(entryID string) string { return "[dictum:" + entryID + "]" }

// NoteWithMarker returns the narrative with the entry's marker appended on its own line.
func NoteWithMarker(narrative, entryID string) string {
	n := strings.TrimRight(narrative, " \t\r\n")
	if n == "" {
		return Marker(entryID)
	}
	return n + "\n" + Marker(entryID)
}

func hasMarker(note, entryID string) bool {
	return strings.HasSuffix(strings.TrimRight(note, " \t\r\n"), Marker(entryID))
}

// FindTimeEntry looks for the time entry Dictum created for entryID on matterID and date:
// it lists that matter's TimeEntries for that one day (database filters, not full-text
// search, so a just-created entry is found) and matches the marker at the end of the note.
// It returns found=false when there is none; more than one is reported as an error,
// because it means a duplicate already exists and a person should look.
func (c *Client) FindTimeEntry(ctx context.Context, entryID string, matterID int64, date string) (TimeEntry, bool, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return TimeEntry{}, false, fmt.Errorf("clio: find time entry: date %q is not YYYY-MM-DD", date)
	}
	q := url.Values{
		"fields":     {clioapi.TimeEntryFields},
		"type":       {"TimeEntry"},
		"matter_id":  {strconv.FormatInt(matterID, 10)},
		"start_date": {date},
		"end_date":   {date},
	}
	list, err := listAll[TimeEntry](ctx, c, "/api/v4/activities.json", q)
	if err != nil {
		return TimeEntry{}, false, fmt.Errorf("find time entry %s: %w", entryID, err)
	}
	var found []TimeEntry
	for _, te := range list {
		if hasMarker(te.Note, entryID) {
			found = append(found, te)
		}
	}
	switch len(found) {
	case 0:
		return TimeEntry{}, false, nil
	case 1:
		return found[0], true, nil
	}
	ids := make([]string, len(found))
	for i, te := range found {
		ids[i] = strconv.FormatInt(te.ID, 10)
	}
	return found[0], true, fmt.Errorf("clio: entry %s exists %d times in Clio (activities %s)", entryID, len(found), strings.Join(ids, ", "))
}
