// Package postgres is a store.HeaderDB on PostgreSQL, through pgx's
// connection pool, for archives served by several server processes.
//
// Open creates the schema, or migrates an older one, in one transaction
// holding a PostgreSQL advisory lock, so server processes starting at the
// same time apply each migration exactly once. The tables live in the
// first schema of the connection's search_path (set it with the DSN
// parameter search_path=NAME to share a database with other programs).
//
// Errors never contain the DSN's password: failures to reach the server
// are reported as store.ErrUnavailable with the driver's message, password
// removed, and without wrapping the driver's error values (which carry the
// connection configuration).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/migrate"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/rowcheck"
)

// migrations[i] takes the schema from version i to i+1. Append only.
//
// Keys and ids use the "C" collation so ORDER BY is bytewise, as the
// contract requires, whatever the database's locale. Meta is bytea, not
// jsonb, so it comes back byte for byte.
var migrations = []string{
	`CREATE TABLE c4gh_files (
		id               text COLLATE "C" PRIMARY KEY,
		dataset          text COLLATE "C" NOT NULL,
		name             text NOT NULL,
		header           bytea NOT NULL,
		key_id           text NOT NULL,
		payload_key      text COLLATE "C" NOT NULL,
		payload_size     bigint NOT NULL CHECK (payload_size >= 0),
		plaintext_size   bigint NOT NULL CHECK (plaintext_size >= 0),
		plaintext_sha256 text NOT NULL,
		payload_sha256   text NOT NULL,
		format           text NOT NULL,
		index_key        text COLLATE "C" NOT NULL,
		index_format     text NOT NULL,
		meta             bytea NOT NULL,
		created_at       timestamptz NOT NULL
	);
	CREATE INDEX c4gh_files_dataset_id ON c4gh_files (dataset, id);
	CREATE INDEX c4gh_files_payload_key ON c4gh_files (payload_key);
	CREATE INDEX c4gh_files_index_key ON c4gh_files (index_key);`,
}

// SchemaVersion is the schema version this package creates.
var SchemaVersion = len(migrations)

// migrationLock is the advisory lock key taken while migrating: the first
// eight bytes of "c4ghstor".
const migrationLock int64 = 0x6334676873746f72

// DB is a HeaderDB on a PostgreSQL database.
type DB struct {
	pool     *pgxpool.Pool
	secrets  []string // forms of the password to scrub from messages
	hostDesc string   // user@host:port/db, for messages
}

var _ store.HeaderDB = (*DB)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, as libpq accepts) and brings its schema up to date.
// If the server cannot be reached Open fails with store.ErrUnavailable;
// callers may retry.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parser's message quotes the DSN with the password masked on
		// a best-effort basis only, so none of it is repeated here.
		return nil, errors.New("postgres: cannot parse the DSN (not shown: it may contain a password)")
	}
	cc := cfg.ConnConfig
	d := &DB{hostDesc: fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)}
	if pw := cc.Password; pw != "" {
		d.secrets = []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]}
	}
	// A connection that sat idle across a server restart is checked
	// before use (pgxpool pings connections idle for over a second), so
	// the first request after a restart does not fail on a dead socket.
	cfg.HealthCheckPeriod = 15 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, d.mapErr(ctx, "connecting", err)
	}
	d.pool = pool
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return d.mapErr(ctx, "starting migration", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Held until commit or rollback, also if this process dies.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return d.mapErr(ctx, "taking the migration lock", err)
	}
	schema := migrate.Schema{Table: "c4gh_schema_version", Placeholder: "$1", Where: "postgres: " + d.hostDesc, Migrations: migrations}
	if err := migrate.Run(ctx, pgxTx{tx}, schema, func(doing string, err error) error { return d.mapErr(ctx, doing, err) }); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return d.mapErr(ctx, "committing migration", err)
	}
	return nil
}

// pgxTx adapts a pgx transaction to migrate.Tx.
type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.Exec(ctx, query, args...)
	return err
}

func (t pgxTx) Version(ctx context.Context, query string) (int, bool, error) {
	var v int
	err := t.tx.QueryRow(ctx, query).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

// mapErr turns a driver error into one of ours. It wraps ctx.Err() when
// the context ended, store.ErrUnavailable when the server could not be
// reached, and a *pgconn.PgError (server-side text, no password) so
// callers can read its SQLSTATE. Any other driver error is reduced to its
// scrubbed message.
func (d *DB) mapErr(ctx context.Context, doing string, err error) error {
	msg := d.scrub(err.Error())
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %s: %w (%s)", doing, cerr, msg)
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s on %s: %w: %s", doing, d.hostDesc, store.ErrUnavailable, msg)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("postgres: %s: %w", doing, pe)
	}
	return fmt.Errorf("postgres: %s: %s", doing, msg)
}

func (d *DB) scrub(s string) string {
	for _, secret := range d.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	return s
}

// unavailable reports whether err means the server could not be reached
// or went away, as opposed to refusing a statement.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources (too many connections, disk full)
			pe.Code == "57P01",               // admin shutdown
			pe.Code == "57P02",               // crash shutdown
			pe.Code == "57P03",               // cannot connect now (starting up)
			pe.Code == "28P01",               // password authentication failed
			pe.Code == "28000":               // invalid authorization
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "conn closed")
}

const columns = `id, dataset, name, header, key_id, payload_key, payload_size,
	plaintext_size, plaintext_sha256, payload_sha256, format, index_key,
	index_format, meta, created_at`

// Put implements store.HeaderDB.
func (d *DB) Put(ctx context.Context, f store.File) error {
	if err := rowcheck.File(f); err != nil {
		return err
	}
	tag, err := d.pool.Exec(ctx, `INSERT INTO c4gh_files (`+columns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO NOTHING`,
		f.ID, f.Dataset, f.Name, nonNil(f.Header), f.KeyID, f.PayloadKey, f.PayloadSize,
		f.PlaintextSize, f.PlaintextSHA256, f.PayloadSHA256, f.Format, f.IndexKey,
		f.IndexFormat, nonNil(f.Meta), rowcheck.CreatedAt(f.CreatedAt))
	if err != nil {
		return d.mapErr(ctx, "inserting file", err)
	}
	if tag.RowsAffected() == 0 {
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

func scanFile(row pgx.Row) (store.File, error) {
	var f store.File
	err := row.Scan(&f.ID, &f.Dataset, &f.Name, &f.Header, &f.KeyID, &f.PayloadKey,
		&f.PayloadSize, &f.PlaintextSize, &f.PlaintextSHA256, &f.PayloadSHA256,
		&f.Format, &f.IndexKey, &f.IndexFormat, &f.Meta, &f.CreatedAt)
	f.CreatedAt = f.CreatedAt.UTC()
	return f, err
}

// Get implements store.HeaderDB.
func (d *DB) Get(ctx context.Context, id string) (store.File, error) {
	if err := store.ValidKey(id); err != nil {
		return store.File{}, err
	}
	f, err := scanFile(d.pool.QueryRow(ctx, `SELECT `+columns+` FROM c4gh_files WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.File{}, fmt.Errorf("%w: file %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.File{}, d.mapErr(ctx, "reading file", err)
	}
	return f, nil
}

// List implements store.HeaderDB.
func (d *DB) List(ctx context.Context, dataset, after string, limit int) ([]store.File, error) {
	if err := rowcheck.ListArgs(dataset, after, limit); err != nil {
		return nil, err
	}
	var rows pgx.Rows
	var err error
	if dataset == "" {
		rows, err = d.pool.Query(ctx, `SELECT `+columns+` FROM c4gh_files
			WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	} else {
		rows, err = d.pool.Query(ctx, `SELECT `+columns+` FROM c4gh_files
			WHERE dataset = $1 AND id > $2 ORDER BY id LIMIT $3`, dataset, after, limit)
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
	tag, err := d.pool.Exec(ctx, `UPDATE c4gh_files SET header = $1, key_id = $2 WHERE id = $3`,
		nonNil(header), keyID, id)
	return d.oneRow(ctx, "updating header", id, tag, err)
}

// Delete implements store.HeaderDB.
func (d *DB) Delete(ctx context.Context, id string) error {
	if err := store.ValidKey(id); err != nil {
		return err
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM c4gh_files WHERE id = $1`, id)
	return d.oneRow(ctx, "deleting file", id, tag, err)
}

func (d *DB) oneRow(ctx context.Context, doing, id string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return d.mapErr(ctx, doing, err)
	}
	if tag.RowsAffected() == 0 {
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
	err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM c4gh_files WHERE payload_key = $1)
		OR EXISTS (SELECT 1 FROM c4gh_files WHERE index_key = $1)`, key).Scan(&found)
	if err != nil {
		return false, d.mapErr(ctx, "looking up object references", err)
	}
	return found, nil
}

// Ping implements store.HeaderDB: it runs a query, which (unlike a bare
// connection check) also proves the server accepts work.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		err = d.mapErr(ctx, "ping", err)
		if !errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// Close implements store.HeaderDB.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}
