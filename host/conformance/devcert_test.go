package conformance

// Device identity: EF.C_DevAut (2F02) read as OpenSC's PKCS#15 binding reads it (spec 5.2,
// B1-B3), decoded and verified with host/cvc (spec 3.6, 3.7), and the serial's stability.

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// readDevAut selects the applet and 2F02, reads it like OpenSC (one read of up to 1024 bytes,
// then the end-of-file probe) and returns the first certificate, verified.
func readDevAut(t *testing.T, c transmitter) *cvc.Certificate {
	t.Helper()
	selectApplet(t, c)

	// Spec 1.3.2: an EF SELECT with P2 00 returns an FCP (62) of at least 2 bytes; the size
	// is in 80 or 81.
	fcp := expectSW(t, c, mustHex("00 A4 00 00 02 2F 02 00"), 0x9000)
	size := -1
	if top, err := tlv.Parse(fcp); err != nil || len(top) != 1 || top[0].Tag != 0x62 {
		t.Errorf("SELECT 2F02: FCP %X is not one well-formed 62 object (%v)", fcp, err)
	} else if kids, err := top[0].Children(); err != nil {
		t.Errorf("SELECT 2F02: FCP %X: %v", fcp, err)
	} else {
		for _, tag := range []uint32{0x80, 0x81} {
			if s, ok := tlv.Find(kids, tag); ok && len(s.Value) >= 1 && len(s.Value) <= 4 {
				v := make([]byte, 4)
				copy(v[4-len(s.Value):], s.Value)
				size = int(binary.BigEndian.Uint32(v))
				break
			}
		}
	}

	// Spec 5.2 B2: extended Lc 000004, offset 0000, extended Le 0400 (1024).
	data := expectSW(t, c, mustHex("00 B1 00 00 00 00 04 54 02 00 00 04 00"), 0x9000)
	if len(data) == 0 || len(data) > 1024 {
		t.Fatalf("READ BINARY 2F02 returned %d bytes, want 1..1024 (spec 3.6)", len(data))
	}
	if size >= 0 && size != len(data) {
		t.Errorf("FCP says 2F02 has %d bytes, READ BINARY returned %d", size, len(data))
	}
	// Spec 5.2 B3 / 2.2: the probe at offset n asks for 1024 - n more; no data and 9000
	// (or 6282) ends OpenSC's read loop.
	if n := len(data); n < 1024 {
		rest := 1024 - n
		probe := []byte{0x00, 0xB1, 0x00, 0x00, 0x04, 0x54, 0x02, byte(n >> 8), byte(n), byte(rest)}
		if rest > 256 {
			probe = []byte{0x00, 0xB1, 0x00, 0x00, 0x00, 0x00, 0x04, 0x54, 0x02, byte(n >> 8), byte(n),
				byte(rest >> 8), byte(rest)}
		}
		more, sw := tx(t, c, probe)
		if (sw != 0x9000 && sw != 0x6282) || len(more) != 0 {
			t.Errorf("end-of-file probe %X -> %d bytes, SW %04X; want no data and 9000 or 6282", probe, len(more), sw)
		}
	}

	certs, err := cvc.ParseAll(data)
	if err != nil {
		t.Fatalf("2F02 (%d bytes): %v", len(data), err)
	}
	dev := certs[0]
	if err := dev.VerifySelfSigned(); err != nil {
		t.Fatalf("2F02 device certificate: %v", err)
	}
	// OpenSC: serial = CHR minus its 5-digit sequence; a CHR under 8 characters breaks the
	// binding (spec 3.6).
	if len(dev.CHR) < 8 {
		t.Fatalf("CHR %q has %d characters, OpenSC needs at least 8", dev.CHR, len(dev.CHR))
	}
	return dev
}

func serialOf(c *cvc.Certificate) string { return c.CHR[:len(c.CHR)-5] }

// serialOn starts an emulator on the given flash file, reads its serial and stops it (also
// when the test fails midway).
func serialOn(t *testing.T, flash string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := emu.StartCard(ctx, emulatorPath(t), flash)
	if err != nil {
		t.Fatalf("start emulator on %s: %v", flash, err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("emulator did not exit cleanly on SIGTERM: %v\noutput:\n%s", err, c.Proc.Output())
		}
	}()
	return serialOf(readDevAut(t, c))
}

// Spec 3.6, 3.7.1, 5.2: a factory-fresh device already holds a decodable, self-signed device
// certificate on secp256r1 with a CHR OpenSC can bind to.
func TestDevAutCertificate(t *testing.T) {
	c := startCard(t)
	dev := readDevAut(t, c)
	if dev.CAR != dev.CHR {
		t.Errorf("self-signed certificate: CAR %q != CHR %q", dev.CAR, dev.CHR)
	}
	if len(dev.CHR) > cvc.MaxNameLen {
		t.Errorf("CHR %q longer than %d (spec 3.7.1)", dev.CHR, cvc.MaxNameLen)
	}
	if seq := dev.CHR[len(dev.CHR)-5:]; seq != "00001" {
		t.Errorf("CHR %q: sequence %q, want 00001", dev.CHR, seq)
	}
	// Spec 2.11.4: the device key must give signatures of at most 64 bytes.
	if dev.PublicKey.Curve == nil || dev.PublicKey.Curve.Name != "secp256r1" || len(dev.Signature) != 64 {
		t.Errorf("device key curve %v, signature %d bytes; want secp256r1, 64", dev.PublicKey.Curve, len(dev.Signature))
	}
	if dev.CHAT == nil || dev.Effective.IsZero() || dev.Expiry.IsZero() {
		t.Errorf("device certificate lacks CHAT or dates (pico-hsm-extensions.md 5.2)")
	}
	t.Logf("device CHR %s, serial %s", dev.CHR, serialOf(dev))
}

// The serial comes from the chip's unique ID (the emulator keeps it in its flash file): two
// devices differ, one device keeps its serial across restarts.
func TestDevAutSerial(t *testing.T) {
	dir := t.TempDir()
	flashA, flashB := filepath.Join(dir, "a.flash"), filepath.Join(dir, "b.flash")

	serialA := serialOn(t, flashA)
	serialB := serialOn(t, flashB)
	if serialA == serialB {
		t.Errorf("two flash files (two devices) report the same serial %q", serialA)
	}
	if again := serialOn(t, flashA); again != serialA {
		t.Errorf("same flash file after restart: serial %q, before %q", again, serialA)
	}
	t.Logf("serials: %s, %s", serialA, serialB)
}
