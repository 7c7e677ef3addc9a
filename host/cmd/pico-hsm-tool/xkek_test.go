package main

// XKEK (pico-hsm-extensions.md 4.2, 4.3) with the tool against three emulators, all enrolled
// under one CA made by `ca init`: the two members of the group derive the same DKEK (same
// non-zero KCV); a key generated on the first in that domain is wrapped there, unwrapped on
// the second, and both sign with the same public key (verified with crypto/ecdsa); the third
// device cannot use another device's membership (6985); a peer certificate of another group
// gives 6A88; clear and delete answer their status words; each card still works after every
// refusal.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// nEmulators starts n emulators and returns a function that points the tool at one of them.
func nEmulators(t *testing.T, n int) func(i int) {
	t.Helper()
	if os.Getenv("PICO_HSM_SKIP_EMU") == "1" {
		t.Skip("PICO_HSM_SKIP_EMU=1")
	}
	wd, _ := os.Getwd()
	bin, err := emu.FindUpward(wd)
	if err != nil {
		t.Fatal(err)
	}
	cards := make([]*emu.Card, n)
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

var kcvLine = regexp.MustCompile(`^domain 0: XKEK group UID ([0-9a-f]{16})\.\.\., DKEK key check value (\S+)\n$`)

func xkekStatus(t *testing.T) (uid, kcv string) {
	t.Helper()
	m := kcvLine.FindStringSubmatch(mustRun(t, "xkek", "status"))
	if m == nil {
		t.Fatal("xkek status: unexpected output")
	}
	return m[1], m[2]
}

func ecPublicOfCE(t *testing.T, dir string, id string) *ecdsa.PublicKey {
	t.Helper()
	f := filepath.Join(dir, "ce"+id)
	mustRun(t, "files", "read", "-o", f, "CE"+id)
	b, _ := os.ReadFile(f)
	r, err := cvc.ParseAuthenticatedRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := r.Request.PublicKey.ECDSA()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestXKEKGroup(t *testing.T) {
	use := nEmulators(t, 3)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	const pass = "group manager passphrase"
	mustRun(t, "ca", "init", "--dir", ca, "--name", "ZZXK", "--passphrase", pass)
	if code, _, e := runToolErr(t, "xkek", "gsk-new", "--dir", ca, "--passphrase", "wrong passphrase"); code != 1 || !strings.Contains(e, "wrong passphrase") {
		t.Errorf("gsk-new with a wrong passphrase: exit %d %q", code, e)
	}
	out := mustRun(t, "xkek", "gsk-new", "--dir", ca, "--passphrase", pass)
	m := regexp.MustCompile(`^group key ZZXKGS00001 \(P-256\) issued by ZZXKDV00001; group UID ([0-9a-f]{16})\.\.\.\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gsk-new: %q", out)
	}
	groupUID := m[1]
	if b, _ := os.ReadFile(filepath.Join(ca, gskKey)); !bytes.Contains(b, []byte("PICO-HSM ENCRYPTED CA KEY")) {
		t.Error("gsk.key is not an encrypted key file")
	}
	if code, _ := runTool(t, "xkek", "gsk-new", "--dir", ca, "--passphrase", pass); code != 1 {
		t.Errorf("second gsk-new: exit %d", code)
	}

	// Three devices, enrolled; memberships for devices 0 and 1 only.
	kdm := func(i int) string { return filepath.Join(dir, "kdm"+string(rune('0'+i))) }
	cert := func(i int) string { return filepath.Join(dir, "xkek"+string(rune('0'+i))+".cvc") }
	for i := 0; i < 3; i++ {
		use(i)
		mustRun(t, "init", "--so-pin", so, "--pin", pin)
		req := filepath.Join(dir, "req"+string(rune('0'+i)))
		mustRun(t, "files", "read", "-o", req, "2F02")
		if i == 0 {
			// Not enrolled yet: no membership.
			if code, _, e := runToolErr(t, "xkek", "kdm", "--dir", ca, "--passphrase", pass, "--device-cert", req, "-o", kdm(0)); code != 1 || !strings.Contains(e, "not enrolled under this CA") {
				t.Errorf("kdm for an unenrolled device: exit %d %q", code, e)
			}
		}
		mustRun(t, "ca", "enrol", "--dir", ca, "--pin", pin, "--passphrase", pass)
		mustRun(t, "files", "read", "-o", req, "2F02")
		if i < 2 {
			out := mustRun(t, "xkek", "kdm", "--dir", ca, "--passphrase", pass, "--device-cert", req, "-o", kdm(i))
			if !strings.Contains(out, "in group ZZXKGS00001 (UID "+groupUID) {
				t.Errorf("kdm: %q", out)
			}
		}
	}

	// Device 2 with device 0's membership: the signature is over another device key.
	use(2)
	if code, _, e := runToolErr(t, "xkek", "join", "--pin", pin, kdm(0)); code != 1 || !strings.Contains(e, "6985") || !strings.Contains(e, "not for this device") {
		t.Errorf("join with another device's membership: exit %d %q", code, e)
	}
	if code, _, e := runToolErr(t, "xkek", "status"); code != 1 || !strings.Contains(e, "not an XKEK domain") {
		t.Errorf("status after the refused join: exit %d %q", code, e)
	}
	if code, _, e := runToolErr(t, "xkek", "keygen", "--pin", pin, "--id", "10", "-o", cert(2)); code != 1 || !strings.Contains(e, "6700") {
		t.Errorf("XKEK key without a group: exit %d %q", code, e)
	}
	mustRun(t, "keys", "list")

	// Devices 0 and 1 join, make their XKEK keys and exchange certificates.
	for i := 0; i < 2; i++ {
		use(i)
		out := mustRun(t, "xkek", "join", "--pin", pin, kdm(i))
		if out != "domain 0: XKEK group UID "+groupUID+"..., DKEK key check value none (no DKEK)\n" {
			t.Errorf("join %d: %q", i, out)
		}
		out = mustRun(t, "xkek", "keygen", "--pin", pin, "--id", "10", "-o", cert(i))
		if out != "XKEK key 10 in domain 0, group UID "+groupUID+"...\n" {
			t.Errorf("keygen %d: %q", i, out)
		}
	}
	var kcvs [2]string
	for i := 0; i < 2; i++ {
		use(i)
		out := mustRun(t, "xkek", "derive", "--pin", pin, "--id", "10", "--peer", cert(1-i))
		m := kcvLine.FindStringSubmatch(out)
		if m == nil || m[1] != groupUID {
			t.Fatalf("derive %d: %q", i, out)
		}
		kcvs[i] = m[2]
	}
	if kcvs[0] != kcvs[1] || !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(kcvs[0]) || kcvs[0] == "0000000000000000" {
		t.Fatalf("KCVs %q and %q: want the same non-zero value", kcvs[0], kcvs[1])
	}

	// A peer of another group (one UID byte changed): 6A88; the DKEK is unchanged.
	b, _ := os.ReadFile(cert(1))
	c1, _ := cvc.Parse(b)
	uid := hsm.KeyDomainUID(c1)
	i := bytes.Index(b, uid)
	forged := append([]byte(nil), b...)
	forged[i+len(uid)-1] ^= 0x01
	forgedFile := filepath.Join(dir, "forged.cvc")
	os.WriteFile(forgedFile, forged, 0o600)
	use(0)
	if code, _, e := runToolErr(t, "xkek", "derive", "--pin", pin, "--id", "10", "--peer", forgedFile); code != 1 || !strings.Contains(e, "6A88") {
		t.Errorf("peer of another group: exit %d %q", code, e)
	}
	if _, k := xkekStatus(t); k != kcvs[0] {
		t.Errorf("KCV after the refused derivation: %s", k)
	}

	// A key made on device 0 in the domain travels to device 1; both sign with it.
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1", "--domain", "0")
	pub := ecPublicOfCE(t, dir, "01")
	blob := filepath.Join(dir, "key1.wrapped")
	mustRun(t, "keys", "wrap", "--pin", pin, "--id", "1", "-o", blob)
	// The XKEK key itself cannot leave (its list has no 92).
	if code, _, e := runToolErr(t, "keys", "wrap", "--pin", pin, "--id", "10", "-o", blob+"x"); code != 1 {
		t.Errorf("wrap of the XKEK key: exit %d %q", code, e)
	}
	use(1)
	mustRun(t, "keys", "unwrap", "--pin", pin, "--id", "1", blob)
	digest := sha256.Sum256([]byte("one key, two devices"))
	in := filepath.Join(dir, "digest")
	os.WriteFile(in, digest[:], 0o600)
	for dev := 0; dev < 2; dev++ {
		use(dev)
		sig := filepath.Join(dir, "sig")
		mustRun(t, "sign", "--pin", pin, "--id", "1", "--alg", "ecdsa", "-i", in, "-o", sig)
		s, _ := os.ReadFile(sig)
		if !ecdsa.VerifyASN1(pub, digest[:], s) {
			t.Errorf("device %d: the signature does not verify with device 0's public key", dev)
		}
	}

	// Clear and delete.
	use(1)
	out = mustRun(t, "xkek", "clear", "--pin", pin)
	if out != "domain 0: XKEK group UID "+groupUID+"..., DKEK key check value none (no DKEK)\n" {
		t.Errorf("clear: %q", out)
	}
	if code, _, e := runToolErr(t, "xkek", "clear", "--pin", pin, "--delete"); code != 1 || !strings.Contains(e, "6A89") {
		t.Errorf("delete with keys in the domain: exit %d %q", code, e)
	}
	// Derived again after the clear: the same DKEK.
	if m := kcvLine.FindStringSubmatch(mustRun(t, "xkek", "derive", "--pin", pin, "--id", "10", "--peer", cert(0))); m == nil || m[2] != kcvs[0] {
		t.Errorf("derive after clear: %v", m)
	}
	mustRun(t, "keys", "delete", "--pin", pin, "--id", "1")
	mustRun(t, "keys", "delete", "--pin", pin, "--id", "10")
	if out := mustRun(t, "xkek", "clear", "--pin", pin, "--delete"); out != "domain 0 deleted\n" {
		t.Errorf("delete: %q", out)
	}
	if code, _, e := runToolErr(t, "xkek", "status"); code != 1 || !strings.Contains(e, "6A88") {
		t.Errorf("status of the deleted domain: exit %d %q", code, e)
	}
	mustRun(t, "keys", "list")
}
