package hsm

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// AID is the SmartCard-HSM application identifier (section 1.3): E8 followed by the DER
// body of OID 1.3.6.1.4.1.24991.2.1.
var AID = []byte{0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01}

// Instruction bytes used by this package.
const (
	InsSelect       byte = 0xA4
	InsGetChallenge byte = 0x84
)

// FCP tags of the application SELECT answer (section 1.3.1).
const (
	tagFCP         = 0x62
	tagFCI         = 0x6F
	tagProprietary = 0x85
	tagPropConstr  = 0xA5 // OpenSC accepts it in place of 85
)

// Device option bits carried in the FCP and set by INITIALIZE DEVICE (section 2.9.2).
const (
	OptionResetRetryCounter uint16 = 0x0001
	OptionTransportPIN      uint16 = 0x0002
	OptionSessionPIN        uint16 = 0x0004
)

// AppletInfo is what the application FCP tells about the applet (section 1.3.1).
type AppletInfo struct {
	// Options are the device options (section 2.9.2), present when HasOptions.
	Options    uint16
	HasOptions bool
	// Type is the applet type byte (Pico HSM: FF), present when HasType.
	Type    byte
	HasType bool
	// VersionMajor and VersionMinor are the last two bytes of the proprietary data.
	VersionMajor, VersionMinor byte
	// FCP is the complete answer to SELECT, tag 62 or 6F included.
	FCP []byte
}

// Version returns the applet version as "major.minor".
func (a *AppletInfo) Version() string {
	return fmt.Sprintf("%d.%d", a.VersionMajor, a.VersionMinor)
}

// Name returns the applet name OpenSC derives from the type byte.
func (a *AppletInfo) Name() string {
	if a.HasType {
		switch a.Type {
		case 0x00:
			return "SmartCard-HSM Applet for JCOP"
		case 0x01:
			return "SmartCard-HSM Demo Applet for JCOP"
		}
	}
	return "SmartCard-HSM"
}

// SelectApplet selects the SmartCard-HSM application (00 A4 04 00 0B <AID> 00) and decodes
// its FCP. Selecting the application resets the card's security state (section 1.3.4).
func (c *Client) SelectApplet(ctx context.Context) (*AppletInfo, error) {
	fcp, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsSelect, P1: 0x04, P2: 0x00, Data: AID, Ne: 256})
	if err != nil {
		return nil, fmt.Errorf("select applet: %w", err)
	}
	info, err := ParseAppletFCP(fcp)
	if err != nil {
		return nil, fmt.Errorf("select applet: %w", err)
	}
	return info, nil
}

// ParseAppletFCP decodes the answer to SELECT of the application: an FCP (62) or FCI (6F)
// holding proprietary data (85, or A5) of at least 2 bytes. Of its value, the last two
// bytes are the version, the third-last the type byte (length >= 3) and the first two the
// options, big-endian (length >= 5).
func ParseAppletFCP(fcp []byte) (*AppletInfo, error) {
	top, err := tlv.Parse(fcp)
	if err != nil {
		return nil, fmt.Errorf("fcp: %w", err)
	}
	if len(top) != 1 || (top[0].Tag != tagFCP && top[0].Tag != tagFCI) {
		return nil, fmt.Errorf("fcp: want one object with tag 62 or 6F, got % X", fcp)
	}
	kids, err := top[0].Children()
	if err != nil {
		return nil, fmt.Errorf("fcp: %w", err)
	}
	prop, ok := tlv.Find(kids, tagProprietary)
	if !ok {
		prop, ok = tlv.Find(kids, tagPropConstr)
	}
	if !ok {
		return nil, fmt.Errorf("fcp: no proprietary data (tag 85)")
	}
	v := prop.Value
	n := len(v)
	if n < 2 {
		return nil, fmt.Errorf("fcp: proprietary data of %d bytes, need at least 2", n)
	}
	info := &AppletInfo{VersionMajor: v[n-2], VersionMinor: v[n-1], FCP: fcp}
	if n >= 3 {
		info.Type, info.HasType = v[n-3], true
	}
	if n >= 5 {
		info.Options, info.HasOptions = binary.BigEndian.Uint16(v), true
	}
	return info, nil
}
