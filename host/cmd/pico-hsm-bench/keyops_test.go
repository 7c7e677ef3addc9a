package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The RSA-2048 request of spec 2.11.1, byte for byte.
func TestGAKPDataRSA(t *testing.T) {
	want := unhex(t, `5F 29 01 00
		42 09 55 54 43 41 30 30 30 30 31
		7F 49 15 06 0A 04 00 7F 00 07 02 02 02 01 02 82 03 01 00 01 02 02 08 00
		5F 20 10 45 53 50 49 43 4F 48 53 4D 54 52 30 30 30 30 31`)
	got := gakpData(keySpec{rsaBits: 2048}, "ESPICOHSMTR00001")
	if !bytes.Equal(got, want) {
		t.Fatalf("gakpData = %X\nwant      %X", got, want)
	}
}

// Spec 2.11.1: the P-256 request is 256 bytes with a 7F 49 81 DA template of full-length values.
func TestGAKPDataEC(t *testing.T) {
	c := cvc.CurveByName("secp256r1")
	got := gakpData(keySpec{curve: c}, "ESPICOHSMTR00001")
	if len(got) != 256 {
		t.Fatalf("P-256 request of %d bytes, want 256", len(got))
	}
	tpl := append(unhex(t, "7F 49 81 DA 06 0A 04 00 7F 00 07 02 02 02 02 03 81 20"), c.P...)
	if !bytes.Contains(got, tpl) || !bytes.HasSuffix(got, append([]byte{0x5F, 0x20, 0x10}, "ESPICOHSMTR00001"...)) {
		t.Fatalf("P-256 request %X", got)
	}
	if !bytes.Contains(got, []byte{0x85, 0x20}) || !bytes.Contains(got, []byte{0x87, 0x01, 0x01, 0x5F, 0x20}) {
		t.Fatalf("P-256 request without 85 n or 87 cofactor: %X", got)
	}
}

func TestParseKeySpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = error
	}{
		{"rsa:2048", "RSA-2048"}, {"RSA:4096", "RSA-4096"}, {"rsa:1536", "RSA-1536"},
		{"ec:secp256r1", "EC secp256r1"}, {"ec:prime256v1", "EC secp256r1"}, {"ec:P-521", "EC secp521r1"},
		{"ec:brainpoolP512r1", "EC brainpoolP512r1"}, {"ec:secp256k1", "EC secp256k1"},
		{"rsa:512", ""}, {"rsa:8192", ""}, {"rsa:2049", ""}, {"ec:X25519", ""}, {"ec:secp224r1", ""},
		{"dsa:1024", ""}, {"", ""},
	} {
		k, err := parseKeySpec(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("parseKeySpec(%q) = %v, want an error", tc.in, k)
		case tc.want != "" && (err != nil || k.String() != tc.want):
			t.Errorf("parseKeySpec(%q) = %v, %v; want %s", tc.in, k, err, tc.want)
		}
	}
}

func TestPKCS1Block(t *testing.T) {
	d := bytes.Repeat([]byte{0xAB}, 32)
	b := pkcs1Block(128, d)
	if len(b) != 128 || b[0] != 0 || b[1] != 1 || b[2] != 0xFF || b[128-51-1] != 0 || b[128-51-2] != 0xFF ||
		!bytes.Equal(b[128-51:], append(append([]byte{}, digestInfoSHA256...), d...)) {
		t.Fatalf("pkcs1Block = %X", b)
	}
}

// Every key operation against a fresh emulator, a few rounds each (the first answer is
// checked: signatures verify, decryption and ECDH give what they must).
func TestKeyOpsOnEmulator(t *testing.T) {
	if os.Getenv("PICO_HSM_SKIP_EMU") == "1" {
		t.Skip("PICO_HSM_SKIP_EMU=1")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := emu.FindUpward(wd)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--op", "keygen", "--key", "rsa:1024"},
		{"--op", "keygen", "--key", "ec:secp384r1"},
		{"--op", "sign", "--key", "rsa:1024"},
		{"--op", "sign", "--key", "ec:secp256r1"},
		{"--op", "sign", "--key", "ec:brainpoolP256r1"},
		{"--op", "decrypt", "--key", "rsa:1024"},
		{"--op", "ecdh", "--key", "ec:secp521r1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			all := append([]string{"--via", "vpcd", "--emu", bin, "--n", "3", "--warmup", "1"}, args...)
			if err := run(context.Background(), all, &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			if !strings.Contains(out.String(), "latency: median ") || !strings.Contains(out.String(), "(n 3)") {
				t.Fatalf("output:\n%s", out.String())
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--via", "vpcd", "--emu", bin, "--op", "ecdh", "--key", "rsa:1024"}, &out, &errOut); err == nil {
		t.Fatal("--op ecdh with an RSA key accepted")
	}
}
