package hsm

// The rescue applet (pico-hsm-extensions.md 3.9): product identification, clock, PHY
// record, flash report and reboots. Selecting it ends the SmartCard-HSM application's
// session; call SelectApplet afterwards to use keys again.

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// RescueAID is the rescue applet's application identifier.
var RescueAID = []byte{0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21}

// Rescue platform bytes.
const (
	PlatformRP2040    = 0x00
	PlatformRP2350    = 0x01
	PlatformESP32S3   = 0x02
	PlatformEmulation = 0x03
)

// RescueInfo is the 12-byte answer to the rescue SELECT.
type RescueInfo struct {
	Platform, Product, Major, Minor byte
	ChipID                          [8]byte
}

// SelectRescue selects the rescue applet (00 A4 04 04 <AID> 00) and decodes its answer.
func (c *Client) SelectRescue(ctx context.Context) (*RescueInfo, error) {
	out, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x04, Data: RescueAID, Ne: 256})
	if err != nil {
		return nil, fmt.Errorf("select rescue applet: %w", err)
	}
	if len(out) != 12 {
		return nil, fmt.Errorf("select rescue applet: answer of %d bytes, want 12", len(out))
	}
	r := &RescueInfo{Platform: out[0], Product: out[1], Major: out[2], Minor: out[3]}
	copy(r.ChipID[:], out[4:])
	return r, nil
}

func (c *Client) rescue(ctx context.Context, ins, p1, p2 byte, data []byte, ne int) ([]byte, error) {
	return c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: ins, P1: p1, P2: p2, Data: data, Ne: ne})
}

// RescueClock reads the clock as Unix time (80 1E 04 02); apdu.ErrConditions before a host
// set it on a device without a clock of its own.
func (c *Client) RescueClock(ctx context.Context) (time.Time, error) {
	out, err := c.rescue(ctx, 0x1E, 0x04, 0x02, nil, 256)
	if err == nil && len(out) != 4 {
		err = fmt.Errorf("answer % X is not 4 bytes", out)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("rescue clock: %w", err)
	}
	return time.Unix(int64(binary.BigEndian.Uint32(out)), 0).UTC(), nil
}

// RescueSetClock sets the clock from Unix time (80 1C 02 02 <4 bytes>).
func (c *Client) RescueSetClock(ctx context.Context, t time.Time) error {
	u := t.Unix()
	if u < 0 || u > 0xFFFFFFFF {
		return fmt.Errorf("rescue set clock: %v is outside 32-bit Unix time", t)
	}
	if _, err := c.rescue(ctx, 0x1C, 0x02, 0x02, binary.BigEndian.AppendUint32(nil, uint32(u)), 0); err != nil {
		return fmt.Errorf("rescue set clock: %w", err)
	}
	return nil
}

// RescuePHY reads the PHY record (80 1E 01).
func (c *Client) RescuePHY(ctx context.Context) ([]byte, error) {
	out, err := c.rescue(ctx, 0x1E, 0x01, 0x00, nil, 256)
	if err != nil {
		return nil, fmt.Errorf("rescue phy: %w", err)
	}
	return out, nil
}

// RescueSetPHY replaces the PHY record (80 1C 01); the user must confirm on the device
// (apdu.ErrConditions when not confirmed in time).
func (c *Client) RescueSetPHY(ctx context.Context, rec []byte) error {
	if _, err := c.rescue(ctx, 0x1C, 0x01, 0x00, rec, 0); err != nil {
		return fmt.Errorf("rescue set phy: %w", err)
	}
	return nil
}

// RescueFlashInfo reads the memory report with the firmware size (80 1E 02).
func (c *Client) RescueFlashInfo(ctx context.Context) (*MemoryInfo, error) {
	out, err := c.rescue(ctx, 0x1E, 0x02, 0x00, nil, 256)
	if err != nil {
		return nil, fmt.Errorf("rescue flash info: %w", err)
	}
	return parseMemory(out, true)
}

// RescueReboot reboots the device (80 1F 00), or into the ROM loader (80 1F 01, needs the
// user's confirmation). The emulator resets its card state and stays up.
func (c *Client) RescueReboot(ctx context.Context, bootloader bool) error {
	p1 := byte(0)
	if bootloader {
		p1 = 1
	}
	if _, err := c.rescue(ctx, 0x1F, p1, 0x00, nil, 0); err != nil {
		return fmt.Errorf("rescue reboot: %w", err)
	}
	return nil
}
