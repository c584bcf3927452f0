// Package migrate brings a SQL HeaderDB's schema up to date the same way
// for every implementation: in one transaction, a one-row table records
// the version reached, and the migrations after it are applied in order.
package migrate

import (
	"context"
	"fmt"
)

// Tx is the part of an open transaction Run needs.
type Tx interface {
	// Exec runs a statement.
	Exec(ctx context.Context, query string, args ...any) error
	// Version reads the one value of query, reporting found = false when
	// it returns no row.
	Version(ctx context.Context, query string) (version int, found bool, err error)
}

// Schema describes one implementation's schema.
type Schema struct {
	// Table is the name of the version table.
	Table string
	// Placeholder is the driver's first bind parameter ("$1" or "?").
	Placeholder string
	// Where names the database in errors, such as "sqlite: /path".
	Where string
	// Migrations are the statements taking version i to i+1.
	Migrations []string
}

// Run applies the migrations tx's database lacks and records the new
// version; the caller commits. A database at a version newer than
// len(s.Migrations) is refused. fail wraps a driver error with what was
// being done.
func Run(ctx context.Context, tx Tx, s Schema, fail func(doing string, err error) error) error {
	if err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.Table+` (version INTEGER NOT NULL)`); err != nil {
		return fail("creating "+s.Table, err)
	}
	version, found, err := tx.Version(ctx, `SELECT version FROM `+s.Table)
	if err != nil {
		return fail("reading "+s.Table, err)
	}
	if !found {
		if err := tx.Exec(ctx, `INSERT INTO `+s.Table+` (version) VALUES (0)`); err != nil {
			return fail("initialising "+s.Table, err)
		}
	}
	if version > len(s.Migrations) {
		return fmt.Errorf("%s has schema version %d, newer than this program's %d", s.Where, version, len(s.Migrations))
	}
	for v := version; v < len(s.Migrations); v++ {
		if err := tx.Exec(ctx, s.Migrations[v]); err != nil {
			return fail(fmt.Sprintf("migrating schema to version %d", v+1), err)
		}
	}
	if err := tx.Exec(ctx, `UPDATE `+s.Table+` SET version = `+s.Placeholder, len(s.Migrations)); err != nil {
		return fail("updating "+s.Table, err)
	}
	return nil
}
