package main

import (
	"strings"
	"testing"
)

// A token created before `dictum user passwd` (or `user disable`) stops working, against
// a running server, and the CLI says how many tokens it revoked. Tokens expire by
// default; --expires-in-days 0 means never; the list shows the expiry.
func TestCLIPasswdRevokesTokensAndTokenExpiry(t *testing.T) {
	data := initData(t)
	create := func(args ...string) result {
		return dictum(t, "", nil, append([]string{"token", "create", "--data", data, "--username", "boss"}, args...)...)
	}
	def := create("--name", "default")
	if def.code != 0 || !strings.Contains(def.stderr, "it expires on ") {
		t.Fatalf("default token: %d %s", def.code, def.stderr)
	}
	never := create("--name", "forever", "--expires-in-days", "0")
	if never.code != 0 || !strings.Contains(never.stderr, "never expires") {
		t.Fatalf("never-expiring token: %d %s", never.code, never.stderr)
	}
	for _, bad := range []string{"-1", "3651"} {
		if r := create("--expires-in-days", bad); r.code == 0 || !strings.Contains(r.stderr, "--expires-in-days") {
			t.Fatalf("--expires-in-days %s: %d %s", bad, r.code, r.stderr)
		}
	}
	list := dictum(t, "", nil, "token", "list", "--data", data)
	if !strings.Contains(list.stdout, "EXPIRES") || !strings.Contains(list.stdout, "never") {
		t.Fatalf("token list: %s", list.stdout)
	}
	addr := freePort(t)
	server(t, data, addr)
	tok := strings.TrimSpace(def.stdout)
	if code, _ := api(t, "GET", "http://"+addr+"/api/v1/me", tok, nil, ""); code != 200 {
		t.Fatalf("token before passwd: %d", code)
	}
	pw := dictum(t, "new-admin-password-2\n", nil, "user", "passwd", "--data", data, "--username", "boss", "--password-file", "-")
	if pw.code != 0 || !strings.Contains(pw.stdout, "revoked 2 API token(s)") {
		t.Fatalf("passwd: %d %q %s", pw.code, pw.stdout, pw.stderr)
	}
	for _, tk := range []string{tok, strings.TrimSpace(never.stdout)} {
		if code, m := api(t, "GET", "http://"+addr+"/api/v1/me", tk, nil, ""); code != 401 {
			t.Fatalf("token after passwd: %d %v", code, m)
		}
	}
	// Disabling a user says the same.
	if r := dictum(t, "some-password-9\n", nil, "user", "add", "--data", data, "--username", "carol", "--password-file", "-"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	if r := dictum(t, "", nil, "token", "create", "--data", data, "--username", "carol"); r.code != 0 {
		t.Fatalf("carol token: %s", r.stderr)
	}
	if r := dictum(t, "", nil, "user", "disable", "--data", data, "--username", "carol"); r.code != 0 || !strings.Contains(r.stdout, "revoked 1 API token(s)") {
		t.Fatalf("disable: %d %q", r.code, r.stdout)
	}
	// Usernames the login would refuse cannot be created.
	if r := dictum(t, "", nil, "user", "add", "--data", data, "--username", "bad name"); r.code == 0 || !strings.Contains(r.stderr, "1-64") {
		t.Fatalf("bad username: %d %s", r.code, r.stderr)
	}
}
