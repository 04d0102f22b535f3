package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"dictum/internal/audio"
	"dictum/internal/config"
	"dictum/internal/draft"
	"dictum/internal/pipeline"
	"dictum/internal/platform"
	"dictum/internal/scheduler"
	"dictum/internal/store"
	"dictum/internal/transcribe"
)

func (e *cliEnv) cmdConfig(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum config check | defaults")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("config " + sub)
	asTOML := fs.Bool("toml", false, "defaults: print them as a TOML file with every key commented out")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	switch sub {
	case "check":
		cfg, err := e.config()
		if err != nil {
			var es config.Errors
			if errors.As(err, &es) {
				for _, x := range es {
					fmt.Fprintln(e.stderr, "dictum: "+x.Error())
				}
				return 1
			}
			return e.fail("%v", err)
		}
		src := e.configPath
		if src == "" {
			src = config.DefaultPath
			if _, err := os.Stat(src); err != nil {
				src = "embedded defaults (no " + config.DefaultPath + ")"
			}
		}
		fmt.Fprintf(e.stdout, "config ok: %s; data dir %s\n", src, cfg.DataDir)
		return 0
	case "defaults":
		if *asTOML {
			if err := writeConfigTOML(e.stdout); err != nil {
				return e.fail("%v", err)
			}
			return 0
		}
		d := config.Defaults()
		fmt.Fprintln(e.stdout, "# key  value  environment variable\n#     description")
		for _, l := range d.Describe() {
			fmt.Fprintln(e.stdout, l)
		}
		return 0
	}
	return e.fail("unknown config command %q (check, defaults)", sub)
}

func (e *cliEnv) cmdAudit(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum audit verify [--against HEADFILE] | head [--out FILE] | list [--limit N]")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("audit " + sub)
	limit := fs.Int("limit", 50, "list: events to list")
	against := fs.String("against", "", "verify: a head file from `dictum audit head --out` (or a JSON manifest with an audit_head); fails if the log no longer holds that head")
	out := fs.String("out", "", "head: also write the head to this file (created 0644, replaced atomically)")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	var anchor *store.AuditHead
	if sub == "verify" && *against != "" { // read it first: a bad file changes nothing
		h, err := readAuditHead(*against)
		if err != nil {
			return e.fail("%v", err)
		}
		anchor = &h
	}
	ctx := context.Background()
	_, st, err := e.openStore(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	switch sub {
	case "verify":
		if anchor != nil {
			n, err := st.VerifyAuditAgainst(ctx, *anchor)
			if err != nil {
				return e.fail("audit verify against %s FAILED: %v", *against, err)
			}
			fmt.Fprintf(e.stdout, "audit chain intact: %d events; it still holds the head of %s (event %d, %s)\n", n, *against, anchor.ID, anchor.At)
			return 0
		}
		bad, n, err := st.VerifyAudit(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		if bad != 0 {
			return e.fail("audit chain BROKEN at event %d (of %d checked): the log was altered", bad, n)
		}
		fmt.Fprintf(e.stdout, "audit chain intact: %d events\n", n)
		return 0
	case "head":
		h, err := st.AuditHead(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		b, err := json.Marshal(h)
		if err != nil {
			return e.fail("%v", err)
		}
		b = append(b, '\n')
		if *out != "" {
			if err := writeFileAtomic(*out, b, 0o644); err != nil {
				return e.fail("write %s: %v", *out, err)
			}
		}
		_, _ = e.stdout.Write(b)
		return 0
	case "list":
		evs, err := st.AuditEvents(ctx, "", "", *limit)
		if err != nil {
			return e.fail("%v", err)
		}
		enc := json.NewEncoder(e.stdout)
		for _, ev := range evs {
			_ = enc.Encode(ev)
		}
		return 0
	}
	return e.fail("unknown audit command %q (verify, head, list)", sub)
}

// readAuditHead reads a head written by `dictum audit head` ({"id","at","hash"}) or a
// manifest that carries one under "audit_head".
func readAuditHead(path string) (store.AuditHead, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return store.AuditHead{}, fmt.Errorf("read the head file: %w", err)
	}
	var doc struct {
		store.AuditHead
		Nested *store.AuditHead `json:"audit_head"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return store.AuditHead{}, fmt.Errorf("head file %s is not JSON from `dictum audit head`: %v", path, err)
	}
	h := doc.AuditHead
	if doc.Nested != nil {
		h = *doc.Nested
	}
	if h.ID <= 0 && h.Hash == "" {
		return store.AuditHead{}, fmt.Errorf("head file %s holds no audit head (want {\"id\":N,\"at\":...,\"hash\":...})", path)
	}
	return h, nil
}

// writeFileAtomic writes data to path through a synced temp file in the same directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// scheduleAuditHead logs the audit chain head now and every day, so the journal (which
// the database key cannot rewrite) keeps anchors for `dictum audit verify --against`.
func scheduleAuditHead(ctx context.Context, sched *scheduler.Scheduler, st *store.Store, log *slog.Logger) error {
	logHead := func(ctx context.Context) error {
		h, err := st.AuditHead(ctx)
		if err != nil {
			return err
		}
		log.Info("audit chain head", "audit_head_id", h.ID, "audit_head_at", h.At, "audit_head_hash", h.Hash)
		return nil
	}
	if err := logHead(ctx); err != nil {
		return err
	}
	return sched.Add("@daily", "audit.head", logHead)
}

func (e *cliEnv) cmdModel(args []string) int {
	e.configPath, e.dataDir = os.Getenv("DICTUM_CONFIG"), os.Getenv("DICTUM_DATA")
	rest := e.splitCommon(args)
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	return transcribe.RunModelCLI(rest, cfg.ModelsDir(), cfg.Trans.ModelBaseURL, e.stdout, e.stderr)
}

// splitCommon pulls --config/--data (and their values) out of args for commands whose
// own parsers do not know them.
func (e *cliEnv) splitCommon(args []string) []string {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		for _, name := range []string{"config", "data"} {
			for _, prefix := range []string{"-" + name, "--" + name} {
				if a == prefix && i+1 < len(args) {
					if name == "config" {
						e.configPath = args[i+1]
					} else {
						e.dataDir = args[i+1]
					}
					i++
					goto next
				}
				if v, ok := strings.CutPrefix(a, prefix+"="); ok {
					if name == "config" {
						e.configPath = v
					} else {
						e.dataDir = v
					}
					goto next
				}
			}
		}
		rest = append(rest, a)
	next:
	}
	return rest
}

func (e *cliEnv) cmdDraft(args []string) int {
	e.configPath, e.dataDir = os.Getenv("DICTUM_CONFIG"), os.Getenv("DICTUM_DATA")
	rest := e.splitCommon(args)
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	dcfg, err := draftConfig(cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	return draft.RunCLI(rest, e.stdin, e.stdout, e.stderr, dcfg)
}

func (e *cliEnv) cmdTranscribe(args []string) int {
	e.configPath, e.dataDir = os.Getenv("DICTUM_CONFIG"), os.Getenv("DICTUM_DATA")
	rest := e.splitCommon(args)
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	lim := pipeline.AudioLimits(cfg)
	decode := func(path string) ([]float32, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return audio.DecodeAll(f, "", lim)
	}
	return transcribe.RunTranscribeCLI(rest, cfg.ModelsDir(), cfg.Trans.Model, e.stdout, e.stderr, decode)
}

func (e *cliEnv) cmdDoctor(args []string) int {
	fs := e.flags("doctor")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	failed := 0
	check := func(name string, err error, ok string) {
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "FAIL  %-18s %v\n", name, err)
			return
		}
		fmt.Fprintf(e.stdout, "ok    %-18s %s\n", name, ok)
	}
	warn := func(name string, msg string) { fmt.Fprintf(e.stdout, "warn  %-18s %s\n", name, msg) }
	cfg, err := e.config()
	check("config", err, "valid")
	if err != nil {
		return 1
	}
	ctx := context.Background()
	// A check never changes the data: no migrations (a newer binary's doctor run after a
	// rolled-back upgrade must not migrate the restored database again).
	keys, st, err := e.openNoMigrate(ctx, cfg)
	if err != nil {
		check("keys+database", err, "")
		return 1
	}
	defer st.Close()
	check("master key", nil, fmt.Sprintf("%s (%s, fingerprint %s)", cfg.MasterKeyPath(), platform.KeyProtection, keys.Fingerprint()))
	if platform.DirACLCheck { // Windows: the data directory's protected DACL
		msg, err := platform.CheckSecureDir(cfg.DataDir)
		if errors.Is(err, platform.ErrACLUnsupported) {
			warn("data dir ACL", err.Error())
		} else {
			check("data dir ACL", err, msg)
		}
	}
	v, err := st.CipherVersion(ctx)
	check("sqlcipher", err, "version "+v)
	sv, err := st.Version(ctx)
	check("schema", err, fmt.Sprintf("version %d (this dictum: %d)", sv, store.SchemaVersion()))
	if err == nil && sv < store.SchemaVersion() {
		warn("migrations", fmt.Sprintf("%d pending: `dictum migrate` (or serve) applies them", store.SchemaVersion()-sv))
	}
	problems, err := st.IntegrityCheck(ctx)
	if err == nil && len(problems) > 0 {
		err = fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(problems, "; "))
	}
	check("integrity", err, "integrity_check and cipher_integrity_check ok")
	bad, n, err := st.VerifyAudit(ctx)
	if err == nil && bad != 0 {
		err = fmt.Errorf("audit chain broken at event %d", bad)
	}
	check("audit chain", err, fmt.Sprintf("%d events intact", n))
	if free, err := platform.FreeBytes(cfg.DataDir); err == nil {
		msg := fmt.Sprintf("%.1f GiB free in %s", float64(free)/(1<<30), cfg.DataDir)
		if free < 1<<30 {
			check("disk", fmt.Errorf("only %s", msg), "")
		} else {
			check("disk", nil, msg)
		}
	}
	if p, err := transcribe.Resolve(cfg.Trans.Model, cfg.ModelsDir()); err != nil {
		warn("speech model", err.Error())
	} else if info, err := transcribe.Verify(p); err != nil {
		check("speech model", err, "")
	} else {
		check("speech model", nil, fmt.Sprintf("%s (%s, %s)", p, info.Arch, info.WeightType))
	}
	if failed > 0 {
		fmt.Fprintf(e.stdout, "%d check(s) failed\n", failed)
		return 1
	}
	return 0
}
