package commit

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"io"
)

// OpeningKeySize is the length of the keys [NewOpeningStream] expands.
const OpeningKeySize = 32

// NewOpeningStream returns the randomness for a run of commitments drawn
// from one key: the AES-256-CTR keystream under key, from byte offset
// off. The counter block is the 128-bit big-endian block index, starting
// at zero.
//
// A run of commitments made with [CommitBatch] from this stream has its
// i-th opening at offset i·OpeningSize, so any one opening can later be
// derived alone, from the key, with NewOpeningStream(key, i·OpeningSize)
// and [Scheme.OpeningFrom]. Storing one key per run instead of every
// opening is what keeps an integrity dataset small (32 bytes per run
// rather than 193 bytes per position for [NameHM]).
//
// The key must come from crypto/rand and must never expand a second run:
// the openings' hiding is then that of [Statistical] commitments to
// uniformly random openings, less only the advantage of distinguishing
// AES-256-CTR from random bytes (see PARAMETERS.md).
func NewOpeningStream(key *[OpeningKeySize]byte, off uint64) io.Reader {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("commit: AES-256 with a 32-byte key failed: " + err.Error()) // cannot happen
	}
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[8:], off/aes.BlockSize)
	s := &openingStream{ctr: cipher.NewCTR(block, iv[:])}
	if skip := off % aes.BlockSize; skip > 0 {
		var b [aes.BlockSize]byte
		s.ctr.XORKeyStream(b[:skip], b[:skip])
	}
	return s
}

type openingStream struct {
	ctr cipher.Stream
}

// Read fills p with keystream; it never fails.
func (s *openingStream) Read(p []byte) (int, error) {
	clear(p)
	s.ctr.XORKeyStream(p, p)
	return len(p), nil
}
