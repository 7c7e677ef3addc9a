package main

// hd, clock, options, rescue against the emulator, and their usage errors.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestExtrasUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"hd"},
		{"hd", "master", "--id", "10", "--type", "p256"},
		{"hd", "master", "--id", "1", "--type", "ed25519"},
		{"hd", "master", "--id", "1", "--type", "p256", "--seed", "zz"},
		{"hd", "derive", "--id", "1", "--path", "x/1"},
		{"hd", "derive", "--id", "1", "--path", "m/1", "--label", "a"},
		{"hd", "sign", "--id", "1", "--path", "m/1"},
		{"clock", "set", "--time", "yesterday"},
		{"options", "set", "button"},
		{"options", "set", "lock", "on"},
		{"rescue", "dance"},
	} {
		if code, _ := runTool(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestExtrasOnEmulator(t *testing.T) {
	t.Setenv("PICO_HSM_BUTTON", "auto") // the emulator confirms every press-to-confirm wait
	emuReader(t)
	mustRun(t, "init", "--so-pin", so, "--pin", pin)

	// BIP32 test vector 1, m/0h/1 (bitcoin/bips bip-0032.mediawiki).
	mustRun(t, "hd", "master", "--pin", pin, "--id", "0", "--type", "secp256k1", "--seed", "000102030405060708090a0b0c0d0e0f")
	out := mustRun(t, "hd", "derive", "--pin", pin, "--id", "0", "--path", "m/0h/1")
	if !strings.Contains(out, "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ") {
		t.Errorf("hd derive output %q", out)
	}
	// A P-256 node signs; crypto/ecdsa verifies with the derived public key.
	mustRun(t, "hd", "master", "--pin", pin, "--id", "1", "--type", "p256")
	out = mustRun(t, "hd", "derive", "--pin", pin, "--id", "1", "--path", "m/1h/2")
	m := regexp.MustCompile(`public key:  ([0-9A-F]{66})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no public key in %q", out)
	}
	comp, _ := hex.DecodeString(m[1])
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), comp)
	if x == nil {
		t.Fatalf("bad point %X", comp)
	}
	dir := t.TempDir()
	digest := sha256.Sum256([]byte("hd sign"))
	in, sigFile := filepath.Join(dir, "digest"), filepath.Join(dir, "sig")
	os.WriteFile(in, digest[:], 0o600)
	mustRun(t, "hd", "sign", "--pin", pin, "--id", "1", "--path", "m/1h/2", "-i", in, "-o", sigFile)
	sig, _ := os.ReadFile(sigFile)
	if !ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], sig) {
		t.Errorf("hd sign: signature %X does not verify", sig)
	}
	// A SLIP-21 label on an ECDSA master: the device refuses (6400), exit 1.
	if code, _ := runTool(t, "hd", "derive", "--pin", pin, "--id", "1", "--label", "x"); code != 1 {
		t.Errorf("label path on a P-256 master: exit %d, want 1", code)
	}

	// Clock.
	mustRun(t, "clock", "set", "--pin", pin, "--time", "2030-06-15T10:20:30Z")
	out = strings.TrimSpace(mustRun(t, "clock", "get", "--pin", pin))
	got, err := time.Parse(time.RFC3339, out)
	if want := time.Date(2030, 6, 15, 10, 20, 30, 0, time.UTC); err != nil || got.Before(want) || got.Sub(want) > 3*time.Second {
		t.Errorf("clock get %q, want about %v", out, want)
	}

	// Options.
	mustRun(t, "options", "set", "--pin", pin, "button", "on")
	out = mustRun(t, "options", "get", "--pin", pin)
	if !strings.Contains(out, "options: 0101") || !strings.Contains(out, "button:  true") {
		t.Errorf("options get %q", out)
	}
	mustRun(t, "options", "set", "--pin", pin, "button", "off")

	// Rescue applet.
	out = mustRun(t, "rescue", "info")
	if !strings.Contains(out, "platform: emulation (03)") || !strings.Contains(out, "product:  01") || !strings.Contains(out, "version:  6.6") {
		t.Errorf("rescue info %q", out)
	}
	out = mustRun(t, "rescue", "memory")
	f := regexp.MustCompile(`free (\d+), used (\d+), total (\d+)`).FindStringSubmatch(out)
	if f == nil {
		t.Fatalf("rescue memory %q", out)
	}
	a, _ := new(big.Int).SetString(f[1], 10)
	b, _ := new(big.Int).SetString(f[2], 10)
	c, _ := new(big.Int).SetString(f[3], 10)
	if new(big.Int).Add(a, b).Cmp(c) != 0 {
		t.Errorf("rescue memory %q: free + used != total", out)
	}
	mustRun(t, "rescue", "reboot")
	mustRun(t, "files", "list") // the card answers after the reboot
}
