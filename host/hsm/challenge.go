package hsm

import (
	"context"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// GetChallenge asks the card for n random bytes, 1 <= n <= 65536, with
// 00 84 00 00 Le (short for n <= 256, extended above; section 2.16). A card may answer
// fewer bytes than asked (OpenSC tolerates it), so the result can be shorter than n; an
// empty or longer answer is an error.
func (c *Client) GetChallenge(ctx context.Context, n int) ([]byte, error) {
	if n < 1 || n > apdu.MaxExtendedNe {
		return nil, fmt.Errorf("get challenge: %d bytes asked, want 1..%d", n, apdu.MaxExtendedNe)
	}
	data, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsGetChallenge, Ne: n})
	if err != nil {
		return nil, fmt.Errorf("get challenge: %w", err)
	}
	if len(data) == 0 || len(data) > n {
		return nil, fmt.Errorf("get challenge: card returned %d bytes for %d asked", len(data), n)
	}
	return data, nil
}
