// Package rowcheck holds the input checks every HeaderDB implementation
// makes before touching its database, so they refuse the same rows.
package rowcheck

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// File checks the fields of a row for Put.
func File(f store.File) error {
	if err := store.ValidKey(f.ID); err != nil {
		return fmt.Errorf("file id: %w", err)
	}
	if f.PayloadKey != "" {
		if err := store.ValidKey(f.PayloadKey); err != nil {
			return fmt.Errorf("payload key: %w", err)
		}
	}
	if f.IndexKey != "" {
		if err := store.ValidKey(f.IndexKey); err != nil {
			return fmt.Errorf("index key: %w", err)
		}
	}
	if f.PayloadSize < 0 || f.PlaintextSize < 0 {
		return fmt.Errorf("store: file %q has a negative size", f.ID)
	}
	// Text columns hold UTF-8 without NUL in every database (PostgreSQL
	// refuses anything else), so refuse it in all of them alike.
	for name, v := range map[string]string{
		"Dataset": f.Dataset, "Name": f.Name, "KeyID": f.KeyID,
		"PlaintextSHA256": f.PlaintextSHA256, "PayloadSHA256": f.PayloadSHA256,
		"Format": f.Format, "IndexFormat": f.IndexFormat,
	} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return fmt.Errorf("store: file %q: %s is not UTF-8 text without NUL", f.ID, name)
		}
	}
	return nil
}

// Text checks a free-text argument such as a key id or a dataset.
func Text(name, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return fmt.Errorf("store: %s is not UTF-8 text without NUL", name)
	}
	return nil
}

// Limit checks a List limit.
func Limit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("store: List limit %d, want at least 1", limit)
	}
	return nil
}

// CreatedAt returns the creation time Put stores: the given one, or now,
// in UTC to the microsecond (the precision both databases keep).
func CreatedAt(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ListArgs checks the arguments of List.
func ListArgs(dataset, after string, limit int) error {
	if err := Limit(limit); err != nil {
		return err
	}
	if err := Text("dataset", dataset); err != nil {
		return err
	}
	return Text("after", after)
}

// UpdateArgs checks the arguments of UpdateHeader.
func UpdateArgs(id, keyID string) error {
	if err := store.ValidKey(id); err != nil {
		return err
	}
	return Text("key id", keyID)
}

// Rows is what both database drivers' result sets offer (pgx.Rows and
// *sql.Rows).
type Rows interface {
	Next() bool
	Err() error
	Scan(dest ...any) error
}

// Collect scans every row of rows with scan. The caller closes rows and
// maps the error to its driver's classes.
func Collect(rows Rows, scan func(Rows) (store.File, error)) ([]store.File, error) {
	var out []store.File
	for rows.Next() {
		f, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
