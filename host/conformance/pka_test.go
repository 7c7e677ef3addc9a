package conformance

// Public key authentication (pico-hsm-extensions.md 5.6, smartcard-hsm-core.md 2.17): INITIALIZE
// tag 93, MANAGE PKA with every status word, MSE SET AT, GET CHALLENGE, EXTERNAL AUTHENTICATE
// with holders' keys made here with crypto/ecdsa and crypto/rsa; key use refused until m of n
// holders answered, the flags gone after SELECT and after a restart, the card working after.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// pkaHolder is a key holder made in Go: its registered request (the content of a 67
// authenticated request) and its signer.
type pkaHolder struct {
	chr  string
	req  []byte
	sign func(digest []byte) ([]byte, error)
}

// withOuter wraps a 7F21 request as the content of a 67 object. The device stores it
// verbatim (its chain is the client's business, spec 5.6), so the outer signature here is
// filler of the right shape.
func withOuter(req []byte) []byte {
	out := append([]byte(nil), req...)
	out = tlv.Append(out, 0x42, []byte("ZZPHOLDERDV00001"))
	return tlv.Append(out, 0x5F37, make([]byte, 64))
}

func ecHolder(t *testing.T, chr string, curve elliptic.Curve) pkaHolder {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cvc.ECPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	req, err := cvc.Issue(cvc.Template{CAR: chr, CHR: chr, Key: pub, WithDomain: true}, k)
	if err != nil {
		t.Fatal(err)
	}
	n := (curve.Params().N.BitLen() + 7) / 8
	return pkaHolder{chr: chr, req: withOuter(req), sign: func(d []byte) ([]byte, error) {
		r, s, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			return nil, err
		}
		return append(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n))...), nil
	}}
}

func rsaHolder(t *testing.T, chr string) pkaHolder {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := tlv.Encode(0x06, cvc.OIDRSAv15SHA256)
	key = tlv.Append(key, 0x81, k.N.Bytes())
	key = tlv.Append(key, 0x82, []byte{0x01, 0x00, 0x01})
	body := tlv.Encode(0x5F29, []byte{0})
	body = tlv.Append(body, 0x42, []byte(chr))
	body = tlv.Append(body, 0x7F49, key)
	body = tlv.Append(body, 0x5F20, []byte(chr))
	body = tlv.Encode(0x7F4E, body)
	h := sha256.Sum256(body)
	self, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	req := tlv.Encode(0x7F21, append(body, tlv.Encode(0x5F37, self)...))
	return pkaHolder{chr: chr, req: withOuter(req), sign: func(d []byte) ([]byte, error) {
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d)
	}}
}

func (h pkaHolder) holder() hsm.PKAHolder { return hsm.PKAHolder{CHR: h.chr, Sign: h.sign} }

func manageAPDU(p1, p2 byte, data []byte) []byte {
	if len(data) == 0 {
		return []byte{0x80, 0x54, p1, p2, 0x00}
	}
	le := []byte{0x00}
	if len(data) > 255 {
		le = []byte{0x00, 0x00}
	}
	return cmd([]byte{0x80, 0x54, p1, p2}, lc(data), le)
}

func mseAT(chr string) []byte {
	d := tlv.Encode(0x83, []byte(chr))
	return cmd([]byte{0x00, 0x22, 0x81, 0xA4}, lc(d))
}

func extAuth(sig []byte) []byte {
	return cmd([]byte{0x00, 0x82, 0x00, 0x00}, lc(sig))
}

func pkaInitAPDU(options uint16, total, required byte) []byte {
	d := cmd(berTLV(0x80, []byte{byte(options >> 8), byte(options)}), berTLV(0x81, userPIN),
		berTLV(0x82, soPIN), berTLV(0x93, []byte{total, required}))
	return cmd([]byte{0x80, 0x50, 0x00, 0x00}, lc(d))
}

// signAPDU: SIGN with key 1, ECDSA of a 32-byte hash.
var pkaSignAPDU = cmd(mustHex("80 68 01 70 20"), make([]byte, 32), []byte{0x00})

func TestPKANotConfigured(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl) // no tag 93
	h := ecHolder(t, "ZZPHOLDER000001", elliptic.P256())
	runSteps(t, c, []step{
		{name: "status without PKA", apdu: manageAPDU(0, 0, nil), sw: 0x6A86},
		{name: "register without PKA", apdu: manageAPDU(0, 0, h.req), sw: 0x6A82},
		{name: "slot read without PKA", apdu: manageAPDU(2, 0, nil), sw: 0x6A86},
		{name: "MSE AT without PKA", apdu: mseAT(h.chr), sw: 0x6A88},
		{name: "external authenticate without PKA", apdu: extAuth(make([]byte, 64)), sw: 0x6A82},
		{name: "93 with n > 8", apdu: pkaInitAPDU(1, 9, 1), sw: 0x6A80},
		{name: "93 with m = 0", apdu: pkaInitAPDU(1, 2, 0), sw: 0x6A80},
		{name: "93 with m > n", apdu: pkaInitAPDU(1, 2, 3), sw: 0x6A80},
	})
	stillWorks(t, c)
}

func TestPKATwoOfThree(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	ctx := testCtx(t)
	selectApplet(t, c)
	expectSW(t, c, pkaInitAPDU(0x0001, 3, 2), 0x9000)
	// INITIALIZE authenticates its session (spec 0.4): a key can be generated now.
	g, err := cl.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := g.Public.(*ecdsa.PublicKey)
	holders := []pkaHolder{
		ecHolder(t, "ZZPHOLDER000001", elliptic.P256()),
		rsaHolder(t, "ZZPHOLDER000002"),
		ecHolder(t, "ZZPHOLDER000003", elliptic.P384()),
	}
	selectApplet(t, c)
	runSteps(t, c, []step{
		{name: "status fresh", apdu: manageAPDU(0, 0, nil), sw: 0x9000, check: dataIs([]byte{3, 3, 2, 0})},
		{name: "register P2 != 0", apdu: manageAPDU(0, 1, holders[0].req), sw: 0x6A86},
		{name: "register garbage", apdu: manageAPDU(0, 0, []byte{0x30, 0x00}), sw: 0x6A80},
		{name: "register 1", apdu: manageAPDU(0, 0, holders[0].req), sw: 0x9000, check: dataIs([]byte{3, 2, 2, 0})},
		{name: "slot 1 empty", apdu: manageAPDU(2, 1, nil), sw: 0x6A88},
		{name: "register 2", apdu: manageAPDU(0, 0, holders[1].req), sw: 0x9000, check: dataIs([]byte{3, 1, 2, 0})},
		{name: "register 3", apdu: manageAPDU(0, 0, holders[2].req), sw: 0x9000, check: dataIs([]byte{3, 0, 2, 0})},
		{name: "register 4: full", apdu: manageAPDU(0, 0, holders[0].req), sw: 0x6A84},
		{name: "slot 3 >= n", apdu: manageAPDU(2, 3, nil), sw: 0x6A86},
		{name: "slot 1", apdu: manageAPDU(2, 1, nil), sw: 0x9000, check: dataIs([]byte(holders[1].chr))},
		{name: "replace without option 0008", apdu: manageAPDU(1, 0, holders[2].req), sw: 0x6985},
		{name: "replace slot >= n", apdu: manageAPDU(1, 3, holders[2].req), sw: 0x6A86},
		{name: "unknown P1", apdu: manageAPDU(5, 0, nil), sw: 0x6A86},
		{name: "verify PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
		{name: "sign with PIN alone", apdu: pkaSignAPDU, sw: 0x6982},
		{name: "generate with PIN alone", apdu: mustHex("00 46 02 00 00"), sw: 0x6982},
		{name: "MSE AT unknown CHR", apdu: mseAT("ZZPNOBODY000001"), sw: 0x6A88},
		{name: "authenticate with no key selected", apdu: extAuth(make([]byte, 64)), sw: 0x6A88},
		{name: "MSE AT holder 1", apdu: mseAT(holders[0].chr), sw: 0x9000},
		{name: "authenticate without challenge", apdu: extAuth(make([]byte, 64)), sw: 0x6985},
		{name: "authenticate P1P2", apdu: mustHex("00 82 01 00 02 00 00"), sw: 0x6A86},
		{name: "authenticate empty", apdu: mustHex("00 82 00 00"), sw: 0x6700},
	})
	chain, err := cl.DeviceChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	devName := chain[0].CHR
	challenge := getChallenge(t, c, mustHex("00 84 00 00 08"), 8)
	digest := hsm.PKADigest(devName, challenge)
	sig0, _ := holders[0].sign(digest)
	sig1, _ := holders[1].sign(digest)
	// A signature by the wrong holder, and one over another challenge, are refused.
	wrongChallenge, _ := holders[0].sign(hsm.PKADigest(devName, make([]byte, 8)))
	runSteps(t, c, []step{
		{name: "holder 2's signature for holder 1", apdu: extAuth(sig1), sw: 0x6985},
		{name: "signature over another challenge", apdu: extAuth(wrongChallenge), sw: 0x6985},
		{name: "truncated signature", apdu: extAuth(sig0[:63]), sw: 0x6985},
		{name: "slot 0 not authenticated", apdu: manageAPDU(2, 0, nil), sw: 0x9000, check: dataIs([]byte(holders[0].chr))},
		{name: "holder 1 answers", apdu: extAuth(sig0), sw: 0x9000},
		{name: "slot 0 authenticated", apdu: manageAPDU(2, 0, nil), sw: 0x9001, check: dataIs([]byte(holders[0].chr))},
		{name: "MSE AT holder 1 again", apdu: mseAT(holders[0].chr), sw: 0x6985},
		{name: "status: 1 authenticated", apdu: manageAPDU(0, 0, nil), sw: 0x9000, check: dataIs([]byte{3, 0, 2, 1})},
		{name: "sign with 1 of 2", apdu: pkaSignAPDU, sw: 0x6982},
		{name: "MSE AT holder 2", apdu: mseAT(holders[1].chr), sw: 0x9000},
		{name: "holder 2 (RSA) answers", apdu: extAuth(sig1), sw: 0x9000},
		{name: "status: 2 authenticated", apdu: manageAPDU(0, 0, nil), sw: 0x9000, check: dataIs([]byte{3, 0, 2, 2})},
	})
	sig, err := cl.Sign(ctx, 1, hsm.AlgECDSASHA256, []byte("two of three"))
	if err != nil {
		t.Fatalf("sign with 2 of 3: %v", err)
	}
	h := sha256.Sum256([]byte("two of three"))
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		t.Error("signature made after PKA does not verify with crypto/ecdsa")
	}
	// The challenge is consumed at the threshold; flags are RAM-only and SELECT clears them.
	runSteps(t, c, []step{
		{name: "MSE AT holder 3", apdu: mseAT(holders[2].chr), sw: 0x9000},
		{name: "challenge consumed", apdu: extAuth(make([]byte, 96)), sw: 0x6985},
	})
	selectApplet(t, c)
	expectSW(t, c, verifyAPDU(hsm.UserPIN, userPIN), 0x9000)
	expectSW(t, c, pkaSignAPDU, 0x6982)
	expectSW(t, c, manageAPDU(0, 0, nil), 0x9000)
	// The client's helper: holders 1 and 3 (ECDSA on P-256 and P-384).
	if err := cl.AuthenticatePKA(ctx, []hsm.PKAHolder{holders[0].holder(), holders[2].holder()}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Sign(ctx, 1, hsm.AlgECDSASHA256, []byte("again")); err != nil {
		t.Fatalf("sign after holders 1 and 3: %v", err)
	}
	st, err := cl.PKAStatus(ctx)
	if err != nil || st != (hsm.PKAStatus{Total: 3, Missing: 0, Required: 2, Authenticated: 2}) {
		t.Errorf("status = %+v, %v", st, err)
	}
	stillWorks(t, c)
}

func TestPKASurvivesRestartAndReplace(t *testing.T) {
	flash := filepath.Join(t.TempDir(), "flash.bin")
	c, cl := cardOn(t, flash)
	ctx := testCtx(t)
	selectApplet(t, c)
	expectSW(t, c, pkaInitAPDU(0x0009, 1, 1), 0x9000) // 0008: PKA key replaceable
	if _, err := cl.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	a := ecHolder(t, "ZZPHOLDERA00001", elliptic.P256())
	b := ecHolder(t, "ZZPHOLDERB00001", elliptic.P256())
	expectSW(t, c, manageAPDU(0, 0, a.req), 0x9000)
	stopCard(t, c)

	c, cl = cardOn(t, flash)
	defer stopCard(t, c)
	selectApplet(t, c)
	runSteps(t, c, []step{
		{name: "status after restart", apdu: manageAPDU(0, 0, nil), sw: 0x9000, check: dataIs([]byte{1, 0, 1, 0})},
		{name: "verify PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
		{name: "sign after restart, PIN only", apdu: pkaSignAPDU, sw: 0x6982},
	})
	selectApplet(t, c)
	runSteps(t, c, []step{
		{name: "replace without PIN", apdu: manageAPDU(1, 0, b.req), sw: 0x6982},
		{name: "verify PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
		{name: "replace empty", apdu: manageAPDU(1, 0, nil), sw: 0x6700},
		{name: "replace slot 0", apdu: manageAPDU(1, 0, b.req), sw: 0x9000, check: dataIs([]byte{1, 0, 1, 0})},
		{name: "slot 0 is B", apdu: manageAPDU(2, 0, nil), sw: 0x9000, check: dataIs([]byte(b.chr))},
		{name: "A is gone", apdu: mseAT(a.chr), sw: 0x6A88},
	})
	if err := cl.AuthenticatePKA(ctx, []hsm.PKAHolder{a.holder()}); err == nil {
		t.Error("the replaced holder still authenticates")
	}
	if err := cl.AuthenticatePKA(ctx, []hsm.PKAHolder{b.holder()}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Sign(ctx, 1, hsm.AlgECDSASHA256, []byte("1 of 1")); err != nil {
		t.Fatalf("sign after B: %v", err)
	}
	stillWorks(t, c)
}
