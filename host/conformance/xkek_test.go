package conformance

// XKEK key domains (pico-hsm-extensions.md 4.2 P1 02/03/04, 4.3) on an emulator enrolled under
// a CA built here with crypto/ecdsa. The group key is a Go P-256 key whose certificate, issued
// by the DV, carries no domain parameters: its curve comes from the DV in the trust store
// (4.3 step 2). The DKEK the card derives is cross-checked: KCV = SHA-256(x of the ECDH that
// crypto/ecdh computes from the peer's private key and the card's XKEK public key)[0..8].
// Every status word of 4.2/4.3 is checked, and the card still works after each refusal.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// peerCert is a self-signed P-256 CV certificate of key with the 65/73 key-domain-UID
// extension carrying uid (nil: no extension).
func peerCert(t *testing.T, key *ecdsa.PrivateKey, uid []byte) []byte {
	t.Helper()
	pub := pubOf(t, key)
	v := tlv.Encode(cvc.TagCPI, []byte{0})
	v = tlv.Append(v, cvc.TagCAR, []byte("UTCA00001"))
	v = append(v, cvc.EncodeECPublicKey(pub.Curve, pub.Point, true)...)
	v = tlv.Append(v, cvc.TagCHR, []byte("UTCDUMMY00001"))
	if uid != nil {
		v = tlv.Append(v, cvc.TagExtensions, tlv.Encode(0x73, tlv.Append(tlv.Encode(0x06, hsm.OIDKeyDomainUID), 0x80, uid)))
	}
	body := tlv.Encode(cvc.TagBody, v)
	sig, err := cvc.SignECDSA(key, body, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tlv.Encode(cvc.TagCertificate, tlv.Append(body, cvc.TagSignature, sig))
}

// groupRequest is the content of a 67 request for a group key certificate (spec 4.3 KDM):
// the 7F21 certificate, 42 outer CAR and a 5F37 outer signature the card does not check.
func groupRequest(cert []byte, car string) []byte {
	return tlv.Append(tlv.Append(append([]byte(nil), cert...), cvc.TagCAR, []byte(car)), cvc.TagSignature, make([]byte, 64))
}

// membershipSig is group key k's 54 signature admitting the device whose key point is point
// (spec 4.3 step 2): ECDSA r || s over hsm.MembershipDigest.
func membershipSig(t *testing.T, k *ecdsa.PrivateKey, point []byte) []byte {
	t.Helper()
	d, err := hsm.MembershipDigest(point)
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := ecdsa.Sign(rand.Reader, k, d)
	if err != nil {
		t.Fatal(err)
	}
	n := (k.Curve.Params().N.BitLen() + 7) / 8
	return append(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n))...)
}

// joinAPDU is MANAGE KEY DOMAIN 80 52 02 <domain> with data, case 4E (spec 4.2 P1 02).
func joinAPDU(domain byte, data []byte) []byte {
	return append(append([]byte{0x80, 0x52, 0x02, domain, 0x00, byte(len(data) >> 8), byte(len(data))}, data...), 0x01, 0x00)
}

// xkekDeriveAPDU is DECIPHER 80 62 <id> 84 with a peer's certificate, case 4E (spec 4.3 step 4).
func xkekDeriveAPDU(id byte, data []byte) []byte {
	return append(append([]byte{0x80, 0x62, id, 0x84, 0x00, byte(len(data) >> 8), byte(len(data))}, data...), 0x00, 0x00)
}

func TestXKEK(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	ctx := testCtx(t)
	initCard(t, cl)
	// Enrol under a Go CA.
	ca, devKey := enrolGo(t, cl, "ZZXC")

	// The group key and memberships.
	gskKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	gskPub := pubOf(t, gskKey)
	uid := gskPub.Point[1:]
	gsk := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: "ZZXCGS00001", Key: gskPub,
		Access: cvc.AccessTerminal, Effective: ca.dv.Effective, Expiry: ca.dv.Expiry}, ca.dvKey)
	request := func(cert []byte) []byte { return groupRequest(cert, ca.dv.CHR) }
	sign54 := func(k *ecdsa.PrivateKey, point []byte) []byte { return membershipSig(t, k, point) }
	good := tlv.Append(request(gsk.Raw), 0x54, sign54(gskKey, devKey.Point))
	p102 := joinAPDU

	// Refusals (4.2, 4.3 step 2).
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	expectSW(t, c, p102(0, good), 0x6982) // no PIN
	login(t, cl)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDev, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	orphan := issueGo(t, cvc.Template{CAR: "ZZNOBODY00001", CHR: "ZZXCGS00002", Key: gskPub,
		Access: cvc.AccessTerminal, Effective: ca.dv.Effective, Expiry: ca.dv.Expiry}, gskKey)
	for _, tc := range []struct {
		name string
		apdu []byte
		sw   uint16
	}{
		{"no 54 signature", p102(0, request(gsk.Raw)), 0x6700},
		{"signed by another key", p102(0, tlv.Append(request(gsk.Raw), 0x54, sign54(otherKey, devKey.Point))), 0x6985},
		{"signed for another device", p102(0, tlv.Append(request(gsk.Raw), 0x54, sign54(gskKey, pubOf(t, otherDev).Point))), 0x6985},
		{"no curve for the group key", p102(0, tlv.Append(request(orphan.Raw), 0x54, sign54(gskKey, devKey.Point))), 0x6985},
		{"malformed group key certificate", p102(0, tlv.Append(mustHex("7F2103010203"), 0x54, sign54(gskKey, devKey.Point))), 0x6984},
		{"domain 16", p102(16, good), 0x6B00},
		{"domain beyond the table", p102(1, good), 0x6A86},
		{"unknown P1", mustHex("80 52 05 00 00"), 0x6A86},
	} {
		expectSW(t, c, tc.apdu, tc.sw)
		if t.Failed() {
			t.Fatalf("%s", tc.name)
		}
	}
	// Nothing was stored: domain 0 (no shares, from INITIALIZE) has no UID.
	if st, err := cl.DKEKStatus(ctx, 0); err != nil || st.DomainUID != nil {
		t.Fatalf("status after the refusals: %+v, %v", st, err)
	}
	stillWorks(t, c)

	// Admission (domain 0, made by INITIALIZE without shares): the UID is the group key's
	// X || Y, the KCV zero.
	login(t, cl)
	kdm := &hsm.KDM{DV: ca.dv.Raw, Holder: gsk.Raw, GroupKey: tlv.Encode(0x67, request(gsk.Raw)), Signature: sign54(gskKey, devKey.Point)}
	st, err := cl.JoinXKEK(ctx, 0, kdm)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.DomainUID, uid) || st.KCV != [8]byte{} || st.Missing != 0 {
		t.Fatalf("status after joining: %+v", st)
	}
	// The same membership again: 9000; another group's: 6A86.
	expectSW(t, c, p102(0, good), 0x9000)
	other := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: "ZZXCGS00003", Key: pubOf(t, otherKey),
		Access: cvc.AccessTerminal, Effective: ca.dv.Effective, Expiry: ca.dv.Expiry}, ca.dvKey)
	expectSW(t, c, p102(0, tlv.Append(request(other.Raw), 0x54, sign54(otherKey, devKey.Point))), 0x6A86)

	// The XKEK key: 91 84 without 92 -> 6700; with it the certificate carries the UID.
	if _, err := cl.GenerateEC(ctx, 9, "secp256r1", hsm.KeyOptions{Algorithms: []byte{0x84}}); !errors.Is(err, apdu.ErrWrongLength) {
		t.Errorf("XKEK key without 92: %v, want 6700", err)
	}
	g, err := cl.GenerateXKEKKey(ctx, 10, 0, "secp256r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := hsm.KeyDomainUID(g.Request.Request); !bytes.Equal(got, uid) {
		t.Fatalf("UID in the key's certificate % X", got)
	}
	if _, err := cl.GenerateEC(ctx, 11, "secp256r1", hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}

	// Derivation, checked with crypto/ecdh.
	peerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	peer := peerCert(t, peerKey, uid)
	cardPub := g.Public.(*ecdsa.PublicKey)
	pe, _ := peerKey.ECDH()
	cp, _ := cardPub.ECDH()
	z, err := pe.ECDH(cp)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(z[:32])
	dec := xkekDeriveAPDU
	otherUID := append([]byte(nil), uid...)
	otherUID[0] ^= 1
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	expectSW(t, c, dec(0x30, peer), 0x6A82)                         // no such key
	expectSW(t, c, dec(11, peer), 0x6985)                           // not an XKEK key
	expectSW(t, c, dec(10, peerCert(t, peerKey, otherUID)), 0x6A88) // another group
	expectSW(t, c, dec(10, peerCert(t, peerKey, nil)), 0x6700)      // no UID extension
	expectSW(t, c, dec(10, mustHex("7F2103010203")), 0x6984)        // malformed
	expectSW(t, c, dec(10, peerCert(t, p384, uid)), 0x6A80)         // point on another curve
	if st, _ := cl.DKEKStatus(ctx, 0); st.KCV != [8]byte{} {
		t.Fatalf("KCV after refusals: %X", st.KCV)
	}
	if err := cl.DeriveXKEK(ctx, 10, peer); err != nil {
		t.Fatal(err)
	}
	st, err = cl.DKEKStatus(ctx, 0)
	if err != nil || !bytes.Equal(st.KCV[:], want[:8]) || !bytes.Equal(st.DomainUID, uid) {
		t.Fatalf("status after derivation: %+v, %v; want KCV %X", st, err, want[:8])
	}
	// Another peer while a DKEK exists: 6986; the same peer again: 9000.
	peer2Key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	expectSW(t, c, dec(10, peerCert(t, peer2Key, uid)), 0x6986)
	expectSW(t, c, dec(10, peer), 0x9000)
	stillWorks(t, c)

	// P1 04 clears the DKEK, keeps the UID; P1 03 answers 6A89 while keys use the domain,
	// then 6A88 (success), and the domain is gone.
	login(t, cl)
	st, err = cl.ClearKeyDomain(ctx, 0)
	if err != nil || st.KCV != [8]byte{} || !bytes.Equal(st.DomainUID, uid) {
		t.Fatalf("after clear: %+v, %v", st, err)
	}
	expectSW(t, c, mustHex("80 52 03 00"), 0x6A89)
	for _, id := range []byte{10, 11} {
		if err := cl.DeleteKey(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	expectSW(t, c, mustHex("80 52 03 00"), 0x6A88)
	expectSW(t, c, mustHex("80 52 00 00 00"), 0x6A88)
	expectSW(t, c, mustHex("80 52 03 00"), 0x6A86)
	stillWorks(t, c)
}
