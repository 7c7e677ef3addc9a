// Package ecmath is elliptic-curve arithmetic over math/big for the curves the standard
// library lacks (secp192r1, secp192k1, secp256k1, the brainpool r1 curves, X448): short
// Weierstrass point arithmetic with ECDSA verification, and the RFC 7748 Montgomery ladder.
//
// Everything here is variable-time. It is meant for public data — verifying a signature,
// checking that a point lies on its curve — and for tests that compute with throw-away
// scalars. Never feed it a private key that matters.
package ecmath

import (
	"math/big"
)

// Curve is a short Weierstrass curve y^2 = x^3 + a*x + b over GF(p) with a base point
// G = (Gx, Gy) of prime order N.
type Curve struct {
	P, A, B *big.Int
	Gx, Gy  *big.Int
	N       *big.Int
}

// NewCurve builds a Curve from big-endian byte strings, G uncompressed (04 || x || y).
// It returns nil when G is not an uncompressed point of the field's length.
func NewCurve(p, a, b, g, n []byte) *Curve {
	l := len(p)
	if len(g) != 1+2*l || g[0] != 0x04 {
		return nil
	}
	return &Curve{
		P: new(big.Int).SetBytes(p), A: new(big.Int).SetBytes(a), B: new(big.Int).SetBytes(b),
		Gx: new(big.Int).SetBytes(g[1 : 1+l]), Gy: new(big.Int).SetBytes(g[1+l:]),
		N: new(big.Int).SetBytes(n),
	}
}

// FieldBytes is the byte length of a coordinate.
func (c *Curve) FieldBytes() int { return (c.P.BitLen() + 7) / 8 }

// IsOnCurve reports whether (x, y) is a point of the curve (the point at infinity is not).
func (c *Curve) IsOnCurve(x, y *big.Int) bool {
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, c.P)
	rhs := new(big.Int).Mul(x, x)
	rhs.Add(rhs, c.A)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, c.B)
	rhs.Mod(rhs, c.P)
	return lhs.Cmp(rhs) == 0
}

// Unmarshal decodes an uncompressed point 04 || x || y of this curve; ok is false when the
// encoding is wrong or the point is not on the curve.
func (c *Curve) Unmarshal(b []byte) (x, y *big.Int, ok bool) {
	l := c.FieldBytes()
	if len(b) != 1+2*l || b[0] != 0x04 {
		return nil, nil, false
	}
	x, y = new(big.Int).SetBytes(b[1:1+l]), new(big.Int).SetBytes(b[1+l:])
	return x, y, c.IsOnCurve(x, y)
}

// Marshal encodes (x, y) as 04 || x || y at field length.
func (c *Curve) Marshal(x, y *big.Int) []byte {
	l := c.FieldBytes()
	out := make([]byte, 1+2*l)
	out[0] = 0x04
	x.FillBytes(out[1 : 1+l])
	y.FillBytes(out[1+l:])
	return out
}

func (c *Curve) mod(v *big.Int) *big.Int { return v.Mod(v, c.P) }

// Add returns P1 + P2 in affine coordinates; nil coordinates stand for the point at infinity.
func (c *Curve) Add(x1, y1, x2, y2 *big.Int) (*big.Int, *big.Int) {
	switch {
	case x1 == nil:
		return x2, y2
	case x2 == nil:
		return x1, y1
	case x1.Cmp(x2) == 0:
		if s := new(big.Int).Add(y1, y2); c.mod(s).Sign() == 0 {
			return nil, nil // P + (-P)
		}
		return c.Double(x1, y1)
	}
	num := c.mod(new(big.Int).Sub(y2, y1))
	den := c.mod(new(big.Int).Sub(x2, x1))
	l := c.mod(num.Mul(num, den.ModInverse(den, c.P)))
	return c.finish(l, x1, y1, x2)
}

// Double returns 2P.
func (c *Curve) Double(x, y *big.Int) (*big.Int, *big.Int) {
	if x == nil || y.Sign() == 0 {
		return nil, nil
	}
	num := new(big.Int).Mul(x, x)
	num.Mul(num, big.NewInt(3))
	num.Add(num, c.A)
	den := new(big.Int).Lsh(y, 1)
	den.ModInverse(c.mod(den), c.P)
	l := c.mod(num.Mul(num, den))
	return c.finish(l, x, y, x)
}

// finish computes x3 = l^2 - x1 - x2, y3 = l (x1 - x3) - y1.
func (c *Curve) finish(l, x1, y1, x2 *big.Int) (*big.Int, *big.Int) {
	x3 := new(big.Int).Mul(l, l)
	x3.Sub(x3, x1)
	x3.Sub(x3, x2)
	c.mod(x3)
	y3 := new(big.Int).Sub(x1, x3)
	y3.Mul(y3, l)
	y3.Sub(y3, y1)
	return x3, c.mod(y3)
}

// ScalarMult returns k*P (double and add, most significant bit first). k may be any
// non-negative integer; the result is the point at infinity (nil, nil) when k*P is.
func (c *Curve) ScalarMult(x, y, k *big.Int) (*big.Int, *big.Int) {
	var rx, ry *big.Int
	for i := k.BitLen() - 1; i >= 0; i-- {
		rx, ry = c.Double(rx, ry)
		if k.Bit(i) == 1 {
			rx, ry = c.Add(rx, ry, x, y)
		}
	}
	return rx, ry
}

// ScalarBaseMult returns k*G.
func (c *Curve) ScalarBaseMult(k *big.Int) (*big.Int, *big.Int) {
	return c.ScalarMult(c.Gx, c.Gy, k)
}

// hashToInt converts a digest to an integer as ECDSA does (SEC 1 4.1.3 step 5, FIPS 186):
// the leftmost bits of the digest, as many as the order has.
func (c *Curve) hashToInt(digest []byte) *big.Int {
	bits := c.N.BitLen()
	if n := (bits + 7) / 8; len(digest) > n {
		digest = digest[:n]
	}
	e := new(big.Int).SetBytes(digest)
	if excess := len(digest)*8 - bits; excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e
}

// VerifyECDSA reports whether (r, s) is a valid ECDSA signature of digest under the public
// key Q = (x, y) (SEC 1 section 4.1.4). Q must be on the curve.
func (c *Curve) VerifyECDSA(x, y *big.Int, digest []byte, r, s *big.Int) bool {
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.N) >= 0 || s.Cmp(c.N) >= 0 || !c.IsOnCurve(x, y) {
		return false
	}
	e := c.hashToInt(digest)
	w := new(big.Int).ModInverse(s, c.N)
	if w == nil {
		return false
	}
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, c.N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, c.N)
	x1, y1 := c.ScalarBaseMult(u1)
	x2, y2 := c.ScalarMult(x, y, u2)
	vx, _ := c.Add(x1, y1, x2, y2)
	if vx == nil {
		return false
	}
	return new(big.Int).Mod(vx, c.N).Cmp(r) == 0
}
