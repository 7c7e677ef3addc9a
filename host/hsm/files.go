package hsm

// Files of the application (section 3.1): READ BINARY (2.2), UPDATE BINARY (2.3), DELETE
// FILE (2.4) and ENUMERATE OBJECTS (2.5), sent the way OpenSC sends them.

import (
	"context"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Instruction bytes of the file commands.
const (
	InsReadBinary       byte = 0xB1
	InsUpdateBinary     byte = 0xD7
	InsDeleteFile       byte = 0xE4
	InsEnumerateObjects byte = 0x58
)

// File identifier prefixes (section 3.1): the high byte of a FID.
const (
	PrefixKey       byte = 0xCC // private key xx, not readable
	PrefixPRKD      byte = 0xC4 // private key description
	PrefixCD        byte = 0xC8 // certificate description of CA certificate xx
	PrefixDCOD      byte = 0xC9 // data object description
	PrefixCACert    byte = 0xCA // CA certificate
	PrefixProtected byte = 0xCD // PIN-protected data object (readable after VERIFY 81)
	PrefixEECert    byte = 0xCE // certificate or CV request of key xx
	PrefixData      byte = 0xCF // public data object
)

// Fixed file identifiers (section 3.1).
const (
	FIDDevAut    uint16 = 0x2F02 // EF.C_DevAut, the device certificate chain
	FIDTokenInfo uint16 = 0x2F03 // EF.TokenInfo
)

const (
	// WriteChunk is the data of one UPDATE BINARY: OpenSC 0.23's max_send_size (section 2.3).
	WriteChunk = 1215
	// ReadChunk is the Ne of one READ BINARY: OpenSC's buffer for keys' files (section 2.2).
	ReadChunk = 4096
	// maxFileOffset is the largest offset the 2-byte offset object (54 02) can carry.
	maxFileOffset = 0xFFFF
)

func offsetObject(off int) []byte {
	return []byte{0x54, 0x02, byte(off >> 8), byte(off)}
}

// ReadFile reads the whole EF fid as OpenSC does (section 2.2): 00 B1 <fid> 04 54 02 <offset>
// with Ne ReadChunk (extended Le), the offset advanced by what each answer carried, until an
// answer carries nothing. An answer 6282 ends the file with its data; so does 6B00 (offset
// beyond the end) after the first read. apdu.ErrFileNotFound and apdu.ErrSecurityStatus
// (protected data without the user PIN, keys) come from the first read.
func (c *Client) ReadFile(ctx context.Context, fid uint16) ([]byte, error) {
	var out []byte
	for {
		if len(out) > maxFileOffset {
			return nil, fmt.Errorf("read file %04X: more than %d bytes", fid, maxFileOffset)
		}
		data, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsReadBinary, P1: byte(fid >> 8), P2: byte(fid),
			Data: offsetObject(len(out)), Ne: ReadChunk})
		if len(data) > ReadChunk {
			return nil, fmt.Errorf("read file %04X: answer of %d bytes to Ne %d", fid, len(data), ReadChunk)
		}
		switch {
		case errors.Is(err, apdu.ErrEndOfFile):
			return append(out, data...), nil
		case errors.Is(err, apdu.ErrWrongP1P2) && len(out) > 0:
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("read file %04X at offset %d: %w", fid, len(out), err)
		case len(data) == 0:
			if out == nil {
				out = []byte{}
			}
			return out, nil
		}
		out = append(out, data...)
	}
}

// WriteFile replaces the content of the EF fid, creating it when absent, as OpenSC 0.23 does
// (section 2.3): first 00 D7 <fid> 06 54 02 00 00 53 00 (create, or empty, and select), then
// the data in pieces of WriteChunk bytes, 00 D7 00 00 Lc 54 02 <offset> 53 <len> <piece>, to
// the current EF. Writing needs the user PIN (apdu.ErrSecurityStatus otherwise); a file too
// big for the card gives apdu.ErrNotEnoughMemory. The pieces are separate commands: if one
// fails, the file holds the pieces written before it.
func (c *Client) WriteFile(ctx context.Context, fid uint16, data []byte) error {
	if len(data) > maxFileOffset+1 {
		return fmt.Errorf("write file %04X: %d bytes, offsets end at %d", fid, len(data), maxFileOffset)
	}
	create := apdu.Command{CLA: 0x00, INS: InsUpdateBinary, P1: byte(fid >> 8), P2: byte(fid),
		Data: tlv.Append(offsetObject(0), 0x53, nil)}
	if _, err := c.Transmit(ctx, create); err != nil {
		return fmt.Errorf("write file %04X: create: %w", fid, err)
	}
	for off := 0; off < len(data); off += WriteChunk {
		piece := data[off:min(off+WriteChunk, len(data))]
		cmd := apdu.Command{CLA: 0x00, INS: InsUpdateBinary, Data: tlv.Append(offsetObject(off), 0x53, piece)}
		if _, err := c.Transmit(ctx, cmd); err != nil {
			return fmt.Errorf("write file %04X at offset %d: %w", fid, off, err)
		}
	}
	return nil
}

// DeleteFile sends 00 E4 02 00 02 <fid> (section 2.4). A FID CCxx deletes key xx. It needs
// the user PIN (apdu.ErrSecurityStatus); a missing file gives apdu.ErrFileNotFound.
func (c *Client) DeleteFile(ctx context.Context, fid uint16) error {
	cmd := apdu.Command{CLA: 0x00, INS: InsDeleteFile, P1: 0x02, P2: 0x00, Data: []byte{byte(fid >> 8), byte(fid)}}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("delete file %04X: %w", fid, err)
	}
	return nil
}

// ListObjects sends ENUMERATE OBJECTS, 80 58 00 00 00 00 00 (case 2E, Ne 65536, section 2.5),
// and returns the identifiers of the keys and files in the order the card lists them.
func (c *Client) ListObjects(ctx context.Context) ([]uint16, error) {
	data, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsEnumerateObjects, Ne: apdu.MaxExtendedNe})
	if err != nil {
		return nil, fmt.Errorf("enumerate objects: %w", err)
	}
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("enumerate objects: answer of %d bytes is not a list of 2-byte identifiers", len(data))
	}
	ids := make([]uint16, len(data)/2)
	for i := range ids {
		ids[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
	}
	return ids, nil
}
