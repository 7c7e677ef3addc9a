package hsm

// INITIALIZE DEVICE (section 2.9): setting up the PINs and the device options, and the
// Pico-only query of free memory and version (2.9.4).

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// InsInitialize is INITIALIZE DEVICE (section 2.9).
const InsInitialize byte = 0x50

// PIN length limits (sections 2.6, 3.8).
const (
	MinPINLen = 6  // shortest user PIN the card accepts
	MaxPINLen = 16 // longest user PIN the card accepts (OpenSC's PKCS#15 layer stops at 15)
	SOPINLen  = 8  // the SO-PIN is 8 binary bytes (16 hex digits on the host)
	// MaxUserRetries is the largest user PIN retry counter INITIALIZE accepts (tag 91).
	MaxUserRetries = 15
)

// PKAParams configures public-key authentication (INITIALIZE tag 93, section 2.9.1).
type PKAParams struct {
	Total, Required int
}

// InitParams are the data objects of INITIALIZE DEVICE (section 2.9.1). They are encoded in
// OpenSC's order 80 81 82 91 92 93 97.
type InitParams struct {
	// Options is the device configuration (tag 80, section 2.9.2), always sent. OpenSC sends
	// OptionResetRetryCounter (0001); 0000 leaves the user PIN without any way to unblock it.
	Options uint16
	// UserPIN is the initial user PIN (tag 81), 6..16 bytes.
	UserPIN []byte
	// SOPIN is the SO-PIN (tag 82), 8 bytes. On a device initialised before it must be the
	// current SO-PIN: a wrong one costs an SO-PIN try (section 2.9.3).
	SOPIN []byte
	// Retries is the user PIN retry counter maximum (tag 91), 1..15; 0 omits the tag and the
	// card takes its default (3).
	Retries int
	// DKEKShares is the number of DKEK shares (tag 92, 0..255); nil omits the tag (no DKEK).
	DKEKShares *int
	// PublicKeyAuth enables public-key authentication (tag 93); nil omits the tag.
	PublicKeyAuth *PKAParams
	// KeyDomains is the number of key domains (tag 97, Pico); nil omits the tag.
	KeyDomains *int
}

// encode checks p and returns the TLV list of the command data.
func (p *InitParams) encode() ([]byte, error) {
	if n := len(p.UserPIN); n < MinPINLen || n > MaxPINLen {
		return nil, fmt.Errorf("user PIN of %d bytes, want %d..%d", n, MinPINLen, MaxPINLen)
	}
	if n := len(p.SOPIN); n != SOPINLen {
		return nil, fmt.Errorf("SO-PIN of %d bytes, want %d", n, SOPINLen)
	}
	if p.Retries < 0 || p.Retries > MaxUserRetries {
		return nil, fmt.Errorf("retry counter %d, want 1..%d (0 for the card's default)", p.Retries, MaxUserRetries)
	}
	b := []byte{0x80, 0x02, byte(p.Options >> 8), byte(p.Options)}
	b = append(append(b, 0x81, byte(len(p.UserPIN))), p.UserPIN...)
	b = append(append(b, 0x82, byte(len(p.SOPIN))), p.SOPIN...)
	if p.Retries > 0 {
		b = append(b, 0x91, 0x01, byte(p.Retries))
	}
	if p.DKEKShares != nil {
		if n := *p.DKEKShares; n < 0 || n > 255 {
			return nil, fmt.Errorf("%d DKEK shares, want 0..255", n)
		}
		b = append(b, 0x92, 0x01, byte(*p.DKEKShares))
	}
	if k := p.PublicKeyAuth; k != nil {
		if k.Total < 1 || k.Total > 255 || k.Required < 1 || k.Required > k.Total {
			return nil, fmt.Errorf("public-key authentication %d of %d keys, want 1 <= required <= total <= 255", k.Required, k.Total)
		}
		b = append(b, 0x93, 0x02, byte(k.Total), byte(k.Required))
	}
	if p.KeyDomains != nil {
		if n := *p.KeyDomains; n < 0 || n > 255 {
			return nil, fmt.Errorf("%d key domains, want 0..255", n)
		}
		b = append(b, 0x97, 0x01, byte(*p.KeyDomains))
	}
	return b, nil
}

// Initialize sends INITIALIZE DEVICE, 80 50 00 00 Lc <TLV list> (section 2.9). It sets the
// PINs and options and, on a device initialised before, wipes every key and file once the
// current SO-PIN (p.SOPIN) has been checked. A wrong SO-PIN gives an apdu.WrongPINError, a
// blocked one apdu.ErrBlocked; nothing is sent when p is invalid.
func (c *Client) Initialize(ctx context.Context, p InitParams) error {
	data, err := p.encode()
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsInitialize, Data: data}); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	return nil
}

// DeviceInfo is the answer to INITIALIZE without data (section 2.9.4).
type DeviceInfo struct {
	// FreeBytes is the free space of the object store.
	FreeBytes uint32
	// VersionMajor and VersionMinor are the firmware version.
	VersionMajor, VersionMinor byte
}

// Version returns the firmware version as "major.minor".
func (d *DeviceInfo) Version() string {
	return fmt.Sprintf("%d.%d", d.VersionMajor, d.VersionMinor)
}

// DeviceInfo sends INITIALIZE without data, 80 50 00 00 00 (Pico only, section 2.9.4), and
// decodes the 7-byte answer: free bytes (4, big-endian), 00, version major, minor.
func (c *Client) DeviceInfo(ctx context.Context) (*DeviceInfo, error) {
	data, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsInitialize, Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, fmt.Errorf("device info: %w", err)
	}
	if len(data) != 7 {
		return nil, fmt.Errorf("device info: answer of %d bytes, want 7", len(data))
	}
	return &DeviceInfo{FreeBytes: binary.BigEndian.Uint32(data), VersionMajor: data[5], VersionMinor: data[6]}, nil
}
