package hsm

// DKEK and key domains (smartcard-hsm-core.md 2.10, 2.14, 2.15; pico-hsm-extensions.md
// 4.1-4.2): IMPORT DKEK SHARE and its status query, MANAGE KEY DOMAIN, WRAP KEY, UNWRAP KEY.
//
// Status words (errors.Is against the apdu values):
//
//	apdu.ErrCommandNotAllowed   6986  share import when no share is expected
//	apdu.ErrWrongLength         6700  share not 32 bytes
//	apdu.ErrReferenceNotFound   6A88  no complete DKEK (wrap/unwrap), domain not created
//	apdu.ErrIncorrectData       6A80  blob made with another DKEK, wrong CMAC, malformed
//	apdu.ErrFileExists          6A89  unwrap into an occupied key number; domain in use
//	apdu.ErrSecurityStatus      6982  user PIN not verified
//	apdu.ErrIncorrectP1P2       6A86  domain beyond the last one, domain exists already

import (
	"context"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// Instruction bytes of the DKEK commands.
const (
	InsKeyDomain byte = 0x52
	InsWrapKey   byte = 0x72
	InsUnwrapKey byte = 0x74
)

// P1 of INS 52 (pico-hsm-extensions.md 4.2).
const (
	keyDomainImport byte = 0x00
	keyDomainCreate byte = 0x01
	keyDomainDelete byte = 0x03
	keyDomainClear  byte = 0x04
)

// FIDWrapBuffer is EF 2F10, where OpenSC >= 0.24 writes a blob before UNWRAP KEY without
// data (section 2.15).
const FIDWrapBuffer uint16 = 0x2F10

// DKEKStatus is the answer of IMPORT DKEK SHARE / status (section 2.10).
type DKEKStatus struct {
	Total   int // shares configured (FF: domain not created)
	Missing int // shares still to import; 0: the DKEK is complete
	KCV     [8]byte
	// DomainUID is the key-domain UID of an XKEK domain (bytes after the KCV), if any.
	DomainUID []byte
}

// Complete reports whether the DKEK is usable.
func (s DKEKStatus) Complete() bool { return s.Total != 0 && s.Total != 0xFF && s.Missing == 0 }

func parseDKEKStatus(b []byte) (DKEKStatus, error) {
	if len(b) < 10 {
		return DKEKStatus{}, fmt.Errorf("answer of %d bytes, want at least 10", len(b))
	}
	s := DKEKStatus{Total: int(b[0]), Missing: int(b[1])}
	copy(s.KCV[:], b[2:10])
	if len(b) > 10 {
		s.DomainUID = append([]byte(nil), b[10:]...)
	}
	return s, nil
}

func (c *Client) keyDomain(ctx context.Context, p1, domain byte, data []byte, ne int) ([]byte, error) {
	return c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsKeyDomain, P1: p1, P2: domain, Data: data, Ne: ne})
}

// ImportDKEKShare sends 80 52 00 <domain> 20 <share> 00 (section 2.10) and returns the
// status after the import. It needs no PIN.
func (c *Client) ImportDKEKShare(ctx context.Context, domain byte, share []byte) (DKEKStatus, error) {
	if len(share) != 32 {
		return DKEKStatus{}, fmt.Errorf("import DKEK share: share of %d bytes, want 32", len(share))
	}
	data, err := c.keyDomain(ctx, keyDomainImport, domain, share, apdu.MaxShortNe)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("import DKEK share (domain %d): %w", domain, err)
	}
	s, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("import DKEK share (domain %d): %w", domain, err)
	}
	return s, nil
}

// DKEKStatus sends 80 52 00 <domain> 00 (section 2.10).
func (c *Client) DKEKStatus(ctx context.Context, domain byte) (DKEKStatus, error) {
	data, err := c.keyDomain(ctx, keyDomainImport, domain, nil, apdu.MaxShortNe)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("DKEK status (domain %d): %w", domain, err)
	}
	s, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("DKEK status (domain %d): %w", domain, err)
	}
	return s, nil
}

// CreateKeyDomain sends 80 52 01 <domain> 01 <shares> 00: the domain will wait for shares
// DKEK shares. Needs the user PIN.
func (c *Client) CreateKeyDomain(ctx context.Context, domain byte, shares byte) (DKEKStatus, error) {
	data, err := c.keyDomain(ctx, keyDomainCreate, domain, []byte{shares}, apdu.MaxShortNe)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("create key domain %d: %w", domain, err)
	}
	s, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("create key domain %d: %w", domain, err)
	}
	return s, nil
}

// DeleteKeyDomain sends 80 52 03 <domain> (case 1). Pico reports success as 6A88
// (pico-hsm-extensions.md 4.2); this function accepts 9000 and 6A88.
func (c *Client) DeleteKeyDomain(ctx context.Context, domain byte) error {
	_, err := c.keyDomain(ctx, keyDomainDelete, domain, nil, 0)
	if err != nil && !errors.Is(err, apdu.ErrReferenceNotFound) {
		return fmt.Errorf("delete key domain %d: %w", domain, err)
	}
	return nil
}

// ClearKeyDomain sends 80 52 04 <domain> 00: forgets the domain's DKEK (imported shares
// back to 0) and returns the status afterwards.
func (c *Client) ClearKeyDomain(ctx context.Context, domain byte) (DKEKStatus, error) {
	data, err := c.keyDomain(ctx, keyDomainClear, domain, nil, apdu.MaxShortNe)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("clear key domain %d: %w", domain, err)
	}
	if len(data) == 0 {
		return DKEKStatus{}, nil
	}
	s, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("clear key domain %d: %w", domain, err)
	}
	return s, nil
}

// WrapKey sends 80 72 <id> 92 00 00 00 (case 2E, section 2.14) and returns the key blob
// (section 4.4). Needs the user PIN.
func (c *Client) WrapKey(ctx context.Context, id byte) ([]byte, error) {
	data, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsWrapKey, P1: id, P2: 0x92,
		Ne: apdu.MaxExtendedNe, ForceExtended: true})
	if err != nil {
		return nil, fmt.Errorf("wrap key %02X: %w", id, err)
	}
	if len(data) < 8+1+8+16+16 {
		return nil, fmt.Errorf("wrap key %02X: blob of %d bytes", id, len(data))
	}
	return data, nil
}

// UnwrapKey creates key id from a blob (section 2.15). Directly, as OpenSC 0.23 does:
// 80 74 <id> 93 00 <Lc 2 bytes> <blob> (case 3E). viaTransferFile, as OpenSC >= 0.24 does:
// WriteFile of the blob into EF 2F10, then 80 74 <id> 93 (case 1). Needs the user PIN.
func (c *Client) UnwrapKey(ctx context.Context, id byte, blob []byte, viaTransferFile bool) error {
	if id == 0 {
		return fmt.Errorf("unwrap key: key number 00 is the device key")
	}
	if len(blob) == 0 {
		return fmt.Errorf("unwrap key %02X: empty blob", id)
	}
	cmd := apdu.Command{CLA: 0x80, INS: InsUnwrapKey, P1: id, P2: 0x93, Data: blob, ForceExtended: true}
	if viaTransferFile {
		if err := c.WriteFile(ctx, FIDWrapBuffer, blob); err != nil {
			return fmt.Errorf("unwrap key %02X: %w", id, err)
		}
		cmd = apdu.Command{CLA: 0x80, INS: InsUnwrapKey, P1: id, P2: 0x93}
	}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("unwrap key %02X: %w", id, err)
	}
	return nil
}
