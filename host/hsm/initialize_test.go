package hsm

// INITIALIZE and its data-less query (section 2.9): exact APDUs.

import (
	"context"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

func initCall(p InitParams) func(context.Context, *Client) (any, error) {
	return func(ctx context.Context, c *Client) (any, error) { return nil, c.Initialize(ctx, p) }
}

// Section 2.9, 5.4.
func TestInitialize(t *testing.T) {
	base := InitParams{Options: OptionResetRetryCounter, UserPIN: pin648219, SOPIN: soPIN, Retries: 3}
	with := func(f func(p *InitParams)) InitParams { p := base; f(&p); return p }
	runCalls(t, []callCase{
		{name: "sc-hsm-tool I1", call: initCall(base), replies: []string{"9000"},
			sent: []string{"80 50 00 00 19 80 02 00 01 81 06 363438323139 82 08 3537363231383830 91 01 03"}},
		{name: "dkek shares", call: initCall(with(func(p *InitParams) { p.DKEKShares = ptr(2) })), replies: []string{"9000"},
			sent: []string{"80 50 00 00 1C 80 02 00 01 81 06 363438323139 82 08 3537363231383830 91 01 03 92 01 02"}},
		{name: "zero dkek shares", call: initCall(with(func(p *InitParams) { p.DKEKShares = ptr(0) })), replies: []string{"9000"},
			sent: []string{"80 50 00 00 1C 80 02 00 01 81 06 363438323139 82 08 3537363231383830 91 01 03 92 01 00"}},
		{name: "all tags, transport PIN, 16-byte PIN", replies: []string{"9000"},
			call: initCall(InitParams{Options: 0x0003, UserPIN: []byte("0123456789abcdef"), SOPIN: soPIN, Retries: 10,
				DKEKShares: ptr(1), PublicKeyAuth: &PKAParams{Total: 3, Required: 2}, KeyDomains: ptr(4)}),
			sent: []string{"80 50 00 00 2D 80 02 00 03 81 10 30313233343536373839616263646566 82 08 3537363231383830" +
				" 91 01 0A 92 01 01 93 02 03 02 97 01 04"}},
		{name: "default retries omit 91", call: initCall(with(func(p *InitParams) { p.Retries = 0; p.Options = 0 })),
			replies: []string{"9000"}, sent: []string{"80 50 00 00 16 80 02 00 00 81 06 363438323139 82 08 3537363231383830"}},
		{name: "wrong SO-PIN", call: initCall(base), replies: []string{"63CE"},
			sent:    []string{"80 50 00 00 19 80 02 00 01 81 06 363438323139 82 08 3537363231383830 91 01 03"},
			wantErr: true, wantIs: apdu.WrongPINError{Retries: 14}},
		{name: "blocked SO-PIN", call: initCall(base), replies: []string{"6983"},
			sent:    []string{"80 50 00 00 19 80 02 00 01 81 06 363438323139 82 08 3537363231383830 91 01 03"},
			wantErr: true, wantIs: apdu.ErrBlocked},
		{name: "PIN too short", call: initCall(with(func(p *InitParams) { p.UserPIN = []byte("12345") })), wantErr: true},
		{name: "PIN too long", call: initCall(with(func(p *InitParams) { p.UserPIN = make([]byte, 17) })), wantErr: true},
		{name: "SO-PIN 7 bytes", call: initCall(with(func(p *InitParams) { p.SOPIN = soPIN[:7] })), wantErr: true},
		{name: "retries 16", call: initCall(with(func(p *InitParams) { p.Retries = 16 })), wantErr: true},
		{name: "retries -1", call: initCall(with(func(p *InitParams) { p.Retries = -1 })), wantErr: true},
		{name: "dkek shares 256", call: initCall(with(func(p *InitParams) { p.DKEKShares = ptr(256) })), wantErr: true},
		{name: "pka required > total", call: initCall(with(func(p *InitParams) { p.PublicKeyAuth = &PKAParams{Total: 1, Required: 2} })), wantErr: true},
		{name: "key domains -1", call: initCall(with(func(p *InitParams) { p.KeyDomains = ptr(-1) })), wantErr: true},
	})
}

// Section 2.9.4.
func TestDeviceInfo(t *testing.T) {
	call := func(ctx context.Context, c *Client) (any, error) { return c.DeviceInfo(ctx) }
	runCalls(t, []callCase{
		{name: "answer", call: call, replies: []string{"000EE000 00 06 06 9000"}, sent: []string{"80 50 00 00 00"},
			want: &DeviceInfo{FreeBytes: 0xEE000, VersionMajor: 6, VersionMinor: 6}},
		{name: "short answer", call: call, replies: []string{"000EE000 00 06 9000"}, sent: []string{"80 50 00 00 00"}, wantErr: true},
		{name: "refused", call: call, replies: []string{"6D00"}, sent: []string{"80 50 00 00 00"}, wantErr: true, wantIs: apdu.ErrINSNotSupported},
	})
	if v := (&DeviceInfo{VersionMajor: 6, VersionMinor: 6}).Version(); v != "6.6" {
		t.Errorf("Version = %q", v)
	}
}
