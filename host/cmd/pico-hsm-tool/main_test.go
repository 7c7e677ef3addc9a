package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
	"github.com/pico-hsm/pico-hsm/host/uf2"
)

// runTool runs the tool and checks the error-output contract: on failure exactly one line
// "pico-hsm-tool: ..." on stderr, on success nothing there.
func runTool(t *testing.T, args ...string) (code int, stdout string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	e := errOut.String()
	if code == 0 {
		if e != "" {
			t.Errorf("exit 0 with stderr %q", e)
		}
	} else if !strings.HasPrefix(e, "pico-hsm-tool: ") || !strings.HasSuffix(e, "\n") || strings.Count(e, "\n") != 1 {
		t.Errorf("stderr %q is not one \"pico-hsm-tool: ...\" line", e)
	}
	return code, out.String()
}

// writeELF writes a minimal ELF32 Arm executable with one PT_LOAD segment per entry of
// segs (load address -> content) and returns its path.
func writeELF(t *testing.T, dir string, segs [][2]any) string {
	t.Helper()
	le := binary.LittleEndian
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, le, v) }
	b.Write([]byte{0x7F, 'E', 'L', 'F', 1, 1, 1})
	b.Write(make([]byte, 9))
	w(uint16(elf.ET_EXEC))
	w(uint16(elf.EM_ARM))
	w(uint32(1))
	w(uint32(0x10000001))
	w(uint32(52))
	w(uint32(0))
	w(uint32(0))
	w(uint16(52))
	w(uint16(32))
	w(uint16(len(segs)))
	w(uint16(40))
	w(uint16(0))
	w(uint16(0))
	off := uint32(52 + 32*len(segs))
	for _, s := range segs {
		addr, data := s[0].(uint32), s[1].([]byte)
		for _, v := range []uint32{uint32(elf.PT_LOAD), off, addr, addr, uint32(len(data)), uint32(len(data)), 5, 4} {
			w(v)
		}
		off += uint32(len(data))
	}
	for _, s := range segs {
		b.Write(s[1].([]byte))
	}
	p := filepath.Join(dir, "in.elf")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	old := openReader
	t.Cleanup(func() { openReader = old })
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"uf2"},
		{"uf2", "--family", "rp2040", "in.elf"},
		{"uf2", "-o", "out.uf2", "in.elf"},
		{"uf2", "--family", "rp2041", "-o", "out.uf2", "in.elf"},
		{"uf2", "--family", "rp2040", "-o", "out.uf2", "a.elf", "b.elf"},
		{"uf2", "--bogus", "in.elf"},
		{"uf2", "--family"},
		{"uf2-info"},
		{"uf2-info", "a.uf2", "b.uf2"},
		{"info", "extra"},
		{"info", "--reader"},
		{"random"},
		{"random", "ten"},
		{"random", "0"},
		{"random", "65537"},
		{"random", "1", "2"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			opened := false
			openReader = func(string) (transport.Transport, error) { opened = true; return nil, errors.New("no") }
			if code, out := runTool(t, args...); code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			if opened {
				t.Error("a usage error opened the reader")
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"uf2", "-h"}, {"random", "--help"}} {
		code, out := runTool(t, args...)
		if code != 0 || !strings.Contains(out, "usage: pico-hsm-tool") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, args := range [][]string{
		{"uf2", "--family", "rp2040", "-o", filepath.Join(dir, "out.uf2"), missing},
		{"uf2-info", missing},
	} {
		if code, _ := runTool(t, args...); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.uf2")); !os.IsNotExist(err) {
		t.Error("output written despite the error")
	}
}

func TestUF2RoundTrip(t *testing.T) {
	dir := t.TempDir()
	text := bytes.Repeat([]byte{0x11, 0x22, 0x33}, 100) // 300 bytes: two pages
	in := writeELF(t, dir, [][2]any{{uint32(0x10000000), text}, {uint32(0x10004000), []byte{1, 2, 3}}})
	elfBytes, _ := os.ReadFile(in)
	for _, tc := range []struct {
		family string
		id     uint32
		args   func(out string) []string
	}{
		{"rp2040", uf2.FamilyRP2040, func(out string) []string { return []string{"uf2", "--family", "rp2040", "-o", out, in} }},
		{"rp2350", uf2.FamilyRP2350ARMS, func(out string) []string { return []string{"uf2", in, "-family=rp2350", "-o", out} }},
	} {
		t.Run(tc.family, func(t *testing.T) {
			out := filepath.Join(dir, tc.family+".uf2")
			if err := os.WriteFile(out, []byte("old content"), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, stdout := runTool(t, tc.args(out)...); code != 0 || stdout != "" {
				t.Fatalf("uf2: exit %d, stdout %q", code, stdout)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := uf2.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if img.Family != tc.id {
				t.Errorf("family %08x, want %08x", img.Family, tc.id)
			}
			if err := uf2.Verify(img, elfBytes); err != nil {
				t.Error(err)
			}
			code, info := runTool(t, "uf2-info", out)
			if code != 0 {
				t.Fatalf("uf2-info: exit %d", code)
			}
			for _, want := range []string{tc.family, "blocks:  3", "0x10000000-0x10000200 (512 bytes)", "0x10004000-0x10004100 (256 bytes)"} {
				if !strings.Contains(info, want) {
					t.Errorf("uf2-info output lacks %q:\n%s", want, info)
				}
			}
		})
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestUF2Failures(t *testing.T) {
	dir := t.TempDir()
	ramOnly := writeELF(t, dir, [][2]any{{uint32(0x20000000), []byte{1, 2, 3, 4}}})
	out := filepath.Join(dir, "out.uf2")
	if code, _ := runTool(t, "uf2", "--family", "rp2040", "-o", out, ramOnly); code != 1 {
		t.Errorf("RAM-only ELF: exit %d, want 1", code)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output written for a RAM-only ELF")
	}
	flash := writeELF(t, dir, [][2]any{{uint32(0x10000000), []byte{1, 2, 3, 4}}})
	if code, _ := runTool(t, "uf2", "--family", "rp2040", "-o", filepath.Join(dir, "no", "such", "dir.uf2"), flash); code != 1 {
		t.Errorf("unwritable output: exit %d, want 1", code)
	}
	if code, _ := runTool(t, "uf2-info", flash); code != 1 {
		t.Errorf("uf2-info of an ELF: exit %d, want 1", code)
	}
}

// fakeCard answers SELECT with a Pico HSM FCP and GET CHALLENGE with Le bytes.
type fakeCard struct {
	sent   [][]byte
	closed bool
	sw     []byte // status word for GET CHALLENGE
}

func (f *fakeCard) Transmit(_ context.Context, b []byte) ([]byte, error) {
	f.sent = append(f.sent, bytes.Clone(b))
	switch b[1] {
	case 0xA4:
		fcp := append([]byte{0x62, 0x07, 0x85, 0x05, 0x00, 0x03, 0xFF, 0x06, 0x06}, 0x90, 0x00)
		return fcp, nil
	case 0x84:
		if f.sw != nil {
			return f.sw, nil
		}
		n := int(b[4])
		if len(b) == 7 {
			n = int(b[5])<<8 | int(b[6])
		}
		return append(bytes.Repeat([]byte{0xAB}, n), 0x90, 0x00), nil
	}
	return []byte{0x6D, 0x00}, nil
}
func (f *fakeCard) ATR() []byte  { return []byte{0x3B, 0xFE} }
func (f *fakeCard) Close() error { f.closed = true; return nil }

func useCard(t *testing.T, card *fakeCard, wantReader string) {
	t.Helper()
	old := openReader
	t.Cleanup(func() { openReader = old })
	openReader = func(name string) (transport.Transport, error) {
		if name != wantReader {
			t.Errorf("reader %q, want %q", name, wantReader)
		}
		return card, nil
	}
}

func TestInfo(t *testing.T) {
	card := &fakeCard{}
	useCard(t, card, "Pico")
	code, out := runTool(t, "info", "--reader", "Pico")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"ATR:     3BFE", "applet:  SmartCard-HSM", "version: 6.6", "options: 0003 (user PIN reset with SO-PIN, transport PIN)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	want := append([]byte{0x00, 0xA4, 0x04, 0x00, 0x0B}, append(bytes.Clone(hsm.AID), 0x00)...)
	if len(card.sent) != 1 || !bytes.Equal(card.sent[0], want) {
		t.Errorf("sent % X", card.sent)
	}
	if !card.closed {
		t.Error("transport not closed")
	}
}

func TestRandom(t *testing.T) {
	card := &fakeCard{}
	useCard(t, card, "")
	code, out := runTool(t, "random", "2000")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := hex.EncodeToString(bytes.Repeat([]byte{0xAB}, 2000)) + "\n"; out != want {
		t.Errorf("output of %d characters, want %d", len(out), len(want))
	}
	wantSent := [][]byte{
		nil, // SELECT, checked in TestInfo
		{0x00, 0x84, 0x00, 0x00, 0x00, 0x04, 0x00},
		{0x00, 0x84, 0x00, 0x00, 0x00, 0x03, 0xD0},
	}
	if len(card.sent) != len(wantSent) {
		t.Fatalf("sent %d APDUs, want %d", len(card.sent), len(wantSent))
	}
	for i := 1; i < len(wantSent); i++ {
		if !bytes.Equal(card.sent[i], wantSent[i]) {
			t.Errorf("APDU %d = % X, want % X", i, card.sent[i], wantSent[i])
		}
	}
	if !card.closed {
		t.Error("transport not closed")
	}
}

func TestCardFailures(t *testing.T) {
	t.Run("open fails", func(t *testing.T) {
		old := openReader
		t.Cleanup(func() { openReader = old })
		openReader = func(string) (transport.Transport, error) { return nil, errors.New("no reader\nwith a card") }
		if code, _ := runTool(t, "info"); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
	t.Run("card refuses", func(t *testing.T) {
		card := &fakeCard{sw: []byte{0x67, 0x00}}
		useCard(t, card, "")
		if code, out := runTool(t, "random", "8"); code != 1 || out != "" {
			t.Errorf("exit %d, stdout %q", code, out)
		}
		if !card.closed {
			t.Error("transport not closed")
		}
	})
}
