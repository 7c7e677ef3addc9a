package hsm

// The OTP root (Pico HSM's own EXTRAS sub-command F0; docs/security.md): its status and the
// explicit, irreversible provisioning step that binds the PIN keys to the chip.

import (
	"context"
	"fmt"
)

const extrasOTP = 0xF0

// OTPState is the platform's OTP root state, the first byte of EXTRAS F0 00.
type OTPState byte

// OTP root states.
const (
	OTPAbsent  OTPState = 0 // no OTP on this chip (RP2040): the flash-only model
	OTPBlank   OTPState = 1 // not provisioned yet
	OTPReady   OTPState = 2 // provisioned, the root is in use
	OTPPending OTPState = 3 // provisioned, usable after the next boot finishes the lock
	OTPDamaged OTPState = 4 // a failed write or a page locked by someone else: never usable
)

func (s OTPState) String() string {
	switch s {
	case OTPAbsent:
		return "no OTP on this chip (flash-only model)"
	case OTPBlank:
		return "not provisioned (flash-only model)"
	case OTPReady:
		return "provisioned"
	case OTPPending:
		return "provisioned, usable after the next reboot"
	case OTPDamaged:
		return "damaged, never usable (flash-only model)"
	}
	return fmt.Sprintf("unknown state %02X", byte(s))
}

// OTPStatus is the answer of EXTRAS F0 00: the root's state and which PIN wraps of the device
// record are bound to it (both false before initialisation).
type OTPStatus struct {
	State     OTPState
	UserBound bool
	SOBound   bool
}

// OTPStatus reads the OTP root's status, 80 64 F0 00 (no PIN needed).
func (c *Client) OTPStatus(ctx context.Context) (*OTPStatus, error) {
	out, err := c.extras(ctx, extrasOTP, 0x00, nil, 256)
	if err == nil && len(out) != 2 {
		err = fmt.Errorf("answer % X is not 2 bytes", out)
	}
	if err != nil {
		return nil, fmt.Errorf("otp status: %w", err)
	}
	return &OTPStatus{State: OTPState(out[0]), UserBound: out[1]&0x01 != 0, SOBound: out[1]&0x02 != 0}, nil
}

// ProvisionOTP writes the chip's OTP root, 80 64 F0 01 <SO-PIN>: irreversible. The SO-PIN is
// checked like VERIFY 88 (a wrong one gives an apdu.WrongPINError); its wrap is bound at once,
// the user PIN's at its next VERIFY. apdu.ErrFunctionNotSupported: no OTP on this chip;
// apdu.ErrConditions: already provisioned; apdu.ErrCommandNotAllowed: OTP damaged;
// apdu.ErrMemoryFailure: an OTP write failed (OTPStatus then says damaged or pending).
func (c *Client) ProvisionOTP(ctx context.Context, soPIN []byte) error {
	if len(soPIN) != SOPINLen {
		return fmt.Errorf("provision otp: SO-PIN of %d bytes, want %d", len(soPIN), SOPINLen)
	}
	if _, err := c.extras(ctx, extrasOTP, 0x01, soPIN, 0); err != nil {
		return fmt.Errorf("provision otp: %w", err)
	}
	return nil
}
