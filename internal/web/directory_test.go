package web

import (
	"net/url"
	"strings"
	"testing"

	"dictum/internal/store"
	"dictum/internal/testrig"
	"dictum/internal/testrig/slapd"
)

// newDirectoryRig is a server signing in against a real slapd: "breakglass" is a local
// admin allowed while LDAP is on, "bob" a local timekeeper who is not.
func newDirectoryRig(t *testing.T) (*rig, *slapd.Server) {
	t.Helper()
	srv := slapd.Start(t, "")
	r := newServerRig(t, []testrig.UserSpec{
		{Username: "breakglass", Role: store.RoleAdmin, Password: "password-breakglass"},
		{Username: "bob", Role: store.RoleTimekeeper, Password: "password-bob"},
	}, srv.Configure)
	return r, srv
}

func TestDirectoryLoginAPI(t *testing.T) {
	r, srv := newDirectoryRig(t)
	// Role from the group; the next login re-reads it.
	_, _, res := login(t, r, "alice", "pw-alice")
	if res.Status != 200 || res.json(t)["role"] != "timekeeper" {
		t.Fatalf("alice: %d %s", res.Status, res.Body)
	}
	srv.Modify("dn: " + slapd.BillGroup + "\nchangetype: modify\nadd: member\nmember: " + slapd.UserDN("alice") + "\n")
	if _, _, res := login(t, r, "alice", "pw-alice"); res.Status != 200 || res.json(t)["role"] != "billing" {
		t.Fatalf("alice after joining billing: %d %s", res.Status, res.Body)
	}
	// No enumeration: unknown user, wrong password, AD-disabled account, a local account
	// that is not break-glass, and injected filters all get the same answer.
	srv.Modify("dn: " + slapd.UserDN("carol") + "\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n")
	var first string
	for _, c := range [][2]string{{"alice", "wrong"}, {"zed", "pw-zed"}, {"carol", "pw-carol"}, {"bob", "password-bob"}} {
		_, _, res := login(t, r, c[0], c[1])
		if res.Status != 401 {
			t.Fatalf("%s: %d %s", c[0], res.Status, res.Body)
		}
		if first == "" {
			first = string(res.Body)
		} else if string(res.Body) != first {
			t.Errorf("%s: answer %s differs from %s", c[0], res.Body, first)
		}
	}
	// The web layer refuses these names before the directory is asked (internal/directory
	// proves the filter escaping on its own).
	for _, u := range []string{"*)(uid=*", "*", "alice)(|(uid=*"} {
		if _, _, res := login(t, r, u, "pw-alice"); res.Status == 200 {
			t.Fatalf("injection %q signed in", u)
		}
	}
	// Right password, no mapped group: a clear message.
	if _, _, res := login(t, r, "nogroup", "pw-nogroup"); res.Status != 403 || !strings.Contains(string(res.Body), "not in any Dictum group") {
		t.Fatalf("nogroup: %d %s", res.Status, res.Body)
	}
	// 2FA rules per role apply to directory users.
	if res := r.do("PATCH", "/api/v1/settings", "breakglass", map[string]any{"require_2fa_roles": "admin"}); res.Status != 200 {
		t.Fatalf("settings: %d %s", res.Status, res.Body)
	}
	if _, _, res := login(t, r, "ada", "pw-ada"); res.Status != 200 || res.json(t)["mfa_enrolment_required"] != true {
		t.Fatalf("ada (admin from the directory) not asked to enrol 2FA: %d %s", res.Status, res.Body)
	}
	// The directory goes down: a clear 503; the break-glass admin still signs in.
	srv.Stop()
	if _, _, res := login(t, r, "alice", "pw-alice"); res.Status != 503 || !strings.Contains(string(res.Body), "cannot be reached") {
		t.Fatalf("directory down: %d %s", res.Status, res.Body)
	}
	if _, _, res := login(t, r, "breakglass", "password-breakglass"); res.Status != 200 {
		t.Fatalf("break-glass with the directory down: %d %s", res.Status, res.Body)
	}
}

func TestDirectoryLoginPageAndCheck(t *testing.T) {
	r, _ := newDirectoryRig(t)
	if res := r.do("GET", "/login", "", nil); res.Status != 200 || !strings.Contains(string(res.Body), "firm network account") {
		t.Fatalf("login page: %d", res.Status)
	}
	res := r.do("POST", "/login", "", "username=ada&password=pw-ada", "Content-Type", "application/x-www-form-urlencoded", "Origin", "http://example.com")
	if res.Status != 303 {
		t.Fatalf("form login: %d %s", res.Status, res.Body)
	}
	form := url.Values{"username": {"ada"}}.Encode()
	res = r.do("POST", "/admin/directory", "breakglass", form, "Content-Type", "application/x-www-form-urlencoded")
	body := string(res.Body)
	if res.Status != 200 || !strings.Contains(body, "role admin") || !strings.Contains(body, slapd.UserDN("ada")) || strings.Contains(body, slapd.ServicePW) {
		t.Fatalf("admin check: %d %s", res.Status, body)
	}
}

// Without [ldap] the login page speaks of Dictum accounts.
func TestLoginPageLocalAccounts(t *testing.T) {
	r := newRig(t)
	if res := r.do("GET", "/login", "", nil); !strings.Contains(string(res.Body), "Dictum account your administrator created") {
		t.Fatalf("login page: %s", res.Body)
	}
}
