package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
)

// The NIST curves of the table equal crypto/elliptic's parameters (a = p - 3).
func TestCurvesAgainstStdlib(t *testing.T) {
	for name, std := range map[string]elliptic.Curve{
		"secp256r1": elliptic.P256(), "secp384r1": elliptic.P384(), "secp521r1": elliptic.P521(),
	} {
		c := CurveByName(name)
		p := std.Params()
		n := (p.BitSize + 7) / 8
		fb := func(v *big.Int) []byte { return v.FillBytes(make([]byte, n)) }
		g := append(append([]byte{4}, fb(p.Gx)...), fb(p.Gy)...)
		if !bytes.Equal(c.P, fb(p.P)) || !bytes.Equal(c.A, fb(new(big.Int).Sub(p.P, big.NewInt(3)))) ||
			!bytes.Equal(c.B, fb(p.B)) || !bytes.Equal(c.G, g) || !bytes.Equal(c.N, fb(p.N)) || c.Bits() != p.BitSize {
			t.Errorf("%s differs from crypto/elliptic", name)
		}
	}
}

// The request table (this package) and the recognition table (host/cvc) agree byte for byte:
// a key generated from our request is recognised by the p and a OpenSC compares.
func TestCurvesAgainstCVC(t *testing.T) {
	if len(curveTable) != 11 {
		t.Errorf("%d curves, want 11 (pico-hsm-extensions.md 5.2.1)", len(curveTable))
	}
	for _, c := range curveTable {
		v := cvc.CurveByName(c.Name)
		if v == nil {
			t.Errorf("%s: not in host/cvc", c.Name)
			continue
		}
		if !bytes.Equal(c.OID, v.OID) || !bytes.Equal(c.P, v.P) || !bytes.Equal(c.A, v.A) || !bytes.Equal(c.B, v.B) ||
			!bytes.Equal(c.G, v.G) || !bytes.Equal(c.N, v.N) || (c.Kind == Montgomery) != v.Montgomery {
			t.Errorf("%s: differs from host/cvc", c.Name)
		}
	}
}

// Every table entry is consistent: p and n prime, G on the curve with order n (Weierstrass),
// the base point gives crypto/ecdh's X25519 public keys and RFC 7748's X448 ones.
func TestCurveTableMath(t *testing.T) {
	for _, c := range curveTable {
		t.Run(c.Name, func(t *testing.T) {
			p, n := new(big.Int).SetBytes(c.P), new(big.Int).SetBytes(c.N)
			if !p.ProbablyPrime(32) || !n.ProbablyPrime(32) {
				t.Fatal("p or n not prime")
			}
			if c.Kind == Montgomery {
				m := ecmath.X25519
				if c.Name == "X448" {
					m = ecmath.X448
				}
				if p.Cmp(m.P) != 0 || !bytes.Equal(c.G, m.Basepoint()) || c.FieldBytes() != m.Bytes {
					t.Fatal("p or generator differ from RFC 7748")
				}
				return
			}
			if len(c.A) != len(c.P) || len(c.B) != len(c.P) || len(c.N) != len(c.P) || len(c.G) != 1+2*len(c.P) {
				t.Fatal("not at full field length")
			}
			m := ecmath.NewCurve(c.P, c.A, c.B, c.G, c.N)
			if !m.IsOnCurve(m.Gx, m.Gy) {
				t.Fatal("G not on the curve")
			}
			if x, _ := m.ScalarBaseMult(m.N); x != nil {
				t.Fatal("n*G is not the point at infinity")
			}
		})
	}
	if CurveByName("P-256") != CurveByName("prime256v1") || CurveByName("x25519").Name != "X25519" ||
		CurveByName("secp224r1") != nil || CurveByName("brainpoolP256t1") != nil {
		t.Error("names and aliases")
	}
	if b := CurveByName("secp521r1").Bits(); b != 521 {
		t.Errorf("secp521r1 bits %d", b)
	}
	if b := CurveByName("X25519").Bits(); b != 255 {
		t.Errorf("X25519 bits %d", b)
	}
}

// SubjectPublicKeyInfo of the key types the standard library lacks, round trip and openssl.
func TestPKIX(t *testing.T) {
	bp := CurveByName("brainpoolP384r1")
	k1 := CurveByName("secp256k1")
	x448 := CurveByName("X448")
	keys := []*ECPublicKey{
		{Curve: bp, Point: mathPoint(bp, 12345)},
		{Curve: k1, Point: mathPoint(k1, 2)},
		{Curve: x448, Point: bytes.Repeat([]byte{0x07}, 56)},
	}
	xpriv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	openssl, _ := exec.LookPath("openssl")
	for _, k := range keys {
		der, err := MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePKIXPublicKey(der)
		if err != nil || !k.Equal(back) {
			t.Fatalf("%s: round trip %v, %v", k.Curve.Name, back, err)
		}
		if KeyDescription(k) != map[string]string{"brainpoolP384r1": "ec:brainpoolP384r1", "secp256k1": "ec:secp256k1", "X448": "x448"}[k.Curve.Name] {
			t.Errorf("KeyDescription %q", KeyDescription(k))
		}
		if openssl != "" {
			f := filepath.Join(t.TempDir(), "pub.pem")
			os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
			out, err := exec.Command(openssl, "pkey", "-pubin", "-in", f, "-noout", "-text").CombinedOutput()
			if err != nil {
				t.Errorf("%s: openssl cannot read our SubjectPublicKeyInfo: %v\n%s", k.Curve.Name, err, out)
			} else if want := map[string]string{"brainpoolP384r1": "brainpoolP384r1", "secp256k1": "secp256k1", "X448": "X448"}[k.Curve.Name]; !strings.Contains(string(out), want) {
				t.Errorf("%s: openssl says %s", k.Curve.Name, out)
			}
		}
	}
	for _, pub := range []any{xpriv.PublicKey(), &ec.PublicKey} {
		der, err := MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePKIXPublicKey(der)
		if err != nil || !back.(interface{ Equal(x crypto.PublicKey) bool }).Equal(pub) {
			t.Errorf("%T: %v", pub, err)
		}
	}
	stdDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for name, der := range map[string][]byte{
		"garbage":        {0x30, 0x00},
		"trailing":       append(append([]byte(nil), stdDER...), 0),
		"unknown curve":  bytes.Replace(stdDER, []byte{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, []byte{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x06}, 1),
		"short X448 key": mustPKIX(t, &ECPublicKey{Curve: x448, Point: make([]byte, 55)}),
	} {
		if _, err := ParsePKIXPublicKey(der); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParsePKIXPublicKey(mustPKIX(t, &ECPublicKey{Curve: bp, Point: []byte{4, 1}})); err == nil {
		t.Error("short brainpool point accepted")
	}
	if _, err := ParseKeyFile([]byte{0x01}); err == nil {
		t.Error("ParseKeyFile of junk accepted")
	}
	// CE files: the 67 answer, a bare 7F21, an X.509 certificate.
	rsaPub := &testRSAKey(t).PublicKey
	a, _ := cvc.ParseAuthenticatedRequest(answer67(rsaTemplate(rsaPub)))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rsaPub, testRSAKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"67": a.Raw, "7F21": a.Request.Raw, "X.509": certDER} {
		if got, err := ParseKeyFile(b); err != nil || !rsaPub.Equal(got) {
			t.Errorf("%s: %v, %v", name, got, err)
		}
	}
}

func mustPKIX(t *testing.T, k *ECPublicKey) []byte {
	t.Helper()
	der, err := MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
