package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dictum/internal/identity"
)

func TestEngineIsEncrypting(t *testing.T) {
	name, ver, err := Engine()
	if err != nil {
		t.Fatal(err)
	}
	if name != EngineSQLCipher && name != EngineSQLite3MC || ver == "" {
		t.Fatalf("Engine() = %q %q", name, ver)
	}
	t.Logf("engine: %s", EngineString())
}

// The guard: only an engine that writes SQLCipher 4 files is accepted.
func TestIdentifyEngine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers map[string]string // query -> answer; missing = error (no such pragma/function)
		want    string
		refused bool
	}{
		{"SQLCipher", map[string]string{"PRAGMA cipher_version": "4.6.1 community"}, EngineSQLCipher, false},
		{"SQLite3MC in the SQLCipher scheme", map[string]string{"PRAGMA cipher_version": "", "SELECT sqlite3mc_version()": "SQLite3 Multiple Ciphers 2.4.0", "PRAGMA cipher": "sqlcipher"}, EngineSQLite3MC, false},
		{"SQLite3MC left on ChaCha20", map[string]string{"SELECT sqlite3mc_version()": "SQLite3 Multiple Ciphers 2.4.0", "PRAGMA cipher": "chacha20"}, "", true},
		{"SQLite3MC that cannot say its cipher", map[string]string{"SELECT sqlite3mc_version()": "SQLite3 Multiple Ciphers 2.4.0"}, "", true},
		{"plain SQLite", map[string]string{"PRAGMA cipher_version": ""}, "", true},
		{"plain SQLite, no rows", map[string]string{}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, _, err := identifyEngine(func(q string) (string, error) {
				if v, ok := tc.answers[q]; ok {
					return v, nil
				}
				return "", sql.ErrNoRows
			})
			if tc.refused != (err != nil) || tc.refused && !errors.Is(err, ErrNoCipher) || name != tc.want {
				t.Fatalf("identifyEngine = %q, %v; want %q refused=%v", name, err, tc.want, tc.refused)
			}
		})
	}
}

// exportSQL (the Windows engine's export) and ExportTo (sqlcipher_export on Linux) both
// copy every object and row of a real store, plus the kinds of objects the schema may
// grow (view, trigger, AUTOINCREMENT, unique index, a name that needs quoting), into a
// database keyed with another key.
func TestExportCopiesEverything(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(context.Context, *sql.Conn, string) error
	}{{"ExportTo", ExportTo}, {"exportSQL", exportSQL}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := open(t)
			defer s.Close()
			if err := s.CreateUser(ctx, identity.Actor{Username: "t"}, &User{Username: "export-user", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`CREATE TABLE "odd ""name"" t"(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)`,
				`CREATE UNIQUE INDEX odd_v ON "odd ""name"" t"(v)`,
				`CREATE VIEW odd_view AS SELECT v FROM "odd ""name"" t"`,
				`CREATE TRIGGER odd_trg AFTER INSERT ON "odd ""name"" t" BEGIN UPDATE "odd ""name"" t" SET v = upper(v) WHERE id = new.id; END`,
				`INSERT INTO "odd ""name"" t"(v) VALUES ('a'), ('b')`,
				`DELETE FROM "odd ""name"" t" WHERE v = 'B'`,
			} {
				if _, err := s.db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			dst := filepath.Join(t.TempDir(), "copy.db")
			conn, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			defer conn.Raw(func(any) error { return driver.ErrBadConn })
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("ATTACH DATABASE '%s' AS snap KEY \"x'%s'\"", dst, hex.EncodeToString(testKey(2)[:]))); err != nil {
				t.Fatal(err)
			}
			if err := tc.fn(ctx, conn, "snap"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "DETACH DATABASE snap"); err != nil {
				t.Fatal(err)
			}
			if err := tc.fn(ctx, conn, "snap; DROP TABLE users"); err == nil {
				t.Fatal("a bad schema name was accepted")
			}
			c, err := Open(ctx, dst, Options{Key: testKey(2), NoMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, want := dump(t, c.db), dump(t, s.db); !reflect.DeepEqual(got, want) {
				t.Fatalf("copy differs:\n got %v\nwant %v", got, want)
			}
			// The AUTOINCREMENT counter came along: the next id is 3 in both.
			if _, err := c.db.Exec(`INSERT INTO "odd ""name"" t"(v) VALUES ('c')`); err != nil {
				t.Fatal(err)
			}
			var id int
			var v string
			if err := c.db.QueryRow(`SELECT id, v FROM "odd ""name"" t" WHERE id = (SELECT max(id) FROM "odd ""name"" t")`).Scan(&id, &v); err != nil || id != 3 || v != "C" {
				t.Fatalf("after insert: id %d v %q %v (want 3, C: counter and trigger copied)", id, v, err)
			}
		})
	}
}

// dump is the schema and every table's rows (as text, sorted).
func dump(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	rows, err := db.Query("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, q string
		if err := rows.Scan(&typ, &name, &q); err != nil {
			t.Fatal(err)
		}
		out[typ+" "+name] = q
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tb := range tables {
		rs, err := db.Query("SELECT * FROM " + quoteIdent(tb))
		if err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		cols, _ := rs.Columns()
		var lines []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rs.Close()
		sort.Strings(lines)
		out["rows "+tb] = strings.Join(lines, "\n")
	}
	return out
}
