package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"dictum/internal/cliosync"
	"dictum/internal/store"
)

const clioUsage = "usage: dictum clio status | sync | import | errors [--json]"

// cmdClio runs the Clio integration from the command line, through the same code as the
// API: status, sync (push approved entries now; exit 1 if any failed), import (clients,
// matters and timekeeper links), errors (entries whose last push failed). Connecting is
// done in the web app (OAuth needs a browser).
func (e *cliEnv) cmdClio(args []string) int {
	if len(args) == 0 {
		return e.fail(clioUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "status", "sync", "import", "errors":
	case "help", "--help", "-h":
		fmt.Fprintln(e.stdout, clioUsage)
		return 0
	default:
		return e.fail("unknown clio command %q; %s", sub, clioUsage)
	}
	fs := e.flags("clio " + sub)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	if cfg.Clio.ClientID == "" {
		return e.fail("%v", cliosync.ErrNotConfigured)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	keys, st, err := e.open(ctx, cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := cliosync.New(cliosync.Deps{Config: cfg, Store: st, TokenKey: keys.Derive(cliosync.TokenLabel), Log: log})
	actor := cliActor()

	var out any
	code := 0
	switch sub {
	case "status":
		s, err := svc.Status(ctx)
		if err != nil {
			return e.clioFail(err)
		}
		out = s
		if !*asJSON {
			e.printClioStatus(s)
		}
	case "sync":
		rep, err := svc.Sync(ctx, actor, "cli", nil)
		if err != nil {
			return e.clioFail(err)
		}
		out = rep
		if len(rep.Failed) > 0 || rep.Incomplete != "" {
			code = 1
		}
		if !*asJSON {
			e.printClioReport(rep)
		}
	case "import":
		rep, err := svc.Import(ctx, actor)
		if err != nil {
			return e.clioFail(err)
		}
		out = rep
		if !*asJSON {
			e.printClioImport(rep)
		}
	case "errors":
		list, err := svc.Errors(ctx)
		if err != nil {
			return e.clioFail(err)
		}
		out = list
		if len(list) > 0 {
			code = 1
		}
		if !*asJSON {
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENTRY\tDATE\tTIMEKEEPER\tMATTER\tHOURS\tERROR")
			for _, x := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\n", x.EntryID, x.Date, x.Timekeeper, x.Matter, x.Hours, x.Message)
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d failed to sync\n", len(list))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return e.fail("write json: %v", err)
		}
	}
	return code
}

func (e *cliEnv) clioFail(err error) int {
	switch {
	case errors.Is(err, store.ErrClioNotConnected):
		return e.fail("Clio is not connected: an admin connects it in the web app (Settings, Connect Clio)")
	case errors.Is(err, store.ErrClioBusy):
		return e.fail("another Clio sync or import is running (in the server or another dictum command); try again when it has finished")
	}
	return e.fail("clio: %v", err)
}

func (e *cliEnv) printClioStatus(s *cliosync.Status) {
	if s.Connected {
		fmt.Fprintf(e.stdout, "Clio: connected (region %s) by %s at %s\n", s.Region, s.ConnectedBy, s.ConnectedAt)
	} else {
		fmt.Fprintf(e.stdout, "Clio: configured (region %s), not connected: an admin connects it in the web app\n", s.Region)
	}
	last := s.LastSyncAt
	if last == "" {
		last = "never"
	}
	fmt.Fprintf(e.stdout, "last sync: %s\n", last)
	if s.LastError != "" {
		fmt.Fprintf(e.stdout, "last sync problem: %s\n", s.LastError)
	}
	fmt.Fprintf(e.stdout, "entries: %d pending, %d failed, %d synced\n", s.Counts.Pending, s.Counts.Failed, s.Counts.Synced)
	sched := s.Schedule
	if sched == "" {
		sched = "none (sync on demand only)"
	}
	fmt.Fprintf(e.stdout, "schedule: %s\n", sched)
}

func (e *cliEnv) printClioReport(r *cliosync.SyncReport) {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	for _, s := range r.Synced {
		note := ""
		if s.Reconciled {
			note = " (already there from an earlier push; not sent again)"
		}
		fmt.Fprintf(tw, "synced\t%s\tClio activity %d%s\n", s.EntryID, s.ClioID, note)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(tw, "FAILED\t%s\t%s\n", f.EntryID, f.Message)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d synced, %d failed\n", len(r.Synced), len(r.Failed))
	if r.Incomplete != "" {
		fmt.Fprintf(e.stdout, "stopped early: %s\n", r.Incomplete)
	}
}

func (e *cliEnv) printClioImport(r *store.ClioImportReport) {
	fmt.Fprintf(e.stdout, "clients: %d created, %d linked\n", r.ClientsCreated, r.ClientsLinked)
	fmt.Fprintf(e.stdout, "matters: %d created, %d linked, %d closed in Clio and not imported\n", r.MattersCreated, r.MattersLinked, r.MattersSkipped)
	for _, u := range r.Users {
		fmt.Fprintf(e.stdout, "user %s -> Clio user %d %s (by %s)\n", u.Username, u.ClioUserID, u.ClioName, u.By)
	}
	for _, u := range r.UsersUnlinked {
		fmt.Fprintf(e.stdout, "user %s: no Clio user matches (email = username, or name = display name); their entries cannot be pushed\n", u)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(e.stdout, "problem: %s\n", p)
	}
}
