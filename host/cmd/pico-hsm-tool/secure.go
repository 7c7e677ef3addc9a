package main

// --secure: secure messaging (pico-hsm-extensions.md 5.7) for every command after the user
// PIN. Chip authentication needs a PIN session on the device, so the transport starts in
// plain; right after a user-PIN VERIFY (00 20 00 81 with data) answered 9000 it opens the
// channel (MSE SET AT, GENERAL AUTHENTICATE with the device key of 2F02) and sends every later
// APDU protected. A command without --pin runs in plain.

import (
	"context"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// secureMessaging is set by the global --secure flag.
var secureMessaging bool

type secureAfterLogin struct {
	transport.Transport
	channel *hsm.SecureChannel
}

func (s *secureAfterLogin) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if s.channel != nil {
		return s.channel.Transmit(ctx, b)
	}
	resp, err := s.Transport.Transmit(ctx, b)
	if err != nil || len(b) < 5 || b[0] != 0x00 || b[1] != 0x20 || b[2] != 0x00 || b[3] != 0x81 ||
		len(resp) != 2 || resp[0] != 0x90 || resp[1] != 0x00 {
		return resp, err
	}
	ch, err := hsm.New(s.Transport).OpenSecureChannel(ctx)
	if err != nil {
		return nil, fmt.Errorf("--secure: %w", err)
	}
	s.channel = ch
	return resp, nil
}
