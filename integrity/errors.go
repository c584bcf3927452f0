package integrity

import (
	"errors"
	"fmt"
	"time"
)

// Verification errors. Every error from [Verify] wraps exactly one of
// these (or is an [*ExpiredError], which matches [ErrExpired]), and its
// message names the check that failed: which position, which commitment
// generation, which tree, which timestamp.
var (
	// ErrMalformedProof: the proof (or evidence) is not a well-formed,
	// canonical encoding within the size limits.
	ErrMalformedProof = errors.New("integrity: malformed proof")
	// ErrOpening: a disclosed entry does not open its commitment.
	ErrOpening = errors.New("integrity: commitment opening check failed")
	// ErrPath: an authentication path has the wrong shape (number or size
	// of sibling hashes).
	ErrPath = errors.New("integrity: authentication path check failed")
	// ErrRoot: the root computed from the disclosed commitments and their
	// paths is not the root the evidence records for that tree.
	ErrRoot = errors.New("integrity: tree root check failed")
	// ErrTimestamp: a time-stamp token is invalid, untrusted, over a
	// different digest, or earlier than the one before it.
	ErrTimestamp = errors.New("integrity: timestamp check failed")
	// ErrSignature: the lab's signature is invalid or by a key that is not
	// trusted.
	ErrSignature = errors.New("integrity: signature check failed")
	// ErrExpired matches every [*ExpiredError].
	ErrExpired = errors.New("integrity: algorithm expired")
	// ErrUntrusted: the trust policy has no validity period for an
	// algorithm or authority the proof relies on.
	ErrUntrusted = errors.New("integrity: algorithm not in the trust policy")
	// ErrNotRequested: the proof does not cover the positions the verifier
	// asked about.
	ErrNotRequested = errors.New("integrity: proof does not cover the requested positions")
)

// ExpiredError reports a primitive that the trust policy no longer
// considers secure at the time it had to be: a signature scheme at the
// first timestamp, a timestamp authority at the next timestamp, a hash
// function at the next tree renewal, a commitment scheme at the next
// commitment renewal, and the newest of each at verification time.
type ExpiredError struct {
	// Which names the primitive and its use, e.g. "hash sha256 of tree 0".
	Which string
	// When is the time at which it had to be valid.
	When time.Time
	// Why says what When is, e.g. "the next hash-tree renewal (element 3)".
	Why string
	// NotBefore and NotAfter are the policy's validity period.
	NotBefore, NotAfter time.Time
}

func (e *ExpiredError) Error() string {
	if !e.NotBefore.IsZero() && e.When.Before(e.NotBefore) {
		return fmt.Sprintf("integrity: %s is not valid before %s but was used at %s (%s)",
			e.Which, e.NotBefore.Format(time.RFC3339), e.When.Format(time.RFC3339), e.Why)
	}
	return fmt.Sprintf("integrity: %s expired at %s but had to be valid at %s (%s)",
		e.Which, e.NotAfter.Format(time.RFC3339), e.When.Format(time.RFC3339), e.Why)
}

// Is makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }
