package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"dictum/internal/auth"
	"dictum/internal/config"
	"dictum/internal/store"
)

func hashParams(cfg *config.Config) auth.Params {
	return auth.Params{MemoryKiB: cfg.Auth.Argon2MemoryKiB, Time: cfg.Auth.Argon2Time, Threads: cfg.Auth.Argon2Threads}
}

func (e *cliEnv) cmdUser(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum user add|list|disable|enable|passwd ...")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("user " + sub)
	username := fs.String("username", "", "username")
	role := fs.String("role", "timekeeper", "role: timekeeper, billing or admin")
	display := fs.String("name", "", "display name")
	pwFile := fs.String("password-file", "", "file holding the password ('-' = stdin); without it one is generated and printed once")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if *username == "" && len(pos) > 0 {
		*username = pos[0]
	}
	ctx := context.Background()
	cfg, st, err := e.openStore(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	password := func() (string, bool, error) {
		if *pwFile == "" {
			p, err := auth.GeneratePassword(16)
			return p, true, err
		}
		p, err := e.readSecretFile(*pwFile)
		if err != nil {
			return "", false, err
		}
		return p, false, auth.CheckPassword(p, cfg.Auth.MinPassword)
	}
	switch sub {
	case "add":
		if *username == "" {
			return e.fail("user add: --username is required")
		}
		if !auth.ValidUsername(*username) {
			return e.fail("user add: %q: %s", *username, auth.UsernameRule)
		}
		if !store.ValidRole(*role) {
			return e.fail("user add: --role must be timekeeper, billing or admin, got %q", *role)
		}
		pw, generated, err := password()
		if err != nil {
			return e.fail("user add: %v", err)
		}
		h, err := auth.Hash(pw, hashParams(cfg))
		if err != nil {
			return e.fail("%v", err)
		}
		u := &store.User{Username: *username, DisplayName: *display, Role: *role, PasswordHash: h, MustChangePassword: generated}
		if err := st.CreateUser(ctx, cliActor(), u); err != nil {
			return e.fail("user add: %v", err)
		}
		fmt.Fprintf(e.stdout, "added %s (%s)\n", u.Username, u.Role)
		if generated {
			fmt.Fprintf(e.stdout, "one-time password: %s\n", pw)
		}
	case "list":
		users, err := st.Users(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tSTATUS\tNAME\tCREATED")
		for _, u := range users {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, status, u.DisplayName, u.CreatedAt[:10])
		}
		tw.Flush()
	case "disable", "enable":
		if *username == "" {
			return e.fail("user %s: --username is required", sub)
		}
		v := sub == "disable"
		_, r, err := st.ChangeUser(ctx, cliActor(), *username, store.UserPatch{Disabled: &v})
		if err != nil {
			return e.fail("user %s %s: %v", sub, *username, err)
		}
		if v {
			fmt.Fprintf(e.stdout, "disabled %s; ended %d session(s) and revoked %d API token(s)\n", *username, r.Sessions, r.Tokens)
		} else {
			fmt.Fprintf(e.stdout, "enabled %s\n", *username)
		}
	case "passwd":
		if *username == "" {
			return e.fail("user passwd: --username is required")
		}
		pw, generated, err := password()
		if err != nil {
			return e.fail("user passwd: %v", err)
		}
		h, err := auth.Hash(pw, hashParams(cfg))
		if err != nil {
			return e.fail("%v", err)
		}
		_, r, err := st.ChangeUser(ctx, cliActor(), *username, store.UserPatch{PasswordHash: &h, MustChange: &generated})
		if err != nil {
			return e.fail("user passwd %s: %v", *username, err)
		}
		fmt.Fprintf(e.stdout, "password changed for %s; ended %d session(s) and revoked %d API token(s)\n", *username, r.Sessions, r.Tokens)
		if generated {
			fmt.Fprintf(e.stdout, "one-time password: %s\n", pw)
		}
	default:
		return e.fail("unknown user command %q (add, list, disable, enable, passwd)", sub)
	}
	return 0
}

func (e *cliEnv) cmdToken(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum token create|list|revoke ...")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("token " + sub)
	username := fs.String("username", "", "user the token acts as")
	name := fs.String("name", "", "a label for the token (e.g. the script using it)")
	id := fs.String("id", "", "token id (revoke)")
	days := fs.Int("expires-in-days", auth.DefaultTokenDays, "days until the token expires (create; 0 = never)")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	ctx := context.Background()
	_, st, err := e.openStore(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	switch sub {
	case "create":
		if *username == "" {
			return e.fail("token create: --username is required")
		}
		u, err := st.UserByName(ctx, *username)
		if err != nil {
			return e.fail("token create: user %q: %v", *username, err)
		}
		if u.Disabled {
			return e.fail("token create: user %q is disabled", *username)
		}
		expires, err := auth.TokenExpiry(time.Now(), *days)
		if err != nil {
			return e.fail("token create: --expires-in-days: %v", err)
		}
		tok, hash, prefix, err := auth.NewAPIToken()
		if err != nil {
			return e.fail("%v", err)
		}
		if _, err := st.CreateTokenUntil(ctx, cliActor(), u.ID, *name, prefix, hash, expires); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintln(e.stdout, tok)
		until := "it never expires"
		if !expires.IsZero() {
			until = "it expires on " + expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stderr, "dictum: API token for %s created (%s); it is shown only this once. Send it as 'Authorization: Bearer <token>'.\n", u.Username, until)
	case "list":
		toks, err := st.Tokens(ctx, *username)
		if err != nil {
			return e.fail("%v", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tPREFIX\tNAME\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
		now := time.Now()
		for _, t := range toks {
			exp := "never"
			if t.ExpiresAt != "" {
				exp = t.ExpiresAt
				if t.Expired(now) {
					exp += " (expired)"
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Username, t.Prefix, t.Name, t.CreatedAt, t.LastUsedAt, exp, t.RevokedAt)
		}
		tw.Flush()
	case "revoke":
		if *id == "" && len(pos) > 0 {
			*id = pos[0]
		}
		n, err := strconv.ParseInt(*id, 10, 64)
		if err != nil {
			return e.fail("token revoke: --id must be a token id from `dictum token list`")
		}
		if err := st.RevokeToken(ctx, cliActor(), n); err != nil {
			return e.fail("token revoke %d: %v", n, err)
		}
		fmt.Fprintf(e.stdout, "revoked token %d\n", n)
	default:
		return e.fail("unknown token command %q (create, list, revoke)", sub)
	}
	return 0
}

func (e *cliEnv) cmdSessions(args []string) int {
	if len(args) == 0 || args[0] != "revoke" {
		return e.fail("usage: dictum sessions revoke --all | --user NAME")
	}
	fs := e.flags("sessions revoke")
	all := fs.Bool("all", false, "end every session of every user")
	username := fs.String("user", "", "end this user's sessions")
	if _, err := parse(fs, args[1:]); err != nil {
		return 2
	}
	if *all == (*username != "") {
		return e.fail("sessions revoke: give exactly one of --all or --user NAME")
	}
	ctx := context.Background()
	_, st, err := e.openStore(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	n, err := st.RevokeSessions(ctx, cliActor(), *username)
	if err != nil {
		return e.fail("%v", err)
	}
	fmt.Fprintf(e.stdout, "ended %d session(s)\n", n)
	return 0
}
