package conformance

// The extension rows of the bad-input table (badinput_test.go): every command of
// pico-hsm-extensions.md the emulator implements, each documented error with its status word,
// and the extensions' own status-word table (0.3) tied to them by TestBadInputCoverage.
//
// Where this firmware answers differently from the reference on purpose, the row says so in
// a comment. The policy status words are those of the asymmetric keys (keys.h): an algorithm
// the key does not allow is 6A81 (reference 6985), a used-up usage counter 6984 (reference
// 6A84).

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Keys, HD masters and the key domain the extension rows use on the main card.
const (
	badKeyAES       = 0x10 // AES-128
	badKeyAES256    = 0x11 // AES-256 (a 32-byte key, as ChaCha20-Poly1305 wants)
	badKeyAESUsedUp = 0x12 // AES-128 with a usage counter of 1, spent
	badKeyAESGCM    = 0x13 // AES-128 restricted to the extended cipher (51, 52)
	badKeyXKEK      = 0x14 // P-256 XKEK key of domain badXKEKDomain, its DKEK derived
	badHDMaster     = 0    // SLIP-10 P-256 master
	badHDSym        = 1    // SLIP-21 master
	badXKEKDomain   = 1    // joined a group whose key is badExt.gsk
)

// badExt is what setupExt leaves for the rows.
type badExt struct {
	devCHR   string            // the device's name (CHR of the 2F02 certificate)
	devPoint []byte            // the device key, which group keys sign memberships for
	gsk      *ecdsa.PrivateKey // group key of the XKEK domain
	gskCert  []byte            // its self-signed certificate (with domain parameters)
	uid      []byte            // the group's UID
}

// setupExt adds to the main card: the AES keys, two HD masters, and an XKEK domain whose
// DKEK was derived with one peer.
func (b *badCard) setupExt(t *testing.T) {
	t.Helper()
	ctx := genCtx(t)
	cl := b.cl
	one := uint32(1)
	for _, k := range []struct {
		id   byte
		bits int
		opts hsm.KeyOptions
	}{
		{badKeyAES, 128, hsm.KeyOptions{}},
		{badKeyAES256, 256, hsm.KeyOptions{}},
		{badKeyAESUsedUp, 128, hsm.KeyOptions{UsageCounter: &one}},
		{badKeyAESGCM, 128, hsm.KeyOptions{Algorithms: []byte{byte(hsm.AlgCipherEncrypt), byte(hsm.AlgCipherDecrypt)}}},
	} {
		if err := cl.GenerateAESKey(ctx, k.id, k.bits, k.opts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.CMAC(ctx, badKeyAESUsedUp, []byte("used up")); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateHDMaster(ctx, hsm.HDP256, badHDMaster, pattern(11, 32)); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateHDMaster(ctx, hsm.HDSymmetric, badHDSym, pattern(12, 32)); err != nil {
		t.Fatal(err)
	}
	chain, err := cl.DeviceChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &b.ext
	e.devCHR, e.devPoint = chain[0].CHR, chain[0].PublicKey.Point
	// The group key's certificate carries its curve, so the card needs no CA for it (4.3 step 2).
	e.gsk, e.gskCert = selfSignedP256(t, "ZZBDGS00001")
	if _, err := cl.CreateXKEKDomain(ctx, badXKEKDomain, b.membership(t, e.gsk, e.gskCert)); err != nil {
		t.Fatal(err)
	}
	g, err := cl.GenerateXKEKKey(ctx, badKeyXKEK, badXKEKDomain, "secp256r1")
	if err != nil {
		t.Fatal(err)
	}
	e.uid = hsm.KeyDomainUID(g.Request.Request)
	peer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := cl.DeriveXKEK(ctx, badKeyXKEK, peerCert(t, peer, e.uid)); err != nil {
		t.Fatal(err)
	}
}

// selfSignedP256 is a new P-256 key and its self-signed certificate, with domain parameters.
func selfSignedP256(t *testing.T, chr string) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, issueGo(t, cvc.Template{CAR: chr, CHR: chr, Key: pubOf(t, k), WithDomain: true}, k).Raw
}

// membership is the data of 80 52 02 (spec 4.3 step 2): the group key certificate request
// and signer's 54 signature for this device.
func (b *badCard) membership(t *testing.T, signer *ecdsa.PrivateKey, gskCert []byte) []byte {
	return tlv.Append(groupRequest(gskCert, "ZZBDGS00001"), 0x54, membershipSig(t, signer, b.ext.devPoint))
}

// newPKACard is a card initialised with PKA, 1 of 2 holders, one of them registered, keys
// replaceable (option 0008), and an EC key (made in INITIALIZE's session, which needs no
// holder).
func newPKACard(t *testing.T) *badCard {
	t.Helper()
	c := startCard(t)
	cl := client(c)
	selectApplet(t, c)
	expectSW(t, c, pkaInitAPDU(0x0009, 2, 1), 0x9000)
	g, err := cl.GenerateEC(genCtx(t), badKeyEC, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := ecHolder(t, "ZZBDHOLDER00001", elliptic.P256())
	expectSW(t, c, manageAPDU(0, 0, h.req), 0x9000)
	return &badCard{c: c, cl: cl, ecPub: g.Public.(*ecdsa.PublicKey), holders: []hsm.PKAHolder{h.holder()}}
}

func cipherRow(id, alg byte, data []byte) []byte  { return keyAPDU(hsm.InsCipherSym, id, alg, data) }
func deriveRow(src, dst byte, data []byte) []byte { return keyAPDU(hsm.InsDeriveEC, src, dst, data) }
func psoRow(cert []byte) []byte                   { return cmd(mustHex("00 2A 00 BE"), lc(cert)) }

// withLe replaces the 2-byte extended Le at the end of a (keyAPDU) with ne.
func withLe(a []byte, ne int) []byte {
	return append(a[:len(a)-2:len(a)-2], byte(ne>>8), byte(ne))
}

// selectHD keeps an HD node for the row (80 4A 10, spec 2.6).
func selectHD(path []byte) func(t *testing.T, b *badCard) {
	return func(t *testing.T, b *badCard) {
		if err := b.cl.SelectHD(testCtx(t), path); err != nil {
			t.Fatal(err)
		}
	}
}

// selectVerifier makes the device certificate the current verification key (MSE SET DST).
func selectVerifier(t *testing.T, b *badCard) {
	if err := b.cl.SelectVerifier(testCtx(t), b.ext.devCHR); err != nil {
		t.Fatal(err)
	}
}

// extBadInputRows are the rows of pico-hsm-extensions.md, in the order they must run: the
// first secure-lock row needs no key agreement yet, the "every slot full" PKA row fills the
// slot the rows before it find empty, and the last row enrols the card and fills its trust
// store.
func extBadInputRows() []badRow {
	digest := make([]byte, 32)
	seed := pattern(13, 32)
	oid := func(mode hsm.AESMode, bits int) []byte { o, _ := hsm.AESOID(mode, bits); return o }
	oidHD := mustHex("2B0601040183A878058D6B")
	oidChaCha := mustHex("2A864886F70D0109100312")
	ecNode := hsm.BIP32Path(badHDMaster, []uint32{1})
	symNode, _ := hsm.SLIP21Path(badHDSym, []byte("bad input"))
	hdSign := func(slot byte) []byte { return signRow(slot, byte(hsm.AlgHDSign), digest) }
	hdCipher := func(data []byte) []byte {
		return cipherRow(0, byte(hsm.AlgCipherEncrypt), cipherTLVs(oidHD, data, []byte{}, []byte("label")))
	}
	p256 := hsm.CurveByName("secp256r1")
	xkekTemplate := func(meta string) []byte {
		return gakpAPDU(0x20, 0x00, cmd(tmpl(berTLV(0x06, cvc.OIDECDSASHA256), berTLV(0x81, p256.P), berTLV(0x82, p256.A), berTLV(0x83, p256.B),
			berTLV(0x84, p256.G), berTLV(0x85, p256.N), mustHex("870101")), mustHex(meta)))
	}
	eph, _ := ecdh.P256().GenerateKey(rand.Reader)
	gaPoint := eph.PublicKey().Bytes()
	offCurve := append([]byte(nil), gaPoint...)
	offCurve[64] ^= 1
	peer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	return []badRow{
		// 1.2 GENERATE SYMMETRIC KEY. Any P2 other than B0..B3 is AES-256 (spec), so the
		// wrong parameter is P1 00, the device key (decision 9 #21).
		{stateLocked, "GENERATE SYMMETRIC KEY", "without the user PIN", mustHex("00 48 20 B0"), 0x6982, nil, nil},
		{stateUser, "GENERATE SYMMETRIC KEY", "key 00 (the device key)", mustHex("00 48 00 B2"), 0x6A86, nil, nil},
		{stateUser, "GENERATE SYMMETRIC KEY", "usage counter of 5 bytes", mustHex("00 48 20 B0 07 90 05 0000000001"), 0x6A80, nil, nil},
		{stateUser, "GENERATE SYMMETRIC KEY", "truncated attribute TLV", mustHex("00 48 20 B0 03 91 04 10"), 0x6A80, nil, nil},
		{stateUser, "GENERATE SYMMETRIC KEY", "attributes over 1024 bytes", cmd(mustHex("00 48 20 B0 00 04 01"), pattern(3, 1025)), 0x6700, nil, nil},

		// 1.3-1.6 CIPHER SYMMETRIC.
		{stateLocked, "CIPHER SYMMETRIC", "without the user PIN", cipherRow(badKeyAES, byte(hsm.AlgAESCMAC), []byte("m")), 0x6982, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "unknown algorithm P2 12", cipherRow(badKeyAES, 0x12, []byte("m")), 0x6B00, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "missing key", cipherRow(badKeyMissing, byte(hsm.AlgAESCMAC), []byte("m")), 0x6A82, nil, nil},
		// Not an AES key: 6A81, as SIGN answers a key of the wrong type (keys.h); the spec
		// names no status word for it.
		{stateUser, "CIPHER SYMMETRIC", "EC key (wrong key type)", cipherRow(badKeyEC, byte(hsm.AlgAESCMAC), []byte("m")), 0x6A81, nil, nil},
		// Policy status words as for asymmetric keys: reference 6985 / 6A84.
		{stateUser, "CIPHER SYMMETRIC", "P2 18 not in the key's list", cipherRow(badKeyAESGCM, byte(hsm.AlgAESCMAC), []byte("m")), 0x6A81, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "usage counter used up", cipherRow(badKeyAESUsedUp, byte(hsm.AlgAESCMAC), []byte("m")), 0x6984, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 10, 15 bytes", cipherRow(badKeyAES, byte(hsm.AlgAESCBCEncrypt), pattern(1, 15)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 11, 17 bytes", cipherRow(badKeyAES, byte(hsm.AlgAESCBCDecrypt), pattern(1, 17)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 99 without data", cipherRow(badKeyAES, byte(hsm.AlgAESDerive), nil), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, unknown OID", cipherRow(badKeyAES, 0x51, cipherTLVs(mustHex("2A864886F70D010101"), pattern(1, 16), nil, nil)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, no OID", cipherRow(badKeyAES, 0x51, mustHex("81 01 00")), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, malformed TLV", cipherRow(badKeyAES, 0x51, mustHex("06 09 60")), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, AES-256 OID with a 128-bit key", cipherRow(badKeyAES, 0x51, cipherTLVs(oid(hsm.ModeCBC, 256), pattern(1, 16), nil, nil)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, ECB of two blocks", cipherRow(badKeyAES, 0x51, cipherTLVs(oid(hsm.ModeECB, 128), pattern(1, 32), nil, nil)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, GCM without a nonce", cipherRow(badKeyAES, 0x51, cipherTLVs(oid(hsm.ModeGCM, 128), pattern(1, 16), nil, nil)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, CBC of 17 bytes", cipherRow(badKeyAES, 0x51, cipherTLVs(oid(hsm.ModeCBC, 128), pattern(1, 17), nil, nil)), 0x6400, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, HKDF output over 2028 bytes (Le 2029)",
			withLe(cipherRow(badKeyAES, 0x51, cipherTLVs(mustHex("2A864886F70D010910031D"), []byte("info"), nil, nil)), 2029), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 51, PBKDF2 with 0 iterations", cipherRow(badKeyAES, 0x51, cipherTLVs(mustHex("2A864886F70D01050C"), mustHex("0401AA020100"), nil, nil)), 0x6700, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 52, GCM tag mismatch", cipherRow(badKeyAES, 0x52, cipherTLVs(oid(hsm.ModeGCM, 128), pattern(1, 32), pattern(2, 12), nil)), 0x6400, nil, nil},
		{stateUser, "CIPHER SYMMETRIC", "P2 52, ChaCha20-Poly1305 tag mismatch", cipherRow(badKeyAES256, 0x52, cipherTLVs(oidChaCha, pattern(1, 32), pattern(2, 12), nil)), 0x6700, nil, nil},

		// 1.8 DERIVE EC KEY (76). Policy status words as for asymmetric keys: reference 6985 / 6A84.
		{stateLocked, "DERIVE EC KEY", "without the user PIN", deriveRow(badKeyEC, 0x30, []byte{0x98, 0x01}), 0x6982, nil, nil},
		{stateUser, "DERIVE EC KEY", "no data", mustHex("80 76 01 30"), 0x6700, nil, nil},
		{stateUser, "DERIVE EC KEY", "first byte not 98", deriveRow(badKeyEC, 0x30, []byte{0x99, 0x01}), 0x6700, nil, nil},
		{stateUser, "DERIVE EC KEY", "destination 00 (the device key)", deriveRow(badKeyEC, 0x00, []byte{0x98, 0x01}), 0x6A86, nil, nil},
		{stateUser, "DERIVE EC KEY", "missing source", deriveRow(badKeyMissing, 0x30, []byte{0x98, 0x01}), 0x6A82, nil, nil},
		{stateUser, "DERIVE EC KEY", "AES source (wrong key type)", deriveRow(badKeyAES, 0x30, []byte{0x98, 0x01}), 0x6A81, nil, nil},
		{stateUser, "DERIVE EC KEY", "RSA source (wrong key type)", deriveRow(badKeyRSA, 0x30, []byte{0x98, 0x01}), 0x6A81, nil, nil},
		{stateUser, "DERIVE EC KEY", "98 not in the source's list", deriveRow(badKeyECDSA, 0x30, []byte{0x98, 0x01}), 0x6A81, nil, nil},
		{stateUser, "DERIVE EC KEY", "source's usage counter used up", deriveRow(badKeyUsedUp, 0x30, []byte{0x98, 0x01}), 0x6984, nil, nil},

		// 2 HD keys (4A), the HD signature (68 A0) and the HD cipher (78 with the HD OID).
		{stateLocked, "HD KEYS", "create a master without the user PIN", cmd(mustHex("80 4A 02 05 20"), seed), 0x6982, nil, nil},
		{stateUser, "HD KEYS", "master id 10", cmd(mustHex("80 4A 02 0A 20"), seed), 0x6A86, nil, nil},
		// The reference answers 9000 and does nothing (decision 9 #15).
		{stateUser, "HD KEYS", "unknown P1", mustHex("80 4A 05 00 03 020100"), 0x6A86, nil, nil},
		{stateUser, "HD KEYS", "derive with P2 01", cmd(mustHex("80 4A 0A 01"), lc(ecNode)), 0x6A86, nil, nil},
		{stateUser, "HD KEYS", "derive an empty path", mustHex("80 4A 0A 00"), 0x6700, nil, nil},
		{stateUser, "HD KEYS", "derive from an absent master", mustHex("80 4A 0A 00 03 020109"), 0x6400, nil, nil},
		{stateUser, "HD KEYS", "path starting with a label", mustHex("80 4A 0A 00 03 040141"), 0x6400, nil, nil},
		{stateUser, "HD KEYS", "3-byte child index", mustHex("80 4A 0A 00 08 020100 0203000001"), 0x6400, nil, nil},
		{stateLocked, "HD KEYS", "derive without the user PIN (the master cannot be opened)", cmd(mustHex("80 4A 0A 00"), lc(ecNode)), 0x6400, nil, nil},
		{stateUser, "HD KEYS", "HD SIGN without a selected node", hdSign(0), 0x6985, nil, nil},
		{stateUser, "HD KEYS", "HD SIGN with a SLIP-21 node", hdSign(0), 0x6985, selectHD(symNode), nil},
		{stateUser, "HD KEYS", "HD SIGN on an absent slot", hdSign(badKeyMissing), 0x6A82, selectHD(ecNode), nil},
		// Reference: 6A84.
		{stateUser, "HD KEYS", "HD SIGN on a slot whose counter is used up", hdSign(badKeyUsedUp), 0x6984, selectHD(ecNode), nil},
		// P1 is never consulted for the HD cipher; the reference checks P1's key first.
		{stateUser, "HD KEYS", "HD cipher without a node", hdCipher(pattern(5, 32)), 0x6A80, nil, nil},
		{stateUser, "HD KEYS", "HD cipher with a BIP32 node", hdCipher(pattern(5, 32)), 0x6A80, selectHD(ecNode), nil},
		{stateUser, "HD KEYS", "HD cipher of 20 bytes", hdCipher(pattern(5, 20)), 0x6700, selectHD(symNode), nil},

		// 3.1-3.4 EXTRAS.
		{stateLocked, "EXTRAS", "options without the user PIN", mustHex("80 64 06 00"), 0x6982, nil, nil},
		{stateUser, "EXTRAS", "unknown sub-command", mustHex("80 64 99 00"), 0x6A86, nil, nil},
		{stateUser, "EXTRAS", "the reference's OTP sub-command 4C (must stay unavailable)", mustHex("80 64 4C 00 02 00C0"), 0x6A86, nil, nil},
		{stateUser, "EXTRAS", "options with P2 01", mustHex("80 64 06 01"), 0x6A86, nil, nil},
		{stateUser, "EXTRAS", "options write of 2 bytes", mustHex("80 64 06 00 02 0100"), 0x6700, nil, nil},
		// An answer longer than Le is refused, never chained with 61xx.
		{stateUser, "EXTRAS", "options read with Le 1", mustHex("80 64 06 00 01"), 0x6700, nil, nil},
		{stateUser, "EXTRAS", "clock set with 7 bytes", mustHex("80 64 0A 00 07 07E8011D000C22"), 0x6700, nil, nil},
		{stateUser, "EXTRAS", "clock with P2 01", mustHex("80 64 0A 01"), 0x6A86, nil, nil},
		{stateUser, "EXTRAS", "PHY VID:PID of 3 bytes", mustHex("80 64 1B 00 03 2E8A10"), 0x6700, nil, nil},
		{stateUser, "EXTRAS", "PHY unknown field 09", mustHex("80 64 1B 09 01 00"), 0x6A86, nil, nil},
		{stateUser, "EXTRAS", "reboot with data", mustHex("80 64 FB 00 01 00"), 0x6700, nil, nil},
		// F0 is this firmware's OTP root (docs/security.md), guarded by the SO-PIN.
		{stateUser, "EXTRAS", "OTP root provisioning without the SO-PIN", otpProvisionNoSO, 0x6982, nil, nil},
		{stateUser, "EXTRAS", "OTP root provisioning with a wrong SO-PIN", otpProvisionAPDU(wrongSO), 0x63CE, func(t *testing.T, b *badCard) {
			expectSW(t, b.c, verifyAPDU(hsm.SOPIN, soPIN), 0x9000) // all 15 tries
		}, nil},
		{stateUser, "EXTRAS", "OTP root, unknown P2", mustHex("80 64 F0 02"), 0x6A86, nil, nil},

		// 3.8 Secure lock (80 64 3A). The first row needs no key agreement in this power session.
		{stateUser, "SECURE LOCK", "envelope without a key agreement", cmd(mustHex("80 64 3A 02 30"), pattern(6, 48)), 0x6986, nil, nil},
		{stateUser, "SECURE LOCK", "key agreement without a point", mustHex("80 64 3A 01"), 0x6700, nil, nil},
		{stateUser, "SECURE LOCK", "key agreement with a point off the curve", cmd(mustHex("80 64 3A 01 41"), offCurve), 0x6700, nil, nil},
		{stateUser, "SECURE LOCK", "short envelope", nil, 0x6700, nil, func(t *testing.T, b *badCard) []byte {
			env := lockEnvelope(t, b)
			return cmd(mustHex("80 64 3A 02 2F"), env[:47])
		}},
		{stateUser, "SECURE LOCK", "enable with the user PIN only", nil, 0x6982, nil, func(t *testing.T, b *badCard) []byte {
			return cmd(mustHex("80 64 3A 02 30"), lockEnvelope(t, b))
		}},

		// 3.9 Rescue applet (selected by the row; SELECT of the HSM applet ends it).
		{stateUser, "RESCUE", "CLA 00", mustHex("00 1E 01 00 00"), 0x6E00, selectRescue, nil},
		{stateUser, "RESCUE", "unknown INS", mustHex("80 CA 00 00 00"), 0x6D00, selectRescue, nil},
		{stateUser, "RESCUE", "read: unknown P1", mustHex("80 1E 07 00 00"), 0x6A86, selectRescue, nil},
		{stateUser, "RESCUE", "read with data", mustHex("80 1E 01 00 01 00"), 0x6700, selectRescue, nil},
		{stateUser, "RESCUE", "PHY record of 1 byte", mustHex("80 1C 01 00 01 00"), 0x6700, selectRescue, nil},
		{stateUser, "RESCUE", "clock set with 3 bytes", mustHex("80 1C 02 02 03 010203"), 0x6700, selectRescue, nil},
		{stateUser, "RESCUE", "reboot with data", mustHex("80 1F 00 00 01 00"), 0x6700, selectRescue, nil},
		{stateUser, "RESCUE", "clock read with P2 03", mustHex("80 1E 04 03 00"), 0x6A86, selectRescue, nil},
		// The reference answers 9000 and does nothing (decision 9 #27).
		{stateUser, "RESCUE", "write: unknown P1", mustHex("80 1C 09 00 02 0000"), 0x6A86, selectRescue, nil},
		{stateUser, "RESCUE", "attestation key (not available on these platforms)", mustHex("80 10 02 00 00"), 0x6A81, selectRescue, nil},

		// 4.2 MANAGE KEY DOMAIN (domain 0 has one share, imported; 1 is an XKEK domain; 2 and 3
		// are not created).
		{stateUser, "MANAGE KEY DOMAIN", "unknown sub-command P1", mustHex("80 52 09 00"), 0x6A86, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "domain beyond the configured count", mustHex("80 52 00 05"), 0x6A86, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "create domain 16", mustHex("80 52 01 10 01 01"), 0x6B00, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "status of a domain not created", mustHex("80 52 00 02"), 0x6A88, nil, nil},
		// The reference answers 6985 here (extensions 4.2); 6982 is what every other command
		// needing the PIN answers, and what makes Pico clients log in and retry.
		{stateLocked, "MANAGE KEY DOMAIN", "create a domain without the user PIN", mustHex("80 52 01 02 01 01"), 0x6982, nil, nil},
		{stateLocked, "MANAGE KEY DOMAIN", "clear a DKEK without the user PIN", mustHex("80 52 04 00"), 0x6982, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "create with 2 data bytes", mustHex("80 52 01 02 02 0101"), 0x6700, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "create a domain that exists", mustHex("80 52 01 00 01 01"), 0x6A86, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "share into a domain not created", cmd(mustHex("80 52 00 02 20"), pattern(9, 32)), 0x6986, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "delete a domain not created", mustHex("80 52 03 02"), 0x6A86, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "delete a domain that holds keys", mustHex("80 52 03 00"), 0x6A89, nil, nil},
		{stateUser, "MANAGE KEY DOMAIN", "delete an XKEK domain whose key exists", mustHex("80 52 03 01"), 0x6A89, nil, nil},

		// 4.3 XKEK: joining a group (52 P1 02), the XKEK key (46 with 91 84), the DKEK (62 P2 84).
		{stateLocked, "XKEK", "join without the user PIN", nil, 0x6982, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(2, b.membership(t, b.ext.gsk, b.ext.gskCert))
		}},
		{stateUser, "XKEK", "join without a 54 signature", nil, 0x6700, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(2, groupRequest(b.ext.gskCert, "ZZBDGS00001"))
		}},
		{stateUser, "XKEK", "join with a malformed group key certificate", nil, 0x6984, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(2, tlv.Append(mustHex("7F2103010203"), 0x54, membershipSig(t, b.ext.gsk, b.ext.devPoint)))
		}},
		{stateUser, "XKEK", "join signed by another key", nil, 0x6985, nil, func(t *testing.T, b *badCard) []byte {
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return joinAPDU(2, b.membership(t, other, b.ext.gskCert))
		}},
		{stateUser, "XKEK", "join domain 16", nil, 0x6B00, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(16, b.membership(t, b.ext.gsk, b.ext.gskCert))
		}},
		{stateUser, "XKEK", "join a domain beyond the configured count", nil, 0x6A86, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(5, b.membership(t, b.ext.gsk, b.ext.gskCert))
		}},
		{stateUser, "XKEK", "join a domain with DKEK shares", nil, 0x6A86, nil, func(t *testing.T, b *badCard) []byte {
			return joinAPDU(0, b.membership(t, b.ext.gsk, b.ext.gskCert))
		}},
		{stateUser, "XKEK", "join another group into an XKEK domain", nil, 0x6A86, nil, func(t *testing.T, b *badCard) []byte {
			k, cert := selfSignedP256(t, "ZZBDGS00002")
			return joinAPDU(badXKEKDomain, b.membership(t, k, cert))
		}},
		{stateUser, "XKEK", "XKEK key without a key domain (91 84, no 92)", xkekTemplate("91 01 84"), 0x6700, nil, nil},
		{stateUser, "XKEK", "XKEK key for a domain without a group", xkekTemplate("91 01 84 92 01 02"), 0x6700, nil, nil},
		{stateLocked, "XKEK", "derive without the user PIN", nil, 0x6982, nil, func(t *testing.T, b *badCard) []byte {
			return xkekDeriveAPDU(badKeyXKEK, peerCert(t, peer, b.ext.uid))
		}},
		{stateUser, "XKEK", "derive with a missing key", nil, 0x6A82, nil, func(t *testing.T, b *badCard) []byte {
			return xkekDeriveAPDU(badKeyMissing, peerCert(t, peer, b.ext.uid))
		}},
		// As the reference: an algorithm list without 84 (or none) is 6985 here, not 6A81.
		{stateUser, "XKEK", "derive with a key that is not an XKEK key", nil, 0x6985, nil, func(t *testing.T, b *badCard) []byte {
			return xkekDeriveAPDU(badKeyEC, peerCert(t, peer, b.ext.uid))
		}},
		{stateUser, "XKEK", "derive with a peer of another group", nil, 0x6A88, nil, func(t *testing.T, b *badCard) []byte {
			uid := append([]byte(nil), b.ext.uid...)
			uid[0] ^= 1
			return xkekDeriveAPDU(badKeyXKEK, peerCert(t, peer, uid))
		}},
		{stateUser, "XKEK", "derive with a peer certificate without the UID", nil, 0x6700, nil, func(t *testing.T, b *badCard) []byte {
			return xkekDeriveAPDU(badKeyXKEK, peerCert(t, peer, nil))
		}},
		{stateUser, "XKEK", "derive with a malformed peer certificate", xkekDeriveAPDU(badKeyXKEK, mustHex("7F2103010203")), 0x6984, nil, nil},
		{stateUser, "XKEK", "derive with a peer on another curve", nil, 0x6A80, nil, func(t *testing.T, b *badCard) []byte {
			p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			return xkekDeriveAPDU(badKeyXKEK, peerCert(t, p384, b.ext.uid))
		}},
		{stateUser, "XKEK", "derive another DKEK while the domain has one", nil, 0x6986, nil, func(t *testing.T, b *badCard) []byte {
			return xkekDeriveAPDU(badKeyXKEK, peerCert(t, peer, b.ext.uid))
		}},

		// 5.6 MANAGE PKA, MSE SET AT, EXTERNAL AUTHENTICATE on the main card (no PKA).
		{stateUser, "MANAGE PKA", "status without PKA", manageAPDU(0, 0, nil), 0x6A86, nil, nil},
		{stateUser, "MANAGE PKA", "register without PKA", manageAPDU(0, 0, pattern(7, 16)), 0x6A82, nil, nil},
		{stateUser, "MANAGE PKA", "slot read without PKA", manageAPDU(2, 0, nil), 0x6A86, nil, nil},
		{stateUser, "MSE SET", "AT of a holder without PKA", mseAT("ZZBDHOLDER00001"), 0x6A88, nil, nil},
		{stateUser, "EXTERNAL AUTHENTICATE", "without PKA", extAuth(pattern(7, 64)), 0x6A82, nil, nil},
		{stateUser, "EXTERNAL AUTHENTICATE", "P1 01", mustHex("00 82 01 00 02 0000"), 0x6A86, nil, nil},
		// On the PKA card (1 of 2, keys replaceable; slot 0 registered, slot 1 empty until
		// "every slot full"). Registration needs no PIN here (reference: a PIN session, else
		// 6982): sc-hsm-tool --register-public-key sends none, and a filled slot is only
		// replaced with the PIN.
		{statePKA, "MANAGE PKA", "read an empty slot", manageAPDU(2, 1, nil), 0x6A88, nil, nil},
		{statePKA, "MANAGE PKA", "read a slot beyond n", manageAPDU(2, 2, nil), 0x6A86, nil, nil},
		{statePKA, "MANAGE PKA", "register with P2 01", manageAPDU(0, 1, pattern(7, 16)), 0x6A86, nil, nil},
		{statePKA, "MANAGE PKA", "register what is not a request", manageAPDU(0, 0, mustHex("3000")), 0x6A80, nil, nil},
		{statePKALocked, "MANAGE PKA", "replace without the user PIN", nil, 0x6982, nil, func(t *testing.T, b *badCard) []byte {
			return manageAPDU(1, 0, ecHolder(t, "ZZBDHOLDER00002", elliptic.P256()).req)
		}},
		{statePKA, "MANAGE PKA", "replace a slot beyond n", nil, 0x6A86, nil, func(t *testing.T, b *badCard) []byte {
			return manageAPDU(1, 2, ecHolder(t, "ZZBDHOLDER00002", elliptic.P256()).req)
		}},
		{statePKA, "MANAGE PKA", "unknown P1", manageAPDU(5, 0, nil), 0x6A86, nil, nil},
		{statePKA, "MANAGE PKA", "register when every slot is full", nil, 0x6A84, func(t *testing.T, b *badCard) {
			expectSW(t, b.c, manageAPDU(0, 0, ecHolder(t, "ZZBDHOLDER00003", elliptic.P256()).req), 0x9000)
		}, func(t *testing.T, b *badCard) []byte {
			return manageAPDU(0, 0, ecHolder(t, "ZZBDHOLDER00004", elliptic.P256()).req)
		}},
		{statePKA, "MSE SET", "AT of an unknown holder", mseAT("ZZBDNOBODY00001"), 0x6A88, nil, nil},
		{statePKA, "MSE SET", "AT of a holder already authenticated", mseAT("ZZBDHOLDER00001"), 0x6985, func(t *testing.T, b *badCard) {
			if err := b.cl.AuthenticatePKA(testCtx(t), b.holders); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{statePKA, "EXTERNAL AUTHENTICATE", "no holder selected", extAuth(pattern(7, 64)), 0x6A88, nil, nil},
		{statePKA, "EXTERNAL AUTHENTICATE", "no data", mustHex("00 82 00 00"), 0x6700, selectHolder, nil},
		{statePKA, "EXTERNAL AUTHENTICATE", "no challenge", extAuth(pattern(7, 64)), 0x6985, selectHolder, nil},
		{statePKA, "EXTERNAL AUTHENTICATE", "wrong signature", extAuth(pattern(7, 64)), 0x6985, func(t *testing.T, b *badCard) {
			selectHolder(t, b)
			getChallenge(t, b.c, mustHex("00 84 00 00 08"), 8)
		}, nil},
		{statePKA, "SIGN", "the user PIN alone while PKA is configured", signRow(badKeyEC, byte(hsm.AlgECDSA), digest), 0x6982, nil, nil},
		{statePKA, "GENERATE SYMMETRIC KEY", "the user PIN alone while PKA is configured", mustHex("00 48 20 B0"), 0x6982, nil, nil},

		// 5.7 Chip authentication and secure messaging; 4.6 the session PIN.
		{stateLocked, "GENERAL AUTHENTICATE", "without a PIN session (the device key is sealed)", gaAPDU(tlv.Encode(0x7C, tlv.Encode(0x80, gaPoint))), 0x6400, nil, nil},
		// The reference answers 9000 and does nothing (decision 9 #27).
		{stateUser, "GENERAL AUTHENTICATE", "P1 01", cmd(mustHex("00 86 01 00"), lc(tlv.Encode(0x7C, tlv.Encode(0x80, gaPoint))), []byte{0}), 0x6A86, nil, nil},
		{stateUser, "GENERAL AUTHENTICATE", "one byte", gaAPDU([]byte{0x7C}), 0x6700, nil, nil},
		{stateUser, "GENERAL AUTHENTICATE", "7C length not matching", gaAPDU(mustHex("7C 43 80 41 04")), 0x6700, nil, nil},
		{stateUser, "GENERAL AUTHENTICATE", "no 80", gaAPDU(tlv.Encode(0x7C, tlv.Encode(0x81, gaPoint))), 0x6700, nil, nil},
		// The reference answers 9000 and does nothing.
		{stateUser, "GENERAL AUTHENTICATE", "first byte not 7C", gaAPDU(tlv.Encode(0x7D, tlv.Encode(0x80, gaPoint))), 0x6A80, nil, nil},
		{stateUser, "GENERAL AUTHENTICATE", "point off the curve", gaAPDU(tlv.Encode(0x7C, tlv.Encode(0x80, offCurve))), 0x6A80, nil, nil},
		{stateUser, "MSE SET", "chip authentication with another protocol", mustHex("00 22 41 A4 0C 80 0A 04007F00070202030201"), 0x6A80, nil, nil},
		{stateUser, "SECURE MESSAGING", "protected APDU with a tampered MAC", nil, 0x6984, nil, func(t *testing.T, b *badCard) []byte {
			sc, err := b.cl.OpenSecureChannel(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			w, err := sc.Wrap(getChallengeAPDU())
			if err != nil {
				t.Fatal(err)
			}
			w[len(w)-3] ^= 0x01
			return w
		}},
		{stateUser, "GET SESSION PIN", "outside a secure channel (removed in 6.6)", mustHex("80 5A 01 81 00"), 0x6D00, nil, nil},

		// 5.5 MSE SET DST and PSO VERIFY CERTIFICATE.
		{stateUser, "MSE SET", "SET bit missing (P1 80)", mustHex("00 22 80 B6 03 83 01 41"), 0x6A86, nil, nil},
		{stateUser, "MSE SET", "unknown template P2 B0", mustHex("00 22 81 B0 03 83 01 41"), 0x6A86, nil, nil},
		{stateUser, "MSE SET", "DST with an empty reference", mustHex("00 22 81 B6 02 83 00"), 0x6A80, nil, nil},
		{stateUser, "MSE SET", "DST of an unknown CAR", mustHex("00 22 81 B6 0F 83 0D 5A5A4E4F424F44593030303031"), 0x6A88, nil, nil},
		{stateUser, "PSO VERIFY CERTIFICATE", "no verification key selected", nil, 0x6A88, nil, func(t *testing.T, b *badCard) []byte {
			_, cert := selfSignedP256(t, "ZZBDTR00001")
			return psoRow(cert)
		}},
		{stateUser, "PSO VERIFY CERTIFICATE", "P2 B0", mustHex("00 2A 00 B0 01 00"), 0x6A86, selectVerifier, nil},
		{stateUser, "PSO VERIFY CERTIFICATE", "no data", mustHex("00 2A 00 BE"), 0x6700, selectVerifier, nil},
		{stateUser, "PSO VERIFY CERTIFICATE", "malformed certificate", psoRow(mustHex("7F2108 7F4E02 5F29")), 0x6984, selectVerifier, nil},
		{stateUser, "PSO VERIFY CERTIFICATE", "signature that does not verify", nil, 0x6985, selectVerifier, func(t *testing.T, b *badCard) []byte {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return psoRow(issueGo(t, cvc.Template{CAR: b.ext.devCHR, CHR: "ZZBDTR00002", Key: pubOf(t, k), WithDomain: true}, k).Raw)
		}},
		// Last: this row enrols the card under a CA made here and fills the trust store.
		{stateUser, "PSO VERIFY CERTIFICATE", "trust store full", nil, 0x6A84, nil, func(t *testing.T, b *badCard) []byte {
			ctx := testCtx(t)
			ca, _ := enrolGo(t, b.cl, "ZZBD") // device and DV certificate: 2 of 4 entries
			if err := b.cl.SelectVerifier(ctx, ca.dv.CHR); err != nil {
				t.Fatal(err)
			}
			from, to := ca.dv.Effective, ca.dv.Expiry
			for _, chr := range []string{"ZZBDTR00003", "ZZBDTR00004"} {
				if err := b.cl.VerifyCertificate(ctx, ca.holder(t, chr, elliptic.P256(), from, to).Raw); err != nil {
					t.Fatal(err)
				}
			}
			return psoRow(ca.holder(t, "ZZBDTR00005", elliptic.P256(), from, to).Raw)
		}},
	}
}

// lockEnvelope runs a secure-lock key agreement (80 64 3A 01) and returns an envelope of a
// new secret for it (spec 3.8 step 2).
func lockEnvelope(t *testing.T, b *badCard) []byte {
	host, dev, err := b.cl.LockAgree(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := hsm.NewLockSecret()
	if err != nil {
		t.Fatal(err)
	}
	env, err := hsm.LockEnvelope(host, dev, secret)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func selectRescue(t *testing.T, b *badCard) {
	if _, err := b.cl.SelectRescue(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// selectHolder selects the PKA card's registered holder (MSE SET AT).
func selectHolder(t *testing.T, b *badCard) {
	expectSW(t, b.c, mseAT(b.holders[0].CHR), 0x9000)
}

// The status words of pico-hsm-extensions.md 0.3 (63C0 stands for 63Cx, 6100 for 61xx).
var extSpecSWs = []uint16{0x9000, 0x9001, 0x6100, 0x6282, 0x63C0, 0x6400, 0x6581, 0x6600, 0x6700,
	0x6883, 0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6A80, 0x6A81, 0x6A82, 0x6A84, 0x6A86, 0x6A88,
	0x6A89, 0x6B00, 0x6D00, 0x6E00}

// unreachableExtSW are the rows of the extensions' table (0.3) that no bad input to an
// extension command reaches, with where they are tested instead.
var unreachableExtSW = map[uint16]string{
	0x9000: "success: every other test",
	0x9001: "success: MANAGE PKA slot read of an authenticated holder, TestPKATwoOfThree ('slot 0 authenticated')",
	0x6100: "response chaining is never needed: extended Le asks for up to 65536 bytes, and an answer longer than Le is 6700 (row 'EXTRAS/options read with Le 1')",
	0x6282: "READ BINARY is a core command: past the end it answers 6B00 (see unreachableSW)",
	0x6581: "flash write failure: the C power-cut tests (test_store_powercut) inject it through the platform layer",
	0x6600: "press-to-confirm timeout: TestPressToConfirm (SIGN and EXTRAS without a press, 1 s window)",
	0x6883: "command chaining is not supported (CLA 10 answers 6E00, core row 'APDU/command chaining')",
	0x6983: "PIN blocked is VERIFY's answer (core row 'VERIFY/PIN blocked'); the one extension command that takes a PIN, EXTRAS F0 01, checks the SO-PIN the same way, and blocking it would end the card's re-initialisation for good",
}
