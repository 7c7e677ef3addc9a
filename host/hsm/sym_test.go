package hsm

import (
	"context"
	"crypto"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// The APDUs of section 1.7 byte for byte (the TLV framing pypicohsm uses; extended length).
func TestSymCommands(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	runCalls(t, []callCase{
		{name: "generate AES-192 with counter and list",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.GenerateAESKey(ctx, 5, 192, KeyOptions{UsageCounter: u32(7), Algorithms: []byte{0x51, 0x52}})
			},
			replies: []string{"9000"}, sent: []string{"00 48 05 B1 0A 90 04 00 00 00 07 91 02 51 52"}},
		{name: "generate 100 bits", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.GenerateAESKey(ctx, 5, 100, KeyOptions{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "CMAC", call: func(ctx context.Context, c *Client) (any, error) { return c.CMAC(ctx, 3, []byte{0xAA}) },
			replies: []string{"00112233445566778899AABBCCDDEEFF 9000"}, sent: []string{"80 78 03 18 00 00 01 AA 00 10"},
			want: h("00112233445566778899AABBCCDDEEFF")},
		{name: "HMAC-SHA256", call: func(ctx context.Context, c *Client) (any, error) { return c.HMAC(ctx, 3, crypto.SHA256, []byte("hi")) },
			replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 0E 06 08 2A864886F70D0209 81 02 6869 00 20"}, want: []byte{}},
		{name: "HKDF-SHA384, 64 bytes", call: func(ctx context.Context, c *Client) (any, error) {
			return c.HKDF(ctx, 3, crypto.SHA384, []byte{0x01}, []byte{0x02}, 64)
		}, replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 13 06 0B 2A864886F70D010910031E 81 01 02 82 01 01 00 40"}, want: []byte{}},
		{name: "PBKDF2-SHA256 4096", call: func(ctx context.Context, c *Client) (any, error) {
			return c.PBKDF2(ctx, 3, crypto.SHA256, []byte("salt"), 4096, 32)
		}, replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 23 06 09 2A864886F70D01050C 81 16 04 04 73616C74 02 02 1000 30 0A 06 08 2A864886F70D0209 00 20"}, want: []byte{}},
		{name: "X9.63 SHA-512", call: func(ctx context.Context, c *Client) (any, error) {
			return c.X963KDF(ctx, 3, crypto.SHA512, []byte{0xAB}, 100)
		}, replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 16 06 07 2B8105108648 3F 81 08 2A864886F70D020B 83 01 AB 00 64"}, want: []byte{}},
		{name: "AES-256-GCM decrypt", call: func(ctx context.Context, c *Client) (any, error) {
			return c.AESDecrypt(ctx, 3, 256, ModeGCM, []byte{1}, CipherParams{IV: []byte{2}, AAD: []byte{3}})
		}, replies: []string{"6400"}, sent: []string{"80 78 03 52 00 00 14 06 09 60864801650304012E 81 01 01 82 01 02 83 01 03 00 00"},
			wantErr: true, wantIs: apdu.ErrExecution},
		{name: "AES-128-XTS", call: func(ctx context.Context, c *Client) (any, error) {
			return c.AESEncrypt(ctx, 3, 256, ModeXTS, []byte{1}, CipherParams{})
		}, replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 0E 06 09 2B6F028C5300000101 81 01 01 00 00"}, want: []byte{}},
		{name: "XTS with a 128-bit key", call: func(ctx context.Context, c *Client) (any, error) {
			return c.AESEncrypt(ctx, 3, 128, ModeXTS, []byte{1}, CipherParams{})
		}, wantErr: true, wantIs: ErrNotSupported},
		{name: "ChaCha20-Poly1305 seal", call: func(ctx context.Context, c *Client) (any, error) {
			return c.ChaCha20Poly1305Seal(ctx, 3, []byte{9}, []byte{1}, nil)
		}, replies: []string{"9000"}, sent: []string{"80 78 03 51 00 00 13 06 0B 2A864886F70D0109100312 81 01 01 82 01 09 00 00"}, want: []byte{}},
		{name: "derive EC", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.DeriveEC(ctx, 1, 2, []byte{0xAB}) },
			replies: []string{"9000"}, sent: []string{"80 76 01 02 00 00 02 98 AB"}},
		{name: "derive EC into 00", call: func(ctx context.Context, c *Client) (any, error) { return nil, c.DeriveEC(ctx, 1, 0, []byte{0xAB}) },
			wantErr: true},
	})
}

// Section 1.6.1: the OID bytes per mode and key size.
func TestAESOID(t *testing.T) {
	for _, tc := range []struct {
		mode AESMode
		bits int
		last byte
	}{
		{ModeECB, 128, 0x01}, {ModeCBC, 128, 0x02}, {ModeOFB, 128, 0x03}, {ModeCFB, 128, 0x04}, {ModeGCM, 128, 0x06},
		{ModeCCM, 128, 0x07}, {ModeCTR, 128, 0x09}, {ModeECB, 192, 0x15}, {ModeGCM, 192, 0x1A}, {ModeCTR, 192, 0x1D},
		{ModeCBC, 256, 0x2A}, {ModeCCM, 256, 0x2F}, {ModeCTR, 256, 0x31},
	} {
		oid, err := AESOID(tc.mode, tc.bits)
		if err != nil || len(oid) != 9 || oid[8] != tc.last || string(oid[:8]) != string(oidAESPrefix) {
			t.Errorf("AES-%d-%v: % X, %v", tc.bits, tc.mode, oid, err)
		}
	}
	if _, err := AESOID(ModeGCM, 512); err == nil {
		t.Error("GCM with a 512-bit key")
	}
	for _, s := range []string{"ecb", "cbc", "ofb", "cfb", "ctr", "gcm", "ccm", "xts"} {
		if m, err := ParseAESMode(s); err != nil || m.String() != s {
			t.Errorf("ParseAESMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseAESMode("xex"); err == nil {
		t.Error("xex parsed")
	}
}
