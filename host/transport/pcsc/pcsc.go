// Package pcsc reaches a card through the PC/SC daemon (pcscd, libpcsclite) and exposes it
// as a transport.Transport. The binding uses cgo; when cgo is disabled (or with the build
// tag nopcsc) the package still builds and every entry point returns ErrUnavailable.
//
// The connection is shared (SCARD_SHARE_SHARED), uses T=1 only (the SmartCard-HSM ATR
// announces T=1, spec 1.1) and leaves the card powered on Close (SCARD_LEAVE_CARD), as
// OpenSC does (spec 1.2).
package pcsc

import (
	"errors"
	"fmt"
)

// ErrUnavailable is returned by every function of a build without cgo.
var ErrUnavailable = errors.New("pcsc: not available (built without cgo or with tag nopcsc)")

// Code is a PC/SC return code (SCARD_E_*, SCARD_W_*). It is an error, so callers can
// write errors.Is(err, pcsc.ErrNoSmartcard).
type Code uint32

// PC/SC codes callers commonly test for (pcsclite.h).
const (
	ErrNoSmartcard        Code = 0x8010000C // SCARD_E_NO_SMARTCARD
	ErrNoService          Code = 0x8010001D // SCARD_E_NO_SERVICE
	ErrNoReadersAvailable Code = 0x8010002E // SCARD_E_NO_READERS_AVAILABLE
	ErrUnknownReader      Code = 0x80100009 // SCARD_E_UNKNOWN_READER
	ErrRemovedCard        Code = 0x80100069 // SCARD_W_REMOVED_CARD
	ErrResetCard          Code = 0x80100068 // SCARD_W_RESET_CARD
)

func (c Code) Error() string { return fmt.Sprintf("%s (0x%08X)", codeText(c), uint32(c)) }

// Error is a failed PC/SC call: the function and the code with its pcsc-lite text.
type Error struct {
	Op   string // the PC/SC function, e.g. "SCardTransmit"
	Code Code
}

func (e *Error) Error() string { return "pcsc: " + e.Op + ": " + e.Code.Error() }

// Unwrap lets errors.Is(err, pcsc.ErrNoSmartcard) match.
func (e *Error) Unwrap() error { return e.Code }
