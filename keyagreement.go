package crypt4gh

import (
	"errors"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
)

// KeyAgreement is an X25519 private key held outside this process: in an
// HSM (PKCS#11), an agent or a remote key service. Opening a header packet
// needs exactly one private-key operation, X25519(secret, writerPublic);
// everything else (BLAKE2b, ChaCha20-Poly1305) runs here.
type KeyAgreement interface {
	// PublicKey returns the 32-byte X25519 public key.
	PublicKey() []byte
	// X25519 returns X25519(secret, peer), 32 bytes. Implementations may
	// return the all-zero value for a low-order peer; it is rejected.
	X25519(peer []byte) ([]byte, error)
}

// NewKeyAgreementIdentity returns an Identity that opens method-0 header
// packets with ka. Errors from ka (the token is gone, a PIN expired) are
// returned wrapped, so callers can tell them from a packet that is not
// addressed to this key (ErrIncorrectIdentity).
func NewKeyAgreementIdentity(ka KeyAgreement) (Identity, error) {
	pub := ka.PublicKey()
	if len(pub) != format.X25519PublicKeySize {
		return nil, fmt.Errorf("%w: key agreement public key is %d bytes, want 32", ErrMalformedKey, len(pub))
	}
	return keyAgreementIdentity{ka: ka, public: pub}, nil
}

type keyAgreementIdentity struct {
	ka     KeyAgreement
	public []byte
}

func (k keyAgreementIdentity) OpenPacket(p HeaderPacket) ([]byte, error) {
	if p.Method != format.MethodX25519ChaCha20Poly1305 {
		return nil, fmt.Errorf("%w: packet encryption method %d", ErrIncorrectIdentity, p.Method)
	}
	pt, err := format.OpenX25519PayloadWith(p.Payload, k.public, k.ka.X25519)
	switch {
	case err == format.ErrPacketNotForKey:
		return nil, ErrIncorrectIdentity
	case err != nil && !errors.Is(err, ErrMalformedHeader):
		return nil, fmt.Errorf("crypt4gh: key agreement: %w", err)
	}
	return pt, err
}
