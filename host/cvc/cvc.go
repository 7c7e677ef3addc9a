// Package cvc parses and verifies card-verifiable (CV) certificates and certificate requests
// in the BSI TR-03110 form the SmartCard-HSM protocol uses (smartcard-hsm-core.md 3.6, 3.7;
// pico-hsm-extensions.md 5.2):
//
//	7F21 {                       certificate or request
//	  7F4E {                     body: the bytes the signature covers, tag and length included
//	    5F29 CPI                 one byte
//	    [42 CAR]                 authority reference; requests may omit it
//	    7F49 public key          see PublicKey
//	    5F20 CHR                 holder reference
//	    [7F4C CHAT]              { 06 role OID, 53 access bits }     \ certificates only
//	    [5F25 YYMMDD, 5F24 YYMMDD] effective and expiry date, both or neither
//	    [65 extensions]
//	  }
//	  5F37 signature             ECDSA: plain r || s (BSI TR-03111); RSA: PKCS#1 / PSS
//	}
//
// The body elements must appear in that order (OpenSC's decoder is order-sensitive, so a
// certificate out of order is a malformed one). CAR and CHR are 1..MaxNameLen characters of
// the ASN.1 PrintableString set. Dates are six bytes of one decimal digit each, meaning
// 20YY-MM-DD.
package cvc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Tags of the certificate structure (core spec 3.7.1).
const (
	TagCertificate = 0x7F21
	TagBody        = 0x7F4E
	TagCPI         = 0x5F29
	TagCAR         = 0x42
	TagPublicKey   = 0x7F49
	TagCHR         = 0x5F20
	TagCHAT        = 0x7F4C
	TagEffective   = 0x5F25
	TagExpiry      = 0x5F24
	TagExtensions  = 0x65
	TagSignature   = 0x5F37
)

// MaxNameLen is the longest CAR or CHR accepted: OpenSC's buffers hold 16 characters.
const MaxNameLen = 16

var (
	// ErrFormat is wrapped by every error about the encoding.
	ErrFormat = errors.New("cvc: malformed certificate")
	// ErrUnsupported is wrapped when an algorithm or curve is not known or not verifiable.
	ErrUnsupported = errors.New("cvc: unsupported algorithm or curve")
	// ErrSignature is wrapped when a signature does not verify.
	ErrSignature = errors.New("cvc: signature verification failed")
)

// Certificate is a parsed CV certificate or request. Byte slices alias the parsed input.
type Certificate struct {
	Raw       []byte // the whole 7F21 object
	Body      []byte // the whole 7F4E object: the signed bytes
	Signature []byte // value of 5F37

	CPI        byte
	CAR        string // "" when absent
	PublicKey  *PublicKey
	CHR        string
	CHAT       *CHAT     // nil when absent
	Effective  time.Time // zero when absent
	Expiry     time.Time // zero when absent
	Extensions []byte    // value of 65, nil when absent
}

// CHAT is the certificate holder authorisation template (7F4C).
type CHAT struct {
	Role   []byte // DER body of the role OID (id-AT 04 00 7F 00 07 03 01 02 02 for SmartCard-HSM)
	Access []byte // value of 53
}

// IsRequest reports whether c has the shape of a request: no CHAT and no validity dates.
func (c *Certificate) IsRequest() bool {
	return c.CHAT == nil && c.Effective.IsZero() && c.Expiry.IsZero()
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Parse decodes b, which must be exactly one 7F21 object.
func Parse(b []byte) (*Certificate, error) {
	list, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(list) != 1 {
		return nil, formatErr("want one certificate, found %d objects", len(list))
	}
	return parseCert(list[0])
}

// ParseAll decodes a concatenation of 7F21 objects, such as the content of EF.C_DevAut
// (2F02): device certificate first, then its issuers (core spec 3.6).
func ParseAll(b []byte) ([]*Certificate, error) {
	list, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(list) == 0 {
		return nil, formatErr("no certificate")
	}
	certs := make([]*Certificate, 0, len(list))
	for i, t := range list {
		c, err := parseCert(t)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

func parseCert(t tlv.TLV) (*Certificate, error) {
	if t.Tag != TagCertificate {
		return nil, formatErr("want tag 7F21, got %X", t.Tag)
	}
	parts, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(parts) != 2 || parts[0].Tag != TagBody || parts[1].Tag != TagSignature {
		return nil, formatErr("7F21 must hold exactly 7F4E then 5F37")
	}
	if len(parts[1].Value) == 0 {
		return nil, formatErr("empty signature")
	}
	c := &Certificate{Raw: t.Raw, Body: parts[0].Raw, Signature: parts[1].Value}
	if err := c.parseBody(parts[0]); err != nil {
		return nil, err
	}
	return c, nil
}

// parseBody walks the body elements in their fixed order.
func (c *Certificate) parseBody(body tlv.TLV) error {
	els, err := body.Children()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	i := 0
	next := func(tag uint32) (tlv.TLV, bool) {
		if i < len(els) && els[i].Tag == tag {
			i++
			return els[i-1], true
		}
		return tlv.TLV{}, false
	}

	cpi, ok := next(TagCPI)
	if !ok || len(cpi.Value) != 1 {
		return formatErr("body must start with 5F29 of one byte")
	}
	c.CPI = cpi.Value[0]
	if car, ok := next(TagCAR); ok {
		if c.CAR, err = name("CAR", car.Value); err != nil {
			return err
		}
	}
	pk, ok := next(TagPublicKey)
	if !ok {
		return formatErr("missing 7F49 public key after CPI/CAR")
	}
	if c.PublicKey, err = parsePublicKey(pk); err != nil {
		return err
	}
	chr, ok := next(TagCHR)
	if !ok {
		return formatErr("missing 5F20 CHR after 7F49")
	}
	if c.CHR, err = name("CHR", chr.Value); err != nil {
		return err
	}
	if chat, ok := next(TagCHAT); ok {
		if c.CHAT, err = parseCHAT(chat); err != nil {
			return err
		}
	}
	eff, hasEff := next(TagEffective)
	exp, hasExp := next(TagExpiry)
	if hasEff != hasExp {
		return formatErr("5F25 and 5F24 must come together")
	}
	if hasEff {
		if c.Effective, err = date("5F25", eff.Value); err != nil {
			return err
		}
		if c.Expiry, err = date("5F24", exp.Value); err != nil {
			return err
		}
		if c.Expiry.Before(c.Effective) {
			return formatErr("expiry %s before effective date %s",
				c.Expiry.Format(time.DateOnly), c.Effective.Format(time.DateOnly))
		}
	}
	if ext, ok := next(TagExtensions); ok {
		c.Extensions = ext.Value
	}
	if i != len(els) {
		return formatErr("unexpected tag %X in body", els[i].Tag)
	}
	return nil
}

// name checks a CAR/CHR: 1..MaxNameLen PrintableString characters.
func name(what string, v []byte) (string, error) {
	if len(v) == 0 || len(v) > MaxNameLen {
		return "", formatErr("%s of %d characters (want 1..%d)", what, len(v), MaxNameLen)
	}
	for _, ch := range v {
		ok := ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
		switch ch {
		case ' ', '\'', '(', ')', '+', ',', '-', '.', '/', ':', '=', '?':
			ok = true
		}
		if !ok {
			return "", formatErr("%s %q: character %#02x is not printable", what, v, ch)
		}
	}
	return string(v), nil
}

// date decodes YYMMDD with one digit per byte (core spec 3.7.1).
func date(what string, v []byte) (time.Time, error) {
	if len(v) != 6 {
		return time.Time{}, formatErr("%s of %d bytes (want 6)", what, len(v))
	}
	for _, d := range v {
		if d > 9 {
			return time.Time{}, formatErr("%s % X: not one digit per byte", what, v)
		}
	}
	y := 2000 + int(v[0])*10 + int(v[1])
	m := time.Month(int(v[2])*10 + int(v[3]))
	d := int(v[4])*10 + int(v[5])
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if t.Month() != m || t.Day() != d {
		return time.Time{}, formatErr("%s % X is not a calendar date", what, v)
	}
	return t, nil
}

func parseCHAT(t tlv.TLV) (*CHAT, error) {
	els, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("%w: CHAT: %w", ErrFormat, err)
	}
	if len(els) != 2 || els[0].Tag != 0x06 || els[1].Tag != 0x53 || len(els[0].Value) == 0 {
		return nil, formatErr("CHAT must hold 06 role OID then 53 access bits")
	}
	return &CHAT{Role: els[0].Value, Access: els[1].Value}, nil
}
