package web

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/config"
	"dictum/internal/lifecycle"
	"dictum/internal/store"
	"dictum/internal/testrig"
)

// rig is a Server over a testrig world (a real encrypted store and blob dir in a temp
// dir, users of every role with API tokens, no matters) for the web tests. Its fields and
// helpers are thin views of the world, kept so tests read r.st, r.srv, r.do(...).
type rig struct {
	t     *testing.T
	tb    testing.TB // construction-time failures (fuzz targets have no *testing.T yet)
	world *testrig.World
	srv   *Server
	st    *store.Store
	dir   string
	cfg   *config.Config
	// now is the server's clock: tests move it by assigning to it (r.now = r.now.Add(d)).
	now    time.Time
	tokens map[string]string // API token by username
	ids    map[string]int64  // user ID by username
	// authorization-matrix fixtures
	fixtureID, mid string
	walled         string // the walled matrix's matter
}

// newRig is the API tests' world: alice and bob (timekeepers), bill (billing) and ada
// (admin), passwords "password-<name>", each with an API token.
func newRig(t testing.TB, mut ...func(*config.Config)) *rig {
	t.Helper()
	return newServerRig(t, testrig.DefaultUsers(), mut...)
}

// newServerRig builds a rig with exactly these users, the config edited by mut.
func newServerRig(t testing.TB, users []testrig.UserSpec, mut ...func(*config.Config)) *rig {
	t.Helper()
	opts := []testrig.Option{testrig.WithUsers(users...), testrig.WithMatters()}
	for _, m := range mut {
		opts = append(opts, testrig.WithConfig(m))
	}
	w := testrig.New(t, opts...)
	tt, _ := t.(*testing.T)
	r := &rig{t: tt, tb: t, world: w, st: w.Store, dir: w.Dir, cfg: w.Config, now: w.Clock.Now(),
		tokens: map[string]string{}, ids: map[string]int64{}}
	for name, u := range w.Users {
		r.tokens[name], r.ids[name] = u.Token, u.ID
	}
	backups := lifecycle.NewBackups(lifecycle.BackupDeps{Config: w.Config, Store: w.Store, Keys: w.Keys})
	t.Cleanup(backups.Wait) // a backup started by a test finishes before its temp dir goes
	srv, err := New(Deps{Config: w.Config, Store: w.Store, Blobs: w.Blobs, Backups: backups, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	// Archives run on the server's goroutines: stop them before the world's temp dir goes.
	t.Cleanup(srv.archives.Close)
	return r
}

// addUser creates a user with an API token.
func (r *rig) addUser(name, role, password string) *store.User {
	r.T().Helper()
	u := r.world.AddUser(name, role, password)
	r.tokens[name], r.ids[name] = u.Token, u.ID
	return u.User
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (p resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p.Body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", p.Status, p.Body)
	}
	return m
}

func (p resp) errCode(t testing.TB) string {
	m := p.json(t)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object: %s", p.Body)
	}
	if e["message"] == "" {
		t.Fatalf("error without message: %s", p.Body)
	}
	code, _ := e["code"].(string)
	return code
}

// do sends a request; as is a username (API token) or "" for anonymous.
func (r *rig) do(method, path, as string, body any, hdr ...string) resp {
	r.T().Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	case string:
		rd = strings.NewReader(b)
		ct = "application/json"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		ct = "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+r.tokens[as])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return r.roundTrip(req)
}

// roundTrip sends req through the server's app and reads the whole response.
func (r *rig) roundTrip(req *http.Request) resp {
	r.T().Helper()
	res, err := r.srv.App().Test(req, -1)
	if err != nil {
		r.T().Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (r *rig) matter(number, client, name string) string {
	r.T().Helper()
	res := r.do("POST", "/api/v1/matters", "ada", map[string]any{"number": number, "client": client, "name": name})
	if res.Status != 201 {
		r.T().Fatalf("create matter: %d %s", res.Status, res.Body)
	}
	return res.json(r.T())["id"].(string)
}

func (r *rig) entry(as string, fields map[string]any) map[string]any {
	r.T().Helper()
	res := r.do("POST", "/api/v1/entries", as, fields)
	if res.Status != 201 {
		r.T().Fatalf("create entry: %d %s", res.Status, res.Body)
	}
	return res.json(r.T())
}

// tone returns a 16 kHz mono WAV of a sine tone.
func tone(seconds float64) []byte {
	n := int(seconds * 16000)
	s := make([]float32, n)
	for i := range s {
		s[i] = 0.3 * float32(math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	var b bytes.Buffer
	if err := audio.EncodeWAV16(&b, s); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// T is the test to report to: the current one, or the constructor's.
func (r *rig) T() testing.TB {
	if r.t != nil {
		return r.t
	}
	return r.tb
}
