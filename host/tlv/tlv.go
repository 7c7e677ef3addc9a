// Package tlv reads and writes BER-TLV data objects as ISO 7816-4 and the SmartCard-HSM
// protocol use them (FCP, CV certificates, key descriptions).
//
// Format accepted by Parse:
//
//	tag     one byte, or, when its low five bits are all ones (xx & 1F == 1F), followed by
//	        bytes with bit 8 set (continuation) and a last byte with bit 8 clear; at most
//	        4 bytes in all. Bit 6 of the first byte (20) marks a constructed object.
//	length  00..7F, or 81 xx, 82 xx xx, 83 xx xx xx. Indefinite length (80) and length
//	        fields of 4 or more bytes (84..FF) are rejected.
//	value   exactly length bytes.
//
// A tag is held as a uint32 whose big-endian bytes, without leading zeros, are the tag as
// written on the wire: 7F21 is the two bytes 7F 21. Non-minimal length encodings (81 05)
// are accepted by Parse; Encode always writes the minimal form.
package tlv

import (
	"errors"
	"fmt"
)

// MaxLength is the largest value length Encode can write (83 FF FF FF).
const MaxLength = 1<<24 - 1

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("tlv: malformed data")

// TLV is one data object. Value and Raw alias the parsed input.
type TLV struct {
	Tag         uint32
	Constructed bool
	Value       []byte
	// Raw is the whole encoding, tag and length included, as it appeared in the input
	// (needed, for example, to check a signature over a certificate body).
	Raw []byte
}

// Children parses Value as a sequence of data objects. It parses on each call and does
// not require Constructed: some SmartCard-HSM containers use primitive-looking tags.
func (t TLV) Children() ([]TLV, error) {
	c, err := Parse(t.Value)
	if err != nil {
		return nil, fmt.Errorf("children of tag %X: %w", t.Tag, err)
	}
	return c, nil
}

// Parse splits b into its top-level data objects. Empty input gives an empty list.
func Parse(b []byte) ([]TLV, error) {
	var list []TLV
	for off := 0; off < len(b); {
		t, n, err := parseOne(b[off:])
		if err != nil {
			return nil, fmt.Errorf("at offset %d: %w", off, err)
		}
		list = append(list, t)
		off += n
	}
	return list, nil
}

func syntax(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// parseOne decodes the object at the start of b and returns it with its encoded size.
func parseOne(b []byte) (TLV, int, error) {
	if len(b) == 0 {
		return TLV{}, 0, syntax("missing tag")
	}
	tag := uint32(b[0])
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return TLV{}, 0, syntax("truncated tag")
			}
			if i >= 4 {
				return TLV{}, 0, syntax("tag longer than 4 bytes")
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, 0, syntax("missing length after tag %X", tag)
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		switch {
		case n == 0:
			return TLV{}, 0, syntax("indefinite length (80) for tag %X", tag)
		case n > 3:
			return TLV{}, 0, syntax("length field of %d bytes for tag %X", n, tag)
		case i+n > len(b):
			return TLV{}, 0, syntax("truncated length for tag %X", tag)
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > len(b)-i {
		return TLV{}, 0, syntax("value of tag %X needs %d bytes, %d left", tag, l, len(b)-i)
	}
	end := i + l
	return TLV{
		Tag:         tag,
		Constructed: b[0]&0x20 != 0,
		Value:       b[i:end:end],
		Raw:         b[:end:end],
	}, end, nil
}

// Find returns the first object in list with the given tag. It does not descend into
// children.
func Find(list []TLV, tag uint32) (TLV, bool) {
	for _, t := range list {
		if t.Tag == tag {
			return t, true
		}
	}
	return TLV{}, false
}

// tagBytes returns the wire form of tag and whether it is a well-formed BER tag.
func tagBytes(tag uint32) ([]byte, bool) {
	var b []byte
	switch {
	case tag <= 0xFF:
		b = []byte{byte(tag)}
	case tag <= 0xFFFF:
		b = []byte{byte(tag >> 8), byte(tag)}
	case tag <= 0xFFFFFF:
		b = []byte{byte(tag >> 16), byte(tag >> 8), byte(tag)}
	default:
		b = []byte{byte(tag >> 24), byte(tag >> 16), byte(tag >> 8), byte(tag)}
	}
	multi := b[0]&0x1F == 0x1F
	if !multi {
		return b, len(b) == 1
	}
	if len(b) == 1 {
		return b, false
	}
	for _, c := range b[1 : len(b)-1] {
		if c&0x80 == 0 {
			return b, false
		}
	}
	return b, b[len(b)-1]&0x80 == 0
}

// lengthBytes returns the minimal BER length field for n.
func lengthBytes(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		return []byte{0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// Encode returns tag, the minimal length field and value. It panics when tag is not a
// well-formed BER tag or value is longer than MaxLength: both are programming errors,
// never the result of outside input.
func Encode(tag uint32, value []byte) []byte {
	return Append(nil, tag, value)
}

// Append appends the encoding of one data object to dst, like Encode.
func Append(dst []byte, tag uint32, value []byte) []byte {
	tb, ok := tagBytes(tag)
	if !ok {
		panic(fmt.Sprintf("tlv: %X is not a BER tag", tag))
	}
	if len(value) > MaxLength {
		panic(fmt.Sprintf("tlv: value of %d bytes exceeds %d", len(value), MaxLength))
	}
	dst = append(dst, tb...)
	dst = append(dst, lengthBytes(len(value))...)
	return append(dst, value...)
}
