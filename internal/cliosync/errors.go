package cliosync

import "errors"

// ErrNotConfigured is returned when the [clio] config section lacks what a connection needs.
var ErrNotConfigured = errors.New("Clio is not configured: set clio.client_id, clio.client_secret_file (or DICTUM_CLIO_CLIENT_SECRET) and clio.redirect_url " +
	"(the redirect URL registered with the firm's Clio app, ending in /clio/callback) in dictum.toml, then restart dictum")

// ConfigError is a [clio] setting that cannot be used (an unreadable secret file, say).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// UpstreamError is a failure talking to Clio; its message is Clio's (or the network's).
type UpstreamError struct{ Err error }

func (e *UpstreamError) Error() string { return e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// InputError is a request the service refuses as malformed; its message says why.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// DeniedError is a connection Clio did not grant (the admin declined, say).
type DeniedError struct{ Msg string }

func (e *DeniedError) Error() string { return e.Msg }

// StateError is an OAuth callback that cannot finish a connection: its state is unknown,
// used or expired, or the admin or session that started it is gone.
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }
