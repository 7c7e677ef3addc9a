package hsm

// Public keys of card keys: decoded from the CV request GENERATE ASYMMETRIC KEY PAIR returns
// (section 2.11.2) or from what a CE file holds, and their SubjectPublicKeyInfo encoding.

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// ECPublicKey is a public key on a curve the standard library has no key type for
// (secp192r1, secp192k1, secp256k1, the brainpool curves, X448).
type ECPublicKey struct {
	Curve *Curve
	// Point is the uncompressed point 04 || x || y on a Weierstrass curve, the u-coordinate
	// (little-endian, RFC 7748) on a Montgomery curve.
	Point []byte
}

// Equal reports whether x is the same public key (crypto.PublicKey's convention).
func (k *ECPublicKey) Equal(x crypto.PublicKey) bool {
	o, ok := x.(*ECPublicKey)
	return ok && o.Curve == k.Curve && bytes.Equal(o.Point, k.Point)
}

// publicFromCVC converts a parsed 7F49 template: *rsa.PublicKey; *ecdsa.PublicKey on P-256,
// P-384 and P-521; *ecdh.PublicKey for X25519; *ECPublicKey otherwise.
func publicFromCVC(k *cvc.PublicKey) (crypto.PublicKey, error) {
	switch {
	case k.Algorithm.IsRSA():
		return &rsa.PublicKey{N: k.N, E: k.E}, nil
	case k.Curve == nil:
		return nil, fmt.Errorf("%w: EC public key without domain parameters", ErrNotSupported)
	}
	c := CurveByName(k.Curve.Name)
	if c == nil {
		return nil, fmt.Errorf("%w: curve %s", ErrNotSupported, k.Curve.Name)
	}
	if k.Curve.Elliptic() != nil {
		return k.ECDSA()
	}
	if c.Name == "X25519" {
		return ecdh.X25519().NewPublicKey(k.Point)
	}
	return &ECPublicKey{Curve: c, Point: append([]byte(nil), k.Point...)}, nil
}

// curveOf returns the curve of an EC public key, nil for other keys.
func curveOf(pub crypto.PublicKey) *Curve {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return CurveByName(k.Curve.Params().Name)
	case *ecdh.PublicKey:
		switch k.Curve() {
		case ecdh.X25519():
			return CurveByName("X25519")
		case ecdh.P256():
			return CurveByName("secp256r1")
		case ecdh.P384():
			return CurveByName("secp384r1")
		case ecdh.P521():
			return CurveByName("secp521r1")
		}
	case *ECPublicKey:
		return k.Curve
	}
	return nil
}

// PublicPoint returns the encoded point of an EC public key (*ecdsa.PublicKey,
// *ecdh.PublicKey, *ECPublicKey): 04 || x || y, or the raw u-coordinate of an X25519/X448
// key — the peer input of ECDH.
func PublicPoint(pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		return e.Bytes(), nil
	case *ecdh.PublicKey:
		return k.Bytes(), nil
	case *ECPublicKey:
		return k.Point, nil
	}
	return nil, fmt.Errorf("%w: %T is not an EC public key", ErrNotSupported, pub)
}

// KeyDescription names a public key's type and size: "rsa:2048", "ec:secp256r1", "x25519".
func KeyDescription(pub crypto.PublicKey) string {
	if k, ok := pub.(*rsa.PublicKey); ok {
		return fmt.Sprintf("rsa:%d", k.N.BitLen())
	}
	c := curveOf(pub)
	switch {
	case c == nil:
		return fmt.Sprintf("%T", pub)
	case c.Kind == Montgomery:
		return strings.ToLower(c.Name)
	}
	return "ec:" + c.Name
}

// ParseKeyFile decodes the public key in the content of a CE file (section 3.1): the
// authenticated request a key generation returned (67), a CV certificate (7F21) or an X.509
// certificate (30).
func ParseKeyFile(b []byte) (crypto.PublicKey, error) {
	switch {
	case len(b) > 0 && b[0] == cvc.TagAuthenticatedRequest:
		a, err := cvc.ParseAuthenticatedRequest(b)
		if err != nil {
			return nil, err
		}
		return publicFromCVC(a.Request.PublicKey)
	case len(b) > 1 && b[0] == 0x7F && b[1] == 0x21:
		c, err := cvc.Parse(b)
		if err != nil {
			return nil, err
		}
		return publicFromCVC(c.PublicKey)
	case len(b) > 0 && b[0] == 0x30:
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, errors.New("neither a CV request, a CV certificate nor an X.509 certificate")
}

// OIDs of SubjectPublicKeyInfo (RFC 5480, RFC 8410).
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidX25519      = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidX448        = asn1.ObjectIdentifier{1, 3, 101, 111}
)

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// MarshalPKIXPublicKey encodes pub as a DER SubjectPublicKeyInfo. Unlike x509's function it
// also encodes ECPublicKey: named-curve EC keys (RFC 5480) and X448 (RFC 8410).
func MarshalPKIXPublicKey(pub crypto.PublicKey) ([]byte, error) {
	k, ok := pub.(*ECPublicKey)
	if !ok {
		return x509.MarshalPKIXPublicKey(pub)
	}
	var alg pkix.AlgorithmIdentifier
	if k.Curve.Kind == Montgomery {
		alg.Algorithm = oidX448
		if k.Curve.Name == "X25519" {
			alg.Algorithm = oidX25519
		}
	} else {
		curveOID, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagOID, Bytes: k.Curve.OID})
		if err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: curveOID}}
	}
	return asn1.Marshal(spki{Algorithm: alg, PublicKey: asn1.BitString{Bytes: k.Point, BitLength: 8 * len(k.Point)}})
}

// ParsePKIXPublicKey decodes a DER SubjectPublicKeyInfo: what x509.ParsePKIXPublicKey
// accepts, plus the EC keys on the other curves of the card and X448 (as *ECPublicKey).
func ParsePKIXPublicKey(der []byte) (crypto.PublicKey, error) {
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		return pub, nil
	}
	var s spki
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil || len(rest) != 0 || s.PublicKey.BitLength%8 != 0 {
		return nil, errors.New("not a DER SubjectPublicKeyInfo")
	}
	var c *Curve
	switch alg := s.Algorithm.Algorithm; {
	case alg.Equal(oidX448):
		c = CurveByName("X448")
	case alg.Equal(oidECPublicKey):
		var param asn1.RawValue
		if _, err := asn1.Unmarshal(s.Algorithm.Parameters.FullBytes, &param); err == nil && param.Tag == asn1.TagOID {
			c = curveByOID(param.Bytes)
		}
	}
	if c == nil {
		return nil, fmt.Errorf("%w: public key algorithm %v", ErrNotSupported, s.Algorithm.Algorithm)
	}
	k := &ECPublicKey{Curve: c, Point: s.PublicKey.Bytes}
	if err := checkPoint(c, k.Point); err != nil {
		return nil, err
	}
	return k, nil
}

// checkPoint checks an encoded point's form and length (not that it lies on the curve: the
// card does that).
func checkPoint(c *Curve, p []byte) error {
	if c.Kind == Montgomery {
		if len(p) != c.FieldBytes() {
			return fmt.Errorf("%s public key of %d bytes, want %d", c.Name, len(p), c.FieldBytes())
		}
		return nil
	}
	if len(p) != 1+2*c.FieldBytes() || p[0] != 0x04 {
		return fmt.Errorf("%s point of %d bytes is not uncompressed (04 || x || y, %d bytes)", c.Name, len(p), 1+2*c.FieldBytes())
	}
	return nil
}

// template encodes the 7F49 public key template of a GAKP request (section 2.11.1,
// pico-hsm-extensions.md 5.2.1): Weierstrass 06 81 82 83 84 85 87; Montgomery 06 81 82 83.
func (c *Curve) template() []byte {
	v := tlv.Encode(0x06, cvc.OIDECDSASHA256)
	v = tlv.Append(v, 0x81, c.P)
	if c.Kind == Montgomery {
		v = tlv.Append(v, 0x82, c.N)
		v = tlv.Append(v, 0x83, c.G)
		return tlv.Encode(0x7F49, v)
	}
	v = tlv.Append(v, 0x82, c.A)
	v = tlv.Append(v, 0x83, c.B)
	v = tlv.Append(v, 0x84, c.G)
	v = tlv.Append(v, 0x85, c.N)
	v = tlv.Append(v, 0x87, []byte{0x01})
	return tlv.Encode(0x7F49, v)
}
