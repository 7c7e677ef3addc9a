package main

// aes keygen|encrypt|decrypt, mac, kdf, derive-ec: argument handling and the flows against
// the emulator.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/transport"
)

func TestSymUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("data"), 0o600)
	for _, args := range [][]string{
		{"aes"},
		{"aes", "rotate"},
		{"aes", "keygen"},
		{"aes", "keygen", "--id", "1", "--bits", "64"},
		{"aes", "keygen", "--id", "1", "--counter", "4294967295"},
		{"aes", "keygen", "--id", "1", "--algorithms", "zz"},
		{"aes", "encrypt", "--id", "1", "-i", in},
		{"aes", "encrypt", "--id", "1", "--mode", "xex", "-i", in},
		{"aes", "encrypt", "--id", "1", "--mode", "gcm", "--iv", "xyz", "-i", in},
		{"aes", "decrypt", "--id", "1", "--mode", "gcm", "--tag-len", "17", "-i", in},
		{"aes", "decrypt", "--id", "1", "--mode", "gcm"},
		{"mac", "--id", "1", "--alg", "hmac-md5", "-i", in},
		{"mac", "--id", "1", "-i", in},
		{"kdf", "--id", "1", "--alg", "hkdf-sha1"},
		{"kdf", "--id", "1", "--alg", "pbkdf2-sha256", "--iter", "0"},
		{"kdf", "--id", "1", "--alg", "x963-sha256", "--len", "3000"},
		{"kdf", "--id", "1", "--alg", "aes-derive"},
		{"kdf", "--id", "1", "--alg", "scrypt"},
		{"derive-ec", "--id", "1", "--scalar", "01"},
		{"derive-ec", "--id", "1", "--to", "2"},
		{"derive-ec", "--id", "1", "--to", "2", "--scalar", "0g"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			opened := false
			old := openReader
			t.Cleanup(func() { openReader = old })
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

func TestSymOnEmulator(t *testing.T) {
	emuReader(t)
	dir := t.TempDir()
	mustRun(t, "init", "--so-pin", so, "--pin", pin)
	if out := mustRun(t, "aes", "keygen", "--pin", pin, "--id", "1"); out != "key 1 (CC01): aes:256\n" {
		t.Fatalf("keygen: %q", out)
	}
	mustRun(t, "aes", "keygen", "--pin", pin, "--id", "2", "--bits", "512")
	mustRun(t, "aes", "keygen", "--pin", pin, "--id", "3", "--bits", "128", "--counter", "1", "--algorithms", "18")
	if list := mustRun(t, "files", "list"); !strings.Contains(list, "CC01") || !strings.Contains(list, "C401") {
		t.Fatalf("files list:\n%s", list)
	}
	list := mustRun(t, "keys", "list")
	for _, want := range []string{"  1  CC01  aes:256\n", "  2  CC02  aes:512\n", "  3  CC03  aes:128\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("keys list lacks %q:\n%s", want, list)
		}
	}

	msg := filepath.Join(dir, "msg")
	plain := bytes.Repeat([]byte("pico-hsm-tool "), 100)
	os.WriteFile(msg, plain, 0o600)
	ct, back := filepath.Join(dir, "ct"), filepath.Join(dir, "back")
	for _, tc := range []struct {
		id   string
		mode string
		args []string
	}{
		{"1", "gcm", []string{"--iv", "000102030405060708090a0b", "--aad", "cafe"}},
		{"1", "ccm", []string{"--iv", "00010203040506070809", "--tag-len", "8"}},
		{"1", "ctr", nil},
		{"1", "cfb", []string{"--iv", "0f0e0d0c0b0a09080706050403020100"}},
		{"1", "ofb", nil},
		{"1", "chacha20-poly1305", []string{"--iv", "000000000000000000000001"}},
		{"2", "xts", []string{"--iv", "01000000000000000000000000000000"}},
	} {
		enc := append([]string{"aes", "encrypt", "--pin", pin, "--id", tc.id, "--mode", tc.mode, "-i", msg, "-o", ct}, tc.args...)
		mustRun(t, enc...)
		c, _ := os.ReadFile(ct)
		if len(c) < len(plain) || bytes.Equal(c[:len(plain)], plain) {
			t.Fatalf("%s: ciphertext of %d bytes", tc.mode, len(c))
		}
		dec := append([]string{"aes", "decrypt", "--pin", pin, "--id", tc.id, "--mode", tc.mode, "-i", ct, "-o", back}, tc.args...)
		mustRun(t, dec...)
		if b, _ := os.ReadFile(back); !bytes.Equal(b, plain) {
			t.Fatalf("%s: round trip differs", tc.mode)
		}
		if tc.mode == "gcm" {
			// A flipped tag bit: one line, exit 1, no output file.
			c[len(c)-1] ^= 1
			os.WriteFile(ct, c, 0o600)
			os.Remove(back)
			if code, _ := runTool(t, "aes", "decrypt", "--pin", pin, "--id", "1", "--mode", "gcm", "-i", ct, "-o", back,
				"--iv", "000102030405060708090a0b", "--aad", "cafe"); code != 1 {
				t.Fatalf("tampered GCM: exit %d", code)
			}
			if _, err := os.Stat(back); err == nil {
				t.Fatal("tampered GCM wrote an output file")
			}
		}
	}
	// CBC without padding wants whole blocks: the card refuses the rest.
	if code, _ := runTool(t, "aes", "encrypt", "--pin", pin, "--id", "1", "--mode", "cbc", "-i", msg); code != 1 {
		t.Fatalf("CBC of %d bytes: exit %d", len(plain), code)
	}

	for _, tc := range []struct {
		alg  string
		size int
	}{{"cmac", 16}, {"hmac-sha1", 20}, {"hmac-sha384", 48}} {
		if out := mustRun(t, "mac", "--pin", pin, "--id", "1", "--alg", tc.alg, "-i", msg); len(out) != tc.size {
			t.Fatalf("%s: %d bytes", tc.alg, len(out))
		}
	}
	if out := mustRun(t, "mac", "--pin", pin, "--id", "3", "--alg", "cmac", "-i", msg); len(out) != 16 {
		t.Fatalf("cmac on a one-use key: %d bytes", len(out))
	}
	if code, _ := runTool(t, "mac", "--pin", pin, "--id", "3", "--alg", "cmac", "-i", msg); code != 1 {
		t.Fatalf("second use of a one-use key: exit %d", code)
	}

	for _, tc := range []struct {
		args []string
		size int
	}{
		{[]string{"--alg", "hkdf-sha256", "--len", "100", "--salt", "00ff", "--info", "0102"}, 100},
		{[]string{"--alg", "pbkdf2-sha256", "--iter", "100", "--salt", "73616c74"}, 32},
		{[]string{"--alg", "x963-sha512", "--len", "80", "--info", "abcd"}, 80},
		{[]string{"--alg", "aes-derive", "--info", "000102030405060708090a0b0c0d0e0f10"}, 17},
	} {
		args := append([]string{"kdf", "--pin", pin, "--id", "1"}, tc.args...)
		a, b := mustRun(t, args...), mustRun(t, args...)
		if len(a) != tc.size || a != b {
			t.Fatalf("%v: %d bytes, repeatable %v", tc.args, len(a), a == b)
		}
	}

	// derive-ec: the derived key signs under Q + a·G.
	out := mustRun(t, "keys", "generate", "--pin", pin, "--id", "10", "--type", "ec:prime256v1", "--algorithms", "98,ecdsa-sha256")
	src := parsePEM(t, out).(*ecdsa.PublicKey)
	scalar := "0102030405060708090a0b0c0d0e0f10"
	if out := mustRun(t, "derive-ec", "--pin", pin, "--id", "10", "--to", "11", "--scalar", scalar); out != "key 11 (CC0B) derived from key 10\n" {
		t.Fatalf("derive-ec: %q", out)
	}
	a, _ := hex.DecodeString(scalar)
	ax, ay := elliptic.P256().ScalarBaseMult(a)
	want := &ecdsa.PublicKey{Curve: elliptic.P256()}
	want.X, want.Y = elliptic.P256().Add(src.X, src.Y, ax, ay)
	sig := mustRun(t, "sign", "--pin", pin, "--id", "11", "--alg", "ecdsa-sha256", "-i", msg)
	d := sha256.Sum256(plain)
	if !ecdsa.VerifyASN1(want, d[:], []byte(sig)) {
		t.Fatal("derived key's signature does not verify under Q + a·G")
	}
	if code, _ := runTool(t, "derive-ec", "--pin", pin, "--id", "1", "--to", "12", "--scalar", "01"); code != 1 {
		t.Fatalf("derive-ec from an AES key: exit %d", code)
	}
}
