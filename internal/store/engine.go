package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// Dictum's database file is always a SQLCipher 4 file. Two C engines write it:
//
//   - SQLCipher 4.6 (Debian's libsqlcipher, OpenSSL crypto): the Linux build.
//   - SQLite3 Multiple Ciphers 2.4 compiled with the SQLCipher scheme in SQLCipher 4
//     compatibility (legacy=4) as its only default: the Windows build, where Debian has no
//     OpenSSL for mingw. Its own AES/SHA code reads and writes the same bytes.
//
// Which one is linked in is found out once at run time, so one Go tree serves both and the
// Linux test suite can run against either (make test-sqlite3mc).
const (
	EngineSQLCipher = "sqlcipher"
	EngineSQLite3MC = "sqlite3mc"
)

var (
	engineOnce sync.Once
	engineName string
	engineVer  string
	engineErr  error
)

// Engine names the encryption engine linked into this binary and its version, e.g.
// ("sqlcipher", "4.6.1 community") or ("sqlite3mc", "SQLite3 Multiple Ciphers 2.4.0").
// It fails with ErrNoCipher when the binary was linked against plain SQLite.
func Engine() (name, version string, err error) {
	engineOnce.Do(detectEngine)
	return engineName, engineVer, engineErr
}

// EngineString is Engine for humans (doctor, version).
func EngineString() string {
	name, ver, err := Engine()
	if err != nil {
		return "none: " + err.Error()
	}
	if name == EngineSQLite3MC {
		return ver + " (SQLCipher 4 scheme)"
	}
	return "SQLCipher " + ver
}

func detectEngine() {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		engineErr = fmt.Errorf("detect the database engine: %w", err)
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	engineName, engineVer, engineErr = identifyEngine(func(q string) (string, error) {
		var v string
		err := db.QueryRowContext(ctx, q).Scan(&v)
		return v, err
	})
	if engineName == EngineSQLCipher {
		// SQLCipher's own stderr logging would print "hmac check failed" lines next to
		// our clear wrong-key error.
		_, _ = db.ExecContext(ctx, "PRAGMA cipher_log_level = NONE")
	}
}

// identifyEngine names the engine from what it answers: SQLCipher has cipher_version;
// SQLite3 Multiple Ciphers has sqlite3mc_version() and must default to the SQLCipher
// scheme (a build left on its ChaCha20 default would write files the Linux build cannot
// read); plain SQLite has neither and is refused.
func identifyEngine(query func(string) (string, error)) (name, version string, err error) {
	if v, err := query("PRAGMA cipher_version"); err == nil && strings.TrimSpace(v) != "" {
		return EngineSQLCipher, strings.TrimSpace(v), nil
	}
	v, err := query("SELECT sqlite3mc_version()")
	if err != nil || v == "" {
		return "", "", ErrNoCipher
	}
	cipher, err := query("PRAGMA cipher")
	if err != nil || !strings.EqualFold(cipher, "sqlcipher") {
		return "", "", fmt.Errorf("%w: SQLite3 Multiple Ciphers defaults to cipher %q, not sqlcipher; rebuild with `make windows`", ErrNoCipher, cipher)
	}
	return EngineSQLite3MC, v, nil
}

// dsnCipherParams are URI parameters the engine needs before the key: SQLite3 Multiple
// Ciphers is told the scheme explicitly (SQLCipher 4), whatever its compiled default.
func dsnCipherParams() string {
	if name, _, _ := Engine(); name == EngineSQLite3MC {
		return "cipher=sqlcipher&legacy=4&"
	}
	return ""
}

// ExportTo copies the whole main database (schema, rows, indexes, views, triggers) into
// the database attached on conn as schema, which must be new and empty. Run it inside a
// read transaction for a consistent copy. With SQLCipher it is sqlcipher_export; other
// engines get the same steps in SQL: tables first, then rows, then indexes (faster than
// filling indexed tables), then views and triggers. user_version is the caller's.
func ExportTo(ctx context.Context, conn *sql.Conn, schema string) error {
	if !validSchemaName(schema) {
		return fmt.Errorf("export: bad schema name %q", schema)
	}
	if name, _, err := Engine(); err != nil {
		return fmt.Errorf("export: %w", err)
	} else if name == EngineSQLCipher {
		if _, err := conn.ExecContext(ctx, "SELECT sqlcipher_export('"+schema+"')"); err != nil {
			return fmt.Errorf("export: sqlcipher_export: %w", sanitize(err))
		}
		return nil
	}
	return exportSQL(ctx, conn, schema)
}

// exportSQL is ExportTo for engines without sqlcipher_export (and is tested on both).
func exportSQL(ctx context.Context, conn *sql.Conn, schema string) error {
	type object struct{ typ, name, sql string }
	rows, err := conn.QueryContext(ctx, `SELECT type, name, sql FROM main.sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY rowid`)
	if err != nil {
		return fmt.Errorf("export: read the schema: %w", err)
	}
	var objs []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			rows.Close()
			return fmt.Errorf("export: read the schema: %w", err)
		}
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: read the schema: %w", err)
	}
	exec := func(what, q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("export: %s: %w", what, err)
		}
		return nil
	}
	// SQLite stores each CREATE statement with its leading keywords normalised to upper
	// case and single spaces, so the object name always follows a fixed prefix.
	qualify := func(o object) (string, error) {
		for _, p := range []string{"CREATE TABLE ", "CREATE UNIQUE INDEX ", "CREATE INDEX ", "CREATE VIEW ", "CREATE TRIGGER ", "CREATE VIRTUAL TABLE "} {
			if strings.HasPrefix(o.sql, p) {
				return p + schema + "." + o.sql[len(p):], nil
			}
		}
		return "", fmt.Errorf("export: cannot copy %s %s: unexpected statement %.40q", o.typ, o.name, o.sql)
	}
	for _, pass := range []string{"table", "rows", "index", "view", "trigger"} {
		for _, o := range objs {
			switch {
			case pass == "rows" && o.typ == "table" && !strings.HasPrefix(o.sql, "CREATE VIRTUAL TABLE "):
				q := fmt.Sprintf("INSERT INTO %s.%s SELECT * FROM main.%s", schema, quoteIdent(o.name), quoteIdent(o.name))
				if err := exec("copy "+o.name, q); err != nil {
					return err
				}
			case pass == o.typ:
				q, err := qualify(o)
				if err != nil {
					return err
				}
				if err := exec("create "+o.typ+" "+o.name, q); err != nil {
					return err
				}
			}
		}
	}
	// AUTOINCREMENT counters live in sqlite_sequence, which the CREATEs above made.
	var seq int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM main.sqlite_schema WHERE name = 'sqlite_sequence'").Scan(&seq); err != nil {
		return fmt.Errorf("export: sqlite_sequence: %w", err)
	}
	if seq > 0 {
		if err := exec("sqlite_sequence", fmt.Sprintf("DELETE FROM %s.sqlite_sequence; INSERT INTO %s.sqlite_sequence SELECT * FROM main.sqlite_sequence", schema, schema)); err != nil {
			return err
		}
	}
	return nil
}

func validSchemaName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
