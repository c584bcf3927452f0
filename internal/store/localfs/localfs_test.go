package localfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore { return openTemp(t) })
}

func TestSymlinkEscape(t *testing.T) {
	ctx := context.Background()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside the root"), 0o600); err != nil {
		t.Fatal(err)
	}
	rootDir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(rootDir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(rootDir, "filelink")); err != nil {
		t.Fatal(err)
	}
	s, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, key := range []string{"link/secret", "filelink"} {
		if rc, err := s.GetRange(ctx, key, 0, -1); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("GetRange(%q) read %q from outside the root", key, b)
		}
		if _, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) reached outside the root", key)
		}
	}
	if err := s.Put(ctx, "link/new", strings.NewReader("x"), 1); err == nil {
		t.Error("Put through a symlink to outside the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put wrote outside the root: %v", err)
	}
	if err := s.Delete(ctx, "link/secret"); err == nil {
		if _, err := os.Stat(secret); err != nil {
			t.Errorf("Delete removed a file outside the root: %v", err)
		}
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("file outside the root is gone: %v", err)
	}
	// List shows neither the links nor what they point to.
	var keys []string
	if err := s.List(ctx, "", func(info store.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("List = %q, want nothing", keys)
	}
}

func TestKeyLimits(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for _, key := range []string{
		strings.Repeat("s", 256),
		"dir/" + TempPrefix + "x",
		TempPrefix + "abc",
	} {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(%.20q...) = %v, want ErrInvalidKey", key, err)
		}
	}
	if err := s.Put(ctx, strings.Repeat("s", 255), strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put with a 255-byte segment: %v", err)
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Open of a missing directory succeeded")
	}
}

func TestPutLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "a/ok", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/short", strings.NewReader("hel"), 5); err == nil {
		t.Fatal("short Put succeeded")
	}
	temps := findTemps(t, dir)
	if len(temps) != 0 {
		t.Errorf("temporary files left behind: %q", temps)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a", "ok"))
	if err != nil || string(b) != "hello" {
		t.Errorf("object file = %q, %v", b, err)
	}
}

func findTemps(t *testing.T, dir string) []string {
	t.Helper()
	var temps []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), TempPrefix) {
			temps = append(temps, p)
		}
		return nil
	})
	return temps
}

func TestSweepTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "d/obj", strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	// Leftovers of crashed Puts: one old, one in flight.
	old := filepath.Join(dir, "d", TempPrefix+"old")
	young := filepath.Join(dir, TempPrefix+"young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	// List never shows temporaries.
	var keys []string
	s.List(ctx, "", func(info store.ObjectInfo) error { keys = append(keys, info.Key); return nil })
	if !slices.Equal(keys, []string{"d/obj"}) {
		t.Errorf("List = %q, want [d/obj]", keys)
	}

	n, err := s.SweepTemp(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("SweepTemp removed %d files, want 1", n)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old temporary still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temporary removed: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "d", "obj")); err != nil || string(b) != "data" {
		t.Errorf("object damaged by the sweep: %q, %v", b, err)
	}
}

func TestPingRemovedRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after removing the root = %v, want ErrUnavailable", err)
	}
}
