package cvc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// mathKey makes a key pair on a curve with the test's math/big arithmetic.
func mathKey(t *testing.T, c *Curve) (*big.Int, []byte) {
	t.Helper()
	d, err := rand.Int(rand.Reader, new(big.Int).Sub(c.math.N, big.NewInt(1)))
	if err != nil {
		t.Fatal(err)
	}
	d.Add(d, big.NewInt(1))
	x, y := c.math.ScalarBaseMult(d)
	return d, c.math.Marshal(x, y)
}

// mathSign is textbook ECDSA-SHA-256 (SEC 1 4.1.3), r || s at the order's length.
func mathSign(t *testing.T, c *Curve, d *big.Int, msg []byte) []byte {
	t.Helper()
	h := sha256.Sum256(msg)
	m := c.math
	e := new(big.Int).SetBytes(h[:])
	if excess := 256 - m.N.BitLen(); excess > 0 {
		e.Rsh(e, uint(excess))
	}
	for {
		k, _ := rand.Int(rand.Reader, m.N)
		if k.Sign() == 0 {
			continue
		}
		x, _ := m.ScalarBaseMult(k)
		r := new(big.Int).Mod(x, m.N)
		s := new(big.Int).Mul(r, d)
		s.Add(s, e)
		s.Mul(s, new(big.Int).ModInverse(k, m.N))
		s.Mod(s, m.N)
		if r.Sign() == 0 || s.Sign() == 0 {
			continue
		}
		n := len(c.N)
		return cat(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n)))
	}
}

func montPub(c *Curve, u []byte) []byte {
	return tlv.Encode(TagPublicKey, cat(tlv.Encode(0x06, OIDECDHSHA256), tlv.Encode(0x81, c.P),
		tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G), tlv.Encode(0x84, u)))
}

// X25519 and X448 requests as Pico HSM writes them (pico-hsm-extensions.md 5.2): the key
// parses, the all-zero self-signature does not verify.
func TestMontgomeryKeys(t *testing.T) {
	for _, name := range []string{"X25519", "X448"} {
		t.Run(name, func(t *testing.T) {
			c := CurveByName(name)
			u := make([]byte, c.FieldBytes())
			rand.Read(u)
			b := body("UTCA00001", "ZZPX00001", montPub(c, u), false)
			got, err := Parse(cert(b, make([]byte, 2*c.FieldBytes())))
			if err != nil {
				t.Fatal(err)
			}
			k := got.PublicKey
			if k.Algorithm != ECDHSHA256 || k.Curve != c || !bytes.Equal(k.Point, u) {
				t.Fatalf("public key %+v", k)
			}
			if err := got.VerifySelfSigned(); !errors.Is(err, ErrUnsupported) {
				t.Errorf("VerifySelfSigned = %v, want ErrUnsupported", err)
			}
			if k.VerifyECDSA(make([]byte, 32), big.NewInt(1), big.NewInt(1)) {
				t.Error("VerifyECDSA true for an X key")
			}
			if (c.ECDH() != nil) != (name == "X25519") {
				t.Errorf("ECDH() = %v", c.ECDH())
			}
		})
	}
	c := CurveByName("X25519")
	u := make([]byte, 32)
	oid := tlv.Encode(0x06, OIDECDHSHA256)
	pk := func(els ...[]byte) []byte { return tlv.Encode(TagPublicKey, cat(els...)) }
	otherP := append([]byte(nil), c.P...)
	otherP[0] = 0x3F
	for _, tc := range []struct {
		name string
		pk   []byte
		want error
	}{
		{"unknown prime", pk(oid, tlv.Encode(0x81, otherP), tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G), tlv.Encode(0x84, u)), ErrUnsupported},
		{"wrong order", pk(oid, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.P), tlv.Encode(0x83, c.G), tlv.Encode(0x84, u)), ErrFormat},
		{"Ed25519 generator", pk(oid, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.N), tlv.Encode(0x83, bytes.Repeat([]byte{0x58}, 32)), tlv.Encode(0x84, u)), ErrFormat},
		{"short public key", pk(oid, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G), tlv.Encode(0x84, u[:31])), ErrFormat},
		{"no public key", pk(oid, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G)), ErrFormat},
		{"86 in place of 84", pk(oid, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G), tlv.Encode(0x86, u)), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(cert(body("UTCA00001", "ZZPX00001", tc.pk, false), make([]byte, 64)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
	// The X25519 base point through crypto/ecdh gives the RFC 7748 public key encoding.
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pub, _ := ecmath.X25519.Function(priv.Bytes(), c.G)
	if !bytes.Equal(pub, priv.PublicKey().Bytes()) {
		t.Error("X25519 generator is not the base point")
	}
}

// An authenticated request (67): parsed, outer signature checked under the device key.
func TestAuthenticatedRequest(t *testing.T) {
	c256 := CurveByName("secp256r1")
	devRaw, devKey := selfSigned(t, "secp256r1", "ZZPDEV00001", "ZZPDEV00001")
	dev, err := Parse(devRaw)
	if err != nil {
		t.Fatal(err)
	}
	k := ecKey(t, elliptic.P256())
	b := body("UTCA00001", "ZZPDEV00001", ecPub(&k.PublicKey, c256, true), false)
	inner := cert(b, signEC(t, k, b))
	outerCAR := tlv.Encode(TagCAR, []byte("ZZPDEV00001"))
	signed := cat(inner, outerCAR)
	good := tlv.Encode(TagAuthenticatedRequest, cat(signed, tlv.Encode(TagSignature, signEC(t, devKey, signed))))

	a, err := ParseAuthenticatedRequest(good)
	if err != nil {
		t.Fatal(err)
	}
	if a.OuterCAR != "ZZPDEV00001" || !bytes.Equal(a.Raw, good) || !bytes.Equal(a.OuterSigned, signed) || a.Request.CAR != "UTCA00001" {
		t.Errorf("parsed %+v", a)
	}
	if err := a.Request.VerifySelfSigned(); err != nil {
		t.Errorf("inner: %v", err)
	}
	if err := a.VerifyOuter(dev.PublicKey); err != nil {
		t.Errorf("outer: %v", err)
	}
	if err := a.VerifyOuter(a.Request.PublicKey); !errors.Is(err, ErrSignature) {
		t.Errorf("outer under the wrong key: %v", err)
	}
	otherCAR := tlv.Encode(TagCAR, []byte("ZZPDEV00002"))
	tampered := tlv.Encode(TagAuthenticatedRequest, cat(inner, otherCAR, tlv.Encode(TagSignature, signEC(t, devKey, signed))))
	if a, err := ParseAuthenticatedRequest(tampered); err != nil || !errors.Is(a.VerifyOuter(dev.PublicKey), ErrSignature) {
		t.Errorf("tampered outer CAR: %v", err)
	}
	for name, in := range map[string][]byte{
		"bare 7F21":         inner,
		"no signature":      tlv.Encode(TagAuthenticatedRequest, signed),
		"trailing byte":     append(append([]byte(nil), good...), 0),
		"CAR first":         tlv.Encode(TagAuthenticatedRequest, cat(outerCAR, inner, tlv.Encode(TagSignature, []byte{1}))),
		"empty signature":   tlv.Encode(TagAuthenticatedRequest, cat(signed, tlv.Encode(TagSignature, nil))),
		"bad inner":         tlv.Encode(TagAuthenticatedRequest, cat(tlv.Encode(TagCertificate, b), outerCAR, tlv.Encode(TagSignature, []byte{1}))),
		"outer CAR too big": tlv.Encode(TagAuthenticatedRequest, cat(inner, tlv.Encode(TagCAR, bytes.Repeat([]byte{'A'}, 17)), tlv.Encode(TagSignature, []byte{1}))),
	} {
		if _, err := ParseAuthenticatedRequest(in); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}
