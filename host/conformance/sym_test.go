package conformance

// Symmetric keys through the vpcd harness (pico-hsm-extensions.md section 1): GENERATE
// SYMMETRIC KEY (48), CIPHER SYMMETRIC (78) and EC key derivation (76), and AES key blobs in
// WRAP/UNWRAP (smartcard-hsm-core.md 4.4, type 0F).
//
// Known answers run on the device with fixed keys imported through UNWRAP (the blob built on
// the host from the DKEK shares): NIST SP 800-38A/B/C/D, IEEE 1619, RFC 8439, RFC 4231,
// RFC 2202, RFC 5869, RFC 6070, NIST CAVS X9.63. Random inputs are compared with Go's crypto
// (crypto/aes, crypto/cipher, crypto/hmac, golang.org/x/crypto hkdf, pbkdf2, xts, chacha20,
// poly1305); generated keys, which never leave the card in clear, are checked by round trips.

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // the RFC 8439 one-time MAC, used as a reference
	"golang.org/x/crypto/xts"
)

// symCard is a logged-in card with a one-share DKEK, and that DKEK for building blobs.
func symCard(t *testing.T) (*hsm.Client, *dkek.DKEK) {
	t.Helper()
	cl := dkekCard(t, 1, dkekShareA)
	k, err := dkek.FromShares(dkekShareA)
	if err != nil {
		t.Fatal(err)
	}
	return cl, k
}

func importKey(t *testing.T, cl *hsm.Client, k *dkek.DKEK, id byte, key []byte, algs []byte) {
	t.Helper()
	if err := cl.ImportAESKey(genCtx(t), id, key, k, algs); err != nil {
		t.Fatalf("import key %02X (%d bytes): %v", id, len(key), err)
	}
}

func wantBytes(t *testing.T, what string, got []byte, err error, want []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %X\nwant %X", what, got, want)
	}
}

// wantSW checks that err carries status word sw and that no data came back.
func wantSW(t *testing.T, what string, got []byte, err error, sw uint16) {
	t.Helper()
	var se apdu.StatusError
	if !errors.As(err, &se) || se.SW != sw {
		t.Fatalf("%s: err %v, want SW %04X", what, err, sw)
	}
	if len(got) != 0 {
		t.Fatalf("%s: %d bytes of data with SW %04X", what, len(got), sw)
	}
}

var (
	sp38aKey128 = mustHex("2b7e151628aed2a6abf7158809cf4f3c")
	sp38aKey256 = mustHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	sp38aIV     = mustHex("000102030405060708090a0b0c0d0e0f")
	sp38aPlain  = mustHex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
)

// NIST SP 800-38A F.1-F.5 (AES-128 and AES-256), run with keys imported through UNWRAP.
func TestSymKATAESModes(t *testing.T) {
	cl, k := symCard(t)
	importKey(t, cl, k, 1, sp38aKey128, nil)
	importKey(t, cl, k, 2, sp38aKey256, nil)
	ctx := genCtx(t)
	for _, tc := range []struct {
		name string
		id   byte
		bits int
		mode hsm.AESMode
		iv   []byte
		ct   string
	}{
		{"F.1.1 ECB-AES128", 1, 128, hsm.ModeECB, nil, "3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf 43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4"},
		{"F.1.5 ECB-AES256", 2, 256, hsm.ModeECB, nil, "f3eed1bdb5d2a03c064b5a7e3db181f8 591ccb10d410ed26dc5ba74a31362870 b6ed21b99ca6f4f9f153e7b1beafed1d 23304b7a39f9f3ff067d8d8f9e24ecc7"},
		{"F.2.1 CBC-AES128", 1, 128, hsm.ModeCBC, sp38aIV, "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7"},
		{"F.2.5 CBC-AES256", 2, 256, hsm.ModeCBC, sp38aIV, "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b"},
		{"F.3.13 CFB128-AES128", 1, 128, hsm.ModeCFB, sp38aIV, "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b 26751f67a3cbb140b1808cf187a4f4df c04b05357c5d1c0eeac4c66f9ff7f2e6"},
		{"F.4.1 OFB-AES128", 1, 128, hsm.ModeOFB, sp38aIV, "3b3fd92eb72dad20333449f8e83cfb4a 7789508d16918f03f53c52dac54ed825 9740051e9c5fecf64344f7a82260edcc 304c6528f659c77866a510d9c1d6ae5e"},
		{"F.5.1 CTR-AES128", 1, 128, hsm.ModeCTR, mustHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff 5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(tc.ct)
			if tc.mode == hsm.ModeECB { // one block per call (spec 1.6.8)
				for i := 0; i < len(sp38aPlain); i += 16 {
					got, err := cl.AESEncrypt(ctx, tc.id, tc.bits, tc.mode, sp38aPlain[i:i+16], hsm.CipherParams{})
					wantBytes(t, fmt.Sprintf("encrypt block %d", i/16), got, err, want[i:i+16])
					got, err = cl.AESDecrypt(ctx, tc.id, tc.bits, tc.mode, want[i:i+16], hsm.CipherParams{})
					wantBytes(t, fmt.Sprintf("decrypt block %d", i/16), got, err, sp38aPlain[i:i+16])
				}
				return
			}
			p := hsm.CipherParams{IV: tc.iv}
			got, err := cl.AESEncrypt(ctx, tc.id, tc.bits, tc.mode, sp38aPlain, p)
			wantBytes(t, "encrypt", got, err, want)
			got, err = cl.AESDecrypt(ctx, tc.id, tc.bits, tc.mode, want, p)
			wantBytes(t, "decrypt", got, err, sp38aPlain)
		})
	}
}

// NIST SP 800-38B D.1 and D.3 (AES-CMAC, algorithm 18).
func TestSymKATCMAC(t *testing.T) {
	cl, k := symCard(t)
	importKey(t, cl, k, 1, sp38aKey128, nil)
	importKey(t, cl, k, 2, sp38aKey256, nil)
	ctx := genCtx(t)
	for _, tc := range []struct {
		id   byte
		mlen int
		mac  string
	}{
		{1, 0, "bb1d6929e95937287fa37d129b756746"},
		{1, 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{1, 40, "dfa66747de9ae63030ca32611497c827"},
		{1, 64, "51f0bebf7e3b9d92fc49741779363cfe"},
		{2, 0, "028962f61b7bf89efc6b551f4667d983"},
		{2, 64, "e1992190549f6ed5696a2c056c315410"},
	} {
		got, err := cl.CMAC(ctx, tc.id, sp38aPlain[:tc.mlen])
		wantBytes(t, fmt.Sprintf("key %d, %d-byte message", tc.id, tc.mlen), got, err, mustHex(tc.mac))
	}
}

// GCM (the SP 800-38D reference test cases 2 and 4), CCM (SP 800-38C C.1, C.2, with their 4
// and 6-byte tags), XTS (IEEE 1619 vectors 1 and 2), ChaCha20-Poly1305 (RFC 8439 2.8.2).
func TestSymKATAEAD(t *testing.T) {
	cl, k := symCard(t)
	importKey(t, cl, k, 1, make([]byte, 16), nil)
	importKey(t, cl, k, 2, mustHex("feffe9928665731c6d6a8f9467308308"), nil)
	importKey(t, cl, k, 3, mustHex("404142434445464748494a4b4c4d4e4f"), nil)
	importKey(t, cl, k, 4, make([]byte, 32), nil)
	importKey(t, cl, k, 5, append(bytes.Repeat([]byte{0x11}, 16), bytes.Repeat([]byte{0x22}, 16)...), nil)
	importKey(t, cl, k, 6, mustHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"), nil)
	ctx := genCtx(t)
	for _, tc := range []struct {
		name        string
		id          byte
		bits        int
		mode        hsm.AESMode
		iv, aad, pt string
		tagLen      int
		out         string
	}{
		{"GCM test case 2", 1, 128, hsm.ModeGCM, "000000000000000000000000", "", "00000000000000000000000000000000", 0,
			"0388dace60b6a392f328c2b971b2fe78 ab6e47d42cec13bdf53a67b21257bddf"},
		{"GCM test case 4", 2, 128, hsm.ModeGCM, "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", 0,
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091" +
				"5bc94fbc3221a5db94fae95ae7121a47"},
		{"CCM C.1", 3, 128, hsm.ModeCCM, "10111213141516", "0001020304050607", "20212223", 4, "7162015b 4dac255d"},
		{"CCM C.2", 3, 128, hsm.ModeCCM, "1011121314151617", "000102030405060708090a0b0c0d0e0f",
			"202122232425262728292a2b2c2d2e2f", 6, "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd"},
		{"XTS-AES-128 vector 1", 4, 256, hsm.ModeXTS, "00000000000000000000000000000000", "",
			"0000000000000000000000000000000000000000000000000000000000000000", 0,
			"917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e"},
		{"XTS-AES-128 vector 2", 5, 256, hsm.ModeXTS, "33333333330000000000000000000000", "",
			"4444444444444444444444444444444444444444444444444444444444444444", 0,
			"c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := hsm.CipherParams{IV: mustHex(tc.iv), TagLen: tc.tagLen}
			if tc.aad != "" {
				p.AAD = mustHex(tc.aad)
			}
			pt, out := mustHex(tc.pt), mustHex(tc.out)
			got, err := cl.AESEncrypt(ctx, tc.id, tc.bits, tc.mode, pt, p)
			wantBytes(t, "encrypt", got, err, out)
			got, err = cl.AESDecrypt(ctx, tc.id, tc.bits, tc.mode, out, p)
			wantBytes(t, "decrypt", got, err, pt)
		})
	}
	t.Run("RFC 8439 2.8.2", func(t *testing.T) {
		nonce, aad := mustHex("070000004041424344454647"), mustHex("50515253c0c1c2c3c4c5c6c7")
		pt := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
		want := mustHex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b" +
			"1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116" +
			"1ae10b594f09e26a7e902ecbd0600691")
		got, err := cl.ChaCha20Poly1305Seal(ctx, 6, nonce, pt, aad)
		wantBytes(t, "seal", got, err, want)
		got, err = cl.ChaCha20Poly1305Open(ctx, 6, nonce, want, aad)
		wantBytes(t, "open", got, err, pt)
	})
}

// HMAC (RFC 4231 test cases 1 and 2, RFC 2202 test case 1 for SHA-1), HKDF (RFC 5869 test
// cases 1 and 3), PBKDF2 (RFC 6070 test cases 1-3 and 5; the usual SHA-256 vectors), ANSI
// X9.63 (NIST CAVS component test vectors). Their keys are 4, 8, 20, 22 and 24 bytes: secrets
// imported in AES-type blobs of those lengths.
func TestSymKATMACsAndKDFs(t *testing.T) {
	cl, k := symCard(t)
	keys := map[byte][]byte{
		1: bytes.Repeat([]byte{0x0b}, 20), 2: []byte("Jefe"), 3: bytes.Repeat([]byte{0x0b}, 22),
		4: []byte("password"), 5: []byte("passwordPASSWORDpassword"),
		6: mustHex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08"), 7: mustHex("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d"),
		8: mustHex("1c7d7b5f0597b03d06a018466ed1a93e30ed4b04dc64ccdd"), 9: mustHex("d8554db1b392cd55c3fe957bed76af09c13ac2a9392f88f6"),
	}
	for id, key := range keys {
		importKey(t, cl, k, id, key, nil)
	}
	ctx := genCtx(t)
	for _, tc := range []struct {
		id   byte
		h    crypto.Hash
		msg  string
		want string
	}{
		{1, crypto.SHA1, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
		{1, crypto.SHA224, "Hi There", "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22"},
		{1, crypto.SHA256, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{1, crypto.SHA384, "Hi There", "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"},
		{1, crypto.SHA512, "Hi There", "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{2, crypto.SHA256, "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{2, crypto.SHA512, "what do ya want for nothing?", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	} {
		got, err := cl.HMAC(ctx, tc.id, tc.h, []byte(tc.msg))
		wantBytes(t, fmt.Sprintf("HMAC-%v key %d", tc.h, tc.id), got, err, mustHex(tc.want))
	}

	got, err := cl.HKDF(ctx, 3, crypto.SHA256, mustHex("000102030405060708090a0b0c"), mustHex("f0f1f2f3f4f5f6f7f8f9"), 42)
	wantBytes(t, "RFC 5869 A.1", got, err, mustHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
	got, err = cl.HKDF(ctx, 3, crypto.SHA256, nil, nil, 42)
	wantBytes(t, "RFC 5869 A.3", got, err, mustHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"))

	for _, tc := range []struct {
		id         byte
		h          crypto.Hash
		salt       string
		iter, n    int
		want, name string
	}{
		{4, crypto.SHA1, "salt", 1, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6", "RFC 6070 1"},
		{4, crypto.SHA1, "salt", 2, 20, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957", "RFC 6070 2"},
		{4, crypto.SHA1, "salt", 4096, 20, "4b007901b765489abead49d926f721d065a429c1", "RFC 6070 3"},
		{5, crypto.SHA1, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25, "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038", "RFC 6070 5"},
		{4, crypto.SHA256, "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", "SHA-256 c=1"},
		{5, crypto.SHA256, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40, "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9", "SHA-256 c=4096"},
	} {
		got, err := cl.PBKDF2(ctx, tc.id, tc.h, []byte(tc.salt), tc.iter, tc.n)
		wantBytes(t, "PBKDF2 "+tc.name, got, err, mustHex(tc.want))
	}

	for _, tc := range []struct {
		id   byte
		h    crypto.Hash
		info string
		want string
	}{
		{6, crypto.SHA256, "", "443024c3dae66b95e6f5670601558f71"},
		{7, crypto.SHA256, "75eef81aa3041e33b80971203d2c0c52", "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21"},
		{8, crypto.SHA1, "", "bf71dffd8f4d99223936beb46fee8ccc"},
		{9, crypto.SHA384, "", "671a46aada145162f8ddf1ca586a1cda"},
	} {
		want := mustHex(tc.want)
		got, err := cl.X963KDF(ctx, tc.id, tc.h, mustHex(tc.info), len(want))
		wantBytes(t, fmt.Sprintf("X9.63 %v key %d", tc.h, tc.id), got, err, want)
	}
}

// ---- references for the random comparisons --------------------------------------------------

func refAES(t *testing.T, mode hsm.AESMode, key, iv, aad, in []byte, encrypt bool) []byte {
	t.Helper()
	if iv == nil {
		iv = make([]byte, 16)
	}
	out := make([]byte, len(in))
	if mode == hsm.ModeXTS {
		c, err := xts.NewCipher(aes.NewCipher, key)
		if err != nil {
			t.Fatal(err)
		}
		// x/crypto/xts takes the tweak as a little-endian sector number (IEEE 1619 data unit).
		if !bytes.Equal(iv[8:], make([]byte, 8)) {
			t.Fatal("reference XTS needs a tweak below 2^64")
		}
		sector := binary.LittleEndian.Uint64(iv[:8])
		if encrypt {
			c.Encrypt(out, in, sector)
		} else {
			c.Decrypt(out, in, sector)
		}
		return out
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case hsm.ModeECB:
		if encrypt {
			b.Encrypt(out, in)
		} else {
			b.Decrypt(out, in)
		}
	case hsm.ModeCBC:
		if encrypt {
			cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, in)
		} else {
			cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, in)
		}
	case hsm.ModeCFB:
		cfb := cipher.NewCFBEncrypter //nolint:staticcheck // the reference for CFB-128
		if !encrypt {
			cfb = cipher.NewCFBDecrypter //nolint:staticcheck
		}
		cfb(b, iv).XORKeyStream(out, in)
	case hsm.ModeOFB:
		cipher.NewOFB(b, iv).XORKeyStream(out, in) //nolint:staticcheck
	case hsm.ModeCTR:
		cipher.NewCTR(b, iv).XORKeyStream(out, in)
	case hsm.ModeGCM:
		g, err := cipher.NewGCMWithNonceSize(b, len(iv))
		if err != nil {
			t.Fatal(err)
		}
		if encrypt {
			return g.Seal(nil, iv, in, aad)
		}
		pt, err := g.Open(nil, iv, in, aad)
		if err != nil {
			t.Fatal(err)
		}
		return pt
	default:
		t.Fatalf("no reference for %v", mode)
	}
	return out
}

// refChaChaPoly is RFC 8439 2.8 built from x/crypto's ChaCha20 and Poly1305.
func refChaChaPoly(key, nonce, pt, aad []byte) []byte {
	s, _ := chacha20.NewUnauthenticatedCipher(key, nonce)
	var polyKey [32]byte
	s.XORKeyStream(polyKey[:], polyKey[:])
	s.SetCounter(1)
	ct := make([]byte, len(pt))
	s.XORKeyStream(ct, pt)
	pad := func(b []byte) []byte { return append(b, make([]byte, (16-len(b)%16)%16)...) }
	m := pad(append([]byte(nil), aad...))
	m = append(m, pad(append([]byte(nil), ct...))...)
	m = binary.LittleEndian.AppendUint64(m, uint64(len(aad)))
	m = binary.LittleEndian.AppendUint64(m, uint64(len(ct)))
	var tag [16]byte
	poly1305.Sum(&tag, m, &polyKey)
	return append(ct, tag[:]...)
}

// refX963 is ANSI X9.63: Hash(Z || counter32 || SharedInfo), counter from 1.
func refX963(h crypto.Hash, z, info []byte, n int) []byte {
	var out []byte
	for c := uint32(1); len(out) < n; c++ {
		d := h.New()
		d.Write(z)
		d.Write(binary.BigEndian.AppendUint32(nil, c))
		d.Write(info)
		out = d.Sum(out)
	}
	return out[:n]
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// PBES2 (RFC 8018 6.2) with PBKDF2-HMAC-SHA256 and AES-CBC: the device's ciphertext is what
// x/crypto's PBKDF2 and crypto/aes give with PKCS#7 padding; bad padding and bad parameters
// answer 6700 with no data.
func TestSymPBES2(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	pw := []byte("passwordPASSWORDpassword")
	importKey(t, cl, k, 1, pw, nil)
	for _, bits := range []int{128, 192, 256} {
		for _, n := range []int{0, 15, 16, 100} {
			salt, iv, pt := random(t, 8), random(t, 16), random(t, n)
			params, err := hsm.PBES2Params(crypto.SHA256, salt, 1000, bits, iv)
			if err != nil {
				t.Fatal(err)
			}
			key := pbkdf2.Key(pw, salt, 1000, bits/8, sha256.New)
			pad := 16 - n%16
			padded := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
			want := refAES(t, hsm.ModeCBC, key, iv, nil, padded, true)
			got, err := cl.PBES2Encrypt(ctx, 1, params, pt)
			wantBytes(t, fmt.Sprintf("PBES2 AES-%d encrypt %d bytes", bits, n), got, err, want)
			got, err = cl.PBES2Decrypt(ctx, 1, params, want)
			wantBytes(t, fmt.Sprintf("PBES2 AES-%d decrypt %d bytes", bits, n), got, err, pt)
		}
	}
	params, _ := hsm.PBES2Params(crypto.SHA256, []byte("salt"), 1000, 256, make([]byte, 16))
	bad := refAES(t, hsm.ModeCBC, pbkdf2.Key(pw, []byte("salt"), 1000, 32, sha256.New), make([]byte, 16), nil,
		bytes.Repeat([]byte{0x11}, 16), true) // padding byte 11: invalid
	got, err := cl.PBES2Decrypt(ctx, 1, params, bad)
	wantSW(t, "PBES2 bad padding", got, err, 0x6700)
	huge, _ := hsm.PBES2Params(crypto.SHA256, []byte("salt"), 1000000, 256, make([]byte, 16))
	huge = bytes.Replace(huge, []byte{0x02, 0x03, 0x0F, 0x42, 0x40}, []byte{0x02, 0x03, 0x0F, 0x42, 0x41}, 1)
	got, err = cl.PBES2Encrypt(ctx, 1, huge, []byte("x"))
	wantSW(t, "PBES2 with 1000001 iterations", got, err, 0x6700)
	got, err = cl.PBES2Encrypt(ctx, 1, nil, []byte("x"))
	wantSW(t, "PBES2 without parameters", got, err, 0x6700)
}

// Every mode and key size: imported random keys give what Go's implementation gives, in both
// directions; CCM has no Go reference and is checked by its KAT and the round trips below.
func TestSymRandomAgainstGo(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	id := byte(1)
	for _, bits := range []int{128, 192, 256} {
		key := random(t, bits/8)
		importKey(t, cl, k, id, key, nil)
		for _, mode := range []hsm.AESMode{hsm.ModeECB, hsm.ModeCBC, hsm.ModeCFB, hsm.ModeOFB, hsm.ModeCTR, hsm.ModeGCM} {
			for _, n := range []int{16, 64, 1000} {
				if mode == hsm.ModeECB && n != 16 || mode == hsm.ModeCBC && n%16 != 0 {
					continue
				}
				if mode != hsm.ModeECB && mode != hsm.ModeCBC && mode != hsm.ModeGCM {
					n += 7 // the stream modes take any length
				}
				pt, iv := random(t, n), random(t, 16)
				var aad []byte
				if mode == hsm.ModeGCM {
					iv, aad = random(t, 12), random(t, 20)
				}
				p := hsm.CipherParams{IV: iv, AAD: aad}
				if mode == hsm.ModeECB {
					p.IV = nil
				}
				want := refAES(t, mode, key, p.IV, aad, pt, true)
				got, err := cl.AESEncrypt(ctx, id, bits, mode, pt, p)
				wantBytes(t, fmt.Sprintf("AES-%d-%v encrypt %d bytes", bits, mode, n), got, err, want)
				got, err = cl.AESDecrypt(ctx, id, bits, mode, want, p)
				wantBytes(t, fmt.Sprintf("AES-%d-%v decrypt %d bytes", bits, mode, n), got, err, pt)
			}
		}
		// Core algorithms: CBC with zero IV (10/11), CMAC (18), derivation (99).
		pt := random(t, 48)
		got, err := cl.AESCBC(ctx, id, true, pt)
		want := refAES(t, hsm.ModeCBC, key, nil, nil, pt, true)
		wantBytes(t, fmt.Sprintf("AES-%d P2 10", bits), got, err, want)
		got, err = cl.AESCBC(ctx, id, false, want)
		wantBytes(t, fmt.Sprintf("AES-%d P2 11", bits), got, err, pt)
		for _, n := range []int{0, 1, 16, 33, 1000} {
			msg := random(t, n)
			wantMAC, _ := dkek.CMAC(key, msg)
			got, err := cl.CMAC(ctx, id, msg)
			wantBytes(t, fmt.Sprintf("AES-%d CMAC %d bytes", bits, n), got, err, wantMAC)
		}
		info := random(t, 40)
		wantD := make([]byte, 40)
		if _, err := hkdf.New(sha256.New, key, nil, info).Read(wantD); err != nil {
			t.Fatal(err)
		}
		got, err = cl.DeriveAES(ctx, id, info)
		wantBytes(t, fmt.Sprintf("AES-%d P2 99", bits), got, err, wantD)
		id++
	}
	for _, bits := range []int{256, 512} {
		key := random(t, bits/8)
		importKey(t, cl, k, id, key, nil)
		for _, n := range []int{16, 17, 100, 4096} {
			pt, tweak := random(t, n), append(random(t, 8), make([]byte, 8)...)
			p := hsm.CipherParams{IV: tweak}
			if n%16 != 0 {
				// x/crypto/xts has no ciphertext stealing: device round trip only.
				ct, err := cl.AESEncrypt(ctx, id, bits, hsm.ModeXTS, pt, p)
				if err != nil || len(ct) != n {
					t.Fatalf("XTS-%d %d bytes: %d bytes, %v", bits, n, len(ct), err)
				}
				got, err := cl.AESDecrypt(ctx, id, bits, hsm.ModeXTS, ct, p)
				wantBytes(t, fmt.Sprintf("XTS-%d round trip %d bytes", bits, n), got, err, pt)
				continue
			}
			want := refAES(t, hsm.ModeXTS, key, tweak, nil, pt, true)
			got, err := cl.AESEncrypt(ctx, id, bits, hsm.ModeXTS, pt, p)
			wantBytes(t, fmt.Sprintf("XTS-%d encrypt %d bytes", bits, n), got, err, want)
			got, err = cl.AESDecrypt(ctx, id, bits, hsm.ModeXTS, want, p)
			wantBytes(t, fmt.Sprintf("XTS-%d decrypt %d bytes", bits, n), got, err, pt)
		}
		id++
	}
	// ChaCha20-Poly1305, HMAC, HKDF, PBKDF2, X9.63 with random 32-byte and 64-byte secrets.
	for _, n := range []int{32, 64} {
		key := random(t, n)
		importKey(t, cl, k, id, key, nil)
		if n == 32 {
			for _, l := range []int{0, 1, 64, 1500} {
				nonce, aad, pt := random(t, 12), random(t, l%23), random(t, l)
				want := refChaChaPoly(key, nonce, pt, aad)
				got, err := cl.ChaCha20Poly1305Seal(ctx, id, nonce, pt, aad)
				wantBytes(t, fmt.Sprintf("ChaCha20-Poly1305 seal %d bytes", l), got, err, want)
				got, err = cl.ChaCha20Poly1305Open(ctx, id, nonce, want, aad)
				wantBytes(t, fmt.Sprintf("ChaCha20-Poly1305 open %d bytes", l), got, err, pt)
			}
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			msg := random(t, 300)
			m := hmac.New(h.New, key)
			m.Write(msg)
			got, err := cl.HMAC(ctx, id, h, msg)
			wantBytes(t, fmt.Sprintf("HMAC-%v", h), got, err, m.Sum(nil))
			salt := random(t, 16)
			want := pbkdf2.Key(key, salt, 10, 48, h.New)
			got, err = cl.PBKDF2(ctx, id, h, salt, 10, 48)
			wantBytes(t, fmt.Sprintf("PBKDF2-%v", h), got, err, want)
			info := random(t, 10)
			got, err = cl.X963KDF(ctx, id, h, info, 100)
			wantBytes(t, fmt.Sprintf("X9.63-%v", h), got, err, refX963(h, key, info, 100))
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			salt, info := random(t, 20), random(t, 30)
			want := make([]byte, 1024)
			if _, err := hkdf.New(h.New, key, salt, info).Read(want); err != nil {
				t.Fatal(err)
			}
			got, err := cl.HKDF(ctx, id, h, salt, info, len(want))
			wantBytes(t, fmt.Sprintf("HKDF-%v", h), got, err, want)
		}
		id++
	}
}

// Generated keys of every size: device encryption, then device decryption, in every mode the
// size allows; extended APDUs up to the largest GCM input that fits 65535 command bytes.
func TestSymGeneratedRoundTrips(t *testing.T) {
	cl, _ := symCard(t)
	ctx := genCtx(t)
	for i, bits := range []int{128, 192, 256, 512} {
		id := byte(0x10 + i)
		if err := cl.GenerateAESKey(ctx, id, bits, hsm.KeyOptions{}); err != nil {
			t.Fatal(err)
		}
		modes := []hsm.AESMode{hsm.ModeECB, hsm.ModeCBC, hsm.ModeCFB, hsm.ModeOFB, hsm.ModeCTR, hsm.ModeGCM, hsm.ModeCCM}
		if bits == 512 {
			modes = []hsm.AESMode{hsm.ModeXTS}
		}
		for _, mode := range modes {
			n := 4096
			p := hsm.CipherParams{IV: random(t, 16)}
			switch mode {
			case hsm.ModeECB:
				n, p.IV = 16, nil
			case hsm.ModeGCM:
				p.IV, p.AAD = random(t, 12), random(t, 33)
			case hsm.ModeCCM:
				p.IV, p.AAD = random(t, 13), random(t, 33)
			}
			pt := random(t, n)
			ct, err := cl.AESEncrypt(ctx, id, bits, mode, pt, p)
			if err != nil {
				t.Fatalf("AES-%d-%v encrypt: %v", bits, mode, err)
			}
			if bytes.Equal(ct[:16], pt[:16]) {
				t.Fatalf("AES-%d-%v: ciphertext equals plaintext", bits, mode)
			}
			got, err := cl.AESDecrypt(ctx, id, bits, mode, ct, p)
			wantBytes(t, fmt.Sprintf("AES-%d-%v round trip", bits, mode), got, err, pt)
		}
		if bits == 256 {
			// The same key answers CMAC, HMAC and ChaCha20-Poly1305 consistently.
			nonce, pt := random(t, 12), random(t, 100)
			ct, err := cl.ChaCha20Poly1305Seal(ctx, id, nonce, pt, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cl.ChaCha20Poly1305Open(ctx, id, nonce, ct, nil)
			wantBytes(t, "ChaCha20-Poly1305 round trip", got, err, pt)
			// Large data: the biggest GCM input whose decryption request still fits one vpcd frame.
			big := random(t, 65535-9-11-4-14-16) // vpcd frame: header, Lc, Le; 06, 81 82 xxxx, 82 0C; the tag on the way back
			p := hsm.CipherParams{IV: random(t, 12)}
			start := time.Now()
			ct, err = cl.AESEncrypt(ctx, id, bits, hsm.ModeGCM, big, p)
			enc := time.Since(start)
			if err != nil {
				t.Fatalf("GCM %d bytes: %v", len(big), err)
			}
			start = time.Now()
			got, err = cl.AESDecrypt(ctx, id, bits, hsm.ModeGCM, ct, p)
			dec := time.Since(start)
			wantBytes(t, "GCM 65 KB round trip", got, err, big)
			t.Logf("AES-256-GCM %d bytes through the emulator: encrypt %v (%.1f MB/s), decrypt %v",
				len(big), enc, float64(len(big))/enc.Seconds()/1e6, dec)
		}
	}
}

// cipherTLVs is the data of an extended CIPHER SYMMETRIC (spec 1.6) with one-byte lengths, as
// pypicohsm writes it: 06 oid, then 81 in, 82 iv and 83 aad where not nil.
func cipherTLVs(oid, in, iv, aad []byte) []byte {
	d := append([]byte{0x06, byte(len(oid))}, oid...)
	if in != nil {
		d = append(d, 0x81, byte(len(in)))
		d = append(d, in...)
	}
	if iv != nil {
		d = append(d, 0x82, byte(len(iv)))
		d = append(d, iv...)
	}
	if aad != nil {
		d = append(d, 0x83, byte(len(aad)))
		d = append(d, aad...)
	}
	return d
}

// Bad inputs, each with its status word and no data (spec 1.3-1.6, 0.3).
func TestSymErrors(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	importKey(t, cl, k, 1, random(t, 16), nil)
	importKey(t, cl, k, 2, random(t, 64), nil)
	importKey(t, cl, k, 3, random(t, 32), nil)
	importKey(t, cl, k, 4, random(t, 20), nil) // a generic secret
	if _, err := cl.GenerateEC(ctx, 5, "secp256r1", hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	aesOID := func(mode hsm.AESMode, bits int) []byte { o, _ := hsm.AESOID(mode, bits); return o }
	ext := cipherTLVs
	gcmCT, err := cl.AESEncrypt(ctx, 1, 128, hsm.ModeGCM, []byte("secret message"), hsm.CipherParams{IV: make([]byte, 12)})
	if err != nil {
		t.Fatal(err)
	}
	badGCM := bytes.Clone(gcmCT)
	badGCM[len(badGCM)-1] ^= 1
	ccmCT, err := cl.AESEncrypt(ctx, 1, 128, hsm.ModeCCM, []byte("secret message"), hsm.CipherParams{IV: make([]byte, 12)})
	if err != nil {
		t.Fatal(err)
	}
	badCCM := bytes.Clone(ccmCT)
	badCCM[0] ^= 1
	chachaOID := mustHex("2A864886F70D0109100312")
	chCT, err := cl.ChaCha20Poly1305Seal(ctx, 3, make([]byte, 12), []byte("secret message"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   byte
		alg  hsm.Algorithm
		data []byte
		ne   int
		sw   uint16
	}{
		{"CBC IV of 15 bytes", 1, 0x51, ext(aesOID(hsm.ModeCBC, 128), make([]byte, 16), make([]byte, 15), nil), 0, 0x6700},
		{"CTR IV of 17 bytes", 1, 0x51, ext(aesOID(hsm.ModeCTR, 128), make([]byte, 16), make([]byte, 17), nil), 0, 0x6700},
		{"GCM without nonce", 1, 0x51, ext(aesOID(hsm.ModeGCM, 128), make([]byte, 16), nil, nil), 0, 0x6700},
		{"CCM nonce of 6 bytes", 1, 0x51, ext(aesOID(hsm.ModeCCM, 128), make([]byte, 16), make([]byte, 6), nil), 0, 0x6700},
		{"CCM nonce of 14 bytes", 1, 0x51, ext(aesOID(hsm.ModeCCM, 128), make([]byte, 16), make([]byte, 14), nil), 0, 0x6700},
		{"ChaCha nonce of 11 bytes", 3, 0x51, ext(chachaOID, make([]byte, 16), make([]byte, 11), nil), 0, 0x6700},
		{"ChaCha without nonce", 3, 0x51, ext(chachaOID, make([]byte, 16), nil, nil), 0, 0x6700},
		{"GCM tag mismatch", 1, 0x52, ext(aesOID(hsm.ModeGCM, 128), badGCM, make([]byte, 12), nil), 0, 0x6400},
		{"GCM wrong AAD", 1, 0x52, ext(aesOID(hsm.ModeGCM, 128), gcmCT, make([]byte, 12), []byte("x")), 0, 0x6400},
		{"GCM shorter than its tag", 1, 0x52, ext(aesOID(hsm.ModeGCM, 128), make([]byte, 15), make([]byte, 12), nil), 0, 0x6700},
		{"CCM tag mismatch", 1, 0x52, ext(aesOID(hsm.ModeCCM, 128), badCCM, make([]byte, 12), nil), 0, 0x6400},
		{"ChaCha wrong AAD", 3, 0x52, ext(chachaOID, chCT, make([]byte, 12), []byte("aaD")), 0, 0x6700},
		{"ChaCha wrong nonce", 3, 0x52, ext(chachaOID, chCT, append(make([]byte, 11), 1), []byte("aad")), 0, 0x6700},
		{"P2 10, 15 bytes", 1, 0x10, make([]byte, 15), 15, 0x6700},
		{"P2 11, 17 bytes", 1, 0x11, make([]byte, 17), 17, 0x6700},
		{"extended CBC, 17 bytes", 1, 0x51, ext(aesOID(hsm.ModeCBC, 128), make([]byte, 17), nil, nil), 0, 0x6400},
		{"ECB, two blocks", 1, 0x51, ext(aesOID(hsm.ModeECB, 128), make([]byte, 32), nil, nil), 0, 0x6700},
		{"XTS, 15 bytes", 3, 0x51, ext(mustHex("2B6F028C5300000101"), make([]byte, 15), nil, nil), 0, 0x6700},
		{"AES-256 OID, 128-bit key", 1, 0x51, ext(aesOID(hsm.ModeCBC, 256), make([]byte, 16), nil, nil), 0, 0x6700},
		{"AES-128-XTS OID, 64-byte key", 2, 0x51, ext(mustHex("2B6F028C5300000101"), make([]byte, 16), nil, nil), 0, 0x6700},
		{"CMAC, 64-byte key", 2, 0x18, []byte("m"), 16, 0x6700},
		{"P2 10, 64-byte key", 2, 0x10, make([]byte, 16), 16, 0x6400},
		{"AES mode, 20-byte secret", 4, 0x51, ext(aesOID(hsm.ModeCTR, 128), make([]byte, 16), nil, nil), 0, 0x6700},
		{"ChaCha, 16-byte key", 1, 0x51, ext(chachaOID, make([]byte, 16), make([]byte, 12), nil), 0, 0x6700},
		{"unknown OID", 1, 0x51, ext(mustHex("2A864886F70D010101"), make([]byte, 16), nil, nil), 0, 0x6700},
		{"AES key-wrap arc", 1, 0x51, ext(mustHex("608648016503040105"), make([]byte, 16), nil, nil), 0, 0x6700},
		{"HKDF RFC 8619 arc 1C", 1, 0x51, ext(mustHex("2A864886F70D010910031C"), []byte("i"), nil, nil), 32, 0x6700},
		{"HMAC unknown hash", 1, 0x51, ext(mustHex("2A864886F70D020C"), []byte("m"), nil, nil), 0, 0x6700},
		{"HD cipher without node", 1, 0x51, ext(mustHex("2B0601040183A878058D6B"), []byte("m"), nil, nil), 0, 0x6A80},
		{"no OID", 1, 0x51, []byte{0x81, 0x01, 0x00}, 0, 0x6700},
		{"empty OID", 1, 0x51, []byte{0x06, 0x00, 0x81, 0x01, 0x00}, 0, 0x6700},
		{"malformed TLV", 1, 0x51, []byte{0x06, 0x09, 0x60}, 0, 0x6700},
		{"HKDF output 2029 bytes", 3, 0x51, ext(mustHex("2A864886F70D010910031D"), []byte("i"), nil, nil), 2029, 0x6700},
		{"PBKDF2 0 iterations", 3, 0x51, ext(mustHex("2A864886F70D01050C"), mustHex("0401AA020100"), nil, nil), 32, 0x6700},
		{"PBKDF2 unknown PRF", 3, 0x51, ext(mustHex("2A864886F70D01050C"), mustHex("0401AA020101300806062A864886F70D"), nil, nil), 32, 0x6700},
		{"P2 99, no data", 1, 0x99, nil, 16, 0x6700},
		{"unknown P2", 1, 0x12, []byte{0}, 16, 0x6B00},
		{"missing key", 0x77, 0x18, []byte("m"), 16, 0x6A82},
		{"EC key for CMAC", 5, 0x18, []byte("m"), 16, 0x6A81},
		{"EC key for AES-GCM", 5, 0x51, ext(aesOID(hsm.ModeGCM, 128), make([]byte, 16), make([]byte, 12), nil), 0, 0x6A81},
	} {
		got, err := cl.CipherSym(ctx, tc.id, tc.alg, tc.data, tc.ne)
		wantSW(t, tc.name, got, err, tc.sw)
	}
	// An AES key cannot sign or decipher.
	got, err := cl.Sign(ctx, 1, hsm.AlgECDSA, make([]byte, 32))
	wantSW(t, "AES key for SIGN", got, err, 0x6A81)
	got, err = cl.Decipher(ctx, 1, hsm.AlgECDH, make([]byte, 65))
	wantSW(t, "AES key for DECIPHER", got, err, 0x6A81)
	// Generation into key 00 (the device key).
	var se apdu.StatusError
	resp, err := cl.Transmit(ctx, apdu.Command{CLA: 0x00, INS: 0x48, P1: 0x00, P2: 0xB2})
	if !errors.As(err, &se) || se.SW != 0x6A86 || len(resp) != 0 {
		t.Fatalf("generate into key 00: %v", err)
	}
	// Without the PIN: 6982 before anything else.
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = cl.CMAC(ctx, 1, []byte("m"))
	wantSW(t, "CMAC without PIN", got, err, 0x6982)
	err = cl.GenerateAESKey(ctx, 9, 128, hsm.KeyOptions{})
	wantSW(t, "generate without PIN", nil, err, 0x6982)
}

// Allowed-algorithm lists and usage counters (ext. spec 4.4, 4.5) on symmetric keys: only
// successful operations count; a refused or failed operation leaves the counter alone.
func TestSymKeyPolicy(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	two := uint32(2)
	if err := cl.GenerateAESKey(ctx, 1, 128, hsm.KeyOptions{UsageCounter: &two}); err != nil {
		t.Fatal(err)
	}
	if err := cl.GenerateAESKey(ctx, 2, 256, hsm.KeyOptions{Algorithms: []byte{0x51, 0x52}}); err != nil {
		t.Fatal(err)
	}
	importKey(t, cl, k, 3, random(t, 16), []byte{0x18})

	got, err := cl.CipherSym(ctx, 1, 0x12, []byte{0}, 16) // refused: no use spent
	wantSW(t, "unknown P2", got, err, 0x6B00)
	bad := append([]byte{0x06, 0x09}, mustHex("608648016503040106")...)
	bad = append(bad, 0x81, 0x11)
	bad = append(bad, make([]byte, 17)...)
	bad = append(bad, 0x82, 0x0C)
	bad = append(bad, make([]byte, 12)...)
	got, err = cl.CipherSym(ctx, 1, hsm.AlgCipherDecrypt, bad, 0) // tag mismatch: no use spent
	wantSW(t, "GCM tag mismatch", got, err, 0x6400)
	for i := 0; i < 2; i++ {
		if _, err := cl.CMAC(ctx, 1, []byte("m")); err != nil {
			t.Fatalf("use %d of 2: %v", i+1, err)
		}
	}
	got, err = cl.CMAC(ctx, 1, []byte("m"))
	wantSW(t, "third use of a 2-use key", got, err, 0x6984)

	got, err = cl.CMAC(ctx, 2, []byte("m"))
	wantSW(t, "CMAC with a 51/52-only key", got, err, 0x6A81)
	if _, err := cl.AESEncrypt(ctx, 2, 256, hsm.ModeCTR, []byte("m"), hsm.CipherParams{}); err != nil {
		t.Fatalf("51 on a 51/52 key: %v", err)
	}
	if _, err := cl.CMAC(ctx, 3, []byte("m")); err != nil {
		t.Fatalf("18 on an imported 18-only key: %v", err)
	}
	got, err = cl.AESCBC(ctx, 3, true, make([]byte, 16))
	wantSW(t, "10 on an imported 18-only key", got, err, 0x6A81)
	_, err = cl.WrapKey(ctx, 3)
	wantSW(t, "wrap of a key whose list lacks 92", nil, err, 0x6A81)
}

// Generated AES keys are listed, described (C4 PRKD of the secret-key form, spec 1.2),
// wrapped into a type 0F blob the host decodes, unwrapped under another number with the same
// results, and deleted.
func TestSymKeyLifecycle(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	for i, bits := range []int{128, 192, 256, 512} {
		id := byte(i + 1)
		if err := cl.GenerateAESKey(ctx, id, bits, hsm.KeyOptions{}); err != nil {
			t.Fatal(err)
		}
		prkd, err := cl.ReadFile(ctx, uint16(hsm.PrefixPRKD)<<8|uint16(id))
		if err != nil {
			t.Fatal(err)
		}
		want := mustHex(fmt.Sprintf("A8 1E 30 02 0C 00 30 08 04 01 %02X 03 03 07 C0 10 A0 06 30 04 02 02 %04X A1 06 30 04 30 02 04 00", '0'+id, bits))
		if !bytes.Equal(prkd, want) {
			t.Fatalf("PRKD of key %d:\n got %X\nwant %X", id, prkd, want)
		}
		blob, err := cl.WrapKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := k.Unwrap(blob)
		if err != nil {
			t.Fatalf("host decode: %v", err)
		}
		key, ok := dec.Key.(dkek.AESKey)
		if dec.Type != dkek.TypeAES || !ok || len(key) != bits/8 {
			t.Fatalf("blob type %02X key %T of %d bytes", dec.Type, dec.Key, len(key))
		}
		if err := cl.UnwrapKey(ctx, id+0x20, blob, i%2 == 1); err != nil {
			t.Fatal(err)
		}
		mode, kb := hsm.ModeCTR, bits
		if bits == 512 {
			mode = hsm.ModeXTS
		}
		pt := random(t, 64)
		a, err := cl.AESEncrypt(ctx, id, kb, mode, pt, hsm.CipherParams{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := cl.AESEncrypt(ctx, id+0x20, kb, mode, pt, hsm.CipherParams{})
		wantBytes(t, "unwrapped copy", b, err, a)
		if bits != 512 {
			wantBytes(t, "host copy", a, nil, refAES(t, mode, key, nil, nil, pt, true))
		} else {
			wantBytes(t, "host copy", a, nil, refAES(t, mode, key, make([]byte, 16), nil, pt, true))
		}
	}
	objs, err := cl.ListObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint16{0xCC01, 0xCC04, 0xCC21, 0xC401, 0xC404} {
		found := false
		for _, o := range objs {
			found = found || o == id
		}
		if !found {
			t.Fatalf("%04X not listed in %X", id, objs)
		}
	}
	if err := cl.DeleteKey(ctx, 1); err != nil {
		t.Fatal(err)
	}
	got, err := cl.CMAC(ctx, 1, []byte("m"))
	wantSW(t, "CMAC after delete", got, err, 0x6A82)
}

// EC private key derivation (spec 1.8): d' = (d + a) mod p; the derived key signs under the
// public key Go computes, and its wrapped blob carries d'.
func TestDeriveEC(t *testing.T) {
	cl, k := symCard(t)
	ctx := genCtx(t)
	src, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := k.Wrap(src, dkek.WrapOptions{Algorithms: []byte{0x98, 0x92, 0x70}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.UnwrapKey(ctx, 1, blob, false); err != nil {
		t.Fatal(err)
	}
	a := random(t, 32)
	if err := cl.DeriveEC(ctx, 1, 2, a); err != nil {
		t.Fatal(err)
	}
	p := elliptic.P256().Params()
	d := new(big.Int).Add(src.D, new(big.Int).SetBytes(a))
	d.Mod(d, p.P)
	if d.Cmp(p.N) >= 0 || d.Sign() == 0 {
		t.Skip("d + a landed in [n, p): negligible, try again")
	}
	want := &ecdsa.PublicKey{Curve: elliptic.P256()}
	want.X, want.Y = elliptic.P256().ScalarBaseMult(d.FillBytes(make([]byte, 32)))
	digest := sha256.Sum256([]byte("derived"))
	sig, err := cl.Sign(ctx, 2, hsm.AlgECDSA, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(want, digest[:], sig) {
		t.Fatal("the derived key's signature does not verify under (d + a)·G")
	}
	wb, err := cl.WrapKey(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := k.Unwrap(wb)
	if err != nil {
		t.Fatal(err)
	}
	if ek := dec.Key.(*dkek.ECKey); new(big.Int).SetBytes(ek.D).Cmp(d) != 0 {
		t.Fatalf("derived d %X, want %X", ek.D, d)
	}

	// Errors.
	tx := func(p1, p2 byte, data []byte) error {
		_, err := cl.Transmit(ctx, apdu.Command{CLA: 0x80, INS: hsm.InsDeriveEC, P1: p1, P2: p2, Data: data})
		return err
	}
	if _, err := cl.GenerateEC(ctx, 3, "secp256r1", hsm.KeyOptions{Algorithms: []byte{0x70}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.GenerateAESKey(ctx, 4, 256, hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		p1, p2 byte
		data   []byte
		sw     uint16
	}{
		{"empty data", 1, 5, nil, 0x6700},
		{"first byte not 98", 1, 5, []byte{0x99, 0x01}, 0x6700},
		{"missing source", 0x70, 5, []byte{0x98, 0x01}, 0x6A82},
		{"98 not in the list", 3, 5, []byte{0x98, 0x01}, 0x6A81},
		{"AES source", 4, 5, []byte{0x98, 0x01}, 0x6A81},
		{"destination 00", 1, 0, []byte{0x98, 0x01}, 0x6A86},
		{"d + a = 0 mod p", 1, 5, append([]byte{0x98}, new(big.Int).Sub(p.P, src.D).Bytes()...), 0x6984},
	} {
		wantSW(t, tc.name, nil, tx(tc.p1, tc.p2, tc.data), tc.sw)
	}
}
