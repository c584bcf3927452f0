// Package signing provides every signature algorithm of the Crypt4GH v2
// profile (doc/crypt4gh-v2.md, section 7) behind the [crypt4gh.Signer] and
// [crypt4gh.Verifier] interfaces: Ed25519 (from the crypt4gh package) and
// ML-DSA-65 and ML-DSA-87 (FIPS 204, pure, empty context, with
// filippo.io/mldsa). It lives apart from the format library so that the
// library depends only on the standard library and golang.org/x/crypto.
//
// Key files are the version 2 key files of section 12 (key types "ed25519",
// "mldsa65" and "mldsa87"; ML-DSA private keys store the 32-byte FIPS 204
// seed ξ); OpenSSH Ed25519 keys are accepted too.
package signing

import (
	"errors"
	"fmt"

	"filippo.io/mldsa"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
)

// MLDSASigner signs v2 headers with ML-DSA-65 or ML-DSA-87 (hedged
// signing, empty context).
type MLDSASigner struct {
	alg  uint32
	sk   *mldsa.PrivateKey
	seed [mldsa.PrivateKeySize]byte
	pub  []byte
	// Comment is the comment stored in the key file, if any.
	Comment string
}

// MLDSAVerifier checks ML-DSA-65 or ML-DSA-87 v2 header signatures.
type MLDSAVerifier struct {
	alg uint32
	pk  *mldsa.PublicKey
	pub []byte
	// Comment is the comment stored in the key file, if any.
	Comment string
}

var (
	_ crypt4gh.Signer   = (*MLDSASigner)(nil)
	_ crypt4gh.Verifier = (*MLDSAVerifier)(nil)
)

// params returns the ML-DSA parameter set and key file type of alg.
func params(alg uint32) (mldsa.Parameters, string, error) {
	switch alg {
	case crypt4gh.SigMLDSA65:
		return mldsa.MLDSA65(), keyfile.KeyTypeMLDSA65, nil
	case crypt4gh.SigMLDSA87:
		return mldsa.MLDSA87(), keyfile.KeyTypeMLDSA87, nil
	}
	return mldsa.Parameters{}, "", fmt.Errorf("signing: signature algorithm %d is not ML-DSA-65 (%d) or ML-DSA-87 (%d)", alg, crypt4gh.SigMLDSA65, crypt4gh.SigMLDSA87)
}

// algOfType returns the signature algorithm of a version 2 key type.
func algOfType(keyType string) (uint32, bool) {
	switch keyType {
	case keyfile.KeyTypeEd25519:
		return crypt4gh.SigEd25519, true
	case keyfile.KeyTypeMLDSA65:
		return crypt4gh.SigMLDSA65, true
	case keyfile.KeyTypeMLDSA87:
		return crypt4gh.SigMLDSA87, true
	}
	return 0, false
}

// NewMLDSASigner returns the ML-DSA signer (alg SigMLDSA65 or SigMLDSA87)
// for a 32-byte FIPS 204 seed ξ. The seed is copied.
func NewMLDSASigner(alg uint32, seed []byte) (*MLDSASigner, error) {
	p, _, err := params(alg)
	if err != nil {
		return nil, err
	}
	if len(seed) != mldsa.PrivateKeySize {
		return nil, fmt.Errorf("%w: %s seed is %d bytes, want %d", crypt4gh.ErrMalformedKey, p, len(seed), mldsa.PrivateKeySize)
	}
	sk, err := mldsa.NewPrivateKey(p, seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", crypt4gh.ErrMalformedKey, err)
	}
	s := &MLDSASigner{alg: alg, sk: sk, pub: sk.PublicKey().Bytes()}
	copy(s.seed[:], seed)
	return s, nil
}

// SignatureAlgorithm returns SigMLDSA65 or SigMLDSA87.
func (s *MLDSASigner) SignatureAlgorithm() uint32 { return s.alg }

// PublicKey returns the FIPS 204 encoding of the public key (1952 bytes for
// ML-DSA-65, 2592 for ML-DSA-87).
func (s *MLDSASigner) PublicKey() []byte { return append([]byte(nil), s.pub...) }

// Seed returns a copy of the 32-byte seed. Callers should clear it when done.
func (s *MLDSASigner) Seed() []byte { return append([]byte(nil), s.seed[:]...) }

// Sign returns the ML-DSA signature of message (pure ML-DSA, empty
// context, hedged with fresh randomness).
func (s *MLDSASigner) Sign(message []byte) ([]byte, error) {
	if s.sk == nil {
		return nil, errors.New("signing: the ML-DSA signer was zeroed")
	}
	return s.sk.Sign(nil, message, nil)
}

// Verifier returns the verifier for s's public key.
func (s *MLDSASigner) Verifier() *MLDSAVerifier {
	v, err := NewMLDSAVerifier(s.alg, s.pub)
	if err != nil { // unreachable: the key was derived by the library
		panic("signing: invalid ML-DSA public key derived from a seed: " + err.Error())
	}
	v.Comment = s.Comment
	return v
}

// Zero overwrites the seed held by s and drops the expanded key; the signer
// is unusable after. The expanded copy inside the mldsa package cannot be
// overwritten and is left to the garbage collector.
func (s *MLDSASigner) Zero() {
	clear(s.seed[:])
	s.sk = nil
}

// NewMLDSAVerifier returns the verifier (alg SigMLDSA65 or SigMLDSA87) for
// an encoded ML-DSA public key.
func NewMLDSAVerifier(alg uint32, pub []byte) (*MLDSAVerifier, error) {
	p, _, err := params(alg)
	if err != nil {
		return nil, err
	}
	if len(pub) != p.PublicKeySize() {
		return nil, fmt.Errorf("%w: %s public key is %d bytes, want %d", crypt4gh.ErrMalformedKey, p, len(pub), p.PublicKeySize())
	}
	pk, err := mldsa.NewPublicKey(p, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", crypt4gh.ErrMalformedKey, err)
	}
	return &MLDSAVerifier{alg: alg, pk: pk, pub: append([]byte(nil), pub...)}, nil
}

// SignatureAlgorithm returns SigMLDSA65 or SigMLDSA87.
func (v *MLDSAVerifier) SignatureAlgorithm() uint32 { return v.alg }

// PublicKey returns the encoded public key.
func (v *MLDSAVerifier) PublicKey() []byte { return append([]byte(nil), v.pub...) }

// Verify reports whether sig is a valid ML-DSA signature of message with
// the empty context.
func (v *MLDSAVerifier) Verify(message, sig []byte) bool {
	return mldsa.Verify(v.pk, message, sig, nil) == nil
}

// GenerateSigner returns a new random signing key of algorithm alg
// (crypt4gh.SigEd25519, SigMLDSA65 or SigMLDSA87).
func GenerateSigner(alg uint32) (crypt4gh.Signer, error) {
	if alg == crypt4gh.SigEd25519 {
		s, err := crypt4gh.GenerateEd25519Signer()
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	p, _, err := params(alg)
	if err != nil {
		return nil, err
	}
	sk, err := mldsa.GenerateKey(p)
	if err != nil {
		return nil, err
	}
	seed := sk.Bytes()
	defer clear(seed)
	s, err := NewMLDSASigner(alg, seed)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewVerifier returns the verifier of algorithm alg for an encoded public
// key, as found in a signature record's signer.
func NewVerifier(alg uint32, pub []byte) (crypt4gh.Verifier, error) {
	var v crypt4gh.Verifier
	var err error
	if alg == crypt4gh.SigEd25519 {
		v, err = crypt4gh.NewEd25519Verifier(pub)
	} else {
		v, err = NewMLDSAVerifier(alg, pub)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ParseSigner reads a signing key file of any algorithm: a version 2 key
// file of type "ed25519", "mldsa65" or "mldsa87", or an OpenSSH Ed25519
// private key. Errors wrap crypt4gh.ErrIncorrectPassphrase,
// ErrPassphraseRequired or ErrMalformedKey, except that an error of the
// passphrase function is returned unchanged.
func ParseSigner(data []byte, passphrase crypt4gh.PassphraseFunc) (crypt4gh.Signer, error) {
	if !keyfile.IsV2PrivateKey(data) {
		return parseEd25519Signer(data, passphrase)
	}
	keyType, err := keyfile.V2PrivateKeyType(data)
	if err != nil {
		return nil, mapKeyError(err)
	}
	alg, ok := algOfType(keyType)
	if !ok {
		return nil, fmt.Errorf("%w: the key file holds a %q key, not a signing key (ed25519, mldsa65 or mldsa87)", crypt4gh.ErrMalformedKey, keyType)
	}
	if alg == crypt4gh.SigEd25519 {
		return parseEd25519Signer(data, passphrase)
	}
	k, err := keyfile.ParseV2PrivateKey(data, keyfile.PassphraseFunc(passphrase))
	if err != nil {
		return nil, mapKeyError(err)
	}
	defer clear(k.Secret)
	s, err := NewMLDSASigner(alg, k.Secret)
	if err != nil {
		return nil, err
	}
	s.Comment = k.Comment
	return s, nil
}

// ParseVerifier reads a signature verification key file of any algorithm:
// a version 2 public key file of type "ed25519", "mldsa65" or "mldsa87", or
// an OpenSSH "ssh-ed25519 AAAA…" line.
func ParseVerifier(data []byte) (crypt4gh.Verifier, error) {
	if !keyfile.IsV2PublicKey(data) {
		return parseEd25519Verifier(data)
	}
	keyType, pub, err := keyfile.ParseV2PublicKey(data)
	if err != nil {
		return nil, mapKeyError(err)
	}
	alg, ok := algOfType(keyType)
	if !ok {
		return nil, fmt.Errorf("%w: the key file holds a %q key, not a signature verification key (ed25519, mldsa65 or mldsa87)", crypt4gh.ErrMalformedKey, keyType)
	}
	return NewVerifier(alg, pub)
}

// MarshalSigner returns a version 2 private key file for s, which must be
// an *crypt4gh.Ed25519Signer or an *MLDSASigner. With a non-empty
// passphrase the key is encrypted as crypt4gh.MarshalIdentity does. Write
// it with mode 0600.
func MarshalSigner(s crypt4gh.Signer, passphrase []byte, opts *crypt4gh.KeyFileOptions) ([]byte, error) {
	switch s := s.(type) {
	case *crypt4gh.Ed25519Signer:
		return crypt4gh.MarshalEd25519Signer(s, passphrase, opts)
	case *MLDSASigner:
		if s.sk == nil {
			return nil, errors.New("signing: the ML-DSA signer was zeroed")
		}
		_, keyType, err := params(s.alg)
		if err != nil {
			return nil, err
		}
		return keyfile.MarshalV2PrivateKey(keyType, s.seed[:], passphrase, writeOptions(passphrase, opts))
	}
	return nil, fmt.Errorf("signing: cannot write a key file for a %T signer", s)
}

// MarshalVerifier returns a version 2 public key file for v, of any type
// whose algorithm is Ed25519, ML-DSA-65 or ML-DSA-87.
func MarshalVerifier(v crypt4gh.Verifier) ([]byte, error) {
	var keyType string
	switch alg := v.SignatureAlgorithm(); alg {
	case crypt4gh.SigEd25519:
		keyType = keyfile.KeyTypeEd25519
	default:
		var err error
		if _, keyType, err = params(alg); err != nil {
			return nil, err
		}
	}
	pub := v.PublicKey()
	if _, size, _ := keyfile.V2KeySizes(keyType); len(pub) != size {
		return nil, fmt.Errorf("signing: %s public key is %d bytes, want %d", keyType, len(pub), size)
	}
	return keyfile.MarshalV2PublicKey(keyType, pub), nil
}

// parseEd25519Signer calls crypt4gh.ParseEd25519Signer, returning a nil
// interface (not a typed nil) on error.
func parseEd25519Signer(data []byte, passphrase crypt4gh.PassphraseFunc) (crypt4gh.Signer, error) {
	s, err := crypt4gh.ParseEd25519Signer(data, passphrase)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseEd25519Verifier calls crypt4gh.ParseEd25519Verifier, returning a nil
// interface (not a typed nil) on error.
func parseEd25519Verifier(data []byte) (crypt4gh.Verifier, error) {
	v, err := crypt4gh.ParseEd25519Verifier(data)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// writeOptions turns crypt4gh.KeyFileOptions into keyfile options as
// crypt4gh.MarshalIdentity does.
func writeOptions(passphrase []byte, opts *crypt4gh.KeyFileOptions) keyfile.WriteOptions {
	if opts == nil {
		opts = &crypt4gh.KeyFileOptions{}
	}
	kdf := opts.KDF
	if len(passphrase) == 0 {
		kdf = keyfile.KDFNone
	} else if kdf == "" {
		kdf = keyfile.KDFScrypt
	}
	return keyfile.WriteOptions{KDF: kdf, Rounds: opts.Rounds, Comment: opts.Comment}
}

// mapKeyError maps key file errors to the crypt4gh sentinels.
func mapKeyError(err error) error {
	var pe *keyfile.PassphraseError
	switch {
	case errors.As(err, &pe):
		return pe.Err // the passphrase source's own error, unchanged
	case errors.Is(err, keyfile.ErrIncorrectPassphrase):
		return fmt.Errorf("%w", crypt4gh.ErrIncorrectPassphrase)
	case errors.Is(err, keyfile.ErrPassphraseRequired):
		return crypt4gh.ErrPassphraseRequired
	}
	return fmt.Errorf("%w: %v", crypt4gh.ErrMalformedKey, err)
}
