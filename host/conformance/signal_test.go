package conformance

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

// sigtermTimeout bounds how long the emulator may take to exit after SIGTERM.
const sigtermTimeout = 2 * time.Second

// The emulator ends on SIGTERM whatever it is doing (its contract; `make stop` and every
// test cleanup rely on it): waiting for the reader, idle in a read, or just after answering
// (the signal then arrives between the write of the answer and the next read).
func TestStopsOnSIGTERM(t *testing.T) {
	bin := emulatorPath(t)
	tests := []struct {
		name   string
		rounds int
		setup  func(t *testing.T, flash string) *emu.Process
	}{
		{"waiting for the reader", 1, func(t *testing.T, flash string) *emu.Process {
			// A port nobody listens on: take a free one and release it.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			p, err := emu.Start(bin, flash, addr)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			return p
		}},
		{"idle while connected", 1, func(t *testing.T, flash string) *emu.Process {
			c := connected(t, bin, flash)
			time.Sleep(300 * time.Millisecond)
			return c.Proc
		}},
		{"right after a response", 10, func(t *testing.T, flash string) *emu.Process {
			c := connected(t, bin, flash)
			tx(t, c, mustHex("00 84 00 00 08"))
			return c.Proc
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flash := newFlash(t)
			for i := 0; i < tc.rounds; i++ {
				p := tc.setup(t, flash)
				start := time.Now()
				if err := p.Stop(sigtermTimeout); err != nil {
					t.Errorf("round %d: %v\noutput:\n%s", i+1, err, p.Output())
					continue
				}
				t.Logf("round %d: exited %v after SIGTERM", i+1, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// connected starts an emulator on its own reader and powers it on; the reader is closed at
// the end of the test, the process is left to the caller.
func connected(t *testing.T, bin, flash string) *emu.Card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := emu.StartCard(ctx, bin, flash)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Proc.Stop(emu.StopTimeout); c.Reader.Close() })
	return c
}
