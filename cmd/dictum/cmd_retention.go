package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"dictum/internal/blob"
	"dictum/internal/lifecycle"
	"dictum/internal/settings"
	"dictum/internal/store"
)

const retentionUsage = `usage: dictum retention run [--dry-run] | deleted
  run        apply the firm's retention policy now (audited); --dry-run prints, as JSON,
             what the run would soft-delete and purge, and changes nothing
  deleted    list soft-deleted items (JSON lines) still restorable with restore-item`

// pauseEnv names a purge phase (lifecycle.Phase*) at which `retention run` stops and waits
// to be killed: the crash tests use it. It is read by the CLI only, never by the server.
const pauseEnv = "DICTUM_TEST_RETENTION_PAUSE"

// retentionService opens what a retention run needs.
func (e *cliEnv) retentionService(ctx context.Context) (*lifecycle.Retention, func(), error) {
	cfg, err := e.config()
	if err != nil {
		return nil, nil, err
	}
	keys, st, err := e.open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	blobs, err := blob.Open(cfg.BlobDir(), keys.Blob())
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := lifecycle.RetentionDeps{Store: st, Blobs: blobs, Settings: settings.New(st), Log: log}
	if phase := os.Getenv(pauseEnv); phase != "" {
		d.Pause = func(p string) {
			if p == phase {
				fmt.Fprintf(e.stderr, "paused at %s\n", p)
				select {} // until killed
			}
		}
	}
	return lifecycle.NewRetention(d), func() { st.Close() }, nil
}

// cmdRetention runs the retention policy from the command line (the same service the
// daily job uses).
func (e *cliEnv) cmdRetention(args []string) int {
	if len(args) == 0 {
		return e.fail(retentionUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "run", "deleted":
	case "help", "--help", "-h":
		fmt.Fprintln(e.stdout, retentionUsage)
		return 0
	default:
		return e.fail("unknown retention command %q; %s", sub, retentionUsage)
	}
	fs := e.flags("retention " + sub)
	dry := fs.Bool("dry-run", false, "print what the run would do, change nothing")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, done, err := e.retentionService(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer done()
	enc := json.NewEncoder(e.stdout)
	if sub == "deleted" {
		items, err := svc.Deleted(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		for _, it := range items {
			_ = enc.Encode(it)
		}
		return 0
	}
	rep, err := svc.Run(ctx, cliActor(), *dry)
	if err != nil {
		return e.fail("%v", err)
	}
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
	return 0
}

// cmdRestoreItem restores a soft-deleted matter (with what was deleted with it) or entry
// within its grace period.
func (e *cliEnv) cmdRestoreItem(args []string) int {
	fs := e.flags("restore-item")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 2 {
		return e.fail("usage: dictum restore-item --data D matter|entry ID  (see `dictum retention deleted`)")
	}
	ctx := context.Background()
	svc, done, err := e.retentionService(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer done()
	admin := cliActor()
	admin.Role = store.RoleAdmin // the operator runs as root or dictum on the server
	it, err := svc.Restore(ctx, admin, pos[0], pos[1])
	if err != nil {
		return e.fail("restore %s %s: %v", pos[0], pos[1], err)
	}
	fmt.Fprintf(e.stdout, "restored %s %s (%s)", it.Kind, it.ID, it.Label)
	if it.Kind == store.DeletedMatter {
		fmt.Fprintf(e.stdout, " with %d entries, %d recordings, %d exports", it.Entries, it.Recordings, it.Exports)
	}
	fmt.Fprintln(e.stdout)
	return 0
}
