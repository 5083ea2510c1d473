package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"syscall"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver (pure Go)
)

// dbName is the state's database, beside its -wal and -shm files.
const dbName = "state.db"

// busyTimeout is how long a statement waits for another process's write
// transaction (the daemon and a CLI command reading versions) before it
// fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// migrations build the schema: migrations[i] takes the database from
// schema version i to i+1, in one transaction that also records the new
// version in schema_version. Append only: a released step never changes.
// docs/store.md describes the tables.
var migrations = []string{
	// 1: samples, classes, bursts, model versions and their metrics,
	// runtime settings, and a key/value table for single values.
	`CREATE TABLE classes (
		id   INTEGER PRIMARY KEY,  -- creation order
		name TEXT NOT NULL UNIQUE
	);
	CREATE TABLE bursts (
		id      INTEGER PRIMARY KEY, -- one recording: a button hold, a capture, a dataset add
		created TEXT NOT NULL        -- RFC 3339, UTC
	);
	CREATE TABLE samples (
		seq      INTEGER PRIMARY KEY, -- insertion order
		id       TEXT NOT NULL UNIQUE CHECK (length(id) = 32), -- hex content hash: samples/img/<id>.png
		class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
		time     TEXT NOT NULL,      -- RFC 3339, UTC
		source   TEXT NOT NULL DEFAULT '',
		burst    INTEGER NOT NULL REFERENCES bursts(id),
		orig     TEXT NOT NULL DEFAULT '' -- file under samples/orig/, '' when none was kept
	);
	CREATE INDEX samples_class ON samples(class_id);
	CREATE INDEX samples_burst ON samples(burst);
	CREATE TABLE versions (
		name            TEXT PRIMARY KEY CHECK (name GLOB 'v[0-9][0-9][0-9][0-9][0-9][0-9]'),
		created         TEXT NOT NULL,
		kind            TEXT NOT NULL CHECK (kind IN ('head', 'tflite')),
		labels          TEXT NOT NULL, -- JSON array, in output order
		backbone_hash   TEXT NOT NULL,
		backbone_file   TEXT NOT NULL, -- relative to the state directory
		backbone_source TEXT NOT NULL DEFAULT '',
		samples         INTEGER NOT NULL DEFAULT 0,
		source          TEXT NOT NULL DEFAULT '',
		accuracy        REAL,          -- report.final.accuracy, NULL without a report
		accuracy_on     TEXT,          -- 'validation' or 'training'
		meta            TEXT NOT NULL  -- the whole description as JSON (config, report, unknown rule, timings)
	);
	CREATE TABLE version_metrics (
		version  TEXT NOT NULL REFERENCES versions(name) ON DELETE CASCADE,
		class    TEXT NOT NULL,
		support  INTEGER NOT NULL,
		correct  INTEGER NOT NULL,
		accuracy REAL NOT NULL,
		PRIMARY KEY (version, class)
	);
	CREATE TABLE settings (
		key   TEXT PRIMARY KEY, -- threshold, window, teach
		value TEXT NOT NULL     -- JSON
	);
	CREATE TABLE meta (
		key   TEXT PRIMARY KEY, -- current_version, migrated_samples, migrated_models, ...
		value TEXT NOT NULL
	);`,
	// 2: the review queue of unsure frames (review.go): one row per item,
	// the item as JSON; ids sort by time. A fleet-adopted version's origin
	// lives in its versions.meta JSON ("origin").
	`CREATE TABLE review (
		id   TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64), -- review/<id>.png
		item TEXT NOT NULL -- JSON: time, reason, label, previous, classes, scores, model_version
	);`,
}

// openDB opens (creating) the state database of a state directory and
// brings its schema up to date. WAL mode with synchronous=FULL: a
// committed transaction survives a power cut. Foreign keys are enforced.
// One connection: the store serialises its own statements, and another
// process waits up to busyTimeout for a write lock.
func openDB(stateDir string) (*sql.DB, error) {
	if stateDir == "" {
		return nil, errors.New("store: open database: no state directory")
	}
	path := filepath.Join(stateDir, dbName)
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return db, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction. A database from a newer alphad is refused.
func migrate(db *sql.DB) error {
	// Up to date: a plain read, no write lock (readers such as `alphad
	// classify` open the database beside the daemon).
	var v int
	if err := db.QueryRow(`SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err == nil && v == len(migrations) {
		return nil
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		applied TEXT NOT NULL
	)`); err != nil {
		return diskFull(fmt.Errorf("schema: %w", err))
	}
	for {
		done, err := migrateOne(db)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(db *sql.DB) (done bool, err error) {
	err = inTx(db, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRow(`SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this alphad knows (%d): upgrade alphad", v, len(migrations))
		}
		if v == len(migrations) {
			done = true
			return nil
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			return fmt.Errorf("schema migration %d: %w", v+1, err)
		}
		_, err := tx.Exec(`INSERT INTO schema_version (version, applied) VALUES (?, ?)`, v+1, time.Now().UTC().Format(time.RFC3339))
		return err
	})
	return done, err
}

// sqliteFull is SQLite's SQLITE_FULL result code (the disk is full).
const sqliteFull = 13

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it
// when fn returns nil.
func inTx(db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		return diskFull(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return diskFull(err)
	}
	return diskFull(tx.Commit())
}

// diskFull makes SQLite's "database or disk is full" match
// syscall.ENOSPC, like a failed file write on a full disk.
func diskFull(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return fmt.Errorf("%w (%w)", err, syscall.ENOSPC)
	}
	return err
}

// metaValue reads a meta key ("" and no error when unset).
func metaValue(q interface {
	QueryRow(string, ...any) *sql.Row
}, key string) (string, error) {
	var v string
	err := q.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMeta(tx *sql.Tx, key, value string) error {
	_, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// formatTime and parseTime are how times are kept: RFC 3339 in UTC with
// up to nanoseconds, so text order is time order for the same precision.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
