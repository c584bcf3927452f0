// Package localfs is a store.ObjectStore on a local directory, for a
// single-machine archive or a shared POSIX file system.
//
// A key maps to the path of the same name under the root directory ("a/b"
// is root/a/b). Every file operation goes through an [os.Root], so neither
// a key nor a symbolic link planted under the root can reach outside it.
//
// Put writes a temporary file next to the final one, syncs it, renames it
// into place and syncs the directory, so an object is either absent or
// complete, even across a crash. Temporary files are named with the
// prefix [TempPrefix]; keys with a segment starting with it are refused,
// List never shows them, and [Store.SweepTemp] removes the ones a crash
// left behind.
//
// Because keys are paths, one key cannot be both an object and a prefix
// directory of another ("a" and "a/b"); such a Put fails. Each key
// segment is limited to 255 bytes, the file-name limit of common file
// systems.
package localfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/sized"
)

// TempPrefix starts the name of every temporary file Put creates.
const TempPrefix = ".c4gh-tmp-"

const maxSegment = 255

// Store is an ObjectStore rooted at a directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	root *os.Root
	dir  string
}

var _ store.ObjectStore = (*Store)(nil)

// Open returns a Store on the directory root, which must exist.
func Open(root string) (*Store, error) {
	// Absolute, so Ping still finds it after a change of directory.
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("localfs: opening root directory: %w", err)
	}
	return &Store{root: r, dir: root}, nil
}

// Close releases the root directory handle.
func (s *Store) Close() error { return s.root.Close() }

func checkKey(key string) error {
	if err := store.ValidKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if len(seg) > maxSegment {
			return fmt.Errorf("%w: a path segment is longer than %d bytes", store.ErrInvalidKey, maxSegment)
		}
		if strings.HasPrefix(seg, TempPrefix) {
			return fmt.Errorf("%w: segment starts with the reserved prefix %q", store.ErrInvalidKey, TempPrefix)
		}
	}
	return nil
}

// Put implements store.ObjectStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := checkKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("localfs: negative size %d", size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := path.Dir(key)
	if dir != "." {
		if err := s.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("localfs: creating directory for %q: %w", key, err)
		}
	}
	tmp := path.Join(dir, TempPrefix+randomSuffix())
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("localfs: creating temporary file for %q: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	src := sized.NewReader(ctx, r, size)
	if _, err := io.Copy(f, src); err != nil {
		return fmt.Errorf("localfs: writing %q: %w", key, err)
	}
	if err := src.Finish(); err != nil {
		return fmt.Errorf("localfs: writing %q: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("localfs: syncing %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("localfs: closing %q: %w", key, err)
	}
	// The last chance to honour a cancellation: after the rename the
	// object is visible.
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("localfs: renaming into place %q: %w", key, err)
	}
	// Make the rename durable. A failure here does not undo the Put.
	if d, err := s.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func randomSuffix() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// GetRange implements store.ObjectStore.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, mapErr(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("localfs: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %q is not a regular file", store.ErrNotFound, key)
	}
	size := fi.Size()
	if off < 0 || off > size {
		f.Close()
		return nil, fmt.Errorf("%w: offset %d of a %d-byte object", store.ErrInvalidRange, off, size)
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	return &section{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

// Stat implements store.ObjectStore.
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return store.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, err
	}
	fi, err := s.root.Stat(key)
	if err != nil {
		return store.ObjectInfo{}, mapErr(key, err)
	}
	if !fi.Mode().IsRegular() {
		return store.ObjectInfo{}, fmt.Errorf("%w: %q is not a regular file", store.ErrNotFound, key)
	}
	return store.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}, nil
}

// mapErr turns "no such file" into ErrNotFound. ENOTDIR is one too: a
// key "a/b" where "a" is an object.
func mapErr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %q", store.ErrNotFound, key)
	}
	return fmt.Errorf("localfs: %w", err)
}

// Delete implements store.ObjectStore. Directories left empty stay: a
// concurrent Put may be about to write into them.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := s.root.Lstat(key)
	if err != nil {
		if errors.Is(mapErr(key, err), store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("localfs: %w", err)
	}
	if fi.IsDir() {
		// Only a prefix of other objects, not an object.
		return nil
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localfs: deleting %q: %w", key, err)
	}
	return nil
}

// List implements store.ObjectStore.
//
// It walks only the directory named by prefix up to its last "/", and
// visits entries in the order of their keys: a directory "d" sorts as
// "d/", so "a.c" comes before the contents of "a" and "aB" after them.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	dir := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = prefix[:i]
		if store.ValidKey(dir) != nil {
			return nil // no valid key lives there
		}
	}
	return s.walk(ctx, dir, prefix, fn)
}

func (s *Store) walk(ctx context.Context, dir, prefix string, fn func(store.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := dir
	if name == "" {
		name = "."
	}
	d, err := s.root.Open(name)
	if err != nil {
		if errors.Is(mapErr(name, err), store.ErrNotFound) {
			return nil // removed or never created
		}
		return fmt.Errorf("localfs: listing %q: %w", dir, err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if errors.Is(err, syscall.ENOTDIR) {
		return nil // the prefix names an object, not a directory
	}
	if err != nil {
		return fmt.Errorf("localfs: listing %q: %w", dir, err)
	}
	type entry struct {
		key   string // full key, with a trailing "/" for directories
		isDir bool
	}
	// visit lists, in key order, the objects and subdirectories to walk.
	var visit []entry
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		key := e.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		switch {
		case e.IsDir():
			// Descend only if the directory can hold keys with prefix.
			k := key + "/"
			if strings.HasPrefix(k, prefix) || strings.HasPrefix(prefix, k) {
				visit = append(visit, entry{k, true})
			}
		case e.Type().IsRegular():
			if strings.HasPrefix(key, prefix) {
				visit = append(visit, entry{key, false})
			}
		}
		// Symbolic links and special files are not objects.
	}
	slices.SortFunc(visit, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range visit {
		if e.isDir {
			if err := s.walk(ctx, strings.TrimSuffix(e.key, "/"), prefix, fn); err != nil {
				return err
			}
			continue
		}
		if store.ValidKey(e.key) != nil {
			continue // a file an operator put there by hand
		}
		fi, err := s.root.Lstat(e.key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted while listing
			}
			return fmt.Errorf("localfs: %w", err)
		}
		if err := fn(store.ObjectInfo{Key: e.key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks that the root directory is still there: the directory Open
// was given must still be the one the store holds open (not removed,
// replaced or unmounted).
func (s *Store) Ping(ctx context.Context) error {
	held, err := s.root.Stat(".")
	if err != nil {
		return fmt.Errorf("%w: localfs root %s: %w", store.ErrUnavailable, s.dir, err)
	}
	named, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("%w: localfs root %s: %w", store.ErrUnavailable, s.dir, err)
	}
	if !os.SameFile(held, named) {
		return fmt.Errorf("%w: localfs root %s was replaced since Open", store.ErrUnavailable, s.dir)
	}
	return nil
}

// SweepTemp removes temporary files older than olderThan, left by Puts
// that crashed, and returns how many it removed. olderThan should exceed
// the longest Put, since a younger temporary may belong to one in flight.
func (s *Store) SweepTemp(olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone already
		}
		if fi.ModTime().Before(cutoff) {
			if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("localfs: sweeping temporary files: %w", err)
	}
	return removed, nil
}
