package main

// init, pin and files: argument handling and the exact APDUs, against a scripted card.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/transport"
)

// exchange is one expected APDU (hex, spaces allowed) and the card's answer.
type exchange struct{ cmd, resp string }

// scriptCard checks that the tool sends exactly the scripted APDUs, in order.
type scriptCard struct {
	t      *testing.T
	script []exchange
	n      int
	closed bool
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func (c *scriptCard) Transmit(_ context.Context, b []byte) ([]byte, error) {
	if c.n >= len(c.script) {
		c.t.Errorf("unexpected APDU %X after the script", b)
		return nil, errors.New("script ended")
	}
	e := c.script[c.n]
	c.n++
	if want := unhex(e.cmd); !bytes.Equal(b, want) {
		c.t.Errorf("APDU %d = %X, want %X", c.n, b, want)
		return []byte{0x6F, 0x00}, nil
	}
	return unhex(e.resp), nil
}
func (c *scriptCard) ATR() []byte  { return []byte{0x3B, 0xFE} }
func (c *scriptCard) Close() error { c.closed = true; return nil }

// The answer to SELECT of the applet: an FCP with options 0001, version 6.6.
var selectEx = exchange{
	"00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00",
	"62 07 85 05 00 01 FF 06 06 9000",
}

// useScript makes openReader return a scriptCard and checks at the end that the whole
// script was used and the card closed.
func useScript(t *testing.T, script ...exchange) *scriptCard {
	t.Helper()
	c := &scriptCard{t: t, script: script}
	old := openReader
	t.Cleanup(func() {
		openReader = old
		if c.n != len(c.script) {
			t.Errorf("%d of %d scripted APDUs sent", c.n, len(c.script))
		}
		if c.n > 0 && !c.closed {
			t.Error("transport not closed")
		}
	})
	openReader = func(string) (transport.Transport, error) { return c, nil }
	return c
}

// useStdin makes "-" values read from s.
func useStdin(t *testing.T, s string) {
	t.Helper()
	old := stdin
	t.Cleanup(func() { stdin = old })
	stdin = strings.NewReader(s)
}

const (
	so    = "3537363231383830"
	soHex = "35 37 36 32 31 38 38 30" // on the wire: 8 bytes
	pin   = "648219"
	pinHx = "36 34 38 32 31 39"
)

func TestCardCommandUsageErrors(t *testing.T) {
	secrets := []string{"12345", "abcdefghijklmnopq", "353736323138383", "zz37363231383830", "64821"}
	for _, args := range [][]string{
		{"init"},
		{"init", "--pin", pin},
		{"init", "--so-pin", so},
		{"init", "--so-pin", "353736323138383", "--pin", pin},
		{"init", "--so-pin", "zz37363231383830", "--pin", pin},
		{"init", "--so-pin", so, "--pin", "12345"},
		{"init", "--so-pin", so, "--pin", "abcdefghijklmnopq"},
		{"init", "--so-pin", so, "--pin", pin, "--retries", "0"},
		{"init", "--so-pin", so, "--pin", pin, "--retries", "16"},
		{"init", "--so-pin", so, "--pin", pin, "--dkek-shares", "256"},
		{"init", "--so-pin", so, "--pin", pin, "--dkek-shares", "-1"},
		{"init", "--so-pin", so, "--pin", pin, "extra"},
		{"pin"},
		{"pin", "frobnicate"},
		{"pin", "--pin", pin},
		{"pin", "status", "extra"},
		{"pin", "verify"},
		{"pin", "verify", "--pin", "64821"},
		{"pin", "verify", "--so", "--pin", pin},
		{"pin", "change", "--pin", pin},
		{"pin", "change", "--pin", pin, "--new-pin", "12345"},
		{"pin", "change", "--so", "--pin", so, "--new-pin", pin},
		{"pin", "unblock"},
		{"pin", "unblock", "--so-pin", so, "--new-pin", "12345"},
		{"pin", "unblock", "--so-pin", "353736323138383"},
		{"files"},
		{"files", "copy"},
		{"files", "list", "extra"},
		{"files", "read"},
		{"files", "read", "CF1"},
		{"files", "read", "CF01", "CF02"},
		{"files", "read", "--pin", "12345", "CD01"},
		{"files", "write", "CF01"},
		{"files", "write", "XYZW", "f"},
		{"files", "delete"},
		{"files", "delete", "CF010"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			opened := false
			old := openReader
			t.Cleanup(func() { openReader = old })
			openReader = func(string) (transport.Transport, error) { opened = true; return nil, errors.New("no") }
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			if code != 2 || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out.String())
			}
			e := errOut.String()
			if !strings.HasPrefix(e, "pico-hsm-tool: ") || strings.Count(e, "\n") != 1 {
				t.Errorf("stderr %q is not one \"pico-hsm-tool: ...\" line", e)
			}
			for _, s := range secrets {
				if strings.Contains(e, s) {
					t.Errorf("stderr %q shows the PIN %q", e, s)
				}
			}
			if opened {
				t.Error("a usage error opened the reader")
			}
		})
	}
}

func TestInit(t *testing.T) {
	initAPDU := "80 50 00 00 19 80 02 00 01 81 06" + pinHx + "82 08" + soHex + "91 01 03"
	tests := []struct {
		name   string
		args   []string
		stdin  string
		script []exchange
		code   int
	}{
		{"sc-hsm-tool's defaults", []string{"init", "--so-pin", so, "--pin", pin}, "",
			[]exchange{selectEx, {initAPDU, "9000"}}, 0},
		{"all options", []string{"init", "--so-pin", so, "--pin", "0123456789abcdef", "--retries", "10", "--transport-pin", "--dkek-shares", "0", "--reader", "Pico"}, "",
			[]exchange{selectEx, {"80 50 00 00 26 80 02 00 03 81 10 30313233343536373839616263646566 82 08" + soHex + "91 01 0A 92 01 00", "9000"}}, 0},
		{"PINs from stdin", []string{"init", "--so-pin", "-", "--pin", "-"}, so + "\n" + pin + "\r\n",
			[]exchange{selectEx, {initAPDU, "9000"}}, 0},
		{"last line without newline", []string{"init", "--pin", "-", "--so-pin", "-"}, so + "\n" + pin,
			[]exchange{selectEx, {initAPDU, "9000"}}, 0},
		{"stdin ends early", []string{"init", "--so-pin", "-", "--pin", "-"}, so + "\n", nil, 2},
		{"wrong SO-PIN on re-initialisation", []string{"init", "--so-pin", so, "--pin", pin}, "",
			[]exchange{selectEx, {initAPDU, "63CE"}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useScript(t, tc.script...)
			useStdin(t, tc.stdin)
			code, out := runTool(t, tc.args...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, tc.code)
			}
		})
	}
}

func TestPINCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		script  []exchange
		code    int
		stdout  string
		errWant string // part of the error line
	}{
		{name: "status", args: []string{"pin", "status"},
			script: []exchange{selectEx, {"00 20 00 81", "63C3"}, {"00 20 00 88", "63CF"}},
			stdout: "user PIN: 3 tries left\nSO-PIN:   15 tries left\n"},
		{name: "status blocked, not initialised", args: []string{"pin", "status"},
			script: []exchange{selectEx, {"00 20 00 81", "6983"}, {"00 20 00 88", "6A88"}},
			stdout: "user PIN: blocked\nSO-PIN:   not initialised\n"},
		{name: "status transport", args: []string{"pin", "status"},
			script: []exchange{selectEx, {"00 20 00 81", "6984"}, {"00 20 00 88", "63C1"}},
			stdout: "user PIN: transport PIN, must be changed\nSO-PIN:   1 tries left\n"},
		{name: "status error", args: []string{"pin", "status"},
			script: []exchange{selectEx, {"00 20 00 81", "6F00"}}, code: 1, errWant: "6F00"},
		{name: "verify", args: []string{"pin", "verify", "--pin", pin},
			script: []exchange{selectEx, {"00 20 00 81 06" + pinHx, "9000"}}},
		{name: "verify from stdin", args: []string{"pin", "verify", "--pin", "-"}, stdin: pin + "\n",
			script: []exchange{selectEx, {"00 20 00 81 06" + pinHx, "9000"}}},
		{name: "verify wrong", args: []string{"pin", "verify", "--pin", "000000"},
			script: []exchange{selectEx, {"00 20 00 81 06 303030303030", "63C2"}}, code: 1, errWant: "2 tries left"},
		{name: "verify blocked", args: []string{"pin", "verify", "--pin", "000000"},
			script: []exchange{selectEx, {"00 20 00 81 06 303030303030", "6983"}}, code: 1, errWant: "blocked"},
		{name: "verify SO", args: []string{"pin", "verify", "--so", "--pin", so},
			script: []exchange{selectEx, {"00 20 00 88 08" + soHex, "9000"}}},
		{name: "change", args: []string{"pin", "change", "--pin", pin, "--new-pin", "123456"},
			script: []exchange{selectEx, {"00 24 00 81 0C" + pinHx + "313233343536", "9000"}}},
		{name: "change from stdin", args: []string{"pin", "change", "--new-pin", "-", "--pin", "-"}, stdin: pin + "\n123456\n",
			script: []exchange{selectEx, {"00 24 00 81 0C" + pinHx + "313233343536", "9000"}}},
		{name: "change SO", args: []string{"pin", "change", "--so", "--pin", so, "--new-pin", "0102030405060708"},
			script: []exchange{selectEx, {"00 24 00 88 10" + soHex + "0102030405060708", "9000"}}},
		{name: "unblock", args: []string{"pin", "unblock", "--so-pin", so},
			script: []exchange{selectEx, {"00 2C 01 81 08" + soHex, "9000"}}},
		{name: "unblock with new PIN", args: []string{"pin", "unblock", "--so-pin", so, "--new-pin", "123456"},
			script: []exchange{selectEx, {"00 2C 00 81 0E" + soHex + "313233343536", "9000"}}},
		{name: "unblock disabled", args: []string{"pin", "unblock", "--so-pin", so},
			script: []exchange{selectEx, {"00 2C 01 81 08" + soHex, "6986"}}, code: 1, errWant: "6986"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useScript(t, tc.script...)
			useStdin(t, tc.stdin)
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.code || out.String() != tc.stdout {
				t.Errorf("exit %d, stdout %q; want %d and %q (stderr %q)", code, out.String(), tc.code, tc.stdout, errOut.String())
			}
			if e := errOut.String(); tc.code != 0 && (!strings.HasPrefix(e, "pico-hsm-tool: pin ") || !strings.Contains(e, tc.errWant)) {
				t.Errorf("stderr %q, want a pico-hsm-tool: pin ... line with %q", e, tc.errWant)
			}
			for _, s := range []string{pin, so, "000000", "123456"} {
				if strings.Contains(errOut.String(), s) {
					t.Errorf("stderr %q shows a PIN", errOut.String())
				}
			}
		})
	}
}

func TestFilesCommands(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte{0xAB}, 1300)
	bigFile := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(bigFile, big, 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "out.bin")
	verify := exchange{"00 20 00 81 06" + pinHx, "9000"}
	tests := []struct {
		name   string
		args   []string
		script []exchange
		code   int
		stdout string
	}{
		{name: "list", args: []string{"files", "list"},
			script: []exchange{selectEx, {"80 58 00 00 00 00 00", "C901 CF01 9000"}}, stdout: "C901\nCF01\n"},
		{name: "list empty", args: []string{"files", "list"},
			script: []exchange{selectEx, {"80 58 00 00 00 00 00", "9000"}}},
		{name: "read", args: []string{"files", "read", "cf01"},
			script: []exchange{selectEx, {"00 B1 CF 01 00 00 04 54 02 00 00 10 00", "414243 9000"},
				{"00 B1 CF 01 00 00 04 54 02 00 03 10 00", "9000"}}, stdout: "ABC"},
		{name: "read protected to a file", args: []string{"files", "read", "--pin", pin, "-o", outFile, "CD01"},
			script: []exchange{selectEx, verify, {"00 B1 CD 01 00 00 04 54 02 00 00 10 00", "5A 9000"},
				{"00 B1 CD 01 00 00 04 54 02 00 01 10 00", "9000"}}},
		{name: "read missing", args: []string{"files", "read", "CF09"},
			script: []exchange{selectEx, {"00 B1 CF 09 00 00 04 54 02 00 00 10 00", "6A82"}}, code: 1},
		{name: "write", args: []string{"files", "write", "--pin", pin, "CF02", bigFile},
			script: []exchange{selectEx, verify, {"00 D7 CF 02 06 54 02 00 00 53 00", "9000"},
				{"00 D7 00 00 00 04 C7 54 02 00 00 53 82 04 BF" + hex.EncodeToString(big[:1215]), "9000"},
				{"00 D7 00 00 5B 54 02 04 BF 53 55" + hex.EncodeToString(big[1215:]), "9000"}}},
		{name: "write without PIN", args: []string{"files", "write", "CF02", bigFile},
			script: []exchange{selectEx, {"00 D7 CF 02 06 54 02 00 00 53 00", "6982"}}, code: 1},
		{name: "write with wrong PIN", args: []string{"files", "write", "--pin", "000000", "CF02", bigFile},
			script: []exchange{selectEx, {"00 20 00 81 06 303030303030", "63C2"}}, code: 1},
		{name: "write missing file", args: []string{"files", "write", "CF02", filepath.Join(dir, "missing")}, code: 1},
		{name: "delete", args: []string{"files", "delete", "--pin", pin, "CF02"},
			script: []exchange{selectEx, verify, {"00 E4 02 00 02 CF 02", "9000"}}},
		{name: "delete missing", args: []string{"files", "delete", "--pin", pin, "CF02"},
			script: []exchange{selectEx, verify, {"00 E4 02 00 02 CF 02", "6A82"}}, code: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useScript(t, tc.script...)
			code, out := runTool(t, tc.args...)
			if code != tc.code || out != tc.stdout {
				t.Errorf("exit %d, stdout %q; want %d and %q", code, out, tc.code, tc.stdout)
			}
		})
	}
	b, err := os.ReadFile(outFile)
	if err != nil || string(b) != "Z" {
		t.Fatalf("-o file: %q, %v", b, err)
	}
	if st, err := os.Stat(outFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("-o file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
}
