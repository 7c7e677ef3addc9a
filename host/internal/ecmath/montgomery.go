package ecmath

import (
	"errors"
	"math/big"
)

// Montgomery is one of the RFC 7748 functions X25519 and X448 (section 5): p, the scalar
// and coordinate length in bytes, the number of scalar bits the ladder walks, and
// a24 = (A - 2) / 4.
type Montgomery struct {
	Name  string
	P     *big.Int
	Bytes int
	bits  int
	a24   int64
}

var (
	// X25519: p = 2^255 - 19.
	X25519 = &Montgomery{Name: "X25519", P: pow2Minus(255, 19), Bytes: 32, bits: 255, a24: 121665}
	// X448: p = 2^448 - 2^224 - 1.
	X448 = &Montgomery{Name: "X448", P: x448P(), Bytes: 56, bits: 448, a24: 39081}
)

func pow2Minus(e uint, c int64) *big.Int {
	p := new(big.Int).Lsh(big.NewInt(1), e)
	return p.Sub(p, big.NewInt(c))
}

func x448P() *big.Int {
	p := new(big.Int).Lsh(big.NewInt(1), 448)
	p.Sub(p, new(big.Int).Lsh(big.NewInt(1), 224))
	return p.Sub(p, big.NewInt(1))
}

// Basepoint returns the u-coordinate of the base point, little-endian: 9 or 5.
func (m *Montgomery) Basepoint() []byte {
	b := make([]byte, m.Bytes)
	if m.Bytes == 32 {
		b[0] = 9
	} else {
		b[0] = 5
	}
	return b
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

var errLength = errors.New("ecmath: scalar or u-coordinate of the wrong length")

// Function computes the RFC 7748 function on scalar k and u-coordinate u, both
// little-endian of m.Bytes bytes, with the RFC's scalar clamping and (for X25519) masking of
// the top bit of u. It does not reject the all-zero output; callers that need the check do
// it.
func (m *Montgomery) Function(k, u []byte) ([]byte, error) {
	if len(k) != m.Bytes || len(u) != m.Bytes {
		return nil, errLength
	}
	kk := append([]byte(nil), k...)
	uu := append([]byte(nil), u...)
	if m.Bytes == 32 {
		kk[0] &= 248
		kk[31] &= 127
		kk[31] |= 64
		uu[31] &= 127
	} else {
		kk[0] &= 252
		kk[55] |= 128
	}
	scalar := new(big.Int).SetBytes(reverse(kk))
	p := m.P
	x1 := new(big.Int).SetBytes(reverse(uu))
	x1.Mod(x1, p)
	x2, z2 := big.NewInt(1), big.NewInt(0)
	x3, z3 := new(big.Int).Set(x1), big.NewInt(1)
	a24 := big.NewInt(m.a24)
	swap := uint(0)
	mod := func(v *big.Int) *big.Int { return v.Mod(v, p) }
	for t := m.bits - 1; t >= 0; t-- {
		kt := scalar.Bit(t)
		if swap^kt == 1 {
			x2, x3 = x3, x2
			z2, z3 = z3, z2
		}
		swap = kt
		a := mod(new(big.Int).Add(x2, z2))
		aa := mod(new(big.Int).Mul(a, a))
		b := mod(new(big.Int).Sub(x2, z2))
		bb := mod(new(big.Int).Mul(b, b))
		e := mod(new(big.Int).Sub(aa, bb))
		c := mod(new(big.Int).Add(x3, z3))
		d := mod(new(big.Int).Sub(x3, z3))
		da := mod(new(big.Int).Mul(d, a))
		cb := mod(new(big.Int).Mul(c, b))
		s := mod(new(big.Int).Add(da, cb))
		x3 = mod(s.Mul(s, s))
		df := mod(new(big.Int).Sub(da, cb))
		z3 = mod(new(big.Int).Mul(x1, mod(df.Mul(df, df))))
		x2 = mod(new(big.Int).Mul(aa, bb))
		t2 := mod(new(big.Int).Mul(a24, e))
		t2.Add(t2, aa)
		z2 = mod(t2.Mul(e, t2))
	}
	if swap == 1 {
		x2, z2 = x3, z3
	}
	inv := new(big.Int).Exp(z2, new(big.Int).Sub(p, big.NewInt(2)), p)
	r := mod(inv.Mul(x2, inv))
	out := make([]byte, m.Bytes)
	r.FillBytes(out)
	return reverse(out), nil
}
