package hsm

// The key commands (sections 2.11-2.13): exact APDUs and the decoding of the answers.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey // 1024 bits: fast to make, enough for the wire tests
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// answer67 builds an authenticated request around the 7F49 template pk, with dummy
// signatures (the client does not check them; conformance tests do).
func answer67(pk []byte) []byte {
	body := tlv.Encode(cvc.TagBody, cat(tlv.Encode(cvc.TagCPI, []byte{0}), tlv.Encode(cvc.TagCAR, []byte("UTCA00001")),
		pk, tlv.Encode(cvc.TagCHR, []byte("ZZPTEST00001"))))
	req := tlv.Encode(cvc.TagCertificate, cat(body, tlv.Encode(cvc.TagSignature, bytes.Repeat([]byte{1}, 64))))
	return tlv.Encode(0x67, cat(req, tlv.Encode(cvc.TagCAR, []byte("ZZPTEST00001")), tlv.Encode(cvc.TagSignature, bytes.Repeat([]byte{2}, 64))))
}

func rsaTemplate(pub *rsa.PublicKey) []byte {
	return tlv.Encode(0x7F49, cat(tlv.Encode(0x06, cvc.OIDRSAv15SHA256), tlv.Encode(0x81, pub.N.Bytes()),
		tlv.Encode(0x82, big.NewInt(int64(pub.E)).Bytes())))
}

func ecTemplate(c *Curve, point []byte) []byte {
	if c.Kind == Montgomery {
		return tlv.Encode(0x7F49, cat(tlv.Encode(0x06, cvc.OIDECDHSHA256), tlv.Encode(0x81, c.P),
			tlv.Encode(0x82, c.N), tlv.Encode(0x83, c.G), tlv.Encode(0x84, point)))
	}
	return tlv.Encode(0x7F49, cat(tlv.Encode(0x06, cvc.OIDECDSASHA256), tlv.Encode(0x81, c.P),
		tlv.Encode(0x82, c.A), tlv.Encode(0x83, c.B), tlv.Encode(0x84, c.G), tlv.Encode(0x85, c.N),
		tlv.Encode(0x86, point), tlv.Encode(0x87, []byte{1})))
}

// mathPoint returns d*G on a Weierstrass curve of the table.
func mathPoint(c *Curve, d int64) []byte {
	m := ecmath.NewCurve(c.P, c.A, c.B, c.G, c.N)
	x, y := m.ScalarBaseMult(big.NewInt(d))
	return m.Marshal(x, y)
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// gakp renders the expected GAKP APDU for the data objects given in hex.
func gakp(id byte, data ...string) string {
	d := h(strings.Join(data, ""))
	return hx(cat([]byte{0x00, 0x46, id, 0x00, 0x00, byte(len(d) >> 8), byte(len(d))}, d, []byte{0x00, 0x00}))
}

func u32(v uint32) *uint32 { return &v }
func b8(v byte) *byte      { return &v }

func TestGenerate(t *testing.T) {
	k := testRSAKey(t)
	p256 := CurveByName("secp256r1")
	bp := CurveByName("brainpoolP256r1")
	x448 := CurveByName("X448")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPoint := elliptic.Marshal(elliptic.P256(), ec.X, ec.Y) //nolint:staticcheck // test data
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	x448Point := bytes.Repeat([]byte{0x42}, 56)
	bpPoint := mathPoint(bp, 7)
	rsaAnswer := hx(answer67(rsaTemplate(&k.PublicKey))) + "9000"

	// Spec 2.11.1: the RSA template OpenSC sends, here without CAR/CHR.
	rsa1024 := "7F4915 060A04007F00070202020102 8203010001 02020400"
	// Spec 2.11.1 example: the P-256 template is 7F 49 81 DA with 06 81 82 83 84 85 87.
	p256Tpl := "7F4981DA 060A04007F00070202020203 8120" + hx(p256.P) + "8220" + hx(p256.A) + "8320" + hx(p256.B) +
		"8441" + hx(p256.G) + "8520" + hx(p256.N) + "870101"
	x25519Tpl := "7F4972 060A04007F00070202020203 8120" + hx(CurveByName("X25519").P) + "8220" + hx(CurveByName("X25519").N) +
		"8320 09" + strings.Repeat("00", 31)
	x448Tpl := "7F4981BA 060A04007F00070202020203 8138" + hx(x448.P) + "8238" + hx(x448.N) + "8338 05" + strings.Repeat("00", 55)

	runCalls(t, []callCase{
		{name: "RSA-1024", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateRSA(ctx, 0x01, 1024, KeyOptions{})
			if err != nil {
				return nil, err
			}
			return g.Public, nil
		}, replies: []string{rsaAnswer}, sent: []string{gakp(0x01, "5F290100", rsa1024)}, want: &k.PublicKey},
		{name: "RSA with every option", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateRSA(ctx, 0xFF, 1024, KeyOptions{UsageCounter: u32(0x01020304),
				Algorithms: []byte{byte(AlgRSAPSS), byte(AlgRSARaw)}, Domain: b8(3), CAR: "UTCA00001", CHR: "ZZPTEST00001"})
			if err != nil {
				return nil, err
			}
			return g.ID, nil
		}, replies: []string{rsaAnswer}, sent: []string{gakp(0xFF, "5F290100", "4209"+hx([]byte("UTCA00001")), rsa1024,
			"5F200C"+hx([]byte("ZZPTEST00001")), "900401020304", "91024020", "920103")}, want: byte(0xFF)},
		{name: "secp256r1 by alias", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateEC(ctx, 0x02, "prime256v1", KeyOptions{})
			if err != nil {
				return nil, err
			}
			return g.Public.(*ecdsa.PublicKey).Equal(&ec.PublicKey), nil
		}, replies: []string{hx(answer67(ecTemplate(p256, ecPoint))) + "9000"},
			sent: []string{gakp(0x02, "5F290100", p256Tpl)}, want: true},
		{name: "brainpoolP256r1: generic key type", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateEC(ctx, 0x03, "brainpoolP256r1", KeyOptions{})
			if err != nil {
				return nil, err
			}
			return g.Public, nil
		}, replies: []string{hx(answer67(ecTemplate(bp, bpPoint))) + "9000"},
			sent: []string{gakp(0x03, "5F290100", hx(bp.template()))}, want: &ECPublicKey{Curve: bp, Point: bpPoint}},
		{name: "X25519: crypto/ecdh key", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateX25519(ctx, 0x04, KeyOptions{})
			if err != nil {
				return nil, err
			}
			return g.Public.(*ecdh.PublicKey).Equal(xk.PublicKey()), nil
		}, replies: []string{hx(answer67(ecTemplate(CurveByName("X25519"), xk.PublicKey().Bytes()))) + "9000"},
			sent: []string{gakp(0x04, "5F290100", x25519Tpl)}, want: true},
		{name: "X448", call: func(ctx context.Context, c *Client) (any, error) {
			g, err := c.GenerateX448(ctx, 0x05, KeyOptions{})
			if err != nil {
				return nil, err
			}
			return g.Public, nil
		}, replies: []string{hx(answer67(ecTemplate(x448, x448Point))) + "9000"},
			sent: []string{gakp(0x05, "5F290100", x448Tpl)}, want: &ECPublicKey{Curve: x448, Point: x448Point}},
		{name: "no PIN", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateEC(ctx, 0x02, "secp256r1", KeyOptions{})
		}, replies: []string{"6982"}, sent: []string{gakp(0x02, "5F290100", p256Tpl)}, wantErr: true, wantIs: apdu.ErrSecurityStatus},
		{name: "card answers another key type", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x01, 2048, KeyOptions{})
		}, replies: []string{rsaAnswer}, sent: []string{gakp(0x01, "5F290100", "7F4915 060A04007F00070202020102 8203010001 02020800")}, wantErr: true},
		{name: "card answers another curve", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateEC(ctx, 0x02, "secp256r1", KeyOptions{})
		}, replies: []string{hx(answer67(ecTemplate(bp, bpPoint))) + "9000"}, sent: []string{gakp(0x02, "5F290100", p256Tpl)}, wantErr: true},
		{name: "bare 7F21 answer", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x01, 1024, KeyOptions{})
		}, replies: []string{hx(answer67(rsaTemplate(&k.PublicKey))[4:]) + "9000"}, sent: []string{gakp(0x01, "5F290100", rsa1024)}, wantErr: true},
		{name: "key 00", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x00, 2048, KeyOptions{})
		}, wantErr: true},
		{name: "RSA 1000 bits", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x01, 1000, KeyOptions{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "RSA 4104 bits", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x01, 4104, KeyOptions{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "RSA 2052 bits", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateRSA(ctx, 0x01, 2052, KeyOptions{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "unknown curve", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateEC(ctx, 0x01, "secp224r1", KeyOptions{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "CHR too long", call: func(ctx context.Context, c *Client) (any, error) {
			return c.GenerateEC(ctx, 0x01, "secp256r1", KeyOptions{CHR: "ZZPTEST0000000001"})
		}, wantErr: true},
	})
}

// Spec 2.12, 2.13: 80 68/62 <id> <alg> 00 <Lc> <data> 02 00, always extended.
func TestSignDecipherECDH(t *testing.T) {
	sign := func(id byte, alg Algorithm, data []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return c.Sign(ctx, id, alg, data) }
	}
	decipher := func(id byte, alg Algorithm, data []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return c.Decipher(ctx, id, alg, data) }
	}
	derive := func(id byte, p []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return c.ECDH(ctx, id, p) }
	}
	big := bytes.Repeat([]byte{0x5A}, 300)
	runCalls(t, []callCase{
		{name: "ECDSA-SHA256", call: sign(0x01, AlgECDSASHA256, []byte("abc")), replies: []string{"3006020101020102 9000"},
			sent: []string{"80 68 01 73 00 00 03 616263 02 00"}, want: h("3006020101020102")},
		{name: "RSA raw, 300 bytes", call: sign(0x10, AlgRSARaw, big), replies: []string{"0102 9000"},
			sent: []string{"80 68 10 20 00 01 2C " + hx(big) + " 02 00"}, want: []byte{1, 2}},
		{name: "unknown key", call: sign(0x07, AlgECDSA, []byte{1}), replies: []string{"6A82"},
			sent: []string{"80 68 07 70 00 00 01 01 02 00"}, wantErr: true, wantIs: apdu.ErrFileNotFound},
		{name: "counter exhausted", call: sign(0x07, AlgECDSA, []byte{1}), replies: []string{"6984"},
			sent: []string{"80 68 07 70 00 00 01 01 02 00"}, wantErr: true, wantIs: apdu.ErrReferenceDataUnusable},
		{name: "sign without data", call: sign(0x07, AlgECDSA, nil), wantErr: true},
		{name: "OAEP", call: decipher(0x02, AlgRSADecryptOAEP, []byte{9, 9}), replies: []string{"414243 9000"},
			sent: []string{"80 62 02 23 00 00 02 0909 02 00"}, want: []byte("ABC")},
		{name: "algorithm not in the list", call: decipher(0x02, AlgRSADecryptRaw, []byte{9}), replies: []string{"6A81"},
			sent: []string{"80 62 02 21 00 00 01 09 02 00"}, wantErr: true, wantIs: apdu.ErrFunctionNotSupported},
		{name: "ECDH strips 04", call: derive(0x03, h("04AABB")), replies: []string{"04 1122 9000"},
			sent: []string{"80 62 03 80 00 00 03 04AABB 02 00"}, want: h("1122")},
		{name: "ECDH answer without 04", call: derive(0x03, h("04AABB")), replies: []string{"05 1122 9000"},
			sent: []string{"80 62 03 80 00 00 03 04AABB 02 00"}, wantErr: true},
		{name: "ECDH bad point", call: derive(0x03, h("04AABB")), replies: []string{"6A80"},
			sent: []string{"80 62 03 80 00 00 03 04AABB 02 00"}, wantErr: true, wantIs: apdu.ErrIncorrectData},
	})
}

// Spec 2.4, 3.2: a key is deleted as the file CCxx.
func TestDeleteKey(t *testing.T) {
	del := func(id byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteKey(ctx, id) }
	}
	runCalls(t, []callCase{
		{name: "key 05", call: del(0x05), replies: []string{"9000"}, sent: []string{"00 E4 02 00 02 CC 05"}},
		{name: "missing", call: del(0x06), replies: []string{"6A82"}, sent: []string{"00 E4 02 00 02 CC 06"},
			wantErr: true, wantIs: apdu.ErrFileNotFound},
		{name: "device key", call: del(0x00), wantErr: true},
	})
}

func TestAlgorithms(t *testing.T) {
	all := Algorithms()
	if len(all) != 23 {
		t.Errorf("%d algorithms, want 23", len(all))
	}
	for _, a := range all {
		if got, err := ParseAlgorithm(a.String()); err != nil || got != a {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", a.String(), got, err)
		}
		if got, err := ParseAlgorithm(hx([]byte{byte(a)})); err != nil || got != a {
			t.Errorf("ParseAlgorithm(hex %02X) = %v, %v", byte(a), got, err)
		}
		if a.IsSign() == a.IsDecipher() || !a.Known() {
			t.Errorf("%v: IsSign %v IsDecipher %v", a, a.IsSign(), a.IsDecipher())
		}
	}
	for _, tc := range []struct {
		in   string
		want Algorithm
		hash crypto.Hash
		rsa  bool
	}{
		{"ECDSA-SHA384", AlgECDSASHA384, crypto.SHA384, false},
		{"0x43", AlgRSAPSSSHA256, crypto.SHA256, true},
		{"31", AlgRSAPKCS1SHA1, crypto.SHA1, true},
		{"rsa-decrypt-oaep", AlgRSADecryptOAEP, 0, true},
		{"ecdh", AlgECDH, 0, false},
		{"99", Algorithm(0x99), 0, false},
	} {
		a, err := ParseAlgorithm(tc.in)
		if err != nil || a != tc.want || a.Hash() != tc.hash || a.IsRSA() != tc.rsa {
			t.Errorf("%q: %v (%v), hash %v, rsa %v", tc.in, a, err, a.Hash(), a.IsRSA())
		}
	}
	if Algorithm(0x99).String() != "99" || Algorithm(0x99).Known() {
		t.Errorf("String of an unknown byte = %q", Algorithm(0x99).String())
	}
	for _, bad := range []string{"", "sha256", "100", "0x1FF"} {
		if _, err := ParseAlgorithm(bad); err == nil {
			t.Errorf("ParseAlgorithm(%q) accepted", bad)
		}
	}
}

// Spec 2.12.3: the DigestInfo prefixes.
func TestDigestInfo(t *testing.T) {
	for h, prefix := range map[crypto.Hash]string{
		crypto.MD5:    "3020300C06082A864886F70D020505000410",
		crypto.SHA1:   "3021300906052B0E03021A05000414",
		crypto.SHA224: "302D300D06096086480165030402040500041C",
		crypto.SHA256: "3031300D060960864801650304020105000420",
		crypto.SHA384: "3041300D060960864801650304020205000430",
		crypto.SHA512: "3051300D060960864801650304020305000440",
	} {
		d := bytes.Repeat([]byte{0xAB}, h.Size())
		got, err := DigestInfo(h, d)
		if err != nil || hx(got) != strings.ToLower(prefix)+hx(d) {
			t.Errorf("%v: %X (%v)", h, got, err)
		}
	}
	if _, err := DigestInfo(crypto.SHA256, make([]byte, 20)); err == nil {
		t.Error("20-byte digest accepted for SHA-256")
	}
	if _, err := DigestInfo(crypto.RIPEMD160, make([]byte, 20)); err == nil {
		t.Error("RIPEMD-160 accepted")
	}
}
