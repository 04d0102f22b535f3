// Package testrig builds a ready test world for any package's tests, so that no test
// opens stores or creates users by hand.
//
// One call gives a real data directory in t.TempDir(), made the way `dictum init` makes
// it, plus people and matters to work with:
//
//	w := testrig.New(t)
//	alice := w.User("alice")                  // a timekeeper, with Password and API Token
//	m := w.Matter("2026-001")                 // an open matter
//	e, err := w.Store.CreateEntry(ctx, alice.Actor(), store.NewEntry{UserID: alice.ID, ...})
//	w.Clock.Advance(time.Hour)                // time moves only when the test says so
//
// The world holds:
//   - Dir, the data directory, with master.key (a fresh random master key), dictum.db (a
//     SQLCipher store keyed with Keys.DB()) and blobs/ (a blob store keyed with Keys.Blob());
//   - Config: config.Defaults() with DataDir = Dir, firm timezone UTC and the cheapest
//     argon2 parameters the config accepts, so logins in tests are fast;
//   - Users: alice and bob (timekeepers), bill (billing) and ada (admin), each with the
//     password "password-<name>" and one API token;
//   - Matters: three open matters and one closed one (see DefaultMatters);
//   - Clock, a controllable clock starting at Start. The store runs on the wall clock
//     (so rows keep their creation order) unless WithStoreClock is given;
//   - ModelPath, a generated random-weight whisper model, with WithTestModel.
//
// Options change the defaults: WithConfig edits the config before anything is opened,
// WithUsers and WithMatters replace the fixtures, WithSetup runs extra setup on the
// finished world. Everything is closed and removed by t.Cleanup.
//
// The builder is a normal package (not a _test file) so every package's tests can import
// it; it must not be imported by non-test code. Packages that testrig imports (store,
// config, vault, blob, auth, transcribe) can only use it from an external test package
// (package store_test, ...), or import cycles follow.
//
// A fake Clio server lives next door in internal/testrig/cliofake; it plugs in through
// WithConfig (pointing the clio.* settings at the fake) and WithSetup, and the world's
// ClioTokenKey is the key the app seals Clio tokens with.
package testrig

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"dictum/internal/auth"
	"dictum/internal/blob"
	"dictum/internal/cliosync"
	"dictum/internal/config"
	"dictum/internal/identity"
	"dictum/internal/store"
	"dictum/internal/vault"
)

// World is a ready test world. Its fields are meant to be used directly. Its methods
// report failures to the test New was given (call them from that test's goroutine).
type World struct {
	// Dir is the data directory (config.DataDir).
	Dir string
	// Config is the configuration the world was built with.
	Config *config.Config
	// Keys are the vault keys derived from Dir/master.key.
	Keys *vault.Keys
	// Store is the open encrypted database.
	Store *store.Store
	// Blobs is the encrypted blob store in Dir/blobs.
	Blobs *blob.Store
	// Clock is the world's controllable clock.
	Clock *Clock
	// Users are the users by username.
	Users map[string]*User
	// Matters are the fixture matters in creation order (AddMatter appends).
	Matters []*store.Matter
	// ModelPath is the generated whisper model (empty without WithTestModel).
	ModelPath string

	tb testing.TB
}

// User is a stored user with the secrets a test needs to act as them.
type User struct {
	*store.User
	// Password is the user's password in clear.
	Password string
	// Token is an API token for the user ("Authorization: Bearer <Token>").
	Token string
}

// Actor is the identity the user acts with (no IP).
func (u *User) Actor() identity.Actor {
	return identity.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}
}

// UserSpec describes a user to create.
type UserSpec struct {
	Username, Role, Password string
}

// DefaultUsers are the users of a new world: two timekeepers, a biller and an admin.
func DefaultUsers() []UserSpec {
	return []UserSpec{
		{"alice", store.RoleTimekeeper, "password-alice"},
		{"bob", store.RoleTimekeeper, "password-bob"},
		{"bill", store.RoleBilling, "password-bill"},
		{"ada", store.RoleAdmin, "password-ada"},
	}
}

// DefaultMatters are the matters of a new world: three open ones and a closed one.
func DefaultMatters() []store.Matter {
	return []store.Matter{
		{Number: "2026-001", Client: "Acme Corp", Name: "Acme v. Beta Industries", Litigation: true},
		{Number: "2026-002", Client: "Daniel Smith", Name: "Smith v. Jones", Litigation: true},
		{Number: "2026-003", Client: "Northwind LLC", Name: "Northwind office lease"},
		{Number: "2025-090", Client: "Daniel Smith", Name: "Smith estate plan", Status: "closed"},
	}
}

// Option changes how New builds the world.
type Option func(*options)

type options struct {
	configure  []func(*config.Config)
	users      []UserSpec
	matters    []store.Matter
	start      time.Time
	storeClock bool
	model      bool
	setup      []func(*World)
}

// WithConfig edits the configuration before the store is opened. Several are applied in order.
func WithConfig(edit func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, edit) }
}

// WithUsers replaces DefaultUsers: the world has exactly these users (none if empty).
func WithUsers(users ...UserSpec) Option {
	return func(o *options) { o.users = users }
}

// WithMatters replaces DefaultMatters: the world has exactly these matters (none if empty).
func WithMatters(matters ...store.Matter) Option {
	return func(o *options) { o.matters = matters }
}

// WithTime starts the Clock at t instead of Start.
func WithTime(t time.Time) Option {
	return func(o *options) { o.start = t }
}

// WithStoreClock runs the store on the world's Clock (its timestamps, job scheduling and
// session expiry), instead of the wall clock. Rows created at the same Clock time then
// have equal timestamps.
func WithStoreClock() Option {
	return func(o *options) { o.storeClock = true }
}

// WithTestModel generates (or reuses) the test whisper model (see TestModel), points
// Config.Trans.Model at it and sets ModelPath.
func WithTestModel() Option {
	return func(o *options) { o.model = true }
}

// WithSetup runs setup on the finished world, after the fixtures exist. It is the hook for
// extra fixtures shared by a package's tests (and for fakes such as cliofake).
func WithSetup(setup func(*World)) Option {
	return func(o *options) { o.setup = append(o.setup, setup) }
}

// FastArgon2 sets the cheapest argon2id parameters the config accepts (8 MiB, one pass,
// one thread): password hashing in tests takes milliseconds.
func FastArgon2(c *config.Config) {
	c.Auth.Argon2MemoryKiB, c.Auth.Argon2Time, c.Auth.Argon2Threads = 8*1024, 1, 1
}

// New builds a world in t.TempDir() and registers its cleanup with t. Any failure ends
// the test with t.Fatal.
func New(t testing.TB, opts ...Option) *World {
	t.Helper()
	o := options{users: DefaultUsers(), matters: DefaultMatters(), start: Start}
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.DataDir = dir
	cfg.Firm.Timezone = "UTC"
	FastArgon2(&cfg)
	w := &World{Dir: dir, Config: &cfg, Clock: NewClock(o.start), Users: map[string]*User{}, tb: t}
	if o.model {
		w.ModelPath = TestModel(t)
		cfg.Trans.Model = w.ModelPath
	}
	for _, edit := range o.configure {
		edit(&cfg)
	}

	master, err := vault.GenerateMaster()
	if err != nil {
		t.Fatalf("testrig: master key: %v", err)
	}
	if err := vault.Write(filepath.Join(dir, "master.key"), master); err != nil {
		t.Fatalf("testrig: write master key: %v", err)
	}
	w.Keys = vault.NewKeys(master)
	dbKey := w.Keys.DB()
	sopts := store.Options{Key: &dbKey, Create: true}
	if o.storeClock {
		sopts.Now = w.Clock.Now
	}
	w.Store, err = store.Open(ctx, cfg.DBPath(), sopts)
	if err != nil {
		t.Fatalf("testrig: open store: %v", err)
	}
	t.Cleanup(func() { w.Store.Close() })
	if w.Blobs, err = blob.Open(cfg.BlobDir(), w.Keys.Blob()); err != nil {
		t.Fatalf("testrig: open blob store: %v", err)
	}

	for _, u := range o.users {
		w.AddUser(u.Username, u.Role, u.Password)
	}
	for _, m := range o.matters {
		w.AddMatter(m)
	}
	for _, setup := range o.setup {
		setup(w)
	}
	return w
}

// setupActor is who the audit log shows creating the fixtures.
var setupActor = identity.Actor{Username: "test"}

// AddUser creates a user with password (hashed with the world's argon2 parameters) and an
// API token named "test", and adds them to Users.
func (w *World) AddUser(username, role, password string) *User {
	w.tb.Helper()
	ctx := context.Background()
	a := w.Config.Auth
	h, err := auth.Hash(password, auth.Params{MemoryKiB: a.Argon2MemoryKiB, Time: a.Argon2Time, Threads: a.Argon2Threads})
	if err != nil {
		w.tb.Fatalf("testrig: hash password of %s: %v", username, err)
	}
	su := &store.User{Username: username, Role: role, PasswordHash: h}
	if err := w.Store.CreateUser(ctx, setupActor, su); err != nil {
		w.tb.Fatalf("testrig: create user %s: %v", username, err)
	}
	tok, hash, prefix, err := auth.NewAPIToken()
	if err != nil {
		w.tb.Fatalf("testrig: token for %s: %v", username, err)
	}
	if _, err := w.Store.CreateToken(ctx, identity.Actor{}, su.ID, "test", prefix, hash); err != nil {
		w.tb.Fatalf("testrig: store token of %s: %v", username, err)
	}
	u := &User{User: su, Password: password, Token: tok}
	w.Users[username] = u
	return u
}

// User returns the user called username; the test fails if there is none.
func (w *World) User(username string) *User {
	w.tb.Helper()
	u, ok := w.Users[username]
	if !ok {
		w.tb.Fatalf("testrig: no user %q in the world", username)
	}
	return u
}

// AddMatter creates a matter (status "open" unless set) and appends it to Matters.
func (w *World) AddMatter(m store.Matter) *store.Matter {
	w.tb.Helper()
	if err := w.Store.CreateMatter(context.Background(), setupActor, &m); err != nil {
		w.tb.Fatalf("testrig: create matter %s: %v", m.Number, err)
	}
	w.Matters = append(w.Matters, &m)
	return &m
}

// Matter returns the fixture matter with the given number; the test fails if there is none.
func (w *World) Matter(number string) *store.Matter {
	w.tb.Helper()
	for _, m := range w.Matters {
		if m.Number == number {
			return m
		}
	}
	w.tb.Fatalf("testrig: no matter %q in the world", number)
	return nil
}

// ClioTokenKey is the key the app seals Clio OAuth tokens with (cliosync.Deps.TokenKey).
func (w *World) ClioTokenKey() [32]byte { return w.Keys.Derive(cliosync.TokenLabel) }
