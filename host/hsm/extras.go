package hsm

// EXTRAS, INS 64 (pico-hsm-extensions.md 3.1-3.4): device options, the real-time clock, the
// PHY record and the memory report, through the SmartCard-HSM application (PIN needed except
// for PHY and memory).

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// InsExtras is the Pico HSM EXTRAS instruction.
const InsExtras = 0x64

// Option bits of the 16-bit option word (spec 3.2). The high byte is the "dynamic" byte that
// SetDynamicOptions replaces.
const (
	OptResetRetryCounter uint16 = 0x0001
	OptTransportPIN      uint16 = 0x0002
	OptPressToConfirm    uint16 = 0x0100
	OptCounterAllKeys    uint16 = 0x0200
	OptSecureLock        uint16 = 0x0400
)

const (
	extrasMemory   = 0x05
	extrasOptions  = 0x06
	extrasDateTime = 0x0A
	extrasPHY      = 0x1B
	extrasReboot   = 0xFB
)

func (c *Client) extras(ctx context.Context, p1, p2 byte, data []byte, ne int) ([]byte, error) {
	return c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsExtras, P1: p1, P2: p2, Data: data, Ne: ne})
}

// Options reads the option word, 80 64 06 00.
func (c *Client) Options(ctx context.Context) (uint16, error) {
	out, err := c.extras(ctx, extrasOptions, 0, nil, 256)
	if err == nil && len(out) != 2 {
		err = fmt.Errorf("answer % X is not 2 bytes", out)
	}
	if err != nil {
		return 0, fmt.Errorf("read options: %w", err)
	}
	return binary.BigEndian.Uint16(out), nil
}

// SetDynamicOptions replaces the high byte of the option word, 80 64 06 00 01 <byte>. The
// device never changes the secure-lock bit this way.
func (c *Client) SetDynamicOptions(ctx context.Context, b byte) error {
	if _, err := c.extras(ctx, extrasOptions, 0, []byte{b}, 0); err != nil {
		return fmt.Errorf("write options: %w", err)
	}
	return nil
}

// SetOption turns one dynamic option bit (OptPressToConfirm, OptCounterAllKeys) on or off,
// keeping the others, as pico-hsm-tool.py does.
func (c *Client) SetOption(ctx context.Context, bit uint16, on bool) error {
	if bit&0x00FF != 0 || bit == 0 {
		return fmt.Errorf("option %04X is not a dynamic option", bit)
	}
	opt, err := c.Options(ctx)
	if err != nil {
		return err
	}
	if on {
		opt |= bit
	} else {
		opt &^= bit
	}
	return c.SetDynamicOptions(ctx, byte(opt>>8))
}

// EncodeDeviceTime is the 8-byte broken-down time of spec 3.3 in UTC: year (2 bytes),
// month 0-11 (the device's struct tm convention), day, weekday (0 = Sunday), hour, minute,
// second.
func EncodeDeviceTime(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month() - 1), byte(t.Day()),
		byte(t.Weekday()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())}
}

// DecodeDeviceTime is the inverse of EncodeDeviceTime (the weekday is not used).
func DecodeDeviceTime(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, fmt.Errorf("device time of %d bytes, want 8", len(b))
	}
	return time.Date(int(binary.BigEndian.Uint16(b)), time.Month(b[2])+1, int(b[3]), int(b[5]),
		int(b[6]), int(b[7]), 0, time.UTC), nil
}

// Clock reads the device clock through the legacy EXTRAS 0A (spec 3.3).
func (c *Client) Clock(ctx context.Context) (time.Time, error) {
	out, err := c.extras(ctx, extrasDateTime, 0, nil, 256)
	if err != nil {
		return time.Time{}, fmt.Errorf("read clock: %w", err)
	}
	return DecodeDeviceTime(out)
}

// SetClock sets the device clock through EXTRAS 0A.
func (c *Client) SetClock(ctx context.Context, t time.Time) error {
	if _, err := c.extras(ctx, extrasDateTime, 0, EncodeDeviceTime(t), 0); err != nil {
		return fmt.Errorf("set clock: %w", err)
	}
	return nil
}

// PHY field tags (spec 3.6) that SetPHYField accepts (legacy EXTRAS 1B).
const (
	PHYVidPid        byte = 0x00 // 4 bytes: VID, PID big-endian
	PHYLEDGPIO       byte = 0x04 // 1 byte
	PHYLEDBrightness byte = 0x05 // 1 byte, 0..15
	PHYOptions       byte = 0x06 // 2 bytes
)

// PHY reads the raw PHY record (flat 1-byte tag, 1-byte length list), 80 64 1B 00.
func (c *Client) PHY(ctx context.Context) ([]byte, error) {
	out, err := c.extras(ctx, extrasPHY, 0, nil, 256)
	if err != nil {
		return nil, fmt.Errorf("read phy: %w", err)
	}
	return out, nil
}

// SetPHYField writes one PHY field, 80 64 1B <field> <value>; effective after a reboot.
func (c *Client) SetPHYField(ctx context.Context, field byte, value []byte) error {
	if _, err := c.extras(ctx, extrasPHY, field, value, 0); err != nil {
		return fmt.Errorf("write phy field %02X: %w", field, err)
	}
	return nil
}

// MemoryInfo is the memory report (EXTRAS 05, rescue 1E 02): store bytes free, used and in
// total, stored objects, size of the flash region; FirmwareSize only from the rescue applet.
type MemoryInfo struct {
	Free, Used, Total, Files, FlashSize, FirmwareSize uint32
}

func parseMemory(b []byte, withFirmware bool) (*MemoryInfo, error) {
	want := 20
	if withFirmware {
		want = 24
	}
	if len(b) != want {
		return nil, fmt.Errorf("memory report of %d bytes, want %d", len(b), want)
	}
	w := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	m := &MemoryInfo{Free: w(0), Used: w(1), Total: w(2), Files: w(3), FlashSize: w(4)}
	if withFirmware {
		m.FirmwareSize = w(5)
	}
	return m, nil
}

// Memory reads the memory report, 80 64 05 00.
func (c *Client) Memory(ctx context.Context) (*MemoryInfo, error) {
	out, err := c.extras(ctx, extrasMemory, 0, nil, 256)
	if err != nil {
		return nil, fmt.Errorf("memory report: %w", err)
	}
	return parseMemory(out, false)
}

// Reboot asks for a reboot through EXTRAS FB (the emulator resets the card state).
func (c *Client) Reboot(ctx context.Context) error {
	if _, err := c.extras(ctx, extrasReboot, 0, nil, 0); err != nil {
		return fmt.Errorf("reboot: %w", err)
	}
	return nil
}
