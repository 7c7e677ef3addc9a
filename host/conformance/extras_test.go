package conformance

// EXTRAS (pico-hsm-extensions.md 3.1-3.4), press-to-confirm (3.5) and the rescue applet
// (3.9) through the emulator. The emulator's button is SIGUSR1 (firmware/platform/host/
// presence.c); PICO_HSM_BUTTON_TIMEOUT_MS shortens its waits so a "not pressed" case takes
// one second instead of fifteen.

import (
	"context"
	"encoding/hex"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

const buttonWindow = 1000 * time.Millisecond

// withPress runs op while pressing the emulator's button every 50 ms until op returns.
func withPress(t *testing.T, c *emu.Card, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if err := syscall.Kill(c.Proc.Pid(), syscall.SIGUSR1); err != nil {
				t.Fatalf("press: %v", err)
			}
		}
	}
}

// Options: read, set bits, persisted across an emulator restart, reported in the SELECT
// FCI; the secure-lock bit cannot be set by a raw write; errors.
func TestExtrasOptions(t *testing.T) {
	bin := emulatorPath(t)
	flash := newFlash(t)
	ctx0, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := startOn(ctx0, bin, flash)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	if o, err := cl.Options(ctx); err != nil || o != 0x0001 {
		t.Fatalf("options after INITIALIZE: %04X, %v", o, err)
	}
	if err := cl.SetOption(ctx, hsm.OptCounterAllKeys, true); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetDynamicOptions(ctx, 0x06); err != nil { // 0400 must not stick
		t.Fatal(err)
	}
	if o, err := cl.Options(ctx); err != nil || o != 0x0201 {
		t.Fatalf("options: %04X, %v; want 0201", o, err)
	}
	c = restart(t, c, flash)
	cl = client(c)
	info, err := cl.SelectApplet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	login(t, cl)
	if o, err := cl.Options(ctx); err != nil || o != 0x0201 {
		t.Errorf("options after restart: %04X, %v; want 0201 (FCI %+v)", o, err, info)
	}
	for _, tc := range []struct {
		apdu string
		sw   uint16
	}{
		{"80 64 06 01 00", 0x6A86},
		{"80 64 06 00 02 0100", 0x6700},
		{"80 64 4C 00 02 00C0", 0x6A86}, // OTP stays unavailable (spec 3.3)
		{"80 64 3A 01 00", 0x6700},      // secure lock key agreement without a point (3.8)
		{"80 64 99 00 00", 0x6A86},
		{"80 64 0A 00 07 07E8011D000C22", 0x6700},
		{"80 64 0A 01 00", 0x6A86},
		{"80 64 1B 00 03 2E8A10", 0x6700},
		{"80 64 1B 09 01 00", 0x6A86},
		{"80 64 FB 00 01 00", 0x6700},
	} {
		expectSW(t, c, mustHex(tc.apdu), tc.sw)
	}
	// Without the PIN: 6982, except memory and PHY (spec 3.1).
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = cl.Options(ctx)
	expectCardErr(t, "options without PIN", err, 0x6982)
	if m, err := cl.Memory(ctx); err != nil || m.Free+m.Used != m.Total || m.Files == 0 || m.FlashSize == 0 {
		t.Errorf("memory report without PIN: %+v, %v", m, err)
	}
	if err := cl.SetPHYField(ctx, hsm.PHYVidPid, mustHex("2E8A10FD")); err != nil {
		t.Error(err)
	}
	if err := cl.SetPHYField(ctx, hsm.PHYLEDGPIO, []byte{25}); err != nil {
		t.Error(err)
	}
	if phy, err := cl.PHY(ctx); err != nil || hex.EncodeToString(phy) != "00042e8a10fd040119" {
		t.Errorf("PHY record %X, %v", phy, err)
	}
}

// Clock: set and read back through EXTRAS 0A and through the rescue applet.
func TestExtrasClock(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	// The emulator starts with the host's clock (spec 3.4).
	if now, err := cl.Clock(ctx); err != nil || absDur(time.Since(now)) > 5*time.Second {
		t.Errorf("clock at start: %v, %v", now, err)
	}
	want := time.Date(2031, time.December, 31, 23, 59, 50, 0, time.UTC)
	if err := cl.SetClock(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := cl.Clock(ctx)
	if err != nil || got.Before(want) || got.Sub(want) > 2*time.Second {
		t.Errorf("clock %v, %v; want %v", got, err, want)
	}
	raw := expectSW(t, c, mustHex("80 64 0A 00 00"), 0x9000)
	if len(raw) != 8 || raw[4] != byte(got.Weekday()) {
		t.Errorf("broken-down time %X: weekday of %v is %d", raw, got, got.Weekday())
	}
	// Rescue applet: Unix time, and the same clock.
	if _, err := cl.SelectRescue(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := cl.RescueClock(ctx); err != nil || r.Before(want) || r.Sub(want) > 3*time.Second {
		t.Errorf("rescue clock %v, %v", r, err)
	}
	want2 := time.Date(2027, time.March, 1, 8, 0, 0, 0, time.UTC)
	if err := cl.RescueSetClock(ctx, want2); err != nil {
		t.Fatal(err)
	}
	if r, err := cl.RescueClock(ctx); err != nil || r.Before(want2) || r.Sub(want2) > 2*time.Second {
		t.Errorf("rescue clock %v, %v; want %v", r, err, want2)
	}
	bd := expectSW(t, c, mustHex("80 1E 04 01 00"), 0x9000)
	if d, err := hsm.DecodeDeviceTime(bd); err != nil || d.Sub(want2) > 2*time.Second || d.Before(want2) {
		t.Errorf("rescue broken-down time %X = %v, %v", bd, d, err)
	}
	expectSW(t, c, mustHex("80 1C 02 02 03 010203"), 0x6700)
	expectSW(t, c, mustHex("80 1C 02 03 04 01020304"), 0x6A86)
	expectSW(t, c, mustHex("80 1E 04 03 00"), 0x6A86)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Press-to-confirm: with the option on, SIGN waits for the button; pressed -> the signature,
// not pressed -> 6600 after the window; EXTRAS waits too.
func TestPressToConfirm(t *testing.T) {
	t.Setenv("PICO_HSM_BUTTON_TIMEOUT_MS", "1000")
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	path := hsm.BIP32Path(0, []uint32{7})
	if err := cl.CreateHDMaster(ctx, hsm.HDP256, 0, []byte("press to confirm")); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetOption(ctx, hsm.OptPressToConfirm, true); err != nil {
		t.Fatal(err)
	}
	// Not pressed: 6600 after about the window; the node stays selected.
	if err := cl.SelectHD(ctx, path); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := cl.SignHD(ctx, 0, make([]byte, 32))
	if el := time.Since(start); !errors.Is(err, apdu.ErrPresence) || el < buttonWindow-100*time.Millisecond {
		t.Fatalf("sign without a press: %v after %v; want 6600 after ~%v", err, el, buttonWindow)
	}
	// Pressed: the signature.
	var sig []byte
	if err := withPress(t, c, func() (e error) { sig, e = cl.SignHD(ctx, 0, make([]byte, 32)); return }); err != nil || len(sig) < 8 {
		t.Fatalf("sign with a press: %X, %v", sig, err)
	}
	// EXTRAS waits too (after its PIN check).
	_, err = cl.Options(ctx)
	expectCardErr(t, "options without a press", err, 0x6600)
	if err := withPress(t, c, func() error { return cl.SetOption(ctx, hsm.OptPressToConfirm, false) }); err != nil {
		t.Fatal(err)
	}
	// Off: no wait.
	if err := cl.SelectHD(ctx, path); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := cl.SignHD(ctx, 0, make([]byte, 32)); err != nil || time.Since(start) > 500*time.Millisecond {
		t.Errorf("sign with the option off: %v after %v", err, time.Since(start))
	}
}

// Rescue applet: SELECT answer, its commands, bad input, reboot.
func TestRescueApplet(t *testing.T) {
	t.Setenv("PICO_HSM_BUTTON_TIMEOUT_MS", "1000")
	c := startCard(t)
	cl := client(c)
	initCard(t, cl)
	ctx := testCtx(t)
	info, err := cl.SelectRescue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Platform != hsm.PlatformEmulation || info.Product != 0x01 || info.Major != 6 || info.Minor != 6 ||
		info.ChipID == [8]byte{} {
		t.Errorf("rescue SELECT answer %+v", info)
	}
	if again, err := cl.SelectRescue(ctx); err != nil || again.ChipID != info.ChipID {
		t.Errorf("chip id not stable: %+v, %v", again, err)
	}
	for _, tc := range []struct {
		apdu string
		sw   uint16
	}{
		{"00 1E 01 00 00", 0x6E00},
		{"80 CA 00 00 00", 0x6D00},
		{"80 64 06 00 00", 0x6D00}, // HSM commands are not the rescue applet's
		{"80 1E 07 00 00", 0x6A86},
		{"80 1E 01 00 01 00", 0x6700},
		{"80 1C 01 00 01 00", 0x6700},
		{"80 1C 09 00 02 0000", 0x6A86},
		{"80 1F 02 00", 0x6A86},
		{"80 1F 00 00 01 00", 0x6700},
		{"80 10 02 00 00", 0x6A81},
		{"80 1E 03 00 00", 0x9000},
	} {
		expectSW(t, c, mustHex(tc.apdu), tc.sw)
	}
	m, err := cl.RescueFlashInfo(ctx)
	if err != nil || m.Free+m.Used != m.Total || m.Files == 0 {
		t.Errorf("flash info %+v, %v", m, err)
	}
	// PHY record: needs the button.
	rec := mustHex("00 04 2E8A10FD 08 01 0F")
	expectCardErr(t, "PHY write without a press", cl.RescueSetPHY(ctx, rec), 0x6985)
	if err := withPress(t, c, func() error { return cl.RescueSetPHY(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	if got, err := cl.RescuePHY(ctx); err != nil || hex.EncodeToString(got) != hex.EncodeToString(rec) {
		t.Errorf("PHY %X, %v", got, err)
	}
	// Reboot: the emulator resets the card state (no applet selected).
	if err := cl.RescueReboot(ctx, false); err != nil {
		t.Fatal(err)
	}
	expectSW(t, c, mustHex("80 1E 01 00 00"), 0x6D00)
	// Back to the HSM: the rescue SELECT ended its session.
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	expectSW(t, c, mustHex("80 64 06 00 00"), 0x6982)
	login(t, cl)
	if phy, err := cl.PHY(ctx); err != nil || hex.EncodeToString(phy) != hex.EncodeToString(rec) {
		t.Errorf("PHY through EXTRAS %X, %v", phy, err)
	}
}
