package crypt4gh

import (
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
	"github.com/crypt4gh-go/crypt4gh/internal/sshkey"
)

// Version 2 key files (doc/crypt4gh-v2.md, section 12): hybrid
// post-quantum keys and signing keys, in the container of Crypt4GH v1
// private keys with the magic "c4gh-v2" and a key type.

// ParsePrivateKey reads any private key file this package can decrypt
// with: everything [ParseIdentity] accepts (returned as *X25519Identity) and
// version 2 "x25519-mlkem1024" keys (returned as *HybridIdentity). Signing
// keys are refused with an error saying so. Errors are as for
// ParseIdentity.
func ParsePrivateKey(data []byte, passphrase PassphraseFunc) (Identity, error) {
	switch {
	case keyfile.IsV2PrivateKey(data):
		k, err := parseV2PrivateKey(data, passphrase, keyfile.KeyTypeX25519MLKEM1024)
		if err != nil {
			return nil, err
		}
		defer clear(k.Secret)
		id, err := NewHybridIdentity(k.Secret)
		if err != nil {
			return nil, err
		}
		id.Comment = k.Comment
		return id, nil
	case keyfile.IsV2PublicKey(data):
		return nil, fmt.Errorf("%w: this is a public key, not a private key", ErrMalformedKey)
	}
	id, err := ParseIdentity(data, passphrase)
	if err != nil {
		return nil, err
	}
	return id, nil
}

// ParsePublicKey reads any public key file packets can be sealed for: a
// Crypt4GH public key or an OpenSSH "ssh-ed25519 AAAA…" line (as
// [ParseRecipient], returned as *X25519Recipient) or a version 2
// "x25519-mlkem1024" public key (returned as *HybridRecipient).
func ParsePublicKey(data []byte) (Recipient, error) {
	switch {
	case keyfile.IsV2PublicKey(data):
		keyType, pub, err := keyfile.ParseV2PublicKey(data)
		if err != nil {
			return nil, mapKeyError(err)
		}
		if keyType != keyfile.KeyTypeX25519MLKEM1024 {
			return nil, wrongKeyType(keyType, keyfile.KeyTypeX25519MLKEM1024)
		}
		return NewHybridRecipient(pub)
	case keyfile.IsV2PrivateKey(data):
		return nil, fmt.Errorf("%w: this is a private key, not a public key", ErrMalformedKey)
	}
	r, err := ParseRecipient(data)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// MarshalHybridIdentity returns a version 2 private key file ("CRYPT4GH V2
// PRIVATE KEY", key type "x25519-mlkem1024") for id, encrypted as
// [MarshalIdentity] does when passphrase is not empty. Write it with mode
// 0600.
func MarshalHybridIdentity(id *HybridIdentity, passphrase []byte, opts *KeyFileOptions) ([]byte, error) {
	if id.xPriv == nil {
		return nil, fmt.Errorf("crypt4gh: the hybrid identity was zeroed")
	}
	secret := id.SecretKey()
	defer clear(secret)
	return keyfile.MarshalV2PrivateKey(keyfile.KeyTypeX25519MLKEM1024, secret, passphrase, v2WriteOptions(passphrase, opts))
}

// MarshalHybridRecipient returns a version 2 public key file ("CRYPT4GH V2
// PUBLIC KEY", key type "x25519-mlkem1024") for r.
func MarshalHybridRecipient(r *HybridRecipient) []byte {
	return keyfile.MarshalV2PublicKey(keyfile.KeyTypeX25519MLKEM1024, r.public)
}

// ParseEd25519Signer reads an Ed25519 signing key: a version 2 "ed25519"
// private key file or an OpenSSH Ed25519 private key (whose seed is used as
// is). Errors are as for [ParseIdentity].
func ParseEd25519Signer(data []byte, passphrase PassphraseFunc) (*Ed25519Signer, error) {
	if sshkey.IsPrivateKey(data) {
		seed, comment, err := sshkey.ParseEd25519PrivateKey(data, passphrase)
		if err != nil {
			return nil, mapKeyError(err)
		}
		defer clear(seed[:])
		s, err := NewEd25519Signer(seed[:])
		if err != nil {
			return nil, err
		}
		s.Comment = comment
		return s, nil
	}
	if keyfile.IsPrivateKey(data) {
		return nil, fmt.Errorf("%w: this is a Crypt4GH (c4gh-v1) decryption key, not an Ed25519 signing key", ErrMalformedKey)
	}
	k, err := parseV2PrivateKey(data, passphrase, keyfile.KeyTypeEd25519)
	if err != nil {
		return nil, err
	}
	defer clear(k.Secret)
	s, err := NewEd25519Signer(k.Secret)
	if err != nil {
		return nil, err
	}
	s.Comment = k.Comment
	return s, nil
}

// ParseEd25519Verifier reads an Ed25519 signature verification key: a
// version 2 "ed25519" public key file or an OpenSSH "ssh-ed25519 AAAA…"
// line (or RFC 4716 block).
func ParseEd25519Verifier(data []byte) (*Ed25519Verifier, error) {
	if sshkey.IsPublicKey(data) {
		pub, comment, err := sshkey.ParseEd25519PublicKey(data)
		if err != nil {
			return nil, mapKeyError(err)
		}
		v, err := NewEd25519Verifier(pub[:])
		if err != nil {
			return nil, err
		}
		v.Comment = comment
		return v, nil
	}
	if keyfile.IsPublicKey(data) {
		return nil, fmt.Errorf("%w: this is a Crypt4GH (c4gh-v1) recipient key, not an Ed25519 verification key", ErrMalformedKey)
	}
	keyType, pub, err := keyfile.ParseV2PublicKey(data)
	if err != nil {
		return nil, mapKeyError(err)
	}
	if keyType != keyfile.KeyTypeEd25519 {
		return nil, wrongKeyType(keyType, keyfile.KeyTypeEd25519)
	}
	return NewEd25519Verifier(pub)
}

// MarshalEd25519Signer returns a version 2 private key file (key type
// "ed25519") holding s's seed, encrypted as [MarshalIdentity] does when
// passphrase is not empty. Write it with mode 0600.
func MarshalEd25519Signer(s *Ed25519Signer, passphrase []byte, opts *KeyFileOptions) ([]byte, error) {
	if len(s.priv) == 0 {
		return nil, fmt.Errorf("crypt4gh: the Ed25519 signer was zeroed")
	}
	seed := s.Seed()
	defer clear(seed)
	return keyfile.MarshalV2PrivateKey(keyfile.KeyTypeEd25519, seed, passphrase, v2WriteOptions(passphrase, opts))
}

// MarshalEd25519Verifier returns a version 2 public key file (key type
// "ed25519") for v.
func MarshalEd25519Verifier(v *Ed25519Verifier) []byte {
	return keyfile.MarshalV2PublicKey(keyfile.KeyTypeEd25519, v.pub)
}

// v2WriteOptions turns KeyFileOptions into keyfile options as
// MarshalIdentity does.
func v2WriteOptions(passphrase []byte, opts *KeyFileOptions) keyfile.WriteOptions {
	if opts == nil {
		opts = &KeyFileOptions{}
	}
	kdf := opts.KDF
	if len(passphrase) == 0 {
		kdf = "none"
	} else if kdf == "" {
		kdf = "scrypt"
	}
	return keyfile.WriteOptions{KDF: kdf, Rounds: opts.Rounds, Comment: opts.Comment}
}

// parseV2PrivateKey parses a version 2 private key of type want. The type
// is checked before the passphrase is asked for.
func parseV2PrivateKey(data []byte, passphrase PassphraseFunc, want string) (*keyfile.V2PrivateKey, error) {
	keyType, err := keyfile.V2PrivateKeyType(data)
	if err != nil {
		return nil, mapKeyError(err)
	}
	if keyType != want {
		return nil, wrongKeyType(keyType, want)
	}
	k, err := keyfile.ParseV2PrivateKey(data, keyfile.PassphraseFunc(passphrase))
	if err != nil {
		return nil, mapKeyError(err)
	}
	return k, nil
}

// keyRoles says what each version 2 key type is for, for error messages.
var keyRoles = map[string]string{
	keyfile.KeyTypeX25519MLKEM1024: "a hybrid post-quantum encryption key",
	keyfile.KeyTypeEd25519:         "an Ed25519 signing key",
	keyfile.KeyTypeMLDSA65:         "an ML-DSA-65 signing key",
	keyfile.KeyTypeMLDSA87:         "an ML-DSA-87 signing key",
}

// wrongKeyType reports a version 2 key file of another type than wanted.
func wrongKeyType(got, want string) error {
	return fmt.Errorf("%w: the key file holds %s (type %q), not %s (type %q)", ErrMalformedKey, keyRoles[got], got, keyRoles[want], want)
}
