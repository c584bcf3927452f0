// Package sqlite is a store.HeaderDB on an SQLite file, through the pure-Go
// modernc.org/sqlite driver (no cgo).
//
// The database runs in WAL mode with a busy timeout, so several server
// processes on one machine may share the file: readers never block and
// writers queue for up to [BusyTimeout] before failing with
// store.ErrUnavailable. The file must be on a local file system; WAL does
// not work over network file systems.
//
// Open creates the schema, or migrates an older one, inside one write
// transaction, so processes starting together apply each migration once.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/migrate"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/rowcheck"
)

// BusyTimeout is how long a statement waits for another connection's or
// process's write lock.
const BusyTimeout = 10 * time.Second

// migrations[i] takes the schema from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE files (
		id               TEXT PRIMARY KEY NOT NULL,
		dataset          TEXT NOT NULL,
		name             TEXT NOT NULL,
		header           BLOB NOT NULL,
		key_id           TEXT NOT NULL,
		payload_key      TEXT NOT NULL,
		payload_size     INTEGER NOT NULL,
		plaintext_size   INTEGER NOT NULL,
		plaintext_sha256 TEXT NOT NULL,
		payload_sha256   TEXT NOT NULL,
		format           TEXT NOT NULL,
		index_key        TEXT NOT NULL,
		index_format     TEXT NOT NULL,
		meta             BLOB NOT NULL,
		created_at       INTEGER NOT NULL -- Unix microseconds
	);
	CREATE INDEX files_dataset_id ON files (dataset, id);
	CREATE INDEX files_payload_key ON files (payload_key);
	CREATE INDEX files_index_key ON files (index_key);`,
}

// DB is a HeaderDB on one SQLite file.
type DB struct {
	db   *sql.DB
	path string
}

var _ store.HeaderDB = (*DB)(nil)

// Open opens the database file at path, creating it (mode 0600) and its
// schema if needed.
func Open(path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Create the file ourselves so it is private from the start; SQLite
	// gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate") // transactions take the write lock up front
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	d := &DB{db: db, path: abs}
	if err := d.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// SchemaVersion is the schema version this package creates.
var SchemaVersion = len(migrations)

func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.mapErr(ctx, "starting migration", err)
	}
	defer tx.Rollback()
	schema := migrate.Schema{Table: "schema_version", Placeholder: "?", Where: "sqlite: " + d.path, Migrations: migrations}
	if err := migrate.Run(ctx, sqlTx{tx}, schema, func(doing string, err error) error { return d.mapErr(ctx, doing, err) }); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return d.mapErr(ctx, "committing migration", err)
	}
	return nil
}

// sqlTx adapts a database/sql transaction to migrate.Tx.
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, query, args...)
	return err
}

func (t sqlTx) Version(ctx context.Context, query string) (int, bool, error) {
	var v int
	err := t.tx.QueryRowContext(ctx, query).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

// mapErr wraps err with what was being done, and with ErrUnavailable or
// ctx.Err() when that is the cause.
func (d *DB) mapErr(ctx context.Context, doing string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlite: %s: %w: %w", doing, cerr, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL:
			return fmt.Errorf("sqlite: %s: %w: %w", doing, store.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", doing, err)
}

const columns = `id, dataset, name, header, key_id, payload_key, payload_size,
	plaintext_size, plaintext_sha256, payload_sha256, format, index_key,
	index_format, meta, created_at`

// Put implements store.HeaderDB.
func (d *DB) Put(ctx context.Context, f store.File) error {
	if err := rowcheck.File(f); err != nil {
		return err
	}
	res, err := d.db.ExecContext(ctx, `INSERT INTO files (`+columns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		f.ID, f.Dataset, f.Name, nonNil(f.Header), f.KeyID, f.PayloadKey, f.PayloadSize,
		f.PlaintextSize, f.PlaintextSHA256, f.PayloadSHA256, f.Format, f.IndexKey,
		f.IndexFormat, nonNil(f.Meta), rowcheck.CreatedAt(f.CreatedAt).UnixMicro())
	if err != nil {
		return d.mapErr(ctx, "inserting file", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.mapErr(ctx, "inserting file", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: file %q", store.ErrExists, f.ID)
	}
	return nil
}

// nonNil keeps nil slices out of NOT NULL columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type scanner interface{ Scan(dest ...any) error }

func scanFile(row scanner) (store.File, error) {
	var f store.File
	var created int64
	err := row.Scan(&f.ID, &f.Dataset, &f.Name, &f.Header, &f.KeyID, &f.PayloadKey,
		&f.PayloadSize, &f.PlaintextSize, &f.PlaintextSHA256, &f.PayloadSHA256,
		&f.Format, &f.IndexKey, &f.IndexFormat, &f.Meta, &created)
	f.CreatedAt = time.UnixMicro(created).UTC()
	return f, err
}

// Get implements store.HeaderDB.
func (d *DB) Get(ctx context.Context, id string) (store.File, error) {
	if err := store.ValidKey(id); err != nil {
		return store.File{}, err
	}
	f, err := scanFile(d.db.QueryRowContext(ctx, `SELECT `+columns+` FROM files WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.File{}, fmt.Errorf("%w: file %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.File{}, d.mapErr(ctx, "reading file", err)
	}
	return f, nil
}

// List implements store.HeaderDB. SQLite compares TEXT with memcmp, which
// is Go's string order.
func (d *DB) List(ctx context.Context, dataset, after string, limit int) ([]store.File, error) {
	if err := rowcheck.ListArgs(dataset, after, limit); err != nil {
		return nil, err
	}
	var rows *sql.Rows
	var err error
	if dataset == "" {
		rows, err = d.db.QueryContext(ctx, `SELECT `+columns+` FROM files
			WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	} else {
		rows, err = d.db.QueryContext(ctx, `SELECT `+columns+` FROM files
			WHERE dataset = ? AND id > ? ORDER BY id LIMIT ?`, dataset, after, limit)
	}
	if err != nil {
		return nil, d.mapErr(ctx, "listing files", err)
	}
	defer rows.Close()
	out, err := rowcheck.Collect(rows, func(r rowcheck.Rows) (store.File, error) { return scanFile(r) })
	if err != nil {
		return nil, d.mapErr(ctx, "listing files", err)
	}
	return out, nil
}

// UpdateHeader implements store.HeaderDB.
func (d *DB) UpdateHeader(ctx context.Context, id string, header []byte, keyID string) error {
	if err := rowcheck.UpdateArgs(id, keyID); err != nil {
		return err
	}
	res, err := d.db.ExecContext(ctx, `UPDATE files SET header = ?, key_id = ? WHERE id = ?`,
		nonNil(header), keyID, id)
	return d.oneRow(ctx, "updating header", id, res, err)
}

// Delete implements store.HeaderDB.
func (d *DB) Delete(ctx context.Context, id string) error {
	if err := store.ValidKey(id); err != nil {
		return err
	}
	res, err := d.db.ExecContext(ctx, `DELETE FROM files WHERE id = ?`, id)
	return d.oneRow(ctx, "deleting file", id, res, err)
}

func (d *DB) oneRow(ctx context.Context, doing, id string, res sql.Result, err error) error {
	if err != nil {
		return d.mapErr(ctx, doing, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.mapErr(ctx, doing, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: file %q", store.ErrNotFound, id)
	}
	return nil
}

// ReferencesObject implements store.HeaderDB.
func (d *DB) ReferencesObject(ctx context.Context, key string) (bool, error) {
	if err := store.ValidKey(key); err != nil {
		return false, err
	}
	var found bool
	err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE payload_key = ?)
		OR EXISTS (SELECT 1 FROM files WHERE index_key = ?)`, key, key).Scan(&found)
	if err != nil {
		return false, d.mapErr(ctx, "looking up object references", err)
	}
	return found, nil
}

// Ping implements store.HeaderDB.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.db.QueryRowContext(ctx, `SELECT 1 FROM schema_version`).Scan(&one); err != nil {
		err = d.mapErr(ctx, "ping", err)
		if !errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// Close implements store.HeaderDB.
func (d *DB) Close() error { return d.db.Close() }
