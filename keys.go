package crypt4gh

import (
	"errors"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
	"github.com/crypt4gh-go/crypt4gh/internal/sshkey"
)

// PassphraseFunc returns the passphrase of an encrypted key file. It is
// called only if the key is encrypted, so plain keys never prompt.
type PassphraseFunc func() ([]byte, error)

// ParseIdentity reads a private key file: a Crypt4GH key (c4gh-v1, with
// kdf none, scrypt, bcrypt or pbkdf2_hmac_sha256, under any PEM label) or an
// OpenSSH Ed25519 key (converted to X25519 as libsodium does). passphrase
// may be nil for unencrypted keys. A wrong passphrase gives an error
// wrapping ErrIncorrectPassphrase; an unreadable file one wrapping
// ErrMalformedKey.
func ParseIdentity(data []byte, passphrase PassphraseFunc) (*X25519Identity, error) {
	if sshkey.IsPrivateKey(data) {
		secret, comment, err := sshkey.ParsePrivateKey(data, passphrase)
		if err != nil {
			return nil, mapKeyError(err)
		}
		defer clear(secret[:])
		id, err := NewX25519Identity(secret[:])
		if err != nil {
			return nil, err
		}
		id.Comment = comment
		return id, nil
	}
	k, err := keyfile.ParsePrivateKey(data, keyfile.PassphraseFunc(passphrase))
	if err != nil {
		return nil, mapKeyError(err)
	}
	defer clear(k.Secret[:])
	id, err := NewX25519Identity(k.Secret[:])
	if err != nil {
		return nil, err
	}
	id.Comment = k.Comment
	return id, nil
}

// ParseRecipient reads a public key file: a Crypt4GH public key (PEM
// armoured 32 bytes) or an OpenSSH "ssh-ed25519 AAAA…" line, converted to
// X25519.
func ParseRecipient(data []byte) (*X25519Recipient, error) {
	if sshkey.IsPublicKey(data) {
		pub, _, err := sshkey.ParsePublicKey(data)
		if err != nil {
			return nil, mapKeyError(err)
		}
		return NewX25519Recipient(pub[:])
	}
	pub, err := keyfile.ParsePublicKey(data)
	if err != nil {
		return nil, mapKeyError(err)
	}
	return NewX25519Recipient(pub[:])
}

func mapKeyError(err error) error {
	var pe *keyfile.PassphraseError
	switch {
	case errors.As(err, &pe):
		return pe.Err // the passphrase source's own error, unchanged
	case errors.Is(err, keyfile.ErrIncorrectPassphrase), errors.Is(err, sshkey.ErrIncorrectPassphrase):
		return fmt.Errorf("%w", ErrIncorrectPassphrase)
	case errors.Is(err, keyfile.ErrPassphraseRequired), errors.Is(err, sshkey.ErrPassphraseRequired):
		return ErrPassphraseRequired
	}
	return fmt.Errorf("%w: %v", ErrMalformedKey, err)
}

// KeyFileOptions adjust [MarshalIdentity].
type KeyFileOptions struct {
	// KDF is the passphrase hash: "scrypt" (the default), "bcrypt" (OpenSSH
	// bcrypt_pbkdf) or "pbkdf2_hmac_sha256". Ignored without a passphrase.
	KDF string
	// Rounds for bcrypt (default 100) and pbkdf2 (default 100000).
	Rounds uint32
	// Comment is stored in the key file in clear.
	Comment string
}

// MarshalIdentity returns a Crypt4GH private key file for id, in the form
// the Python reference writes (label "CRYPT4GH PRIVATE KEY"). With a
// non-empty passphrase the key is encrypted with ChaCha20-Poly1305 under a
// key derived by opts.KDF; otherwise it is stored in clear. Write the
// result with mode 0600.
func MarshalIdentity(id *X25519Identity, passphrase []byte, opts *KeyFileOptions) ([]byte, error) {
	if opts == nil {
		opts = &KeyFileOptions{}
	}
	kdf := opts.KDF
	if len(passphrase) == 0 {
		kdf = "none"
	} else if kdf == "" {
		kdf = "scrypt"
	}
	return keyfile.MarshalPrivateKey(id.secret, passphrase, keyfile.WriteOptions{KDF: kdf, Rounds: opts.Rounds, Comment: opts.Comment})
}

// MarshalRecipient returns a Crypt4GH public key file for r.
func MarshalRecipient(r *X25519Recipient) []byte { return keyfile.MarshalPublicKey(r.public) }
