// Package interop holds no code of its own: its tests check this module
// against github.com/neicnordic/crypt4gh v1.15.0, the incumbent Go
// implementation of Crypt4GH, in both directions (files, key files,
// re-encrypted headers, edit lists), and its benchmarks measure both
// libraries side by side with the raw ChaCha20-Poly1305 rate.
//
// The neicnordic module is a test-only dependency: it is imported from
// _test.go files only, so the library itself keeps depending on the
// standard library and golang.org/x/crypto alone.
//
// Where neicnordic/crypt4gh departs from the standard, the tests assert
// what the standard requires of this module and record the peer's actual
// behaviour (see the "peer:" comments), so a change on either side shows.
package interop
