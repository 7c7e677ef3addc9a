package conformance

// Secure lock (pico-hsm-extensions.md 3.8): envelopes built with crypto/ecdh, x/crypto/hkdf and
// the RFC 8439 AEAD (hsm.LockEnvelope) and opened by the device's mbedTLS; a locked device
// refuses key use after the PIN alone, the right host secret restores it for the session, the
// wrong one and a tampered envelope do not; INITIALIZE is refused; the lock survives a restart
// while the unlock does not; disable restores normal operation; every status word checked.

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

func TestSecureLock(t *testing.T) {
	flash := filepath.Join(t.TempDir(), "flash.bin")
	c, cl := cardOn(t, flash)
	ctx := testCtx(t)
	initCard(t, cl)
	g, err := cl.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := g.Public.(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("locked to one host"))
	signs := func(want error) {
		t.Helper()
		sig, err := cl.Sign(ctx, 1, hsm.AlgECDSA, digest[:])
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("sign: %v, want %v", err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("signature does not verify with crypto/ecdsa")
		}
	}
	secret, _ := hsm.NewLockSecret()
	wrong, _ := hsm.NewLockSecret()
	locked := func(want bool) {
		t.Helper()
		info, err := cl.SelectApplet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Options&hsm.OptionSecureLock != 0; got != want {
			t.Fatalf("option 0400 = %v, want %v", got, want)
		}
	}
	verifyBoth := func() {
		t.Helper()
		login(t, cl)
		if err := cl.Verify(ctx, hsm.SOPIN, soPIN); err != nil {
			t.Fatal(err)
		}
	}

	runSteps(t, c, []step{
		{name: "envelope without agreement", apdu: cmd(mustHex("80 64 3A 02 30"), make([]byte, 48)), sw: 0x6986},
		{name: "agreement without data", apdu: mustHex("80 64 3A 01"), sw: 0x6700},
		{name: "agreement with a point off the curve", apdu: cmd(mustHex("80 64 3A 01 41 04"), make([]byte, 64)), sw: 0x6700},
		{name: "other P2", apdu: cmd(mustHex("80 64 3A 07 30"), make([]byte, 48)), sw: 0x9000},
		{name: "OTP sub-command", apdu: mustHex("80 64 4C 00 02 00 00"), sw: 0x6A86},
	})
	// A short envelope and a tampered one (6700), each consuming the agreement.
	host, dev, err := cl.LockAgree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := hsm.LockEnvelope(host, dev, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.LockSend(ctx, 0x02, env[:47]); !errors.Is(err, apdu.ErrWrongLength) {
		t.Fatalf("short envelope: %v, want 6700", err)
	}
	if err := cl.LockSend(ctx, 0x02, env); !errors.Is(err, apdu.ErrCommandNotAllowed) {
		t.Fatalf("replayed envelope: %v, want 6986", err)
	}
	host, dev, _ = cl.LockAgree(ctx)
	env, _ = hsm.LockEnvelope(host, dev, secret)
	env[40] ^= 1
	if err := cl.LockSend(ctx, 0x02, env); !errors.Is(err, apdu.ErrWrongLength) {
		t.Fatalf("tampered envelope: %v, want 6700", err)
	}
	// Enable needs both PINs.
	login(t, cl)
	if err := cl.LockEnable(ctx, secret); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("enable with the user PIN only: %v, want 6982", err)
	}
	locked(false)
	verifyBoth()
	if err := cl.LockEnable(ctx, secret); err != nil {
		t.Fatal(err)
	}
	signs(nil) // this session holds the secret
	locked(true)

	// A new session: PIN alone, wrong secret, tampered envelope, INITIALIZE: all refused.
	login(t, cl)
	signs(apdu.ErrSecurityStatus)
	if err := cl.LockUnlock(ctx, wrong); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("unlock with the wrong secret: %v, want 6982", err)
	}
	signs(apdu.ErrSecurityStatus)
	host, dev, _ = cl.LockAgree(ctx)
	env, _ = hsm.LockEnvelope(host, dev, secret)
	env[0] ^= 1
	if err := cl.LockSend(ctx, 0x03, env); !errors.Is(err, apdu.ErrWrongLength) {
		t.Fatalf("tampered unlock: %v, want 6700", err)
	}
	signs(apdu.ErrSecurityStatus)
	if _, err := cl.GenerateEC(ctx, 2, "secp256r1", hsm.KeyOptions{}); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("generate while locked: %v, want 6982", err)
	}
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3}
	if err := cl.Initialize(ctx, p); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("INITIALIZE while locked: %v, want 6982", err)
	}
	login(t, cl)
	if err := cl.LockUnlock(ctx, secret); err != nil {
		t.Fatal(err)
	}
	signs(nil)

	// Restart: still locked; the unlock was for that session only.
	stopCard(t, c)
	c, cl = cardOn(t, flash)
	defer stopCard(t, c)
	locked(true)
	login(t, cl)
	signs(apdu.ErrSecurityStatus)
	if err := cl.LockUnlock(ctx, secret); err != nil {
		t.Fatal(err)
	}
	signs(nil)

	// Disable: the wrong secret changes nothing; the right one with both PINs unlocks for good.
	verifyBoth()
	if err := cl.LockDisable(ctx, wrong); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("disable with the wrong secret: %v, want 6982", err)
	}
	locked(true)
	verifyBoth()
	if err := cl.LockDisable(ctx, secret); err != nil {
		t.Fatal(err)
	}
	locked(false)
	login(t, cl)
	signs(nil)
	if err := cl.LockUnlock(ctx, wrong); err != nil {
		t.Fatalf("unlock of an unlocked device: %v, want no effect", err)
	}
	stillWorks(t, c)
}
