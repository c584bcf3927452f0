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
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
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
	// (see [ValidKey]).
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrInvalidRange: a GetRange whose offset is negative or past the
	// end of the object. The server answers 416 for it.
	ErrInvalidRange = errors.New("store: range not satisfiable")
)

// MaxKeyLen is the longest object key or file id, in bytes.
const MaxKeyLen = 512

// ValidKey reports whether key may be used as an object key or a file id,
// returning nil or an error wrapping [ErrInvalidKey] that says why.
//
// A valid key is 1 to [MaxKeyLen] bytes of UTF-8 made of non-empty
// segments separated by "/": no leading, trailing or doubled slash, no
// "." or ".." segment, no backslash and no control character (which
// includes NUL). Any other character, spaces and non-ASCII letters
// included, is allowed. The rules make every key a safe relative path on
// any file system and a plain S3 object name, so each implementation
// checks the same thing and a key accepted by one is accepted by all.
func ValidKey(key string) error {
	bad := func(why string) error {
		// The key itself is quoted: keys and ids are not secrets, and an
		// operator needs to see which one was refused.
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, truncateForError(key), why)
	}
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute (leading slash)")
	case strings.HasSuffix(key, "/"):
		return bad("trailing slash")
	}
	for _, r := range key {
		switch {
		case r == '\\':
			return bad("contains a backslash")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad(fmt.Sprintf("%q path segment", seg))
		}
	}
	return nil
}

// truncateForError keeps error messages bounded when a caller passes a
// huge key.
func truncateForError(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	// Cut on a rune boundary so the message stays valid UTF-8.
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

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
//
// Every method taking an id or object key returns an error wrapping
// ErrInvalidKey, and touches nothing, when [ValidKey] refuses it. Errors
// reaching the database wrap ErrUnavailable; a cancelled or expired ctx
// gives an error wrapping ctx.Err().
type HeaderDB interface {
	// Put registers f. It is atomic: after it returns nil the whole row
	// is visible to every process; after any error nothing is. A second
	// Put of the same ID returns ErrExists and leaves the first row; of
	// many concurrent Puts of one ID exactly one succeeds. f.ID and
	// f.PayloadKey, and f.IndexKey when not empty, must be valid keys
	// (f.PayloadKey may be empty too); negative sizes are refused.
	Put(ctx context.Context, f File) error
	// Get returns the row, or ErrNotFound. The returned slices are the
	// caller's.
	Get(ctx context.Context, id string) (File, error)
	// List returns up to limit rows with ID > after, ordered by ID
	// bytewise (Go string order, not a locale's collation); with
	// dataset != "" only that dataset's rows. after need not be an
	// existing ID; paging passes the last ID of the previous page.
	// limit < 1 is an error.
	List(ctx context.Context, dataset, after string, limit int) ([]File, error)
	// UpdateHeader replaces the header and key id of an existing row
	// (archive key rotation), leaving the other fields. ErrNotFound if
	// there is no such row.
	UpdateHeader(ctx context.Context, id string, header []byte, keyID string) error
	// Delete removes the row; ErrNotFound if there was none.
	Delete(ctx context.Context, id string) error
	// ReferencesObject reports whether any row names key as its
	// PayloadKey or IndexKey (the orphan sweep asks before deleting).
	ReferencesObject(ctx context.Context, key string) (bool, error)
	// Ping checks the database is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	// Close releases the database. It is idempotent; other methods fail
	// after it.
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
//
// Every method taking a key returns an error wrapping ErrInvalidKey, and
// touches nothing, when [ValidKey] refuses it. Errors reaching the
// backing service wrap ErrUnavailable; a cancelled or expired ctx gives
// an error wrapping ctx.Err().
//
// Keys are paths: a store on a file system cannot hold both "a" and
// "a/b", and may refuse the second Put with an error. Portable key
// layouts never make one key the directory of another.
type ObjectStore interface {
	// Put stores the size bytes read from r under key. It is atomic: the
	// object becomes visible only complete, never partially written (a
	// crash mid-Put leaves at most an invisible temporary). If r yields
	// fewer or more than size bytes, Put fails and stores nothing. An
	// existing object under key is replaced; concurrent Puts of one key
	// leave one of the versions whole. A failed Put leaves an existing
	// object as it was. Cancelling ctx mid-stream fails the Put. size < 0
	// is an error.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// GetRange streams bytes [off, off+n) of the object. n < 0 means "to
	// the end". A range starting past the end (off > size) or at a
	// negative offset is ErrInvalidRange; off == size yields an empty
	// stream; a range running past the end is truncated. ErrNotFound if
	// there is no object. The caller closes the stream.
	GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Stat returns the object's info, or ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// bytewise key order, until fn returns an error (which List returns).
	// prefix is any string (it need not end at a "/"); a prefix that no
	// valid key starts with lists nothing.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Ping checks the store is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
}
