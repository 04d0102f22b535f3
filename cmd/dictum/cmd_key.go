package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"dictum/internal/blob"
	"dictum/internal/cliosync"
	"dictum/internal/store"
	"dictum/internal/vault"
)

func (e *cliEnv) cmdKey(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum key rotate | db-hex")
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
		return e.rotate(ctx, cfg.MasterKeyPath(), cfg.DBPath(), cfg.BlobDir())
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

// rotate replaces the master key: the database is re-keyed (PRAGMA rekey) and every
// blob's data key re-wrapped; blob contents are not rewritten. It must run with the
// server stopped. A crash at any point can be resumed by running it again: the next key
// is written to <master>.next first and only replaces the master key at the end.
func (e *cliEnv) rotate(ctx context.Context, keyPath, dbPath, blobDir string) int {
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
	if err := next.Save(keyPath); err != nil {
		return e.fail("install new key: %v (run `dictum key rotate` again to resume)", err)
	}
	_ = os.Remove(nextPath)
	_ = st.Audit(ctx, cliActor(), "key.rotate", "key", next.Fingerprint(), map[string]any{"old": old.Fingerprint(), "blobs_rewrapped": n})
	fmt.Fprintf(e.stdout, "rotated the master key (%s -> %s): database re-keyed, %d blob key(s) re-wrapped.\n", old.Fingerprint(), next.Fingerprint(), n)
	fmt.Fprintln(e.stdout, "Copy the new master key to your offline key store now; the old one no longer opens this data.")
	return 0
}
