package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dictum/internal/buildinfo"
	"dictum/internal/config"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

// exitSchemaTooNew is `dictum migrate`'s exit status for a database written by a newer
// dictum (a downgrade): the package scripts tell it apart from a failed migration.
const exitSchemaTooNew = 3

// cmdMigrate brings the database to this binary's schema version. The server migrates on
// start as well; the package's postinst runs this first so a failure is reported (and
// rolled back) before the service is started.
func (e *cliEnv) cmdMigrate(args []string) int {
	fs := e.flags("migrate")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	ctx := context.Background()
	// Never beside a running server (the package stops it first).
	lock, err := lockDataDir(cfg.DataDir, "migrate")
	if err != nil {
		return e.fail("%v", err)
	}
	defer lock.release()
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return e.fail("%v", err)
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k, NoMigrate: true})
	if err != nil {
		if errors.Is(err, store.ErrSchemaTooNew) {
			fmt.Fprintf(e.stderr, "dictum migrate: refusing %s: %v\n", cfg.DBPath(), err)
			return exitSchemaTooNew
		}
		return e.fail("%v", err)
	}
	from, err := st.Version(ctx)
	st.Close()
	if err != nil {
		return e.fail("read schema version: %v", err)
	}
	to := store.SchemaVersion()
	if from == to {
		fmt.Fprintf(e.stdout, "schema version %d: up to date (dictum %s)\n", from, buildinfo.Version)
		return 0
	}
	st, err = store.Open(ctx, cfg.DBPath(), store.Options{Key: &k})
	if err != nil {
		return e.fail("migrating %s from schema %d to %d failed: %v\n"+
			"  Migrations before the failing one stay applied; restore the backup taken before the upgrade.", cfg.DBPath(), from, to, err)
	}
	defer st.Close()
	_ = st.Audit(ctx, cliActor(), "store.migrate", "database", "", map[string]any{"from": from, "to": to, "version": buildinfo.Version})
	fmt.Fprintf(e.stdout, "migrated %s from schema version %d to %d (dictum %s)\n", cfg.DBPath(), from, to, buildinfo.Version)
	return 0
}

// openNoMigrate opens the keys and the database without applying migrations (doctor).
func (e *cliEnv) openNoMigrate(ctx context.Context, cfg *config.Config) (*vault.Keys, *store.Store, error) {
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return nil, nil, err
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k, NoMigrate: true})
	if err != nil {
		if errors.Is(err, store.ErrWrongKey) {
			return nil, nil, fmt.Errorf("%w (key file %s)", err, cfg.MasterKeyPath())
		}
		return nil, nil, err
	}
	return keys, st, nil
}

// cmdReady waits until the configured server answers /readyz (the package's postinst runs
// it after starting the service). It talks only to this machine's own listener.
func (e *cliEnv) cmdReady(args []string) int {
	fs := e.flags("ready")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the server")
	urlFlag := fs.String("url", "", "base URL to probe (default: from server.listen and server.tls)")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	base, tlsConf, err := probeTarget(cfg, *urlFlag)
	if err != nil {
		return e.fail("%v", err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: nil}}
	deadline := time.Now().Add(*timeout)
	var last string
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(e.stdout, "ready: %s/readyz %s\n", base, strings.TrimSpace(string(body)))
				return 0
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return e.fail("%s/readyz not ready after %s: %s", base, *timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// probeTarget returns the base URL of this machine's listener and a TLS config that
// trusts the firm root (local mode) or the system roots (acme). The host name is not
// checked: the probe connects to a loopback address the certificate need not name.
func probeTarget(cfg *config.Config, override string) (string, *tls.Config, error) {
	mode := cfg.Server.TLS
	if mode == "" {
		mode = "local"
		if isLoopback(cfg.Server.Listen) {
			mode = "off"
		}
	}
	base := strings.TrimRight(override, "/")
	if base == "" {
		host, port, err := net.SplitHostPort(cfg.Server.Listen)
		if err != nil {
			return "", nil, fmt.Errorf("server.listen %q: %w", cfg.Server.Listen, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "https"
		if mode == "off" {
			scheme = "http"
		}
		base = scheme + "://" + net.JoinHostPort(host, port)
	}
	if !strings.HasPrefix(base, "https://") {
		return base, nil, nil
	}
	var roots *x509.CertPool
	if mode == "local" {
		pemBytes, err := os.ReadFile(filepath.Join(tlsca.RootDir(cfg.DataDir), tlsca.RootCertFile))
		if err != nil {
			return "", nil, fmt.Errorf("read the firm root CA: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return "", nil, errors.New("the firm root CA file holds no certificate")
		}
	} else {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil {
			return "", nil, fmt.Errorf("system CA roots: %w", err)
		}
	}
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // the chain is verified below, without the host name
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		},
	}
	return base, conf, nil
}
