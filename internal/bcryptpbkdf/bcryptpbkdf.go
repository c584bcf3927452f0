// Package bcryptpbkdf implements bcrypt_pbkdf, the password-based key
// derivation function OpenSSH uses for its openssh-key-v1 private key format
// and that Crypt4GH key files call "bcrypt".
//
// It is not the bcrypt password hash. The algorithm follows OpenBSD's
// bcrypt_pbkdf.c: a PBKDF2-like construction whose pseudo-random function is
// a Blowfish-based hash of SHA-512 digests, with output bytes interleaved
// across blocks so that every block must be computed to obtain any part of
// the key.
package bcryptpbkdf

import (
	"crypto/sha512"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/blowfish"
)

// MaxKeyLen is the largest key length Key accepts, as in OpenBSD
// (32 bytes of hash output times 32 interleaved blocks).
const MaxKeyLen = hashSize * hashSize

// MaxSaltLen is the largest salt length Key accepts, as in OpenBSD.
const MaxSaltLen = 1 << 20

// hashSize is the output size of one bcrypt hash block.
const hashSize = 32

// magic is the plaintext that the bcrypt hash encrypts.
var magic = []byte("OxychromaticBlowfishSwatDynamite")

// Key derives keyLen bytes from password and salt with the given number of
// rounds. It returns an error (and no key) if rounds < 1, password or salt is
// empty, the salt is longer than MaxSaltLen, or keyLen is outside
// [1, MaxKeyLen]. The cost is linear in rounds and in the number of 32-byte
// output blocks; callers parsing untrusted input should bound rounds.
// The result is identical to OpenBSD/OpenSSH bcrypt_pbkdf.
func Key(password, salt []byte, rounds, keyLen int) ([]byte, error) {
	switch {
	case rounds < 1:
		return nil, errors.New("bcryptpbkdf: rounds must be at least 1")
	case len(password) == 0:
		return nil, errors.New("bcryptpbkdf: empty password")
	case len(salt) == 0:
		return nil, errors.New("bcryptpbkdf: empty salt")
	case len(salt) > MaxSaltLen:
		return nil, errors.New("bcryptpbkdf: salt too long")
	case keyLen < 1 || keyLen > MaxKeyLen:
		return nil, errors.New("bcryptpbkdf: key length must be between 1 and 1024 bytes")
	}

	// Output byte i of block b (counting from 0) lands at i*stride+b.
	stride := (keyLen + hashSize - 1) / hashSize
	perBlock := (keyLen + stride - 1) / stride

	shaPass := sha512.Sum512(password)
	defer clear(shaPass[:])

	countSalt := make([]byte, len(salt)+4)
	copy(countSalt, salt)

	key := make([]byte, keyLen)
	var acc, tmp [hashSize]byte
	var shaSalt [sha512.Size]byte
	for block := 0; block < stride; block++ {
		binary.BigEndian.PutUint32(countSalt[len(salt):], uint32(block+1))
		shaSalt = sha512.Sum512(countSalt)
		hash(&tmp, &shaPass, &shaSalt)
		acc = tmp
		for r := 1; r < rounds; r++ {
			shaSalt = sha512.Sum512(tmp[:])
			hash(&tmp, &shaPass, &shaSalt)
			for i := range acc {
				acc[i] ^= tmp[i]
			}
		}
		for i := 0; i < perBlock; i++ {
			dst := i*stride + block
			if dst >= keyLen {
				break
			}
			key[dst] = acc[i]
		}
	}
	clear(acc[:])
	clear(tmp[:])
	clear(shaSalt[:])
	return key, nil
}

// hash is OpenBSD's bcrypt_hash: an expensive Blowfish key schedule keyed by
// the two digests, then 64 encryptions of the magic string. The result is the
// encrypted magic with each 32-bit word stored little-endian.
func hash(out *[hashSize]byte, shaPass, shaSalt *[sha512.Size]byte) {
	c, err := blowfish.NewSaltedCipher(shaPass[:], shaSalt[:])
	if err != nil {
		// Unreachable: the key is a non-empty 64-byte digest.
		panic("bcryptpbkdf: " + err.Error())
	}
	for i := 0; i < 64; i++ {
		blowfish.ExpandKey(shaSalt[:], c)
		blowfish.ExpandKey(shaPass[:], c)
	}

	var buf [hashSize]byte
	copy(buf[:], magic)
	for i := 0; i < 64; i++ {
		for j := 0; j < hashSize; j += blowfish.BlockSize {
			c.Encrypt(buf[j:j+blowfish.BlockSize], buf[j:j+blowfish.BlockSize])
		}
	}
	// Blowfish works on big-endian words; bcrypt_hash emits them little-endian.
	for j := 0; j < hashSize; j += 4 {
		binary.LittleEndian.PutUint32(out[j:], binary.BigEndian.Uint32(buf[j:]))
	}
	clear(buf[:])
	*c = blowfish.Cipher{}
}
