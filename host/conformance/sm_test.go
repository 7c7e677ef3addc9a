package conformance

// Secure messaging (pico-hsm-extensions.md 5.7) and the session PIN (4.6, as defined in
// firmware/core/src/cmd_sm.c): key generation, signing (verified with crypto/ecdsa and
// crypto/rsa) and decryption (ciphertexts made by crypto/rsa, ECDH checked with crypto/ecdh)
// inside a channel; tampered MAC, replayed counter, truncated envelopes and garbage each
// refused with 6984, the channel closed, the card still answering; the session PIN accepted
// only inside its own channel.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// openSM initialises a fresh card, logs in and opens a channel.
func openSM(t *testing.T) (*hsm.Client, *hsm.SecureChannel) {
	t.Helper()
	c, cl := cardOn(t, newFlash(t))
	t.Cleanup(func() { stopCard(t, c) })
	initCard(t, cl)
	sc, err := cl.OpenSecureChannel(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return cl, sc
}

func getChallengeAPDU() []byte { return []byte{0x00, 0x84, 0x00, 0x00, 0x08} }

// gaAPDU is GENERAL AUTHENTICATE 00 86 00 00 with data (short, Le 00), spec 5.7.
func gaAPDU(data []byte) []byte {
	return append(append([]byte{0x00, 0x86, 0x00, 0x00, byte(len(data))}, data...), 0x00)
}

// Spec 5.7 establishment: the answers test_011 of the reference suite checks, and the
// refusals of a careful card.
func TestSMGeneralAuthenticate(t *testing.T) {
	c, cl := cardOn(t, newFlash(t))
	defer stopCard(t, c)
	initCard(t, cl)
	eph, _ := ecdh.P256().GenerateKey(rand.Reader)
	pub := eph.PublicKey().Bytes()
	ga := gaAPDU
	good := ga(tlv.Encode(0x7C, tlv.Encode(0x80, pub)))
	oid := tlv.Encode(0x80, hsm.OIDChipAuthAES128)
	expectSW(t, c, append([]byte{0x00, 0x22, 0x41, 0xA4, byte(len(oid))}, oid...), 0x9000)
	expectSW(t, c, mustHex("00 22 41 A4 0C 80 0A 04 00 7F 00 07 02 02 03 02 01"), 0x6A80)
	expectSW(t, c, mustHex("00 22 41 A4 02 84 01"), 0x6A80)
	expectSW(t, c, ga([]byte{0x7C}), 0x6700)                            // fewer than 2 bytes
	expectSW(t, c, ga([]byte{0x7C, 0x43, 0x80, 0x41, 0x04}), 0x6700)    // 7C length not matching
	expectSW(t, c, ga(tlv.Encode(0x7C, tlv.Encode(0x81, pub))), 0x6700) // no 80
	expectSW(t, c, ga(tlv.Encode(0x7D, tlv.Encode(0x80, pub))), 0x6A80)
	expectSW(t, c, ga(tlv.Encode(0x7C, tlv.Encode(0x80, pub[:33]))), 0x6A80)
	offCurve := append([]byte(nil), pub...)
	offCurve[64] ^= 1
	expectSW(t, c, ga(tlv.Encode(0x7C, tlv.Encode(0x80, offCurve))), 0x6A80)
	bad := append([]byte(nil), good...)
	bad[2] = 0x01
	expectSW(t, c, bad, 0x6A86)
	// Without a PIN session the device key cannot be opened: 6400 (reference test_011).
	selectApplet(t, c)
	expectSW(t, c, good, 0x6400)
	login(t, cl)
	resp := expectSW(t, c, good, 0x9000)
	if len(resp) != 22 || !bytes.HasPrefix(resp, []byte{0x7C, 0x14, 0x81, 0x08}) || resp[12] != 0x82 || resp[13] != 0x08 {
		t.Fatalf("GA answer %x", resp)
	}
	// The token verifies with keys derived in Go from ECDH with the 2F02 key.
	_, dev := devKeyOf(t, cl, nil)
	devPub, err := ecdh.P256().NewPublicKey(dev.Point)
	if err != nil {
		t.Fatal(err)
	}
	z, _ := eph.ECDH(devPub)
	_, kmac := hsm.SessionKeys(z, resp[4:12])
	token, _ := hsm.AuthToken(kmac, pub)
	if !bytes.Equal(token, resp[14:22]) {
		t.Errorf("token %x, want %x", resp[14:22], token)
	}
	// A protected APDU without any channel established: 6984.
	expectSW(t, c, mustHex("0C 84 00 00 0D 97 01 08 8E 08 00 00 00 00 00 00 00 00 00"), 0x6984)
}

// Spec 5.7: every client call runs inside the channel: key generation, signing and
// decryption, with results checked by Go's crypto.
func TestSMKeysInsideChannel(t *testing.T) {
	_, sc := openSM(t)
	in := sc.Client()
	ctx := testCtx(t)
	if _, err := in.GetChallenge(ctx, 32); err != nil {
		t.Fatal(err)
	}

	// EC: keygen, ECDSA over a SHA-256 hash, ECDH.
	g, err := in.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ecPub := g.Public.(*ecdsa.PublicKey)
	h := sha256.Sum256([]byte("inside the channel"))
	sig, err := in.Sign(ctx, 1, hsm.AlgECDSA, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(ecPub, h[:], sig) {
		t.Error("ECDSA signature made inside the channel does not verify")
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	shared, err := in.ECDH(ctx, 1, peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ecdhPub, _ := ecPub.ECDH()
	want, _ := peer.ECDH(ecdhPub)
	if !bytes.Contains(shared, want) {
		t.Errorf("ECDH inside the channel: %x, want x = %x", shared, want)
	}

	// RSA-1024: keygen, PKCS#1 v1.5 signature, PKCS#1 v1.5 and OAEP decryption of
	// ciphertexts made by crypto/rsa.
	g, err = in.GenerateRSA(genCtx(t), 2, 1024, hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := g.Public.(*rsa.PublicKey)
	sig, err = in.Sign(ctx, 2, hsm.AlgRSAPKCS1SHA256, []byte("inside the channel"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, h[:], sig); err != nil {
		t.Errorf("RSA signature made inside the channel: %v", err)
	}
	secret := []byte("a secret for the channel")
	c1, _ := rsa.EncryptPKCS1v15(rand.Reader, rsaPub, secret)
	if got, err := in.Decipher(ctx, 2, hsm.AlgRSADecryptPKCS1, c1); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("PKCS#1 decryption inside the channel: %x, %v", got, err)
	}
	c2, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, rsaPub, secret, nil)
	if got, err := in.Decipher(ctx, 2, hsm.AlgRSADecryptOAEP, c2); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("OAEP decryption inside the channel: %x, %v", got, err)
	}
	// Errors come back inside 99 as the ordinary typed errors.
	if _, err := in.Sign(ctx, 9, hsm.AlgECDSA, h[:]); !errors.Is(err, apdu.ErrFileNotFound) {
		t.Errorf("sign with an absent key inside the channel: %v, want 6A82", err)
	}
	// A large answer (the 2F02 chain) and a large command (a 1000-byte hash input).
	if _, err := in.DeviceChain(ctx); err != nil {
		t.Error(err)
	}
	big := bytes.Repeat([]byte{0x5A}, 1000)
	sig, err = in.Sign(ctx, 1, hsm.AlgECDSASHA256, big)
	hb := sha256.Sum256(big)
	if err != nil || !ecdsa.VerifyASN1(ecPub, hb[:], sig) {
		t.Errorf("ECDSA-SHA256 over 1000 bytes inside the channel: %v", err)
	}
}

// Spec 5.7 failure rules: each bad envelope answers 6984 (no crash), closes the channel (the
// next correctly protected APDU is refused too), and a new GENERAL AUTHENTICATE recovers.
func TestSMRefusals(t *testing.T) {
	protected := func(sc *hsm.SecureChannel) []byte {
		w, err := sc.Wrap(getChallengeAPDU())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	cases := []struct {
		name   string
		mangle func(sc *hsm.SecureChannel, w []byte) []byte
	}{
		{"tampered MAC", func(_ *hsm.SecureChannel, w []byte) []byte { w[len(w)-3] ^= 0x01; return w }},
		{"tampered header", func(_ *hsm.SecureChannel, w []byte) []byte { w[2] = 0x01; return w }},
		{"tampered Le", func(_ *hsm.SecureChannel, w []byte) []byte { w[9] = 0x10; return w }},
		{"MAC of 7 bytes", func(_ *hsm.SecureChannel, w []byte) []byte {
			// 8E 07: shorter tag, lengths adjusted so the APDU itself is well formed.
			d := w[7 : len(w)-2]
			d = append(append([]byte(nil), d[:len(d)-9]...), 0x07)
			d = append(d, w[len(w)-2-8:len(w)-3]...)
			return ext(w[:4], d)
		}},
		{"truncated: no 8E", func(_ *hsm.SecureChannel, w []byte) []byte { return ext(w[:4], w[7:10]) }},
		{"truncated: 8E cut", func(_ *hsm.SecureChannel, w []byte) []byte { return ext(w[:4], w[7:len(w)-4]) }},
		{"truncated: no data", func(_ *hsm.SecureChannel, w []byte) []byte { return append([]byte(nil), w[:4]...) }},
		{"truncated: only Le", func(_ *hsm.SecureChannel, w []byte) []byte { return append(append([]byte(nil), w[:4]...), 0x00) }},
		{"garbage TLV", func(_ *hsm.SecureChannel, w []byte) []byte { return ext(w[:4], []byte{0x53, 0x02, 0x01, 0x02}) }},
		{"replayed counter", func(sc *hsm.SecureChannel, w []byte) []byte {
			// The first copy is accepted; the same bytes again carry an old SSC.
			r, err := sc.Inner().Transmit(context.Background(), w)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sc.Unwrap(r); err != nil {
				t.Fatal(err)
			}
			return w
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, sc := openSM(t)
			c := sc.Inner()
			// The channel works before.
			if _, err := sc.Client().GetChallenge(testCtx(t), 8); err != nil {
				t.Fatal(err)
			}
			bad := tc.mangle(sc, protected(sc))
			expectSW(t, c, bad, 0x6984)
			// Closed: a correctly protected APDU with the next counter is refused as well.
			expectSW(t, c, protected(sc), 0x6984)
			// The card still works in plain and a new channel can be opened.
			stillWorks(t, c)
			login(t, cl)
			if _, err := cl.GenerateEC(testCtx(t), 3, "secp256r1", hsm.KeyOptions{}); err != nil {
				t.Errorf("plain key generation after the refusal: %v", err)
			}
			sc2, err := cl.OpenSecureChannel(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sc2.Client().GetChallenge(testCtx(t), 8); err != nil {
				t.Errorf("new channel: %v", err)
			}
		})
	}
}

// ext encodes header || data as an extended case-4 APDU with Le 0000.
func ext(hdr, data []byte) []byte {
	b := append([]byte(nil), hdr...)
	b = append(b, 0x00, byte(len(data)>>8), byte(len(data)))
	b = append(b, data...)
	return append(b, 0x00, 0x00)
}

// A plain APDU while a channel is open closes the channel (and is processed normally).
func TestSMPlainAPDUClosesChannel(t *testing.T) {
	_, sc := openSM(t)
	c := sc.Inner()
	in := sc.Client()
	if _, err := in.GetChallenge(testCtx(t), 8); err != nil {
		t.Fatal(err)
	}
	getChallenge(t, c, getChallengeAPDU(), 8)
	w, err := sc.Wrap(getChallengeAPDU())
	if err != nil {
		t.Fatal(err)
	}
	expectSW(t, c, w, 0x6984)
}

// Session PIN (spec 4.6 as this firmware defines it): GET SESSION PIN only inside a channel
// and after user verification; the PIN verifies the user inside its channel only.
func TestSMSessionPIN(t *testing.T) {
	cl, sc := openSM(t)
	c := sc.Inner()
	ctx := testCtx(t)
	in := sc.Client()

	spin, err := in.SessionPIN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(spin) != 8 {
		t.Fatalf("session PIN of %d bytes", len(spin))
	}
	// A SELECT inside the channel ends the login; the session PIN restores it.
	if _, err := in.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := in.GenerateEC(ctx, 4, "secp256r1", hsm.KeyOptions{}); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("keygen after SELECT inside the channel: %v, want 6982", err)
	}
	if err := in.Verify(ctx, hsm.UserPIN, spin); err != nil {
		t.Fatalf("session PIN inside its channel: %v", err)
	}
	g, err := in.GenerateEC(ctx, 4, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatalf("keygen after session-PIN login: %v", err)
	}
	h := sha256.Sum256([]byte("session"))
	if sig, err := in.Sign(ctx, 4, hsm.AlgECDSA, h[:]); err != nil || !ecdsa.VerifyASN1(g.Public.(*ecdsa.PublicKey), h[:], sig) {
		t.Errorf("sign after session-PIN login: %v", err)
	}

	// Outside the channel: the plain APDU closes the channel and ends the session-PIN login;
	// the session PIN is just a wrong user PIN there (63C2: it cost a real try).
	expectSW(t, c, mustHex("80 5A 01 81 00"), 0x6D00)
	if _, err := cl.GenerateEC(ctx, 5, "secp256r1", hsm.KeyOptions{}); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Errorf("keygen in plain after the channel closed: %v, want 6982 (login was the session PIN's)", err)
	}
	expectSW(t, c, append([]byte{0x00, 0x20, 0x00, 0x81, byte(len(spin))}, spin...), 0x63C2)

	// In a later channel the old session PIN is not known either.
	login(t, cl)
	sc, err = cl.OpenSecureChannel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in = sc.Client()
	if _, err := in.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	var wrong apdu.WrongPINError
	if err := in.Verify(ctx, hsm.UserPIN, spin); !errors.As(err, &wrong) {
		t.Errorf("old session PIN in a new channel: %v, want 63Cx", err)
	}
	// GET SESSION PIN needs the user verified.
	if _, err := in.SessionPIN(ctx); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Errorf("GET SESSION PIN without login: %v, want 6982", err)
	}
	if err := in.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
	spin2, err := in.SessionPIN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A wrong session PIN destroys it (63C0); the right one no longer works afterwards.
	if _, err := in.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), spin2...)
	bad[0] ^= 0xFF
	if err := in.Verify(ctx, hsm.UserPIN, bad); !errors.As(err, &wrong) || wrong.Retries != 0 {
		t.Errorf("wrong session PIN: %v, want 63C0", err)
	}
	if err := in.Verify(ctx, hsm.UserPIN, spin2); !errors.As(err, &wrong) {
		t.Errorf("session PIN after a wrong try: %v, want a wrong PIN", err)
	}
	// GET SESSION PIN with other P1/P2.
	r, err := sc.Transmit(ctx, mustHex("80 5A 02 81 00"))
	if err != nil || !bytes.Equal(r, []byte{0x6A, 0x86}) {
		t.Errorf("80 5A 02 81 inside the channel: %x %v, want 6A86", r, err)
	}
}

// A re-initialisation inside the channel changes the MKEK: the session PIN made before it is
// forgotten (it would restore a stale key), so it is just a wrong PIN afterwards.
func TestSMSessionPINForgottenAtInitialize(t *testing.T) {
	_, sc := openSM(t)
	ctx := testCtx(t)
	in := sc.Client()
	spin, err := in.SessionPIN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Initialize(ctx, hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	var wrong apdu.WrongPINError
	if err := in.Verify(ctx, hsm.UserPIN, spin); !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Errorf("session PIN after INITIALIZE: %v, want 63C2 (compared with the real PIN)", err)
	}
	if err := in.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Errorf("real PIN inside the channel: %v", err)
	}
}
