// Package hsm is the client library for a SmartCard-HSM compatible card (Pico HSM): it
// builds the protocol's command APDUs, sends them over a transport.Transport and decodes
// the answers. Section numbers refer to smartcard-hsm-core.md.
package hsm

import (
	"context"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// Client talks to one card. Like its Transport it is not safe for concurrent use.
type Client struct {
	t transport.Transport
}

// New returns a Client that sends its commands over t. The Client does not own t: the
// caller closes it.
func New(t transport.Transport) *Client {
	return &Client{t: t}
}

// Transport returns the transport the client sends over.
func (c *Client) Transport() transport.Transport { return c.t }

// Transmit encodes cmd, sends it and returns the response data with apdu.Check of the
// status word: nil for 9000, otherwise an apdu.StatusError or apdu.WrongPINError. The data
// is returned even when the status word is an error (a READ BINARY ending with 6282 still
// carries data).
func (c *Client) Transmit(ctx context.Context, cmd apdu.Command) ([]byte, error) {
	raw, err := cmd.Bytes()
	if err != nil {
		return nil, err
	}
	resp, err := c.t.Transmit(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("transmit: %w", err)
	}
	data, sw, err := apdu.ParseResponse(resp)
	if err != nil {
		return nil, err
	}
	return data, apdu.Check(sw)
}
