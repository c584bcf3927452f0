package commit

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
)

// nonceScheme is the hash commitment c = SHA-256(nonceDomain ‖ r ‖ msg) with
// opening r, 32 random bytes. Binding rests on SHA-256's collision
// resistance; hiding only on its one-wayness (modelled as a random oracle),
// so it is [Computational]: an adversary who can invert SHA-256, or search
// all messages for one that fits, learns msg once the commitment is public.
type nonceScheme struct{}

const nonceDomain = "c4gh-integrity/sha256-nonce\x00"

func (nonceScheme) Name() string        { return NameSHA256Nonce }
func (nonceScheme) Hiding() Hiding      { return Computational }
func (nonceScheme) CommitmentSize() int { return sha256.Size }
func (nonceScheme) OpeningSize() int    { return 32 }

func nonceHash(r, msg []byte) [32]byte {
	var buf [256]byte
	if len(nonceDomain)+32+len(msg) <= len(buf) {
		n := copy(buf[:], nonceDomain)
		n += copy(buf[n:], r)
		n += copy(buf[n:], msg)
		return sha256.Sum256(buf[:n])
	}
	h := sha256.New()
	h.Write([]byte(nonceDomain))
	h.Write(r)
	h.Write(msg)
	var c [32]byte
	h.Sum(c[:0])
	return c
}

func (nonceScheme) Commit(c, o, msg []byte, rnd io.Reader) error {
	if err := checkLengths(NameSHA256Nonce, c, o, 32, 32); err != nil {
		return err
	}
	// Hash a copy of the nonce so an o that aliases msg cannot change what
	// is committed to between the read and the hash.
	var r [32]byte
	if err := readRandom(rnd, r[:]); err != nil {
		return err
	}
	h := nonceHash(r[:], msg)
	copy(o, r[:])
	copy(c, h[:])
	return nil
}

func (nonceScheme) OpeningFrom(o, random []byte) error {
	if err := checkOpeningFrom(NameSHA256Nonce, o, random, 32); err != nil {
		return err
	}
	copy(o, random)
	return nil
}

func (nonceScheme) Verify(c, o, msg []byte) bool {
	if len(c) != 32 || len(o) != 32 {
		return false
	}
	h := nonceHash(o, msg)
	return subtle.ConstantTimeCompare(h[:], c) == 1
}
