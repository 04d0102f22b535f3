package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; the schema version is the number applied
// (PRAGMA user_version). Never edit an applied migration: append a new one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE firm_settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
	display_name  TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL CHECK (role IN ('timekeeper','billing','admin')),
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	must_change_password INTEGER NOT NULL DEFAULT 0,
	rate_cents    INTEGER,
	timekeeper_id TEXT NOT NULL DEFAULT '',
	classification TEXT NOT NULL DEFAULT '',
	totp_secret   BLOB,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);
CREATE TABLE sessions (
	id_hash      BLOB PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	csrf         TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL DEFAULT '',
	token_hash   BLOB NOT NULL UNIQUE,
	prefix       TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);
CREATE TABLE clients (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
	clio_id    INTEGER,
	created_at TEXT NOT NULL
);
CREATE TABLE matters (
	id            TEXT PRIMARY KEY,
	number        TEXT NOT NULL UNIQUE,
	client_id     TEXT NOT NULL REFERENCES clients(id),
	name          TEXT NOT NULL,
	status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
	litigation    INTEGER NOT NULL DEFAULT 0,
	rate_cents    INTEGER,
	ledes_enabled INTEGER NOT NULL DEFAULT 0,
	clio_id       INTEGER,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);
CREATE TABLE recordings (
	id           TEXT PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id),
	blob_id      TEXT,
	content_type TEXT NOT NULL DEFAULT '',
	format       TEXT NOT NULL DEFAULT '',
	size_bytes   INTEGER NOT NULL DEFAULT 0,
	duration_ms  INTEGER NOT NULL DEFAULT 0,
	status       TEXT NOT NULL CHECK (status IN ('queued','transcribing','drafting','done','failed')),
	status_detail TEXT NOT NULL DEFAULT '',
	progress     INTEGER NOT NULL DEFAULT 0,
	transcript   TEXT,
	segments     TEXT,
	error        TEXT,
	entry_id     TEXT,
	audio_deleted_at TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE INDEX recordings_user ON recordings(user_id, created_at);
CREATE TABLE entries (
	id           TEXT PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id),
	recording_id TEXT REFERENCES recordings(id),
	matter_id    TEXT REFERENCES matters(id),
	date         TEXT NOT NULL,
	tenths       INTEGER NOT NULL DEFAULT 0,
	activity     TEXT NOT NULL DEFAULT '',
	task         TEXT,
	narrative    TEXT NOT NULL DEFAULT '',
	billable     INTEGER NOT NULL DEFAULT 1,
	confidence   REAL,
	warnings     TEXT NOT NULL DEFAULT '[]',
	engine       TEXT NOT NULL DEFAULT 'manual',
	status       TEXT NOT NULL CHECK (status IN ('draft','approved','exported','synced')),
	deleted_at   TEXT,
	approved_at  TEXT,
	exported_at  TEXT,
	export_id    TEXT,
	clio_id      INTEGER,
	clio_state   TEXT,
	clio_error   TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE INDEX entries_user_status ON entries(user_id, status, date);
CREATE INDEX entries_status_date ON entries(status, date);
CREATE INDEX entries_matter ON entries(matter_id, date);
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	ref          TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 3,
	last_error   TEXT NOT NULL DEFAULT '',
	run_after    TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	started_at   TEXT,
	finished_at  TEXT
);
CREATE INDEX jobs_queue ON jobs(status, run_after, id);
CREATE TABLE audit_events (
	id          INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	actor       TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL DEFAULT '',
	object_id   TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '{}',
	ip          TEXT NOT NULL DEFAULT '',
	prev_hash   BLOB,
	hash        BLOB
);
CREATE INDEX audit_object ON audit_events(object_type, object_id);
`,
	// 2: kept exports, and the Clio connection and sync ledger.
	`
CREATE TABLE exports (
	id          TEXT PRIMARY KEY,
	format      TEXT NOT NULL CHECK (format IN ('csv','ledes')),
	params      TEXT NOT NULL DEFAULT '{}',
	entry_ids   TEXT NOT NULL DEFAULT '[]',
	entry_count INTEGER NOT NULL DEFAULT 0,
	tenths      INTEGER NOT NULL DEFAULT 0,
	marked      INTEGER NOT NULL DEFAULT 0,
	blob_id     TEXT NOT NULL,
	size_bytes  INTEGER NOT NULL DEFAULT 0,
	filename    TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE TABLE clio_connection (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	region        TEXT NOT NULL,
	token_blob    BLOB,
	connected_by  TEXT NOT NULL DEFAULT '',
	connected_at  TEXT,
	last_sync_at  TEXT,
	last_error    TEXT NOT NULL DEFAULT ''
);
ALTER TABLE users ADD COLUMN clio_user_id INTEGER;
ALTER TABLE entries ADD COLUMN clio_intent_at TEXT;
CREATE INDEX entries_clio ON entries(status, clio_state);
`,
	// 3: two-factor authentication.
	`
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0;
`,
	// 4: idempotent uploads (a browser retrying after a lost answer gets the same recording).
	`
ALTER TABLE recordings ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX recordings_idem ON recordings(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
`,
	// archives: ZIP archive jobs (kept as encrypted blobs until they expire), and the
	// indexes of the auditors' filters (per actor, per action).
	`
CREATE TABLE archives (
	id              TEXT PRIMARY KEY,
	scope           TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','expired')),
	progress        INTEGER NOT NULL DEFAULT 0,
	error           TEXT NOT NULL DEFAULT '',
	blob_id         TEXT,
	size_bytes      INTEGER NOT NULL DEFAULT 0,
	sha256          TEXT NOT NULL DEFAULT '',
	files           INTEGER NOT NULL DEFAULT 0,
	requested_by    TEXT NOT NULL,
	requested_by_id INTEGER NOT NULL DEFAULT 0,
	created_at      TEXT NOT NULL,
	started_at      TEXT,
	finished_at     TEXT,
	expires_at      TEXT
);
CREATE INDEX archives_status ON archives(status, expires_at);
CREATE INDEX archives_requester ON archives(requested_by_id, created_at);
CREATE INDEX audit_actor ON audit_events(actor COLLATE NOCASE, id);
CREATE INDEX audit_action ON audit_events(action, id);
`,
	// API token expiry (NULL: never) and the persisted second-factor failure counter,
	// so a restart does not reset a 2FA lockout.
	`
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE users ADD COLUMN twofa_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN twofa_locked_until TEXT;
`,
	// backups: one row per backup, verify or restore-drill run (see backups.go).
	`
CREATE TABLE backup_runs (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('backup','verify','drill')),
	file        TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL CHECK (status IN ('running','ok','failed')),
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	size_bytes  INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '{}',
	actor       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_kind ON backup_runs(kind, started_at);
CREATE INDEX backup_runs_file ON backup_runs(file, kind);
`,
	// retention: when a matter was closed, soft deletes of matters with their recordings
	// and exports (deleted_with names the matter whose retention deleted the row, so a
	// restore brings back exactly those), and the purge's to-do list (blobs to remove after
	// the rows' transaction committed, a pending free-page clearing) that survives a crash.
	// A matter closed before this migration counts as closed at its last update.
	`
ALTER TABLE matters ADD COLUMN closed_at TEXT;
ALTER TABLE matters ADD COLUMN deleted_at TEXT;
ALTER TABLE matters ADD COLUMN retention_restored_at TEXT;
UPDATE matters SET closed_at = updated_at WHERE status = 'closed';
ALTER TABLE entries ADD COLUMN deleted_with TEXT;
ALTER TABLE recordings ADD COLUMN deleted_at TEXT;
ALTER TABLE recordings ADD COLUMN deleted_with TEXT;
ALTER TABLE exports ADD COLUMN deleted_at TEXT;
ALTER TABLE exports ADD COLUMN deleted_with TEXT;
CREATE INDEX entries_deleted ON entries(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX entries_recording ON entries(recording_id) WHERE recording_id IS NOT NULL;
CREATE TABLE purge_pending (
	kind      TEXT NOT NULL CHECK (kind IN ('blob','vacuum')),
	ref       TEXT NOT NULL,
	queued_at TEXT NOT NULL,
	PRIMARY KEY (kind, ref)
);
`,
	// ebilling: per-client e-billing profiles (LEDES client id, required codes, code set,
	// invoice description), the client's own matter id, timekeeper names and per-client
	// rates and ids, a client's custom code set, and the invoice numbers already used.
	`
ALTER TABLE clients ADD COLUMN ledes_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN ebilling INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN required_codes TEXT NOT NULL DEFAULT 'both' CHECK (required_codes IN ('task','activity','both','none'));
ALTER TABLE clients ADD COLUMN code_set TEXT NOT NULL DEFAULT 'utbms-litigation' CHECK (code_set IN ('utbms-litigation','custom'));
ALTER TABLE clients ADD COLUMN invoice_description TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE matters ADD COLUMN client_matter_id TEXT NOT NULL DEFAULT '';
CREATE TABLE client_codes (
	client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('task','activity')),
	code        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (client_id, kind, code)
);
CREATE TABLE timekeeper_names (
	user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	first_name TEXT NOT NULL DEFAULT '',
	last_name  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE client_timekeepers (
	client_id     TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	rate_cents    INTEGER,
	timekeeper_id TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (client_id, user_id)
);
CREATE TABLE invoices (
	client_id  TEXT NOT NULL,
	number     TEXT NOT NULL,
	export_id  TEXT NOT NULL,
	matter_id  TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (client_id, number)
);
CREATE INDEX invoices_number ON invoices(number);
`,
	// dictation-2: several entries from one dictation (each keeps its span of the
	// transcript and its place in spoken order).
	`
ALTER TABLE entries ADD COLUMN source_span TEXT;
ALTER TABLE entries ADD COLUMN source_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX entries_recording_seq ON entries(recording_id, source_seq);
`,
	// dictation-2: aliases, the phrases that name a matter (or an activity) for one
	// lawyer (scope user) or for the whole firm (scope firm, user_id 0), typed or learned
	// from corrections.
	`
CREATE TABLE aliases (
	id         TEXT PRIMARY KEY,
	scope      TEXT NOT NULL CHECK (scope IN ('user','firm')),
	user_id    INTEGER NOT NULL DEFAULT 0,
	kind       TEXT NOT NULL DEFAULT 'matter' CHECK (kind IN ('matter','activity')),
	phrase     TEXT NOT NULL,
	matter_id  TEXT REFERENCES matters(id),
	activity   TEXT NOT NULL DEFAULT '',
	source     TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','learned')),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	CHECK ((kind = 'matter' AND matter_id IS NOT NULL AND activity = '') OR (kind = 'activity' AND matter_id IS NULL AND activity <> '')),
	UNIQUE (scope, user_id, kind, phrase)
);
CREATE INDEX aliases_user ON aliases(user_id, scope);
`,
	// directory: users who sign in with the firm's Active Directory / LDAP. The account
	// row stays a normal user (entries, audit, roles); this side table says where it
	// comes from, so the leaver sync knows whom to check.
	`
CREATE TABLE directory_users (
	user_id    INTEGER PRIMARY KEY REFERENCES users(id),
	dn         TEXT NOT NULL,
	email      TEXT NOT NULL DEFAULT '',
	-- 1 while the account is disabled because the leaver sync found it gone, disabled or
	-- groupless: a later directory sign-in that passes every check enables it again. An
	-- admin's own disable (or enable) clears it, so that one sticks.
	disabled_by_sync INTEGER NOT NULL DEFAULT 0,
	linked_at  TEXT NOT NULL,
	synced_at  TEXT NOT NULL
);
`,
	// matter-access: ethical walls (restricted matters with members, screened users) and
	// client share links (token stored as its SHA-256 only). Rows go with their matter.
	`
CREATE TABLE matter_access (
	matter_id  TEXT PRIMARY KEY REFERENCES matters(id) ON DELETE CASCADE,
	restricted INTEGER NOT NULL DEFAULT 0,
	reason     TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE TABLE matter_walls (
	matter_id TEXT NOT NULL REFERENCES matters(id) ON DELETE CASCADE,
	user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind      TEXT NOT NULL CHECK (kind IN ('member','screened')),
	PRIMARY KEY (matter_id, user_id)
);
CREATE INDEX matter_walls_user ON matter_walls(user_id, kind);
CREATE TABLE share_links (
	id           TEXT PRIMARY KEY,
	matter_id    TEXT NOT NULL REFERENCES matters(id) ON DELETE CASCADE,
	token_hash   BLOB NOT NULL UNIQUE,
	token_last4  TEXT NOT NULL,
	label        TEXT NOT NULL DEFAULT '',
	date_from    TEXT NOT NULL,
	date_to      TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	revoked_at   TEXT,
	last_used_at TEXT,
	views        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX share_links_matter ON share_links(matter_id);
`,
	// scale-out: a fair queue. claim_seq orders claims, so the next job goes to the
	// lawyer served least recently (one lawyer's 40 uploads don't starve another's one).
	`
ALTER TABLE jobs ADD COLUMN claim_seq INTEGER;
CREATE INDEX jobs_ref ON jobs(ref, kind);
`,
}

// SchemaVersion is the version this binary migrates to.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context, apply bool) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w: the database is at schema version %d, this dictum knows up to %d (a downgrade?): install the newer dictum again or restore a backup taken before the upgrade; nothing was changed", ErrSchemaTooNew, v, len(migrations))
	}
	if !apply {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
				return fmt.Errorf("migration %d: set version: %w", i+1, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Version reports the database's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}
