// Package store is Dictum's database: one SQLCipher-encrypted SQLite file, keyed inside
// sqlite3_open_v2 (SQLCipher's key URI parameter, as a raw x'..' key), with ordered embedded migrations.
// Methods are split one file per aggregate (users, sessions, matters, recordings, entries,
// jobs, audit). There are no repository interfaces: callers use *Store directly.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrNotFound is returned when a row does not exist (or is not visible to the caller).
var ErrNotFound = errors.New("not found")

// ErrWrongKey is returned when the database file exists but cannot be decrypted.
var ErrWrongKey = errors.New("cannot decrypt the database: wrong key, or not a Dictum database")

// ErrNoDatabase is returned when the database file does not exist and creation was not asked for.
var ErrNoDatabase = errors.New("database file does not exist")

// ErrNotEncrypted is returned when the file is a plain SQLite database.
var ErrNotEncrypted = errors.New("database file is not encrypted (plain SQLite)")

// ErrSchemaTooNew is returned when the database was migrated by a newer dictum than this
// one (a downgrade): nothing is changed.
var ErrSchemaTooNew = errors.New("database schema is newer than this dictum")

// ErrNoCipher is returned when the binary was linked against plain SQLite instead of SQLCipher.
var ErrNoCipher = errors.New("no database encryption is linked in (neither SQLCipher's cipher_version nor SQLite3 Multiple Ciphers' sqlite3mc_version answers); rebuild with `make build` (Linux) or `make windows`")

// Store is the open database.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Options control Open.
type Options struct {
	// Key is the raw 32-byte SQLCipher key. Nil opens without a key (plain SQLite through
	// SQLCipher), which only benchmarks use.
	Key *[32]byte
	// Create allows creating a new database file when none exists.
	Create bool
	// CacheMiB is the page cache per connection (default 64).
	CacheMiB int
	// Now overrides the clock (tests).
	Now func() time.Time
	// NoMigrate opens without applying migrations (`dictum migrate` reads the schema
	// version first); a schema newer than this binary is still refused.
	NoMigrate bool
}

// Open opens (or with opts.Create, creates) the database at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if _, _, err := Engine(); err != nil {
		return nil, err
	}
	fi, statErr := os.Stat(path)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return nil, fmt.Errorf("open database %s: %w", path, statErr)
	}
	if !exists && !opts.Create {
		return nil, fmt.Errorf("%w: %s (run `dictum init` first)", ErrNoDatabase, path)
	}
	if exists && fi.Size() > 0 && opts.Key != nil {
		if plain, err := isPlainSQLite(path); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		} else if plain {
			return nil, fmt.Errorf("%w: %s", ErrNotEncrypted, path)
		}
	}
	cache := opts.CacheMiB
	if cache <= 0 {
		cache = 64
	}
	// The DSN carries the key: it is built here and never logged or put into an error.
	var dsn strings.Builder
	dsn.WriteString("file:")
	dsn.WriteString(path)
	dsn.WriteString("?")
	if opts.Key != nil {
		dsn.WriteString(dsnCipherParams())
		// key=x'<hex>' (URI-escaped) is a raw key: no passphrase KDF, and the same key
		// Debian's sqlcipher CLI takes as PRAGMA key = "x'<hex>'".
		dsn.WriteString("key=x%27")
		dsn.WriteString(hex.EncodeToString(opts.Key[:]))
		dsn.WriteString("%27&")
	}
	fmt.Fprintf(&dsn, "_journal_mode=WAL&_foreign_keys=1&_busy_timeout=10000&_synchronous=NORMAL&_txlock=immediate&_cache_size=-%d", cache*1024)
	if !opts.Create || exists {
		dsn.WriteString("&mode=rw")
	}
	db, err := sql.Open("sqlite3", dsn.String())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, sanitize(err))
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, path: path, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.check(ctx, exists); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx, !opts.NoMigrate); err != nil {
		db.Close()
		return nil, err
	}
	if !exists {
		_ = os.Chmod(path, 0o600)
	}
	return s, nil
}

func (s *Store) check(ctx context.Context, existed bool) error {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return classify(s.path, err)
	}
	return nil
}

func classify(path string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("%w: %s", ErrWrongKey, path)
	}
	return fmt.Errorf("open database %s: %w", path, sanitize(err))
}

// sanitize removes anything that looks like a key from an error message.
func sanitize(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "key="); i >= 0 {
		return errors.New(msg[:i] + "key=<redacted>")
	}
	return err
}

func isPlainSQLite(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil {
		return false, nil
	}
	return bytes.Equal(head, []byte("SQLite format 3\x00")), nil
}

// Close closes the database after a WAL checkpoint.
func (s *Store) Close() error {
	_, _ = s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return s.db.Close()
}

// DB exposes the handle for packages that own their own tables (jobs, lifecycle).
func (s *Store) DB() *sql.DB { return s.db }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// CipherVersion reports the encryption engine and its version, checking on this database
// that it runs the SQLCipher scheme (SQLite3 Multiple Ciphers) or answers cipher_version
// (SQLCipher).
func (s *Store) CipherVersion(ctx context.Context) (string, error) {
	name, _, err := Engine()
	if err != nil {
		return "", err
	}
	q := "PRAGMA cipher_version"
	if name == EngineSQLite3MC {
		q = "PRAGMA cipher"
	}
	var v string
	if err := s.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	if name == EngineSQLite3MC && !strings.EqualFold(v, "sqlcipher") {
		return "", fmt.Errorf("%w: this database runs cipher %q, not sqlcipher", ErrNoCipher, v)
	}
	if name == EngineSQLCipher {
		return v, nil
	}
	return EngineString(), nil
}

// IntegrityCheck runs PRAGMA integrity_check and cipher_integrity_check.
func (s *Store) IntegrityCheck(ctx context.Context) ([]string, error) {
	var problems []string
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("integrity_check: %w", err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, "PRAGMA cipher_integrity_check")
	if err != nil {
		return nil, fmt.Errorf("cipher_integrity_check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		problems = append(problems, "cipher: "+line)
	}
	return problems, rows.Err()
}

// Rekey changes the database key (PRAGMA rekey) on a single connection.
func (s *Store) Rekey(ctx context.Context, newKey [32]byte) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA rekey = \"x'%s'\"", hex.EncodeToString(newKey[:]))); err != nil {
		return fmt.Errorf("rekey: %w", sanitize(err))
	}
	return nil
}

// tx runs fn in a transaction (BEGIN IMMEDIATE), committing on success.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error { return runTx(ctx, s.db, fn) }

// runTx runs fn in a transaction begun on db (the pool, or one connection when fn needs
// per-connection pragmas), committing on success and rolling back on error.
func runTx(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(*sql.Tx) error) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(t); err != nil {
		_ = t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) ts() string { return s.now().UTC().Format(time.RFC3339Nano) }

// collect runs a query and scans every row with scan (one loop for every list method).
func collect[T any](rows *sql.Rows, err error, what string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
