package commit

import (
	"crypto/sha3"
	"encoding/binary"
	"math/bits"
)

// The Halevi–Micali universal hash is multiplication by a fixed public
// n×L Toeplitz matrix A over GF(2), n = 256 and L = 1540. Bit strings use
// little-endian bit order throughout: bit j of a byte string p is
// (p[j/8] >> (j%8)) & 1.
//
// A Toeplitz matrix is constant along its diagonals, so it is fully described
// by the n+L-1 = 1795 bits t[0..1794]:
//
//	A[i][j] = t[i - j + L - 1]
//
// and t is the first 1795 bits of SHAKE256(toeplitzSeed). The seed is a
// plain-text label, so nobody could have chosen A to suit them.
const (
	toeplitzSeed = "crypt4gh-go integrity HM Toeplitz v1"

	hmN     = 256           // rows: the output of SHA-256
	hmL     = 1540          // columns: opening bits, see PARAMETERS.md
	hmBytes = (hmL + 7) / 8 // 193 opening bytes; the top 4 bits of the last are zero
	hmTBits = hmN + hmL - 1 // 1795 bits of t
	hmTLen  = (hmTBits + 7) / 8
	rowLen  = hmN/8 + hmBytes - 1 // 224: bytes in one row of the table
)

// toeplitzBits returns t, the 1795 bits defining A, with the unused top bits
// of the last byte cleared.
func toeplitzBits() []byte {
	t := sha3.SumSHAKE256([]byte(toeplitzSeed), hmTLen)
	t[hmTLen-1] &= 1<<(hmTBits%8) - 1
	return t
}

// toeplitzTable lets A·x be computed one opening byte at a time with a
// single 32-byte load per byte.
//
// Pad x with zero bits to L' = 1544 bits and t with four zero bits in front,
// t'[m] = t[m-4], so that column j of A is the window t'[L'-1-j ..+n). The
// eight columns 8c..8c+7 of byte c of x then sit at the bit offset
// u = 8(192-c) plus 7-k, and their combination selected by the byte value v is
// the window at u of
//
//	R_v[m] = XOR over set bits k of v of t'[m+7-k].
//
// u is a whole number of bytes, so R_v stored as bytes gives each byte's
// contribution as 32 contiguous bytes at offset 192-c. All 256 rows take
// 256×224 bytes = 56 KiB, which stays in a core's level-2 cache, where a
// table indexed by (byte position, value) would take 1.5 MiB and spill out
// of it.
type toeplitzTable [256 * rowLen]byte

func newToeplitzTable() *toeplitzTable {
	t := toeplitzBits()
	// tp is t' = t shifted up by 4 bits (plus one spare byte so the shifted
	// copies below can read one byte past the end).
	var tp [hmTLen + 2]byte
	for i := range hmTLen {
		tp[i] |= t[i] << 4
		tp[i+1] |= t[i] >> 4
	}
	// shifted[s] = t' >> s, the window every R_v is a sum of.
	var shifted [8][rowLen]byte
	for s := range 8 {
		for b := range rowLen {
			v := uint16(tp[b]) | uint16(tp[b+1])<<8
			shifted[s][b] = byte(v >> s)
		}
	}
	// R_v is R of v without its lowest set bit k, plus that bit's window;
	// R_0, the first row, is zero.
	tab := new(toeplitzTable)
	for v := 1; v < 256; v++ {
		k := bits.TrailingZeros(uint(v))
		prev := tab[(v&(v-1))*rowLen:][:rowLen]
		row := tab[v*rowLen:][:rowLen]
		for b := range rowLen {
			row[b] = prev[b] ^ shifted[7-k][b]
		}
	}
	return tab
}

// mul returns A·x. The top four bits of x[192] must be zero.
//
// The loads are indexed by bytes of x, which is secret until opened; see
// PARAMETERS.md on cache timing.
func (tab *toeplitzTable) mul(x *[hmBytes]byte) [hmN / 8]byte {
	if haveMulAsm {
		var out [hmN / 8]byte
		toeplitzMulAsm(&tab[0], &x[0], &out)
		return out
	}
	return tab.mulGeneric(x)
}

// mulGeneric is the portable mul: four 64-bit loads per byte of x, where
// the assembly does two 128-bit ones.
func (tab *toeplitzTable) mulGeneric(x *[hmBytes]byte) [hmN / 8]byte {
	var r0, r1, r2, r3 uint64
	for c := range hmBytes {
		w := (*[32]byte)(tab[int(x[c])*rowLen+hmBytes-1-c:])
		r0 ^= binary.LittleEndian.Uint64(w[0:])
		r1 ^= binary.LittleEndian.Uint64(w[8:])
		r2 ^= binary.LittleEndian.Uint64(w[16:])
		r3 ^= binary.LittleEndian.Uint64(w[24:])
	}
	var out [hmN / 8]byte
	binary.LittleEndian.PutUint64(out[0:], r0)
	binary.LittleEndian.PutUint64(out[8:], r1)
	binary.LittleEndian.PutUint64(out[16:], r2)
	binary.LittleEndian.PutUint64(out[24:], r3)
	return out
}
