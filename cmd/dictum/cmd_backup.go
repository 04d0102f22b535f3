package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dictum/internal/blob"
	"dictum/internal/config"
	"dictum/internal/lifecycle"
	"dictum/internal/platform"
	"dictum/internal/scheduler"
	"dictum/internal/store"
	"dictum/internal/vault"
)

// cmdBackup: dictum backup now [--to DIR] | list | verify FILE | drill.
func (e *cliEnv) cmdBackup(args []string) int {
	if len(args) == 0 {
		return e.fail("usage: dictum backup now [--to DIR] | list | verify FILE [--key-file F] | drill")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("backup " + sub)
	to := fs.String("to", "", "now: write the backup to this directory instead of [backup] dir")
	keyFile := fs.String("key-file", "", "verify: master key file of the server that made the backup")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	ctx := context.Background()
	switch sub {
	case "now", "list", "drill":
		if len(pos) != 0 {
			return e.fail("backup %s takes no arguments", sub)
		}
	case "verify":
		if len(pos) != 1 {
			return e.fail("usage: dictum backup verify FILE [--key-file F]")
		}
		if *keyFile != "" {
			// A backup from elsewhere: check it without this server's database.
			keys, err := vault.Load(*keyFile)
			if err != nil {
				return e.fail("%v", err)
			}
			man, err := lifecycle.VerifyFile(ctx, pos[0], keys.Backup(), filepath.Join(os.TempDir(), "dictum-verify"))
			return e.verified(pos[0], man, err)
		}
	default:
		return e.fail("unknown backup command %q (now, list, verify, drill)", sub)
	}
	// The backup reads the database through a small page cache: memory stays flat however
	// large the database is.
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return e.fail("%v", err)
	}
	k := keys.DB()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Key: &k, CacheMiB: 2})
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	svc := lifecycle.NewBackups(lifecycle.BackupDeps{Config: cfg, Store: st, Keys: keys, Dir: *to})
	switch sub {
	case "now":
		res, err := svc.Run(ctx, cliActor())
		if res != nil {
			fmt.Fprintf(e.stdout, "wrote %s (%s, %d blobs, audit head %d) in %s\n", res.File, humanBytes(res.Size),
				res.Manifest.Blobs, res.Manifest.AuditHead.ID, res.Took.Round(time.Millisecond))
		}
		if err != nil {
			return e.fail("backup: %v", err)
		}
		return 0
	case "list":
		files, err := svc.Files(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		if len(files) == 0 {
			fmt.Fprintf(e.stdout, "no backups in %s\n", svc.Dir())
			return 0
		}
		fmt.Fprintf(e.stdout, "%-36s %10s %8s  %s\n", "BACKUP", "SIZE", "AGE", "LAST CHECK")
		for _, f := range files {
			check := "never verified"
			if v := f.LastVerify; v != nil {
				check = fmt.Sprintf("%s %s %s", v.Kind, v.Status, v.FinishedAt)
				if v.Error != "" {
					check += ": " + v.Error
				}
			}
			fmt.Fprintf(e.stdout, "%-36s %10s %8s  %s\n", f.Name, humanBytes(f.Size), humanAge(time.Duration(f.AgeSeconds)*time.Second), check)
		}
		return 0
	case "verify":
		man, err := svc.Verify(ctx, cliActor(), pos[0])
		return e.verified(pos[0], man, err)
	case "drill":
		res, err := svc.Drill(ctx, cliActor())
		if err != nil {
			return e.fail("restore drill FAILED: %v", err)
		}
		fmt.Fprintf(e.stdout, "restore drill passed: %d blobs, %d audit events verified, in %s\n", res.Manifest.Blobs, res.AuditEvents, res.Took.Round(time.Millisecond))
		return 0
	}
	return 2
}

func (e *cliEnv) verified(path string, man *lifecycle.Manifest, err error) int {
	if err != nil {
		return e.fail("verify %s FAILED: %v", path, err)
	}
	var rows int64
	for _, n := range man.Counts {
		rows += n
	}
	fmt.Fprintf(e.stdout, "ok: %s: every byte authenticated, %d member hashes match, database integrity and audit chain (head %d) ok; %d rows, %d blobs; made %s by %s with dictum %s (schema %d)\n",
		path, len(man.Members), man.AuditHead.ID, rows, man.Blobs, man.CreatedAt, man.CreatedBy, man.DictumVersion, man.SchemaVersion)
	return 0
}

// cmdRestore: dictum restore --data NEWDIR FILE [--key-file F] [--backup-key-file F] [--force].
//
// The restored data is re-keyed to this server's master key (the file keys.master_file
// or <data>/master.key resolves to). When there is none yet (a new server), the master
// key given with --key-file becomes this server's key and is written there; with only
// --backup-key-file a new master key is made. --force moves a non-empty data dir aside
// to <dir>.old-<timestamp>, keeping its master key as the target key.
func (e *cliEnv) cmdRestore(args []string) int {
	fs := e.flags("restore")
	keyFile := fs.String("key-file", "", "master key file of the server that made the backup (default: this server's)")
	backupKeyFile := fs.String("backup-key-file", "", "the backup key itself (as printed by `dictum key backup-hex`), instead of a master key")
	force := fs.Bool("force", false, "restore over a non-empty data dir, moving it aside to <dir>.old-<timestamp>")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || e.dataDir == "" {
		return e.fail("usage: dictum restore --data NEWDIR FILE [--key-file F] [--force]")
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	opts, err := restoreKeys(cfg, *keyFile, *backupKeyFile)
	if err != nil {
		return e.fail("%v", err)
	}
	opts.File, opts.DataDir, opts.Force, opts.Actor = pos[0], cfg.DataDir, *force, cliActor()
	// A running server must not have its data dir swapped under it.
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.IsDir() {
		lock, err := lockDataDir(cfg.DataDir, "restore")
		if err != nil {
			return e.fail("restore: %v", err)
		}
		defer lock.release()
		if !platform.RenameOpenDirs {
			opts.BeforeSwap = lock.release
		}
	}
	res, err := lifecycle.Restore(context.Background(), opts)
	if err != nil {
		return e.fail("restore: %v (nothing was changed)", err)
	}
	fmt.Fprintf(e.stdout, "restored %s into %s in %s: backup of %s (dictum %s, schema %d), %d blobs, database integrity ok, %d audit events verified\n",
		opts.File, res.DataDir, res.Took.Round(time.Millisecond), res.Manifest.CreatedAt, res.Manifest.DictumVersion,
		res.Manifest.SchemaVersion, res.Manifest.Blobs, res.AuditEvents)
	if res.OldDir != "" {
		fmt.Fprintf(e.stdout, "the previous data dir was moved to %s\n", res.OldDir)
	}
	if opts.MasterKeyFile != "" {
		fmt.Fprintf(e.stdout, "master key written to %s (fingerprint %s): copy it to your offline key store now\n", opts.MasterKeyFile, opts.Target.Fingerprint())
	} else {
		fmt.Fprintf(e.stdout, "the data is now under this server's master key %s (fingerprint %s)\n", cfg.MasterKeyPath(), opts.Target.Fingerprint())
	}
	fmt.Fprintln(e.stdout, "run `dictum doctor` with the same --data/--config to check it, then start the server")
	return 0
}

// restoreKeys works out which key opens the backup and which master key the restored
// data gets.
func restoreKeys(cfg *config.Config, keyFile, backupKeyFile string) (lifecycle.RestoreOptions, error) {
	var o lifecycle.RestoreOptions
	var given *vault.Keys
	if keyFile != "" {
		k, err := vault.Load(keyFile)
		if err != nil {
			return o, err
		}
		given = k
	}
	switch target, err := vault.Load(cfg.MasterKeyPath()); {
	case err == nil:
		o.Target = target
		if strings.HasPrefix(cfg.MasterKeyPath(), cfg.DataDir+string(os.PathSeparator)) {
			o.MasterKeyFile = cfg.MasterKeyPath() // carried into the restored dir
		}
	case errors.Is(err, vault.ErrKeyMissing):
		o.MasterKeyFile = cfg.MasterKeyPath()
		switch {
		case given != nil:
			o.Target = given
		case backupKeyFile != "":
			m, err := vault.GenerateMaster()
			if err != nil {
				return o, err
			}
			o.Target = vault.NewKeys(m)
		default:
			return o, fmt.Errorf("no master key at %s: pass --key-file with the master key of the server that made the backup", cfg.MasterKeyPath())
		}
	default:
		return o, err
	}
	switch {
	case backupKeyFile != "":
		b, err := os.ReadFile(backupKeyFile)
		if err != nil {
			return o, fmt.Errorf("backup key file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) != 64 {
			return o, fmt.Errorf("backup key file %s: expected 64 hex characters", backupKeyFile)
		}
		if _, err := hex.Decode(o.BackupKey[:], []byte(s)); err != nil {
			return o, fmt.Errorf("backup key file %s: not hex", backupKeyFile)
		}
	case given != nil:
		o.BackupKey = given.Backup()
	default:
		o.BackupKey = o.Target.Backup()
	}
	return o, nil
}

// keyBackupHex prints the backup key (`dictum key backup-hex`), for offline keeping: with
// it alone any backup of this server can be restored.
func (e *cliEnv) keyBackupHex(ctx context.Context, cfg *config.Config, yes bool) int {
	keys, st, err := e.open(ctx, cfg)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	fmt.Fprintln(e.stderr, "dictum: WARNING: this is the backup key. With it and a backup file, anyone can read every entry,")
	fmt.Fprintln(e.stderr, "dictum: transcript and recording in that backup. Keep it offline (printed, in a safe); never paste it into a ticket or chat.")
	fmt.Fprintln(e.stderr, "dictum: restore with it:  dictum restore --data NEWDIR --backup-key-file FILE BACKUP")
	if !yes && isTerminal(e.stdout) {
		fmt.Fprintln(e.stderr, "dictum: add --yes to print it to a terminal")
		return 1
	}
	k := keys.Backup()
	_ = st.Audit(ctx, cliActor(), "key.backup_hex", "key", keys.Fingerprint(), nil)
	fmt.Fprintln(e.stdout, hex.EncodeToString(k[:]))
	return 0
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dm", int(d.Minutes()))
}

// scheduleBackups registers the backup and restore-drill jobs ([backup] schedule and
// drill_schedule; an empty spec turns the job off).
func scheduleBackups(sched *scheduler.Scheduler, cfg *config.Config, b *lifecycle.Backups) error {
	if cfg.Backup.Schedule != "" {
		if err := sched.Add(cfg.Backup.Schedule, "backup", b.Scheduled); err != nil {
			return fmt.Errorf("backup.schedule: %w", err)
		}
	}
	if cfg.Backup.DrillSchedule != "" {
		if err := sched.Add(cfg.Backup.DrillSchedule, "backup.drill", b.ScheduledDrill); err != nil {
			return fmt.Errorf("backup.drill_schedule: %w", err)
		}
	}
	return nil
}

// cmdBenchBlobs (hidden, benchmarks and tests): fills the blob store with random
// audio-sized blobs, total --mib MiB, each between --min-kib and --max-kib.
func (e *cliEnv) cmdBenchBlobs(args []string) int {
	fs := e.flags("bench-blobs")
	mib := fs.Int("mib", 64, "total size in MiB")
	minKiB := fs.Int("min-kib", 500, "smallest blob in KiB")
	maxKiB := fs.Int("max-kib", 6000, "largest blob in KiB")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	if *mib < 1 || *minKiB < 1 || *maxKiB < *minKiB {
		return e.fail("bench-blobs: need mib >= 1 and 1 <= min-kib <= max-kib")
	}
	cfg, err := e.config()
	if err != nil {
		return e.fail("%v", err)
	}
	keys, err := vault.Load(cfg.MasterKeyPath())
	if err != nil {
		return e.fail("%v", err)
	}
	bs, err := blob.Open(cfg.BlobDir(), keys.Blob())
	if err != nil {
		return e.fail("%v", err)
	}
	total, n := int64(*mib)<<20, 0
	buf := make([]byte, 256<<10)
	for written := int64(0); written < total; n++ {
		size := int64(*minKiB+mrand.IntN(*maxKiB-*minKiB+1)) << 10
		size = min(size, total-written)
		w, err := bs.Create()
		if err != nil {
			return e.fail("%v", err)
		}
		for left := size; left > 0; {
			c := min(left, int64(len(buf)))
			_, _ = crand.Read(buf[:c])
			if _, err := w.Write(buf[:c]); err != nil {
				return e.fail("%v", err)
			}
			left -= c
		}
		if _, _, err := w.Commit(); err != nil {
			return e.fail("%v", err)
		}
		written += size
	}
	fmt.Fprintf(e.stdout, "wrote %d blobs, %d MiB\n", n, *mib)
	return 0
}
