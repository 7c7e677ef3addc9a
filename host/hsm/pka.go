package hsm

// Public key authentication, m of n (pico-hsm-extensions.md 5.6; smartcard-hsm-core.md 2.17):
// MANAGE PKA 80 54, MSE SET AT 00 22 81 A4 83 <CHR>, GET CHALLENGE, EXTERNAL AUTHENTICATE 00 82.

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Instruction bytes of public key authentication.
const (
	InsManagePKA            byte = 0x54
	InsExternalAuthenticate byte = 0x82
)

// SWPKAAuthenticated is the success status word of a slot read (80 54 02 xx) whose key has
// authenticated in this session.
const SWPKAAuthenticated uint16 = 0x9001

// PKAStatus is the 4-byte answer of MANAGE PKA: keys configured, still unregistered,
// required, authenticated in this session.
type PKAStatus struct {
	Total, Missing, Required, Authenticated int
}

func parsePKAStatus(b []byte) (PKAStatus, error) {
	if len(b) != 4 {
		return PKAStatus{}, fmt.Errorf("pka status: %d bytes, want 4", len(b))
	}
	return PKAStatus{int(b[0]), int(b[1]), int(b[2]), int(b[3])}, nil
}

// PKAStatus reads the status: 80 54 00 00 Le. apdu.ErrIncorrectP1P2 (6A86) when PKA is not
// configured.
func (c *Client) PKAStatus(ctx context.Context) (PKAStatus, error) {
	b, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsManagePKA, Ne: 256})
	if err != nil {
		return PKAStatus{}, fmt.Errorf("pka status: %w", err)
	}
	return parsePKAStatus(b)
}

// RegisterPublicKey registers req, the content of a 67 authenticated request (7F21 request ||
// 42 outer CAR || 5F37 outer signature), into the first empty slot: 80 54 00 00 <req>. The
// client should first have the device and DV certificates of the request's device trusted
// (SelectVerifier + VerifyCertificate), as sc-hsm-tool does.
func (c *Client) RegisterPublicKey(ctx context.Context, req []byte) (PKAStatus, error) {
	b, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsManagePKA, Data: req, Ne: 256})
	if err != nil {
		return PKAStatus{}, fmt.Errorf("register public key: %w", err)
	}
	return parsePKAStatus(b)
}

// ReplacePublicKey replaces the key of slot (80 54 01 slot <req>); the device needs option
// 0008 and the user PIN.
func (c *Client) ReplacePublicKey(ctx context.Context, slot byte, req []byte) (PKAStatus, error) {
	b, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsManagePKA, P1: 0x01, P2: slot, Data: req, Ne: 256})
	if err != nil {
		return PKAStatus{}, fmt.Errorf("replace public key %d: %w", slot, err)
	}
	return parsePKAStatus(b)
}

// PKASlot reads slot (80 54 02 slot): the CHR of its registered key and whether that key has
// authenticated in this session (SW 9001).
func (c *Client) PKASlot(ctx context.Context, slot byte) (chr string, authenticated bool, err error) {
	raw, err := apdu.Command{CLA: 0x80, INS: InsManagePKA, P1: 0x02, P2: slot, Ne: 256}.Bytes()
	if err != nil {
		return "", false, err
	}
	resp, err := c.t.Transmit(ctx, raw)
	if err != nil {
		return "", false, fmt.Errorf("pka slot %d: transmit: %w", slot, err)
	}
	data, sw, err := apdu.ParseResponse(resp)
	if err != nil {
		return "", false, err
	}
	if sw == SWPKAAuthenticated {
		return string(data), true, nil
	}
	if err := apdu.Check(sw); err != nil {
		return "", false, fmt.Errorf("pka slot %d: %w", slot, err)
	}
	return string(data), false, nil
}

// SelectPKAKey selects the registered key named chr: 00 22 81 A4 83 <chr>.
// apdu.ErrConditions when it already authenticated, apdu.ErrReferenceNotFound when unknown.
func (c *Client) SelectPKAKey(ctx context.Context, chr string) error {
	cmd := apdu.Command{CLA: 0x00, INS: InsMSE, P1: 0x81, P2: 0xA4, Data: tlv.Encode(0x83, []byte(chr))}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("select pka key %s: %w", chr, err)
	}
	return nil
}

// ExternalAuthenticate sends the signature over PKADigest: 00 82 00 00 <sig>.
func (c *Client) ExternalAuthenticate(ctx context.Context, sig []byte) error {
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsExternalAuthenticate, Data: sig}); err != nil {
		return fmt.Errorf("external authenticate: %w", err)
	}
	return nil
}

// PKADigest is what a key holder signs: SHA-256(device name || challenge), the device name
// being the CHR of the first certificate of EF.C_DevAut.
func PKADigest(deviceName string, challenge []byte) []byte {
	h := sha256.New()
	h.Write([]byte(deviceName))
	h.Write(challenge)
	return h.Sum(nil)
}

// PKAHolder is one registered key holder: the CHR of its registered request and a function
// that signs a SHA-256 digest (ECDSA r || s at the order length, or RSA PKCS#1 v1.5).
type PKAHolder struct {
	CHR  string
	Sign func(digest []byte) ([]byte, error)
}

// AuthenticatePKA runs one challenge-response for the holders (spec 5.6): one GET CHALLENGE
// (which resets the flags), then for each holder MSE SET AT + EXTERNAL AUTHENTICATE.
func (c *Client) AuthenticatePKA(ctx context.Context, holders []PKAHolder) error {
	chain, err := c.DeviceChain(ctx)
	if err != nil {
		return fmt.Errorf("pka: %w", err)
	}
	challenge, err := c.GetChallenge(ctx, 8)
	if err != nil {
		return fmt.Errorf("pka: %w", err)
	}
	digest := PKADigest(chain[0].CHR, challenge)
	for _, h := range holders {
		if err := c.SelectPKAKey(ctx, h.CHR); err != nil {
			return err
		}
		sig, err := h.Sign(digest)
		if err != nil {
			return fmt.Errorf("pka: sign for %s: %w", h.CHR, err)
		}
		if err := c.ExternalAuthenticate(ctx, sig); err != nil {
			return fmt.Errorf("pka %s: %w", h.CHR, err)
		}
	}
	return nil
}
