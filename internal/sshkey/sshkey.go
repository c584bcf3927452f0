// Package sshkey reads OpenSSH Ed25519 keys and converts them to the X25519
// keys Crypt4GH uses.
//
// Private keys are in the openssh-key-v1 format ("-----BEGIN OPENSSH PRIVATE
// KEY-----", see OpenSSH PROTOCOL.key), unencrypted or encrypted with
// bcrypt_pbkdf and one of the ciphers ssh-keygen offers. Public keys are
// authorized_keys lines ("ssh-ed25519 AAAA... comment") or RFC 4716 blocks
// ("---- BEGIN SSH2 PUBLIC KEY ----"). Only ssh-ed25519 keys can be converted;
// other key types give an ErrUnsupported error that names the type.
//
// The conversion matches libsodium's crypto_sign_ed25519_sk_to_curve25519 and
// crypto_sign_ed25519_pk_to_curve25519, as used by Python crypt4gh: the X25519
// secret is the clamped first half of SHA-512(seed), and the X25519 public key
// is the Montgomery u-coordinate (1+y)/(1-y) of the Ed25519 point.
//
// Errors are prefixed "sshkey: " and never contain key material or
// passphrases; classify them with errors.Is against ErrMalformed,
// ErrTruncated, ErrUnsupported, ErrIncorrectPassphrase and
// ErrPassphraseRequired.
package sshkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/internal/bcryptpbkdf"
	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
)

// MaxBcryptRounds bounds the bcrypt_pbkdf rounds a private key may demand
// (ssh-keygen uses 16 by default), so that a hostile file cannot keep a reader
// busy for hours: at the limit, the 64-byte derivation of the costliest
// cipher takes about 70 s on a 2020s x86 core. Files above it are rejected
// with ErrUnsupported.
const MaxBcryptRounds = 1 << 13

// Error classes. Every error returned by this package matches (errors.Is)
// one of these, or wraps an error returned by the passphrase function.
var (
	// ErrMalformed: not an OpenSSH key, or a structurally invalid one.
	// Errors matching ErrTruncated also match ErrMalformed.
	ErrMalformed = errors.New("sshkey: malformed key file")
	// ErrTruncated: the key data ends in the middle of a field.
	ErrTruncated error = &subError{msg: "sshkey: truncated key file", parent: ErrMalformed}
	// ErrUnsupported: a key type other than ssh-ed25519, an unknown cipher
	// or KDF (the message names it), or a KDF work factor above the limit.
	ErrUnsupported = errors.New("sshkey: unsupported key")
	// ErrIncorrectPassphrase: the decrypted private section does not check
	// out (check integers or authentication tag), so the passphrase is wrong
	// or the key file was tampered with.
	ErrIncorrectPassphrase = errors.New("sshkey: incorrect passphrase (or the key file is corrupt)")
	// ErrPassphraseRequired: the key is encrypted and no passphrase function was given.
	ErrPassphraseRequired = errors.New("sshkey: the private key is encrypted and needs a passphrase")
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

func (e *classError) Error() string { return "sshkey: " + e.msg }
func (e *classError) Unwrap() error { return e.class }

func errorf(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// quoteName quotes a name read from a file for an error message, shortening
// absurdly long ones.
func quoteName(b []byte) string {
	const max = 64
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

const (
	pemType        = "OPENSSH PRIVATE KEY"
	privateMagic   = "openssh-key-v1\x00"
	keyTypeEd      = "ssh-ed25519"
	kdfNone        = "none"
	kdfBcrypt      = "bcrypt"
	unsupportedMsg = " (only ssh-ed25519 can be converted to X25519)"
)

// IsPrivateKey reports whether data contains an armoured openssh-key-v1
// private key ("-----BEGIN OPENSSH PRIVATE KEY-----" whose content starts with
// the openssh-key-v1 magic). It does not validate the rest of the key.
func IsPrivateKey(data []byte) bool {
	body := findPEM(data)
	defer clear(body)
	return bytes.HasPrefix(body, []byte(privateMagic))
}

// findPEM returns the decoded content of the first OPENSSH PRIVATE KEY block
// in data, or nil.
func findPEM(data []byte) []byte {
	for rest := data; len(rest) > 0; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type == pemType {
			return b.Bytes
		}
		clear(b.Bytes)
	}
	return nil
}

// ParsePrivateKey decodes an OpenSSH Ed25519 private key file and returns the
// X25519 secret derived from it (clamp(SHA-512(seed)[:32])) and the key's
// comment. If the key is encrypted, passphrase is called once, after all
// structural checks; if passphrase is nil, ErrPassphraseRequired is returned,
// and an empty passphrase is incorrect (as in OpenSSH). A wrong passphrase
// gives ErrIncorrectPassphrase.
//
// Supported ciphers: none, aes128-ctr, aes192-ctr, aes256-ctr, aes128-cbc,
// aes192-cbc, aes256-cbc, 3des-cbc, aes128-gcm@openssh.com,
// aes256-gcm@openssh.com and chacha20-poly1305@openssh.com; KDFs: none and
// bcrypt (at most MaxBcryptRounds rounds). The file must hold exactly one
// key, of type ssh-ed25519; its padding, check integers and the consistency
// of seed, private and public key are verified.
func ParsePrivateKey(data []byte, passphrase func() ([]byte, error)) (x25519Secret [32]byte, comment string, err error) {
	seed, comment, err := ParseEd25519PrivateKey(data, passphrase)
	if err != nil {
		return x25519Secret, "", err
	}
	h := sha512.Sum512(seed[:])
	clear(seed[:])
	copy(x25519Secret[:], h[:32])
	clear(h[:])
	x25519Secret[0] &= 248
	x25519Secret[31] &= 127
	x25519Secret[31] |= 64
	return x25519Secret, comment, nil
}

// ParseEd25519PrivateKey decodes an OpenSSH Ed25519 private key file like
// ParsePrivateKey, with the same checks and errors, but returns the 32-byte
// Ed25519 seed itself (RFC 8032 private key), for signing. The caller should
// clear it when done.
func ParseEd25519PrivateKey(data []byte, passphrase func() ([]byte, error)) (seed [32]byte, comment string, err error) {
	body := findPEM(data)
	defer clear(body)
	if body == nil {
		return seed, "", errorf(ErrMalformed, "no valid -----BEGIN %s----- block found", pemType)
	}
	if !bytes.HasPrefix(body, []byte(privateMagic)) {
		return seed, "", errorf(ErrMalformed, "not an openssh-key-v1 private key (magic missing)")
	}
	r := &reader{buf: body[len(privateMagic):]}
	cipherName := r.str("cipher name")
	kdfName := r.str("KDF name")
	kdfOptions := r.str("KDF options")
	nkeys := r.uint32("number of keys")
	pubBlob := r.str("public key")
	sealed := r.str("private section")
	if r.err != nil {
		return seed, "", r.err
	}
	if nkeys != 1 {
		return seed, "", errorf(ErrMalformed, "the file holds %d keys, want exactly 1", nkeys)
	}
	pub, err := parsePublicBlob(pubBlob, "")
	if err != nil {
		return seed, "", err
	}

	ciph, ok := ciphers[string(cipherName)]
	if !ok {
		return seed, "", errorf(ErrUnsupported, "unsupported cipher %s", quoteName(cipherName))
	}
	tag := r.buf // AEAD ciphers append their tag after the private section
	if len(tag) != ciph.tagLen {
		return seed, "", errorf(ErrMalformed, "%d bytes after the private section, want %d", len(tag), ciph.tagLen)
	}
	if len(sealed) == 0 || len(sealed)%ciph.blockSize != 0 {
		return seed, "", errorf(ErrMalformed, "private section is %d bytes, not a positive multiple of the %d-byte block size", len(sealed), ciph.blockSize)
	}

	var salt []byte
	var rounds uint32
	switch string(kdfName) {
	case kdfNone:
		if len(kdfOptions) != 0 {
			return seed, "", errorf(ErrMalformed, "KDF none with KDF options")
		}
		if ciph.name != "none" {
			return seed, "", errorf(ErrMalformed, "cipher %s with KDF none", ciph.name)
		}
	case kdfBcrypt:
		if ciph.name == "none" {
			return seed, "", errorf(ErrMalformed, "KDF bcrypt with cipher none")
		}
		o := &reader{buf: kdfOptions}
		salt = o.str("bcrypt salt")
		rounds = o.uint32("bcrypt rounds")
		if o.err != nil {
			return seed, "", o.err
		}
		switch {
		case len(o.buf) != 0:
			return seed, "", errorf(ErrMalformed, "trailing data in the bcrypt KDF options")
		case len(salt) == 0:
			return seed, "", errorf(ErrMalformed, "empty bcrypt salt")
		case rounds < 1:
			return seed, "", errorf(ErrMalformed, "bcrypt rounds must be at least 1")
		case rounds > MaxBcryptRounds:
			return seed, "", errorf(ErrUnsupported, "bcrypt rounds %d exceed the limit of %d", rounds, MaxBcryptRounds)
		}
	default:
		return seed, "", errorf(ErrUnsupported, "unsupported KDF %s", quoteName(kdfName))
	}

	encrypted := ciph.name != "none"
	plain := sealed
	if encrypted {
		if passphrase == nil {
			return seed, "", ErrPassphraseRequired
		}
		pw, err := passphrase()
		if err != nil {
			return seed, "", &keyfile.PassphraseError{Pkg: "sshkey", Err: err}
		}
		if len(pw) == 0 {
			return seed, "", ErrIncorrectPassphrase
		}
		key, err := bcryptpbkdf.Key(pw, salt, int(rounds), ciph.keyLen+ciph.ivLen)
		if err != nil {
			return seed, "", fmt.Errorf("sshkey: deriving the key from the passphrase: %w", err)
		}
		plain, err = ciph.decrypt(key[:ciph.keyLen], key[ciph.keyLen:], sealed, tag)
		clear(key)
		if err != nil {
			return seed, "", err
		}
		defer clear(plain)
	}

	sd, comment, err := parsePrivateSection(plain, pub, encrypted)
	if err != nil {
		return seed, "", err
	}
	copy(seed[:], sd)
	return seed, comment, nil
}

// parsePrivateSection checks the decrypted private section against the
// public key from the outer structure, checks the padding (1, 2, 3, ... as
// OpenSSH writes and verifies it) and returns the Ed25519 seed (aliasing
// plain) and the comment.
func parsePrivateSection(plain, pub []byte, encrypted bool) (seed []byte, comment string, err error) {
	r := &reader{buf: plain}
	check1 := r.uint32("check integer")
	check2 := r.uint32("check integer")
	if r.err == nil && check1 != check2 {
		if encrypted {
			return nil, "", ErrIncorrectPassphrase
		}
		return nil, "", errorf(ErrMalformed, "check integers differ in an unencrypted key")
	}
	keyType := r.str("key type")
	if r.err == nil && string(keyType) != keyTypeEd {
		return nil, "", errorf(ErrMalformed, "private key type %s differs from the public key type %q", quoteName(keyType), keyTypeEd)
	}
	pub2 := r.str("Ed25519 public key")
	priv := r.str("Ed25519 private key")
	cmt := r.str("comment")
	if r.err != nil {
		return nil, "", r.err
	}
	switch {
	case len(pub2) != ed25519.PublicKeySize:
		return nil, "", errorf(ErrMalformed, "Ed25519 public key is %d bytes, want %d", len(pub2), ed25519.PublicKeySize)
	case len(priv) != ed25519.PrivateKeySize:
		return nil, "", errorf(ErrMalformed, "Ed25519 private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	case !bytes.Equal(pub2, pub) || !bytes.Equal(priv[32:], pub):
		return nil, "", errorf(ErrMalformed, "the private section's public key differs from the file's public key")
	}
	for i, b := range r.buf {
		if int(b) != i+1 {
			return nil, "", errorf(ErrMalformed, "invalid padding after the private key")
		}
	}
	seed = priv[:ed25519.SeedSize]
	derived := ed25519.NewKeyFromSeed(seed)
	defer clear(derived)
	if subtle.ConstantTimeCompare(derived[32:], pub) != 1 {
		return nil, "", errorf(ErrMalformed, "the Ed25519 seed does not match the public key")
	}
	return seed, string(cmt), nil
}

// parsePublicBlob decodes an SSH wire-format public key blob (string type,
// string key) and returns the 32-byte Ed25519 key. If wantType is not empty,
// the blob's type must equal it.
func parsePublicBlob(blob []byte, wantType string) ([]byte, error) {
	r := &reader{buf: blob}
	keyType := r.str("public key type")
	if r.err != nil {
		return nil, r.err
	}
	if wantType != "" && string(keyType) != wantType {
		return nil, errorf(ErrMalformed, "key type %s inside the key differs from %s outside", quoteName(keyType), quoteName([]byte(wantType)))
	}
	if string(keyType) != keyTypeEd {
		return nil, errorf(ErrUnsupported, "unsupported ssh key type %s%s", quoteName(keyType), unsupportedMsg)
	}
	key := r.str("Ed25519 public key")
	if r.err != nil {
		return nil, r.err
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, errorf(ErrMalformed, "Ed25519 public key is %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	if len(r.buf) != 0 {
		return nil, errorf(ErrMalformed, "trailing data after the Ed25519 public key")
	}
	return key, nil
}

// reader reads SSH wire-format values (big-endian uint32 and
// uint32-length-prefixed strings). After the first failure it records an
// ErrTruncated error in err and returns zero values.
type reader struct {
	buf []byte
	err error
}

func (r *reader) uint32(field string) uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.buf) < 4 {
		r.err = errorf(ErrTruncated, "truncated key file: the %s is missing", field)
		return 0
	}
	v := binary.BigEndian.Uint32(r.buf)
	r.buf = r.buf[4:]
	return v
}

func (r *reader) str(field string) []byte {
	n := r.uint32(field + " length")
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.buf)) {
		r.err = errorf(ErrTruncated, "truncated key file: the %s needs %d bytes, %d left", field, n, len(r.buf))
		return nil
	}
	s := r.buf[:n]
	r.buf = r.buf[n:]
	return s
}
