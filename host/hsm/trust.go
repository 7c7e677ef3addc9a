package hsm

// The device's CV certificate chain and trust store (pico-hsm-extensions.md 5.1, 5.3-5.5):
// EF.C_DevAut (2F02), the attestation CE<id> of a key, MSE SET + PSO VERIFY CERTIFICATE.

import (
	"context"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Instruction bytes of the trust-store commands.
const (
	InsMSE byte = 0x22
	InsPSO byte = 0x2A
)

// DeviceChain reads EF.C_DevAut and parses it: the device certificate first, then its
// issuers (one self-signed certificate before enrolment).
func (c *Client) DeviceChain(ctx context.Context) ([]*cvc.Certificate, error) {
	b, err := c.ReadFile(ctx, FIDDevAut)
	if err != nil {
		return nil, err
	}
	certs, err := cvc.ParseAll(b)
	if err != nil {
		return nil, fmt.Errorf("device chain 2F02: %w", err)
	}
	return certs, nil
}

// InstallDeviceChain replaces EF.C_DevAut with chain (device certificate || DV certificate,
// spec 5.3 step 4) in one UPDATE BINARY at offset 0: 00 D7 2F 02 54 02 00 00 53 <len> <chain>.
// The device accepts only a chain whose first certificate holds its own key and CHR
// (apdu.ErrConditions otherwise); it needs the user PIN.
func (c *Client) InstallDeviceChain(ctx context.Context, chain []byte) error {
	cmd := apdu.Command{CLA: 0x00, INS: InsUpdateBinary, P1: 0x2F, P2: 0x02,
		Data: tlv.Append(offsetObject(0), 0x53, chain)}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("install device chain: %w", err)
	}
	return nil
}

// Attestation reads CE<id>, the authenticated request the device answered and kept when it
// generated key id (spec 5.4).
func (c *Client) Attestation(ctx context.Context, id byte) (*cvc.AuthenticatedRequest, error) {
	b, err := c.ReadFile(ctx, uint16(PrefixEECert)<<8|uint16(id))
	if err != nil {
		return nil, fmt.Errorf("attestation of key %d: %w", id, err)
	}
	req, err := cvc.ParseAuthenticatedRequest(b)
	if err != nil {
		return nil, fmt.Errorf("attestation of key %d: %w", id, err)
	}
	return req, nil
}

// SelectVerifier makes the trusted certificate named car the current verification key:
// MSE SET DST 00 22 81 B6 83 <car> (spec 5.5). apdu.ErrReferenceNotFound when it is not trusted.
func (c *Client) SelectVerifier(ctx context.Context, car string) error {
	cmd := apdu.Command{CLA: 0x00, INS: InsMSE, P1: 0x81, P2: 0xB6, Data: tlv.Encode(0x83, []byte(car))}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("select verifier %s: %w", car, err)
	}
	return nil
}

// VerifyCertificate sends PSO VERIFY CERTIFICATE 00 2A 00 BE <7F21 certificate>: the device
// checks it under the current verifier and adds it to its trust store (CAxx). Errors (spec
// 5.5): apdu.ErrReferenceNotFound (no verifier), apdu.ErrReferenceDataUnusable (malformed),
// apdu.ErrConditions (signature, issuer or expired), apdu.ErrNotEnoughMemory (store full).
func (c *Client) VerifyCertificate(ctx context.Context, cert []byte) error {
	cmd := apdu.Command{CLA: 0x00, INS: InsPSO, P1: 0x00, P2: 0xBE, Data: cert}
	if _, err := c.Transmit(ctx, cmd); err != nil {
		return fmt.Errorf("verify certificate: %w", err)
	}
	return nil
}
