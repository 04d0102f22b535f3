package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"dictum/internal/directory"
)

const ldapUsage = `usage: dictum ldap test [--username U] | sync [--json]
  test   check the [ldap] configuration step by step (connect, TLS, bind, search, groups)
         and print what was found; with --username, look that user up and show the role
         their groups grant. Changes nothing.
  sync   disable now the directory users who are gone, disabled in AD or in no mapped
         group (ends their sessions, revokes their API tokens; entries stay; audited)`

// cmdLDAP runs the directory check and the leaver sync (the same service the server's
// scheduled job uses).
func (e *cliEnv) cmdLDAP(args []string) int {
	if len(args) == 0 {
		return e.fail(ldapUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "test", "sync":
	case "help", "--help", "-h":
		fmt.Fprintln(e.stdout, ldapUsage)
		return 0
	default:
		return e.fail("unknown ldap command %q; %s", sub, ldapUsage)
	}
	fs := e.flags("ldap " + sub)
	username := fs.String("username", "", "user to look up (test)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	if !cfg.LDAP.Enabled() {
		return e.fail("directory sign-in is off: set [ldap] url (and the other [ldap] keys) in the configuration")
	}
	if sub == "test" {
		r := directory.New(cfg, nil).Check(*username)
		if *asJSON {
			_ = json.NewEncoder(e.stdout).Encode(r)
		} else {
			for _, s := range r.Steps {
				mark := "ok  "
				if !s.OK {
					mark = "FAIL"
				}
				fmt.Fprintf(e.stdout, "%s %-8s %s\n", mark, s.Name, s.Detail)
			}
		}
		if !r.OK {
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, st, err := e.open(ctx, cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	rep, err := directory.New(cfg, st).Sync(ctx, cliActor())
	if err != nil {
		return e.fail("ldap sync: %v", err)
	}
	if *asJSON {
		_ = json.NewEncoder(e.stdout).Encode(rep)
		return 0
	}
	fmt.Fprintf(e.stdout, "checked %d directory users; disabled %d\n", rep.Checked, len(rep.Disabled))
	for _, d := range rep.Disabled {
		fmt.Fprintf(e.stdout, "disabled %s: %s (sessions ended %d, API tokens revoked %d)\n", d.Username, d.Reason, d.SessionsEnded, d.TokensRevoked)
	}
	for _, r := range rep.RoleChanged {
		fmt.Fprintf(e.stdout, "role changed %s\n", r)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(e.stdout, "skipped %s: more than one directory entry matches\n", s)
	}
	return 0
}
