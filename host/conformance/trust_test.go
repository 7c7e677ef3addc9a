package conformance

// Device identity and trust store (pico-hsm-extensions.md 5.1, 5.3-5.5): the device key made
// by INITIALIZE persists across restarts and re-initialisation and differs between devices;
// a chain issued by a CA built here with crypto/ecdsa installs in 2F02 and verifies to the
// root; PSO VERIFY CERTIFICATE accepts certificates signed by Go and answers every error
// status word, and the card still works afterwards.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

func cardOn(t *testing.T, flash string) (*emu.Card, *hsm.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := emu.StartCard(ctx, emulatorPath(t), flash)
	if err != nil {
		t.Fatal(err)
	}
	return c, hsm.New(c)
}

func stopCard(t *testing.T, c *emu.Card) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("emulator: %v", err)
	}
}

// devKeyOf reads 2F02 and returns its raw bytes and the first certificate's key (self-signed
// and verified, or resolved through root when root is given).
func devKeyOf(t *testing.T, cl *hsm.Client, root *cvc.Certificate) ([]byte, *cvc.PublicKey) {
	t.Helper()
	ctx := testCtx(t)
	raw, err := cl.ReadFile(ctx, hsm.FIDDevAut)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := cvc.ParseAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	if root == nil {
		if err := certs[0].VerifySelfSigned(); err != nil {
			t.Fatal(err)
		}
		return raw, certs[0].PublicKey
	}
	k, err := cvc.VerifyChain(certs, root, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw, k
}

func genAttested(t *testing.T, cl *hsm.Client, id byte, dev *cvc.PublicKey) {
	t.Helper()
	g, err := cl.GenerateEC(testCtx(t), id, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Request.VerifyOuter(dev); err != nil {
		t.Errorf("key %d: outer signature under the 2F02 key: %v", id, err)
	}
	ce, err := cl.ReadFile(testCtx(t), uint16(hsm.PrefixEECert)<<8|uint16(id))
	if err != nil || !bytes.Equal(ce, g.Raw) {
		t.Errorf("CE%02X: %v, %d bytes; want the %d-byte answer", id, err, len(ce), len(g.Raw))
	}
}

// Spec 5.1: one device key per device, made at INITIALIZE, kept across restarts and an
// SO-PIN re-initialisation.
func TestDeviceKeyLifecycle(t *testing.T) {
	dir := t.TempDir()
	flashA, flashB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	c, cl := cardOn(t, flashA)
	if _, err := cl.SelectApplet(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	before, _ := devKeyOf(t, cl, nil)
	initCard(t, cl)
	rawA, keyA := devKeyOf(t, cl, nil)
	if bytes.Equal(before, rawA) {
		t.Error("INITIALIZE kept the boot placeholder")
	}
	genAttested(t, cl, 1, keyA)
	stopCard(t, c)

	c, cl = cardOn(t, flashA)
	login(t, cl)
	if raw, _ := devKeyOf(t, cl, nil); !bytes.Equal(raw, rawA) {
		t.Error("2F02 changed across a restart")
	}
	genAttested(t, cl, 2, keyA)
	// Re-initialisation with the SO-PIN and a new user PIN keeps the device key.
	newPIN := []byte("987654")
	if err := cl.Initialize(testCtx(t), hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: newPIN, SOPIN: soPIN, Retries: 3}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := devKeyOf(t, cl, nil); !bytes.Equal(raw, rawA) {
		t.Error("2F02 changed across a re-initialisation")
	}
	genAttested(t, cl, 3, keyA)
	stopCard(t, c)

	c, cl = cardOn(t, flashB)
	initCard(t, cl)
	rawB, keyB := devKeyOf(t, cl, nil)
	certB, _ := cvc.Parse(rawB)
	certA, _ := cvc.Parse(rawA)
	if bytes.Equal(keyA.Point, keyB.Point) || certA.CHR == certB.CHR {
		t.Errorf("two devices share a key or a name (%s, %s)", certA.CHR, certB.CHR)
	}
	stopCard(t, c)
}

type goCA struct {
	rootKey, dvKey *ecdsa.PrivateKey
	root, dv       *cvc.Certificate
}

func newGoCA(t *testing.T, prefix string, dvCurve elliptic.Curve) *goCA {
	t.Helper()
	ca := &goCA{}
	var err error
	if ca.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if ca.dvKey, err = ecdsa.GenerateKey(dvCurve, rand.Reader); err != nil {
		t.Fatal(err)
	}
	eff, exp := time.Now().UTC().AddDate(0, 0, -1), time.Now().UTC().AddDate(10, 0, 0)
	ca.root = issueGo(t, cvc.Template{CAR: prefix + "CA00001", CHR: prefix + "CA00001", Key: pubOf(t, ca.rootKey),
		WithDomain: true, Access: cvc.AccessCA, Effective: eff, Expiry: exp}, ca.rootKey)
	ca.dv = issueGo(t, cvc.Template{CAR: prefix + "CA00001", CHR: prefix + "DV00001", Key: pubOf(t, ca.dvKey),
		WithDomain: true, Access: cvc.AccessDV, Effective: eff, Expiry: exp}, ca.rootKey)
	return ca
}

// holder issues a terminal certificate for a new key on curve, valid from..to, under the DV.
func (ca *goCA) holder(t *testing.T, chr string, curve elliptic.Curve, from, to time.Time) *cvc.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: chr, Key: pubOf(t, k), WithDomain: true,
		Access: cvc.AccessTerminal, Effective: from, Expiry: to}, ca.dvKey)
}

// enrolGo enrols the card under a new Go CA named prefix (spec 5.3): 2F02 becomes a device
// certificate issued by the CA's DV, then the DV certificate. It returns the CA and the
// device key.
func enrolGo(t *testing.T, cl *hsm.Client, prefix string) (*goCA, *cvc.PublicKey) {
	t.Helper()
	raw, devKey := devKeyOf(t, cl, nil)
	req, err := cvc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ca := newGoCA(t, prefix, elliptic.P256())
	devCert := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: req.CHR, Key: devKey, WithDomain: true,
		Access: cvc.AccessTerminal, Effective: ca.dv.Effective, Expiry: ca.dv.Expiry}, ca.dvKey)
	if err := cl.InstallDeviceChain(testCtx(t), append(append([]byte(nil), devCert.Raw...), ca.dv.Raw...)); err != nil {
		t.Fatal(err)
	}
	return ca, devKey
}

func pubOf(t *testing.T, k *ecdsa.PrivateKey) *cvc.PublicKey {
	t.Helper()
	p, err := cvc.ECPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func issueGo(t *testing.T, tpl cvc.Template, signer *ecdsa.PrivateKey) *cvc.Certificate {
	t.Helper()
	raw, err := cvc.Issue(tpl, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cvc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Spec 5.3: enrolment under a CA of one's own, then 5.5 on the enrolled device.
func TestEnrolmentAndVerifyCertificate(t *testing.T) {
	flash := newFlash(t)
	c, cl := cardOn(t, flash)
	defer stopCard(t, c)
	ctx := testCtx(t)
	initCard(t, cl)
	_, devKey := devKeyOf(t, cl, nil)
	raw0, _ := cl.ReadFile(ctx, hsm.FIDDevAut)
	req, _ := cvc.Parse(raw0)

	// A P-256 DV: device and DV certificates with domain parameters fit the 1024 bytes of 2F02
	// that OpenSC reads (a P-384 DV would not: 6A84).
	ca := newGoCA(t, "ZZGO", elliptic.P256())
	eff, exp := ca.dv.Effective, ca.dv.Expiry
	devCert := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: req.CHR, Key: devKey, WithDomain: true,
		Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, ca.dvKey)
	// Refused: a chain for another key, for another name; nothing changes.
	other := newGoCA(t, "ZZOT", elliptic.P256())
	wrongKey := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: req.CHR, Key: pubOf(t, other.dvKey), WithDomain: true,
		Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, ca.dvKey)
	wrongName := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: "ZZPNOTME00001", Key: devKey, WithDomain: true,
		Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, ca.dvKey)
	for _, bad := range [][]byte{append(wrongKey.Raw, ca.dv.Raw...), append(wrongName.Raw, ca.dv.Raw...)} {
		if err := cl.InstallDeviceChain(ctx, bad); !errors.Is(err, apdu.ErrConditions) {
			t.Errorf("foreign chain: %v, want 6985", err)
		}
	}
	if err := cl.InstallDeviceChain(ctx, []byte{0x7F, 0x21, 0x01, 0x00}); !errors.Is(err, apdu.ErrIncorrectData) {
		t.Errorf("malformed chain: %v, want 6A80", err)
	}
	if err := cl.InstallDeviceChain(ctx, append(append([]byte(nil), devCert.Raw...), ca.dv.Raw...)); err != nil {
		t.Fatal(err)
	}
	_, resolved := devKeyOf(t, cl, ca.root)
	genAttested(t, cl, 1, resolved)

	big := newGoCA(t, "ZZBG", elliptic.P384())
	if err := cl.InstallDeviceChain(ctx, append(issueGo(t, cvc.Template{CAR: big.dv.CHR, CHR: req.CHR, Key: devKey,
		WithDomain: true, Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, big.dvKey).Raw, big.dv.Raw...)); !errors.Is(err, apdu.ErrNotEnoughMemory) {
		t.Errorf("chain over 1024 bytes: %v, want 6A84", err)
	}

	// PSO VERIFY CERTIFICATE under the DV, holders on three curves, signed by Go.
	if err := cl.SelectVerifier(ctx, ca.dv.CHR); err != nil {
		t.Fatal(err)
	}
	holder := func(chr string, curve elliptic.Curve, from, to time.Time) *cvc.Certificate {
		return ca.holder(t, chr, curve, from, to)
	}
	good := holder("ZZGOTR00001", elliptic.P256(), eff, exp)
	tampered := append([]byte(nil), good.Raw...)
	tampered[len(tampered)-1] ^= 0x01
	expired := holder("ZZGOTR00002", elliptic.P521(), eff.AddDate(-5, 0, 0), eff.AddDate(0, 0, -1))
	cases := []struct {
		name string
		cert []byte
		want error
	}{
		{"bad signature", tampered, apdu.ErrConditions},
		{"expired", expired.Raw, apdu.ErrConditions},
		{"malformed TLV", []byte{0x7F, 0x21, 0x08, 0x7F, 0x4E, 0x02, 0x5F, 0x29}, apdu.ErrReferenceDataUnusable},
		{"malformed body", []byte{0x7F, 0x21, 0x07, 0x7F, 0x4E, 0x00, 0x5F, 0x37, 0x01, 0x00}, apdu.ErrReferenceDataUnusable},
		{"issued by another CA", issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: "ZZGOTR00009", Key: devKey, WithDomain: true,
			Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, other.dvKey).Raw, apdu.ErrConditions},
		{"good", good.Raw, nil},
		{"again: already trusted", good.Raw, nil},
		{"without its 7F21 header", contentOf(t, holder("ZZGOTR00003", elliptic.P384(), eff, exp).Raw), nil},
	}
	for _, tc := range cases {
		if err := cl.VerifyCertificate(ctx, tc.cert); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	ids, _ := cl.ListObjects(ctx)
	if !containsID(ids, 0xCA00) || !containsID(ids, 0xCA01) || !containsID(ids, 0xC800) || containsID(ids, 0xCA02) {
		t.Errorf("objects after two trusted certificates: %s", fidList(ids))
	}
	// Store full: device, DV, CA00, CA01.
	if err := cl.VerifyCertificate(ctx, holder("ZZGOTR00004", elliptic.P256(), eff, exp).Raw); !errors.Is(err, apdu.ErrNotEnoughMemory) {
		t.Errorf("trust store full: %v, want 6A84", err)
	}
	// Unknown CAR, no verifier, no data, wrong P1/P2; then the card still works.
	if err := cl.SelectVerifier(ctx, "ZZNOBODY00001"); !errors.Is(err, apdu.ErrReferenceNotFound) {
		t.Errorf("unknown CAR: %v, want 6A88", err)
	}
	if err := cl.VerifyCertificate(ctx, good.Raw); !errors.Is(err, apdu.ErrReferenceNotFound) {
		t.Errorf("no verifier: %v, want 6A88", err)
	}
	expectSW(t, c, mustHex("00 2A 00 BE"), 0x6700)
	expectSW(t, c, mustHex("00 2A 00 B0 01 00"), 0x6A86)
	expectSW(t, c, mustHex("00 22 80 B6 03 83 01 41"), 0x6A86)
	expectSW(t, c, mustHex("00 22 81 B6 03 83 05 41"), 0x6A80)
	stillWorks(t, c)
	// The trusted certificates persist: after a restart a PSO-trusted one is a verifier.
	stopCard(t, c)
	c, cl = cardOn(t, flash)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.SelectVerifier(testCtx(t), "ZZGOTR00001"); err != nil {
		t.Errorf("after restart: %v", err)
	}
	stillWorks(t, c)
}

// A CV certificate is trusted from a CA xx file only as PSO VERIFY CERTIFICATE stored it
// there: UPDATE BINARY needs only the user PIN (OpenSC keeps X.509 CA certificates in CA xx),
// so a certificate planted with it — well-formed, even rightly signed — is no verifier, and
// neither is a PSO-stored one rewritten, or deleted and written back. A re-INITIALIZE leaves
// no PSO-loaded certificate; the enrolled chain in 2F02 stays trusted.
func TestTrustOnlyWhatPSOStored(t *testing.T) {
	c, cl := cardOn(t, newFlash(t))
	defer stopCard(t, c)
	ctx := testCtx(t)
	initCard(t, cl)
	ca, _ := enrolGo(t, cl, "ZZPL")
	eff, exp := ca.dv.Effective, ca.dv.Expiry
	subKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sub := issueGo(t, cvc.Template{CAR: ca.dv.CHR, CHR: "ZZPLSUB00001", Key: pubOf(t, subKey), WithDomain: true,
		Access: cvc.AccessDV, Effective: eff, Expiry: exp}, ca.dvKey)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issueGo(t, cvc.Template{CAR: sub.CHR, CHR: "ZZPLTR00001", Key: pubOf(t, leafKey), WithDomain: true,
		Access: cvc.AccessTerminal, Effective: eff, Expiry: exp}, subKey)
	step := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	write := func(fid uint16, b []byte) {
		t.Helper()
		if err := cl.WriteFile(ctx, fid, b); err != nil {
			t.Fatal(err)
		}
	}
	// loadSub loads sub through PSO under the DV; it is then a verifier.
	loadSub := func(when string) {
		t.Helper()
		step(when+": MSE SET, DV", cl.SelectVerifier(ctx, ca.dv.CHR), nil)
		step(when+": PSO", cl.VerifyCertificate(ctx, sub.Raw), nil)
		step(when+": MSE SET after PSO", cl.SelectVerifier(ctx, sub.CHR), nil)
	}

	write(0xCA00, sub.Raw)
	step("MSE SET, planted", cl.SelectVerifier(ctx, sub.CHR), apdu.ErrReferenceNotFound)
	step("PSO of what the planted one signed, no verifier", cl.VerifyCertificate(ctx, leaf.Raw), apdu.ErrReferenceNotFound)
	step("MSE SET, DV", cl.SelectVerifier(ctx, ca.dv.CHR), nil)
	step("PSO of what the planted one signed, under the DV", cl.VerifyCertificate(ctx, leaf.Raw), apdu.ErrConditions)

	// Loaded properly: PSO stores it in the next free slot (CA01) and it is a verifier.
	step("PSO of the same certificate", cl.VerifyCertificate(ctx, sub.Raw), nil)
	if got := mustRead(t, cl, 0xCA01); !bytes.Equal(got, sub.Raw) {
		t.Errorf("CA01: %d bytes, not the certificate", len(got))
	}
	step("MSE SET, PSO-stored", cl.SelectVerifier(ctx, sub.CHR), nil)
	step("PSO of what it signed", cl.VerifyCertificate(ctx, leaf.Raw), nil)
	step("MSE SET, its subordinate", cl.SelectVerifier(ctx, leaf.CHR), nil)

	// A change through the file interface withdraws the trust for good.
	write(0xCA02, leaf.Raw) // the same bytes
	step("MSE SET, rewritten", cl.SelectVerifier(ctx, leaf.CHR), apdu.ErrReferenceNotFound)
	if err := cl.DeleteFile(ctx, 0xCA01); err != nil {
		t.Fatal(err)
	}
	write(0xCA01, sub.Raw)
	step("MSE SET, deleted and written back", cl.SelectVerifier(ctx, sub.CHR), apdu.ErrReferenceNotFound)

	// Re-INITIALIZE: no PSO-loaded certificate left, the chain still trusted.
	loadSub("before re-INITIALIZE")
	initCard(t, cl)
	if ids, _ := cl.ListObjects(ctx); containsID(ids, 0xCA03) {
		t.Errorf("objects after INITIALIZE: %s", fidList(ids))
	}
	step("MSE SET after re-INITIALIZE", cl.SelectVerifier(ctx, sub.CHR), apdu.ErrReferenceNotFound)
	write(0xCA00, sub.Raw)
	step("MSE SET, planted after re-INITIALIZE", cl.SelectVerifier(ctx, sub.CHR), apdu.ErrReferenceNotFound)
	loadSub("after re-INITIALIZE")
	stillWorks(t, c)
}

// contentOf is the value of the one TLV in b (a certificate without its 7F21 header).
func contentOf(t *testing.T, b []byte) []byte {
	t.Helper()
	l, err := tlv.Parse(b)
	if err != nil || len(l) != 1 {
		t.Fatalf("% X: %v", b, err)
	}
	return l[0].Value
}

// Spec 5.4: an unwrapped (imported) RSA or EC key gets its attestation in CE<id> too, signed
// by the importing device's key; the inner request carries the same public key.
func TestUnwrapAttestation(t *testing.T) {
	ctx := testCtx(t)
	a := dkekCard(t, 1, dkekShareA)
	b := dkekCard(t, 1, dkekShareA)
	_, devB := devKeyOf(t, b, nil)
	for _, k := range []struct {
		id  byte
		gen func() (*hsm.GeneratedKey, error)
	}{
		{1, func() (*hsm.GeneratedKey, error) {
			return a.GenerateEC(ctx, 1, "brainpoolP256r1", hsm.KeyOptions{})
		}},
		{2, func() (*hsm.GeneratedKey, error) {
			return a.GenerateRSA(ctx, 2, 1024, hsm.KeyOptions{})
		}},
	} {
		g, err := k.gen()
		if err != nil {
			t.Fatal(err)
		}
		blob, err := a.WrapKey(ctx, k.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.UnwrapKey(ctx, k.id, blob, false); err != nil {
			t.Fatal(err)
		}
		req, err := b.Attestation(ctx, k.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := req.VerifyOuter(devB); err != nil {
			t.Errorf("key %d: outer signature by device B: %v", k.id, err)
		}
		if err := req.Request.VerifySelfSigned(); err != nil {
			t.Errorf("key %d: self-signature: %v", k.id, err)
		}
		got, want := req.Request.PublicKey, g.Request.Request.PublicKey
		if !bytes.Equal(got.Point, want.Point) || (got.N != nil) != (want.N != nil) || (got.N != nil && got.N.Cmp(want.N) != 0) {
			t.Errorf("key %d: attested public key differs from the wrapped one", k.id)
		}
	}
}
