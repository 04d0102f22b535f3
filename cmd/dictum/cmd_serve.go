package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"dictum/internal/blob"
	"dictum/internal/buildinfo"
	"dictum/internal/cliosync"
	"dictum/internal/config"
	"dictum/internal/directory"
	"dictum/internal/draft"
	"dictum/internal/lifecycle"
	"dictum/internal/logfile"
	"dictum/internal/pipeline"
	"dictum/internal/scheduler"
	"dictum/internal/settings"
	"dictum/internal/tlsca"
	"dictum/internal/transcribe"
	"dictum/internal/vault"
	"dictum/internal/web"
	"dictum/internal/winsvc"
)

// serveHooks is how `serve` runs under a service manager other than systemd (the Windows
// SCM): ready is called once the listener is up; service sends the JSON log to a file
// (log.file, default <data>/logs/dictum.log) and warnings and errors to events.
type serveHooks struct {
	ready   func()
	service bool
	events  winsvc.Reporter
}

// newLogger builds the server's JSON logger: standard output (the journal under
// systemd), or the rotating log.file; as a Windows service also the Event Log for
// warnings and errors. The returned func closes the log file.
func newLogger(cfg *config.Config, h serveHooks) (*slog.Logger, func(), error) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	var out io.Writer = os.Stdout
	closeLog := func() {}
	if p := cfg.LogFile(h.service); p != "" {
		w, err := logfile.Open(p, int64(cfg.Log.MaxMB)<<20, cfg.Log.Keep)
		if err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		out, closeLog = w, func() { w.Close() }
	}
	var handler slog.Handler = slog.NewJSONHandler(out, opts)
	if h.events != nil {
		handler = slog.NewMultiHandler(handler, winsvc.NewEventHandler(h.events, max(lvl, slog.LevelWarn)))
	}
	return slog.New(handler), closeLog, nil
}

func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// draftConfig maps the config file's [draft] section to the drafter's config.
func draftConfig(cfg *config.Config) (draft.Config, error) {
	key, err := cfg.AzureKey()
	if err != nil {
		return draft.Config{}, err
	}
	d := cfg.Draft
	return draft.Config{Engine: d.Engine, IncrementMinutes: d.IncrementMinutes, LookbackDays: d.LookbackDays,
		Ollama: draft.OllamaConfig{Host: d.Ollama.Host, Model: d.Ollama.Model, Timeout: d.Ollama.Timeout.Duration, Retries: d.Ollama.Retries},
		Azure: draft.AzureConfig{Endpoint: d.Azure.Endpoint, Deployment: d.Azure.Deployment, APIVersion: d.Azure.APIVersion, APIKey: key,
			Timeout: d.Azure.Timeout.Duration, Retries: d.Azure.Retries}}, nil
}

func engineOptions(cfg *config.Config) transcribe.EngineOptions {
	o := transcribe.EngineOptions{MaxConcurrent: cfg.Trans.Workers, Threads: cfg.Trans.Threads}
	if cfg.Trans.NoFallback {
		o.TemperatureFallback = -1
	}
	return o
}

// modelLoader loads the configured whisper model on first use and keeps it. A missing
// model is not cached, so installing one later takes effect without a restart.
type modelLoader struct {
	cfg *config.Config
	mu  sync.Mutex
	eng *transcribe.Engine
}

func (m *modelLoader) load() (transcribe.Transcriber, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eng != nil {
		return m.eng, nil
	}
	eng, err := transcribe.Open(m.cfg.Trans.Model, m.cfg.ModelsDir(), engineOptions(m.cfg))
	if err != nil {
		return nil, err
	}
	m.eng = eng
	return eng, nil
}

func (m *modelLoader) status() error {
	_, err := transcribe.Resolve(m.cfg.Trans.Model, m.cfg.ModelsDir())
	return err
}

func (m *modelLoader) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eng != nil {
		m.eng.Close()
	}
}

// tlsManager loads or issues the server certificate (local CA or ACME) before serving.
// httpsPort is the listener's port; leaves name <host>:<port>/ca.crl (on the plain-HTTP
// listener when there is one: a CRL is signed and usually fetched over HTTP).
func (e *cliEnv) tlsManager(ctx context.Context, cfg *config.Config, mode string, keys *vault.Keys, log *slog.Logger, httpsPort string) (*tlsca.Manager, error) {
	opts := tlsca.Options{Mode: mode, Hosts: cfg.Server.Hosts, DataDir: cfg.DataDir, WrapKey: keys.TLS(), Logger: log}
	opts.CRLURL = func(host string) string { return "https://" + net.JoinHostPort(host, httpsPort) + tlsca.CRLPath }
	if _, plainPort, err := net.SplitHostPort(cfg.Server.RedirectFrom); err == nil && plainPort != "" {
		opts.CRLURL = func(host string) string { return "http://" + net.JoinHostPort(host, plainPort) + tlsca.CRLPath }
	}
	if mode == "acme" {
		creds, err := cfg.ACMECredentials()
		if err != nil {
			return nil, err
		}
		opts.ACME = tlsca.ACME{Directory: cfg.ACME.Directory, Email: cfg.ACME.Email, DNSProvider: cfg.ACME.DNSProvider, DNSCredentials: creds}
		if cfg.ACME.CARootFile != "" {
			pem, err := os.ReadFile(cfg.ACME.CARootFile)
			if err != nil {
				return nil, fmt.Errorf("acme.ca_root_file: %w", err)
			}
			opts.ACME.CARootPEM = pem
		}
	}
	tm, err := tlsca.New(opts)
	if err != nil {
		return nil, fmt.Errorf("tls %s: %w", mode, err)
	}
	mctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := tm.Manage(mctx); err != nil {
		tm.Close()
		return nil, fmt.Errorf("tls %s: obtain certificates for %v: %w", mode, tm.Hosts(), err)
	}
	log.Info("tls ready", "mode", mode, "hosts", tm.Hosts())
	return tm, nil
}

func (e *cliEnv) cmdServe(args []string) int {
	if code, ok := e.serveAsService(args); ok { // started by the Windows SCM
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return e.serve(ctx, args, serveHooks{})
}

// tlsModeFor is the TLS mode serve uses: the flag, else server.tls, else off on a
// loopback address and local otherwise.
func tlsModeFor(cfg *config.Config, flagMode string) string {
	mode := flagMode
	if mode == "" {
		mode = cfg.Server.TLS
	}
	if mode == "" {
		mode = "local"
		if isLoopback(cfg.Server.Listen) {
			mode = "off"
		}
	}
	return mode
}

// serve runs the server until ctx is cancelled (SIGINT/SIGTERM, or the SCM's stop), then
// finishes running work and returns the exit code.
func (e *cliEnv) serve(ctx context.Context, args []string, hooks serveHooks) int {
	fs := e.flags("serve")
	listen := fs.String("listen", "", "address to listen on (default server.listen, 127.0.0.1:8080)")
	tlsMode := fs.String("tls", "", "TLS mode: off, local or acme (default: off on a loopback address, else local)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
		if err := cfg.Validate(); err != nil {
			return e.fail("--listen: %v", err)
		}
	}
	if *insecure {
		cfg.Server.InsecureHTTP = true
	}
	mode := tlsModeFor(cfg, *tlsMode)
	switch mode {
	case "off":
		if !isLoopback(cfg.Server.Listen) {
			if !cfg.Server.InsecureHTTP {
				return e.fail("refusing plain HTTP on %s: browsers only allow the microphone over HTTPS, and passwords would cross the LAN in clear. Use a loopback address, or --insecure-http if a TLS proxy sits in front", cfg.Server.Listen)
			}
		}
	case "local", "acme":
	default:
		return e.fail("--tls must be off, local or acme, got %q", mode)
	}
	log, closeLog, err := newLogger(cfg, hooks)
	if err != nil {
		return e.fail("%v", err)
	}
	defer closeLog()
	if mode == "off" && !isLoopback(cfg.Server.Listen) {
		log.Warn("serving plain HTTP on a non-loopback address (--insecure-http)", "listen", cfg.Server.Listen)
	}

	lock, err := lockDataDir(cfg.DataDir, "serve") // held until exit: offline commands (key rotate) refuse to run meanwhile
	if err != nil {
		return e.fail("%v", err)
	}
	defer lock.release()
	keys, st, err := e.open(ctx, cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	blobs, err := blob.Open(cfg.BlobDir(), keys.Blob())
	if err != nil {
		return e.fail("%v", err)
	}
	if n, err := blobs.Sweep(); err == nil && n > 0 {
		log.Info("removed stale partial uploads", "count", n)
	}
	dcfg, err := draftConfig(cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	drafter, err := draft.New(dcfg)
	if err != nil {
		return e.fail("draft engine: %v", err)
	}
	loader := &modelLoader{cfg: cfg}
	defer loader.close()
	load := loader.load
	remote, err := pipeline.RemoteBackend(cfg, loader.load, log)
	if err != nil {
		return e.fail("transcription backend: %v", err)
	}
	if remote != nil {
		load = func() (transcribe.Transcriber, error) { return remote, nil }
		go remote.RunHealthChecks(ctx, 15*time.Second)
		log.Info("transcription on remote backends", "backend", cfg.Trans.Backend, "urls", len(cfg.Trans.BackendURLs), "slots", remote.Slots(), "fallback_local", cfg.Trans.FallbackLocal)
	}
	if err := loader.status(); err != nil && (remote == nil || cfg.Trans.FallbackLocal) {
		log.Warn("speech model not available: recordings will wait in the queue", "model", cfg.Trans.Model, "err", err.Error())
	}
	hub := web.NewHub()
	queue := pipeline.New(pipeline.Deps{Config: cfg, Store: st, Blobs: blobs, Drafter: drafter, Log: log, Load: load,
		Notify: func(p pipeline.Progress) {
			hub.Publish(p.UserID, web.Event{Type: "recording", ID: p.RecordingID, Status: p.Status, Detail: p.Detail, Progress: p.Progress, EntryID: p.EntryID})
		}})
	var tm *tlsca.Manager // set below when serving TLS
	crl := func() []byte {
		if tm == nil {
			return nil
		}
		return tm.CRL()
	}
	if mode == "local" { // before the web app, so /ca.crt and /ca show a root made now
		if _, err := os.Stat(filepath.Join(tlsca.RootDir(cfg.DataDir), tlsca.RootCertFile)); err != nil {
			fp, err := createRoot(cfg, keys) // data dirs made before TLS existed, or a retired root
			if err != nil {
				return e.fail("%v", err)
			}
			log.Warn("created a new firm root CA: install it on the firm's PCs (see /ca) after comparing its fingerprint", "fingerprint", fp)
		}
	}
	var caPEM []byte
	if root, err := tlsca.LoadRoot(tlsca.RootDir(cfg.DataDir), keys.TLS()); err == nil {
		caPEM = root.CertPEM()
	}
	archives := lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: st, Blobs: blobs, Log: log})
	defer archives.Close() // before st.Close (defers run last-in first-out)
	if n, err := archives.Recover(ctx); err != nil {
		return e.fail("archives: %v", err)
	} else if n > 0 {
		log.Warn("archives interrupted by the last stop were marked failed", "count", n)
	}
	backups := lifecycle.NewBackups(lifecycle.BackupDeps{Config: cfg, Store: st, Keys: keys, Log: log})
	defer backups.Wait()
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Blobs: blobs, Log: log, Events: hub, Kick: queue.Kick, Cancel: queue.Cancel, Drafter: drafter,
		TLS: mode != "off", CARoot: caPEM, Archives: archives, Backups: backups, CRL: crl,
		Ready: func(ctx context.Context) error {
			if _, err := os.Stat(cfg.MasterKeyPath()); err != nil {
				return fmt.Errorf("master key file: %w", err)
			}
			return nil
		}})
	if err != nil {
		return e.fail("%v", err)
	}
	clioSync := cliosync.New(cliosync.Deps{Config: cfg, Store: st, TokenKey: keys.Derive(cliosync.TokenLabel), Log: log})
	srv.SetClio(clioSync)
	sched := scheduler.New(log)
	if err := scheduleAuditHead(ctx, sched, st, log); err != nil {
		return e.fail("%v", err)
	}
	if cfg.Clio.ClientID != "" && cfg.Clio.SyncSchedule != "" {
		if err := sched.Add(cfg.Clio.SyncSchedule, "clio.sync", clioSync.ScheduledSync); err != nil {
			return e.fail("clio.sync_schedule: %v", err)
		}
	}
	// Finished archives are kept (encrypted) for lifecycle.ArchiveTTL, then deleted.
	if err := sched.Add("@hourly", "archives.expire", func(ctx context.Context) error {
		n, err := archives.ExpireDue(ctx)
		if n > 0 {
			log.Info("expired archives deleted", "count", n)
		}
		return err
	}); err != nil {
		return e.fail("archives.expire: %v", err)
	}
	// Leavers: users gone, disabled in AD or in no mapped group lose access within minutes.
	if cfg.LDAP.Enabled() && cfg.LDAP.SyncSchedule != "" {
		if err := sched.Add(cfg.LDAP.SyncSchedule, "ldap.sync", directory.New(cfg, st).ScheduledSync); err != nil {
			return e.fail("ldap.sync_schedule: %v", err)
		}
	}
	if err := scheduleBackups(sched, cfg, backups); err != nil {
		return e.fail("%v", err)
	}
	if cfg.Retention.Schedule != "" {
		ret := lifecycle.NewRetention(lifecycle.RetentionDeps{Store: st, Blobs: blobs, Settings: settings.New(st), Log: log})
		if err := sched.Add(cfg.Retention.Schedule, "retention", ret.Scheduled); err != nil {
			return e.fail("retention.schedule: %v", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return e.fail("listen on %s: %v", cfg.Server.Listen, err)
	}
	scheme := "http"
	if mode != "off" {
		scheme = "https"
		_, httpsPort, _ := net.SplitHostPort(ln.Addr().String())
		tm, err = e.tlsManager(ctx, cfg, mode, keys, log, httpsPort)
		if err != nil {
			ln.Close()
			return e.fail("%v", err)
		}
		defer tm.Close()
		ln = tls.NewListener(ln, tm.TLSConfig())
		if cfg.Server.RedirectFrom != "" {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			var ca []byte
			if tm.Root() != nil {
				ca = tm.Root().CertPEM()
			}
			plain := &http.Server{Addr: cfg.Server.RedirectFrom, Handler: tlsca.RedirectHandler(port, ca, crl), ReadHeaderTimeout: 5 * time.Second,
				ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
			go func() {
				if err := plain.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("http redirect listener", "addr", cfg.Server.RedirectFrom, "err", err.Error())
				}
			}()
			defer plain.Close()
		}
	}
	if err := queue.Run(ctx); err != nil {
		return e.fail("start queue: %v", err)
	}
	url := scheme + "://" + ln.Addr().String()
	log.Info("dictum serving", "version", buildinfo.Version, "url", url, "data", cfg.DataDir, "model", cfg.Trans.Model, "draft_engine", drafter.Name())
	if hooks.ready != nil {
		hooks.ready() // the SCM now reports Running
	} else {
		fmt.Fprintf(e.stderr, "dictum: serving on %s\n", url)
	}
	sched.Start()
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
	err = srv.Serve(ctx, ln, cfg.Server.ShutdownWait.Duration)
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	stopCtx, cancelStop := context.WithTimeout(context.Background(), cfg.Server.ShutdownWait.Duration)
	if err := sched.Stop(stopCtx); err != nil {
		log.Warn("scheduled jobs did not finish in time", "err", err.Error())
	}
	cancelStop()
	log.Info("shutting down: finishing running transcriptions")
	queue.Stop(cfg.Server.ShutdownWait.Duration)
	if err != nil && !errors.Is(err, context.Canceled) {
		return e.fail("serve: %v", err)
	}
	log.Info("stopped")
	return 0
}
