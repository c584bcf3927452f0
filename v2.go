package crypt4gh

import "github.com/crypt4gh-go/crypt4gh/internal/format"

// Numbers of the v2 profile (doc/crypt4gh-v2.md). Version 1 numbers keep
// their meaning; v2 only adds.

// Header versions.
const (
	// Version1 is the published GA4GH standard, also used by files of
	// hts-specs PR 736 (data method 1).
	Version1 = 1
	// Version2 is this project's v2 profile: a header MAC, sealed payloads
	// and the optional packets of the profile.
	Version2 = 2
)

// Header packet encryption methods (packet_encryption).
const (
	// PacketX25519 is X25519 + BLAKE2b + ChaCha20-Poly1305 (version 1).
	PacketX25519 uint32 = 0
	// PacketX25519MLKEM1024 is the hybrid post-quantum method: X25519 and
	// ML-KEM-1024 combined with SHA3-256, then ChaCha20-Poly1305.
	PacketX25519MLKEM1024 uint32 = 1
)

// Data encryption methods (data_encryption_method of a data key packet).
const (
	// DataChaCha20Poly1305 is version 1: random nonce, no associated data.
	DataChaCha20Poly1305 uint32 = 0
	// DataChaCha20Poly1305PR736 is hts-specs PR 736: associated data
	// le_uint64(sequence_number + i), an empty final segment when the
	// plaintext ends on a segment boundary. Written in a version 1 header.
	DataChaCha20Poly1305PR736 uint32 = 1
	// DataSealedChaCha20Poly1305 is the v2 sealed stream with
	// ChaCha20-Poly1305: segment index and final flag in the associated
	// data, payload key derived from the data key.
	DataSealedChaCha20Poly1305 uint32 = 2
	// DataSealedAES256GCM is the v2 sealed stream with AES-256-GCM, the key
	// rotated every 2^20 segments (64 GiB) so that no key nears NIST's
	// limits whatever the file size.
	DataSealedAES256GCM uint32 = 3
)

// Plaintext header packet types. Types with bit 31 set are non-critical:
// a reader that does not know one ignores it. Unknown critical types are
// rejected.
const (
	TypeDataKey    uint32 = 0
	TypeEditList   uint32 = 1
	TypeExpiry     uint32 = 2 // le_uint64 Unix seconds (as the Python fetcher branch)
	TypeLink       uint32 = 3 // URI of a detached payload (as the Python fetcher branch)
	TypeSegmentMap uint32 = 4 // which original segments a rearranged sealed payload holds
	// NonCriticalBit marks packet types readers may ignore.
	NonCriticalBit uint32 = 1 << 31
)

// Signature algorithms of v2 header signatures.
const (
	SigEd25519 uint32 = 1
	SigMLDSA65 uint32 = 2
	SigMLDSA87 uint32 = 3
)

// Signer makes v2 header signatures. Ed25519 signers are in this package;
// ML-DSA signers are in the signing subpackage (it needs a dependency the
// format library does not take).
type Signer interface {
	// SignatureAlgorithm is one of the Sig* constants.
	SignatureAlgorithm() uint32
	// PublicKey is the encoded public key (32 bytes for Ed25519, the FIPS
	// 204 encoding for ML-DSA).
	PublicKey() []byte
	// Sign signs message.
	Sign(message []byte) ([]byte, error)
}

// Verifier checks v2 header signatures.
type Verifier interface {
	SignatureAlgorithm() uint32
	PublicKey() []byte
	// Verify reports whether sig is a valid signature of message.
	Verify(message, sig []byte) bool
}

// CheckLink reports whether uri can be the link of a v2 header: at most
// 8 KiB of UTF-8 without control characters, with an https, http, file,
// s3, drs or htsget scheme.
func CheckLink(uri string) error {
	_, err := format.ParsePacketContent(format.MarshalLink(uri), Version2)
	return err
}
