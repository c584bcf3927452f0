package keyfile

import (
	"bytes"
	"fmt"
	"strings"
)

// Version 2 key files (doc/crypt4gh-v2.md, section 12) hold the keys of the
// v2 profile: hybrid post-quantum recipients and signing keys. They reuse the
// v1 container with another magic and a key type:
//
//	private: "c4gh-v2" | string key_type | string kdfname | [string kdfoptions] | string ciphername | string blob | [string comment]
//	public:  "c4gh-v2" | string key_type | string public_key
//
// with the KDFs and the ChaCha20-Poly1305 key encryption of v1 files.

// Armour labels of version 2 key files. Readers accept any label and decide
// from the content.
const (
	LabelV2Private = "CRYPT4GH V2 PRIVATE KEY"
	LabelV2Public  = "CRYPT4GH V2 PUBLIC KEY"
)

// Key types of version 2 key files.
const (
	// KeyTypeX25519MLKEM1024 is a hybrid recipient: secret x25519_sk[32] ||
	// mlkem_seed[64], public x25519_pk[32] || mlkem_ek[1568].
	KeyTypeX25519MLKEM1024 = "x25519-mlkem1024"
	// KeyTypeEd25519 is an Ed25519 signing key: secret seed[32], public pk[32].
	KeyTypeEd25519 = "ed25519"
	// KeyTypeMLDSA65 is an ML-DSA-65 signing key: secret seed ξ[32], public pk[1952].
	KeyTypeMLDSA65 = "mldsa65"
	// KeyTypeMLDSA87 is an ML-DSA-87 signing key: secret seed ξ[32], public pk[2592].
	KeyTypeMLDSA87 = "mldsa87"
)

const magicV2 = "c4gh-v2"

// v2Sizes gives the secret (before encryption) and public key sizes of each
// key type.
var v2Sizes = map[string]struct{ secret, public int }{
	KeyTypeX25519MLKEM1024: {32 + 64, 32 + 1568},
	KeyTypeEd25519:         {32, 32},
	KeyTypeMLDSA65:         {32, 1952},
	KeyTypeMLDSA87:         {32, 2592},
}

// V2KeySizes returns the secret and public key sizes of a version 2 key
// type, and false if the type is unknown.
func V2KeySizes(keyType string) (secret, public int, ok bool) {
	s, ok := v2Sizes[keyType]
	return s.secret, s.public, ok
}

// V2PrivateKey is a decoded version 2 private key.
type V2PrivateKey struct {
	// Type is the key type (a KeyType* constant).
	Type string
	// Secret is the private key blob after decryption (its size depends on
	// Type). The caller should clear it when done.
	Secret []byte
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

// v2Body splits the body of a version 2 block (which starts with the magic)
// into the key type and the rest, and reports whether it is a public key:
// the key type and exactly one more string, under a label without
// "PRIVATE" (as for v1 public keys). A private key always has at least
// three strings after the key type.
func v2Body(b block) (keyType string, rest []byte, isPublic bool, err error) {
	r := &reader{buf: b.body[len(magicV2):]}
	t := r.str("key type")
	if r.err != nil {
		return "", nil, false, r.err
	}
	rest = r.buf
	probe := &reader{buf: rest}
	probe.str("")
	isPublic = probe.err == nil && len(probe.buf) == 0 && !strings.Contains(b.label, "PRIVATE")
	return string(t), rest, isPublic, nil
}

// v2Kind is what a version 2 armour block holds: notAKey, or the body's
// layout.
func v2Kind(data []byte) (isV2, isPublic bool) {
	b, err := decodeArmor(data)
	if err != nil {
		return false, false
	}
	defer clear(b.body)
	if !bytes.HasPrefix(b.body, []byte(magicV2)) {
		return false, false
	}
	_, _, pub, err := v2Body(b)
	if err != nil {
		// A truncated body is a (malformed) private key unless its label
		// says otherwise.
		return true, !strings.Contains(b.label, "PRIVATE")
	}
	return true, pub
}

// IsV2PrivateKey reports whether data looks like a version 2 private key
// file: an armour block whose body starts with "c4gh-v2" and does not have
// the public key layout. It does not validate the rest of the key.
func IsV2PrivateKey(data []byte) bool {
	v2, pub := v2Kind(data)
	return v2 && !pub
}

// IsV2PublicKey reports whether data looks like a version 2 public key file:
// an armour block whose body is "c4gh-v2", a key type and one more string.
// It does not check the key type or the key.
func IsV2PublicKey(data []byte) bool {
	v2, pub := v2Kind(data)
	return v2 && pub
}

// checkKeyType returns an ErrUnsupported error naming an unknown key type.
func checkKeyType(keyType string) error {
	if _, ok := v2Sizes[keyType]; !ok {
		return errorf(ErrUnsupported, "unsupported key type %s (known: %s, %s, %s, %s)", quoteName(keyType),
			KeyTypeX25519MLKEM1024, KeyTypeEd25519, KeyTypeMLDSA65, KeyTypeMLDSA87)
	}
	return nil
}

// decodeV2Private decodes and validates a version 2 private key file
// without any cryptography.
func decodeV2Private(data []byte) (b block, keyType string, enc *encoded, err error) {
	b, err = decodeArmor(data)
	if err != nil {
		return b, "", nil, err
	}
	fail := func(err error) (block, string, *encoded, error) {
		clear(b.body)
		return block{}, "", nil, err
	}
	if !bytes.HasPrefix(b.body, []byte(magicV2)) {
		if classify(b) != notAKey {
			return fail(errorf(ErrMalformed, "this is a version 1 Crypt4GH key, not a version 2 private key"))
		}
		return fail(errorf(ErrMalformed, "not a Crypt4GH version 2 private key (armour label %q; no c4gh-v2 magic)", b.label))
	}
	keyType, rest, isPublic, err := v2Body(b)
	if err != nil {
		return fail(err)
	}
	if isPublic {
		return fail(errorf(ErrMalformed, "this is a public key, not a private key"))
	}
	if err := checkKeyType(keyType); err != nil {
		return fail(err)
	}
	enc, err = decodeContainer(rest, v2Sizes[keyType].secret)
	if err != nil {
		return fail(err)
	}
	return b, keyType, enc, nil
}

// V2PrivateKeyType returns the key type of a version 2 private key file
// after checking its whole structure (KDF, cipher, sizes), without asking
// for a passphrase or doing any cryptography.
func V2PrivateKeyType(data []byte) (string, error) {
	b, keyType, _, err := decodeV2Private(data)
	if err != nil {
		return "", err
	}
	clear(b.body)
	return keyType, nil
}

// ParseV2PrivateKey decodes a version 2 private key file. As with
// ParsePrivateKey, every structural check (key type, sizes, KDF, cipher,
// work factor) happens before passphrase is called; passphrase is called
// once, only for an encrypted key; a nil passphrase gives
// ErrPassphraseRequired and a wrong one ErrIncorrectPassphrase. An unknown
// key type gives an ErrUnsupported error naming it.
func ParseV2PrivateKey(data []byte, passphrase PassphraseFunc) (*V2PrivateKey, error) {
	b, keyType, enc, err := decodeV2Private(data)
	if err != nil {
		return nil, err
	}
	defer clear(b.body)
	k := &V2PrivateKey{
		Type:      keyType,
		Comment:   string(enc.comment),
		KDF:       enc.kdf,
		Rounds:    enc.rounds,
		Encrypted: enc.cipher != CipherNone,
		Label:     b.label,
	}
	if k.Secret, err = enc.secret(passphrase, v2Sizes[keyType].secret); err != nil {
		return nil, err
	}
	return k, nil
}

// MarshalV2PrivateKey returns the armoured version 2 private key file for a
// secret of keyType, which must have the size of the type. Passphrase and
// options are as for MarshalPrivateKey, except that an empty opts.Label
// means LabelV2Private.
func MarshalV2PrivateKey(keyType string, secret, passphrase []byte, opts WriteOptions) ([]byte, error) {
	sizes, ok := v2Sizes[keyType]
	if !ok {
		return nil, checkKeyType(keyType)
	}
	if len(secret) != sizes.secret {
		return nil, fmt.Errorf("keyfile: %s private key is %d bytes, want %d", keyType, len(secret), sizes.secret)
	}
	label := opts.Label
	if label == "" {
		label = LabelV2Private
	}
	prefix := appendStr([]byte(magicV2), []byte(keyType))
	return marshalPrivate(label, prefix, secret, passphrase, opts)
}

// ParseV2PublicKey decodes a version 2 public key file and returns its key
// type and raw public key, whose size is checked against the type. Any
// armour label is accepted.
func ParseV2PublicKey(data []byte) (keyType string, pub []byte, err error) {
	b, err := decodeArmor(data)
	if err != nil {
		return "", nil, err
	}
	defer clear(b.body)
	if !bytes.HasPrefix(b.body, []byte(magicV2)) {
		if classify(b) != notAKey {
			return "", nil, errorf(ErrMalformed, "this is a version 1 Crypt4GH key, not a version 2 public key")
		}
		return "", nil, errorf(ErrMalformed, "not a Crypt4GH version 2 public key (armour label %q; no c4gh-v2 magic)", b.label)
	}
	keyType, rest, isPublic, err := v2Body(b)
	if err != nil {
		return "", nil, err
	}
	if !isPublic {
		r := &reader{buf: rest}
		r.str("public key")
		if r.err != nil {
			return "", nil, r.err
		}
		r.str("")
		r.str("")
		if r.err == nil || strings.Contains(b.label, "PRIVATE") {
			return "", nil, errorf(ErrMalformed, "this is a private key, not a public key")
		}
		return "", nil, errorf(ErrMalformed, "trailing data after the public key")
	}
	if err := checkKeyType(keyType); err != nil {
		return "", nil, err
	}
	r := &reader{buf: rest}
	key := r.str("public key")
	if want := v2Sizes[keyType].public; len(key) != want {
		return "", nil, errorf(ErrMalformed, "%s public key is %d bytes, want %d", keyType, len(key), want)
	}
	return keyType, bytes.Clone(key), nil
}

// MarshalV2PublicKey returns the armoured version 2 public key file
// (LabelV2Public) for pub. keyType must be known and pub of its size: the
// root package's key types guarantee it, and anything else is a programming
// error, so it panics rather than write a file no reader accepts.
func MarshalV2PublicKey(keyType string, pub []byte) []byte {
	sizes, ok := v2Sizes[keyType]
	if !ok || len(pub) != sizes.public {
		panic(fmt.Sprintf("keyfile: MarshalV2PublicKey: %d-byte public key of type %q", len(pub), keyType))
	}
	body := appendStr([]byte(magicV2), []byte(keyType))
	body = appendStr(body, pub)
	return encodeArmor(LabelV2Public, body)
}
