package integrity

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
)

// Hash is a hash function for the Merkle trees and for the digests that
// timestamps cover. Its numeric value is part of the proof format.
type Hash uint8

const (
	SHA256   Hash = 1 // SHA-256 (FIPS 180-4)
	SHA3_256 Hash = 2 // SHA3-256 (FIPS 202)
	SHA512   Hash = 3 // SHA-512 (FIPS 180-4)
)

// maxHashSize bounds Hash.Size for fixed-size buffers.
const maxHashSize = 64

// String returns the name used in policies and on the command line.
func (h Hash) String() string {
	switch h {
	case SHA256:
		return "sha256"
	case SHA3_256:
		return "sha3-256"
	case SHA512:
		return "sha512"
	}
	return fmt.Sprintf("hash(%d)", uint8(h))
}

// Size is the digest length in bytes.
func (h Hash) Size() int {
	switch h {
	case SHA256, SHA3_256:
		return 32
	case SHA512:
		return 64
	}
	return 0
}

// CryptoHash is the crypto.Hash of h, as timestamp requests name it.
func (h Hash) CryptoHash() crypto.Hash {
	switch h {
	case SHA256:
		return crypto.SHA256
	case SHA3_256:
		return crypto.SHA3_256
	case SHA512:
		return crypto.SHA512
	}
	return 0
}

func (h Hash) valid() bool { return h.Size() != 0 }

// ParseHash returns the Hash named name ("sha256", "sha3-256", "sha512").
func ParseHash(name string) (Hash, error) {
	for _, h := range []Hash{SHA256, SHA3_256, SHA512} {
		if h.String() == name {
			return h, nil
		}
	}
	return 0, fmt.Errorf("integrity: unknown hash %q (want sha256, sha3-256 or sha512)", name)
}

// sum writes h(in) to dst, which must hold h.Size() bytes. It does not
// allocate: Protect calls it twice per position.
func (h Hash) sum(dst, in []byte) {
	switch h {
	case SHA256:
		s := sha256.Sum256(in)
		copy(dst, s[:])
	case SHA3_256:
		s := sha3.Sum256(in)
		copy(dst, s[:])
	case SHA512:
		s := sha512.Sum512(in)
		copy(dst, s[:])
	default:
		panic("integrity: internal error: sum with invalid hash")
	}
}

// digest returns h over the concatenation of parts.
func (h Hash) digest(parts ...[]byte) []byte {
	switch h {
	case SHA256:
		d := sha256.New()
		for _, p := range parts {
			d.Write(p)
		}
		return d.Sum(nil)
	case SHA3_256:
		d := sha3.New256()
		for _, p := range parts {
			d.Write(p)
		}
		return d.Sum(nil)
	case SHA512:
		d := sha512.New()
		for _, p := range parts {
			d.Write(p)
		}
		return d.Sum(nil)
	}
	panic("integrity: internal error: digest with invalid hash")
}

// Tree hashing, with RFC 6962 domain separation. Trees form a chain: the
// first tree of a dataset is a plain RFC 6962 tree whose leaf data is
// "pos" ‖ u64 position ‖ commitment, so
//
//	leaf = H(0x00 ‖ "pos" ‖ be64(i) ‖ c_i)
//	node = H(0x01 ‖ left ‖ right)
//
// Every later tree (after upHT or upCHT) also binds the node at the same
// place in the tree before it:
//
//	leaf = H'(0x00 ‖ "pos" ‖ be64(i) ‖ c'_i ‖ prevLeaf)
//	node = H'(0x01 ‖ left ‖ right ‖ prevNode)
//
// That way a new timestamp fixes not only the commitments but every old
// authentication path while the old hash function is still secure, and
// a future collision in it cannot graft a forged path onto the old root.
// Binding the position in the leaf (rather than in the committed message)
// keeps the message of every empty position the same, which the
// commitment scheme can cache.

const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// maxLeafInput is the largest leaf hash input: prefix, "pos", position,
// commitment (bounded by maxCommitmentSize) and the previous leaf.
const maxLeafInput = 1 + 3 + 8 + maxCommitmentSize + maxHashSize

// hashLeaf writes the leaf hash of position pos with commitment c to dst;
// prev is the previous tree's leaf at pos, or nil for a first tree. buf is
// scratch space of at least maxLeafInput bytes.
func (h Hash) hashLeaf(dst, buf []byte, pos uint64, c, prev []byte) {
	buf[0] = leafPrefix
	buf[1], buf[2], buf[3] = 'p', 'o', 's'
	binary.BigEndian.PutUint64(buf[4:12], pos)
	n := 12 + copy(buf[12:], c)
	n += copy(buf[n:], prev)
	h.sum(dst, buf[:n])
}

// hashNode writes the node over left and right to dst; prev is the
// previous tree's node at the same place, or nil. buf is scratch space of
// at least 1+3*maxHashSize bytes.
func (h Hash) hashNode(dst, buf, left, right, prev []byte) {
	buf[0] = nodePrefix
	n := 1 + copy(buf[1:], left)
	n += copy(buf[n:], right)
	n += copy(buf[n:], prev)
	h.sum(dst, buf[:n])
}

// nodeBufSize is the scratch size hashNode needs.
const nodeBufSize = 1 + 3*maxHashSize
