package cvc

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

func TestParseVerifySelfSigned(t *testing.T) {
	for _, tc := range []struct {
		curve  string
		sigLen int
	}{
		{"secp256r1", 64},
		{"secp384r1", 96},
		{"secp521r1", 132},
	} {
		t.Run(tc.curve, func(t *testing.T) {
			raw, k := selfSigned(t, tc.curve, "ZZPTESTCA00001", "ZZPTESTDEV00001")
			c, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.VerifySelfSigned(); err != nil {
				t.Fatalf("VerifySelfSigned: %v", err)
			}
			if c.CAR != "ZZPTESTCA00001" || c.CHR != "ZZPTESTDEV00001" || c.CPI != 0 {
				t.Errorf("CAR %q CHR %q CPI %d", c.CAR, c.CHR, c.CPI)
			}
			if c.PublicKey.Curve == nil || c.PublicKey.Curve.Name != tc.curve ||
				c.PublicKey.Algorithm != ECDSASHA256 {
				t.Fatalf("public key %+v", c.PublicKey)
			}
			pub, err := c.PublicKey.ECDSA()
			if err != nil || !pub.Equal(&k.PublicKey) {
				t.Errorf("ECDSA() = %v, %v; want the signing key", pub, err)
			}
			if len(c.Signature) != tc.sigLen {
				t.Errorf("signature of %d bytes, want %d", len(c.Signature), tc.sigLen)
			}
			if c.CHAT == nil || !bytes.Equal(c.CHAT.Role, testCHAT[2:11]) ||
				!bytes.Equal(c.CHAT.Access, []byte{0}) {
				t.Errorf("CHAT %+v", c.CHAT)
			}
			want0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			want1 := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
			if !c.Effective.Equal(want0) || !c.Expiry.Equal(want1) {
				t.Errorf("dates %v %v", c.Effective, c.Expiry)
			}
			if c.IsRequest() || !bytes.Equal(c.Raw, raw) || !bytes.HasPrefix(c.Body, []byte{0x7F, 0x4E}) {
				t.Errorf("IsRequest %v, Raw/Body not the input", c.IsRequest())
			}
		})
	}
}

func TestRequestWithoutCAR(t *testing.T) {
	c256 := CurveByName("secp256r1")
	k := ecKey(t, elliptic.P256())
	b := body("", "ZZPABCDEFGH00001", ecPub(&k.PublicKey, c256, true), false)
	c, err := Parse(cert(b, signEC(t, k, b)))
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsRequest() || c.CAR != "" {
		t.Errorf("IsRequest %v CAR %q", c.IsRequest(), c.CAR)
	}
	if err := c.VerifySelfSigned(); err != nil {
		t.Error(err)
	}
}

// A CA on P-384 issues a device certificate whose key carries no domain parameters (the
// PKI form of pico-hsm-extensions.md 5.2); EF.C_DevAut holds device then CA.
func TestChain(t *testing.T) {
	caRaw, caKey := selfSigned(t, "secp384r1", "ZZPTESTCA00001", "ZZPTESTCA00001")
	dev := ecKey(t, elliptic.P256())
	b := body("ZZPTESTCA00001", "ZZPTESTDEV00001", ecPub(&dev.PublicKey, CurveByName("secp256r1"), false), true)
	devRaw := cert(b, signEC(t, caKey, b))

	certs, err := ParseAll(cat(devRaw, caRaw))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || certs[0].CHR != "ZZPTESTDEV00001" || certs[1].CHR != "ZZPTESTCA00001" {
		t.Fatalf("ParseAll: %d certificates", len(certs))
	}
	if err := certs[1].VerifySelfSigned(); err != nil {
		t.Errorf("CA: %v", err)
	}
	if err := certs[0].Verify(certs[1].PublicKey); err != nil {
		t.Errorf("device under CA: %v", err)
	}
	if certs[0].PublicKey.Curve != nil || len(certs[0].PublicKey.Point) != 65 {
		t.Errorf("device key: curve %v, point %d bytes", certs[0].PublicKey.Curve, len(certs[0].PublicKey.Point))
	}
	if err := certs[0].VerifySelfSigned(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("device key without domain parameters verified: %v", err)
	}
	other, _ := selfSigned(t, "secp384r1", "ZZPTESTCA00002", "ZZPTESTCA00002")
	oc, err := Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs[0].Verify(oc.PublicKey); !errors.Is(err, ErrSignature) {
		t.Errorf("device under the wrong CA: %v", err)
	}
}

func TestRSA(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := body("ZZPRSA00001", "ZZPRSA00001", rsaPub(&k.PublicKey), true)
	c, err := Parse(cert(b, signRSA(t, k, b)))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicKey.Algorithm != RSAv15SHA256 || c.PublicKey.N.Cmp(k.N) != 0 || c.PublicKey.E != k.E {
		t.Errorf("RSA key %+v", c.PublicKey)
	}
	if err := c.VerifySelfSigned(); err != nil {
		t.Error(err)
	}
	bad := cert(b, signRSA(t, k, b[:len(b)-1]))
	if c, err := Parse(bad); err != nil || !errors.Is(c.VerifySelfSigned(), ErrSignature) {
		t.Errorf("RSA signature over other bytes: Parse %v", err)
	}
}

// Curves the standard library lacks parse (curve identified by p and a) and verify with the
// math/big fallback: a signature made here by textbook ECDSA passes, a wrong one fails.
func TestCurvesWithoutStdlib(t *testing.T) {
	for _, name := range []string{"secp192r1", "secp192k1", "secp256k1", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"} {
		t.Run(name, func(t *testing.T) {
			c := CurveByName(name)
			d, q := mathKey(t, c)
			b := body("ZZPX00001", "ZZPX00001", ecPubRaw(c, q, true), true)
			got, err := Parse(cert(b, mathSign(t, c, d, b)))
			if err != nil {
				t.Fatal(err)
			}
			if got.PublicKey.Curve != c || c.Elliptic() != nil {
				t.Errorf("curve %v, want %s without a stdlib curve", got.PublicKey.Curve, name)
			}
			if err := got.VerifySelfSigned(); err != nil {
				t.Errorf("VerifySelfSigned = %v", err)
			}
			other := body("ZZPX00001", "ZZPX00002", ecPubRaw(c, q, true), true)
			if bad, err := Parse(cert(other, mathSign(t, c, d, b))); err != nil || !errors.Is(bad.VerifySelfSigned(), ErrSignature) {
				t.Errorf("signature over another body: %v", err)
			}
			if _, err := got.PublicKey.ECDSA(); !errors.Is(err, ErrUnsupported) {
				t.Errorf("ECDSA() = %v, want ErrUnsupported", err)
			}
			offCurve := append([]byte(nil), q...)
			offCurve[len(q)-1] ^= 1
			if _, err := Parse(cert(body("ZZPX00001", "ZZPX00001", ecPubRaw(c, offCurve, true), true), make([]byte, 2))); !errors.Is(err, ErrFormat) {
				t.Errorf("point off the curve: %v, want ErrFormat", err)
			}
		})
	}
}

// TestCurveTable checks facts of core spec 3.7.3 on the table itself.
func TestCurveTable(t *testing.T) {
	k1 := CurveByName("secp256k1")
	if !bytes.Equal(k1.A, make([]byte, 32)) || k1.B[31] != 7 || !bytes.Equal(k1.B[:31], make([]byte, 31)) {
		t.Error("secp256k1: a must be 32 zero bytes, b 31 zero bytes then 07")
	}
	p521 := CurveByName("secp521r1")
	if len(p521.P) != 66 || p521.P[0] != 1 || p521.A[0] != 1 || p521.N[0] != 1 || p521.B[0] != 0 || p521.B[1] != 0x51 {
		t.Error("secp521r1: p, a, n must start with 01 and b with 00 51, at 66 bytes")
	}
	for _, c := range curves {
		if c.Montgomery {
			if c.A != nil || c.B != nil || len(c.G) != len(c.P) || len(c.N) != len(c.P) {
				t.Errorf("%s: parameters not at field length", c.Name)
			}
			continue
		}
		if len(c.A) != len(c.P) || len(c.B) != len(c.P) || len(c.G) != 1+2*len(c.P) || len(c.N) != len(c.P) {
			t.Errorf("%s: parameters not at field length", c.Name)
		}
	}
	// p and the order of X25519 and X448 (RFC 7748 section 4).
	two := big.NewInt(2)
	pow := func(e int64) *big.Int { return new(big.Int).Exp(two, big.NewInt(e), nil) }
	n448, _ := new(big.Int).SetString("13818066809895115352007386748515426880336692474882178609894547503885", 10)
	n25519, _ := new(big.Int).SetString("27742317777372353535851937790883648493", 10)
	for _, tc := range []struct {
		name string
		p, n *big.Int
	}{
		{"X25519", new(big.Int).Sub(pow(255), big.NewInt(19)), new(big.Int).Add(pow(252), n25519)},
		{"X448", new(big.Int).Sub(new(big.Int).Sub(pow(448), pow(224)), big.NewInt(1)), new(big.Int).Sub(pow(446), n448)},
	} {
		c := CurveByName(tc.name)
		if new(big.Int).SetBytes(c.P).Cmp(tc.p) != 0 || new(big.Int).SetBytes(c.N).Cmp(tc.n) != 0 {
			t.Errorf("%s: p or order wrong", tc.name)
		}
	}
}

func TestErrors(t *testing.T) {
	c256 := CurveByName("secp256r1")
	k := ecKey(t, elliptic.P256())
	pk := ecPub(&k.PublicKey, c256, true)
	good := body("ZZPTESTCA00001", "ZZPTESTDEV00001", pk, true)
	sig := signEC(t, k, good)
	valid := cert(good, sig)

	// raw body from elements
	rawBody := func(els ...[]byte) []byte { return tlv.Encode(TagBody, cat(els...)) }
	cpi := tlv.Encode(TagCPI, []byte{0})
	car := tlv.Encode(TagCAR, []byte("ZZPTESTCA00001"))
	chr := tlv.Encode(TagCHR, []byte("ZZPTESTDEV00001"))
	chat := tlv.Encode(TagCHAT, testCHAT)
	eff := tlv.Encode(TagEffective, testEffective)
	exp := tlv.Encode(TagExpiry, testExpiry)
	q := pk[len(pk)-3-67+2 : len(pk)-3] // value of 86 (65 bytes) before 87 01 01
	withBody := func(b []byte) []byte { return cert(b, sig) }
	pkWith := func(els ...[]byte) []byte { return tlv.Encode(TagPublicKey, cat(els...)) }
	oid := tlv.Encode(0x06, OIDECDSASHA256)
	e81, e82, e83 := tlv.Encode(0x81, c256.P), tlv.Encode(0x82, c256.A), tlv.Encode(0x83, c256.B)
	e84, e85, e86, e87 := tlv.Encode(0x84, c256.G), tlv.Encode(0x85, c256.N), tlv.Encode(0x86, q), tlv.Encode(0x87, []byte{1})
	badP := append([]byte{}, c256.P...)
	badP[31] ^= 2
	badB := append([]byte{}, c256.B...)
	badB[0] ^= 1
	badQ := append([]byte{}, q...)
	badQ[64] ^= 1
	tampered := body("ZZPTESTCA00001", "ZZPTESTDEV00002", pk, true)
	flippedSig := append([]byte{}, sig...)
	flippedSig[63] ^= 1

	for _, tc := range []struct {
		name   string
		in     []byte
		want   error
		verify bool // the error comes from VerifySelfSigned, not Parse
	}{
		{"tampered body", cert(tampered, sig), ErrSignature, true},
		{"tampered signature", cert(good, flippedSig), ErrSignature, true},
		{"short signature", cert(good, sig[:63]), ErrSignature, true},
		{"truncated by one byte", valid[:len(valid)-1], ErrFormat, false},
		{"truncated to the header", valid[:4], ErrFormat, false},
		{"empty input", nil, ErrFormat, false},
		{"trailing byte", append(append([]byte{}, valid...), 0), ErrFormat, false},
		{"outer tag 67", tlv.Encode(0x67, valid), ErrFormat, false},
		{"outer tag 7F4E", good, ErrFormat, false},
		{"body tag 7F4F", tlv.Encode(TagCertificate, cat(tlv.Encode(0x7F4F, valueOf(t, good)), tlv.Encode(TagSignature, sig))), ErrFormat, false},
		{"signature before body", tlv.Encode(TagCertificate, cat(tlv.Encode(TagSignature, sig), good)), ErrFormat, false},
		{"empty signature", cert(good, nil), ErrFormat, false},
		{"CAR after 7F49", withBody(rawBody(cpi, pk, car, chr, chat, eff, exp)), ErrFormat, false},
		{"no CPI", withBody(rawBody(car, pk, chr, chat, eff, exp)), ErrFormat, false},
		{"no CHR", withBody(rawBody(cpi, car, pk, chat, eff, exp)), ErrFormat, false},
		{"no public key", withBody(rawBody(cpi, car, chr, chat, eff, exp)), ErrFormat, false},
		{"CHR too long", withBody(rawBody(cpi, car, pk, tlv.Encode(TagCHR, []byte("ZZPTESTDEVICE0001")), chat, eff, exp)), ErrFormat, false},
		{"CHR empty", withBody(rawBody(cpi, car, pk, tlv.Encode(TagCHR, nil), chat, eff, exp)), ErrFormat, false},
		{"CAR not printable", withBody(rawBody(cpi, tlv.Encode(TagCAR, []byte("ZZ*CA00001")), pk, chr, chat, eff, exp)), ErrFormat, false},
		{"effective date only", withBody(rawBody(cpi, car, pk, chr, chat, eff)), ErrFormat, false},
		{"date digit 10", withBody(rawBody(cpi, car, pk, chr, chat, tlv.Encode(TagEffective, []byte{2, 6, 0, 10, 0, 1}), exp)), ErrFormat, false},
		{"date 2026-02-30", withBody(rawBody(cpi, car, pk, chr, chat, tlv.Encode(TagEffective, []byte{2, 6, 0, 2, 3, 0}), exp)), ErrFormat, false},
		{"dates in the wrong order", withBody(rawBody(cpi, car, pk, chr, chat, exp, eff)), ErrFormat, false},
		{"expiry before effective", withBody(rawBody(cpi, car, pk, chr, chat, tlv.Encode(TagEffective, testExpiry), tlv.Encode(TagExpiry, testEffective))), ErrFormat, false},
		{"unknown element in body", withBody(rawBody(cpi, car, pk, chr, chat, eff, exp, tlv.Encode(0x53, []byte{1}))), ErrFormat, false},
		{"7F49 out of order", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, e83, e84, e86, e85, e87), chr)), ErrFormat, false},
		{"7F49 without OID", withBody(rawBody(cpi, car, pkWith(e81, e82, e83, e84, e85, e86, e87), chr)), ErrFormat, false},
		{"7F49 without point", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, e83, e84, e85, e87), chr)), ErrFormat, false},
		{"7F49 p without a", withBody(rawBody(cpi, car, pkWith(oid, e81, e86), chr)), ErrFormat, false},
		{"unknown curve", withBody(rawBody(cpi, car, pkWith(oid, tlv.Encode(0x81, badP), e82, e86), chr)), ErrUnsupported, false},
		{"a short of full length", withBody(rawBody(cpi, car, pkWith(oid, e81, tlv.Encode(0x82, c256.A[1:]), e86), chr)), ErrUnsupported, false},
		{"b of another curve", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, tlv.Encode(0x83, badB), e84, e85, e86, e87), chr)), ErrFormat, false},
		{"point not on curve", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, e83, e84, e85, tlv.Encode(0x86, badQ), e87), chr)), ErrFormat, false},
		{"compressed point", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, tlv.Encode(0x86, append([]byte{2}, q[1:33]...))), chr)), ErrFormat, false},
		{"cofactor 2", withBody(rawBody(cpi, car, pkWith(oid, e81, e82, e86, tlv.Encode(0x87, []byte{2})), chr)), ErrFormat, false},
		{"unknown algorithm", withBody(rawBody(cpi, car, pkWith(tlv.Encode(0x06, []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x01}), e86), chr)), ErrUnsupported, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if !tc.verify {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Parse = %v, want %v", err, tc.want)
				}
				if testing.Verbose() {
					t.Log(err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.VerifySelfSigned(); !errors.Is(err, tc.want) {
				t.Fatalf("VerifySelfSigned = %v, want %v", err, tc.want)
			}
		})
	}
}

func valueOf(t *testing.T, b []byte) []byte {
	t.Helper()
	list, err := tlv.Parse(b)
	if err != nil || len(list) != 1 {
		t.Fatalf("valueOf: %v", err)
	}
	return list[0].Value
}

// Every proper prefix of a valid certificate is rejected, never accepted or a panic.
func TestTruncated(t *testing.T) {
	raw, _ := selfSigned(t, "secp256r1", "ZZPTESTCA00001", "ZZPTESTDEV00001")
	for n := 0; n < len(raw); n++ {
		if _, err := Parse(raw[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
	if _, err := ParseAll(raw[:len(raw)-1]); !errors.Is(err, ErrFormat) {
		t.Errorf("ParseAll of a truncated file: %v", err)
	}
	if _, err := ParseAll(cat(raw, tlv.Encode(0x42, []byte("x")))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "certificate 1") {
		t.Errorf("ParseAll with a non-certificate: %v", err)
	}
}
