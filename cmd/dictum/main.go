// Command dictum is the whole Dictum appliance: server, workers and admin CLI in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"

	"dictum/internal/buildinfo"
	"dictum/internal/config"
	"dictum/internal/identity"
	"dictum/internal/platform"
	"dictum/internal/store"
	"dictum/internal/vault"
)

const usageText = `dictum: self-hosted dictation to time entries

Usage: dictum <command> [flags]

Server
  init        create the data directory, master key, encrypted database and first admin
  serve       run the web app, API and transcription workers
  doctor      check keys, database, disk and speech model
  migrate     bring the database to this version's schema (refuses a newer one, exit 3)
  ready       wait until the running server answers /readyz  [--timeout 60s]
  service     install | uninstall | start | stop | status   (Windows service; on Linux systemd runs dictum)

Users and access
  user        add | list | disable | enable | passwd
  token       create | list | revoke  (API tokens for scripts)
  sessions    revoke --all | --user NAME

Keys and config
  key         rotate | db-hex | backup-hex
  config      check | defaults
  audit       verify [--against HEADFILE] | head [--out FILE] | list
  archive     --scope firm|matter:<id>|user:<username> --out FILE.zip   (ZIP of everything in scope)

Backups
  backup      now [--to DIR] | list | verify FILE | drill
  restore     --data NEWDIR FILE [--key-file F] [--force]   restore a backup (re-keyed to this server's key)

Speech and drafting
  model       list | pull NAME | import FILE | verify NAME|FILE | use NAME
  transcribe  [--model M] FILE...   transcribe files locally and print timings
  draft       --matters FILE --today YYYY-MM-DD [--engine rules|ollama|azure] [--batch] [--multi] [TEXT]

Clio
  clio        status | sync | import | errors   (connect Clio in the web app first)

Directory (Active Directory / LDAP)
  ldap        test [--username U] | sync   check the [ldap] setup step by step; disable leavers now

Data lifecycle
  retention   run [--dry-run] | deleted   apply the retention policy now, or preview it
  restore-item  matter|entry ID           undo a soft delete within the 30-day grace

  version     print the version (--long: platform and database engine)
  completion  bash   (print the bash completion script)

Every command takes --config FILE (default /etc/dictum/dictum.toml) and --data DIR
(default /var/lib/dictum); DICTUM_* environment variables override config keys.
`

// usage is the usage text with this platform's default paths (the text above on Linux;
// %ProgramData%\Dictum on Windows).
var usage = strings.NewReplacer("(default /etc/dictum/dictum.toml)", "(default "+config.DefaultPath+")",
	"(default /var/lib/dictum)", "(default "+platform.DefaultDataDir()+")").Replace(usageText)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "init":
		return env.cmdInit(rest)
	case "serve":
		return env.cmdServe(rest)
	case "doctor":
		return env.cmdDoctor(rest)
	case "user":
		return env.cmdUser(rest)
	case "token":
		return env.cmdToken(rest)
	case "sessions":
		return env.cmdSessions(rest)
	case "key":
		return env.cmdKey(rest)
	case "config":
		return env.cmdConfig(rest)
	case "backup":
		return env.cmdBackup(rest)
	case "restore":
		return env.cmdRestore(rest)
	case "audit":
		return env.cmdAudit(rest)
	case "archive":
		return env.cmdArchive(rest)
	case "model":
		return env.cmdModel(rest)
	case "transcribe":
		return env.cmdTranscribe(rest)
	case "draft":
		return env.cmdDraft(rest)
	case "clio":
		return env.cmdClio(rest)
	case "migrate":
		return env.cmdMigrate(rest)
	case "ready":
		return env.cmdReady(rest)
	case "service":
		return env.cmdService(rest)
	case "completion":
		return env.cmdCompletion(rest)
	case "retention":
		return env.cmdRetention(rest)
	case "ldap":
		return env.cmdLDAP(rest)
	case "restore-item":
		return env.cmdRestoreItem(rest)
	case "bench-seed": // hidden: benchmarks and demos
		return env.cmdBenchSeed(rest)
	case "bench-blobs": // hidden: benchmarks and tests
		return env.cmdBenchBlobs(rest)
	case "msi-init": // hidden: the Windows installer's custom actions (cmd_msi.go)
		return env.cmdMSIInit(rest)
	case "msi-rollback": // hidden: the Windows installer's custom actions
		return env.cmdMSIRollback(rest)
	case "msi-backup": // hidden: the Windows installer's custom actions
		return env.cmdMSIBackup(rest)
	case "msi-firewall": // hidden: the Windows installer's custom actions
		return env.cmdMSIFirewall(rest)
	case "msi-finish": // hidden: the Windows installer's custom actions
		return env.cmdMSIFinish(rest)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "dictum %s\n", buildinfo.Version)
		if len(rest) > 0 && rest[0] == "--long" { // the build's parts, for support and the Windows test
			fmt.Fprintf(stdout, "platform: %s/%s, %s\ndatabase: %s\n", runtime.GOOS, runtime.GOARCH, runtime.Version(), store.EngineString())
		}
		return 0
	case "help", "--help", "-h":
		return env.cmdHelp(rest)
	}
	fmt.Fprintf(stderr, "dictum: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// cliEnv carries the standard streams and the common flags.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
	dataDir        string
}

// flags returns a flag set with the common --config and --data flags.
func (e *cliEnv) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("dictum "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.configPath, "config", os.Getenv("DICTUM_CONFIG"), "config file (default "+config.DefaultPath+")")
	fs.StringVar(&e.dataDir, "data", os.Getenv("DICTUM_DATA"), "data directory (overrides data_dir)")
	return fs
}

// parse parses flags, allowing flags after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (e *cliEnv) fail(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "dictum: "+format+"\n", a...)
	return 1
}

// config loads and validates the configuration.
func (e *cliEnv) config() (*config.Config, error) {
	cfg, warnings, err := config.Load(e.configPath, e.configPath != "", os.Environ())
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "dictum: warning:", w)
	}
	if err != nil {
		return nil, err
	}
	if e.dataDir != "" {
		abs, err := filepath.Abs(e.dataDir)
		if err != nil {
			return nil, fmt.Errorf("--data %s: %w", e.dataDir, err)
		}
		cfg.DataDir = abs
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// open loads the keys and opens the database.
func (e *cliEnv) open(ctx context.Context, cfg *config.Config) (*vault.Keys, *store.Store, error) {
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return nil, nil, err
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k})
	if err != nil {
		if errors.Is(err, store.ErrWrongKey) {
			return nil, nil, fmt.Errorf("%w (key file %s)", err, cfg.MasterKeyPath())
		}
		return nil, nil, err
	}
	return keys, st, nil
}

// openStore loads the configuration and opens the database (the common start of most
// admin commands).
func (e *cliEnv) openStore(ctx context.Context) (*config.Config, *store.Store, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, nil, err
	}
	_, st, err := e.open(ctx, cfg)
	return cfg, st, err
}

// cliActor names the operator for the audit log.
func cliActor() identity.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return identity.Actor{Username: name}
}

// readSecretFile reads a password from a file ("-" = stdin), trimming one trailing newline.
func (e *cliEnv) readSecretFile(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(e.stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read password file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New("password file is empty")
	}
	return s, nil
}
