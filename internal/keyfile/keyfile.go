// Package keyfile reads and writes Crypt4GH key files.
//
// A public key file is an armoured ("-----BEGIN CRYPT4GH PUBLIC KEY-----")
// base64 encoding of the raw 32-byte X25519 public key. A private key file is
// an armoured "c4gh-v1" structure holding the 32-byte X25519 secret, either
// in clear (KDF and cipher "none") or encrypted with ChaCha20-Poly1305 (IETF)
// under a key derived from a passphrase with scrypt, bcrypt_pbkdf or
// PBKDF2-HMAC-SHA256. See the EGA crypt4gh documentation (keys.rst) and
// Python's crypt4gh/keys/c4gh.py.
//
// Version 2 key files (v2.go; doc/crypt4gh-v2.md, section 12) use the same
// container with the magic "c4gh-v2" and a key type (hybrid post-quantum
// recipients and signing keys); ParseV2PrivateKey, ParseV2PublicKey and
// their Marshal counterparts handle them, and the v1 functions reject them.
//
// Readers accept any armour label (several are used in the wild) and decide
// what the file holds from its content. Errors are prefixed "keyfile: " and
// never contain key material or passphrases; classify them with errors.Is
// against ErrMalformed, ErrTruncated, ErrUnsupported, ErrIncorrectPassphrase
// and ErrPassphraseRequired.
package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Armour labels.
const (
	// LabelPrivate is the label Python crypt4gh writes for private keys,
	// encrypted or not; MarshalPrivateKey uses it by default.
	LabelPrivate = "CRYPT4GH PRIVATE KEY"
	// LabelEncryptedPrivate is the label neic/crypt4gh and the htslib agent write.
	LabelEncryptedPrivate = "CRYPT4GH ENCRYPTED PRIVATE KEY"
	// LabelPublic is the label of public key files.
	LabelPublic = "CRYPT4GH PUBLIC KEY"
)

// KDF names as stored in private key files.
const (
	KDFNone   = "none"
	KDFScrypt = "scrypt"
	KDFBcrypt = "bcrypt" // OpenSSH bcrypt_pbkdf, not the bcrypt password hash
	KDFPBKDF2 = "pbkdf2_hmac_sha256"
)

// Cipher names as stored in private key files.
const (
	CipherNone             = "none"
	CipherChaCha20Poly1305 = "chacha20_poly1305"
)

// Limits on the work factor a key file may demand, so that a hostile file
// cannot keep a reader busy for hours. They are far above what real writers
// use (Python writes bcrypt 100 and pbkdf2 100000 rounds). Files above a limit
// are rejected with ErrUnsupported.
const (
	// MaxBcryptRounds bounds bcrypt rounds; 16384 rounds take about a minute
	// on a 2020s x86 core (about 4.4 ms per round).
	MaxBcryptRounds = 1 << 14
	// MaxPBKDF2Rounds bounds PBKDF2-HMAC-SHA256 iterations; 10^8 take about
	// 20 s on a 2020s x86 core.
	MaxPBKDF2Rounds = 100_000_000
)

// Scrypt parameters used by every Crypt4GH implementation. The rounds field
// of scrypt-protected keys is written as 0 and ignored.
const (
	scryptN = 1 << 14
	scryptR = 8
	scryptP = 1
)

const (
	magic     = "c4gh-v1"
	keySize   = 32 // X25519 keys and KDF outputs
	nonceSize = 12 // ChaCha20-Poly1305 (IETF) nonce
	tagSize   = 16
	saltSize  = 16 // salt length written by MarshalPrivateKey (as Python)

	encryptedBlobSize = nonceSize + keySize + tagSize
)

// Error classes. Every error returned by this package matches (errors.Is)
// at most one of these, or wraps an error returned by a PassphraseFunc.
var (
	// ErrMalformed: not a Crypt4GH key file, or a structurally invalid one
	// (armour, base64, field values, trailing data). Errors matching
	// ErrTruncated also match ErrMalformed.
	ErrMalformed = errors.New("keyfile: malformed key file")
	// ErrTruncated: the key data ends in the middle of a field.
	ErrTruncated error = &subError{msg: "keyfile: truncated key file", parent: ErrMalformed}
	// ErrUnsupported: a KDF or cipher this package does not know (the
	// message names it), or a KDF work factor above the limits.
	ErrUnsupported = errors.New("keyfile: unsupported key file")
	// ErrIncorrectPassphrase: the encrypted key does not open, so the
	// passphrase is wrong or the key file was tampered with.
	ErrIncorrectPassphrase = errors.New("keyfile: incorrect passphrase (or the key file is corrupt)")
	// ErrPassphraseRequired: the key is encrypted and no PassphraseFunc was given.
	ErrPassphraseRequired = errors.New("keyfile: the private key is encrypted and needs a passphrase")
)

// subError is a sentinel error that also matches a more general one.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// classError is a detailed error of one class; its message replaces the
// class's own.
type classError struct {
	class error
	msg   string
}

func (e *classError) Error() string { return "keyfile: " + e.msg }
func (e *classError) Unwrap() error { return e.class }

func errorf(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// PassphraseFunc supplies the passphrase of an encrypted private key. It is
// called at most once, and only after the file has been parsed and found to
// be encrypted. The returned slice is not retained or modified. An error it
// returns is wrapped in the parser's error.
type PassphraseFunc func() ([]byte, error)

// PrivateKey is a decoded Crypt4GH private key.
type PrivateKey struct {
	// Secret is the raw X25519 secret key.
	Secret [32]byte
	// Comment is the key's comment, "" if it has none.
	Comment string
	// KDF is the key derivation function named in the file (a KDF* constant).
	KDF string
	// Rounds is the KDF rounds field as stored (0 for scrypt and none).
	Rounds uint32
	// Encrypted reports whether the secret was passphrase-protected.
	Encrypted bool
	// Label is the armour label the file used.
	Label string
}

// kind is what an armour block holds.
type kind int

const (
	notAKey kind = iota
	c4ghPrivate
	rawPrivate // 32 raw bytes under a label containing "PRIVATE" (htslib-crypt4gh)
	public
)

// classify decides from the content (and, for 32-byte bodies, the label)
// what a block holds.
func classify(b block) kind {
	switch {
	case bytes.HasPrefix(b.body, []byte(magic)):
		return c4ghPrivate
	case len(b.body) == keySize && strings.Contains(b.label, "PRIVATE"):
		return rawPrivate
	case len(b.body) == keySize:
		return public
	}
	return notAKey
}

// detect returns the kind of key data holds, notAKey if it is not armoured.
func detect(data []byte) kind {
	b, err := decodeArmor(data)
	if err != nil {
		return notAKey
	}
	defer clear(b.body)
	return classify(b)
}

// IsPrivateKey reports whether data looks like a Crypt4GH private key file:
// an armour block whose body starts with "c4gh-v1" (or, as htslib-crypt4gh
// writes them, 32 raw bytes under a label containing "PRIVATE"). It does not
// validate the rest of the key.
func IsPrivateKey(data []byte) bool {
	k := detect(data)
	return k == c4ghPrivate || k == rawPrivate
}

// IsPublicKey reports whether data is a Crypt4GH public key file: an armour
// block holding exactly 32 bytes whose label does not contain "PRIVATE".
func IsPublicKey(data []byte) bool {
	return detect(data) == public
}

// ParsePublicKey decodes a Crypt4GH public key file and returns the raw
// X25519 public key. Surrounding text, CRLF line endings and any armour label
// without "PRIVATE" are accepted; the body must be exactly 32 bytes.
func ParsePublicKey(data []byte) ([32]byte, error) {
	var pub [32]byte
	b, err := decodeArmor(data)
	if err != nil {
		return pub, err
	}
	defer clear(b.body)
	switch classify(b) {
	case public:
		copy(pub[:], b.body)
		return pub, nil
	case c4ghPrivate, rawPrivate:
		return pub, errorf(ErrMalformed, "this is a private key, not a public key")
	}
	return pub, errorf(ErrMalformed, "not a Crypt4GH public key (armour label %q, %d bytes)", b.label, len(b.body))
}

// ParsePrivateKey decodes a Crypt4GH private key file. If the key is
// encrypted, passphrase is called once to obtain the passphrase; if
// passphrase is nil, ErrPassphraseRequired is returned. All structural checks
// (including supported KDF, cipher and work factor) happen before passphrase
// is called. A wrong passphrase or a tampered encrypted key gives
// ErrIncorrectPassphrase. An empty passphrase is passed to scrypt and PBKDF2
// as is, and is incorrect for bcrypt (which cannot use it).
//
// As an extension, a 32-byte body under a label containing "PRIVATE" (the
// htslib-crypt4gh raw key format) is returned as an unencrypted key with KDF
// "none".
func ParsePrivateKey(data []byte, passphrase PassphraseFunc) (*PrivateKey, error) {
	b, err := decodeArmor(data)
	if err != nil {
		return nil, err
	}
	defer clear(b.body)
	switch classify(b) {
	case c4ghPrivate:
	case rawPrivate:
		k := &PrivateKey{KDF: KDFNone, Label: b.label}
		copy(k.Secret[:], b.body)
		return k, nil
	case public:
		return nil, errorf(ErrMalformed, "this is a public key, not a private key")
	default:
		return nil, errorf(ErrMalformed, "not a Crypt4GH private key (armour label %q; no c4gh-v1 magic)", b.label)
	}

	enc, err := decodePrivate(b.body)
	if err != nil {
		return nil, err
	}
	k := &PrivateKey{
		Comment:   string(enc.comment),
		KDF:       enc.kdf,
		Rounds:    enc.rounds,
		Encrypted: enc.cipher != CipherNone,
		Label:     b.label,
	}
	secret, err := enc.secret(passphrase, keySize)
	if err != nil {
		return nil, err
	}
	copy(k.Secret[:], secret)
	clear(secret)
	return k, nil
}

// encoded is the c4gh-v1 structure. Its byte slices alias the decoded body.
type encoded struct {
	kdf     string
	rounds  uint32
	salt    []byte
	cipher  string
	blob    []byte
	comment []byte
}

// decodePrivate parses and validates a c4gh-v1 body (which starts with the
// magic). It does no cryptography.
func decodePrivate(body []byte) (*encoded, error) {
	return decodeContainer(body[len(magic):], keySize)
}

// decodeContainer parses and validates the part of a private key body after
// the magic (and, in version 2, after the key type): KDF, KDF options,
// cipher, blob and comment. secretSize is the size of the secret before
// encryption. It does no cryptography.
func decodeContainer(buf []byte, secretSize int) (*encoded, error) {
	r := &reader{buf: buf}
	var e encoded
	kdf := r.str("KDF name")
	if r.err != nil {
		return nil, r.err
	}
	e.kdf = string(kdf)
	if e.kdf != KDFNone {
		opts := r.str("KDF options")
		if r.err != nil {
			return nil, r.err
		}
		if len(opts) < 4 {
			return nil, errorf(ErrMalformed, "KDF options are %d bytes, need at least 4 (rounds)", len(opts))
		}
		e.rounds = uint32(opts[0])<<24 | uint32(opts[1])<<16 | uint32(opts[2])<<8 | uint32(opts[3])
		e.salt = opts[4:]
	}
	e.cipher = string(r.str("cipher name"))
	e.blob = r.str("private key blob")
	if r.err == nil && len(r.buf) > 0 {
		e.comment = r.str("comment")
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.buf) > 0 {
		return nil, errorf(ErrMalformed, "%d bytes of trailing data after the comment", len(r.buf))
	}

	switch e.kdf {
	case KDFNone:
	case KDFScrypt:
		e.rounds = 0 // ignored by every implementation
	case KDFBcrypt:
		if e.rounds < 1 {
			return nil, errorf(ErrMalformed, "bcrypt rounds must be at least 1")
		}
		if e.rounds > MaxBcryptRounds {
			return nil, errorf(ErrUnsupported, "bcrypt rounds %d exceed the limit of %d", e.rounds, MaxBcryptRounds)
		}
		if len(e.salt) == 0 {
			return nil, errorf(ErrMalformed, "empty bcrypt salt")
		}
	case KDFPBKDF2:
		if e.rounds < 1 {
			return nil, errorf(ErrMalformed, "pbkdf2_hmac_sha256 rounds must be at least 1")
		}
		if e.rounds > MaxPBKDF2Rounds {
			return nil, errorf(ErrUnsupported, "pbkdf2_hmac_sha256 rounds %d exceed the limit of %d", e.rounds, MaxPBKDF2Rounds)
		}
	default:
		return nil, errorf(ErrUnsupported, "unsupported KDF %s", quoteName(e.kdf))
	}

	switch e.cipher {
	case CipherNone:
		if e.kdf != KDFNone {
			return nil, errorf(ErrMalformed, "KDF %s given for an unencrypted key (cipher none)", e.kdf)
		}
		if len(e.blob) != secretSize {
			return nil, errorf(ErrMalformed, "unencrypted private key is %d bytes, want %d", len(e.blob), secretSize)
		}
	case CipherChaCha20Poly1305:
		if e.kdf == KDFNone {
			return nil, errorf(ErrMalformed, "encrypted private key with KDF none")
		}
		if want := nonceSize + secretSize + tagSize; len(e.blob) != want {
			return nil, errorf(ErrMalformed, "encrypted private key is %d bytes, want %d", len(e.blob), want)
		}
	default:
		return nil, errorf(ErrUnsupported, "unsupported cipher %s", quoteName(e.cipher))
	}
	return &e, nil
}

// quoteName quotes a name read from a file for an error message, shortening
// absurdly long ones.
func quoteName(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// reader reads big-endian uint16-length-prefixed strings. After the first
// failure it records ErrTruncated in err and returns nil.
type reader struct {
	buf []byte
	err error
}

func (r *reader) str(field string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.buf) < 2 {
		r.err = errorf(ErrTruncated, "truncated key file: the %s length is missing", field)
		return nil
	}
	n := int(r.buf[0])<<8 | int(r.buf[1])
	if len(r.buf)-2 < n {
		r.err = errorf(ErrTruncated, "truncated key file: the %s needs %d bytes, %d left", field, n, len(r.buf)-2)
		return nil
	}
	s := r.buf[2 : 2+n]
	r.buf = r.buf[2+n:]
	return s
}
