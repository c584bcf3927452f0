package commit

import (
	"bytes"
	"crypto/sha3"
	"testing"
)

// FuzzVerify feeds Verify arbitrary bytes. Nothing may panic, and nothing
// the fuzzer makes up may verify: that would be a forged opening.
func FuzzVerify(f *testing.F) {
	for _, s := range schemes() {
		f.Add(uint8(0), make([]byte, s.CommitmentSize()), make([]byte, s.OpeningSize()), []byte{})
		f.Add(uint8(1), make([]byte, s.CommitmentSize()), bytes.Repeat([]byte{0xff}, s.OpeningSize()), []byte("A>G"))
	}
	f.Add(uint8(0), []byte{}, []byte{}, []byte(nil))
	f.Add(uint8(0), make([]byte, 63), make([]byte, 194), []byte("x"))
	f.Fuzz(func(t *testing.T, which uint8, c, o, msg []byte) {
		s := schemes()[int(which)%len(schemes())]
		if s.Verify(c, o, msg) {
			t.Fatalf("%s: Verify accepted made-up c=%x o=%x msg=%x", s.Name(), c, o, msg)
		}
	})
}

// FuzzVerifyTampered commits honestly, lets the fuzzer xor a mask into one
// byte of the commitment, opening or message, and checks that Verify accepts
// exactly when nothing changed.
func FuzzVerifyTampered(f *testing.F) {
	f.Add(uint8(0), []byte("A>G"), []byte("seed"), uint8(0), uint16(0), uint8(0))
	f.Add(uint8(1), []byte{}, []byte("seed"), uint8(1), uint16(7), uint8(0x80))
	f.Add(uint8(0), []byte("chr1\t1\tA\tT"), []byte{}, uint8(2), uint16(3), uint8(1))
	f.Add(uint8(0), []byte(nil), []byte("pad"), uint8(1), uint16(192), uint8(0x10))
	f.Fuzz(func(t *testing.T, which uint8, msg, seed []byte, target uint8, pos uint16, mask uint8) {
		s := schemes()[int(which)%len(schemes())]
		c := make([]byte, s.CommitmentSize())
		o := make([]byte, s.OpeningSize())
		rnd := sha3.SumSHAKE256(seed, s.OpeningSize())
		if err := s.Commit(c, o, msg, bytes.NewReader(rnd)); err != nil {
			t.Fatal(err)
		}
		msg = bytes.Clone(msg)
		buf := [][]byte{c, o, msg}[int(target)%3]
		changed := false
		if len(buf) > 0 {
			buf[int(pos)%len(buf)] ^= mask
			changed = mask != 0
		}
		if got := s.Verify(c, o, msg); got == changed {
			t.Fatalf("%s: Verify = %v after xoring %#x into buffer %d at %d", s.Name(), got, mask, target%3, pos)
		}
	})
}
