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
)

// Ref is a nested record reference as Clio returns it ({"id":1,"name":"..."}).
type Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// Matter is the subset of a Clio matter Dictum imports.
type Matter struct {
	ID            int64  `json:"id"`
	DisplayNumber string `json:"display_number"`
	Description   string `json:"description"`
	Status        string `json:"status"` // Open, Pending, Closed
	Billable      bool   `json:"billable"`
	Client        *Ref   `json:"client"`
}

// MatterFields is the fields= value used for matters.
const MatterFields = "id,display_number,description,status,billable,client{id,name}"

// User is a Clio firm user (a timekeeper).
type User struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Enabled   bool   `json:"enabled"`
}

// UserFields is the fields= value used for users.
const UserFields = "id,name,first_name,last_name,email,enabled"

// Contact is a Clio contact (a client when listed with clientsOnly).
type Contact struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // Person or Company
}

// ContactFields is the fields= value used for contacts.
const ContactFields = "id,name,type"

// UTBMSCode is a UTBMS code as Clio nests it in an activity description.
type UTBMSCode struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
}

// ActivityDescription is Clio's "activity" pick list entry. Clio attaches UTBMS codes to
// time entries through it (there is no utbms_task / utbms_activity field on a TimeEntry):
// a UTBMS activity description carries one activity code and one task code.
type ActivityDescription struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	UTBMSActivity *UTBMSCode `json:"utbms_activity"`
	UTBMSTask     *UTBMSCode `json:"utbms_task"`
}

// ActivityDescriptionFields is the fields= value used for activity descriptions.
const ActivityDescriptionFields = "id,name,utbms_activity{id,code},utbms_task{id,code}"

// TimeEntry is a Clio activity of type TimeEntry as read back.
type TimeEntry struct {
	ID       int64   `json:"id"`
	Type     string  `json:"type"`
	Date     string  `json:"date"`
	Quantity float64 `json:"quantity"` // seconds
	Note     string  `json:"note"`
	Matter   *Ref    `json:"matter"`
	User     *Ref    `json:"user"`
}

// TimeEntryFields is the fields= value used for activities.
const TimeEntryFields = "id,type,date,quantity,note,matter{id},user{id}"

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
	return listAll[Matter](ctx, c, "/api/v4/matters.json", url.Values{"fields": {MatterFields}})
}

// ListUsers returns every user of the firm's Clio account.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return listAll[User](ctx, c, "/api/v4/users.json", url.Values{"fields": {UserFields}})
}

// ListContacts returns contacts; with clientsOnly just those that are clients.
func (c *Client) ListContacts(ctx context.Context, clientsOnly bool) ([]Contact, error) {
	q := url.Values{"fields": {ContactFields}}
	if clientsOnly {
		q.Set("client_only", "true")
	}
	return listAll[Contact](ctx, c, "/api/v4/contacts.json", q)
}

// ListActivityDescriptions returns the account's activity descriptions with their UTBMS
// codes (see ActivityDescription).
func (c *Client) ListActivityDescriptions(ctx context.Context) ([]ActivityDescription, error) {
	return listAll[ActivityDescription](ctx, c, "/api/v4/activity_descriptions.json",
		url.Values{"fields": {ActivityDescriptionFields}})
}

type ref struct {
	ID int64 `json:"id"`
}

type createActivity struct {
	Type                string `json:"type"`
	Date                string `json:"date"`
	Quantity            int64  `json:"quantity"`
	Matter              ref    `json:"matter"`
	User                *ref   `json:"user,omitempty"`
	Note                string `json:"note"`
	NonBillable         bool   `json:"non_billable"`
	ActivityDescription *ref   `json:"activity_description,omitempty"`
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
	body := createActivity{
		Type: "TimeEntry", Date: e.Date, Quantity: e.Seconds, Matter: ref{ID: e.MatterID},
		Note: e.Note, NonBillable: e.NonBillable,
	}
	if e.UserID > 0 {
		body.User = &ref{ID: e.UserID}
	}
	if e.ActivityDescriptionID > 0 {
		body.ActivityDescription = &ref{ID: e.ActivityDescriptionID}
	}
	data, err := json.Marshal(map[string]any{"data": body})
	if err != nil {
		return TimeEntry{}, fmt.Errorf("clio: encode time entry: %w", err)
	}
	var out struct {
		Data TimeEntry `json:"data"`
	}
	q := url.Values{"fields": {TimeEntryFields}}
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
		"fields":     {TimeEntryFields},
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
