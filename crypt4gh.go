// Package crypt4gh reads and writes GA4GH Crypt4GH files (version 1 of the
// standard, https://samtools.github.io/hts-specs/crypt4gh.pdf), the
// encrypted container for genomic data.
//
// A Crypt4GH file is a header followed by a payload. The header holds
// packets, each encrypted for one recipient, that carry the data key (and
// optionally an edit list); the payload is the plaintext cut into 64 KiB
// segments, each sealed with ChaCha20-Poly1305 under the data key.
//
// # Streaming
//
// [Encrypt] returns a [Writer] that encrypts what is written to it;
// [Decrypt] returns a [Reader] that yields the plaintext. Both spread
// segments over all CPUs while keeping output order and bounded memory.
//
// # Random access
//
// [DecryptReaderAt] opens a file held in an [io.ReaderAt] (a local file, an
// object in object storage) and returns a [ReaderAt] that reads, seeks
// (including from the end) and reads at plaintext offsets, decrypting only
// the segments it touches.
//
// # Headers
//
// Archives keep the payload encrypted once and give each reader a header
// of their own. [ReadHeader], [Header.Decrypt], [EncryptHeader] and
// [ReencryptHeader] work on headers alone; [PlanRange] maps a plaintext byte
// range to the segments and the edit list that serve it, which is what
// htsget and range requests need.
//
// # Keys
//
// [Recipient] and [Identity] are the two small interfaces keys implement.
// [X25519Recipient] and [X25519Identity] are the keys of the standard;
// [ParseIdentity] and [ParseRecipient] read Crypt4GH and OpenSSH Ed25519 key
// files. Keys held elsewhere (an agent, an HSM) are just other Identity
// implementations.
//
// # Errors
//
// Errors wrap one of the sentinel values below, so callers can classify
// them with [errors.Is]; their text names what is wrong. No plaintext of a
// segment is released before the segment authenticates.
package crypt4gh

import (
	"errors"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
	"github.com/crypt4gh-go/crypt4gh/internal/segment"
)

// SegmentSize is the number of plaintext bytes in a full data segment.
const SegmentSize = segment.PlainSize

// CipherSegmentSize is the size of a full encrypted segment: 12 bytes of
// nonce, 65536 of ciphertext and 16 of MAC.
const CipherSegmentSize = segment.CipherSize

// Error classes. Every error the package returns for bad input wraps one
// of these.
var (
	// ErrNotCrypt4GH means the input does not start with the Crypt4GH magic.
	ErrNotCrypt4GH = format.ErrNotCrypt4GH
	// ErrUnsupportedVersion means the header's version is not one this
	// package reads.
	ErrUnsupportedVersion = format.ErrUnsupportedVersion
	// ErrMalformedHeader means the header's framing or a packet's content
	// breaks the standard (bad lengths, too many packets, two edit lists…).
	ErrMalformedHeader = format.ErrMalformedHeader
	// ErrUnsupported means the file uses a packet type or encryption method
	// this package does not implement; the message names the value.
	ErrUnsupported = format.ErrUnsupported
	// ErrTruncated means the input ends in the middle of the header or of a
	// segment's framing.
	ErrTruncated = format.ErrTruncated
	// ErrAuthentication means a data segment failed authentication: the
	// error is an *AuthError giving its index.
	ErrAuthentication = segment.ErrAuthentication
	// ErrSegmentOrder means a sealed (v2) segment authenticates, but not
	// at its position: segments were reordered, duplicated or dropped, or
	// data follows the final segment. The error is an *OrderError.
	ErrSegmentOrder = segment.ErrOrder
	// ErrNoMatchingKey means no header packet could be decrypted with the
	// keys given: the file was not encrypted for them. The error is a
	// *NoIdentityMatchError.
	ErrNoMatchingKey = errors.New("crypt4gh: no header packet decrypts with the given key(s)")
	// ErrIncorrectIdentity is what an [Identity] returns (wrapped) for a
	// header packet that is not addressed to it.
	ErrIncorrectIdentity = errors.New("crypt4gh: header packet is not for this identity")
	// ErrIncorrectPassphrase means a passphrase-protected key did not open:
	// the passphrase is wrong or the key file was modified.
	ErrIncorrectPassphrase = errors.New("crypt4gh: incorrect passphrase (or the key file is corrupt)")
	// ErrPassphraseRequired means a key file is encrypted and no passphrase
	// source was given.
	ErrPassphraseRequired = errors.New("crypt4gh: the key file is encrypted and needs a passphrase")
	// ErrMalformedKey means a key file could not be parsed.
	ErrMalformedKey = errors.New("crypt4gh: malformed key")
)

// OrderError reports a sealed segment found at the wrong position.
type OrderError = segment.OrderError

// AuthError reports the first data segment (counted from 0 over the whole
// payload) that no data key could open.
type AuthError = segment.AuthError

// NoIdentityMatchError is returned when no header packet decrypts with the
// identities given. It wraps ErrNoMatchingKey.
type NoIdentityMatchError struct {
	Packets int // header packets in the file
	// Methods lists encryption methods of packets no identity understood,
	// if any (for example a post-quantum method read by a classical key).
	UnknownMethods []uint32
	// Errors holds the non-mismatch errors identities returned, if any.
	Errors []error
}

func (e *NoIdentityMatchError) Error() string {
	msg := "crypt4gh: no header packet decrypts with the given key(s): the file was not encrypted for this key"
	if len(e.UnknownMethods) > 0 {
		msg += " (some packets use an unsupported encryption method)"
	}
	if len(e.Errors) > 0 {
		msg += ": " + e.Errors[0].Error()
	}
	return msg
}

// Unwrap returns ErrNoMatchingKey and any identity errors.
func (e *NoIdentityMatchError) Unwrap() []error {
	return append([]error{ErrNoMatchingKey}, e.Errors...)
}

// HeaderPacket is one encrypted header packet: its encryption method
// (packet_encryption) and the bytes after it. For method 0 (X25519 with
// ChaCha20-Poly1305) Payload is the writer's public key, a nonce, the
// ciphertext and the MAC.
type HeaderPacket struct {
	Method  uint32
	Payload []byte
}

// Recipient is a key that header packets can be encrypted for.
type Recipient interface {
	// SealPacket encrypts one header packet plaintext for the recipient.
	SealPacket(plaintext []byte) (HeaderPacket, error)
}

// Identity is a key that can decrypt header packets. Implementations
// backed by an agent or an HSM need only this method.
type Identity interface {
	// OpenPacket decrypts a header packet. It must return an error wrapping
	// ErrIncorrectIdentity when the packet is not addressed to this identity
	// (including packets of a method it does not implement); any other error
	// is treated as fatal by callers that have no other identity to try.
	OpenPacket(p HeaderPacket) ([]byte, error)
}
