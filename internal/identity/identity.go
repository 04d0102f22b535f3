// Package identity names who acts: a signed-in user, an operator at the command line, or
// Dictum itself. One type, Actor, travels from the web layer through the services to the
// store, the entry rules and the audit log.
package identity

// Roles.
const (
	RoleTimekeeper = "timekeeper"
	RoleBilling    = "billing"
	RoleAdmin      = "admin"
)

// Actor is who acts. For a signed-in user every field is set (IP only over HTTP); for the
// system and CLI operators UserID is 0 and Role is empty.
type Actor struct {
	UserID   int64  // the user's id; 0 when no account acts
	Username string // login name, "system", or "cli:<os user>"; the audit log's actor
	Role     string // timekeeper, billing or admin; empty for the system and the CLI
	IP       string // the client's address, when the action came over HTTP
}

// System is Dictum acting on its own (the transcription pipeline, scheduled jobs).
func System() Actor { return Actor{Username: "system"} }

// Privileged reports whether the actor sees every timekeeper's work (billing and admin).
func (a Actor) Privileged() bool { return a.Role == RoleBilling || a.Role == RoleAdmin }

// HasRole reports whether the actor has one of roles.
func (a Actor) HasRole(roles ...string) bool {
	for _, r := range roles {
		if a.Role == r {
			return true
		}
	}
	return false
}

// ValidRole reports whether r is one of the three roles.
func ValidRole(r string) bool {
	return r == RoleTimekeeper || r == RoleBilling || r == RoleAdmin
}
