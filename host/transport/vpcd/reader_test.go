package vpcd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

var testATR = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

// fakeCard is a minimal vpcd card: it answers 04 with testATR, records control bytes,
// answers an APDU with its length (2 bytes, big-endian) followed by 90 00, and stays
// silent for APDUs starting with EE (to test cancellation).
type fakeCard struct {
	t    *testing.T
	conn net.Conn

	mu       sync.Mutex
	controls []byte
	done     chan struct{}
}

func dialFakeCard(t *testing.T, addr string) *fakeCard {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	fc := &fakeCard{t: t, conn: c, done: make(chan struct{})}
	go fc.serve()
	t.Cleanup(func() { c.Close(); <-fc.done })
	return fc
}

func (fc *fakeCard) serve() {
	defer close(fc.done)
	for {
		f, err := ReadFrame(fc.conn)
		if err != nil {
			return
		}
		if len(f) == 1 {
			fc.mu.Lock()
			fc.controls = append(fc.controls, f[0])
			fc.mu.Unlock()
			if f[0] == CtrlGetATR {
				WriteFrame(fc.conn, testATR)
			}
			continue
		}
		if f[0] == 0xEE {
			continue
		}
		WriteFrame(fc.conn, []byte{byte(len(f) >> 8), byte(len(f)), 0x90, 0x00})
	}
}

func (fc *fakeCard) takeControls() []byte {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	c := fc.controls
	fc.controls = nil
	return c
}

func newReaderWithCard(t *testing.T) (*Reader, *fakeCard) {
	t.Helper()
	r, err := Listen(":0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	fc := dialFakeCard(t, r.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Accept(ctx); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return r, fc
}

func TestListenLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{":0", true},
		{"127.0.0.1:0", true},
		{"[::1]:0", true},
		{"localhost:0", true},
		{"0.0.0.0:0", false},
		{"192.0.2.1:0", false},
		{"no-port", false},
	}
	for _, tc := range tests {
		r, err := Listen(tc.addr)
		if r != nil {
			host, _, _ := net.SplitHostPort(r.Addr())
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("Listen(%q) bound %s", tc.addr, r.Addr())
			}
			r.Close()
		}
		if (err == nil) != tc.ok {
			if tc.addr == "[::1]:0" && err != nil {
				t.Logf("Listen(%q): %v (no IPv6 loopback?)", tc.addr, err)
				continue
			}
			t.Errorf("Listen(%q) error = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestControlSequences(t *testing.T) {
	r, fc := newReaderWithCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		do      func() ([]byte, error)
		wantATR bool
		wantCtl []byte
	}{
		{"power on", func() ([]byte, error) { return r.PowerOn(ctx) }, true, []byte{CtrlPowerOn, CtrlGetATR}},
		{"reset", func() ([]byte, error) { return r.Reset(ctx) }, true, []byte{CtrlReset, CtrlGetATR}},
		{"query ATR", func() ([]byte, error) { return r.QueryATR(ctx) }, true, []byte{CtrlGetATR}},
		{"power off", func() ([]byte, error) { return nil, r.PowerOff(ctx) }, false, []byte{CtrlPowerOff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atr, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantATR && !bytes.Equal(atr, testATR) {
				t.Fatalf("ATR = % X, want % X", atr, testATR)
			}
			// The card saw every control frame once the next round trip completed.
			if _, err := r.Transmit(ctx, []byte{0, 0xB0, 0, 0}); err != nil {
				t.Fatal(err)
			}
			if got := fc.takeControls(); !bytes.Equal(got, tc.wantCtl) {
				t.Fatalf("card saw controls % X, want % X", got, tc.wantCtl)
			}
		})
	}
	if !bytes.Equal(r.ATR(), testATR) {
		t.Fatalf("ATR() = % X", r.ATR())
	}
}

func TestTransmit(t *testing.T) {
	r, _ := newReaderWithCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := make([]byte, MaxFrame)
	big[1] = 0xD0
	tests := []struct {
		name    string
		apdu    []byte
		wantErr error // nil: expect echo + 90 00
		anyErr  bool
	}{
		{name: "case 1", apdu: []byte{0, 0xA4, 4, 0}},
		{name: "3 bytes allowed", apdu: []byte{0, 0xA4, 4}},
		{name: "2 bytes allowed", apdu: []byte{0, 0xA4}},
		{name: "1 byte is a control frame", apdu: []byte{0}, anyErr: true},
		{name: "empty", apdu: nil, anyErr: true},
		{name: "max frame", apdu: big},
		{name: "over max frame", apdu: make([]byte, MaxFrame+1), wantErr: ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.Transmit(ctx, tc.apdu)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
			case tc.anyErr:
				if err == nil {
					t.Fatal("no error")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if want := []byte{byte(len(tc.apdu) >> 8), byte(len(tc.apdu)), 0x90, 0}; !bytes.Equal(resp, want) {
					t.Fatalf("card saw % X, want % X", resp, want)
				}
			}
			// A rejected APDU must not disturb the connection.
			if _, err := r.Transmit(ctx, []byte{0, 0x84, 0, 0, 8}); err != nil {
				t.Fatalf("follow-up transmit: %v", err)
			}
		})
	}
}

func TestTransmitCancel(t *testing.T) {
	r, _ := newReaderWithCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Transmit(ctx, []byte{0xEE, 0, 0, 0}) // the fake card never answers
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancellation took %v", d)
	}
	// The stream position is unknown now: the connection must have been dropped.
	if r.Connected() {
		t.Fatal("connection kept after an interrupted exchange")
	}
	if _, err := r.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 8}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("transmit after drop: %v, want ErrNotConnected", err)
	}
}

func TestAcceptTimeout(t *testing.T) {
	r, err := Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept error = %v, want deadline exceeded", err)
	}
	// A later Accept with a fresh context still works.
	fc := dialFakeCard(t, r.Addr())
	_ = fc
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := r.Accept(ctx2); err != nil {
		t.Fatalf("Accept after timeout: %v", err)
	}
	if _, err := r.PowerOn(ctx2); err != nil {
		t.Fatal(err)
	}
}

func TestReconnect(t *testing.T) {
	r, _ := newReaderWithCard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transmit(ctx, []byte{0, 0x84, 0, 0, 8}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("transmit while disconnected: %v", err)
	}
	dialFakeCard(t, r.Addr())
	if err := r.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PowerOn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transmit(ctx, []byte{0, 0x84, 0, 0, 8}); err != nil {
		t.Fatal(err)
	}
}

func TestCardHangsUp(t *testing.T) {
	r, fc := newReaderWithCard(t)
	fc.conn.Close()
	<-fc.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Transmit(ctx, []byte{0, 0x84, 0, 0, 8})
	if err == nil {
		t.Fatal("transmit to a closed card succeeded")
	}
	if r.Connected() {
		t.Fatal("connection kept after the card hung up")
	}
}

func TestClose(t *testing.T) {
	r, _ := newReaderWithCard(t)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 8}); !errors.Is(err, ErrClosed) {
		t.Fatalf("transmit after Close: %v", err)
	}
	if err := r.Accept(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}
