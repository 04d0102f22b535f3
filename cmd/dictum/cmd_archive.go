package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"dictum/internal/blob"
	"dictum/internal/lifecycle"
)

// cmdArchive writes a ZIP archive of the firm, a matter or a user to a file:
// dictum archive --scope firm|matter:<id>|user:<username> --out FILE.zip.
// The file is written under a temporary name beside FILE (mode 0600), synced and renamed
// into place, so FILE is either complete or absent. It is plaintext: the operator asked
// for a file to hand over, so keep it somewhere safe.
func (e *cliEnv) cmdArchive(args []string) int {
	fs := e.flags("archive")
	scope := fs.String("scope", "", "what to archive: firm, matter:<id> or user:<username>")
	out := fs.String("out", "", "the ZIP file to write (must not exist)")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	if *scope == "" || *out == "" {
		return e.fail("usage: dictum archive --scope firm|matter:<id>|user:<username> --out FILE.zip")
	}
	if _, err := os.Lstat(*out); err == nil {
		return e.fail("%s exists; choose another --out (an archive never overwrites a file)", *out)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	keys, st, err := e.open(ctx, cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	blobs, err := blob.Open(cfg.BlobDir(), keys.Blob())
	if err != nil {
		return e.fail("%v", err)
	}
	svc := lifecycle.NewArchives(lifecycle.ArchiveDeps{Store: st, Blobs: blobs})
	defer svc.Close()
	if _, err := svc.Resolve(ctx, *scope); err != nil {
		return e.fail("%v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".dictum-archive-*")
	if err != nil {
		return e.fail("create %s: %v", *out, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	res, err := svc.WriteTo(ctx, cliActor(), *scope, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		// Link refuses to replace a file that appeared meanwhile; rename would not.
		err = os.Link(tmp.Name(), *out)
		if errors.Is(err, os.ErrExist) {
			err = fmt.Errorf("%s appeared while the archive was written; nothing replaced", *out)
		} else if err != nil {
			// A file system without hard links (some NAS mounts): rename instead.
			if _, serr := os.Lstat(*out); serr == nil {
				err = fmt.Errorf("%s appeared while the archive was written; nothing replaced", *out)
			} else {
				err = os.Rename(tmp.Name(), *out)
			}
		}
	}
	if err != nil {
		return e.fail("archive %s: %v", *scope, err)
	}
	os.Remove(tmp.Name())
	done = true
	c := res.Manifest.Counts
	fmt.Fprintf(e.stdout, "archive %s written to %s: %d files (%d entries, %d recordings, %d audio files, %d exports, %d audit events); audit chain head %d\n",
		res.Manifest.Scope, *out, res.Files, c["entries"], c["recordings"], c["audio_files"], c["exports"], c["audit_events"], res.Manifest.AuditHead.ID)
	if n := len(res.Manifest.Missing); n > 0 {
		fmt.Fprintf(e.stdout, "warning: %d file(s) could not be included; manifest.json lists them under \"missing\"\n", n)
	}
	return 0
}
