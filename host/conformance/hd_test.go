package conformance

// HD keys through the emulator (pico-hsm-extensions.md section 2): the official BIP32 test
// vectors 1-4 compared as xpub strings, the SLIP-10 secp256k1 and nist256p1 vectors (incl. the
// two retry vectors) compared field by field, the SLIP-21 example, ECDSA signatures of derived
// nodes verified in Go (crypto/ecdsa for P-256, math/big for secp256k1), and the error status
// words. Vectors: testdata/bip32.txt and testdata/slip10.txt, copied from the BIPs/SLIPs.

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
)

type hdVector struct {
	curve string
	seed  []byte
	nodes [][]string // path, then the other fields of the line
}

func readVectors(t *testing.T, file string) []hdVector {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hdVector
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.Fields(s.Text())
		if len(line) == 0 || strings.HasPrefix(line[0], "#") {
			continue
		}
		if line[0] == "seed" {
			v := hdVector{curve: "secp256k1"}
			if len(line) == 3 {
				v.curve = line[1]
			}
			v.seed, _ = hex.DecodeString(line[len(line)-1])
			out = append(out, v)
			continue
		}
		out[len(out)-1].nodes = append(out[len(out)-1].nodes, line)
	}
	return out
}

func hdPath(t *testing.T, master byte, s string) []byte {
	t.Helper()
	idx, err := hsm.ParseBIP32Path(s)
	if err != nil {
		t.Fatal(err)
	}
	return hsm.BIP32Path(master, idx)
}

// BIP32 test vectors 1-4 (secp256k1): the device's description, Base58Check-encoded on the
// host as pypicohsm does, equals the published xpub string.
func TestHDBIP32Vectors(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	for i, v := range readVectors(t, "testdata/bip32.txt") {
		id := byte(i)
		if err := cl.CreateHDMaster(ctx, hsm.HDSecp256k1, id, v.seed); err != nil {
			t.Fatal(err)
		}
		for _, n := range v.nodes {
			k, err := cl.DeriveHD(ctx, hdPath(t, id, n[0]))
			if err != nil {
				t.Fatalf("vector %d %s: %v", i+1, n[0], err)
			}
			if got := k.String(); got != n[1] {
				t.Errorf("vector %d %s: %s, want %s", i+1, n[0], got, n[1])
			}
		}
	}
}

// SLIP-10 secp256k1 and nist256p1 vectors: parent fingerprint, chain code, public key.
func TestHDSLIP10Vectors(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	types := map[string]hsm.HDType{"secp256k1": hsm.HDSecp256k1, "nist256p1": hsm.HDP256}
	for i, v := range readVectors(t, "testdata/slip10.txt") {
		id := byte(i)
		if err := cl.CreateHDMaster(ctx, types[v.curve], id, v.seed); err != nil {
			t.Fatal(err)
		}
		for _, n := range v.nodes {
			path := hdPath(t, id, n[0])
			k, err := cl.DeriveHD(ctx, path)
			if err != nil {
				t.Fatalf("%s %s: %v", v.curve, n[0], err)
			}
			fp, _ := hex.DecodeString(n[1])
			chain, _ := hex.DecodeString(n[2])
			pub, _ := hex.DecodeString(n[3])
			if !bytes.Equal(k.ParentFingerprint[:], fp) || !bytes.Equal(k.ChainCode, chain) ||
				!bytes.Equal(k.Key, pub) || int(k.Depth) != (len(path)-3)/6 ||
				k.Version != [4]byte{0x04, 0x88, 0xB2, 0x1E} {
				t.Errorf("%s seed %X %s: got %X", v.curve, v.seed[:4], n[0], k.Raw)
			}
		}
	}
}

// SLIP-21 example (satoshilabs/slips slip-0021.md): the device returns SHA256d of the key.
func TestHDSLIP21(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	seed, _ := hex.DecodeString("c76c4ac4f4e4a00d6b274d5c39c700bb4a7ddc04fbc6f78e85ca75007b5b495f" +
		"74a9043eeb77bdd53aa6fc3a0e31462270316fa04b8c19114c8798706cd02ac8")
	if err := cl.CreateHDMaster(ctx, hsm.HDSymmetric, 7, seed); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		labels []string
		key    string
	}{
		{nil, "dbf12b44133eaab506a740f6565cc117228cbf1dd70635cfa8ddfdc9af734756"},
		{[]string{"SLIP-0021"}, "1d065e3ac1bbe5c7fad32cf2305f7d709dc070d672044a19e610c77cdf33de0d"},
		{[]string{"SLIP-0021", "Master encryption key"}, "ea163130e35bbafdf5ddee97a17b39cef2be4b4f390180d65b54cf05c6a82fde"},
		{[]string{"SLIP-0021", "Authentication key"}, "47194e938ab24cc82bfa25f6486ed54bebe79c40ae2a5a32ea6db294d81861a6"},
	}
	for _, tc := range cases {
		var ls [][]byte
		for _, l := range tc.labels {
			ls = append(ls, []byte(l))
		}
		path, err := hsm.SLIP21Path(7, ls...)
		if err != nil {
			t.Fatal(err)
		}
		k, err := cl.DeriveHD(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := hex.DecodeString(tc.key)
		h := sha256.Sum256(key)
		h = sha256.Sum256(h[:])
		if len(k.Raw) != 77 || !bytes.Equal(k.Key, h[:]) || int(k.Depth) != len(ls) {
			t.Errorf("%q: %X, want key hash %X", tc.labels, k.Raw, h)
		}
	}
	// A SLIP-21 node does not sign (6985).
	path, _ := hsm.SLIP21Path(7, []byte("SLIP-0021"))
	if err := cl.SelectHD(ctx, path); err != nil {
		t.Fatal(err)
	}
	_, err := cl.SignHD(ctx, 0, make([]byte, 32))
	expectCardErr(t, "HD signature with a SLIP-21 node", err, 0x6985)

	// HD cipher (spec 2.6) with the published "Master encryption key" node, checked against
	// HMAC-SHA512 and AES-256-CBC computed here; each use consumes the node.
	node, _ := hex.DecodeString("ea163130e35bbafdf5ddee97a17b39cef2be4b4f390180d65b54cf05c6a82fde")
	encPath, _ := hsm.SLIP21Path(7, []byte("SLIP-0021"), []byte("Master encryption key"))
	label := []byte("wallet labelE1D1")
	plain := pattern(21, 64)
	for _, iv := range [][]byte{nil, pattern(22, 16)} {
		mac := hmac.New(sha512.New, node)
		mac.Write(label)
		s := mac.Sum(nil)
		blockIV := s[32:48]
		if iv != nil {
			blockIV = iv
		}
		block, _ := aes.NewCipher(s[:32])
		want := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, blockIV).CryptBlocks(want, plain)

		if err := cl.SelectHD(ctx, encPath); err != nil {
			t.Fatal(err)
		}
		got, err := cl.HDCipher(ctx, true, label, iv, plain)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("HD encrypt (IV %X): %X, %v; want %X", iv, got, err, want)
		}
		if err := cl.SelectHD(ctx, encPath); err != nil {
			t.Fatal(err)
		}
		back, err := cl.HDCipher(ctx, false, label, iv, got)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("HD decrypt (IV %X): %X, %v", iv, back, err)
		}
		// The node was consumed: a second use has none.
		_, err = cl.HDCipher(ctx, true, label, iv, plain)
		expectCardErr(t, "HD cipher without a selected node", err, 0x6A80)
	}
	// An ECDSA node is refused (6A80) and consumed.
	if err := cl.CreateHDMaster(ctx, hsm.HDSecp256k1, 8, pattern(23, 32)); err != nil {
		t.Fatal(err)
	}
	if err := cl.SelectHD(ctx, hsm.BIP32Path(8, []uint32{1})); err != nil {
		t.Fatal(err)
	}
	_, err = cl.HDCipher(ctx, true, label, nil, plain)
	expectCardErr(t, "HD cipher with a BIP32 node", err, 0x6A80)
	// Data not a multiple of 16 bytes: 6700.
	if err := cl.SelectHD(ctx, encPath); err != nil {
		t.Fatal(err)
	}
	_, err = cl.HDCipher(ctx, true, label, nil, plain[:20])
	expectCardErr(t, "HD cipher of 20 bytes", err, 0x6700)
}

// decompress returns the affine point of a SEC1 compressed key on curve m.
func decompress(t *testing.T, m *ecmath.Curve, pub []byte) (*big.Int, *big.Int) {
	t.Helper()
	x := new(big.Int).SetBytes(pub[1:])
	rhs := new(big.Int).Mul(x, x)
	rhs.Add(rhs, m.A)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, m.B)
	rhs.Mod(rhs, m.P)
	y := new(big.Int).ModSqrt(rhs, m.P)
	if y == nil {
		t.Fatalf("%X is not on the curve", pub)
	}
	if y.Bit(0) != uint(pub[0]&1) {
		y.Sub(m.P, y)
	}
	return x, y
}

// Signatures with derived nodes verify under the public key of the description (spec 2.6).
func TestHDSign(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	for _, tc := range []struct {
		typ   hsm.HDType
		curve string
	}{{hsm.HDSecp256k1, "secp256k1"}, {hsm.HDP256, "secp256r1"}} {
		if err := cl.CreateHDMaster(ctx, tc.typ, byte(tc.typ), seed); err != nil {
			t.Fatal(err)
		}
		cv := hsm.CurveByName(tc.curve)
		m := ecmath.NewCurve(cv.P, cv.A, cv.B, cv.G, cv.N)
		for _, p := range []string{"m", "m/44h/0h/0h/0/5", "m/0/2147483647h/1"} {
			path := hdPath(t, byte(tc.typ), p)
			k, err := cl.DeriveHD(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("pico-hsm " + p))
			if err := cl.SelectHD(ctx, path); err != nil {
				t.Fatal(err)
			}
			der, err := cl.SignHD(ctx, 0, digest[:])
			if err != nil {
				t.Fatalf("%s %s: %v", tc.curve, p, err)
			}
			var sig struct{ R, S *big.Int }
			if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
				t.Fatalf("signature %X is not DER", der)
			}
			x, y := decompress(t, m, k.Key)
			if !m.VerifyECDSA(x, y, digest[:], sig.R, sig.S) {
				t.Errorf("%s %s: signature does not verify", tc.curve, p)
			}
			if tc.typ == hsm.HDP256 {
				pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
				if !ecdsa.VerifyASN1(pub, digest[:], der) {
					t.Errorf("%s: crypto/ecdsa rejects the signature", p)
				}
			}
			// One signature per selection.
			_, err = cl.SignHD(ctx, 0, digest[:])
			expectCardErr(t, "second HD signature", err, 0x6985)
		}
	}
}

// Bad input: each with its status word (spec 2.1-2.3, decision 9 #15 for unknown P1).
func TestHDErrors(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	seed := []byte("0123456789abcdef")
	if err := cl.CreateHDMaster(ctx, hsm.HDP256, 0, seed); err != nil {
		t.Fatal(err)
	}
	good := hsm.BIP32Path(0, []uint32{1})
	cases := []struct {
		name string
		apdu string
		sw   uint16
	}{
		{"master id 10", "80 4A 01 0A 04 01020304", 0x6A86},
		{"unknown P1", "80 4A 05 00 03 020100", 0x6A86},
		{"derive P2 01", "80 4A 0A 01 09 " + hex.EncodeToString(good), 0x6A86},
		{"empty path", "80 4A 0A 00 00", 0x6700},
		{"master absent", "80 4A 0A 00 03 020109", 0x6400},
		{"id of 2 bytes", "80 4A 0A 00 04 02020000", 0x6400},
		{"label first", "80 4A 0A 00 03 040141", 0x6400},
		{"3-byte index", "80 4A 0A 00 08 020100 0203000001", 0x6400},
		{"label on an ECDSA master", "80 4A 0A 00 06 020100 040141", 0x6400},
		{"truncated element", "80 4A 10 00 06 020100 020400", 0x6400},
		{"HD SIGN without node", "80 68 00 A0 20 " + strings.Repeat("11", 32), 0x6985},
	}
	for _, tc := range cases {
		expectSW(t, c, mustHex(tc.apdu), tc.sw)
	}
	// A node selected, then a slot that does not exist: 6A82 and the node stays usable.
	if err := cl.SelectHD(ctx, good); err != nil {
		t.Fatal(err)
	}
	_, err := cl.SignHD(ctx, 0x33, make([]byte, 32))
	expectCardErr(t, "HD signature on an absent slot", err, 0x6A82)
	if _, err := cl.SignHD(ctx, 0, make([]byte, 32)); err != nil {
		t.Errorf("HD signature after a refused slot: %v", err)
	}
	// Depth: 255 children are the most a description can say.
	deep := make([]uint32, 160)
	if k, err := cl.DeriveHD(ctx, hsm.BIP32Path(0, deep)); err != nil || k.Depth != 160 {
		t.Errorf("depth 160: %v", err)
	}
	// Not logged in: creation 6982, derivation 6400 (nothing can open the master).
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	expectCardErr(t, "create without PIN", cl.CreateHDMaster(ctx, hsm.HDP256, 1, seed), 0x6982)
	_, err = cl.DeriveHD(ctx, good)
	expectCardErr(t, "derive without PIN", err, 0x6400)
	// Masters persist across an emulator restart is covered by the C test (power cycle).
}
