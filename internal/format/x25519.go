package format

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
)

// ErrX25519LowOrder is returned when an X25519 exchange yields the all-zero
// value, which happens only for low-order (malicious) public keys.
var ErrX25519LowOrder = errors.New("crypt4gh: X25519 public key is a low-order point")

// X25519SharedKey derives the header packet key from a Diffie-Hellman
// result: BLAKE2b-512(dh || readerPublic || writerPublic)[:32]. Reader and
// writer hash the same bytes in the same order (this equals libsodium's
// crypto_kx with the reader as client and the writer as server).
func X25519SharedKey(dh, readerPublic, writerPublic []byte) [32]byte {
	h, _ := blake2b.New512(nil)
	h.Write(dh)
	h.Write(readerPublic)
	h.Write(writerPublic)
	var sum [64]byte
	h.Sum(sum[:0])
	var k [32]byte
	copy(k[:], sum[:32])
	clear(sum[:])
	return k
}

// X25519 computes scalar·point, rejecting low-order points.
func X25519(scalar, point []byte) ([]byte, error) {
	out, err := curve25519.X25519(scalar, point)
	if err != nil {
		return nil, ErrX25519LowOrder
	}
	return out, nil
}

// SealX25519Payload encrypts a packet plaintext for readerPublic with the
// writer key pair (writerSecret, writerPublic) and returns the method-0
// packet payload: writer public key, nonce, ciphertext and MAC.
func SealX25519Payload(plaintext, readerPublic, writerSecret, writerPublic, nonce []byte) ([]byte, error) {
	dh, err := X25519(writerSecret, readerPublic)
	if err != nil {
		return nil, err
	}
	k := X25519SharedKey(dh, readerPublic, writerPublic)
	clear(dh)
	aead, _ := chacha20poly1305.New(k[:])
	clear(k[:])
	out := make([]byte, 0, MinX25519Payload+len(plaintext))
	out = append(out, writerPublic...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, nil), nil
}

// ErrPacketNotForKey means a method-0 packet did not authenticate under the
// given reader key: it is addressed to someone else (or damaged).
var ErrPacketNotForKey = errors.New("crypt4gh: header packet does not decrypt with this key")

// OpenX25519Payload decrypts a method-0 packet payload with the reader key
// pair. It returns ErrPacketNotForKey if the MAC does not verify.
func OpenX25519Payload(payload, readerSecret, readerPublic []byte) ([]byte, error) {
	return OpenX25519PayloadWith(payload, readerPublic, func(peer []byte) ([]byte, error) {
		return X25519(readerSecret, peer)
	})
}

// OpenX25519PayloadWith is OpenX25519Payload for a reader whose secret is
// held elsewhere (an HSM, an agent): agree computes X25519(secret, peer).
// An agree error other than a low-order peer is returned as is.
func OpenX25519PayloadWith(payload, readerPublic []byte, agree func(peer []byte) ([]byte, error)) ([]byte, error) {
	if len(payload) < MinX25519Payload {
		return nil, fmt.Errorf("%w: X25519 header packet payload is %d bytes, want at least %d", ErrMalformedHeader, len(payload), MinX25519Payload)
	}
	writerPublic := payload[:X25519PublicKeySize]
	nonce := payload[X25519PublicKeySize : X25519PublicKeySize+NonceSize]
	dh, err := agree(writerPublic)
	if err == ErrX25519LowOrder {
		// A low-order writer key cannot have been made for us.
		return nil, ErrPacketNotForKey
	}
	if err != nil {
		return nil, err
	}
	if len(dh) != 32 {
		clear(dh)
		return nil, fmt.Errorf("crypt4gh: key agreement returned %d bytes, want 32", len(dh))
	}
	if subtle.ConstantTimeCompare(dh, make([]byte, 32)) == 1 {
		// An agreement that does not check for low-order points itself
		// (some HSMs) yields all zeros for one.
		return nil, ErrPacketNotForKey
	}
	k := X25519SharedKey(dh, readerPublic, writerPublic)
	clear(dh)
	aead, _ := chacha20poly1305.New(k[:])
	clear(k[:])
	pt, err := aead.Open(nil, nonce, payload[X25519PublicKeySize+NonceSize:], nil)
	if err != nil {
		return nil, ErrPacketNotForKey
	}
	return pt, nil
}

// X25519WriterPublic returns the writer public key of a method-0 payload,
// or nil if the payload is too short to hold one.
func X25519WriterPublic(payload []byte) []byte {
	if len(payload) < X25519PublicKeySize {
		return nil
	}
	return payload[:X25519PublicKeySize]
}

// EqualKeys compares two keys in constant time.
func EqualKeys(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
