// Package transport defines how the client library reaches a card: one APDU out, one
// response (data followed by SW1 SW2) back. Implementations: vpcd (the harness plays the
// virtual reader and the emulator connects to it) and pcsc (any PC/SC reader through pcscd).
package transport

import "context"

// Transport exchanges raw APDUs with one card. Implementations are not safe for concurrent
// use; a Transport serves one client at a time.
type Transport interface {
	// Transmit sends one command APDU and returns the complete response APDU including the
	// two status bytes.
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
	// ATR returns the card's answer to reset.
	ATR() []byte
	// Close releases the card and the connection.
	Close() error
}
