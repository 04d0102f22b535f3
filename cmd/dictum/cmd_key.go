package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"dictum/internal/blob"
	"dictum/internal/cliosync"
	"dictum/internal/store"
	"dictum/internal/tlsca"
	"dictum/internal/vault"
)

func (e *cliEnv) cmdKey(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum key rotate | db-hex | backup-hex")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("key " + sub)
	yes := fs.Bool("yes", false, "db-hex: confirm printing the raw database key")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	ctx := context.Background()
	switch sub {
	case "db-hex":
		keys, st, err := e.open(ctx, cfg) // proves the key opens the database before printing it
		if err != nil {
			return e.fail("%v", err)
		}
		defer st.Close()
		fmt.Fprintln(e.stderr, "dictum: WARNING: this is the raw key of the whole database. Anyone with it and a copy of the")
		fmt.Fprintln(e.stderr, "dictum: database can read every entry. Keep it offline; never paste it into a ticket or chat.")
		fmt.Fprintf(e.stderr, "dictum: open the database with Debian's sqlcipher:  sqlcipher %s  then  PRAGMA key = \"x'<key>'\";\n", cfg.DBPath())
		if !*yes && isTerminal(e.stdout) {
			fmt.Fprintln(e.stderr, "dictum: add --yes to print it to a terminal")
			return 1
		}
		k := keys.DB()
		_ = st.Audit(ctx, cliActor(), "key.db_hex", "key", keys.Fingerprint(), nil)
		fmt.Fprintln(e.stdout, hex.EncodeToString(k[:]))
		return 0
	case "backup-hex":
		return e.keyBackupHex(ctx, cfg, *yes)
	case "rotate":
		lock, err := lockDataDir(cfg.DataDir, "key rotate")
		if err != nil {
			return e.fail("%v", err)
		}
		defer lock.release()
		return e.rotate(ctx, cfg.DataDir, cfg.MasterKeyPath(), cfg.DBPath(), cfg.BlobDir())
	}
	return e.fail("unknown key command %q (rotate, db-hex)", sub)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// rotate replaces the master key: the database is re-keyed (PRAGMA rekey), every blob's
// data key re-wrapped (blob contents are not rewritten), the Clio token and the TLS
// material re-sealed: the firm root keeps its certificate (PCs keep trusting it) with its
// key sealed under the new key, and the local CA's leaf certificates are revoked (CRL)
// and dropped so the next `serve` issues new leaf keys. It runs with the server stopped
// (the caller holds the data dir lock). A crash at any point can be resumed by running it
// again: the next key is written to <master>.next first and only replaces the master key
// at the end.
func (e *cliEnv) rotate(ctx context.Context, dataDir, keyPath, dbPath, blobDir string) int {
	old, err := vault.Load(keyPath)
	if err != nil {
		return e.fail("%v", err)
	}
	nextPath := keyPath + ".next"
	next, created, err := vault.LoadOrCreate(nextPath)
	if err != nil {
		return e.fail("%v", err)
	}
	if !created {
		fmt.Fprintf(e.stderr, "dictum: resuming an interrupted rotation with %s\n", nextPath)
	}
	oldDB, newDB := old.DB(), next.DB()
	st, err := store.Open(ctx, dbPath, store.Options{Key: &oldDB})
	if errors.Is(err, store.ErrWrongKey) {
		st, err = store.Open(ctx, dbPath, store.Options{Key: &newDB}) // already re-keyed before a crash
	} else if err == nil {
		if rerr := st.Rekey(ctx, newDB); rerr != nil {
			st.Close()
			return e.fail("re-key database: %v (nothing changed; the old key still works)", rerr)
		}
	}
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	// The Clio OAuth tokens are sealed with a key derived from the master key: re-seal them.
	if tok, err := cliosync.OpenToken(ctx, st, old.Derive(cliosync.TokenLabel)); err == nil {
		if err := cliosync.SaveToken(ctx, st, next.Derive(cliosync.TokenLabel), tok); err != nil {
			return e.fail("re-seal the Clio token: %v (run `dictum key rotate` again to resume)", err)
		}
	} else if !errors.Is(err, store.ErrClioNotConnected) {
		if _, nerr := cliosync.OpenToken(ctx, st, next.Derive(cliosync.TokenLabel)); nerr != nil { // not already re-sealed before a crash
			return e.fail("read the Clio token: %v", err)
		}
	}
	blobs, err := blob.Open(blobDir, old.Blob())
	if err != nil {
		return e.fail("%v", err)
	}
	n, err := blobs.RewrapAll(old.Blob(), next.Blob())
	if err != nil {
		return e.fail("re-wrap blobs: %v (run `dictum key rotate` again to resume)", err)
	}
	tlsRes, err := tlsca.RotateWrapKey(dataDir, old.TLS(), next.TLS(), time.Now())
	if err != nil {
		return e.fail("re-seal the TLS keys: %v (run `dictum key rotate` again to resume)", err)
	}
	if err := next.Save(keyPath); err != nil {
		return e.fail("install new key: %v (run `dictum key rotate` again to resume)", err)
	}
	_ = os.Remove(nextPath)
	if err := st.Audit(ctx, cliActor(), "key.rotate", "key", next.Fingerprint(), map[string]any{"old": old.Fingerprint(), "blobs_rewrapped": n,
		"tls_root_resealed": tlsRes.RootResealed, "tls_values_resealed": tlsRes.Resealed, "tls_leaves_revoked": tlsRes.Revoked}); err != nil {
		fmt.Fprintf(e.stderr, "dictum: WARNING: the rotation is complete but its audit event was not written: %v\n", err)
	}
	fmt.Fprintf(e.stdout, "rotated the master key (%s -> %s): database re-keyed, %d blob key(s) re-wrapped.\n", old.Fingerprint(), next.Fingerprint(), n)
	if tlsRes.RootResealed {
		fmt.Fprintf(e.stdout, "TLS: the firm root CA key is re-sealed under the new key (same root certificate: nothing to redistribute); %d server certificate(s) revoked and dropped, `dictum serve` issues new ones.\n", len(tlsRes.Revoked))
	}
	if tlsRes.Resealed > 0 {
		fmt.Fprintf(e.stdout, "TLS: %d stored certificate value(s) (ACME account and certificates) re-sealed.\n", tlsRes.Resealed)
	}
	fmt.Fprintln(e.stdout, "Copy the new master key to your offline key store now; the old one no longer opens this data.")
	if tlsRes.RootResealed {
		fmt.Fprintf(e.stdout, "If a copy of %s may have left together with the old key, the root itself is compromised: see \"Incident playbook\" in docs/security.md to replace it.\n", filepath.Join(tlsca.RootDir(dataDir), tlsca.RootKeyFile))
	}
	return 0
}
