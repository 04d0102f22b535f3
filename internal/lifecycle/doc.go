// Package lifecycle keeps a firm's data for years: encrypted backups with restore drills
// (backup*.go, restore*.go), the retention window with its 30-day grace and purge
// (retention*.go), and ZIP archives of a firm, a matter or a user (archive*.go). Each part
// is its own service type built from explicit dependencies; web, the CLI and the
// scheduler call them alike.
package lifecycle
