package cvc

import (
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// TagAuthenticatedRequest is the outer tag of an authenticated request (core spec 2.11.2).
const TagAuthenticatedRequest = 0x67

// AuthenticatedRequest is what GENERATE ASYMMETRIC KEY PAIR answers (core spec 2.11.2,
// pico-hsm-extensions.md 5.4):
//
//	67 {
//	  7F21 request       the new public key in a CV request, self-signed by the new key
//	  42 outer CAR       the CHR of the device certificate (EF.C_DevAut, 2F02)
//	  5F37 signature     by the device key over the 7F21 TLV followed by the 42 TLV
//	}
//
// X25519 and X448 keys cannot sign: their request's self-signature is all zero bytes.
type AuthenticatedRequest struct {
	Raw            []byte // the whole 67 object
	Request        *Certificate
	OuterCAR       string
	OuterSigned    []byte // the bytes the outer signature covers: 7F21 TLV || 42 TLV
	OuterSignature []byte // value of the outer 5F37
}

// ParseAuthenticatedRequest decodes b, which must be exactly one 67 object holding 7F21, 42
// and 5F37 in that order.
func ParseAuthenticatedRequest(b []byte) (*AuthenticatedRequest, error) {
	list, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(list) != 1 || list[0].Tag != TagAuthenticatedRequest {
		return nil, formatErr("want one authenticated request (67)")
	}
	parts, err := list[0].Children()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(parts) != 3 || parts[0].Tag != TagCertificate || parts[1].Tag != TagCAR || parts[2].Tag != TagSignature {
		return nil, formatErr("67 must hold exactly 7F21, 42, 5F37")
	}
	req, err := parseCert(parts[0])
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	car, err := name("outer CAR", parts[1].Value)
	if err != nil {
		return nil, err
	}
	if len(parts[2].Value) == 0 {
		return nil, formatErr("empty outer signature")
	}
	signed := append(append([]byte(nil), parts[0].Raw...), parts[1].Raw...)
	return &AuthenticatedRequest{
		Raw: list[0].Raw, Request: req, OuterCAR: car, OuterSigned: signed, OuterSignature: parts[2].Value,
	}, nil
}

// VerifyOuter checks the outer signature under the device key (the public key of the first
// certificate in EF.C_DevAut). Errors wrap ErrSignature or ErrUnsupported.
func (a *AuthenticatedRequest) VerifyOuter(device *PublicKey) error {
	return device.verify(a.OuterSigned, a.OuterSignature, "outer signature of "+a.Request.CHR)
}
