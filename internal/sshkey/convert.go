package sshkey

import (
	"math/big"
)

// Curve25519 / Ed25519 constants. All inputs here are public, so math/big's
// variable-time arithmetic is acceptable.
var (
	// fieldP is the field prime 2^255 - 19.
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edD is the Edwards curve constant d = -121665/121666 mod p.
	edD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
	// groupL is the order of the prime-order subgroup, 2^252 + 27742317777372353535851937790883648493.
	groupL = func() *big.Int {
		l, _ := new(big.Int).SetString("27742317777372353535851937790883648493", 10)
		return l.Add(l, new(big.Int).Lsh(big.NewInt(1), 252))
	}()
	bigOne = big.NewInt(1)
)

// decodeEdwards decodes a 32-byte Ed25519 point encoding (RFC 8032 5.1.3):
// y little-endian in the low 255 bits, the sign of x in the top bit. It
// returns the affine coordinates of the point on the twisted Edwards curve
// -x^2 + y^2 = 1 + d x^2 y^2, rejecting y >= p, points not on the curve and
// x = 0 with the sign bit set.
func decodeEdwards(enc []byte) (x, y *big.Int, err error) {
	var be [32]byte
	for i := range be {
		be[i] = enc[31-i]
	}
	sign := be[0] >> 7
	be[0] &= 0x7f
	y = new(big.Int).SetBytes(be[:])
	if y.Cmp(fieldP) >= 0 {
		return nil, nil, errorf(ErrMalformed, "the Ed25519 public key is not canonically encoded")
	}
	// x^2 = (y^2 - 1) / (d y^2 + 1)
	y2 := new(big.Int).Mul(y, y)
	num := new(big.Int).Sub(y2, bigOne)
	den := new(big.Int).Mul(edD, y2)
	den.Add(den, bigOne).Mod(den, fieldP)
	x2 := num.Mul(num, new(big.Int).ModInverse(den, fieldP))
	x2.Mod(x2, fieldP)
	x = new(big.Int).ModSqrt(x2, fieldP)
	if x == nil {
		return nil, nil, errorf(ErrMalformed, "the Ed25519 public key is not a point on the curve")
	}
	if x.Sign() == 0 && sign == 1 {
		return nil, nil, errorf(ErrMalformed, "the Ed25519 public key is not canonically encoded")
	}
	if uint8(x.Bit(0)) != sign {
		x.Sub(fieldP, x)
	}
	return x, y, nil
}

// extPoint is a point in extended coordinates (X:Y:Z:T) with x = X/Z,
// y = Y/Z and x*y = T/Z, which allows addition without field inversions.
type extPoint struct{ X, Y, Z, T *big.Int }

// newExtPoint returns the affine point (x, y) in extended coordinates.
func newExtPoint(x, y *big.Int) extPoint {
	t := new(big.Int).Mul(x, y)
	return extPoint{X: x, Y: y, Z: big.NewInt(1), T: t.Mod(t, fieldP)}
}

// edD2 is 2*d mod p.
var edD2 = new(big.Int).Mod(new(big.Int).Lsh(edD, 1), fieldP)

// add returns p + q with the unified addition law for a = -1 (Hisil, Wong,
// Carter, Dawson 2008, "add-2008-hwcd-3"), which is complete on this curve
// and also serves for doubling.
func (p extPoint) add(q extPoint) extPoint {
	mul := func(a, b *big.Int) *big.Int {
		r := new(big.Int).Mul(a, b)
		return r.Mod(r, fieldP)
	}
	a := mul(new(big.Int).Sub(p.Y, p.X), new(big.Int).Sub(q.Y, q.X))
	b := mul(new(big.Int).Add(p.Y, p.X), new(big.Int).Add(q.Y, q.X))
	c := mul(mul(p.T, edD2), q.T)
	d := mul(new(big.Int).Lsh(p.Z, 1), q.Z)
	e := new(big.Int).Sub(b, a)
	f := new(big.Int).Sub(d, c)
	g := new(big.Int).Add(d, c)
	h := new(big.Int).Add(b, a)
	return extPoint{X: mul(e, f), Y: mul(g, h), Z: mul(f, g), T: mul(e, h)}
}

// scalarMult returns k * p (double-and-add, variable time).
func (p extPoint) scalarMult(k *big.Int) extPoint {
	r := extPoint{X: new(big.Int), Y: big.NewInt(1), Z: big.NewInt(1), T: new(big.Int)} // identity
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = r.add(r)
		if k.Bit(i) == 1 {
			r = r.add(p)
		}
	}
	return r
}

// isIdentity reports whether p is (0, 1).
func (p extPoint) isIdentity() bool {
	x := new(big.Int).Mod(p.X, fieldP)
	d := new(big.Int).Sub(p.Y, p.Z)
	return x.Sign() == 0 && d.Mod(d, fieldP).Sign() == 0
}

// edwardsToMontgomery converts an Ed25519 public key to the X25519 public key
// u = (1 + y) / (1 - y) mod p, like libsodium's
// crypto_sign_ed25519_pk_to_curve25519: the point must decode, must not be
// the identity (u undefined) and must lie in the prime-order subgroup, which
// also excludes the small-order points.
func edwardsToMontgomery(enc []byte) ([32]byte, error) {
	var out [32]byte
	x, y, err := decodeEdwards(enc)
	if err != nil {
		return out, err
	}
	if x.Sign() == 0 && y.Cmp(bigOne) == 0 {
		return out, errorf(ErrMalformed, "the Ed25519 public key is the identity point")
	}
	if !newExtPoint(x, y).scalarMult(groupL).isIdentity() {
		return out, errorf(ErrMalformed, "the Ed25519 public key has a small-order component")
	}
	num := new(big.Int).Add(bigOne, y)
	den := new(big.Int).Sub(bigOne, y)
	den.Mod(den, fieldP).ModInverse(den, fieldP)
	u := num.Mul(num, den)
	u.Mod(u, fieldP)
	var be [32]byte
	u.FillBytes(be[:])
	for i := range out {
		out[i] = be[31-i]
	}
	return out, nil
}
