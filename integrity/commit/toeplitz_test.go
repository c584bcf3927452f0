package commit

import (
	"crypto/sha3"
	"math/rand/v2"
	"testing"
)

// naiveMul is the reference for toeplitzTable.mul: the textbook
// matrix-vector product over GF(2), one bit at a time, straight from the
// definition A[i][j] = t[i-j+L-1] with t re-derived from the seed here
// rather than through toeplitzBits.
func naiveMul(t []byte, x *[hmBytes]byte) [hmN / 8]byte {
	bit := func(p []byte, j int) byte { return p[j/8] >> (j % 8) & 1 }
	var out [hmN / 8]byte
	for i := range hmN {
		var acc byte
		for j := range hmL {
			acc ^= bit(t, i-j+hmL-1) & bit(x[:], j)
		}
		out[i/8] |= acc << (i % 8)
	}
	return out
}

// mulImpls returns every implementation of A·x this machine can run:
// whichever mul dispatches to, the portable Go and each assembly variant.
func mulImpls(tab *toeplitzTable) map[string]func(*[hmBytes]byte) [hmN / 8]byte {
	impls := map[string]func(*[hmBytes]byte) [hmN / 8]byte{
		"mul":     tab.mul,
		"generic": tab.mulGeneric,
	}
	for name, f := range asmVariants() {
		impls[name] = func(x *[hmBytes]byte) (out [hmN / 8]byte) {
			f(&tab[0], &x[0], &out)
			return out
		}
	}
	return impls
}

func TestMulImplsIncludeAssembly(t *testing.T) {
	n := len(mulImpls(newToeplitzTable()))
	if haveMulAsm && n < 3 {
		t.Fatalf("only %d implementations under test on a machine with assembly", n)
	}
	t.Logf("%d implementations under test", n)
}

func referenceT() []byte {
	return sha3.SumSHAKE256([]byte("crypt4gh-go integrity HM Toeplitz v1"), (256+1540-1+7)/8)
}

func TestToeplitzTableMatchesNaive(t *testing.T) {
	tab := newToeplitzTable()
	ref := referenceT()
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	inputs := []func(x *[hmBytes]byte){
		func(x *[hmBytes]byte) {}, // zero
		func(x *[hmBytes]byte) { // all ones
			for i := range x {
				x[i] = 0xff
			}
		},
	}
	for range 100 {
		inputs = append(inputs, func(x *[hmBytes]byte) {
			for i := range x {
				x[i] = byte(rng.Uint32())
			}
		})
	}
	for n, fill := range inputs {
		var x [hmBytes]byte
		fill(&x)
		x[hmBytes-1] &= 0x0f
		want := naiveMul(ref, &x)
		for name, mul := range mulImpls(tab) {
			if got := mul(&x); got != want {
				t.Fatalf("input %d (x=%x): %s %x, naive %x", n, x, name, got, want)
			}
		}
	}
}

// TestToeplitzIsToeplitz checks the matrix the table encodes has the shape
// the hiding argument needs: column j+1 is column j shifted down one row,
// with a new top entry.
func TestToeplitzIsToeplitz(t *testing.T) {
	tab := newToeplitzTable()
	col := func(j int) [hmN / 8]byte {
		var x [hmBytes]byte
		x[j/8] = 1 << (j % 8)
		return tab.mul(&x)
	}
	bit := func(v [hmN / 8]byte, i int) byte { return v[i/8] >> (i % 8) & 1 }
	prev := col(0)
	for j := 1; j < hmL; j++ {
		cur := col(j)
		for i := 1; i < hmN; i++ {
			if bit(cur, i) != bit(prev, i-1) {
				t.Fatalf("A[%d][%d] != A[%d][%d]", i, j, i-1, j-1)
			}
		}
		prev = cur
	}
}

// TestToeplitzColumns checks every column of A on its own against the
// definition A[i][j] = t[i-j+L-1].
func TestToeplitzColumns(t *testing.T) {
	tab := newToeplitzTable()
	ref := referenceT()
	bit := func(p []byte, j int) byte { return p[j/8] >> (j % 8) & 1 }
	for j := range hmL {
		var x [hmBytes]byte
		x[j/8] = 1 << (j % 8)
		col := tab.mul(&x)
		for name, mul := range mulImpls(tab) {
			if got := mul(&x); got != col {
				t.Fatalf("column %d: %s %x, mul %x", j, name, got, col)
			}
		}
		for i := range hmN {
			if bit(col[:], i) != bit(ref, i-j+hmL-1) {
				t.Fatalf("A[%d][%d] = %d, want t[%d]", i, j, bit(col[:], i), i-j+hmL-1)
			}
		}
	}
}

func TestToeplitzBits(t *testing.T) {
	got, ref := toeplitzBits(), referenceT()
	ref[len(ref)-1] &= 0x07 // 1795 = 224·8 + 3 bits
	if string(got) != string(ref) {
		t.Fatalf("toeplitzBits differs from SHAKE256 of the seed")
	}
}
