package apdu

import (
	"bytes"
	"errors"
	"testing"
)

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

var hdr = []byte{0x80, 0x68, 0x01, 0x02}

// encodingCases covers every ISO 7816-4 case with the Lc/Le boundaries.
var encodingCases = []struct {
	name string
	cmd  Command
	want []byte
}{
	{"case 1", Command{Ne: 0}, hdr},
	{"case 1 forced extended", Command{ForceExtended: true}, hdr},
	{"2S Le 1", Command{Ne: 1}, cat(hdr, []byte{0x01})},
	{"2S Le 255", Command{Ne: 255}, cat(hdr, []byte{0xFF})},
	{"2S Le 256", Command{Ne: 256}, cat(hdr, []byte{0x00})},
	{"2E Le 257", Command{Ne: 257}, cat(hdr, []byte{0x00, 0x01, 0x01})},
	{"2E Le 65535", Command{Ne: 65535}, cat(hdr, []byte{0x00, 0xFF, 0xFF})},
	{"2E Le 65536", Command{Ne: 65536}, cat(hdr, []byte{0x00, 0x00, 0x00})},
	{"2E Le 1 forced", Command{Ne: 1, ForceExtended: true}, cat(hdr, []byte{0x00, 0x00, 0x01})},
	{"2E Le 256 forced", Command{Ne: 256, ForceExtended: true}, cat(hdr, []byte{0x00, 0x01, 0x00})},
	{"3S Lc 1", Command{Data: seq(1)}, cat(hdr, []byte{0x01}, seq(1))},
	{"3S Lc 255", Command{Data: seq(255)}, cat(hdr, []byte{0xFF}, seq(255))},
	{"3E Lc 256", Command{Data: seq(256)}, cat(hdr, []byte{0x00, 0x01, 0x00}, seq(256))},
	{"3E Lc 65535", Command{Data: seq(65535)}, cat(hdr, []byte{0x00, 0xFF, 0xFF}, seq(65535))},
	{"3E Lc 1 forced", Command{Data: seq(1), ForceExtended: true}, cat(hdr, []byte{0x00, 0x00, 0x01}, seq(1))},
	{"4S Lc 1 Le 1", Command{Data: seq(1), Ne: 1}, cat(hdr, []byte{0x01}, seq(1), []byte{0x01})},
	{"4S Lc 255 Le 256", Command{Data: seq(255), Ne: 256}, cat(hdr, []byte{0xFF}, seq(255), []byte{0x00})},
	{"4E Lc 256 Le 1", Command{Data: seq(256), Ne: 1}, cat(hdr, []byte{0x00, 0x01, 0x00}, seq(256), []byte{0x00, 0x01})},
	{"4E Lc 1 Le 257", Command{Data: seq(1), Ne: 257}, cat(hdr, []byte{0x00, 0x00, 0x01}, seq(1), []byte{0x01, 0x01})},
	{"4E Lc 255 Le 65536", Command{Data: seq(255), Ne: 65536}, cat(hdr, []byte{0x00, 0x00, 0xFF}, seq(255), []byte{0x00, 0x00})},
	{"4E Lc 65535 Le 65536", Command{Data: seq(65535), Ne: 65536}, cat(hdr, []byte{0x00, 0xFF, 0xFF}, seq(65535), []byte{0x00, 0x00})},
	{"4E Lc 2 Le 2 forced", Command{Data: seq(2), Ne: 2, ForceExtended: true}, cat(hdr, []byte{0x00, 0x00, 0x02}, seq(2), []byte{0x00, 0x02})},
}

func withHeader(c Command) Command {
	c.CLA, c.INS, c.P1, c.P2 = hdr[0], hdr[1], hdr[2], hdr[3]
	return c
}

func TestCommandBytes(t *testing.T) {
	for _, tc := range encodingCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withHeader(tc.cmd).Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Bytes = % X, want % X", head(got), head(tc.want))
			}
		})
	}
}

func TestCommandBytesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  Command
	}{
		{"data 65536", Command{Data: make([]byte, 65536)}},
		{"Ne 65537", Command{Ne: 65537}},
		{"Ne -1", Command{Ne: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := tc.cmd.Bytes(); err == nil {
				t.Fatalf("Bytes = % X, want error", head(b))
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range encodingCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand(tc.want)
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			want := withHeader(tc.cmd)
			if got.CLA != want.CLA || got.INS != want.INS || got.P1 != want.P1 || got.P2 != want.P2 {
				t.Errorf("header = %02X %02X %02X %02X", got.CLA, got.INS, got.P1, got.P2)
			}
			if !bytes.Equal(got.Data, want.Data) || len(got.Data) != len(want.Data) {
				t.Errorf("Data has %d bytes, want %d", len(got.Data), len(want.Data))
			}
			if got.Ne != want.Ne {
				t.Errorf("Ne = %d, want %d", got.Ne, want.Ne)
			}
			// The parsed command re-encodes to the same bytes (ForceExtended records the form).
			again, err := got.Bytes()
			if err != nil || !bytes.Equal(again, tc.want) {
				t.Errorf("re-encoded = % X (%v), want % X", head(again), err, head(tc.want))
			}
		})
	}
}

func TestParseCommandMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"3 bytes", hdr[:3]},
		{"short Lc 00 then one byte", cat(hdr, []byte{0x00, 0x01})},
		{"short Lc 2 one data byte", cat(hdr, []byte{0x02, 0xAA})},
		{"short Lc 1 two trailing bytes", cat(hdr, []byte{0x01, 0xAA, 0x00, 0x00})},
		{"short Lc 255 truncated", cat(hdr, []byte{0xFF}, seq(254))},
		{"short Lc 255 Le two trailing", cat(hdr, []byte{0xFF}, seq(255), []byte{0x00, 0x00})},
		{"extended Lc 0000 with data", cat(hdr, []byte{0x00, 0x00, 0x00, 0xAA})},
		{"extended Lc 0000 with Le", cat(hdr, []byte{0x00, 0x00, 0x00, 0x00, 0x01})},
		{"extended Lc 256 truncated", cat(hdr, []byte{0x00, 0x01, 0x00}, seq(255))},
		{"extended Lc 65535 truncated", cat(hdr, []byte{0x00, 0xFF, 0xFF}, seq(65534))},
		{"extended Lc 2 one trailing byte", cat(hdr, []byte{0x00, 0x00, 0x02}, seq(2), []byte{0x00})},
		{"extended Lc 2 three trailing bytes", cat(hdr, []byte{0x00, 0x00, 0x02}, seq(2), []byte{0x00, 0x01, 0x02})},
		{"extended Le with trailing byte", cat(hdr, []byte{0x00, 0x00, 0x00, 0x00})[:8]},
		{"mixed short Lc extended Le", cat(hdr, []byte{0x01, 0xAA, 0x00, 0x01})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand(tc.in)
			if err == nil {
				t.Fatalf("ParseCommand(% X) = %+v, want error", head(tc.in), c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		data    []byte
		sw      uint16
		wantErr bool
	}{
		{"empty", nil, nil, 0, true},
		{"one byte", []byte{0x90}, nil, 0, true},
		{"sw only", []byte{0x90, 0x00}, []byte{}, 0x9000, false},
		{"data and sw", []byte{0x01, 0x02, 0x6A, 0x82}, []byte{0x01, 0x02}, 0x6A82, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, sw, err := ParseResponse(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !bytes.Equal(data, tc.data) || sw != tc.sw {
				t.Fatalf("got % X %04X, want % X %04X", data, sw, tc.data, tc.sw)
			}
		})
	}
}

// head shortens long byte strings in failure messages.
func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func FuzzParseCommand(f *testing.F) {
	for _, tc := range encodingCases {
		if len(tc.want) < 600 {
			f.Add(tc.want)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		again, err := c.Bytes()
		if err != nil {
			t.Fatalf("Bytes of parsed % X: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip % X -> % X", b, again)
		}
	})
}
