package hsm

// The DKEK commands (sections 2.10, 2.14, 2.15; pico-hsm-extensions.md 4.2): exact APDUs.

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

func TestDKEKCommands(t *testing.T) {
	share := bytes.Repeat([]byte{0xA5}, 32)
	shareHex := strings.Repeat("A5", 32)
	blob := bytes.Repeat([]byte{0xB7}, 363)
	blobHex := strings.Repeat("B7", 363)
	st := DKEKStatus{Total: 2, Missing: 1, KCV: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	runCalls(t, []callCase{
		{name: "status", call: func(ctx context.Context, c *Client) (any, error) { return c.DKEKStatus(ctx, 0) },
			replies: []string{"02 01 0102030405060708 9000"}, sent: []string{"80 52 00 00 00"}, want: st},
		{name: "status domain 3 with UID", call: func(ctx context.Context, c *Client) (any, error) { return c.DKEKStatus(ctx, 3) },
			replies: []string{"FF 00 0000000000000000 AABB 9000"}, sent: []string{"80 52 00 03 00"},
			want: DKEKStatus{Total: 0xFF, DomainUID: []byte{0xAA, 0xBB}}},
		{name: "status short answer", call: func(ctx context.Context, c *Client) (any, error) { return c.DKEKStatus(ctx, 0) },
			replies: []string{"02 01 9000"}, sent: []string{"80 52 00 00 00"}, wantErr: true},
		{name: "import", call: func(ctx context.Context, c *Client) (any, error) { return c.ImportDKEKShare(ctx, 0, share) },
			replies: []string{"02 01 0102030405060708 9000"}, sent: []string{"80 52 00 00 20" + shareHex + "00"}, want: st},
		{name: "import unexpected", call: func(ctx context.Context, c *Client) (any, error) { return c.ImportDKEKShare(ctx, 1, share) },
			replies: []string{"6986"}, sent: []string{"80 52 00 01 20" + shareHex + "00"}, wantErr: true, wantIs: apdu.ErrCommandNotAllowed},
		{name: "import short share refused on the host", call: func(ctx context.Context, c *Client) (any, error) {
			return c.ImportDKEKShare(ctx, 0, share[:31])
		}, wantErr: true},
		{name: "create domain", call: func(ctx context.Context, c *Client) (any, error) { return c.CreateKeyDomain(ctx, 2, 3) },
			replies: []string{"03 03 0000000000000000 9000"}, sent: []string{"80 52 01 02 01 03 00"},
			want: DKEKStatus{Total: 3, Missing: 3}},
		{name: "delete domain (Pico: 6A88 is success)", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.DeleteKeyDomain(ctx, 2)
		}, replies: []string{"6A88"}, sent: []string{"80 52 03 02"}},
		{name: "delete domain in use", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteKeyDomain(ctx, 2) },
			replies: []string{"6A89"}, sent: []string{"80 52 03 02"}, wantErr: true, wantIs: apdu.ErrFileExists},
		{name: "clear domain", call: func(ctx context.Context, c *Client) (any, error) { return c.ClearKeyDomain(ctx, 1) },
			replies: []string{"02 02 0000000000000000 9000"}, sent: []string{"80 52 04 01 00"},
			want: DKEKStatus{Total: 2, Missing: 2}},
		{name: "wrap", call: func(ctx context.Context, c *Client) (any, error) { return c.WrapKey(ctx, 5) },
			replies: []string{blobHex + "9000"}, sent: []string{"80 72 05 92 00 00 00"}, want: blob},
		{name: "wrap without DKEK", call: func(ctx context.Context, c *Client) (any, error) { return c.WrapKey(ctx, 5) },
			replies: []string{"6A88"}, sent: []string{"80 72 05 92 00 00 00"}, wantErr: true, wantIs: apdu.ErrReferenceNotFound},
		{name: "unwrap direct (OpenSC 0.23)", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.UnwrapKey(ctx, 7, blob, false)
		}, replies: []string{"9000"}, sent: []string{"80 74 07 93 00 016B" + blobHex}},
		{name: "unwrap via EF 2F10 (OpenSC 0.24)", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.UnwrapKey(ctx, 7, blob, true)
		}, replies: []string{"9000", "9000", "9000"}, sent: []string{
			"00 D7 2F 10 06 54 02 0000 53 00",
			"00 D7 00 00 00 0173 54 02 0000 53 82 016B" + blobHex,
			"80 74 07 93"}},
		{name: "unwrap wrong DKEK", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.UnwrapKey(ctx, 7, blob, false)
		}, replies: []string{"6A80"}, sent: []string{"80 74 07 93 00 016B" + blobHex}, wantErr: true, wantIs: apdu.ErrIncorrectData},
		{name: "unwrap into key 0 refused on the host", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.UnwrapKey(ctx, 0, blob, false)
		}, wantErr: true},
	})
}
