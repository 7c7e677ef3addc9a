package conformance

// The OTP root (Pico HSM's own EXTRAS F0; docs/security.md) end to end through the emulator,
// whose root is the write-once file <flash>.otp: provisioning guarded by the SO-PIN, the PIN
// wraps re-bound, keys made before provisioning still usable (signatures checked with Go's
// crypto/ecdsa), and the flash image moved next to no root or another root does not open with
// the right PIN.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

var (
	otpStatusAPDU    = mustHex("80 64 F0 00 00")
	otpProvisionNoSO = mustHex("80 64 F0 01 00")
)

func otpProvisionAPDU(so []byte) []byte { return cmd(mustHex("80 64 F0 01"), lc(so)) }

// otpStatusIs checks the 2-byte status answer: platform state, binding bits.
func otpStatusIs(state hsm.OTPState, bound byte) func([]byte) error {
	return dataIs([]byte{byte(state), bound})
}

// onCard starts the emulator on flash, runs fn, and stops it (checking a clean exit).
func onCard(t *testing.T, flash string, fn func(c *emu.Card)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := startOn(ctx, emulatorPath(t), flash)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("emulator did not exit cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", c.Proc.Output())
		}
	}()
	fn(c)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOTPRoot(t *testing.T) {
	flashA := filepath.Join(t.TempDir(), "emu.flash")
	var pub *ecdsa.PublicKey
	signs := func(t *testing.T, c *emu.Card) {
		t.Helper()
		msg := []byte("bound to the chip")
		sig, err := client(c).Sign(testCtx(t), 0x01, hsm.AlgECDSASHA256, msg)
		if err != nil || !ecdsa.VerifyASN1(pub, sum(crypto.SHA256, msg), sig) {
			t.Fatalf("key made before provisioning: sign %v", err)
		}
	}

	onCard(t, flashA, func(c *emu.Card) {
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "status before initialisation", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPBlank, 0)},
			{name: "initialize", apdu: initAPDU(0x0001, userPIN, soPIN, 3), sw: 0x9000},
		})
		g, err := client(c).GenerateEC(testCtx(t), 0x01, "secp256r1", hsm.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pub = g.Public.(*ecdsa.PublicKey)
		runSteps(t, c, []step{
			{name: "provision without the SO-PIN (user logged in)", apdu: otpProvisionNoSO, sw: 0x6982},
			{name: "provision with a wrong SO-PIN", apdu: otpProvisionAPDU(wrongSO), sw: tries(14)},
			{name: "provision with a 7-byte SO-PIN", apdu: otpProvisionAPDU(soPIN[:7]), sw: 0x6700},
			{name: "unknown P2", apdu: mustHex("80 64 F0 02 00"), sw: 0x6A86},
			{name: "legacy OTP stays unavailable", apdu: mustHex("80 64 4C 00 02 0F 00"), sw: 0x6A86},
			{name: "still blank", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPBlank, 0)},
			{name: "provision", apdu: otpProvisionAPDU(soPIN), sw: 0x9000},
			{name: "SO-PIN wrap bound at once", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPReady, 2)},
			{name: "provision twice", apdu: otpProvisionAPDU(soPIN), sw: 0x6985},
			{name: "SO-PIN try not spent", apdu: mustHex("00 20 00 88"), sw: tries(15)},
		})
		if b, err := os.ReadFile(flashA + ".otp"); err != nil || len(b) != 44 || !bytes.HasPrefix(b, []byte("PHSMOTP1")) {
			t.Fatalf("OTP file: %d bytes, %v", len(b), err)
		}
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "wrong user PIN counts", apdu: verifyAPDU(hsm.UserPIN, wrongPIN), sw: tries(2)},
			{name: "not re-bound by a wrong PIN", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPReady, 2)},
			{name: "right user PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
			{name: "user PIN wrap re-bound", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPReady, 3)},
		})
		signs(t, c)
	})
	// After a power cycle, on its own chip: both PINs verify, wrong ones count.
	onCard(t, flashA, func(c *emu.Card) {
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "status", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPReady, 3)},
			{name: "wrong SO-PIN", apdu: verifyAPDU(hsm.SOPIN, wrongSO), sw: tries(14)},
			{name: "right SO-PIN", apdu: verifyAPDU(hsm.SOPIN, soPIN), sw: 0x9000},
			{name: "right user PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
		})
		signs(t, c)
	})

	// The flash image on a chip without the root: fail closed, no try spent.
	flashB := filepath.Join(t.TempDir(), "emu.flash")
	copyFile(t, flashA, flashB)
	onCard(t, flashB, func(c *emu.Card) {
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "status", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPBlank, 3)},
			{name: "right user PIN, no root", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x6400},
			{name: "right SO-PIN, no root", apdu: verifyAPDU(hsm.SOPIN, soPIN), sw: 0x6400},
			{name: "no try spent", apdu: mustHex("00 20 00 81"), sw: tries(3)},
			{name: "no provisioning without the SO-PIN", apdu: otpProvisionAPDU(soPIN), sw: 0x6400},
		})
	})
	if _, err := os.Stat(flashB + ".otp"); !os.IsNotExist(err) {
		t.Errorf("OTP file next to the copy: %v", err)
	}

	// The flash image on a chip with another root: the right PIN is a wrong PIN there.
	flashC := filepath.Join(t.TempDir(), "emu.flash")
	onCard(t, flashC, func(c *emu.Card) {
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "initialize", apdu: initAPDU(0x0001, userPIN, soPIN, 3), sw: 0x9000},
			{name: "provision", apdu: otpProvisionAPDU(soPIN), sw: 0x9000},
		})
	})
	copyFile(t, flashA, flashC)
	onCard(t, flashC, func(c *emu.Card) {
		selectApplet(t, c)
		runSteps(t, c, []step{
			{name: "right user PIN, other root", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: tries(2)},
			{name: "right SO-PIN, other root", apdu: verifyAPDU(hsm.SOPIN, soPIN), sw: tries(14)},
		})
	})
}

func TestOTPPlatforms(t *testing.T) {
	t.Run("no OTP", func(t *testing.T) {
		t.Setenv("PICO_HSM_OTP", "none")
		onCard(t, newFlash(t), func(c *emu.Card) {
			selectApplet(t, c)
			runSteps(t, c, []step{
				{name: "initialize", apdu: initAPDU(0x0001, userPIN, soPIN, 3), sw: 0x9000},
				{name: "status", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPAbsent, 0)},
				{name: "provision", apdu: otpProvisionAPDU(soPIN), sw: 0x6A81},
				{name: "right user PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
			})
		})
	})
	t.Run("damaged", func(t *testing.T) {
		flash := newFlash(t)
		if err := os.WriteFile(flash+".otp", []byte("PHSMOTP1 torn"), 0o600); err != nil {
			t.Fatal(err)
		}
		onCard(t, flash, func(c *emu.Card) {
			selectApplet(t, c)
			runSteps(t, c, []step{
				{name: "initialize", apdu: initAPDU(0x0001, userPIN, soPIN, 3), sw: 0x9000},
				{name: "status", apdu: otpStatusAPDU, sw: 0x9000, check: otpStatusIs(hsm.OTPDamaged, 0)},
				{name: "provision", apdu: otpProvisionAPDU(soPIN), sw: 0x6986},
				{name: "right user PIN", apdu: verifyAPDU(hsm.UserPIN, userPIN), sw: 0x9000},
			})
		})
	})
}

// TestOTPClient drives the same through the typed client calls.
func TestOTPClient(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	ctx := testCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Initialize(ctx, hsm.InitParams{Options: hsm.OptionResetRetryCounter, Retries: 3, SOPIN: soPIN, UserPIN: userPIN}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProvisionOTP(ctx, soPIN); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
	st, err := cl.OTPStatus(ctx)
	if err != nil || *st != (hsm.OTPStatus{State: hsm.OTPReady, UserBound: true, SOBound: true}) {
		t.Fatalf("status %+v, %v", st, err)
	}
}
