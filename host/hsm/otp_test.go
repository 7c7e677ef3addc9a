package hsm

import (
	"context"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

func TestOTPCalls(t *testing.T) {
	so := h("3537363231383830")
	runCalls(t, []callCase{
		{name: "status", call: func(ctx context.Context, c *Client) (any, error) { return c.OTPStatus(ctx) },
			replies: []string{"02 01 9000"}, sent: []string{"80 64 F0 00 00"},
			want: &OTPStatus{State: OTPReady, UserBound: true}},
		{name: "status blank", call: func(ctx context.Context, c *Client) (any, error) { return c.OTPStatus(ctx) },
			replies: []string{"01 02 9000"}, sent: []string{"80 64 F0 00 00"},
			want: &OTPStatus{State: OTPBlank, SOBound: true}},
		{name: "status short", call: func(ctx context.Context, c *Client) (any, error) { return c.OTPStatus(ctx) },
			replies: []string{"02 9000"}, sent: []string{"80 64 F0 00 00"}, wantErr: true},
		{name: "provision", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.ProvisionOTP(ctx, so) },
			replies: []string{"9000"}, sent: []string{"80 64 F0 01 08 3537363231383830"}},
		{name: "provision twice", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.ProvisionOTP(ctx, so) },
			replies: []string{"6985"}, sent: []string{"80 64 F0 01 08 3537363231383830"},
			wantErr: true, wantIs: apdu.ErrConditions},
		{name: "provision wrong so-pin", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.ProvisionOTP(ctx, so) },
			replies: []string{"63CE"}, sent: []string{"80 64 F0 01 08 3537363231383830"},
			wantErr: true, wantIs: apdu.WrongPINError{Retries: 14}},
		{name: "provision bad so-pin length", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.ProvisionOTP(ctx, so[:7])
		}, wantErr: true},
	})
}
