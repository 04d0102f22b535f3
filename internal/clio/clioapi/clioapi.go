// Package clioapi holds the JSON shapes of the Clio Manage API v4 resources Dictum reads
// and writes. It imports nothing from Dictum: package clio (the client) and the fake Clio
// server in internal/testrig/cliofake both use it, and the clio package's own tests use
// that fake, so the shapes cannot live in package clio itself.
package clioapi

// Ref is a nested record reference as Clio returns it ({"id":1,"name":"..."}).
type Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// Version is the Clio API v4 minor version Dictum is written against, sent as the
// X-API-VERSION header of every request. From 4.0.4 on, an Activity's quantity is in
// seconds (before, hours): Dictum sends and reads seconds.
const Version = "4.0.9"

// Matter is the subset of a Clio matter Dictum imports.
type Matter struct {
	ID            int64  `json:"id"`
	DisplayNumber string `json:"display_number"`
	Description   string `json:"description"`
	Status        string `json:"status"` // Open, Pending, Closed
	Billable      bool   `json:"billable"`
	// ClientReference is the client's own reference for the matter (LEDES CLIENT_MATTER_ID).
	ClientReference string     `json:"client_reference"`
	Client          *ClientRef `json:"client"`
}

// ClientRef is a matter's client as Clio nests it; LEDESClientID is the contact's LEDES
// client id, set in Clio on the contacts a firm bills by LEDES.
type ClientRef struct {
	ID            int64  `json:"id"`
	Name          string `json:"name,omitempty"`
	LEDESClientID string `json:"ledes_client_id,omitempty"`
}

// MatterFields is the fields= value that asks Clio for a Matter.
const MatterFields = "id,display_number,description,status,billable,client_reference,client{id,name,ledes_client_id}"

// User is a Clio firm user (a timekeeper).
type User struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Enabled   bool   `json:"enabled"`
}

// UserFields is the fields= value that asks Clio for a User.
const UserFields = "id,name,first_name,last_name,email,enabled"

// Contact is a Clio contact (a client when listed with client_only=true).
type Contact struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // Person or Company
}

// ContactFields is the fields= value that asks Clio for a Contact.
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

// ActivityDescriptionFields is the fields= value that asks Clio for an ActivityDescription.
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

// TimeEntryFields is the fields= value that asks Clio for a TimeEntry.
const TimeEntryFields = "id,type,date,quantity,note,matter{id},user{id}"

// TimeEntryCreate is the "data" of the POST /api/v4/activities.json body that creates a
// TimeEntry. References carry only an id.
type TimeEntryCreate struct {
	Type                string  `json:"type"`     // TimeEntry
	Date                string  `json:"date"`     // YYYY-MM-DD
	Quantity            float64 `json:"quantity"` // seconds
	Matter              *Ref    `json:"matter"`
	User                *Ref    `json:"user,omitempty"`
	Note                string  `json:"note"`
	NonBillable         bool    `json:"non_billable"`
	ActivityDescription *Ref    `json:"activity_description,omitempty"`
}
