// Package storetest is the conformance suite for the storage contracts in
// package store. Every implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestHeaderDB(t, func(t *testing.T) store.HeaderDB { … })
//	}
//
// The open function must return a fresh, empty instance on each call and
// register its own cleanup with t.Cleanup. The suite checks each clause of
// the contracts' doc comments; a clause that is not checked here is not
// part of the contract.
package storetest

import (
	"math/rand/v2"
	"strings"
)

// InvalidKeys are keys and ids every implementation must refuse with
// store.ErrInvalidKey.
var InvalidKeys = map[string]string{
	"empty":          "",
	"parent":         "../x",
	"parent inside":  "a/../x",
	"parent at end":  "a/..",
	"dot segment":    "a/./b",
	"absolute":       "/abs",
	"trailing slash": "dir/",
	"double slash":   "a//b",
	"backslash":      `a\b`,
	"NUL":            "a\x00b",
	"newline":        "a\nb",
	"bad UTF-8":      "a\xffb",
	"too long":       strings.Repeat("k", 513),
}

// OddKeys are unusual but valid keys and ids every implementation must
// store and list faithfully. No segment is longer than 200 bytes, so they
// fit the file-name limit of common file systems.
var OddKeys = []string{
	"with space",
	"dir with space/file name.c4gh",
	"ünïcödé/日本語/🧬.bam",
	"quote'double\"semi;--",
	"percent%20and+plus&amp=eq?q#frag",
	"...",
	"a.b/.hidden",
	"UPPER/lower",
	strings.Repeat("x", 200) + "/" + strings.Repeat("y", 200) + "/" + strings.Repeat("z", 110), // 512 bytes
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}
