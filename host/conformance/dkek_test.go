package conformance

// DKEK shares, WRAP KEY and UNWRAP KEY between two emulators (spec smartcard-hsm-core.md
// 2.10, 2.14, 2.15, 4; pico-hsm-extensions.md 4.2), checked against the host-side blob codec
// of package dkek.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

var (
	dkekShareA = bytes.Repeat([]byte{0x3C}, 32)
	dkekShareB = append(bytes.Repeat([]byte{0x01}, 16), bytes.Repeat([]byte{0xF0}, 16)...)
)

// dkekCard starts an emulator initialised for n DKEK shares, imports shares, and logs in.
func dkekCard(t *testing.T, n int, shares ...[]byte) *hsm.Client {
	t.Helper()
	cl := client(startCard(t))
	ctx := testCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3, DKEKShares: &n}
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i, s := range shares {
		st, err := cl.ImportDKEKShare(ctx, 0, s)
		if err != nil {
			t.Fatalf("share %d: %v", i+1, err)
		}
		if st.Total != n || st.Missing != n-i-1 {
			t.Fatalf("after share %d: %+v, want total %d missing %d", i+1, st, n, n-i-1)
		}
	}
	login(t, cl)
	return cl
}

func signVerify(t *testing.T, cl *hsm.Client, id byte, pub crypto.PublicKey) {
	t.Helper()
	digest := sha256.Sum256([]byte("dkek round trip"))
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		di := append(mustHex("3031300D060960864801650304020105000420"), digest[:]...)
		sig, err := cl.Sign(testCtx(t), id, hsm.AlgRSAPKCS1, di)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("key %02X: %v", id, err)
		}
	case *ecdsa.PublicKey:
		sig, err := cl.Sign(testCtx(t), id, hsm.AlgECDSA, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatalf("key %02X: ECDSA signature does not verify", id)
		}
	default:
		t.Fatalf("key type %T", pub)
	}
}

// Spec 4.1: two devices with the same shares share the DKEK; a key wrapped on one unwraps
// on the other and signs with the same public key. The host codec decodes the card's blob
// with the DKEK rebuilt from the shares and builds blobs the card accepts.
func TestDKEKWrapUnwrap(t *testing.T) {
	a := dkekCard(t, 2, dkekShareA, dkekShareB)
	b := dkekCard(t, 2, dkekShareB, dkekShareA) // order does not matter
	k, _ := dkek.FromShares(dkekShareA, dkekShareB)
	ctx := genCtx(t)

	stA, err := a.DKEKStatus(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := k.KCV(); stA.KCV != want || !stA.Complete() {
		t.Fatalf("status %+v, want complete with KCV %X", stA, want)
	}

	gR, err := a.GenerateRSA(ctx, 1, 2048, hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gE, err := a.GenerateEC(ctx, 2, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		id, to   byte
		pub      crypto.PublicKey
		typ      byte
		transfer bool
	}{
		{"RSA-2048 direct", 1, 11, gR.Public, dkek.TypeRSA, false},
		{"P-256 via EF 2F10", 2, 12, gE.Public, dkek.TypeEC, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob, err := a.WrapKey(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := k.Unwrap(blob)
			if err != nil {
				t.Fatalf("host decode of the card's blob: %v", err)
			}
			if dec.Type != tc.typ {
				t.Errorf("blob type %02X, want %02X", dec.Type, tc.typ)
			}
			var hostPub crypto.PublicKey
			switch key := dec.Key.(type) {
			case *rsa.PrivateKey:
				hostPub = &key.PublicKey
			case *dkek.ECKey:
				e, err := key.ECDSA()
				if err != nil {
					t.Fatal(err)
				}
				hostPub = &e.PublicKey
			}
			if !hostPub.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.pub) {
				t.Fatal("the blob's key is not the generated key")
			}
			if err := b.UnwrapKey(ctx, tc.to, blob, tc.transfer); err != nil {
				t.Fatal(err)
			}
			signVerify(t, a, tc.id, tc.pub)
			signVerify(t, b, tc.to, tc.pub)

			// A blob built on the host imports too (what keys import does).
			hostBlob, err := k.Wrap(dec.Key, dkek.WrapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.UnwrapKey(ctx, tc.to+100, hostBlob, !tc.transfer); err != nil {
				t.Fatalf("unwrap of a host-made blob: %v", err)
			}
			signVerify(t, b, tc.to+100, tc.pub)
		})
	}

	// Every status word: occupied key number 6A89, wrong DKEK 6A80 (object list unchanged),
	// CMAC 6A80, repeated share 6986, bad share length 6700, no PIN 6982, no DKEK 6A88.
	blob, err := a.WrapKey(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("occupied key number 6A89", func(t *testing.T) {
		expectCardErr(t, "unwrap into key 11", b.UnwrapKey(ctx, 11, blob, false), 0x6A89)
	})
	t.Run("bad CMAC 6A80", func(t *testing.T) {
		bad := append([]byte(nil), blob...)
		bad[len(bad)-1] ^= 1
		expectCardErr(t, "unwrap", b.UnwrapKey(ctx, 30, bad, false), 0x6A80)
	})
	t.Run("share after completion 6986", func(t *testing.T) {
		_, err := a.ImportDKEKShare(ctx, 0, dkekShareA)
		expectCardErr(t, "third share", err, 0x6986)
		st, err := a.DKEKStatus(ctx, 0)
		if err != nil || st.KCV != k.KCV() {
			t.Fatalf("status after refused share %+v, %v", st, err)
		}
	})
	t.Run("share of 31 bytes 6700", func(t *testing.T) {
		expectSW(t, a.Transport(), cmd(mustHex("80 52 00 00"), lc(dkekShareA[:31])), 0x6700)
	})
	t.Run("other DKEK 6A80, nothing created", func(t *testing.T) {
		c := dkekCard(t, 1, dkekShareA)
		before, err := c.ListObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		expectCardErr(t, "unwrap", c.UnwrapKey(ctx, 5, blob, false), 0x6A80)
		expectCardErr(t, "unwrap via 2F10", c.UnwrapKey(ctx, 5, blob, true), 0x6A80)
		after, err := c.ListObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range after {
			if !containsID(before, id) && id != hsm.FIDWrapBuffer {
				t.Errorf("object %04X appeared after a refused unwrap (before %s, after %s)", id, fidList(before), fidList(after))
			}
		}
	})
	t.Run("incomplete DKEK 6A88", func(t *testing.T) {
		c := dkekCard(t, 2, dkekShareA)
		if _, err := c.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := c.WrapKey(ctx, 1)
		expectCardErr(t, "wrap", err, 0x6A88)
		expectCardErr(t, "unwrap", c.UnwrapKey(ctx, 2, blob, false), 0x6A88)
	})
	t.Run("no PIN 6982", func(t *testing.T) {
		c := dkekCard(t, 1, dkekShareA)
		if _, err := c.SelectApplet(ctx); err != nil { // a new session: PIN not verified
			t.Fatal(err)
		}
		_, err := c.WrapKey(ctx, 1)
		expectCardErr(t, "wrap", err, 0x6982)
		expectCardErr(t, "unwrap", c.UnwrapKey(ctx, 2, blob, false), 0x6982)
		// Importing a share needs no PIN; the status query neither.
		if _, err := c.DKEKStatus(ctx, 0); err != nil {
			t.Fatal(err)
		}
	})
}

// Spec 4.3 with the card's random numbers in the order sc-hsm-tool asks for them: a 3-of-5
// split of the share file's password; every 3 shares rebuild it and open the file, 2 do not.
func TestDKEKPasswordShares(t *testing.T) {
	cl := client(startCard(t))
	ctx := testCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	rnd := &cardRand{ctx: ctx, cl: cl}
	sp, err := dkek.SplitNewPassword(rnd, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	salt, _ := cl.GetChallenge(ctx, 8)
	share, _ := cl.GetChallenge(ctx, 32)
	file, err := dkek.CreateShareFile(context.Background(), testKDF, share, salt, sp.Password)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			pw2, err := dkek.CombinePassword(sp.Prime, []dkek.PasswordShare{sp.Shares[i], sp.Shares[j]})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(pw2, sp.Password) {
				t.Errorf("shares %d,%d rebuilt the password", i+1, j+1)
			}
			for l := j + 1; l < 5; l++ {
				pw, err := dkek.CombinePassword(sp.Prime, []dkek.PasswordShare{sp.Shares[l], sp.Shares[i], sp.Shares[j]})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pw, sp.Password) {
					t.Fatalf("shares %d,%d,%d: % X, want % X", i+1, j+1, l+1, pw, sp.Password)
				}
				got, err := dkek.OpenShareFile(context.Background(), testKDF, file, pw)
				if err != nil || !bytes.Equal(got, share) {
					t.Fatalf("open with shares %d,%d,%d: %v", i+1, j+1, l+1, err)
				}
				opened++
			}
		}
	}
	if opened != 10 {
		t.Fatalf("%d triples", opened)
	}
}

// testKDF shares share-file key derivations (seconds each) across the package's tests.
var testKDF = &dkek.KDFCache{}

// cardRand reads GET CHALLENGE as an io.Reader.
type cardRand struct {
	ctx context.Context
	cl  *hsm.Client
}

func (r *cardRand) Read(p []byte) (int, error) {
	n := min(len(p), 256)
	b, err := r.cl.GetChallenge(r.ctx, n)
	return copy(p, b), err
}
