package commit

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"sync"
)

// Halevi–Micali commitment (CRYPTO '96) with one fixed public Toeplitz
// matrix A (see toeplitz.go):
//
//	y = SHA-256(hmMsgDomain ‖ msg)                 256 bits
//	x ← L = 1540 uniformly random bits              the opening, 193 bytes
//	c = (y ⊕ A·x) ‖ SHA-256(hmOpeningDomain ‖ x)   the commitment, 64 bytes
//
// Verify recomputes both halves from (o, msg). Binding: a second opening
// (x', msg') of c needs SHA-256(..x') = SHA-256(..x) with x' ≠ x, or else
// x' = x and SHA-256(..msg') = SHA-256(..msg) with msg' ≠ msg: a SHA-256
// collision either way. Hiding: given SHA-256(..x), x still has at least
// L-256 bits of (average) min-entropy, and A·x extracts 256 bits from it that
// are statistically close to uniform by the leftover hash lemma, so y ⊕ A·x
// is too, whatever y is. PARAMETERS.md gives the bounds; they hold for any
// function in place of SHA-256, so hiding survives SHA-256's fall.
const (
	hmMsgDomain     = "c4gh-integrity/hm1540/msg\x00"
	hmOpeningDomain = "c4gh-integrity/hm1540/x\x00"
)

type hmScheme struct {
	tab *toeplitzTable
	// emptyY is y for the empty message, which integrity proofs commit to
	// at every position without a variant — nearly all of them.
	emptyY [32]byte
}

// hmDefault builds the 56 KiB table on first use rather than in every
// program that links the package.
var hmDefault = sync.OnceValue(newHM)

func newHM() *hmScheme {
	s := &hmScheme{tab: newToeplitzTable()}
	s.emptyY = sha256.Sum256([]byte(hmMsgDomain))
	return s
}

func (*hmScheme) Name() string        { return NameHM }
func (*hmScheme) Hiding() Hiding      { return Statistical }
func (*hmScheme) CommitmentSize() int { return 64 }
func (*hmScheme) OpeningSize() int    { return hmBytes }

// digest returns y = SHA-256(hmMsgDomain ‖ msg).
func (s *hmScheme) digest(msg []byte) [32]byte {
	if len(msg) == 0 {
		return s.emptyY
	}
	// A stack buffer avoids the heap allocation of sha256.New for the
	// short messages that table entries are.
	var buf [256]byte
	if len(hmMsgDomain)+len(msg) <= len(buf) {
		n := copy(buf[:], hmMsgDomain)
		n += copy(buf[n:], msg)
		return sha256.Sum256(buf[:n])
	}
	h := sha256.New()
	h.Write([]byte(hmMsgDomain))
	h.Write(msg)
	var y [32]byte
	h.Sum(y[:0])
	return y
}

// hashOpening returns SHA-256(hmOpeningDomain ‖ x).
func hashOpening(x *[hmBytes]byte) [32]byte {
	var buf [len(hmOpeningDomain) + hmBytes]byte
	copy(buf[:], hmOpeningDomain)
	copy(buf[len(hmOpeningDomain):], x[:])
	return sha256.Sum256(buf[:])
}

// seal writes the commitment to y with opening x into c.
func (s *hmScheme) seal(c *[64]byte, x *[hmBytes]byte, y *[32]byte) {
	ax := s.tab.mul(x)
	subtle.XORBytes(c[:32], y[:], ax[:])
	h := hashOpening(x)
	copy(c[32:], h[:])
}

func (s *hmScheme) Commit(c, o, msg []byte, rnd io.Reader) error {
	if err := checkLengths(NameHM, c, o, 64, hmBytes); err != nil {
		return err
	}
	// y first: msg may not alias o, but hashing before writing o costs
	// nothing and keeps a careless caller's message intact.
	y := s.digest(msg)
	if err := readRandom(rnd, o); err != nil {
		return err
	}
	o[hmBytes-1] &= 0x0f // L = 1540 bits: the last 4 bits are not part of x
	s.seal((*[64]byte)(c), (*[hmBytes]byte)(o), &y)
	return nil
}

func (*hmScheme) OpeningFrom(o, random []byte) error {
	if err := checkOpeningFrom(NameHM, o, random, hmBytes); err != nil {
		return err
	}
	copy(o, random)
	o[hmBytes-1] &= 0x0f
	return nil
}

func (s *hmScheme) commitBatch(c, o []byte, msgs [][]byte, rnd io.Reader) error {
	var y [32]byte
	var prev []byte
	for start := 0; start < len(msgs); start += hmBatchChunk {
		end := min(start+hmBatchChunk, len(msgs))
		// Randomness for a chunk at a time, so the openings are still in
		// cache when they are hashed.
		if err := readRandom(rnd, o[start*hmBytes:end*hmBytes]); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			m := msgs[i]
			if i == 0 || !bytes.Equal(m, prev) {
				y = s.digest(m)
				prev = m
			}
			x := (*[hmBytes]byte)(o[i*hmBytes:])
			x[hmBytes-1] &= 0x0f
			s.seal((*[64]byte)(c[i*64:]), x, &y)
		}
	}
	return nil
}

// hmBatchChunk is how many openings commitBatch draws from rnd at once:
// 96.5 KiB, more than a NewRandomSource buffer, so they are read straight
// from crypto/rand without a copy.
const hmBatchChunk = 512

func (s *hmScheme) Verify(c, o, msg []byte) bool {
	if len(c) != 64 || len(o) != hmBytes || o[hmBytes-1]&0xf0 != 0 {
		// Accepting nonzero padding bits would make openings malleable.
		return false
	}
	x := (*[hmBytes]byte)(o)
	y := s.digest(msg)
	ax := s.tab.mul(x)
	var b [32]byte
	subtle.XORBytes(b[:], y[:], ax[:])
	h := hashOpening(x)
	ok := subtle.ConstantTimeCompare(b[:], c[:32]) & subtle.ConstantTimeCompare(h[:], c[32:])
	return ok == 1
}
