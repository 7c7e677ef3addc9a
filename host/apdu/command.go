// Package apdu encodes and decodes ISO 7816-4 command and response APDUs and maps status
// words to typed Go errors.
//
// Command APDU forms (smartcard-hsm-core.md section 1.4.1), with Nc = len(Data) and Ne the
// maximum response length expected:
//
//	case 1   CLA INS P1 P2                                  Nc = 0, Ne = 0
//	case 2S  CLA INS P1 P2 Le                               Le 01..FF, 00 -> Ne 256
//	case 3S  CLA INS P1 P2 Lc data                          Lc 01..FF
//	case 4S  CLA INS P1 P2 Lc data Le
//	case 2E  CLA INS P1 P2 00 LeH LeL                       0000 -> Ne 65536
//	case 3E  CLA INS P1 P2 00 LcH LcL data                  LcH LcL 0001..FFFF
//	case 4E  CLA INS P1 P2 00 LcH LcL data LeH LeL
//
// A command never mixes the short and the extended form.
package apdu

import (
	"errors"
	"fmt"
)

// Length limits of ISO 7816-4.
const (
	MaxShortData    = 255   // largest Nc of a short APDU
	MaxShortNe      = 256   // largest Ne of a short APDU (Le 00)
	MaxExtendedData = 65535 // largest Nc of an extended APDU
	MaxExtendedNe   = 65536 // largest Ne of an extended APDU (Le 0000)
)

// Command is a command APDU. The zero value of Data and Ne means "no data" and "no
// response data expected".
type Command struct {
	CLA, INS, P1, P2 byte
	// Data is the command data field (Nc = len(Data), at most 65535 bytes).
	Data []byte
	// Ne is the maximum number of response data bytes expected, 0..65536. 0 means no Le
	// field.
	Ne int
	// ForceExtended selects the extended form even when the short form would do.
	// ParseCommand sets it when the bytes used the extended form, so that Bytes
	// reproduces them.
	ForceExtended bool
}

// Extended reports whether Bytes uses the extended form for c.
func (c Command) Extended() bool {
	return c.ForceExtended || len(c.Data) > MaxShortData || c.Ne > MaxShortNe
}

// Bytes encodes c. It uses the short form when Nc <= 255 and Ne <= 256 (and
// ForceExtended is false), the extended form otherwise. A command without data and
// without Le (case 1) has no length field in either form.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > MaxExtendedData {
		return nil, fmt.Errorf("apdu: command data of %d bytes exceeds %d", len(c.Data), MaxExtendedData)
	}
	if c.Ne < 0 || c.Ne > MaxExtendedNe {
		return nil, fmt.Errorf("apdu: Ne %d outside 0..%d", c.Ne, MaxExtendedNe)
	}
	b := make([]byte, 0, 4+3+len(c.Data)+2)
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	nc := len(c.Data)
	if !c.Extended() {
		if nc > 0 {
			b = append(b, byte(nc))
			b = append(b, c.Data...)
		}
		if c.Ne > 0 {
			b = append(b, byte(c.Ne)) // 256 encodes as 00
		}
		return b, nil
	}
	if nc == 0 && c.Ne == 0 {
		return b, nil // case 1
	}
	b = append(b, 0x00)
	if nc > 0 {
		b = append(b, byte(nc>>8), byte(nc))
		b = append(b, c.Data...)
	}
	if c.Ne > 0 {
		b = append(b, byte(c.Ne>>8), byte(c.Ne)) // 65536 encodes as 0000
	}
	return b, nil
}

// ErrMalformed is wrapped by every error ParseCommand returns.
var ErrMalformed = errors.New("apdu: malformed command")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ParseCommand decodes a command APDU in any of the seven forms of ISO 7816-4. Bytes that
// fit no form (short Lc 00, extended Lc 0000, data shorter or longer than Lc says,
// trailing bytes) are rejected. The returned Data aliases b.
func ParseCommand(b []byte) (Command, error) {
	n := len(b)
	if n < 4 {
		return Command{}, malformed("%d bytes, header needs 4", n)
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	switch {
	case n == 4: // case 1
		return c, nil
	case n == 5: // case 2S
		c.Ne = shortNe(b[4])
		return c, nil
	case b[4] != 0: // case 3S or 4S
		lc := int(b[4])
		switch n {
		case 5 + lc:
			c.Data = b[5:n:n]
		case 5 + lc + 1:
			c.Data = b[5 : 5+lc : 5+lc]
			c.Ne = shortNe(b[n-1])
		default:
			return Command{}, malformed("short Lc %d does not match %d bytes after the header", lc, n-5)
		}
		return c, nil
	case n == 6:
		return Command{}, malformed("short Lc 00 followed by one byte")
	}
	// b[4] == 0 and n >= 7: extended form.
	c.ForceExtended = true
	if n == 7 { // case 2E
		c.Ne = extendedNe(b[5], b[6])
		return c, nil
	}
	lc := int(b[5])<<8 | int(b[6])
	if lc == 0 {
		return Command{}, malformed("extended Lc 0000 followed by %d bytes", n-7)
	}
	switch n {
	case 7 + lc: // case 3E
		c.Data = b[7:n:n]
	case 7 + lc + 2: // case 4E
		c.Data = b[7 : 7+lc : 7+lc]
		c.Ne = extendedNe(b[n-2], b[n-1])
	default:
		return Command{}, malformed("extended Lc %d does not match %d bytes after the header", lc, n-7)
	}
	return c, nil
}

func shortNe(le byte) int {
	if le == 0 {
		return MaxShortNe
	}
	return int(le)
}

func extendedNe(hi, lo byte) int {
	ne := int(hi)<<8 | int(lo)
	if ne == 0 {
		return MaxExtendedNe
	}
	return ne
}
