package cvc

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Algorithm is a TR-03110 terminal-authentication algorithm (the 06 element of 7F49).
type Algorithm int

const (
	AlgUnknown Algorithm = iota
	RSAv15SHA1
	RSAv15SHA256
	RSAPSSSHA1
	RSAPSSSHA256
	RSAv15SHA512
	RSAPSSSHA512
	ECDSASHA1
	ECDSASHA224
	ECDSASHA256
	ECDSASHA384
	ECDSASHA512
	// ECDHSHA256 is id-RI-ECDH-SHA-256, the algorithm of Pico HSM's X25519 and X448 public
	// keys (pico-hsm-extensions.md 5.2). Such keys cannot sign.
	ECDHSHA256
)

// idTA is the DER body of id-TA (0.4.0.127.0.7.2.2.2); RSA algorithms continue with 01 xx,
// ECDSA with 02 xx (core spec 3.7.2).
var idTA = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02}

var algByOID = map[[2]byte]Algorithm{
	{1, 1}: RSAv15SHA1, {1, 2}: RSAv15SHA256, {1, 3}: RSAPSSSHA1, {1, 4}: RSAPSSSHA256,
	{1, 5}: RSAv15SHA512, {1, 6}: RSAPSSSHA512,
	{2, 1}: ECDSASHA1, {2, 2}: ECDSASHA224, {2, 3}: ECDSASHA256, {2, 4}: ECDSASHA384,
	{2, 5}: ECDSASHA512,
}

// OIDECDSASHA256 is the DER body of id-TA-ECDSA-SHA-256.
var OIDECDSASHA256 = append(append([]byte{}, idTA...), 0x02, 0x03)

// OIDRSAv15SHA256 is the DER body of id-TA-RSA-v1-5-SHA-256.
var OIDRSAv15SHA256 = append(append([]byte{}, idTA...), 0x01, 0x02)

// OIDECDHSHA256 is the DER body of id-RI-ECDH-SHA-256 (0.4.0.127.0.7.2.2.5.2.3).
var OIDECDHSHA256 = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03}

func algorithmOf(oid []byte) Algorithm {
	if bytes.Equal(oid, OIDECDHSHA256) {
		return ECDHSHA256
	}
	if len(oid) != len(idTA)+2 || !bytes.Equal(oid[:len(idTA)], idTA) {
		return AlgUnknown
	}
	return algByOID[[2]byte{oid[len(idTA)], oid[len(idTA)+1]}]
}

// IsRSA reports whether a is one of the RSA algorithms.
func (a Algorithm) IsRSA() bool { return a >= RSAv15SHA1 && a <= RSAPSSSHA512 }

// IsECDSA reports whether a is one of the ECDSA algorithms.
func (a Algorithm) IsECDSA() bool { return a >= ECDSASHA1 && a <= ECDSASHA512 }

// PublicKey is a parsed 7F49 template (core spec 2.11.2, 3.7.1; pico-hsm-extensions.md 5.2):
//
//	RSA:          06 OID, 81 modulus n, 82 public exponent e
//	EC:           06 OID, [81 p, 82 a, 83 b, 84 G, 85 n,] 86 Q, [87 cofactor]
//	X25519, X448: 06 id-RI-ECDH-SHA-256, 81 p, 82 order, 83 generator u, 84 public u
//
// Elements after 06 must be in strictly ascending tag order. An EC key with domain
// parameters names its curve by p and a (compared byte for byte with the curve table, as
// OpenSC does); b, G, n and the cofactor, when present, must match that curve. An EC key
// without domain parameters (PKI-issued certificates carry only 06 and 86) has Curve nil: it
// inherits the curve of its issuer and cannot verify anything by itself.
type PublicKey struct {
	OID       []byte // DER body of the algorithm OID
	Algorithm Algorithm

	// RSA
	N *big.Int
	E int

	// EC
	Curve *Curve // nil when the template has no domain parameters
	// Point is the public point: uncompressed 04 || x || y (value of 86), or for X25519 and
	// X448 the u-coordinate, little-endian as RFC 7748 encodes it (value of 84).
	Point []byte
}

func parsePublicKey(t tlv.TLV) (*PublicKey, error) {
	els, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("%w: 7F49: %w", ErrFormat, err)
	}
	if len(els) == 0 || els[0].Tag != 0x06 || len(els[0].Value) == 0 {
		return nil, formatErr("7F49 must start with 06 algorithm OID")
	}
	k := &PublicKey{OID: els[0].Value, Algorithm: algorithmOf(els[0].Value)}
	v := map[uint32][]byte{}
	prev := uint32(0)
	for _, e := range els[1:] {
		if e.Tag < 0x81 || e.Tag > 0x87 || e.Tag <= prev {
			return nil, formatErr("7F49: tag %X out of place (want ascending 81..87)", e.Tag)
		}
		prev = e.Tag
		v[e.Tag] = e.Value
	}
	switch {
	case k.Algorithm.IsRSA():
		return k, k.parseRSA(v)
	case k.Algorithm.IsECDSA():
		return k, k.parseEC(v)
	case k.Algorithm == ECDHSHA256:
		return k, k.parseMontgomery(v)
	default:
		return nil, fmt.Errorf("%w: public key algorithm % X", ErrUnsupported, k.OID)
	}
}

func (k *PublicKey) parseRSA(v map[uint32][]byte) error {
	n, e := v[0x81], v[0x82]
	if len(v) != 2 || len(n) == 0 || len(e) == 0 || len(e) > 4 {
		return formatErr("RSA key must be 81 modulus, 82 exponent (at most 4 bytes)")
	}
	k.N = new(big.Int).SetBytes(n)
	exp := new(big.Int).SetBytes(e)
	if k.N.Sign() == 0 || exp.Bit(0) == 0 || exp.Cmp(big.NewInt(3)) < 0 || exp.BitLen() > 31 {
		return formatErr("RSA key: zero modulus or bad exponent %v", exp)
	}
	k.E = int(exp.Int64())
	return nil
}

func (k *PublicKey) parseEC(v map[uint32][]byte) error {
	q, ok := v[0x86]
	if !ok {
		return formatErr("EC key without 86 public point")
	}
	k.Point = q
	_, hasP := v[0x81]
	if !hasP {
		if len(v) != 1 {
			return formatErr("EC key: domain parameters without 81 prime")
		}
		if len(q) < 3 || len(q)%2 == 0 || q[0] != 0x04 {
			return formatErr("EC point is not uncompressed (04 || x || y)")
		}
		return nil
	}
	if _, ok := v[0x82]; !ok {
		return formatErr("EC key: 81 without 82")
	}
	c := curveByPA(v[0x81], v[0x82])
	if c == nil {
		return fmt.Errorf("%w: p and a match no known curve", ErrUnsupported)
	}
	for _, check := range []struct {
		tag  uint32
		want []byte
	}{{0x83, c.B}, {0x84, c.G}, {0x85, c.N}, {0x87, []byte{1}}} {
		if got, ok := v[check.tag]; ok && !bytes.Equal(got, check.want) {
			return formatErr("%X does not match %s", check.tag, c.Name)
		}
	}
	if len(q) != 1+2*c.FieldBytes() || q[0] != 0x04 {
		return formatErr("86 is not an uncompressed %s point", c.Name)
	}
	if c.ecdh != nil {
		if _, err := c.ecdh.NewPublicKey(q); err != nil {
			return formatErr("86 is not a point of %s: %v", c.Name, err)
		}
	} else if _, _, ok := c.math.Unmarshal(q); !ok {
		return formatErr("86 is not a point of %s", c.Name)
	}
	k.Curve = c
	return nil
}

// parseMontgomery reads 81 p, 82 order, 83 generator, 84 public u: the curve is named by p;
// order and generator must be that curve's.
func (k *PublicKey) parseMontgomery(v map[uint32][]byte) error {
	u, ok := v[0x84]
	if len(v) != 4 || !ok {
		return formatErr("X25519/X448 key must be 81 p, 82 order, 83 generator, 84 public key")
	}
	c := curveByPrime(v[0x81])
	if c == nil {
		return fmt.Errorf("%w: id-RI-ECDH-SHA-256 key: p matches neither X25519 nor X448", ErrUnsupported)
	}
	if !bytes.Equal(v[0x82], c.N) || !bytes.Equal(v[0x83], c.G) {
		return formatErr("82 or 83 does not match %s", c.Name)
	}
	if len(u) != c.FieldBytes() {
		return formatErr("%s public key of %d bytes, want %d", c.Name, len(u), c.FieldBytes())
	}
	k.Curve, k.Point = c, u
	return nil
}

// ECDSA returns k as a crypto/ecdsa key. It fails with ErrUnsupported for RSA keys, keys
// without domain parameters and curves the standard library lacks.
func (k *PublicKey) ECDSA() (*ecdsa.PublicKey, error) {
	if !k.Algorithm.IsECDSA() || k.Curve == nil || k.Curve.stdlib == nil {
		return nil, fmt.Errorf("%w: no standard-library ECDSA key for this 7F49", ErrUnsupported)
	}
	n := k.Curve.FieldBytes()
	return &ecdsa.PublicKey{
		Curve: k.Curve.stdlib,
		X:     new(big.Int).SetBytes(k.Point[1 : 1+n]),
		Y:     new(big.Int).SetBytes(k.Point[1+n:]),
	}, nil
}
