// Package format is the wire codec of the Crypt4GH header: the magic,
// version and packet framing, and the plaintext layouts of the packets
// inside. It does no cryptography. Parsing is strict and bounded; marshalling
// is canonical, so Parse followed by Marshal reproduces its input byte for
// byte.
//
// The error values here are re-exported by the root crypt4gh package, which
// is where their meaning is documented for users.
package format

import "errors"

// Error classes. Every error returned by this package wraps exactly one of
// these, so callers can branch with errors.Is.
var (
	ErrNotCrypt4GH        = errors.New("crypt4gh: not a Crypt4GH file (bad magic number)")
	ErrUnsupportedVersion = errors.New("crypt4gh: unsupported Crypt4GH version")
	ErrMalformedHeader    = errors.New("crypt4gh: malformed header")
	ErrUnsupported        = errors.New("crypt4gh: unsupported")
	ErrTruncated          = errors.New("crypt4gh: truncated input")
)
