package crypt4gh

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// KeyID returns the key identifier of a v2 signature record
// (doc/crypt4gh-v2.md, section 7): SHA-256(le32(alg) || pub).
func KeyID(alg uint32, pub []byte) [32]byte {
	h := sha256.New()
	var a [4]byte
	binary.LittleEndian.PutUint32(a[:], alg)
	h.Write(a[:])
	h.Write(pub)
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// Ed25519Signer signs v2 headers with Ed25519 (RFC 8032, pure), algorithm
// SigEd25519.
type Ed25519Signer struct {
	priv ed25519.PrivateKey
	// Comment is the comment stored in the key file, if any.
	Comment string
}

// Ed25519Verifier checks Ed25519 v2 header signatures.
type Ed25519Verifier struct {
	pub ed25519.PublicKey
	// Comment is the comment stored in the key file, if any.
	Comment string
}

var (
	_ Signer   = (*Ed25519Signer)(nil)
	_ Verifier = (*Ed25519Verifier)(nil)
)

// GenerateEd25519Signer returns a new random Ed25519 signing key.
func GenerateEd25519Signer() (*Ed25519Signer, error) {
	var seed [ed25519.SeedSize]byte
	defer clear(seed[:])
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	return NewEd25519Signer(seed[:])
}

// NewEd25519Signer returns the signer for a 32-byte Ed25519 seed (the
// RFC 8032 private key). The seed is copied.
func NewEd25519Signer(seed []byte) (*Ed25519Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 seed is %d bytes, want %d", ErrMalformedKey, len(seed), ed25519.SeedSize)
	}
	return &Ed25519Signer{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// SignatureAlgorithm returns SigEd25519.
func (s *Ed25519Signer) SignatureAlgorithm() uint32 { return SigEd25519 }

// PublicKey returns the 32-byte Ed25519 public key.
func (s *Ed25519Signer) PublicKey() []byte {
	return append([]byte(nil), s.priv[ed25519.SeedSize:]...)
}

// Seed returns a copy of the 32-byte seed. Callers should clear it when done.
func (s *Ed25519Signer) Seed() []byte { return append([]byte(nil), s.priv.Seed()...) }

// Sign returns the 64-byte Ed25519 signature of message.
func (s *Ed25519Signer) Sign(message []byte) ([]byte, error) {
	if len(s.priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("crypt4gh: the Ed25519 signer was zeroed")
	}
	return ed25519.Sign(s.priv, message), nil
}

// Verifier returns the verifier for s's public key.
func (s *Ed25519Signer) Verifier() *Ed25519Verifier {
	return &Ed25519Verifier{pub: ed25519.PublicKey(s.PublicKey()), Comment: s.Comment}
}

// Zero overwrites the private key in memory. The signer is unusable after.
func (s *Ed25519Signer) Zero() {
	clear(s.priv)
	s.priv = nil
}

// NewEd25519Verifier returns the verifier for a 32-byte Ed25519 public key.
func NewEd25519Verifier(pub []byte) (*Ed25519Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key is %d bytes, want %d", ErrMalformedKey, len(pub), ed25519.PublicKeySize)
	}
	return &Ed25519Verifier{pub: append(ed25519.PublicKey(nil), pub...)}, nil
}

// SignatureAlgorithm returns SigEd25519.
func (v *Ed25519Verifier) SignatureAlgorithm() uint32 { return SigEd25519 }

// PublicKey returns the 32-byte Ed25519 public key.
func (v *Ed25519Verifier) PublicKey() []byte { return append([]byte(nil), v.pub...) }

// Verify reports whether sig is a valid Ed25519 signature of message.
func (v *Ed25519Verifier) Verify(message, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, message, sig)
}
