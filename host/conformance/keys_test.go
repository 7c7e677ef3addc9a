package conformance

// Asymmetric keys through the vpcd harness: GENERATE ASYMMETRIC KEY PAIR (spec 2.11), SIGN
// (2.12), DECIPHER and ECDH (2.13), with every RSA size, every curve and every algorithm
// byte, each result checked with Go's cryptography (crypto/rsa, crypto/ecdsa, crypto/ecdh)
// or, on the curves the standard library lacks, with math/big arithmetic
// (host/internal/ecmath, itself checked against crypto/ecdsa, crypto/ecdh, RFC 7748 and
// openssl). The requests the card signs at generation are verified too: the inner signature
// with the new key (spec 2.11.2), the outer one with the device key of EF.C_DevAut (3.6).
//
// RSA-3072 and RSA-4096 take seconds to generate on the emulator; each is generated once.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
)

// genTimeout bounds one key generation: RSA-4096 takes a few seconds on the emulator, with
// a long tail (prime search).
const genTimeout = 2 * time.Minute

// keyCard starts an emulator, initialises it, logs in and returns the client with the
// device key (first certificate of 2F02) that signs generation answers.
func keyCard(t *testing.T) (*hsm.Client, *cvc.PublicKey) {
	t.Helper()
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	dev := readDevAut(t, c)
	login(t, cl)
	return cl, dev.PublicKey
}

func genCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), genTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkGenerated verifies a generation answer (spec 2.11.2): structure, the inner signature
// with the new key (all zero for X25519/X448, pico-hsm-extensions.md 5.2), the outer one with
// the device key, and the CAR/CHR the card puts in.
func checkGenerated(t *testing.T, g *hsm.GeneratedKey, dev *cvc.PublicKey, car, chr string) {
	t.Helper()
	req := g.Request.Request
	if k := req.PublicKey; k.Algorithm == cvc.ECDHSHA256 {
		if n := k.Curve.FieldBytes(); !bytes.Equal(req.Signature, make([]byte, 2*n)) {
			t.Errorf("%s request: self-signature %X, want %d zero bytes", k.Curve.Name, req.Signature, 2*n)
		}
	} else if err := req.VerifySelfSigned(); err != nil {
		t.Errorf("inner signature: %v", err)
	}
	if err := g.Request.VerifyOuter(dev); err != nil {
		t.Errorf("outer signature: %v", err)
	}
	if req.CPI != 0 || !req.IsRequest() || req.CAR != car || req.CHR != chr || g.Request.OuterCAR == "" {
		t.Errorf("request CPI %d CAR %q CHR %q outer CAR %q; want CAR %q CHR %q", req.CPI, req.CAR, req.CHR,
			g.Request.OuterCAR, car, chr)
	}
}

func sum(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

var cardHashes = []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// expectCardErr checks err carries the status word want.
func expectCardErr(t *testing.T, what string, err error, want uint16) {
	t.Helper()
	if !errors.Is(err, apdu.StatusError{SW: want}) {
		t.Errorf("%s: %v, want SW %04X", what, err, want)
	}
}

// ---- RSA -------------------------------------------------------------------------------

// Spec 2.11, 2.12, 2.13 for RSA-1024, 1536, 2048, 3072, 4096 (the sizes OpenSC offers,
// spec 3.2): generation and every algorithm byte.
func TestKeysRSA(t *testing.T) {
	for _, bits := range []int{1024, 1536, 2048, 3072, 4096} {
		t.Run(itoa(bits), func(t *testing.T) {
			t.Parallel() // one emulator each: the slow generations overlap
			cl, dev := keyCard(t)
			opts := hsm.KeyOptions{}
			car, chr := "", ""
			if bits == 4096 {
				// Spec 2.11.4: as OpenSC asks, RSA-4096's answer must fit OpenSC's 1200 bytes.
				dc := readDevAutQuiet(t, cl)
				opts.CAR, opts.CHR = "UTCA00001", dc.CHR[:len(dc.CHR)-5]+"00001"
				car, chr = opts.CAR, opts.CHR
			}
			start := time.Now()
			g, err := cl.GenerateRSA(genCtx(t), 0x01, bits, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("RSA-%d generated in %v, answer %d bytes", bits, time.Since(start).Round(time.Millisecond), len(g.Raw))
			if car == "" {
				car, chr = g.Request.OuterCAR, g.Request.OuterCAR // the device name (Pico default)
			}
			checkGenerated(t, g, dev, car, chr)
			if bits == 4096 && len(g.Raw) > 1200 {
				t.Errorf("RSA-4096 answer of %d bytes; OpenSC truncates after 1200 (spec 2.11.4)", len(g.Raw))
			}
			pub := g.Public.(*rsa.PublicKey)
			if pub.N.BitLen() != bits || pub.E != 65537 {
				t.Fatalf("modulus %d bits, e %d", pub.N.BitLen(), pub.E)
			}
			start = time.Now()
			rsaSignAll(t, cl, 0x01, pub)
			rsaDecryptAll(t, cl, 0x01, pub)
			t.Logf("RSA-%d: every algorithm in %v", bits, time.Since(start).Round(time.Millisecond))
		})
	}
}

// readDevAutQuiet reads the device certificate through the client (no SELECT: the session
// stays logged in).
func readDevAutQuiet(t *testing.T, cl *hsm.Client) *cvc.Certificate {
	t.Helper()
	b, err := cl.ReadFile(testCtx(t), hsm.FIDDevAut)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := cvc.ParseAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func rsaSignAll(t *testing.T, cl *hsm.Client, id byte, pub *rsa.PublicKey) {
	t.Helper()
	ctx := testCtx(t)
	k := pub.Size()
	msg := pattern(byte(k), 1000)
	sign := func(alg hsm.Algorithm, in []byte) []byte {
		t.Helper()
		sig, err := cl.Sign(ctx, id, alg, in)
		if err != nil {
			t.Fatalf("%v: %v", alg, err)
		}
		if len(sig) != k {
			t.Fatalf("%v: signature of %d bytes, want %d", alg, len(sig), k)
		}
		return sig
	}
	for _, h := range cardHashes {
		d := sum(h, msg)
		di, _ := hsm.DigestInfo(h, d)
		// 20: OpenSC's PKCS#1 v1.5 (spec 2.12.2): 00 01 FF..FF 00 DigestInfo, modulus size.
		em := append(append([]byte{0x00, 0x01}, bytes.Repeat([]byte{0xFF}, k-len(di)-3)...), 0x00)
		if err := rsa.VerifyPKCS1v15(pub, h, d, sign(hsm.AlgRSARaw, append(em, di...))); err != nil {
			t.Errorf("20 with %v: %v", h, err)
		}
		// 30: the card pads the DigestInfo.
		if err := rsa.VerifyPKCS1v15(pub, h, d, sign(hsm.AlgRSAPKCS1, di)); err != nil {
			t.Errorf("30 with %v: %v", h, err)
		}
		// 31..35: the card hashes.
		alg := hsm.Algorithm(0x31 + indexOf(h))
		if err := rsa.VerifyPKCS1v15(pub, h, d, sign(alg, msg)); err != nil {
			t.Errorf("%v: %v", alg, err)
		}
		// PSS with salt = hash length (spec 2.12.3) does not fit when k < 2 hLen + 2.
		pssAlg := hsm.Algorithm(0x41 + indexOf(h))
		pss := &rsa.PSSOptions{SaltLength: h.Size()}
		if k < 2*h.Size()+2 {
			_, err := cl.Sign(ctx, id, hsm.AlgRSAPSS, d)
			expectCardErr(t, "PSS "+h.String()+" on a too small modulus", err, 0x6A80)
			_, err = cl.Sign(ctx, id, pssAlg, msg)
			expectCardErr(t, pssAlg.String()+" on a too small modulus", err, 0x6A80)
			continue
		}
		// 40 with the bare hash (current OpenSC) and with its DigestInfo (OpenSC 0.23).
		for _, in := range [][]byte{d, di} {
			if err := rsa.VerifyPSS(pub, h, d, sign(hsm.AlgRSAPSS, in), pss); err != nil {
				t.Errorf("40 with %v (%d-byte input): %v", h, len(in), err)
			}
		}
		if err := rsa.VerifyPSS(pub, h, d, sign(pssAlg, msg), pss); err != nil {
			t.Errorf("%v: %v", pssAlg, err)
		}
	}
	// The Key as crypto.Signer: PKCS#1 v1.5 (raw 20 and card 30) and PSS.
	key, err := cl.RSAKey(id, pub)
	if err != nil {
		t.Fatal(err)
	}
	d := sum(crypto.SHA256, msg)
	for _, cardPad := range []bool{false, true} {
		key.CardPadding = cardPad
		sig, err := key.Sign(rand.Reader, d, crypto.SHA256)
		if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, d, sig) != nil {
			t.Errorf("Key.Sign PKCS#1 (card padding %v): %v", cardPad, err)
		}
	}
	sig, err := key.Sign(rand.Reader, d, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil || rsa.VerifyPSS(pub, crypto.SHA256, d, sig, &rsa.PSSOptions{SaltLength: 32}) != nil {
		t.Errorf("Key.Sign PSS: %v", err)
	}
}

func indexOf(h crypto.Hash) int {
	for i, x := range cardHashes {
		if x == h {
			return i
		}
	}
	panic("hash")
}

func rsaDecryptAll(t *testing.T, cl *hsm.Client, id byte, pub *rsa.PublicKey) {
	t.Helper()
	ctx := testCtx(t)
	k := pub.Size()
	secret := pattern(7, 32)
	// 21: raw, modulus-size answer with its leading 00 (spec 2.13: OpenSC strips the padding).
	c1, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	raw, err := cl.Decipher(ctx, id, hsm.AlgRSADecryptRaw, c1)
	if err != nil {
		t.Fatalf("21: %v", err)
	}
	if len(raw) != k || raw[0] != 0x00 || raw[1] != 0x02 || !bytes.HasSuffix(raw, append([]byte{0}, secret...)) {
		t.Errorf("21: block %X, want 00 02 PS 00 secret of %d bytes", raw, k)
	}
	// 22: PKCS#1 v1.5 unpadded on the card.
	if got, err := cl.Decipher(ctx, id, hsm.AlgRSADecryptPKCS1, c1); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("22: %X, %v", got, err)
	}
	// 23: OAEP with SHA-256, MGF1-SHA-256, no label.
	c2, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cl.Decipher(ctx, id, hsm.AlgRSADecryptOAEP, c2); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("23: %X, %v", got, err)
	}
	// Bad padding, 6A80: 23 with a PKCS#1 v1.5 ciphertext (an OAEP check never accepts one:
	// its first byte after 00 would have to make the label hash match), and 22 with a block
	// that is deterministically not type-2 padded (00 03 ...). An OAEP ciphertext is not used
	// for 22: its decoded block is valid v1.5 padding by chance about 1 time in 300.
	_, err = cl.Decipher(ctx, id, hsm.AlgRSADecryptOAEP, c1)
	expectCardErr(t, "23 of a PKCS#1 v1.5 ciphertext", err, 0x6A80)
	bad := make([]byte, pub.Size())
	bad[1] = 0x03
	for i := 2; i < len(bad); i++ {
		bad[i] = 0x5A
	}
	m := new(big.Int).SetBytes(bad)
	cBad := new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, pub.Size()))
	_, err = cl.Decipher(ctx, id, hsm.AlgRSADecryptPKCS1, cBad)
	expectCardErr(t, "22 of a block padded 00 03", err, 0x6A80)

	// The Key as crypto.Decrypter: raw 21 with unpadding on the host, and the card's 22/23.
	key, err := cl.RSAKey(id, pub)
	if err != nil {
		t.Fatal(err)
	}
	c3, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, secret, []byte("label"))
	for _, tc := range []struct {
		name string
		c    []byte
		opts crypto.DecrypterOpts
		card bool
	}{
		{"PKCS#1 v1.5 via 21", c1, nil, false},
		{"PKCS#1 v1.5 via 22", c1, nil, true},
		{"OAEP SHA-256 via 21", c2, &rsa.OAEPOptions{Hash: crypto.SHA256}, false},
		{"OAEP SHA-256 via 23", c2, &rsa.OAEPOptions{Hash: crypto.SHA256}, true},
		{"OAEP SHA-1 with label via 21", c3, &rsa.OAEPOptions{Hash: crypto.SHA1, Label: []byte("label")}, false},
	} {
		key.CardPadding = tc.card
		if got, err := key.Decrypt(rand.Reader, tc.c, tc.opts); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("Key.Decrypt %s: %X, %v", tc.name, got, err)
		}
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// ---- EC --------------------------------------------------------------------------------

type ecdsaSig struct{ R, S *big.Int }

// verifyECDSA checks a DER signature of digest with the key of a generation answer: through
// crypto/ecdsa on the NIST curves, math/big arithmetic on the others (host/cvc).
func verifyECDSA(t *testing.T, g *hsm.GeneratedKey, digest, der []byte) bool {
	t.Helper()
	var s ecdsaSig
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) != 0 {
		t.Errorf("signature %X is not DER: %v", der, err)
		return false
	}
	if pub, ok := g.Public.(*ecdsa.PublicKey); ok && !ecdsa.VerifyASN1(pub, digest, der) {
		return false
	}
	return g.Request.Request.PublicKey.VerifyECDSA(digest, s.R, s.S)
}

// Spec 2.11-2.13 on every curve of pico-hsm-extensions.md 5.2.1 but X25519/X448: generation,
// ECDSA 70-75, ECDH against Go's (or math/big's) computation.
func TestKeysEC(t *testing.T) {
	cl, dev := keyCard(t)
	msg := pattern(3, 777)
	for i, c := range hsm.Curves() {
		if c.Kind != hsm.Weierstrass {
			continue
		}
		id := byte(0x10 + i)
		t.Run(c.Name, func(t *testing.T) {
			ctx := genCtx(t)
			start := time.Now()
			g, err := cl.GenerateEC(ctx, id, c.Name, hsm.KeyOptions{CAR: "UTCA00001", CHR: "ZZPTEST00001"})
			if err != nil {
				t.Fatal(err)
			}
			gen := time.Since(start)
			checkGenerated(t, g, dev, "UTCA00001", "ZZPTEST00001")
			if g.Request.Request.PublicKey.Curve.Name != c.Name {
				t.Fatalf("curve %s", g.Request.Request.PublicKey.Curve.Name)
			}
			start = time.Now()
			// 70 with hashes of every length; the card uses the leftmost bits, as ECDSA says.
			for _, h := range cardHashes {
				d := sum(h, msg)
				sig, err := cl.Sign(ctx, id, hsm.AlgECDSA, d)
				if err != nil || !verifyECDSA(t, g, d, sig) {
					t.Errorf("70 with a %v hash: %v", h, err)
				}
				alg := hsm.Algorithm(0x71 + indexOf(h))
				sig, err = cl.Sign(ctx, id, alg, msg)
				if err != nil || !verifyECDSA(t, g, d, sig) {
					t.Errorf("%v: %v", alg, err)
				}
			}
			// The Key as crypto.Signer.
			key, err := g.Key(cl)
			if err != nil {
				t.Fatal(err)
			}
			d := sum(crypto.SHA384, msg)
			if sig, err := key.Sign(rand.Reader, d, crypto.SHA384); err != nil || !verifyECDSA(t, g, d, sig) {
				t.Errorf("Key.Sign: %v", err)
			}
			ecdhCheck(t, cl, id, c, g)
			t.Logf("%s: generated in %v, 10 signatures and ECDH in %v", c.Name, gen.Round(time.Microsecond), time.Since(start).Round(time.Microsecond))
		})
	}
}

// ecdhCheck derives with a fresh host key and compares with the host's own computation.
func ecdhCheck(t *testing.T, cl *hsm.Client, id byte, c *hsm.Curve, g *hsm.GeneratedKey) {
	t.Helper()
	ctx := testCtx(t)
	cardPoint := g.Request.Request.PublicKey.Point
	var peer, want []byte
	if pub, ok := g.Public.(*ecdsa.PublicKey); ok {
		e, _ := pub.ECDH()
		priv, _ := e.Curve().GenerateKey(rand.Reader)
		peer = priv.PublicKey().Bytes()
		want, _ = priv.ECDH(e)
	} else {
		m := ecmath.NewCurve(c.P, c.A, c.B, c.G, c.N)
		d, _ := rand.Int(rand.Reader, m.N)
		d.Add(d, big.NewInt(1))
		peer = m.Marshal(m.ScalarBaseMult(d))
		qx, qy, ok := m.Unmarshal(cardPoint)
		if !ok {
			t.Fatal("card point not on the curve")
		}
		x, _ := m.ScalarMult(qx, qy, d)
		want = x.FillBytes(make([]byte, c.FieldBytes()))
	}
	got, err := cl.ECDH(ctx, id, peer)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("ECDH = %X, %v; want %X", got, err, want)
	}
	// Spec 2.13: the answer is 04 || x at field length.
	if raw, err := cl.Decipher(ctx, id, hsm.AlgECDH, peer); err != nil || len(raw) != 1+c.FieldBytes() || raw[0] != 0x04 {
		t.Errorf("DECIPHER 80 answer %X, %v", raw, err)
	}
	// A point off the curve, a compressed point, a short point: 6A80 (spec 2.13 [REC]).
	off := append([]byte(nil), peer...)
	off[len(off)-1] ^= 1
	compressed := append([]byte{0x02 | peer[len(peer)-1]&1}, peer[1:1+c.FieldBytes()]...)
	for name, p := range map[string][]byte{"off the curve": off, "compressed": compressed, "short": peer[:len(peer)-1]} {
		_, err := cl.ECDH(ctx, id, p)
		expectCardErr(t, "ECDH with a point "+name, err, 0x6A80)
	}
}

// X25519 and X448 (pico-hsm-extensions.md 5.2, 5.2.1): generation with the Montgomery
// template, the answer's zero self-signature, ECDH against crypto/ecdh (X25519) and the
// RFC 7748 ladder (X448); no signing.
func TestKeysMontgomery(t *testing.T) {
	cl, dev := keyCard(t)
	for i, name := range []string{"X25519", "X448"} {
		id := byte(0x30 + i)
		t.Run(name, func(t *testing.T) {
			ctx := genCtx(t)
			g, err := cl.GenerateEC(ctx, id, name, hsm.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkGenerated(t, g, dev, g.Request.OuterCAR, g.Request.OuterCAR)
			pk := g.Request.Request.PublicKey
			if !bytes.Equal(pk.OID, cvc.OIDECDHSHA256) || pk.Curve.Name != name {
				t.Fatalf("7F49 OID % X curve %s, want id-RI-ECDH-SHA-256 %s", pk.OID, pk.Curve.Name, name)
			}
			m := ecmath.X25519
			if name == "X448" {
				m = ecmath.X448
			}
			for n := 0; n < 3; n++ {
				k := make([]byte, m.Bytes)
				rand.Read(k)
				peer, _ := m.Function(k, m.Basepoint())
				want, _ := m.Function(k, pk.Point)
				if name == "X25519" { // and crypto/ecdh agrees
					priv, _ := ecdh.X25519().NewPrivateKey(k)
					z, _ := priv.ECDH(g.Public.(*ecdh.PublicKey))
					if !bytes.Equal(z, want) || !bytes.Equal(priv.PublicKey().Bytes(), peer) {
						t.Fatal("ecmath and crypto/ecdh disagree")
					}
				}
				got, err := cl.ECDH(ctx, id, peer)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("ECDH = %X, %v; want %X", got, err, want)
				}
			}
			key, err := g.Key(cl)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := key.Sign(rand.Reader, make([]byte, 32), crypto.SHA256); !errors.Is(err, hsm.ErrNotSupported) {
				t.Errorf("Key.Sign: %v, want ErrNotSupported", err)
			}
			for _, alg := range []hsm.Algorithm{hsm.AlgECDSA, hsm.AlgECDSASHA256, hsm.AlgECDSASHA512} {
				_, err := cl.Sign(ctx, id, alg, make([]byte, 32))
				expectCardErr(t, "SIGN "+alg.String()+" with "+name, err, 0x6A81)
			}
			// Low-order points (RFC 7748 section 6: the all-zero secret) are refused.
			pm1 := new(big.Int).Sub(m.P, big.NewInt(1)).FillBytes(make([]byte, m.Bytes))
			slices.Reverse(pm1)
			low := map[string][]byte{"u = 0": make([]byte, m.Bytes), "u = 1": append([]byte{1}, make([]byte, m.Bytes-1)...), "u = p - 1": pm1}
			if name == "X25519" { // the two points of order 8 below p (cr.yp.to/ecdh.html#validate)
				low["order 8 (e0eb..)"] = mustHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
				low["order 8 (5f9c..)"] = mustHex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")
			}
			for what, u := range low {
				got, err := cl.ECDH(ctx, id, u)
				if err == nil && bytes.Equal(got, make([]byte, m.Bytes)) {
					t.Errorf("ECDH with the low-order point %s: all-zero shared secret accepted", what)
				} else {
					expectCardErr(t, "ECDH with the low-order point "+what, err, 0x6A80)
				}
			}
			// RFC 7748 section 5: non-canonical u (p + base) is taken mod p, so it derives
			// the card's own public key; for X25519 the top bit of u is ignored.
			base := []byte{9}
			if name == "X448" {
				base = []byte{5}
			}
			nonCanon := new(big.Int).Add(m.P, new(big.Int).SetBytes(base)).FillBytes(make([]byte, m.Bytes))
			slices.Reverse(nonCanon)
			if got, err := cl.ECDH(ctx, id, nonCanon); err != nil || !bytes.Equal(got, pk.Point) {
				t.Errorf("ECDH with u = p + %d: %X, %v; want the card's public key", base[0], got, err)
			}
			if name == "X25519" {
				k := pattern(9, 32)
				peer, _ := m.Function(k, m.Basepoint())
				want, _ := m.Function(k, pk.Point)
				peer[31] |= 0x80
				if got, err := cl.ECDH(ctx, id, peer); err != nil || !bytes.Equal(got, want) {
					t.Errorf("ECDH with the top bit of u set: %X, %v; want %X", got, err, want)
				}
			}
			_, err = cl.ECDH(ctx, id, append([]byte{0x04}, make([]byte, m.Bytes)...))
			expectCardErr(t, "ECDH with a 04-prefixed u", err, 0x6A80)
		})
	}
}

// ---- errors ----------------------------------------------------------------------------

// gakpAPDU builds 00 46 <p1> <p2> with the data, case 4E.
func gakpAPDU(p1, p2 byte, data []byte) []byte {
	return cmd([]byte{0x00, 0x46, p1, p2, 0x00, byte(len(data) >> 8), byte(len(data))}, data, []byte{0x00, 0x00})
}

// keyAPDU builds 80 <ins> <p1> <p2> with the data and Le 0200, case 4E (spec 2.12, 2.13).
func keyAPDU(ins, p1, p2 byte, data []byte) []byte {
	return cmd([]byte{0x80, ins, p1, p2, 0x00, byte(len(data) >> 8), byte(len(data))}, data, []byte{0x02, 0x00})
}

// tmpl returns a GAKP data field with the given 7F49 content.
func tmpl(els ...[]byte) []byte {
	return cmd(mustHex("5F290100"), berTLV2(0x7F49, cmd(els...)))
}

func berTLV2(tag uint16, v []byte) []byte {
	b := berTLV(0, v)
	return cmd([]byte{byte(tag >> 8), byte(tag)}, b[1:])
}

// Spec 2.11.3, 2.12.4, 2.13, 2.19: refusals with exact status words; after each, the keys
// still work.
func TestKeyErrors(t *testing.T) {
	cl, _ := keyCard(t)
	ctx := genCtx(t)
	c := cl.Transport()
	gr, err := cl.GenerateRSA(ctx, 0x01, 1024, hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ge, err := cl.GenerateEC(ctx, 0x02, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GenerateX25519(ctx, 0x03, hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	rpub := gr.Public.(*rsa.PublicKey)
	epub := ge.Public.(*ecdsa.PublicKey)
	k := rpub.Size()
	keysWork := func(t *testing.T) {
		t.Helper()
		d := sum(crypto.SHA256, []byte("still"))
		if sig, err := cl.Sign(ctx, 0x01, hsm.AlgRSAPKCS1SHA256, []byte("still")); err != nil || rsa.VerifyPKCS1v15(rpub, crypto.SHA256, d, sig) != nil {
			t.Fatalf("RSA key after the error: %v", err)
		}
		if sig, err := cl.Sign(ctx, 0x02, hsm.AlgECDSASHA256, []byte("still")); err != nil || !ecdsa.VerifyASN1(epub, d, sig) {
			t.Fatalf("EC key after the error: %v", err)
		}
	}
	p256 := hsm.CurveByName("secp256r1")
	bpT1 := hsm.CurveByName("brainpoolP256r1") // same p as brainpoolP256t1, whose a = p - 3
	pMinus3 := new(big.Int).Sub(new(big.Int).SetBytes(bpT1.P), big.NewInt(3)).FillBytes(make([]byte, 32))
	x25519 := hsm.CurveByName("X25519")
	oidEC := berTLV(0x06, cvc.OIDECDSASHA256)
	oidRSA := berTLV(0x06, cvc.OIDRSAv15SHA256)
	rsaBits := func(bits int) []byte {
		return tmpl(oidRSA, mustHex("8203010001"), []byte{0x02, 0x02, byte(bits >> 8), byte(bits)})
	}
	ecTmpl := func(c *hsm.Curve, a []byte) []byte {
		return tmpl(oidEC, berTLV(0x81, c.P), berTLV(0x82, a), berTLV(0x83, c.B), berTLV(0x84, c.G), berTLV(0x85, c.N), mustHex("870101"))
	}
	ed25519G := append([]byte{0x58}, bytes.Repeat([]byte{0x66}, 31)...)
	allFF := bytes.Repeat([]byte{0xFF}, k)
	digest := sum(crypto.SHA256, []byte("x"))
	point := func() []byte { e, _ := epub.ECDH(); return e.Bytes() }()
	offCurve := append([]byte(nil), point...)
	offCurve[64] ^= 1

	for _, tc := range []struct {
		name string
		apdu []byte
		sw   uint16
	}{
		{"SIGN with an unknown key", keyAPDU(0x68, 0x7E, 0x70, digest), 0x6A82},
		{"DECIPHER with an unknown key", keyAPDU(0x62, 0x7E, 0x21, allFF), 0x6A82},
		{"SIGN with the device key 00", keyAPDU(0x68, 0x00, 0x70, digest), 0x6A86},
		{"DECIPHER with the device key 00", keyAPDU(0x62, 0x00, 0x80, point), 0x6A86},
		{"SIGN with unknown algorithm 99", keyAPDU(0x68, 0x02, 0x99, digest), 0x6A86},
		{"SIGN with a DECIPHER algorithm (21)", keyAPDU(0x68, 0x01, 0x21, allFF), 0x6A86},
		{"DECIPHER with a SIGN algorithm (20)", keyAPDU(0x62, 0x01, 0x20, allFF), 0x6A86},
		{"RSA key, ECDSA 70", keyAPDU(0x68, 0x01, 0x70, digest), 0x6A81},
		{"RSA key, ECDSA-SHA256 73", keyAPDU(0x68, 0x01, 0x73, digest), 0x6A81},
		{"RSA key, ECDH 80", keyAPDU(0x62, 0x01, 0x80, point), 0x6A81},
		{"EC key, RSA raw 20", keyAPDU(0x68, 0x02, 0x20, digest), 0x6A81},
		{"EC key, PSS 40", keyAPDU(0x68, 0x02, 0x40, digest), 0x6A81},
		{"EC key, RSA decrypt 21", keyAPDU(0x62, 0x02, 0x21, digest), 0x6A81},
		{"X25519 key, ECDSA 70", keyAPDU(0x68, 0x03, 0x70, digest), 0x6A81},
		{"RSA raw of modulus+1 bytes", keyAPDU(0x68, 0x01, 0x20, append([]byte{0}, allFF...)), 0x6A80},
		{"RSA raw of modulus-1 bytes", keyAPDU(0x68, 0x01, 0x20, allFF[1:]), 0x6A80},
		{"RSA raw not below the modulus", keyAPDU(0x68, 0x01, 0x20, allFF), 0x6A80},
		{"RSA decrypt of modulus+1 bytes", keyAPDU(0x62, 0x01, 0x21, append([]byte{0}, allFF...)), 0x6A80},
		{"RSA decrypt not below the modulus", keyAPDU(0x62, 0x01, 0x22, allFF), 0x6A80},
		{"PKCS#1 30 with input too long to pad", keyAPDU(0x68, 0x01, 0x30, allFF[:k-10]), 0x6A80},
		{"PSS 40 with a 33-byte hash", keyAPDU(0x68, 0x01, 0x40, allFF[:33]), 0x6A80},
		{"ECDSA 70 with 65 bytes", keyAPDU(0x68, 0x02, 0x70, allFF[:65]), 0x6A80},
		{"ECDH with a point off the curve", keyAPDU(0x62, 0x02, 0x80, offCurve), 0x6A80},
		{"ECDH with x only", keyAPDU(0x62, 0x02, 0x80, point[:33]), 0x6A80},
		{"GAKP for key 00", gakpAPDU(0x00, 0x00, rsaBits(1024)), 0x6A86},
		{"GAKP with P2 01", gakpAPDU(0x05, 0x01, rsaBits(1024)), 0x6A86},
		{"GAKP RSA-512", gakpAPDU(0x05, 0x00, rsaBits(512)), 0x6A81},
		{"GAKP RSA-1016", gakpAPDU(0x05, 0x00, rsaBits(1016)), 0x6A81},
		{"GAKP RSA-1028 (not a multiple of 8)", gakpAPDU(0x05, 0x00, rsaBits(1028)), 0x6A81},
		{"GAKP RSA-4104", gakpAPDU(0x05, 0x00, rsaBits(4104)), 0x6A81},
		{"GAKP unknown curve (p of P-256 with the wrong a)", gakpAPDU(0x05, 0x00, ecTmpl(p256, p256.B)), 0x6A81},
		{"GAKP brainpoolP256t1 (p of r1, a = p - 3)", gakpAPDU(0x05, 0x00, ecTmpl(bpT1, pMinus3)), 0x6A81},
		{"GAKP Ed25519 generator", gakpAPDU(0x05, 0x00, tmpl(oidEC, berTLV(0x81, x25519.P), berTLV(0x82, x25519.N), berTLV(0x83, ed25519G))), 0x6A81},
		{"GAKP unknown key algorithm OID", gakpAPDU(0x05, 0x00, tmpl(berTLV(0x06, mustHex("04007F00070202020301")))), 0x6A81},
		{"GAKP without 7F49", gakpAPDU(0x05, 0x00, mustHex("5F290100 4209555443413030303031")), 0x6A80},
		{"GAKP EC without p", gakpAPDU(0x05, 0x00, tmpl(oidEC, berTLV(0x82, p256.A))), 0x6A80},
		{"GAKP malformed TLV", gakpAPDU(0x05, 0x00, mustHex("5F2901007F4910")), 0x6A80},
		{"GAKP with a 17-character CHR", gakpAPDU(0x05, 0x00, cmd(rsaBits(1024), berTLV2(0x5F20, []byte("ZZPTEST0000000001")))), 0x6A80},
		{"GAKP with a 5-byte usage counter", gakpAPDU(0x05, 0x00, cmd(rsaBits(1024), mustHex("90050000000001"))), 0x6A80},
		{"GAKP with 33 allowed algorithms", gakpAPDU(0x05, 0x00, cmd(rsaBits(1024), berTLV(0x91, bytes.Repeat([]byte{0x20}, 33)))), 0x6A80},
		{"GAKP with a 2-byte domain", gakpAPDU(0x05, 0x00, cmd(rsaBits(1024), mustHex("92020001"))), 0x6A80},
		{"SIGN without data", []byte{0x80, 0x68, 0x02, 0x70, 0x00, 0x02, 0x00}, 0x6700},
		{"SIGN with unknown algorithm 36", keyAPDU(0x68, 0x01, 0x36, digest), 0x6A86},
		{"SIGN with unknown algorithm 76", keyAPDU(0x68, 0x02, 0x76, digest), 0x6A86},
		{"PSS 40 with a SHA-256 DigestInfo of 20 bytes", keyAPDU(0x68, 0x01, 0x40, mustHex("302D300D060960864801650304020105000414"+"0102030405060708090A0B0C0D0E0F1011121314")), 0x6A80},
		{"ECDH with the point at infinity (00)", keyAPDU(0x62, 0x02, 0x80, []byte{0x00}), 0x6A80},
		{"ECDH with x = p", keyAPDU(0x62, 0x02, 0x80, cmd([]byte{0x04}, p256.P, point[33:])), 0x6A80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectSW(t, c, tc.apdu, tc.sw)
			keysWork(t)
		})
	}
	// Failed generations left no key 05 behind.
	if ids, err := cl.ListObjects(ctx); err != nil || containsID(ids, 0xCC05) {
		t.Errorf("objects after the refused generations: %s, %v", fidList(ids), err)
	}

	// 73 hashes the whole message on the card: the largest a vpcd frame carries (65526 bytes
	// with the 9 bytes of header, Lc and Le) is fine. (65535 bytes would need a 65544-byte
	// frame; vpcd's length field stops at 65535.)
	t.Run("ECDSA-SHA256 of a 65526-byte message", func(t *testing.T) {
		long := pattern(5, 65526)
		sig, err := cl.Sign(ctx, 0x02, hsm.AlgECDSASHA256, long)
		if err != nil || !ecdsa.VerifyASN1(epub, sum(crypto.SHA256, long), sig) {
			t.Fatalf("%v", err)
		}
		keysWork(t)
	})

	// Spec 2.12.4: without the user PIN, 6982; then VERIFY and everything works again.
	t.Run("no PIN verified", func(t *testing.T) {
		selectApplet(t, c)
		for name, a := range map[string][]byte{
			"SIGN":     keyAPDU(0x68, 0x02, 0x70, digest),
			"DECIPHER": keyAPDU(0x62, 0x02, 0x80, point),
			"RSA 21":   keyAPDU(0x62, 0x01, 0x21, allFF[1:]),
			"GAKP":     gakpAPDU(0x05, 0x00, rsaBits(1024)),
		} {
			if _, sw := tx(t, c, a); sw != 0x6982 {
				t.Errorf("%s without PIN: SW %04X, want 6982", name, sw)
			}
		}
		login(t, cl)
		keysWork(t)
	})

	t.Run("delete", func(t *testing.T) {
		g, err := cl.GenerateEC(ctx, 0x06, "secp384r1", hsm.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ids, _ := cl.ListObjects(ctx); !containsID(ids, 0xCC06) || !containsID(ids, 0xCC01) {
			t.Fatalf("ENUMERATE %s lacks CC06 or CC01", fidList(ids))
		}
		if err := cl.DeleteKey(ctx, 0x06); err != nil {
			t.Fatal(err)
		}
		if ids, _ := cl.ListObjects(ctx); containsID(ids, 0xCC06) {
			t.Errorf("ENUMERATE after delete: %s", fidList(ids))
		}
		_, err = cl.Sign(ctx, 0x06, hsm.AlgECDSA, digest)
		expectCardErr(t, "SIGN with the deleted key", err, 0x6A82)
		expectCardErr(t, "second delete", cl.DeleteKey(ctx, 0x06), 0x6A82)
		// Spec 3.2, 2.19: the device key is not deletable (6982).
		if _, sw := tx(t, c, deleteAPDU(0xCC00)); sw != 0x6982 {
			t.Errorf("DELETE FILE CC00: SW %04X, want 6982", sw)
		}
		// A new key under the same number is a new key.
		g2, err := cl.GenerateEC(ctx, 0x06, "secp384r1", hsm.KeyOptions{})
		if err != nil || g2.Public.(*ecdsa.PublicKey).Equal(g.Public) {
			t.Fatalf("regenerated key 06: %v", err)
		}
		keysWork(t)
	})
}

func containsID(ids []uint16, id uint16) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Pico-hsm-extensions.md 4.4, 4.5: usage counter (90) and allowed-algorithm list (91).
func TestKeyPolicy(t *testing.T) {
	cl, _ := keyCard(t)
	ctx := genCtx(t)
	two := uint32(2)
	d := sum(crypto.SHA256, []byte("m"))

	t.Run("usage counter 2: the third use answers 6984", func(t *testing.T) {
		g, err := cl.GenerateEC(ctx, 0x01, "secp256r1", hsm.KeyOptions{UsageCounter: &two})
		if err != nil {
			t.Fatal(err)
		}
		// A refused operation (bad input) does not use the key up.
		_, err = cl.Sign(ctx, 0x01, hsm.AlgECDSA, make([]byte, 65))
		expectCardErr(t, "bad input", err, 0x6A80)
		_, err = cl.Sign(ctx, 0x01, hsm.AlgRSARaw, d)
		expectCardErr(t, "wrong algorithm", err, 0x6A81)
		for i := 1; i <= 2; i++ {
			if sig, err := cl.Sign(ctx, 0x01, hsm.AlgECDSA, d); err != nil || !ecdsa.VerifyASN1(g.Public.(*ecdsa.PublicKey), d, sig) {
				t.Fatalf("use %d: %v", i, err)
			}
		}
		_, err = cl.Sign(ctx, 0x01, hsm.AlgECDSA, d)
		expectCardErr(t, "third SIGN", err, 0x6984)
		peer, _ := ecdh.P256().GenerateKey(rand.Reader)
		_, err = cl.ECDH(ctx, 0x01, peer.PublicKey().Bytes())
		expectCardErr(t, "ECDH after exhaustion", err, 0x6984)
	})
	t.Run("usage counter counts SIGN and DECIPHER alike", func(t *testing.T) {
		g, err := cl.GenerateRSA(ctx, 0x02, 1024, hsm.KeyOptions{UsageCounter: &two})
		if err != nil {
			t.Fatal(err)
		}
		pub := g.Public.(*rsa.PublicKey)
		c, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("k"))
		if _, err := cl.Decipher(ctx, 0x02, hsm.AlgRSADecryptPKCS1, c); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Sign(ctx, 0x02, hsm.AlgRSAPKCS1SHA256, []byte("m")); err != nil {
			t.Fatal(err)
		}
		_, err = cl.Decipher(ctx, 0x02, hsm.AlgRSADecryptPKCS1, c)
		expectCardErr(t, "third use", err, 0x6984)
	})
	t.Run("a DECIPHER with bad padding uses the key", func(t *testing.T) {
		// keys.c: a well-formed operation on a bad ciphertext counts (a padding oracle query
		// must not be free); refusals before the operation (6A81, malformed input) do not.
		g, err := cl.GenerateRSA(ctx, 0x06, 1024, hsm.KeyOptions{UsageCounter: &two})
		if err != nil {
			t.Fatal(err)
		}
		pub := g.Public.(*rsa.PublicKey)
		oaep, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("k"), nil)
		_, err = cl.Decipher(ctx, 0x06, hsm.AlgRSADecryptPKCS1, bytes.Repeat([]byte{0xFF}, pub.Size()))
		expectCardErr(t, "input not below the modulus", err, 0x6A80)
		_, err = cl.Decipher(ctx, 0x06, hsm.AlgRSADecryptPKCS1, oaep)
		expectCardErr(t, "bad padding", err, 0x6A80)
		if _, err := cl.Decipher(ctx, 0x06, hsm.AlgRSADecryptOAEP, oaep); err != nil {
			t.Fatal(err)
		}
		_, err = cl.Decipher(ctx, 0x06, hsm.AlgRSADecryptOAEP, oaep)
		expectCardErr(t, "third use", err, 0x6984)
	})
	t.Run("usage counter 0", func(t *testing.T) {
		zero := uint32(0)
		if _, err := cl.GenerateEC(ctx, 0x03, "secp256r1", hsm.KeyOptions{UsageCounter: &zero}); err != nil {
			t.Fatal(err)
		}
		_, err := cl.Sign(ctx, 0x03, hsm.AlgECDSA, d)
		expectCardErr(t, "first use", err, 0x6984)
	})
	t.Run("algorithm list 73, 70", func(t *testing.T) {
		g, err := cl.GenerateEC(ctx, 0x04, "brainpoolP256r1", hsm.KeyOptions{Algorithms: []byte{0x73, 0x70}})
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []hsm.Algorithm{hsm.AlgECDSASHA256, hsm.AlgECDSA} {
			in := d
			if alg == hsm.AlgECDSASHA256 {
				in = []byte("m")
			}
			if sig, err := cl.Sign(ctx, 0x04, alg, in); err != nil || !verifyECDSA(t, g, d, sig) {
				t.Errorf("%v: %v", alg, err)
			}
		}
		for _, alg := range []hsm.Algorithm{hsm.AlgECDSASHA1, hsm.AlgECDSASHA384} {
			_, err := cl.Sign(ctx, 0x04, alg, []byte("m"))
			expectCardErr(t, alg.String()+" not in the list", err, 0x6A81)
		}
		_, err = cl.ECDH(ctx, 0x04, g.Request.Request.PublicKey.Point)
		expectCardErr(t, "ECDH not in the list", err, 0x6A81)
	})
	t.Run("algorithm list 21 on an RSA key", func(t *testing.T) {
		g, err := cl.GenerateRSA(ctx, 0x05, 1024, hsm.KeyOptions{Algorithms: []byte{byte(hsm.AlgRSADecryptRaw)}})
		if err != nil {
			t.Fatal(err)
		}
		pub := g.Public.(*rsa.PublicKey)
		key, _ := cl.RSAKey(0x05, pub)
		c, _ := rsa.EncryptOAEP(sha512.New384(), rand.Reader, pub, []byte("k"), nil)
		if got, err := key.Decrypt(rand.Reader, c, &rsa.OAEPOptions{Hash: crypto.SHA384}); err != nil || string(got) != "k" {
			t.Errorf("raw 21 with OAEP-SHA-384 unpadding on the host: %q, %v", got, err)
		}
		key.CardPadding = true
		_, err = key.Decrypt(rand.Reader, c, nil)
		expectCardErr(t, "22 not in the list", err, 0x6A81)
		_, err = key.Sign(rand.Reader, d, crypto.SHA256)
		expectCardErr(t, "30 not in the list", err, 0x6A81)
	})
}

// The Key as crypto.Signer in x509.CreateCertificate and a TLS handshake (RSA-2048 with
// PKCS#1 v1.5 and PSS, P-256): the certificates verify under their own public key.
func TestKeySignerX509(t *testing.T) {
	cl, _ := keyCard(t)
	ctx := genCtx(t)
	gr, err := cl.GenerateRSA(ctx, 0x01, 2048, hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ge, err := cl.GenerateEC(ctx, 0x02, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		g    *hsm.GeneratedKey
		alg  x509.SignatureAlgorithm
	}{
		{"RSA-2048 PKCS#1 v1.5", gr, x509.SHA256WithRSA},
		{"RSA-2048 PSS", gr, x509.SHA384WithRSAPSS},
		{"P-256", ge, x509.ECDSAWithSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := tc.g.Key(cl)
			if err != nil {
				t.Fatal(err)
			}
			key.Context = testCtx(t)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Pico HSM key"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), SignatureAlgorithm: tc.alg,
				DNSNames: []string{"hsm.test"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Fatalf("certificate does not verify under its own key: %v", err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(cert)
			srv, cli := net.Pipe()
			done := make(chan error, 1)
			go func() {
				s := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key.PrivateKey()}}})
				done <- s.Handshake()
				srv.Close()
			}()
			err = tls.Client(cli, &tls.Config{RootCAs: pool, ServerName: "hsm.test"}).Handshake()
			cli.Close()
			if serr := <-done; err != nil || serr != nil {
				t.Fatalf("TLS handshake: client %v, server %v", err, serr)
			}
		})
	}
}

// Keys and their policy survive a restart on the same flash file; the counter's state too.
func TestKeysPersist(t *testing.T) {
	bin := emulatorPath(t)
	flash := newFlash(t)
	ctx0, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := startOn(ctx0, bin, flash)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	one := uint32(1)
	g, err := cl.GenerateEC(ctx, 0x01, "secp256k1", hsm.KeyOptions{UsageCounter: &one})
	if err != nil {
		t.Fatal(err)
	}
	gx, err := cl.GenerateX448(ctx, 0x02, hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c = restart(t, c, flash)
	cl = client(c)
	login(t, cl)
	d := sum(crypto.SHA256, []byte("after restart"))
	if sig, err := cl.Sign(ctx, 0x01, hsm.AlgECDSA, d); err != nil || !verifyECDSA(t, g, d, sig) {
		t.Fatalf("secp256k1 key after restart: %v", err)
	}
	k := pattern(1, 56)
	peer, _ := ecmath.X448.Function(k, ecmath.X448.Basepoint())
	want, _ := ecmath.X448.Function(k, gx.Request.Request.PublicKey.Point)
	if got, err := cl.ECDH(ctx, 0x02, peer); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("X448 key after restart: %v", err)
	}
	c = restart(t, c, flash)
	cl = client(c)
	login(t, cl)
	_, err = cl.Sign(ctx, 0x01, hsm.AlgECDSA, d)
	expectCardErr(t, "the used-up key after a second restart", err, 0x6984)
}
