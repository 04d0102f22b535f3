// Package tlsca gives Dictum HTTPS on the office LAN: a firm-local certificate
// authority (default) or ACME with DNS-01, both managed by certmagic so certificates
// renew in the background without a restart.
//
// # Files and keys
//
// <data>/ca/ca.crt is the root (public, 0644; serve it at /ca.crt). <data>/ca/ca.key is
// its ECDSA P-256 key sealed with AES-256-GCM (0600). <data>/tls (0700) is certmagic's
// storage; every value in it (leaf keys, certificates, ACME account keys) is sealed too,
// by NewEncryptedStorage. Both use sub-keys derived with HKDF-SHA256 from the caller's
// 32-byte wrap key, which should itself come from the master key under its own label,
// e.g. in internal/vault: func (k *Keys) TLS() [KeySize]byte { return k.derive("dictum/v1/tls") }.
//
// The root has MaxPathLen 0 and critical name constraints limited to this machine
// (Constraints, MachineConstraints): its DNS names (and names under them) plus localhost,
// its IP addresses plus 127.0.0.1 and ::1. Roots made by older versions (private IP ranges,
// DNS unconstrained when no name was given) keep working as they are. Leaves are valid
// DefaultLeafLifetime (90 days; certmagic renews 30 days before expiry), carry serverAuth
// only and name a CRL distribution point (Options.CRLURL); the Manager signs the CRL
// (revoked.json in the CA directory) with the root and re-signs it daily: serve
// Manager.CRL at CRLPath. The Issuer signs only the configured hosts. certmagic keeps one
// certificate per host (name or IP) and picks it by SNI, or by the local IP when a
// browser sends none. Call Manage before accepting connections: until then handshakes
// find no certificate.
//
// # Master key rotation
//
// RotateWrapKey re-seals the root key and the storage under the new wrap key (the root
// certificate stays, so PCs keep trusting it) and revokes and drops the local leaves,
// whose keys were readable with the old one. The server must be stopped.
//
// # dictum init
//
//	keys := vault.NewKeys(master)
//	err := tlsca.CreateRoot(tlsca.RootDir(dataDir), cfg.Firm.Name, keys.TLS(), time.Now(),
//		tlsca.MachineConstraints(cfg.Server.Hosts, cfg.Server.DNSNames))
//	// errors.Is(err, tlsca.ErrRootExists) on a re-run: keep the old root.
//	root, err := tlsca.LoadRoot(tlsca.RootDir(dataDir), keys.TLS())
//	fmt.Println("Root CA SHA-256 fingerprint:", root.Fingerprint())
//
// # dictum serve
//
//	m, err := tlsca.New(tlsca.Options{
//		Mode: cfg.Server.TLS, // "local" or "acme"
//		Hosts: cfg.Server.Hosts, // empty = DefaultHosts() (local mode)
//		DataDir: dataDir, WrapKey: keys.TLS(), Logger: logger,
//		CRLURL: func(h string) string { return "https://" + net.JoinHostPort(h, "443") + tlsca.CRLPath },
//		ACME: tlsca.ACME{Directory: ..., Email: ..., DNSProvider: "rfc2136",
//			DNSCredentials: map[string]string{"server": "10.0.0.53:53", ...}},
//	})
//	if err != nil { return err }
//	defer m.Close()
//	if err := m.Manage(ctx); err != nil { return err } // load or issue now; renewals follow
//	ln, err := tls.Listen("tcp", ":443", m.TLSConfig())
//	go app.Listener(ln) // fiber; add header Strict-Transport-Security: tlsca.HSTSValue
//	var ca []byte
//	if m.Root() != nil { ca = m.Root().CertPEM() } // also serve at tlsca.CAPath over HTTPS
//	plain := &http.Server{Addr: ":80", Handler: tlsca.RedirectHandler("443", ca, m.CRL),
//		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
//		WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
//	go plain.ListenAndServe()
//
// Render InstallInstructions (markdown) at /ca with the root's Fingerprint next to it.
package tlsca

import _ "embed"

// InstallInstructions is markdown telling users how to trust the root on Windows
// (certutil, Group Policy), macOS (Keychain, security add-trusted-cert), Linux
// (update-ca-certificates), Firefox (enterprise roots policy) and phones.
//
//go:embed install.md
var InstallInstructions string
