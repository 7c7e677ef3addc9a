package cvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"
	"time"
)

type pki struct {
	rootKey, dvKey, devKey *ecdsa.PrivateKey
	root, dv, dev          *Certificate
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func mustKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustIssue(t *testing.T, tpl Template, signer *ecdsa.PrivateKey) *Certificate {
	t.Helper()
	raw, err := Issue(tpl, signer)
	if err != nil {
		t.Fatalf("issue %s: %v", tpl.CHR, err)
	}
	c, err := Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", tpl.CHR, err)
	}
	return c
}

func pub(t *testing.T, k *ecdsa.PrivateKey) *PublicKey {
	t.Helper()
	p, err := ECPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newPKI(t *testing.T, devDomain bool) *pki {
	// A key without domain parameters inherits its issuer's curve: then the DV is on P-256 too.
	dvCurve := elliptic.P384()
	if !devDomain {
		dvCurve = elliptic.P256()
	}
	p := &pki{rootKey: mustKey(t, elliptic.P256()), dvKey: mustKey(t, dvCurve), devKey: mustKey(t, elliptic.P256())}
	eff, exp := day(2026, 1, 1), day(2040, 12, 31)
	p.root = mustIssue(t, Template{CAR: "ZZTESTCA00001", CHR: "ZZTESTCA00001", Key: pub(t, p.rootKey), WithDomain: true,
		Access: AccessCA, Effective: eff, Expiry: exp}, p.rootKey)
	p.dv = mustIssue(t, Template{CAR: "ZZTESTCA00001", CHR: "ZZTESTDV00001", Key: pub(t, p.dvKey), WithDomain: true,
		Access: AccessDV, Effective: eff, Expiry: exp}, p.rootKey)
	p.dev = mustIssue(t, Template{CAR: "ZZTESTDV00001", CHR: "ZZPABCDEFGH00001", Key: pub(t, p.devKey), WithDomain: devDomain,
		Access: AccessTerminal, Effective: eff, Expiry: exp}, p.dvKey)
	return p
}

// The encoding is what the package's parser and crypto/ecdsa (independently of Verify) accept.
func TestIssueCrossCheck(t *testing.T) {
	p := newPKI(t, true)
	for _, c := range []struct {
		cert   *Certificate
		signer *ecdsa.PrivateKey
		n      int
	}{{p.root, p.rootKey, 32}, {p.dv, p.rootKey, 32}, {p.dev, p.dvKey, 48}} {
		if len(c.cert.Signature) != 2*c.n {
			t.Fatalf("%s: signature %d bytes, want %d", c.cert.CHR, len(c.cert.Signature), 2*c.n)
		}
		h := sha256.Sum256(c.cert.Body)
		r := new(big.Int).SetBytes(c.cert.Signature[:c.n])
		s := new(big.Int).SetBytes(c.cert.Signature[c.n:])
		if !ecdsa.Verify(&c.signer.PublicKey, h[:], r, s) {
			t.Errorf("%s: crypto/ecdsa rejects the signature", c.cert.CHR)
		}
		if c.cert.Body[0] != 0x7F || c.cert.Body[1] != 0x4E || c.cert.CPI != 0 || c.cert.CHAT == nil {
			t.Errorf("%s: body % X...", c.cert.CHR, c.cert.Body[:4])
		}
	}
	if !p.dev.Effective.Equal(day(2026, 1, 1)) || !p.dev.Expiry.Equal(day(2040, 12, 31)) {
		t.Errorf("dates %v %v", p.dev.Effective, p.dev.Expiry)
	}
	if string(p.dv.CHAT.Access) != string(AccessDV) || string(p.dv.CHAT.Role) != string(RoleOID) {
		t.Errorf("DV CHAT %+v", p.dv.CHAT)
	}
}

func TestVerifyChain(t *testing.T) {
	now := day(2027, 6, 1)
	for _, devDomain := range []bool{true, false} {
		p := newPKI(t, devDomain)
		k, err := VerifyChain([]*Certificate{p.dev, p.dv}, p.root, now)
		if err != nil {
			t.Fatalf("domain %v: %v", devDomain, err)
		}
		if k.Curve == nil || k.Curve.Name != "secp256r1" {
			t.Fatalf("device key curve %v (inherited %v)", k.Curve, !devDomain)
		}
		// The resolved key verifies the device's signatures.
		msg := []byte("outer")
		sig, err := SignECDSA(p.devKey, msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.verify(msg, sig, "msg"); err != nil {
			t.Errorf("resolved device key: %v", err)
		}
	}

	p, q := newPKI(t, true), newPKI(t, true)
	cases := []struct {
		name  string
		chain []*Certificate
		root  *Certificate
		now   time.Time
		want  error
	}{
		{"other root", []*Certificate{p.dev, p.dv}, q.root, now, ErrSignature},
		{"other DV", []*Certificate{p.dev, q.dv}, p.root, now, ErrSignature},
		{"missing DV", []*Certificate{p.dev}, p.root, now, ErrChain},
		{"DV as root", []*Certificate{p.dev}, p.dv, now, ErrChain},
		{"expired", []*Certificate{p.dev, p.dv}, p.root, day(2041, 1, 1), ErrChain},
		{"not yet valid", []*Certificate{p.dev, p.dv}, p.root, day(2025, 12, 31), ErrChain},
		{"empty", nil, p.root, now, ErrChain},
	}
	for _, c := range cases {
		if _, err := VerifyChain(c.chain, c.root, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A tampered body.
	raw := append([]byte(nil), p.dev.Raw...)
	raw[20] ^= 1
	if bad, err := Parse(raw); err == nil {
		if _, err := VerifyChain([]*Certificate{bad, p.dv}, p.root, now); err == nil {
			t.Error("tampered device certificate verified")
		}
	}
}

func TestIssueErrors(t *testing.T) {
	k := mustKey(t, elliptic.P256())
	pk := pub(t, k)
	for _, tpl := range []Template{
		{CAR: "", CHR: "X", Key: pk},
		{CAR: "A", CHR: "THIS-NAME-IS-TOO-LONG", Key: pk},
		{CAR: "A", CHR: "B"},
		{CAR: "A", CHR: "B", Key: pk, Effective: day(2030, 1, 1), Expiry: day(2029, 1, 1)},
		{CAR: "A", CHR: "B", Key: pk, Effective: day(1999, 1, 1), Expiry: day(2029, 1, 1)},
	} {
		if _, err := Issue(tpl, k); err == nil {
			t.Errorf("%+v issued", tpl)
		}
	}
}
