// Package vpcd implements the reader side of the vsmartcard "vpcd" protocol (spec
// smartcard-hsm-core.md section 1.5), so tests and tools can drive a virtual card such as
// pico-hsm-emu directly over TCP without pcscd.
//
// Wire format, both directions: a 2-byte big-endian length N followed by exactly N bytes.
// A frame holds at most 65535 bytes. A 1-byte frame from the reader is a control frame
// (00 power off, 01 power on, 02 reset, 04 get ATR); only 04 is answered (with the ATR).
// Any longer frame is a command APDU, answered by one frame holding data followed by SW1 SW2.
package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the largest payload a frame can carry: the length field is 16 bits.
const MaxFrame = 0xFFFF

// ErrFrameTooLarge is returned when a payload does not fit the 16-bit length field.
var ErrFrameTooLarge = errors.New("vpcd: frame larger than 65535 bytes")

// WriteFrame writes payload as one frame: length header and payload in a single Write so a
// TCP peer sees them in one segment (TCP_NODELAY is set on reader connections).
func WriteFrame(w io.Writer, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("write frame of %d bytes: %w", len(payload), ErrFrameTooLarge)
	}
	buf := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(buf, uint16(len(payload)))
	copy(buf[2:], payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("vpcd: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads exactly one frame and returns its payload (empty, never nil, for a
// zero-length frame). A stream that ends inside a frame yields an error wrapping
// io.ErrUnexpectedEOF; a stream that ends cleanly before a header yields io.EOF.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("vpcd: read frame header: %w", err)
	}
	n := binary.BigEndian.Uint16(hdr[:])
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("vpcd: read frame body (%d bytes): %w", n, err)
	}
	return payload, nil
}
