package crypt4gh

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
	"golang.org/x/crypto/curve25519"
)

// X25519Identity is a Crypt4GH private key: an X25519 secret scalar. It
// decrypts header packets of method 0 addressed to its public key.
type X25519Identity struct {
	secret [32]byte
	public [32]byte
	// Comment is the comment stored in the key file, if any.
	Comment string
}

// X25519Recipient is a Crypt4GH public key. Packets sealed for it use a
// fresh ephemeral writer key each, unless a sender is set with WithSender.
type X25519Recipient struct {
	public [32]byte
	sender *X25519Identity
}

var (
	_ Identity  = (*X25519Identity)(nil)
	_ Recipient = (*X25519Recipient)(nil)
)

// GenerateX25519Identity returns a new random key pair.
func GenerateX25519Identity() (*X25519Identity, error) {
	var s [32]byte
	if _, err := rand.Read(s[:]); err != nil {
		return nil, err
	}
	return NewX25519Identity(s[:])
}

// NewX25519Identity returns the identity for a 32-byte X25519 secret. The
// secret is copied.
func NewX25519Identity(secret []byte) (*X25519Identity, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("%w: X25519 secret key is %d bytes, want 32", ErrMalformedKey, len(secret))
	}
	id := &X25519Identity{}
	copy(id.secret[:], secret)
	pub, err := curve25519.X25519(id.secret[:], curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	copy(id.public[:], pub)
	return id, nil
}

// Recipient returns the public key of id.
func (id *X25519Identity) Recipient() *X25519Recipient {
	return &X25519Recipient{public: id.public}
}

// PublicKey returns the 32-byte X25519 public key.
func (id *X25519Identity) PublicKey() []byte { return append([]byte(nil), id.public[:]...) }

// SecretKey returns a copy of the 32-byte X25519 secret. Callers should
// clear it when done.
func (id *X25519Identity) SecretKey() []byte { return append([]byte(nil), id.secret[:]...) }

// Zero overwrites the secret key in memory. The identity is unusable after.
func (id *X25519Identity) Zero() { clear(id.secret[:]) }

// OpenPacket decrypts a method-0 packet addressed to id.
func (id *X25519Identity) OpenPacket(p HeaderPacket) ([]byte, error) {
	if p.Method != format.MethodX25519ChaCha20Poly1305 {
		return nil, fmt.Errorf("%w: packet encryption method %d", ErrIncorrectIdentity, p.Method)
	}
	pt, err := format.OpenX25519Payload(p.Payload, id.secret[:], id.public[:])
	if err == format.ErrPacketNotForKey {
		return nil, ErrIncorrectIdentity
	}
	return pt, err
}

// NewX25519Recipient returns the recipient for a 32-byte X25519 public key.
func NewX25519Recipient(public []byte) (*X25519Recipient, error) {
	if len(public) != 32 {
		return nil, fmt.Errorf("%w: X25519 public key is %d bytes, want 32", ErrMalformedKey, len(public))
	}
	r := &X25519Recipient{}
	copy(r.public[:], public)
	// Reject low-order keys up front: nothing could be sealed for them.
	var probe [32]byte
	probe[0] = 9
	if _, err := curve25519.X25519(probe[:], r.public[:]); err != nil {
		return nil, fmt.Errorf("%w: X25519 public key is a low-order point", ErrMalformedKey)
	}
	return r, nil
}

// PublicKey returns the 32-byte X25519 public key.
func (r *X25519Recipient) PublicKey() []byte { return append([]byte(nil), r.public[:]...) }

// String returns the key as base64, the body of a Crypt4GH public key file.
func (r *X25519Recipient) String() string { return base64.StdEncoding.EncodeToString(r.public[:]) }

// WithSender returns a copy of r whose packets are written with the
// sender's long-term key instead of an ephemeral one, so the reader can
// check where the file came from (decrypt --sender_pk).
func (r *X25519Recipient) WithSender(sender *X25519Identity) *X25519Recipient {
	c := *r
	c.sender = sender
	return &c
}

// SealPacket encrypts a packet plaintext for r.
func (r *X25519Recipient) SealPacket(plaintext []byte) (HeaderPacket, error) {
	writer := r.sender
	if writer == nil {
		var err error
		if writer, err = GenerateX25519Identity(); err != nil {
			return HeaderPacket{}, err
		}
		defer writer.Zero()
	}
	var nonce [format.NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return HeaderPacket{}, err
	}
	payload, err := format.SealX25519Payload(plaintext, r.public[:], writer.secret[:], writer.public[:], nonce[:])
	if err != nil {
		return HeaderPacket{}, fmt.Errorf("crypt4gh: sealing header packet: %w", err)
	}
	return HeaderPacket{Method: format.MethodX25519ChaCha20Poly1305, Payload: payload}, nil
}

// RequireSender wraps id so that it only accepts method-0 packets written
// with the sender's public key: packets from any other writer are treated
// as not addressed to id. This is the check behind decrypt --sender_pk.
func RequireSender(id Identity, sender *X25519Recipient) Identity {
	return senderCheck{id: id, sender: sender.public}
}

type senderCheck struct {
	id     Identity
	sender [32]byte
}

func (s senderCheck) OpenPacket(p HeaderPacket) ([]byte, error) {
	if p.Method != format.MethodX25519ChaCha20Poly1305 {
		return nil, fmt.Errorf("%w: packet encryption method %d", ErrIncorrectIdentity, p.Method)
	}
	if w := format.X25519WriterPublic(p.Payload); w == nil || !format.EqualKeys(w, s.sender[:]) {
		return nil, fmt.Errorf("%w: packet written by another sender", ErrIncorrectIdentity)
	}
	return s.id.OpenPacket(p)
}
