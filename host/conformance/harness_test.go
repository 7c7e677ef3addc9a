package conformance

// The harness: one emulator per test, on its own flash file and its own vpcd reader port.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

const (
	// connectTimeout bounds the wait for the emulator to connect (it retries every ~100 ms).
	connectTimeout = 10 * time.Second
	// apduTimeout bounds one command round trip.
	apduTimeout = 10 * time.Second
)

// Spec 1.1: the standard SmartCard-HSM contact ATR, used by Pico HSM.
var wantATR = mustHex("3B FE 18 00 00 81 31 FE 45 80 31 81 54 48 53 4D 31 73 80 21 40 81 07 FA")

// Spec 1.3: the SmartCard-HSM application identifier.
const aidHex = "E8 2B 06 01 04 01 81 C3 1F 02 01"

// emulatorPath finds the emulator or fails the test, unless PICO_HSM_SKIP_EMU=1.
func emulatorPath(t testing.TB) string {
	t.Helper()
	if os.Getenv("PICO_HSM_SKIP_EMU") == "1" {
		t.Skip("PICO_HSM_SKIP_EMU=1: tests that need the emulator are skipped")
	}
	bin, err := emu.Find(filepath.Join("..", "..", emu.RelPath))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return bin
}

// newFlash returns a fresh flash file path in the test's temporary directory.
func newFlash(t testing.TB) string {
	return filepath.Join(t.TempDir(), "emu.flash")
}

// startCard starts an emulator on a fresh flash file, connected to a private vpcd reader and
// powered on. Cleanup stops it with SIGTERM and checks it exits cleanly.
func startCard(t testing.TB) *emu.Card {
	t.Helper()
	bin := emulatorPath(t)
	flash := newFlash(t)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := emu.StartCard(ctx, bin, flash)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		err := c.Close()
		if err != nil {
			t.Errorf("emulator did not exit cleanly on SIGTERM: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", c.Proc.Output())
		}
	})
	return c
}

// transmitter is what the helpers need: transport.Transport's Transmit.
type transmitter interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// tx sends one APDU and splits the answer into data and SW. Transport errors fail the test.
func tx(t testing.TB, c transmitter, apdu []byte) ([]byte, uint16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apduTimeout)
	defer cancel()
	resp, err := c.Transmit(ctx, apdu)
	if err != nil {
		t.Fatalf("transmit %s: %v", short(apdu), err)
	}
	n := len(resp)
	return resp[:n-2], uint16(resp[n-2])<<8 | uint16(resp[n-1])
}

// expectSW sends apdu and checks the status word; it returns the data.
func expectSW(t testing.TB, c transmitter, apdu []byte, want uint16) []byte {
	t.Helper()
	data, sw := tx(t, c, apdu)
	if sw != want {
		t.Fatalf("%s -> SW %04X (data %s), want %04X", short(apdu), sw, short(data), want)
	}
	return data
}

// selectApplet selects the SmartCard-HSM application with Le, as OpenSC does (spec 1.3.3),
// and checks the FCP.
func selectApplet(t testing.TB, c transmitter) []byte {
	t.Helper()
	fcp := expectSW(t, c, mustHex("00 A4 04 00 0B"+aidHex+"00"), 0x9000)
	if err := checkAppletFCP(fcp); err != nil {
		t.Fatalf("SELECT applet: %v", err)
	}
	return fcp
}

// checkAppletFCP applies OpenSC's acceptance rule (spec 1.1, 1.3.1): one FCP (62) whose
// proprietary tag 85 holds at least 2 bytes.
func checkAppletFCP(fcp []byte) error {
	top, err := tlv.Parse(fcp)
	if err != nil {
		return fmt.Errorf("FCP %X: %w", fcp, err)
	}
	if len(top) != 1 || top[0].Tag != 0x62 {
		return fmt.Errorf("FCP %X: want exactly one object with tag 62", fcp)
	}
	kids, err := top[0].Children()
	if err != nil {
		return fmt.Errorf("FCP %X: %w", fcp, err)
	}
	p, ok := tlv.Find(kids, 0x85)
	if !ok {
		return fmt.Errorf("FCP %X: no tag 85", fcp)
	}
	if len(p.Value) < 2 {
		return fmt.Errorf("FCP %X: tag 85 has %d bytes, OpenSC needs at least 2", fcp, len(p.Value))
	}
	return nil
}

// getChallenge sends GET CHALLENGE and checks it returns exactly n bytes and 9000.
func getChallenge(t testing.TB, c transmitter, apdu []byte, n int) []byte {
	t.Helper()
	data := expectSW(t, c, apdu, 0x9000)
	if len(data) != n {
		t.Fatalf("%s returned %d bytes, want %d", short(apdu), len(data), n)
	}
	return data
}

// stillWorks checks the card answers a SELECT of the applet and a GET CHALLENGE.
func stillWorks(t testing.TB, c transmitter) {
	t.Helper()
	selectApplet(t, c)
	getChallenge(t, c, mustHex("00 84 00 00 08"), 8)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// short renders an APDU or answer for messages, abbreviating long ones.
func short(b []byte) string {
	if len(b) <= 48 {
		return fmt.Sprintf("%X", b)
	}
	return fmt.Sprintf("%X...(%d bytes)", b[:24], len(b))
}

// allSame reports whether b is made of one repeated byte (a broken RNG symptom).
func allSame(b []byte) bool {
	return len(b) > 1 && bytes.Count(b, b[:1]) == len(b)
}

// startOn starts an emulator on a given flash file; the caller closes it.
func startOn(ctx context.Context, bin, flash string) (*emu.Card, error) {
	return emu.StartCard(ctx, bin, flash)
}
