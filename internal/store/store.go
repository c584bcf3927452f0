// Package store defines the two storage contracts of the archive server:
// the header database, which holds each file's Crypt4GH header sealed to
// the archive key and its metadata, and the object store, which holds the
// encrypted payload segments and the encrypted plaintext indexes.
//
// Every implementation (sqlite, postgres, localfs, s3) passes the same
// conformance suite in package storetest; the contracts below are what
// that suite checks.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

var (
	// ErrNotFound: no file row / no object under that id or key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Put of a file id that is already registered.
	ErrExists = errors.New("store: already exists")
	// ErrUnavailable wraps failures to reach the backing service
	// (connection refused, timeout). The server answers 503 for it and
	// retries on the next request; it is never cached.
	ErrUnavailable = errors.New("store: backend unavailable")
	// ErrInvalidKey: an object key or file id that the contract forbids
	// (empty, absolute, "..", backslash, NUL, over 512 bytes).
	ErrInvalidKey = errors.New("store: invalid key")
)

// File is one archived file: a row in the header database.
type File struct {
	ID      string // stable identifier (the DRS object id)
	Dataset string // the dataset grants are given for
	Name    string // a display name, e.g. the original file name

	// Header is the serialized Crypt4GH header, sealed to the archive key
	// identified by KeyID (a crypt4gh.KeyID of the archive public key).
	Header []byte
	KeyID  string

	PayloadKey    string // object-store key of the payload (segments only)
	PayloadSize   int64  // bytes of PayloadKey
	PlaintextSize int64
	// Hex SHA-256 of the plaintext and of the payload object.
	PlaintextSHA256 string
	PayloadSHA256   string

	Format      string // "BAM", "CRAM", "VCF", "BCF" or "" (opaque)
	IndexKey    string // object-store key of the encrypted index, or ""
	IndexFormat string // "BAI", "CSI", "TBI", "CRAI" or ""
	// Meta is opaque JSON the server derives at ingest (for htsget: the
	// reference names and where the format header ends).
	Meta []byte

	CreatedAt time.Time // set by Put when zero; stored to the second or finer, returned in UTC
}

// HeaderDB is the header database. Implementations are safe for
// concurrent use by many goroutines and by many server processes sharing
// one database.
type HeaderDB interface {
	// Put registers f. It is atomic: after it returns nil the whole row
	// is visible to every process; after any error nothing is. A second
	// Put of the same ID returns ErrExists and leaves the first row.
	Put(ctx context.Context, f File) error
	// Get returns the row, or ErrNotFound.
	Get(ctx context.Context, id string) (File, error)
	// List returns up to limit rows with ID > after, ordered by ID; with
	// dataset != "" only that dataset's rows.
	List(ctx context.Context, dataset, after string, limit int) ([]File, error)
	// UpdateHeader replaces the header and key id of an existing row
	// (archive key rotation). ErrNotFound if there is no such row.
	UpdateHeader(ctx context.Context, id string, header []byte, keyID string) error
	// Delete removes the row; ErrNotFound if there was none.
	Delete(ctx context.Context, id string) error
	// ReferencesObject reports whether any row names key as its
	// PayloadKey or IndexKey (the orphan sweep asks before deleting).
	ReferencesObject(ctx context.Context, key string) (bool, error)
	// Ping checks the database is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	Close() error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ObjectStore holds immutable objects under slash-separated keys.
// Implementations are safe for concurrent use, including by several
// processes sharing one bucket or directory.
type ObjectStore interface {
	// Put stores the size bytes read from r under key. It is atomic: the
	// object becomes visible only complete, never partially written (a
	// crash mid-Put leaves at most an invisible temporary). If r yields
	// fewer or more than size bytes, Put fails and stores nothing. An
	// existing object under key is replaced.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// GetRange streams bytes [off, off+n) of the object. n < 0 means "to
	// the end". A range starting past the end is an error; one running
	// past the end is truncated. ErrNotFound if there is no object.
	GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Stat returns the object's info, or ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, until fn returns an error (which List returns).
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Ping checks the store is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
}
