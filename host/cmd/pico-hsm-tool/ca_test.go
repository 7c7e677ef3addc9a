package main

// ca and attest against two emulators (pico-hsm-extensions.md 5.1, 5.3, 5.4): an offline CA,
// enrolment of each device, attestation accepted for a key generated on the device and
// refused for a key attested by another device, a tampered attestation, another root, an
// unenrolled device.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// runToolErr is runTool that also returns the error line.
func runToolErr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	e := errOut.String()
	if code != 0 && (!strings.HasPrefix(e, "pico-hsm-tool: ") || strings.Count(e, "\n") != 1) {
		t.Errorf("stderr %q is not one \"pico-hsm-tool: ...\" line", e)
	}
	return code, out.String(), e
}

// twoEmulators starts two emulators (two devices) and returns a function that points the
// tool's reader at one of them.
func twoEmulators(t *testing.T) func(i int) {
	t.Helper()
	if os.Getenv("PICO_HSM_SKIP_EMU") == "1" {
		t.Skip("PICO_HSM_SKIP_EMU=1")
	}
	wd, _ := os.Getwd()
	bin, err := emu.FindUpward(wd)
	if err != nil {
		t.Fatal(err)
	}
	var cards [2]*emu.Card
	for i := range cards {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := emu.StartCard(ctx, bin, filepath.Join(t.TempDir(), "emu.flash"))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		cards[i] = c
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("emulator: %v", err)
			}
		})
	}
	old := openReader
	t.Cleanup(func() { openReader = old })
	return func(i int) {
		openReader = func(string) (transport.Transport, error) { return resetOnClose{cards[i]}, nil }
	}
}

func TestCAEnrolAttest(t *testing.T) {
	use := twoEmulators(t)
	dir := t.TempDir()
	ca, other := filepath.Join(dir, "ca"), filepath.Join(dir, "other")
	const pass = "correct horse battery"
	out := mustRun(t, "ca", "init", "--dir", ca, "--name", "ZZTEST", "--passphrase", pass)
	if !strings.Contains(out, "root ZZTESTCA00001, DV ZZTESTDV00001") {
		t.Fatalf("ca init: %q", out)
	}
	if code, _ := runTool(t, "ca", "init", "--dir", ca, "--passphrase", pass); code != 1 {
		t.Errorf("ca init over an existing CA: exit %d", code)
	}
	mustRun(t, "ca", "init", "--dir", other, "--passphrase", pass)
	for _, f := range []string{"root.key", "dv.key"} {
		b, _ := os.ReadFile(filepath.Join(ca, f))
		if !strings.Contains(string(b), "PICO-HSM ENCRYPTED CA KEY") || strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("%s is not an encrypted key file", f)
		}
	}
	root := filepath.Join(ca, "root.cvc")

	serial := func() string {
		out := mustRun(t, "files", "read", "2F02")
		certs, err := cvc.ParseAll([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		return certs[0].CHR
	}

	// Device 1: not enrolled yet, attest refuses; enrol (wrong passphrase first); attest a key.
	use(0)
	mustRun(t, "init", "--so-pin", so, "--pin", pin)
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1")
	if code, _, e := runToolErr(t, "attest", "--id", "1", "--root", root); code != 1 || !strings.Contains(e, "NOT VALID") || !strings.Contains(e, "not enrolled") {
		t.Errorf("attest before enrolment: exit %d, %q", code, e)
	}
	chr1 := serial()
	if code, _, e := runToolErr(t, "ca", "enrol", "--dir", ca, "--pin", pin, "--passphrase", "wrong passphrase"); code != 1 || !strings.Contains(e, "wrong passphrase") {
		t.Errorf("enrol with a wrong passphrase: exit %d, %q", code, e)
	}
	out = mustRun(t, "ca", "enrol", "--dir", ca, "--pin", pin, "--passphrase", pass)
	want := "device " + chr1 + " (serial " + chr1[:len(chr1)-5] + ") enrolled: " + chr1 + " <- ZZTESTDV00001 <- ZZTESTCA00001"
	if strings.TrimSpace(out) != want {
		t.Errorf("enrol: %q, want %q", out, want)
	}
	if got := serial(); got != chr1 {
		t.Errorf("CHR after enrolment %s, before %s", got, chr1)
	}
	// The key generated before enrolment and one after: both attested by the same device key.
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "2", "--type", "rsa:1024")
	for _, id := range []string{"1", "2"} {
		code, out, e := runToolErr(t, "attest", "--id", id, "--root", root)
		if code != 0 || !strings.HasPrefix(out, "key "+id+": VALID: ") || !strings.Contains(out, "key held by device "+chr1+", chain "+chr1+" <- ZZTESTDV00001 <- ZZTESTCA00001") {
			t.Errorf("attest %s: exit %d, %q %q", id, code, out, e)
		}
	}
	if code, _, e := runToolErr(t, "attest", "--id", "1", "--root", filepath.Join(other, "root.cvc")); code != 1 || !strings.Contains(e, "NOT VALID") {
		t.Errorf("attest under another root: exit %d, %q", code, e)
	}
	// Re-enrolment (the device certificate is already from this CA) works too.
	mustRun(t, "ca", "enrol", "--dir", ca, "--pin", pin, "--passphrase", pass)
	// Offline: issue from a request file, install.
	reqFile, chainFile := filepath.Join(dir, "req"), filepath.Join(dir, "chain")
	mustRun(t, "files", "read", "-o", reqFile, "2F02")
	mustRun(t, "ca", "issue", "--dir", ca, "--passphrase", pass, "-o", chainFile, reqFile)
	mustRun(t, "ca", "install", "--dir", ca, "--pin", pin, chainFile)

	// Tampered attestation: a public-key byte of CE01 flipped, stored as CE03.
	ce := filepath.Join(dir, "ce")
	mustRun(t, "files", "read", "-o", ce, "CE01")
	b, _ := os.ReadFile(ce)
	tampered := filepath.Join(dir, "tampered")
	b[len(b)/3] ^= 0x01
	os.WriteFile(tampered, b, 0o600)
	mustRun(t, "files", "write", "--pin", pin, "CE03", tampered)
	if code, _, e := runToolErr(t, "attest", "--id", "3", "--root", root); code != 1 || !strings.Contains(e, "NOT VALID") {
		t.Errorf("tampered attestation: exit %d, %q", code, e)
	}

	// Device 2: another serial; its chain does not install on device 1; its key's attestation
	// copied onto device 1 is refused there.
	use(1)
	mustRun(t, "init", "--so-pin", so, "--pin", pin)
	chr2 := serial()
	if chr2 == chr1 {
		t.Fatalf("two devices with the same CHR %s", chr1)
	}
	mustRun(t, "ca", "enrol", "--dir", ca, "--pin", pin, "--passphrase", pass)
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1")
	mustRun(t, "attest", "--id", "1", "--root", root)
	foreign := filepath.Join(dir, "foreign")
	mustRun(t, "files", "read", "-o", foreign, "CE01")
	use(0)
	mustRun(t, "files", "write", "--pin", pin, "CE04", foreign)
	if code, _, e := runToolErr(t, "attest", "--id", "4", "--root", root); code != 1 || !strings.Contains(e, "attested by "+chr2+", this device is "+chr1) {
		t.Errorf("attestation of another device: exit %d, %q", code, e)
	}
	if code, _, e := runToolErr(t, "ca", "install", "--dir", ca, "--pin", pin, chainFile+"2"); code != 1 {
		t.Errorf("install of a missing file: exit %d %q", code, e)
	}
	use(1)
	mustRun(t, "files", "read", "-o", reqFile, "2F02")
	mustRun(t, "ca", "issue", "--dir", ca, "--passphrase", pass, "-o", chainFile, reqFile)
	use(0)
	if code, _, e := runToolErr(t, "ca", "install", "--dir", ca, "--pin", pin, chainFile); code != 1 || !strings.Contains(e, "6985") {
		t.Errorf("device 2's chain on device 1: exit %d, %q", code, e)
	}
	mustRun(t, "attest", "--id", "1", "--root", root) // device 1 unchanged
}

func TestCAUsage(t *testing.T) {
	for _, args := range [][]string{
		{"ca"},
		{"ca", "init", "--passphrase", "long enough"},
		{"ca", "init", "--dir", "x", "--passphrase", "short"},
		{"ca", "init", "--dir", "x", "--name", "lower", "--passphrase", "long enough"},
		{"ca", "init", "--dir", "x", "--name", "TOOLONGNAME", "--passphrase", "long enough"},
		{"ca", "enrol", "--dir", "x"},
		{"ca", "issue", "--dir", "x", "--passphrase", "long enough"},
		{"attest", "--id", "1"},
		{"attest", "--id", "0", "--root", "r"},
	} {
		if code, _ := runTool(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
