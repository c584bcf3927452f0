package keyfile

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"

	"github.com/crypt4gh-go/crypt4gh/internal/bcryptpbkdf"
)

// deriveKey runs the named KDF (validated by the caller) and returns a
// 32-byte key the caller must clear.
func deriveKey(kdf string, passphrase, salt []byte, rounds uint32) ([]byte, error) {
	switch kdf {
	case KDFScrypt:
		return scrypt.Key(passphrase, salt, scryptN, scryptR, scryptP, keySize)
	case KDFBcrypt:
		if len(passphrase) == 0 {
			// bcrypt_pbkdf rejects empty passwords, so no key was made with one.
			return nil, ErrIncorrectPassphrase
		}
		return bcryptpbkdf.Key(passphrase, salt, int(rounds), keySize)
	case KDFPBKDF2:
		return pbkdf2.Key(sha256.New, string(passphrase), salt, int(rounds), keySize)
	}
	return nil, errorf(ErrUnsupported, "unsupported KDF %s", quoteName(kdf))
}

// PassphraseError carries an error of the passphrase source itself (no
// terminal, the user gave up): not a problem of the key file, so callers
// report Err as it is.
type PassphraseError struct {
	Pkg string // the parser reporting it, for the message prefix
	Err error
}

func (e *PassphraseError) Error() string { return e.Pkg + ": reading the passphrase: " + e.Err.Error() }

// Unwrap returns the passphrase source's error.
func (e *PassphraseError) Unwrap() error { return e.Err }

// secret returns the secret the container holds (secretSize bytes): the
// blob itself when unencrypted, else the blob opened with the passphrase,
// which is asked for only then. The caller must clear the result.
func (enc *encoded) secret(passphrase PassphraseFunc, secretSize int) ([]byte, error) {
	if enc.cipher == CipherNone {
		return bytes.Clone(enc.blob), nil
	}
	if passphrase == nil {
		return nil, ErrPassphraseRequired
	}
	pw, err := passphrase()
	if err != nil {
		return nil, &PassphraseError{Pkg: "keyfile", Err: err}
	}
	return openBlob(enc, pw, secretSize)
}

// openBlob derives the key-encryption key from passphrase and opens
// enc.blob (nonce || ciphertext || tag), which holds a secret of secretSize
// bytes. The caller must clear the result.
func openBlob(enc *encoded, passphrase []byte, secretSize int) ([]byte, error) {
	kek, err := deriveKey(enc.kdf, passphrase, enc.salt, enc.rounds)
	if err != nil {
		if errors.Is(err, ErrIncorrectPassphrase) || errors.Is(err, ErrUnsupported) {
			return nil, err
		}
		return nil, fmt.Errorf("keyfile: deriving the key from the passphrase (%s): %w", enc.kdf, err)
	}
	defer clear(kek)
	aead, err := chacha20poly1305.New(kek)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	nonce, sealed := enc.blob[:nonceSize], enc.blob[nonceSize:]
	plain, err := aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, ErrIncorrectPassphrase
	}
	if len(plain) != secretSize { // unreachable: the blob size was checked
		clear(plain)
		return nil, errorf(ErrMalformed, "decrypted private key is %d bytes", len(plain))
	}
	return plain, nil
}

// WriteOptions controls MarshalPrivateKey. The zero value writes an
// unencrypted key (or an scrypt-protected one when a passphrase is given)
// under LabelPrivate, without comment, using crypto/rand.
type WriteOptions struct {
	// KDF is KDFScrypt (the default when a passphrase is given), KDFBcrypt,
	// KDFPBKDF2 or KDFNone (the only choice, and the default, without a
	// passphrase).
	KDF string
	// Rounds is the bcrypt or PBKDF2 work factor; 0 means the Python
	// defaults (bcrypt 100, PBKDF2 100000). It is ignored for scrypt (which
	// always stores 0) and must not exceed MaxBcryptRounds/MaxPBKDF2Rounds.
	Rounds uint32
	// Comment is stored in clear after the key, if not empty (at most 65535 bytes).
	Comment string
	// Label is the armour label; "" means LabelPrivate. It must not contain
	// line breaks.
	Label string
	// Rand supplies the salt and nonce; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Default work factors, as written by Python crypt4gh.
const (
	defaultBcryptRounds = 100
	defaultPBKDF2Rounds = 100_000
)

// MarshalPrivateKey returns the armoured Crypt4GH private key file for
// secret. With an empty passphrase the key is stored unencrypted (KDF none);
// otherwise it is encrypted with ChaCha20-Poly1305 under a key derived from
// passphrase by opts.KDF with a random 16-byte salt and 12-byte nonce. The
// output is a BEGIN line, the base64 body on one line and an END line, each
// terminated by LF, as Python crypt4gh writes it; ParsePrivateKey reads it
// back. It fails on an invalid option combination (for example a passphrase
// with KDF none) or if opts.Rand fails.
func MarshalPrivateKey(secret [32]byte, passphrase []byte, opts WriteOptions) ([]byte, error) {
	label := opts.Label
	if label == "" {
		label = LabelPrivate
	}
	return marshalPrivate(label, []byte(magic), secret[:], passphrase, opts)
}

// marshalPrivate returns the armoured private key file whose body is prefix
// followed by the container (KDF, KDF options, cipher, blob, comment)
// holding secret.
func marshalPrivate(label string, prefix, secret, passphrase []byte, opts WriteOptions) ([]byte, error) {
	if strings.ContainsAny(label, "\r\n") {
		return nil, errors.New("keyfile: the armour label must not contain line breaks")
	}
	if len(opts.Comment) > 0xffff {
		return nil, errors.New("keyfile: the comment is longer than 65535 bytes")
	}

	kdf, rounds := opts.KDF, opts.Rounds
	if len(passphrase) == 0 {
		if kdf != "" && kdf != KDFNone {
			return nil, fmt.Errorf("keyfile: KDF %s needs a passphrase", quoteName(kdf))
		}
		kdf = KDFNone
	} else if kdf == "" {
		kdf = KDFScrypt
	}
	switch kdf {
	case KDFNone:
		if len(passphrase) != 0 {
			return nil, errors.New("keyfile: a passphrase was given with KDF none")
		}
	case KDFScrypt:
		rounds = 0
	case KDFBcrypt:
		if rounds == 0 {
			rounds = defaultBcryptRounds
		}
		if rounds > MaxBcryptRounds {
			return nil, fmt.Errorf("keyfile: bcrypt rounds %d exceed the limit of %d", rounds, MaxBcryptRounds)
		}
	case KDFPBKDF2:
		if rounds == 0 {
			rounds = defaultPBKDF2Rounds
		}
		if rounds > MaxPBKDF2Rounds {
			return nil, fmt.Errorf("keyfile: pbkdf2_hmac_sha256 rounds %d exceed the limit of %d", rounds, MaxPBKDF2Rounds)
		}
	default:
		return nil, fmt.Errorf("keyfile: unsupported KDF %s", quoteName(kdf))
	}

	blobSize := nonceSize + len(secret) + tagSize
	body := make([]byte, 0, len(prefix)+2*6+len(kdf)+4+saltSize+len(CipherChaCha20Poly1305)+blobSize+len(opts.Comment))
	body = append(body, prefix...)
	body = appendStr(body, []byte(kdf))
	if kdf == KDFNone {
		body = appendStr(body, []byte(CipherNone))
		body = appendStr(body, secret)
	} else {
		rnd := opts.Rand
		if rnd == nil {
			rnd = rand.Reader
		}
		var salt [saltSize]byte
		var nonce [nonceSize]byte
		if _, err := io.ReadFull(rnd, salt[:]); err != nil {
			return nil, fmt.Errorf("keyfile: reading random salt: %w", err)
		}
		if _, err := io.ReadFull(rnd, nonce[:]); err != nil {
			return nil, fmt.Errorf("keyfile: reading random nonce: %w", err)
		}
		var opt [4 + saltSize]byte
		binary.BigEndian.PutUint32(opt[:4], rounds)
		copy(opt[4:], salt[:])
		body = appendStr(body, opt[:])
		body = appendStr(body, []byte(CipherChaCha20Poly1305))

		kek, err := deriveKey(kdf, passphrase, salt[:], rounds)
		if err != nil {
			return nil, fmt.Errorf("keyfile: deriving the key from the passphrase (%s): %w", kdf, err)
		}
		aead, err := chacha20poly1305.New(kek)
		clear(kek)
		if err != nil {
			return nil, fmt.Errorf("keyfile: %w", err)
		}
		blob := make([]byte, 0, blobSize)
		blob = append(blob, nonce[:]...)
		blob = aead.Seal(blob, nonce[:], secret, nil)
		body = appendStr(body, blob)
		clear(blob)
	}
	if opts.Comment != "" {
		body = appendStr(body, []byte(opts.Comment))
	}
	out := encodeArmor(label, body)
	clear(body)
	return out, nil
}

// appendStr appends a big-endian uint16-length-prefixed string.
func appendStr(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// MarshalPublicKey returns the Crypt4GH public key file for pub:
// "-----BEGIN CRYPT4GH PUBLIC KEY-----\n<base64>\n-----END CRYPT4GH PUBLIC KEY-----\n".
func MarshalPublicKey(pub [32]byte) []byte {
	return encodeArmor(LabelPublic, pub[:])
}
