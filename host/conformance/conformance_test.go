package conformance

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/transport/vpcd"
)

// Spec 1.1, 1.5: power-on, reset and presence polling all report the SmartCard-HSM ATR.
func TestATR(t *testing.T) {
	c := startCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), apduTimeout)
	defer cancel()
	steps := []struct {
		name string
		do   func() ([]byte, error)
	}{
		{"power on", func() ([]byte, error) { return c.ATR(), nil }},
		{"get ATR (presence poll)", func() ([]byte, error) { return c.QueryATR(ctx) }},
		{"reset", func() ([]byte, error) { return c.Reset(ctx) }},
		{"power off, power on", func() ([]byte, error) {
			if err := c.PowerOff(ctx); err != nil {
				return nil, err
			}
			return c.PowerOn(ctx)
		}},
	}
	for _, s := range steps {
		atr, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !bytes.Equal(atr, wantATR) {
			t.Errorf("%s: ATR %X, want %X", s.name, atr, wantATR)
		}
	}
}

// Spec 1.2, 5.1: the APDUs OpenSC sends when it connects, in order.
func TestOpenSCPrologue(t *testing.T) {
	c := startCard(t)
	steps := []struct {
		name   string
		apdu   string
		wantSW uint16
		check  func([]byte) error // nil: no data allowed
	}{
		{"C1 coolkey SELECT", "00 A4 04 00 07 62 76 01 FF 00 00 00", 0x6A82, nil},
		{"C2 muscle SELECT", "00 A4 04 00 06 A0 00 00 00 01 01", 0x6A82, nil},
		{"C3 sc-hsm match SELECT", "00 A4 04 00 0B" + aidHex + "00", 0x9000, checkAppletFCP},
		{"C4 sc-hsm init SELECT", "00 A4 04 00 0B" + aidHex + "00", 0x9000, checkAppletFCP},
	}
	for _, s := range steps {
		apdu := mustHex(s.apdu)
		data, sw := tx(t, c, apdu)
		if sw != s.wantSW {
			t.Fatalf("%s: %s -> SW %04X, want %04X", s.name, short(apdu), sw, s.wantSW)
		}
		if s.check == nil {
			if len(data) != 0 {
				t.Errorf("%s: %s -> unexpected data %s", s.name, short(apdu), short(data))
			}
			continue
		}
		if err := s.check(data); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
}

// Spec 2.1 rule 2: the P2 values a SELECT of the application must accept.
func TestSelect(t *testing.T) {
	c := startCard(t)
	tests := []struct {
		name   string
		apdu   string
		wantSW uint16
		fcp    bool // answer must be the application FCP; otherwise no data
	}{
		{"P2 00 with Le: FCP", "00 A4 04 00 0B" + aidHex + "00", 0x9000, true},
		{"P2 0C: no data", "00 A4 04 0C 0B" + aidHex, 0x9000, false},
		{"P2 0C after applet selected", "00 A4 04 0C 0B" + aidHex, 0x9000, false},
		{"P2 04 with Le: FCP", "00 A4 04 04 0B" + aidHex + "00", 0x9000, true},
		{"unknown AID, P2 0C", "00 A4 04 0C 06 A0 00 00 00 01 01", 0x6A82, false},
		{"unknown AID with Le", "00 A4 04 00 06 A0 00 00 00 01 01 00", 0x6A82, false},
		{"CLA 80", "80 A4 04 00 0B" + aidHex + "00", 0x9000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			apdu := mustHex(tc.apdu)
			data := expectSW(t, c, apdu, tc.wantSW)
			if tc.fcp {
				if err := checkAppletFCP(data); err != nil {
					t.Fatal(err)
				}
			} else if len(data) != 0 {
				t.Fatalf("%s -> unexpected data %s", short(apdu), short(data))
			}
		})
	}
}

// Spec 1.4.1, 1.4.3, 1.2, 2.19: status words for bad classes, instructions and lengths.
// Every malformed command is answered, and the card keeps working afterwards.
func TestStatusWords(t *testing.T) {
	c := startCard(t)
	selectApplet(t, c)
	tests := []struct {
		name   string
		apdu   string
		wantSW []uint16 // any of
	}{
		{"unknown INS D0, case 1", "00 D0 00 00", []uint16{0x6D00}},
		{"unknown INS D0, case 4S", "00 D0 00 00 02 01 02 00", []uint16{0x6D00}},
		{"unknown INS D0, CLA 80", "80 D0 00 00", []uint16{0x6D00}},
		{"CLA FF SELECT", "FF A4 04 00 0B" + aidHex + "00", []uint16{0x6E00}},
		{"CLA FF GET CHALLENGE", "FF 84 00 00 08", []uint16{0x6E00}},
		// Spec 1.2: the PC/SC GET UID pseudo-APDU must not succeed.
		{"GET UID pseudo-APDU", "FF CA 00 00 00", []uint16{0x6E00, 0x6D00}},
		// Spec 1.4.1: lengths that match none of the seven encodings.
		{"3 bytes", "00 A4 04", []uint16{0x6700}},
		{"3S Lc larger than data", "00 A4 04 00 0B E8 2B 06", []uint16{0x6700}},
		{"4S Lc larger than data", "00 A4 04 00 0B E8 2B 06 00", []uint16{0x6700}},
		{"4S two bytes after data", "00 A4 04 00 0B" + aidHex + "00 00", []uint16{0x6700}},
		{"short Lc 08, one data byte", "00 84 00 00 08 00", []uint16{0x6700}},
		{"extended, Lc truncated", "00 A4 04 00 00 0B", []uint16{0x6700}},
		{"extended Lc larger than data", "00 A4 04 00 00 00 0B E8 2B 06 01", []uint16{0x6700}},
		{"4E with 1-byte Le", "00 A4 04 00 00 00 0B" + aidHex + "00", []uint16{0x6700}},
		{"4E with 3-byte Le", "00 A4 04 00 00 00 0B" + aidHex + "00 00 00", []uint16{0x6700}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			apdu := mustHex(tc.apdu)
			data, sw := tx(t, c, apdu)
			ok := false
			for _, w := range tc.wantSW {
				ok = ok || sw == w
			}
			if !ok {
				t.Errorf("%s -> SW %04X, want one of %04X", short(apdu), sw, tc.wantSW)
			}
			if len(data) != 0 {
				t.Errorf("%s -> unexpected data %s", short(apdu), short(data))
			}
		})
	}
	stillWorks(t, c)
}

// Spec 2.16: GET CHALLENGE returns exactly Ne random bytes, in short and extended form.
func TestGetChallenge(t *testing.T) {
	c := startCard(t)
	selectApplet(t, c)
	tests := []struct {
		name string
		apdu string
		n    int
	}{
		{"2S Le 01", "00 84 00 00 01", 1},
		{"2S Le 08", "00 84 00 00 08", 8},
		{"2S Le FF", "00 84 00 00 FF", 255},
		{"2S Le 00 = 256", "00 84 00 00 00", 256},
		{"2E Le 0101", "00 84 00 00 00 01 01", 257},
		{"2E Le 0400 = 1024", "00 84 00 00 00 04 00", 1024},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			apdu := mustHex(tc.apdu)
			a := getChallenge(t, c, apdu, tc.n)
			b := getChallenge(t, c, apdu, tc.n)
			if tc.n >= 8 && (bytes.Equal(a, b) || allSame(a) || allSame(b)) {
				t.Fatalf("two challenges are not random:\n%X\n%X", a, b)
			}
		})
	}
}

// Spec 1.4.2, 1.5: the largest command a vpcd frame carries (65535 bytes) is answered with a
// status word, and the card keeps working. A command data field of 65535 bytes needs a
// 65542-byte frame, which vpcd cannot carry; the reader refuses it without sending.
func TestLargestCommand(t *testing.T) {
	c := startCard(t)
	selectApplet(t, c)
	frame := func(lc int) []byte {
		b := make([]byte, vpcd.MaxFrame)
		copy(b, []byte{0x00, 0xD0, 0x00, 0x00, 0x00, byte(lc >> 8), byte(lc)})
		for i := 7; i < len(b); i++ {
			b[i] = byte(i)
		}
		return b
	}
	tests := []struct {
		name   string
		apdu   []byte
		wantSW []uint16
	}{
		// Unknown INS with Lc = 65528, filling the frame: 6D00, or 6700 if beyond the buffer.
		{"3E unknown INS, 65528 data bytes", frame(vpcd.MaxFrame - 7), []uint16{0x6D00, 0x6700}},
		// Lc claims 65535 bytes; only 65528 follow.
		{"3E Lc FFFF, 65528 data bytes", frame(0xFFFF), []uint16{0x6700}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, sw := tx(t, c, tc.apdu)
			ok := false
			for _, w := range tc.wantSW {
				ok = ok || sw == w
			}
			if !ok || len(data) != 0 {
				t.Errorf("%s -> %s SW %04X, want no data and one of %04X", short(tc.apdu), short(data), sw, tc.wantSW)
			}
			stillWorks(t, c)
		})
	}
	t.Run("over the frame limit", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), apduTimeout)
		defer cancel()
		big := append(frame(0xFFFF), 0)
		if _, err := c.Transmit(ctx, big); !errors.Is(err, vpcd.ErrFrameTooLarge) {
			t.Fatalf("transmit of %d bytes: %v, want ErrFrameTooLarge", len(big), err)
		}
		stillWorks(t, c)
	})
}

// Spec 1.5, 1.6: power off/on and reset leave a working card and clear the volatile state
// (the application is no longer selected); presence polls (04) change nothing.
//
// Whether the application is selected is observed through SELECT of EF.C_DevAut 2F02 by FID
// (spec 3.1, 3.6: present from first boot): found (9000) only inside the application.
func TestPowerCycle(t *testing.T) {
	c := startCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	selectEF := mustHex("00 A4 00 00 02 2F 02 00")
	tests := []struct {
		name         string
		do           func() error
		wantSelected bool // application still selected afterwards
	}{
		{"power off, power on", func() error {
			if err := c.PowerOff(ctx); err != nil {
				return err
			}
			_, err := c.PowerOn(ctx)
			return err
		}, false},
		{"reset", func() error { _, err := c.Reset(ctx); return err }, false},
		{"power off twice, power on", func() error {
			if err := c.PowerOff(ctx); err != nil {
				return err
			}
			if err := c.PowerOff(ctx); err != nil {
				return err
			}
			_, err := c.PowerOn(ctx)
			return err
		}, false},
		{"20 presence polls", func() error {
			for i := 0; i < 20; i++ {
				atr, err := c.QueryATR(ctx)
				if err != nil {
					return err
				}
				if !bytes.Equal(atr, wantATR) {
					t.Errorf("poll %d: ATR %X", i, atr)
				}
			}
			return nil
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			selectApplet(t, c)
			expectSW(t, c, selectEF, 0x9000)
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			want := uint16(0x6A82)
			if tc.wantSelected {
				want = 0x9000
			}
			expectSW(t, c, selectEF, want)
			stillWorks(t, c)
		})
	}
}

// Spec 1.5: the emulator reconnects when the reader drops the connection (as when pcscd
// restarts), to the same port, within a bounded time, and answers as before.
func TestReconnect(t *testing.T) {
	c := startCard(t)
	stillWorks(t, c)
	for i := 0; i < 3; i++ {
		if err := c.Disconnect(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatalf("reconnect %d: %v", i+1, err)
		}
		t.Logf("reconnect %d after %v", i+1, time.Since(start).Round(time.Millisecond))
		if !bytes.Equal(c.ATR(), wantATR) {
			t.Fatalf("ATR after reconnect %X", c.ATR())
		}
		stillWorks(t, c)
	}
}

// The emulator ends cleanly on SIGTERM (checked in every test's cleanup) and on a fresh
// flash file twice in a row (the second start opens the file the first one created).
func TestRestartOnSameFlash(t *testing.T) {
	bin := emulatorPath(t)
	flash := newFlash(t)
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		c, err := startOn(ctx, bin, flash)
		cancel()
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		stillWorks(t, c)
		if err := c.Close(); err != nil {
			t.Fatalf("stop %d: %v\noutput:\n%s", i+1, err, c.Proc.Output())
		}
	}
}
