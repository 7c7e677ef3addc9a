package cvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// A test-only encoder, written from the format in the package comment, so that the parser is
// exercised by certificates it did not produce.

var (
	testEffective = []byte{2, 6, 0, 1, 0, 1}
	testExpiry    = []byte{9, 9, 1, 2, 3, 1}
	testCHAT      = []byte{0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02, 0x53, 0x01, 0x00}
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ecPub encodes 7F49 for pub; with domain the full 81..87 template of curve.
func ecPub(pub *ecdsa.PublicKey, c *Curve, domain bool) []byte {
	n := c.FieldBytes()
	q := cat([]byte{4}, pub.X.FillBytes(make([]byte, n)), pub.Y.FillBytes(make([]byte, n)))
	return ecPubRaw(c, q, domain)
}

func ecPubRaw(c *Curve, q []byte, domain bool) []byte {
	v := tlv.Encode(0x06, OIDECDSASHA256)
	if domain {
		v = cat(v, tlv.Encode(0x81, c.P), tlv.Encode(0x82, c.A), tlv.Encode(0x83, c.B),
			tlv.Encode(0x84, c.G), tlv.Encode(0x85, c.N))
	}
	v = append(v, tlv.Encode(0x86, q)...)
	if domain {
		v = append(v, tlv.Encode(0x87, []byte{1})...)
	}
	return tlv.Encode(TagPublicKey, v)
}

func rsaPub(pub *rsa.PublicKey) []byte {
	return tlv.Encode(TagPublicKey, cat(tlv.Encode(0x06, OIDRSAv15SHA256),
		tlv.Encode(0x81, pub.N.Bytes()), tlv.Encode(0x82, big.NewInt(int64(pub.E)).Bytes())))
}

// body encodes 7F4E; full adds CHAT and dates; car "" omits 42.
func body(car, chr string, pk []byte, full bool) []byte {
	v := tlv.Encode(TagCPI, []byte{0})
	if car != "" {
		v = append(v, tlv.Encode(TagCAR, []byte(car))...)
	}
	v = cat(v, pk, tlv.Encode(TagCHR, []byte(chr)))
	if full {
		v = cat(v, tlv.Encode(TagCHAT, testCHAT), tlv.Encode(TagEffective, testEffective),
			tlv.Encode(TagExpiry, testExpiry))
	}
	return tlv.Encode(TagBody, v)
}

// signEC signs b with ECDSA-SHA-256, r || s at the order's byte length.
func signEC(t *testing.T, priv *ecdsa.PrivateKey, b []byte) []byte {
	t.Helper()
	d := sha256.Sum256(b)
	r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	n := (priv.Curve.Params().N.BitLen() + 7) / 8
	return cat(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n)))
}

func signRSA(t *testing.T, priv *rsa.PrivateKey, b []byte) []byte {
	t.Helper()
	d := sha256.Sum256(b)
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func cert(body, sig []byte) []byte {
	return tlv.Encode(TagCertificate, cat(body, tlv.Encode(TagSignature, sig)))
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned builds a full self-signed certificate of a new key on curve name.
func selfSigned(t *testing.T, curve, car, chr string) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	c := CurveByName(curve)
	k := ecKey(t, c.Elliptic())
	b := body(car, chr, ecPub(&k.PublicKey, c, true), true)
	return cert(b, signEC(t, k, b)), k
}
