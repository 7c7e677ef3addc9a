package hsm

// The file commands (sections 2.2-2.5): exact APDUs, chunking and the read loop.

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// Section 2.2: reads with the offset object and extended Le 1000 until an empty answer.
func TestReadFile(t *testing.T) {
	read := func(fid uint16) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return c.ReadFile(ctx, fid) }
	}
	file := seqBytes(5000)
	hx := func(b []byte) string { return hex.EncodeToString(b) }
	runCalls(t, []callCase{
		{name: "small file", call: read(0xCF01), replies: []string{"0102039000", "9000"},
			sent: []string{"00 B1 CF 01 00 00 04 54 02 00 00 10 00", "00 B1 CF 01 00 00 04 54 02 00 03 10 00"},
			want: []byte{1, 2, 3}},
		{name: "empty file", call: read(0xCF01), replies: []string{"9000"},
			sent: []string{"00 B1 CF 01 00 00 04 54 02 00 00 10 00"}, want: []byte{}},
		{name: "file over one read", call: read(0xCE05),
			replies: []string{hx(file[:4096]) + "9000", hx(file[4096:]) + "9000", "9000"},
			sent: []string{"00 B1 CE 05 00 00 04 54 02 00 00 10 00", "00 B1 CE 05 00 00 04 54 02 10 00 10 00",
				"00 B1 CE 05 00 00 04 54 02 13 88 10 00"},
			want: file},
		{name: "card answers in small pieces", call: read(0x2F02),
			replies: []string{hx(file[:1000]) + "9000", hx(file[1000:1500]) + "9000", "9000"},
			sent: []string{"00 B1 2F 02 00 00 04 54 02 00 00 10 00", "00 B1 2F 02 00 00 04 54 02 03 E8 10 00",
				"00 B1 2F 02 00 00 04 54 02 05 DC 10 00"},
			want: file[:1500]},
		{name: "6282 ends with data", call: read(0xC901), replies: []string{"AABB6282"},
			sent: []string{"00 B1 C9 01 00 00 04 54 02 00 00 10 00"}, want: []byte{0xAA, 0xBB}},
		{name: "6B00 at the end", call: read(0xC901), replies: []string{"AABB9000", "6B00"},
			sent: []string{"00 B1 C9 01 00 00 04 54 02 00 00 10 00", "00 B1 C9 01 00 00 04 54 02 00 02 10 00"},
			want: []byte{0xAA, 0xBB}},
		{name: "missing", call: read(0xCF09), replies: []string{"6A82"},
			sent: []string{"00 B1 CF 09 00 00 04 54 02 00 00 10 00"}, wantErr: true, wantIs: apdu.ErrFileNotFound},
		{name: "protected", call: read(0xCD01), replies: []string{"6982"},
			sent: []string{"00 B1 CD 01 00 00 04 54 02 00 00 10 00"}, wantErr: true, wantIs: apdu.ErrSecurityStatus},
		{name: "6B00 first", call: read(0xCF01), replies: []string{"6B00"},
			sent: []string{"00 B1 CF 01 00 00 04 54 02 00 00 10 00"}, wantErr: true, wantIs: apdu.ErrWrongP1P2},
		{name: "error after data", call: read(0xCF01), replies: []string{"AA9000", "6F00"},
			sent:    []string{"00 B1 CF 01 00 00 04 54 02 00 00 10 00", "00 B1 CF 01 00 00 04 54 02 00 01 10 00"},
			wantErr: true, wantIs: apdu.ErrNoDiagnosis},
		{name: "answer longer than Ne", call: read(0xCF01), replies: []string{hx(make([]byte, 4097)) + "9000"},
			sent: []string{"00 B1 CF 01 00 00 04 54 02 00 00 10 00"}, wantErr: true},
	})
}

// Section 2.3: create, then 1215-byte pieces to the current EF (OpenSC 0.23).
func TestWriteFile(t *testing.T) {
	write := func(fid uint16, data []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return nil, c.WriteFile(ctx, fid, data) }
	}
	cert := seqBytes(3000)
	hx := func(b []byte) string { return hex.EncodeToString(b) }
	runCalls(t, []callCase{
		{name: "empty", call: write(0xCF01, nil), replies: []string{"9000"},
			sent: []string{"00 D7 CF 01 06 54 02 00 00 53 00"}},
		{name: "3 bytes", call: write(0xCF01, []byte{1, 2, 3}), replies: []string{"9000", "9000"},
			sent: []string{"00 D7 CF 01 06 54 02 00 00 53 00", "00 D7 00 00 09 54 02 00 00 53 03 010203"}},
		{name: "200 bytes: 53 81", call: write(0xC901, cert[:200]), replies: []string{"9000", "9000"},
			sent: []string{"00 D7 C9 01 06 54 02 00 00 53 00", "00 D7 00 00 CF 54 02 00 00 53 81 C8 " + hx(cert[:200])}},
		{name: "300 bytes: extended", call: write(0xC901, cert[:300]), replies: []string{"9000", "9000"},
			sent: []string{"00 D7 C9 01 06 54 02 00 00 53 00", "00 D7 00 00 00 01 34 54 02 00 00 53 82 01 2C " + hx(cert[:300])}},
		{name: "3000-byte certificate", call: write(0xCA00, cert), replies: []string{"9000", "9000", "9000", "9000"},
			sent: []string{
				"00 D7 CA 00 06 54 02 00 00 53 00",
				"00 D7 00 00 00 04 C7 54 02 00 00 53 82 04 BF " + hx(cert[:1215]),
				"00 D7 00 00 00 04 C7 54 02 04 BF 53 82 04 BF " + hx(cert[1215:2430]),
				"00 D7 00 00 00 02 42 54 02 09 7E 53 82 02 3A " + hx(cert[2430:]),
			}},
		{name: "no PIN", call: write(0xCF01, cert[:3]), replies: []string{"6982"},
			sent: []string{"00 D7 CF 01 06 54 02 00 00 53 00"}, wantErr: true, wantIs: apdu.ErrSecurityStatus},
		{name: "too big", call: write(0xCF01, cert), replies: []string{"9000", "9000", "9000", "6A84"},
			sent: []string{
				"00 D7 CF 01 06 54 02 00 00 53 00",
				"00 D7 00 00 00 04 C7 54 02 00 00 53 82 04 BF " + hx(cert[:1215]),
				"00 D7 00 00 00 04 C7 54 02 04 BF 53 82 04 BF " + hx(cert[1215:2430]),
				"00 D7 00 00 00 02 42 54 02 09 7E 53 82 02 3A " + hx(cert[2430:]),
			}, wantErr: true, wantIs: apdu.ErrNotEnoughMemory},
		{name: "over the offset range", call: write(0xCF01, make([]byte, 65537)), wantErr: true},
	})
}

// Sections 2.4, 2.5.
func TestDeleteAndList(t *testing.T) {
	del := func(fid uint16) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteFile(ctx, fid) }
	}
	list := func(ctx context.Context, c *Client) (any, error) { return c.ListObjects(ctx) }
	runCalls(t, []callCase{
		{name: "delete", call: del(0xCF01), replies: []string{"9000"}, sent: []string{"00 E4 02 00 02 CF 01"}},
		{name: "delete key", call: del(0xCC03), replies: []string{"9000"}, sent: []string{"00 E4 02 00 02 CC 03"}},
		{name: "delete missing", call: del(0xCF01), replies: []string{"6A82"}, sent: []string{"00 E4 02 00 02 CF 01"},
			wantErr: true, wantIs: apdu.ErrFileNotFound},
		{name: "delete without PIN", call: del(0xCF01), replies: []string{"6982"}, sent: []string{"00 E4 02 00 02 CF 01"},
			wantErr: true, wantIs: apdu.ErrSecurityStatus},
		{name: "list", call: list, replies: []string{"CC00 C901 CF01 9000"}, sent: []string{"80 58 00 00 00 00 00"},
			want: []uint16{0xCC00, 0xC901, 0xCF01}},
		{name: "list empty", call: list, replies: []string{"9000"}, sent: []string{"80 58 00 00 00 00 00"}, want: []uint16{}},
		{name: "list odd", call: list, replies: []string{"CC00 C9 9000"}, sent: []string{"80 58 00 00 00 00 00"}, wantErr: true},
		{name: "list refused", call: list, replies: []string{"6D00"}, sent: []string{"80 58 00 00 00 00 00"},
			wantErr: true, wantIs: apdu.ErrINSNotSupported},
	})
}
