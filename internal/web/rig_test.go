package web

import (
	"bytes"
	"context"
	"dictum/internal/identity"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/auth"
	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/store"
)

// rig is a ready test world: a real encrypted store and blob dir in a temp dir, a server,
// and users of every role with API tokens.
type rig struct {
	t      *testing.T
	tb     testing.TB // construction-time failures (fuzz targets have no *testing.T yet)
	srv    *Server
	st     *store.Store
	dir    string
	cfg    *config.Config
	now    time.Time
	tokens map[string]string
	// authorization-matrix fixtures
	fixtureID, mid string
}

func newRig(t testing.TB, mut ...func(*config.Config)) *rig {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.DataDir = dir
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Firm.Timezone = "UTC"
	for _, m := range mut {
		m(&cfg)
	}
	var key [32]byte
	key[0] = 7
	st, err := store.Open(context.Background(), filepath.Join(dir, "dictum.db"), store.Options{Key: &key, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), key)
	if err != nil {
		t.Fatal(err)
	}
	tt, _ := t.(*testing.T)
	r := &rig{t: tt, tb: t, st: st, dir: dir, cfg: &cfg, now: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC), tokens: map[string]string{}}
	srv, err := New(Deps{Config: &cfg, Store: st, Blobs: blobs, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	for _, u := range []struct{ name, role string }{{"alice", "timekeeper"}, {"bob", "timekeeper"}, {"bill", "billing"}, {"ada", "admin"}} {
		r.addUser(u.name, u.role, "password-"+u.name)
	}
	return r
}

func (r *rig) addUser(name, role, password string) *store.User {
	h, err := auth.Hash(password, auth.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	if err != nil {
		r.T().Fatal(err)
	}
	u := &store.User{Username: name, Role: role, PasswordHash: h}
	if err := r.st.CreateUser(context.Background(), identity.Actor{Username: "test"}, u); err != nil {
		r.T().Fatal(err)
	}
	tok, hash, prefix, _ := auth.NewAPIToken()
	if _, err := r.st.CreateToken(context.Background(), identity.Actor{}, u.ID, "test", prefix, hash); err != nil {
		r.T().Fatal(err)
	}
	r.tokens[name] = tok
	return u
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
