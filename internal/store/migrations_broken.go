//go:build dictum_brokenmigration

package store

// Built only with `-tags dictum_brokenmigration`, by scripts/test-deb.sh, to make a
// deliberately broken "newer" package: its first extra migration succeeds and its second
// fails, so an upgrade stops half-way with the database at a schema the previous version
// refuses. That is the case the package's rollback (restore the pre-upgrade backup) must
// handle. No release build carries this tag.
func init() {
	migrations = append(migrations,
		`CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY);`,
		`INSERT INTO deliberately_missing_table VALUES (1);`,
	)
}
