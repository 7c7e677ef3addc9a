package conformance

// Helpers for scripted APDU sequences: APDU builders for the PIN and file commands and a step
// runner that checks every status word.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// The PINs of section 5.4 and a few others, as the bytes on the wire.
var (
	userPIN  = []byte("648219")
	newPIN   = []byte("123456")
	wrongPIN = []byte("000000")
	soPIN    = mustHex("3537363231383830")
	newSO    = mustHex("0102030405060708")
	wrongSO  = mustHex("3030303030303030")
)

// step is one APDU and the status word it must get. check, when set, judges the data.
type step struct {
	name  string
	apdu  []byte
	sw    uint16
	check func(data []byte) error
}

// runSteps sends every step in order and stops at the first wrong status word.
func runSteps(t *testing.T, c transmitter, steps []step) {
	t.Helper()
	for i, s := range steps {
		data, sw := tx(t, c, s.apdu)
		if sw != s.sw {
			t.Fatalf("step %d %q: %s -> SW %04X (data %s), want %04X", i, s.name, short(s.apdu), sw, short(data), s.sw)
		}
		if s.check != nil {
			if err := s.check(data); err != nil {
				t.Fatalf("step %d %q: %s -> %v", i, s.name, short(s.apdu), err)
			}
		} else if len(data) != 0 {
			t.Fatalf("step %d %q: %s -> unexpected data %s", i, s.name, short(s.apdu), short(data))
		}
	}
}

func cmd(b ...[]byte) []byte { return bytes.Join(b, nil) }

// lc prefixes data with its short (or extended) Lc.
func lc(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	if len(data) <= 255 {
		return cmd([]byte{byte(len(data))}, data)
	}
	return cmd([]byte{0, byte(len(data) >> 8), byte(len(data))}, data)
}

var selectAID = mustHex("00 A4 04 00 0B" + aidHex + "00")

// Spec 2.6.
func verifyAPDU(ref hsm.PINRef, pin []byte) []byte {
	return cmd([]byte{0x00, 0x20, 0x00, byte(ref)}, lc(pin))
}

// Spec 2.7.
func changeAPDU(ref hsm.PINRef, oldPIN, newPIN []byte) []byte {
	return cmd([]byte{0x00, 0x24, 0x00, byte(ref)}, lc(cmd(oldPIN, newPIN)))
}

// Spec 2.8.
func resetAPDU(p1 byte, data ...[]byte) []byte {
	return cmd([]byte{0x00, 0x2C, p1, 0x81}, lc(cmd(data...)))
}

// Spec 2.9: tags 80 81 82 91 in OpenSC's order.
func initAPDU(options uint16, user, so []byte, retries byte) []byte {
	d := cmd([]byte{0x80, 0x02, byte(options >> 8), byte(options)},
		[]byte{0x81, byte(len(user))}, user, []byte{0x82, byte(len(so))}, so, []byte{0x91, 0x01, retries})
	return cmd([]byte{0x80, 0x50, 0x00, 0x00}, lc(d))
}

// Spec 2.3: UPDATE BINARY of fid at off with data, P1P2 = fid.
func updateAPDU(fid uint16, off int, data []byte) []byte {
	body := cmd([]byte{0x54, 0x02, byte(off >> 8), byte(off)}, berTLV(0x53, data))
	return cmd([]byte{0x00, 0xD7, byte(fid >> 8), byte(fid)}, lc(body))
}

func berTLV(tag byte, v []byte) []byte {
	switch n := len(v); {
	case n < 0x80:
		return cmd([]byte{tag, byte(n)}, v)
	case n <= 0xFF:
		return cmd([]byte{tag, 0x81, byte(n)}, v)
	default:
		return cmd([]byte{tag, 0x82, byte(n >> 8), byte(n)}, v)
	}
}

// Spec 2.2: READ BINARY of fid at off, extended Le ne.
func readAPDU(fid uint16, off, ne int) []byte {
	return cmd([]byte{0x00, 0xB1, byte(fid >> 8), byte(fid), 0x00, 0x00, 0x04, 0x54, 0x02, byte(off >> 8), byte(off)},
		[]byte{byte(ne >> 8), byte(ne)})
}

// Spec 2.4.
func deleteAPDU(fid uint16) []byte {
	return []byte{0x00, 0xE4, 0x02, 0x00, 0x02, byte(fid >> 8), byte(fid)}
}

// Spec 2.5.
var enumerateAPDU = mustHex("80 58 00 00 00 00 00")

// dataIs checks the answer is exactly want.
func dataIs(want []byte) func([]byte) error {
	return func(got []byte) error {
		if !bytes.Equal(got, want) {
			return fmt.Errorf("data %s, want %s", short(got), short(want))
		}
		return nil
	}
}

// fidList renders ENUMERATE answers for messages.
func fidList(ids []uint16) string {
	var s []string
	for _, id := range ids {
		s = append(s, fmt.Sprintf("%04X", id))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func idsOf(data []byte) []uint16 {
	ids := make([]uint16, len(data)/2)
	for i := range ids {
		ids[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
	}
	return ids
}

// listIs checks an ENUMERATE answer.
func listIs(want ...uint16) func([]byte) error {
	return func(got []byte) error {
		if len(got)%2 != 0 || fidList(idsOf(got)) != fidList(want) {
			return fmt.Errorf("objects %s (%X), want %s", fidList(idsOf(got)), got, fidList(want))
		}
		return nil
	}
}

// client wraps a harness card in the typed client.
func client(c transport.Transport) *hsm.Client { return hsm.New(c) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), apduTimeout)
	t.Cleanup(cancel)
	return ctx
}

// pattern returns n deterministic bytes that differ for every seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func hexOf(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
