package ecmath

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// stdCurve is the ecmath view of a standard-library curve, for cross-checks.
func stdCurve(c elliptic.Curve) *Curve {
	p := c.Params()
	return &Curve{P: p.P, A: new(big.Int).Sub(p.P, big.NewInt(3)), B: p.B, Gx: p.Gx, Gy: p.Gy, N: p.N}
}

var std = []struct {
	name string
	ell  elliptic.Curve
	ecdh ecdh.Curve
}{
	{"P-256", elliptic.P256(), ecdh.P256()},
	{"P-384", elliptic.P384(), ecdh.P384()},
	{"P-521", elliptic.P521(), ecdh.P521()},
}

// k*G and k*Q here equal crypto/ecdh's public keys and shared secrets.
func TestScalarMultAgainstStdlib(t *testing.T) {
	for _, sc := range std {
		t.Run(sc.name, func(t *testing.T) {
			c := stdCurve(sc.ell)
			if !c.IsOnCurve(c.Gx, c.Gy) {
				t.Fatal("G not on the curve")
			}
			if x, _ := c.ScalarBaseMult(c.N); x != nil {
				t.Fatal("n*G is not the point at infinity")
			}
			for i := 0; i < 4; i++ {
				a, _ := sc.ecdh.GenerateKey(rand.Reader)
				b, _ := sc.ecdh.GenerateKey(rand.Reader)
				ka := new(big.Int).SetBytes(a.Bytes())
				x, y := c.ScalarBaseMult(ka)
				if got := c.Marshal(x, y); !bytes.Equal(got, a.PublicKey().Bytes()) {
					t.Fatalf("k*G = %X, want %X", got, a.PublicKey().Bytes())
				}
				bx, by, ok := c.Unmarshal(b.PublicKey().Bytes())
				if !ok {
					t.Fatal("Unmarshal of a valid point failed")
				}
				sx, _ := c.ScalarMult(bx, by, ka)
				want, _ := a.ECDH(b.PublicKey())
				if got := sx.FillBytes(make([]byte, c.FieldBytes())); !bytes.Equal(got, want) {
					t.Fatalf("shared x = %X, want %X", got, want)
				}
			}
		})
	}
}

func TestVerifyECDSAAgainstStdlib(t *testing.T) {
	for _, sc := range std {
		t.Run(sc.name, func(t *testing.T) {
			c := stdCurve(sc.ell)
			key, err := ecdsa.GenerateKey(sc.ell, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			for _, digest := range [][]byte{
				bytes.Repeat([]byte{0xA5}, 20), bytes.Repeat([]byte{0x5A}, 32), bytes.Repeat([]byte{0xC3}, 64),
			} {
				der, err := ecdsa.SignASN1(rand.Reader, key, digest)
				if err != nil {
					t.Fatal(err)
				}
				var sig struct{ R, S *big.Int }
				if _, err := asn1.Unmarshal(der, &sig); err != nil {
					t.Fatal(err)
				}
				if !c.VerifyECDSA(key.X, key.Y, digest, sig.R, sig.S) {
					t.Fatalf("valid signature over %d bytes rejected", len(digest))
				}
				bad := append([]byte(nil), digest...)
				bad[0] ^= 1
				badS := new(big.Int).Add(sig.S, big.NewInt(1))
				for name, ok := range map[string]bool{
					"other digest": c.VerifyECDSA(key.X, key.Y, bad, sig.R, sig.S),
					"s + 1":        c.VerifyECDSA(key.X, key.Y, digest, sig.R, badS),
					"r = 0":        c.VerifyECDSA(key.X, key.Y, digest, new(big.Int), sig.S),
					"s = n":        c.VerifyECDSA(key.X, key.Y, digest, sig.R, c.N),
					"other key":    c.VerifyECDSA(c.Gx, c.Gy, digest, sig.R, sig.S),
					"off curve":    c.VerifyECDSA(key.X, new(big.Int).Add(key.Y, big.NewInt(1)), digest, sig.R, sig.S),
				} {
					if ok {
						t.Errorf("%s: accepted", name)
					}
				}
			}
		})
	}
}

// RFC 7748 section 5.2 test vectors, plus the 1- and 1000-fold iterations of X25519.
func TestMontgomeryRFC7748(t *testing.T) {
	for _, tc := range []struct {
		m          *Montgomery
		k, u, want string
	}{
		{X25519, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{X25519, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
		{X448, "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
			"06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
			"ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"},
		{X448, "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
			"0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db",
			"884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d"},
	} {
		got, err := tc.m.Function(unhex(tc.k), unhex(tc.u))
		if err != nil || !bytes.Equal(got, unhex(tc.want)) {
			t.Errorf("%s: got %x (%v), want %s", tc.m.Name, got, err, tc.want)
		}
	}
	if _, err := X448.Function(make([]byte, 32), make([]byte, 56)); err == nil {
		t.Error("X448 with a 32-byte scalar accepted")
	}
}

// X25519 here equals crypto/ecdh on random keys.
func TestX25519AgainstStdlib(t *testing.T) {
	for i := 0; i < 8; i++ {
		a, _ := ecdh.X25519().GenerateKey(rand.Reader)
		b, _ := ecdh.X25519().GenerateKey(rand.Reader)
		pub, _ := X25519.Function(a.Bytes(), X25519.Basepoint())
		if !bytes.Equal(pub, a.PublicKey().Bytes()) {
			t.Fatalf("public %x, want %x", pub, a.PublicKey().Bytes())
		}
		got, _ := X25519.Function(a.Bytes(), b.PublicKey().Bytes())
		want, _ := a.ECDH(b.PublicKey())
		if !bytes.Equal(got, want) {
			t.Fatalf("shared %x, want %x", got, want)
		}
	}
}

// X448 here equals openssl's on random keys (skipped without the openssl command).
func TestX448AgainstOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: X448 is checked by the RFC 7748 vectors only")
	}
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		k := make([]byte, 56)
		peerK := make([]byte, 56)
		rand.Read(k)
		rand.Read(peerK)
		peer, _ := X448.Function(peerK, X448.Basepoint())
		want, _ := X448.Function(k, peer)
		// PKCS#8 and SubjectPublicKeyInfo for id-X448 (1.3.101.111), RFC 8410.
		priv := append(unhex("3046020100300506032b656f043a0438"), k...)
		pub := append(unhex("3042300506032b656f033900"), peer...)
		privF, pubF := filepath.Join(dir, "priv.der"), filepath.Join(dir, "pub.der")
		if err := os.WriteFile(privF, priv, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pubF, pub, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "pkeyutl", "-derive", "-keyform", "DER", "-inkey", privF,
			"-peerform", "DER", "-peerkey", pubF).Output()
		if err != nil {
			t.Skipf("openssl pkeyutl -derive with DER keys failed (%v): X448 is checked by the RFC 7748 vectors only", err)
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("openssl %x, ecmath %x", out, want)
		}
	}
}

// A curve from byte strings decodes its own generator, and a SHA-256 signature made by
// crypto/ecdsa verifies through it.
func TestNewCurve(t *testing.T) {
	p := elliptic.P256().Params()
	l := 32
	g := append(append([]byte{4}, p.Gx.FillBytes(make([]byte, l))...), p.Gy.FillBytes(make([]byte, l))...)
	a := new(big.Int).Sub(p.P, big.NewInt(3)).FillBytes(make([]byte, l))
	c := NewCurve(p.P.FillBytes(make([]byte, l)), a, p.B.FillBytes(make([]byte, l)), g, p.N.FillBytes(make([]byte, l)))
	if c == nil || c.FieldBytes() != 32 {
		t.Fatal("NewCurve failed")
	}
	if _, _, ok := c.Unmarshal(g); !ok {
		t.Fatal("G does not unmarshal")
	}
	if NewCurve(p.P.Bytes(), a, p.B.Bytes(), g[1:], p.N.Bytes()) != nil {
		t.Error("compressed-length G accepted")
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("msg"))
	r, s, _ := ecdsa.Sign(rand.Reader, key, d[:])
	if !c.VerifyECDSA(key.X, key.Y, d[:], r, s) {
		t.Error("signature rejected")
	}
}
