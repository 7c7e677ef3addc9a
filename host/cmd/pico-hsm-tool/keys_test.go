package main

// keys, sign, decrypt, derive: argument handling, exact APDUs against a scripted card, and
// the whole flow against the emulator.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

func TestKeysUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("data"), 0o600)
	for _, args := range [][]string{
		{"keys"},
		{"keys", "rotate"},
		{"keys", "list", "extra"},
		{"keys", "generate", "--type", "rsa:2048"},
		{"keys", "generate", "--id", "0", "--type", "rsa:2048"},
		{"keys", "generate", "--id", "256", "--type", "rsa:2048"},
		{"keys", "generate", "--id", "one", "--type", "rsa:2048"},
		{"keys", "generate", "--id", "1"},
		{"keys", "generate", "--id", "1", "--type", "rsa"},
		{"keys", "generate", "--id", "1", "--type", "rsa:1000"},
		{"keys", "generate", "--id", "1", "--type", "rsa:8192"},
		{"keys", "generate", "--id", "1", "--type", "rsa:2050"},
		{"keys", "generate", "--id", "1", "--type", "ec:secp224r1"},
		{"keys", "generate", "--id", "1", "--type", "ec:x25519"},
		{"keys", "generate", "--id", "1", "--type", "ec"},
		{"keys", "generate", "--id", "1", "--type", "x25519:1"},
		{"keys", "generate", "--id", "1", "--type", "dsa:2048"},
		{"keys", "generate", "--id", "1", "--type", "x448", "--counter", "4294967295"},
		{"keys", "generate", "--id", "1", "--type", "x448", "--counter", "-1"},
		{"keys", "generate", "--id", "1", "--type", "x448", "--algorithms", "ecdh,zz"},
		{"keys", "generate", "--id", "1", "--type", "x448", "--domain", "256"},
		{"keys", "generate", "--id", "1", "--type", "x448", "--pin", "12345"},
		{"keys", "delete"},
		{"keys", "delete", "--id", "0x100"},
		{"sign", "--alg", "ecdsa", "-i", in},
		{"sign", "--id", "1", "-i", in},
		{"sign", "--id", "1", "--alg", "ecdsa"},
		{"sign", "--id", "1", "--alg", "sha256", "-i", in},
		{"sign", "--id", "1", "--alg", "rsa-decrypt-raw", "-i", in},
		{"sign", "--id", "1", "--alg", "ecdh", "-i", in},
		{"sign", "--id", "1", "--alg", "ecdsa", "-i", "-", "--pin", "-"},
		{"decrypt", "--id", "1", "--alg", "ecdsa", "-i", in},
		{"decrypt", "--id", "1", "--alg", "ecdh", "-i", in},
		{"decrypt", "--id", "1", "--alg", "rsa-decrypt-raw", "-i", in, "extra"},
		{"derive", "--id", "1"},
		{"derive", "--peer", in},
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

var verifyEx = exchange{"00 20 00 81 06 " + pinHx, "9000"}

func TestKeysScripted(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte{0xAB, 0xCD}, 0o600)

	t.Run("keys delete: CC, CE, C4", func(t *testing.T) {
		useScript(t, selectEx, verifyEx,
			exchange{"00 E4 02 00 02 CC 05", "9000"},
			exchange{"00 E4 02 00 02 CE 05", "6A82"},
			exchange{"00 E4 02 00 02 C4 05", "9000"})
		if code, _ := runTool(t, "keys", "delete", "--pin", pin, "--id", "5"); code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
	t.Run("keys delete: missing key", func(t *testing.T) {
		useScript(t, selectEx, verifyEx, exchange{"00 E4 02 00 02 CC 10", "6A82"})
		if code, _ := runTool(t, "keys", "delete", "--pin", pin, "--id", "0x10"); code != 1 {
			t.Fatalf("exit %d", code)
		}
	})
	t.Run("sign by hex algorithm, to stdout", func(t *testing.T) {
		useScript(t, selectEx, verifyEx, exchange{"80 68 07 73 00 00 02 ABCD 02 00", "3006020101020101 9000"})
		code, out := runTool(t, "sign", "--pin", pin, "--id", "7", "--alg", "73", "-i", in)
		if code != 0 || out != string(unhex("3006020101020101")) {
			t.Fatalf("exit %d, out %X", code, out)
		}
	})
	t.Run("sign: unknown algorithm byte goes to the card", func(t *testing.T) {
		useScript(t, selectEx, exchange{"80 68 07 99 00 00 02 ABCD 02 00", "6A86"})
		if code, _ := runTool(t, "sign", "--id", "7", "--alg", "0x99", "-i", in); code != 1 {
			t.Fatalf("exit %d", code)
		}
	})
	t.Run("decrypt from stdin to a file, PIN given", func(t *testing.T) {
		useScript(t, selectEx, verifyEx, exchange{"80 62 01 23 00 00 03 010203 02 00", "414243 9000"})
		useStdin(t, "\x01\x02\x03")
		out := filepath.Join(dir, "plain")
		if code, _ := runTool(t, "decrypt", "--pin", pin, "--id", "1", "--alg", "rsa-decrypt-oaep", "-i", "-", "-o", out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if b, _ := os.ReadFile(out); string(b) != "ABC" {
			t.Fatalf("output %q", b)
		}
	})
	t.Run("derive with a raw point", func(t *testing.T) {
		peer := filepath.Join(dir, "peer")
		os.WriteFile(peer, unhex("04AABB"), 0o600)
		useScript(t, selectEx, exchange{"80 62 02 80 00 00 03 04AABB 02 00", "04 1122 9000"})
		if code, out := runTool(t, "derive", "--id", "2", "--peer", peer); code != 0 || out != "\x11\x22" {
			t.Fatalf("exit %d, out %X", code, out)
		}
	})
	t.Run("keys list", func(t *testing.T) {
		useScript(t, selectEx,
			exchange{"80 58 00 00 00 00 00", "CC00 CC01 CE01 CC02 CF01 9000"},
			exchange{"00 B1 CE 01 00 00 04 54 02 00 00 10 00", "0102 9000"},
			exchange{"00 B1 CE 01 00 00 04 54 02 00 02 10 00", "9000"})
		code, out := runTool(t, "keys", "list")
		want := "" +
			" ID  FILE  KEY\n" +
			"  0  CC00  device authentication key\n" +
			"  1  CC01  type unknown (public key of key 01 in CE01: neither a CV request, a CV certificate nor an X.509 certificate)\n" +
			"  2  CC02  type unknown (no CE file)\n"
		if code != 0 || out != want {
			t.Fatalf("exit %d, out\n%s\nwant\n%s", code, out, want)
		}
	})
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	oldOut, oldTick := progressOut, progressTick
	t.Cleanup(func() { progressOut, progressTick = oldOut, oldTick })
	progressOut, progressTick = &buf, 20*time.Millisecond

	stop := startProgress("generating rsa:4096 key 1")
	time.Sleep(100 * time.Millisecond)
	stop()
	stop() // idempotent
	s := buf.String()
	if !strings.HasPrefix(s, "\rgenerating rsa:4096 key 1 | 0s") || strings.Count(s, "\r") < 3 {
		t.Errorf("progress output %q", s)
	}
	if !strings.HasSuffix(s, "\r") || !regexp.MustCompile(`\r {20,}\r$`).MatchString(s) {
		t.Errorf("the line is not erased at the end: %q", s)
	}
	buf.Reset()
	startProgress("quick")() // faster than a tick: nothing
	if buf.Len() != 0 {
		t.Errorf("quick operation printed %q", buf.String())
	}
	progressOut = nil
	startProgress("off")()
}

// emuReader starts the emulator and makes openReader hand it out; Close on the handed-out
// transport resets the card (a new session), as a PC/SC disconnect does.
func emuReader(t *testing.T) {
	t.Helper()
	if os.Getenv("PICO_HSM_SKIP_EMU") == "1" {
		t.Skip("PICO_HSM_SKIP_EMU=1")
	}
	wd, _ := os.Getwd()
	bin, err := emu.FindUpward(wd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := emu.StartCard(ctx, bin, filepath.Join(t.TempDir(), "emu.flash"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("emulator: %v", err)
		}
	})
	old := openReader
	t.Cleanup(func() { openReader = old })
	openReader = func(string) (transport.Transport, error) { return resetOnClose{c}, nil }
}

type resetOnClose struct{ *emu.Card }

func (r resetOnClose) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.Reset(ctx)
	return err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out := runTool(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d", args, code)
	}
	return out
}

// The whole flow on the emulator: generate, list, sign, decrypt, derive, delete.
func TestKeysOnEmulator(t *testing.T) {
	emuReader(t)
	dir := t.TempDir()
	mustRun(t, "init", "--so-pin", so, "--pin", pin)

	var progress bytes.Buffer
	oldOut, oldTick := progressOut, progressTick
	t.Cleanup(func() { progressOut, progressTick = oldOut, oldTick })
	progressOut, progressTick = &progress, time.Millisecond

	out := mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "rsa:2048")
	if !strings.HasPrefix(out, "key 1 (CC01): rsa:2048, generated in ") || !strings.Contains(out, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("generate output %q", out)
	}
	if p := progress.String(); !strings.Contains(p, "generating rsa:2048 key 1 ") || !strings.HasSuffix(p, "\r") {
		t.Errorf("progress %q", p)
	}
	progressOut = nil
	rsaPub := parsePEM(t, out).(*rsa.PublicKey)
	out = mustRun(t, "keys", "generate", "--pin", pin, "--id", "0x0A", "--type", "ec:prime256v1", "--counter", "3", "--algorithms", "ecdsa-sha256,70,ecdh")
	ecPub := parsePEM(t, out).(*ecdsa.PublicKey)
	out = mustRun(t, "keys", "generate", "--pin", pin, "--id", "11", "--type", "x25519")
	xPub := parsePEM(t, out).(*ecdh.PublicKey)
	// --no-store skips the tool's write; the device keeps its answer in CE0C anyway (ext. 5.4).
	out = mustRun(t, "keys", "generate", "--pin", pin, "--id", "12", "--type", "ec:brainpoolP384r1", "--no-store")
	if _, ok := parsePEM(t, out).(*hsm.ECPublicKey); !ok {
		t.Fatal("brainpool public key")
	}
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "13", "--type", "x448", "--domain", "0")

	list := mustRun(t, "keys", "list")
	for _, want := range []string{"  0  CC00  device authentication key\n", "  1  CC01  rsa:2048\n", " 10  CC0A  ec:secp256r1\n",
		" 11  CC0B  x25519\n", " 12  CC0C  ec:brainpoolP384r1\n", " 13  CC0D  x448\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("keys list lacks %q:\n%s", want, list)
		}
	}

	// sign: message for ecdsa-sha256, verified with crypto/ecdsa.
	msg := filepath.Join(dir, "msg")
	os.WriteFile(msg, []byte("pico-hsm-tool"), 0o600)
	sigFile := filepath.Join(dir, "sig")
	mustRun(t, "sign", "--pin", pin, "--id", "10", "--alg", "ecdsa-sha256", "-i", msg, "-o", sigFile)
	sig, _ := os.ReadFile(sigFile)
	d := sha256.Sum256([]byte("pico-hsm-tool"))
	if !ecdsa.VerifyASN1(ecPub, d[:], sig) {
		t.Error("ecdsa-sha256 signature does not verify")
	}
	// rsa-pss-sha256 to stdout.
	sig = []byte(mustRun(t, "sign", "--pin", pin, "--id", "1", "--alg", "43", "-i", msg))
	if err := rsa.VerifyPSS(rsaPub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Errorf("rsa-pss-sha256: %v", err)
	}
	// An algorithm outside the key's list: the card's 6A81 as one line, exit 1.
	if code, _ := runTool(t, "sign", "--pin", pin, "--id", "10", "--alg", "ecdsa-sha1", "-i", msg); code != 1 {
		t.Errorf("ecdsa-sha1 outside the list: exit %d", code)
	}

	// decrypt: OAEP made by Go.
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, rsaPub, []byte("secret"), nil)
	ctFile := filepath.Join(dir, "ct")
	os.WriteFile(ctFile, ct, 0o600)
	if got := mustRun(t, "decrypt", "--pin", pin, "--id", "1", "--alg", "rsa-decrypt-oaep", "-i", ctFile); got != "secret" {
		t.Errorf("decrypt = %q", got)
	}

	// derive: X25519 with a PEM peer, P-256 with a DER peer, and with the raw point.
	xPeer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peerFile := filepath.Join(dir, "peer.pem")
	der, _ := x509.MarshalPKIXPublicKey(xPeer.PublicKey())
	os.WriteFile(peerFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	want, _ := xPeer.ECDH(xPub)
	if got := mustRun(t, "derive", "--pin", pin, "--id", "11", "--peer", peerFile); got != string(want) {
		t.Errorf("derive X25519 = %X, want %X", got, want)
	}
	ePeer, _ := ecdh.P256().GenerateKey(rand.Reader)
	ecE, _ := ecPub.ECDH()
	want, _ = ePeer.ECDH(ecE)
	der, _ = x509.MarshalPKIXPublicKey(ePeer.PublicKey())
	for name, content := range map[string][]byte{"peer.der": der, "peer.raw": ePeer.PublicKey().Bytes()} {
		f := filepath.Join(dir, name)
		os.WriteFile(f, content, 0o600)
		if got := mustRun(t, "derive", "--pin", pin, "--id", "10", "--peer", f); got != string(want) {
			t.Errorf("derive P-256 (%s) = %X, want %X", name, got, want)
		}
	}
	// Key 10 had a counter of 3: one signature, two derivations. The next use fails.
	if code, _ := runTool(t, "sign", "--pin", pin, "--id", "10", "--alg", "ecdsa-sha256", "-i", msg); code != 1 {
		t.Errorf("fourth use of a key with counter 3: exit %d", code)
	}

	mustRun(t, "keys", "delete", "--pin", pin, "--id", "1")
	if list := mustRun(t, "keys", "list"); strings.Contains(list, "CC01") {
		t.Errorf("key 1 still listed:\n%s", list)
	}
	if files := mustRun(t, "files", "list"); strings.Contains(files, "CE01") {
		t.Errorf("CE01 left behind:\n%s", files)
	}
}

func parsePEM(t *testing.T, out string) crypto.PublicKey {
	t.Helper()
	blk, _ := pem.Decode([]byte(out[strings.Index(out, "-----BEGIN"):]))
	if blk == nil {
		t.Fatalf("no PEM in %q", out)
	}
	pub, err := hsm.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
