// Package commit implements the commitment schemes behind the long-term
// integrity proofs of package integrity.
//
// A commitment c to a message m binds the committer to m (no second message
// opens c) and hides m (c alone says nothing about m). The opening o is the
// secret that, together with m, lets anyone check c. Integrity proofs commit
// to every position of a genome, put the commitments in a Merkle tree and
// disclose openings only for the positions a verifier is allowed to see, so
// the hiding property is what keeps the undisclosed positions private.
//
// # Schemes
//
// [Default] is the Halevi–Micali scheme ([NameHM]). Its hiding is
// statistical: it holds against an adversary with unbounded computing power,
// which is what data meant to stay private for a century needs. Its binding
// rests on the collision resistance of SHA-256, so when SHA-256 weakens the
// integrity proof must be renewed with fresh commitments (upCHT) before
// collisions become practical. PARAMETERS.md beside this file derives its
// parameters.
//
// [NameSHA256Nonce] is a plain hash commitment, SHA-256(domain ‖ r ‖ m). It is
// smaller and faster but only computationally hiding: once SHA-256 can be
// inverted on 32-byte-nonce inputs, or a brute force over the nonce becomes
// feasible, the hidden messages are exposed and no renewal can take that back.
//
// # Randomness
//
// Statistical hiding assumes uniformly random openings. No program gets
// those at hundreds of megabytes a second: crypto/rand on Linux is itself
// the kernel's ChaCha20 generator, keyed from its entropy pool and rekeyed
// about once a minute, so in practice an opening's hiding also rests on a
// generator's output being indistinguishable from random — an assumption
// about a 256-bit-key stream cipher, independent of SHA-256, which is the
// primitive statistical hiding is meant to outlive. [NewOpeningStream]
// makes that generator explicit: AES-256-CTR under a fresh key from
// crypto/rand for each run of commitments, so a run's openings can be
// stored as one 32-byte key. [NewRandomSource] buffers crypto/rand for
// callers who keep every opening. PARAMETERS.md states what each choice
// assumes.
package commit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Scheme is a commitment scheme. Commit and Verify are safe for concurrent
// use.
type Scheme interface {
	// Name is the stable identifier written into proofs, for example
	// "hm-sha256-l1540". It never changes for a given construction and
	// parameter set; any change to either gets a new name.
	Name() string

	// Hiding reports whether the scheme hides statistically (against
	// unbounded adversaries) or only computationally.
	Hiding() Hiding

	// CommitmentSize is the length of every commitment, in bytes.
	CommitmentSize() int

	// OpeningSize is the length of every opening, in bytes.
	OpeningSize() int

	// Commit commits to msg, writing CommitmentSize bytes to c and
	// OpeningSize bytes to o, taking randomness from rnd (crypto/rand.Reader
	// if rnd is nil). c and o must have exactly those lengths and must not
	// overlap; msg may alias neither. The same msg may be committed to any
	// number of times: each call draws fresh randomness, so equal messages
	// give unrelated commitments. On error c and o hold no usable value.
	Commit(c, o, msg []byte, rnd io.Reader) error

	// OpeningFrom writes to o the opening Commit produces when rnd yields
	// random. Commit reads exactly OpeningSize bytes from rnd and its
	// opening depends on nothing else, so an opening can be derived again
	// from the randomness alone (see [NewOpeningStream]). o and random
	// must both be OpeningSize bytes; they may be the same slice.
	OpeningFrom(o, random []byte) error

	// Verify reports whether (c, o) opens to msg. It returns false for
	// inputs of the wrong length or otherwise malformed, never panics, and
	// takes time independent of where c and the recomputed value differ.
	Verify(c, o, msg []byte) bool
}

// Hiding classifies the privacy a scheme's commitments give the committed
// messages.
type Hiding int

const (
	// Statistical hiding: for uniformly random openings, the commitment's
	// distribution is within a negligible statistical distance of one
	// independent of the message, so no amount of computation reveals the
	// message. (What real randomness adds to that: see Randomness in the
	// package comment.)
	Statistical Hiding = iota + 1
	// Computational hiding: the message is hidden only as long as some
	// computational problem (here, inverting SHA-256) stays hard.
	Computational
)

func (h Hiding) String() string {
	switch h {
	case Statistical:
		return "statistical"
	case Computational:
		return "computational"
	default:
		return fmt.Sprintf("Hiding(%d)", int(h))
	}
}

// Scheme names, as written into proofs.
const (
	NameHM          = "hm-sha256-l1540"
	NameSHA256Nonce = "sha256-nonce"
)

var (
	// ErrUnknownScheme is returned by [ByName] for a name this package does
	// not implement.
	ErrUnknownScheme = errors.New("unknown commitment scheme")
	// ErrLength is returned by Commit and [CommitBatch] when a buffer does
	// not have the length the scheme requires.
	ErrLength = errors.New("wrong buffer length")
)

// ByName returns the scheme whose Name is name.
func ByName(name string) (Scheme, error) {
	switch name {
	case NameHM:
		return hmDefault(), nil
	case NameSHA256Nonce:
		return nonceScheme{}, nil
	}
	// %q keeps control bytes from an untrusted proof out of logs verbatim.
	return nil, fmt.Errorf("commit: %q: %w", name, ErrUnknownScheme)
}

// Default returns the Halevi–Micali scheme [NameHM], the statistically
// hiding default for integrity proofs.
//
// Its Commit hashes the message first; the hash of the empty message is
// computed once, so callers should commit to "nothing here" as an empty
// message (binding the position elsewhere, as the Merkle leaf does) and may
// pass it any number of times.
func Default() Scheme { return hmDefault() }

// SHA256Nonce returns the computationally hiding hash commitment
// [NameSHA256Nonce].
func SHA256Nonce() Scheme { return nonceScheme{} }

// batchCommitter is implemented by schemes that commit to many messages
// faster than one Commit call at a time.
type batchCommitter interface {
	commitBatch(c, o []byte, msgs [][]byte, rnd io.Reader) error
}

// CommitBatch commits to every message in msgs with s, writing the i-th
// commitment to c[i*s.CommitmentSize():] and the i-th opening to
// o[i*s.OpeningSize():]. c and o must be exactly len(msgs) times the sizes.
// It is equivalent to calling s.Commit for each message, but schemes from
// this package draw all randomness with one read and hash a run of equal
// messages once, so batches of a few thousand are markedly faster than
// single calls. The i-th opening is made from the i-th OpeningSize bytes
// rnd yields, as [Scheme.OpeningFrom] would. rnd is crypto/rand.Reader if
// nil.
func CommitBatch(s Scheme, c, o []byte, msgs [][]byte, rnd io.Reader) error {
	cs, os := s.CommitmentSize(), s.OpeningSize()
	if len(c) != len(msgs)*cs {
		return fmt.Errorf("commit: batch commitment buffer is %d bytes, want %d×%d: %w", len(c), len(msgs), cs, ErrLength)
	}
	if len(o) != len(msgs)*os {
		return fmt.Errorf("commit: batch opening buffer is %d bytes, want %d×%d: %w", len(o), len(msgs), os, ErrLength)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	if b, ok := s.(batchCommitter); ok {
		return b.commitBatch(c, o, msgs, rnd)
	}
	for i, m := range msgs {
		if err := s.Commit(c[i*cs:(i+1)*cs], o[i*os:(i+1)*os], m, rnd); err != nil {
			return err
		}
	}
	return nil
}

func checkLengths(name string, c, o []byte, cs, os int) error {
	if len(c) != cs {
		return fmt.Errorf("commit: %s: commitment buffer is %d bytes, want %d: %w", name, len(c), cs, ErrLength)
	}
	if len(o) != os {
		return fmt.Errorf("commit: %s: opening buffer is %d bytes, want %d: %w", name, len(o), os, ErrLength)
	}
	return nil
}

// checkOpeningFrom checks the buffers given to OpeningFrom.
func checkOpeningFrom(name string, o, random []byte, os int) error {
	if len(o) != os || len(random) != os {
		return fmt.Errorf("commit: %s: opening and randomness buffers are %d and %d bytes, want %d: %w", name, len(o), len(random), os, ErrLength)
	}
	return nil
}

func readRandom(rnd io.Reader, p []byte) error {
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, p); err != nil {
		return fmt.Errorf("commit: failed to read randomness: %w", err)
	}
	return nil
}
