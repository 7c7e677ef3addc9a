package vpcd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
)

func frame(n int, fill byte) []byte {
	b := make([]byte, 2+n)
	b[0], b[1] = byte(n>>8), byte(n)
	for i := 2; i < len(b); i++ {
		b[i] = fill
	}
	return b
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		stream  []byte
		oneByte bool // deliver the stream one byte per Read
		want    []byte
		wantErr error
	}{
		{name: "zero length", stream: []byte{0, 0}, want: []byte{}},
		{name: "control frame", stream: []byte{0, 1, 4}, want: []byte{4}},
		{name: "apdu", stream: []byte{0, 5, 0, 0x84, 0, 0, 8}, want: []byte{0, 0x84, 0, 0, 8}},
		{name: "apdu split reads", stream: []byte{0, 5, 0, 0x84, 0, 0, 8}, oneByte: true, want: []byte{0, 0x84, 0, 0, 8}},
		{name: "max size", stream: frame(MaxFrame, 0xA5), want: frame(MaxFrame, 0xA5)[2:]},
		{name: "max size split reads", stream: frame(MaxFrame, 0x5A), oneByte: true, want: frame(MaxFrame, 0x5A)[2:]},
		{name: "trailing bytes stay unread", stream: []byte{0, 1, 2, 0, 1, 3}, want: []byte{2}},
		{name: "empty stream", stream: nil, wantErr: io.EOF},
		{name: "truncated header", stream: []byte{0}, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated body", stream: []byte{0, 4, 1, 2, 3}, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated body split reads", stream: []byte{0, 4, 1, 2, 3}, oneByte: true, wantErr: io.ErrUnexpectedEOF},
		{name: "header only", stream: []byte{0xFF, 0xFF}, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated max size", stream: frame(MaxFrame, 1)[:MaxFrame+1], wantErr: io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.stream)
			if tc.oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := ReadFrame(r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadFrame error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			if got == nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("ReadFrame = % X (len %d), want len %d", head(got), len(got), len(tc.want))
			}
		})
	}
}

func TestWriteFrame(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    []byte
		wantErr error
	}{
		{name: "zero length", payload: []byte{}, want: []byte{0, 0}},
		{name: "nil payload", payload: nil, want: []byte{0, 0}},
		{name: "control", payload: []byte{1}, want: []byte{0, 1, 1}},
		{name: "big-endian length", payload: make([]byte, 0x0102), want: append([]byte{1, 2}, make([]byte, 0x0102)...)},
		{name: "max size", payload: frame(MaxFrame, 7)[2:], want: frame(MaxFrame, 7)},
		{name: "one over max", payload: make([]byte, MaxFrame+1), wantErr: ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteFrame(&buf, tc.payload)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("WriteFrame error = %v, want %v", err, tc.wantErr)
				}
				if buf.Len() != 0 {
					t.Fatalf("WriteFrame wrote %d bytes on error", buf.Len())
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteFrame: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), tc.want) {
				t.Fatalf("WriteFrame wrote % X, want % X", head(buf.Bytes()), head(tc.want))
			}
		})
	}
}

// TestFramePipe sends frames through a synchronous pipe whose writer delivers one byte per
// Write, so every ReadFull on the other side sees split reads.
func TestFramePipe(t *testing.T) {
	payloads := [][]byte{{}, {4}, {0, 0xA4, 4, 0}, frame(MaxFrame, 0xC3)[2:], {0x90, 0}}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		var buf bytes.Buffer
		for _, p := range payloads {
			WriteFrame(&buf, p)
		}
		for _, c := range buf.Bytes() {
			if _, err := a.Write([]byte{c}); err != nil {
				return
			}
		}
		a.Close()
	}()
	for i, want := range payloads {
		got, err := ReadFrame(b)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	if _, err := ReadFrame(b); !errors.Is(err, io.EOF) {
		t.Fatalf("after last frame: %v, want io.EOF", err)
	}
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}
