package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"dictum/internal/auth"
	"dictum/internal/config"
	"dictum/internal/directory"
	"dictum/internal/identity"
	"dictum/internal/testrig"
	"dictum/internal/testrig/slapd"
)

// ldapEnv is the [ldap] section of c as DICTUM_LDAP_* variables.
func ldapEnv(c *config.Config) []string {
	l := c.LDAP
	return []string{"DICTUM_LDAP_URL=" + l.URL, "DICTUM_LDAP_INSECURE=true", "DICTUM_LDAP_BIND_DN=" + l.BindDN,
		"DICTUM_LDAP_BIND_PASSWORD_FILE=" + l.BindPasswordFile, "DICTUM_LDAP_USER_BASE=" + l.UserBase,
		"DICTUM_LDAP_USER_FILTER=" + l.UserFilter, "DICTUM_LDAP_ROLE_GROUPS_ADMIN=" + l.RoleGroups.Admin,
		"DICTUM_LDAP_ROLE_GROUPS_BILLING=" + l.RoleGroups.Billing, "DICTUM_LDAP_ROLE_GROUPS_TIMEKEEPER=" + l.RoleGroups.Timekeeper,
		"DICTUM_LDAP_TIMEKEEPER_ID_ATTRIBUTE=" + l.TimekeeperIDAttr}
}

func TestLDAPTestCommand(t *testing.T) {
	srv := slapd.Start(t, "")
	data := initData(t)
	var c config.Config
	srv.Configure(&c)
	env := ldapEnv(&c)
	r := dictum(t, "", env, "ldap", "test", "--data", data, "--username", "ada")
	if r.code != 0 {
		t.Fatalf("ldap test: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"ok   connect", "ok   tls", "ok   bind", "ok   search", slapd.UserDN("ada"), "role admin"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, slapd.ServicePW) {
		t.Fatal("the service password was printed")
	}
	if r := dictum(t, "", env, "ldap", "test", "--data", data, "--username", "nogroup"); r.code != 1 || !strings.Contains(r.stdout, "FAIL groups") {
		t.Fatalf("nogroup: %d %s", r.code, r.stdout)
	}
	if r := dictum(t, "", nil, "ldap", "test", "--data", data); r.code == 0 || !strings.Contains(r.stderr, "directory sign-in is off") {
		t.Fatalf("without [ldap]: %d %s", r.code, r.stderr)
	}
	srv.Stop()
	if r := dictum(t, "", env, "ldap", "test", "--data", data, "--username", "ada"); r.code != 1 || !strings.Contains(r.stdout, "FAIL connect") {
		t.Fatalf("directory down: %d %s", r.code, r.stdout)
	}
}

// `dictum ldap sync` disables a leaver and revokes her API token.
func TestLDAPSyncCommand(t *testing.T) {
	srv := slapd.Start(t, "")
	w := testrig.New(t, testrig.WithConfig(srv.Configure))
	ctx := context.Background()
	// testrig's local alice is linked to the directory's alice at her first directory login.
	if _, err := directory.New(w.Config, w.Store).Login(ctx, identity.Actor{}, "alice", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	srv.Modify("dn: " + slapd.UserDN("alice") + "\nchangetype: delete\n")
	r := dictum(t, "", ldapEnv(w.Config), "ldap", "sync", "--data", w.Dir)
	if r.code != 0 || !strings.Contains(r.stdout, "disabled alice: gone from the directory (sessions ended 0, API tokens revoked 1)") {
		t.Fatalf("ldap sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := w.Store.AuthenticateToken(ctx, auth.HashToken(w.User("alice").Token), time.Now()); err == nil {
		t.Fatal("alice's API token still works after the sync")
	}
	srv.Stop()
	if r := dictum(t, "", ldapEnv(w.Config), "ldap", "sync", "--data", w.Dir); r.code == 0 || !strings.Contains(r.stderr, "cannot be reached") {
		t.Fatalf("sync with the directory down: %d %s", r.code, r.stderr)
	}
}

// `dictum serve` with [ldap]: directory users sign in, the local break-glass admin too,
// and the leaver sync is scheduled every 15 minutes by default.
func TestServeWithDirectory(t *testing.T) {
	srv := slapd.Start(t, "")
	data := initData(t)
	var c config.Config
	srv.Configure(&c)
	addr := freePort(t)
	_, logf := startProc(t, data, addr, append(ldapEnv(&c), "DICTUM_LDAP_LOCAL_USERS=boss")...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("not ready: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct{ user, pw, role string }{{"alice", "pw-alice", "timekeeper"}, {"ada", "pw-ada", "admin"}, {"boss", "admin-password-1", "admin"}} {
		body := strings.NewReader(`{"username":"` + tc.user + `","password":"` + tc.pw + `"}`)
		res, err := http.Post("http://"+addr+"/api/v1/session", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		if res.StatusCode != 200 || m["role"] != tc.role {
			t.Fatalf("%s: %d %v", tc.user, res.StatusCode, m)
		}
	}
	b, _ := os.ReadFile(logf.Name())
	if !strings.Contains(string(b), `"job":"ldap.sync","schedule":"*/15 * * * *"`) {
		t.Fatalf("ldap.sync not scheduled:\n%s", b)
	}
}
