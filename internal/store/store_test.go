package store_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/storetest"
)

func TestValidKey(t *testing.T) {
	for _, key := range append([]string{"a", "a/b", "x.c4gh", "a.b/c..d", "..a", "a..", "~", strings.Repeat("k", 512)}, storetest.OddKeys...) {
		if err := store.ValidKey(key); err != nil {
			t.Errorf("ValidKey(%.40q) = %v, want nil", key, err)
		}
	}
	bad := []string{"\x7f", "a\u0085b", "a\tb", "./a", "a/.", "..", "."}
	for _, key := range storetest.InvalidKeys {
		bad = append(bad, key)
	}
	for _, key := range bad {
		err := store.ValidKey(key)
		if !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("ValidKey(%.40q) = %v, want ErrInvalidKey", key, err)
		}
	}
	// Messages stay short and valid UTF-8 whatever the key.
	err := store.ValidKey(strings.Repeat("é", 400))
	if err == nil || len(err.Error()) > 200 || !utf8.ValidString(err.Error()) {
		t.Errorf("error for a long key = %q", err)
	}
}

// FuzzValidKey checks that every key ValidKey accepts is a clean, local,
// relative path, so stores may use it as one.
func FuzzValidKey(f *testing.F) {
	for _, k := range storetest.OddKeys {
		f.Add(k)
	}
	for _, k := range storetest.InvalidKeys {
		f.Add(k)
	}
	f.Add("a/b/c")
	f.Add("a/../b")
	f.Fuzz(func(t *testing.T, key string) {
		err := store.ValidKey(key)
		if err != nil {
			if !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("ValidKey error %v does not wrap ErrInvalidKey", err)
			}
			return
		}
		switch {
		case len(key) == 0 || len(key) > store.MaxKeyLen:
			t.Fatalf("accepted length %d", len(key))
		case path.Clean(key) != key:
			t.Fatalf("accepted %q, which cleans to %q", key, path.Clean(key))
		case !filepath.IsLocal(key):
			t.Fatalf("accepted non-local path %q", key)
		case strings.ContainsAny(key, "\\\x00"):
			t.Fatalf("accepted %q", key)
		case !utf8.ValidString(key):
			t.Fatalf("accepted invalid UTF-8 %q", key)
		}
		for _, r := range key {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted control character in %q", key)
			}
		}
	})
}
