package dkek

// The file of sc-hsm-tool --wrap-key (spec smartcard-hsm-core.md 4.5):
//
//	30 <len> { 04 <len> <key blob> [PRKD TLV] [certificate TLV] }
//
// PRKD (C4xx) and certificate (CExx) are copied as the card stores them, cut to the length
// of their outermost TLV.

import (
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// WrapFile is the content of a wrapped-key file.
type WrapFile struct {
	Blob []byte
	PRKD []byte // nil when absent
	Cert []byte // nil when absent
}

// ErrWrapFile is wrapped by ParseWrapFile's errors.
var ErrWrapFile = errors.New("dkek: invalid wrapped key file")

// FirstTLV returns b cut to its first TLV (sc-hsm-tool's determineLength), or nil when b
// does not start with one.
func FirstTLV(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	list, err := tlv.Parse(b)
	if err == nil && len(list) > 0 {
		return list[0].Raw
	}
	// Trailing bytes that do not parse: parse until the error, keep the first object.
	for n := len(b) - 1; n > 0; n-- {
		if l, err := tlv.Parse(b[:n]); err == nil && len(l) > 0 {
			return l[0].Raw
		}
	}
	return nil
}

// Marshal encodes the file.
func (w *WrapFile) Marshal() []byte {
	inner := tlv.Encode(0x04, w.Blob)
	inner = append(inner, FirstTLV(w.PRKD)...)
	inner = append(inner, FirstTLV(w.Cert)...)
	return tlv.Encode(0x30, inner)
}

// ParseWrapFile decodes a wrapped-key file.
func ParseWrapFile(b []byte) (*WrapFile, error) {
	top, err := tlv.Parse(b)
	if err != nil || len(top) != 1 || top[0].Tag != 0x30 {
		return nil, fmt.Errorf("%w: no outer SEQUENCE", ErrWrapFile)
	}
	kids, err := top[0].Children()
	if err != nil || len(kids) == 0 || kids[0].Tag != 0x04 || kids[0].Constructed {
		return nil, fmt.Errorf("%w: no key blob OCTET STRING", ErrWrapFile)
	}
	if len(kids) > 3 {
		return nil, fmt.Errorf("%w: %d objects in the SEQUENCE", ErrWrapFile, len(kids))
	}
	w := &WrapFile{Blob: append([]byte(nil), kids[0].Value...)}
	if len(kids) > 1 {
		w.PRKD = append([]byte(nil), kids[1].Raw...)
	}
	if len(kids) > 2 {
		w.Cert = append([]byte(nil), kids[2].Raw...)
	}
	return w, nil
}
