package main

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/dkek"
)

// The DKEK flow on the emulator: a share file whose password is split 2-of-3, imported from
// two password shares on standard input; a key wrapped and unwrapped; a PKCS#12 key
// imported with the share file; refusals leave nothing behind. One share-file key
// derivation in all (cached).
func TestDKEKOnEmulator(t *testing.T) {
	emuReader(t)
	old := kdfCache
	kdfCache = &dkek.KDFCache{}
	t.Cleanup(func() { kdfCache.Clear(); kdfCache = old })
	dir := t.TempDir()
	share := filepath.Join(dir, "share.pbe")
	mustRun(t, "init", "--so-pin", so, "--pin", pin, "--dkek-shares", "1")
	out := mustRun(t, "dkek", "create-share", "--threshold", "2", "--total", "3", share)
	prime := regexp.MustCompile(`Prime       : (\S+)`).FindStringSubmatch(out)
	vals := regexp.MustCompile(`Share value : (\S+)`).FindAllStringSubmatch(out, -1)
	if prime == nil || len(vals) != 3 {
		t.Fatalf("create-share output:\n%s", out)
	}
	if code, _ := runTool(t, "dkek", "create-share", "--password", "x", share); code != 1 {
		t.Errorf("create-share over an existing file: exit %d", code)
	}
	useStdin(t, prime[1]+"\n3\n"+vals[2][1]+"\n1\n"+vals[0][1]+"\n")
	out = mustRun(t, "dkek", "import", "--pwd-shares", "2", share)
	if !strings.Contains(out, "DKEK share imported") || !strings.Contains(out, "DKEK key check value : ") {
		t.Fatalf("import output:\n%s", out)
	}
	if code, _ := runTool(t, "dkek", "status"); code != 0 {
		t.Fatal("status")
	}

	mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1")
	wrapped := filepath.Join(dir, "k1.bin")
	mustRun(t, "keys", "wrap", "--pin", pin, "--id", "1", "-o", wrapped)
	mustRun(t, "keys", "unwrap", "--pin", pin, "--id", "2", wrapped)
	if code, _ := runTool(t, "keys", "unwrap", "--pin", pin, "--id", "2", wrapped); code != 1 {
		t.Errorf("unwrap into key 2 again without --force: exit %d", code)
	}
	mustRun(t, "keys", "unwrap", "--pin", pin, "--id", "2", "--force", wrapped)
	msg := sha256.Sum256([]byte("m"))
	in := filepath.Join(dir, "hash")
	os.WriteFile(in, msg[:], 0o600)
	mustRun(t, "sign", "--pin", pin, "--id", "2", "--alg", "ecdsa", "-i", in, "-o", filepath.Join(dir, "sig"))

	// PKCS#12 import, when openssl is there to make the file.
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	p12 := filepath.Join(dir, "k.p12")
	for _, c := range [][]string{
		{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", filepath.Join(dir, "k.pem"),
			"-out", filepath.Join(dir, "c.pem"), "-subj", "/CN=imported ec", "-days", "2"},
		{"pkcs12", "-export", "-inkey", filepath.Join(dir, "k.pem"), "-in", filepath.Join(dir, "c.pem"), "-out", p12,
			"-passout", "pass:p12pw", "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"},
	} {
		if b, err := exec.Command("openssl", c...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", c, err, b)
		}
	}
	// Wrong PKCS#12 password: one error line, nothing on the card.
	before := mustRun(t, "files", "list")
	useStdin(t, "")
	if code, _ := runTool(t, "keys", "import", "--pin", pin, "--id", "5", "--pkcs12", p12, "--pkcs12-password", "bad",
		"--share", share, "--dkek-share-password", "x"); code != 1 {
		t.Errorf("wrong PKCS#12 password: exit %d", code)
	}
	if after := mustRun(t, "files", "list"); after != before {
		t.Errorf("files changed after a refused import:\n%s\n->\n%s", before, after)
	}
	// The share password rebuilt from the shares, given on stdin.
	pw, err := dkek.CombinePassword(mustBig(t, prime[1]), []dkek.PasswordShare{{ID: 1, Value: mustBig(t, vals[0][1])}, {ID: 2, Value: mustBig(t, vals[1][1])}})
	if err != nil {
		t.Fatal(err)
	}
	useStdin(t, string(pw)+"\n")
	out = mustRun(t, "keys", "import", "--pin", pin, "--id", "5", "--pkcs12", p12, "--pkcs12-password", "p12pw",
		"--share", share, "--dkek-share-password", "-")
	if !strings.Contains(out, `label "imported ec"`) {
		t.Errorf("import output: %s", out)
	}
	files := mustRun(t, "files", "list")
	for _, f := range []string{"CC05", "C405", "CE05"} {
		if !strings.Contains(files, f) {
			t.Errorf("%s missing after import:\n%s", f, files)
		}
	}
	sig := filepath.Join(dir, "sig5")
	mustRun(t, "sign", "--pin", pin, "--id", "5", "--alg", "ecdsa", "-i", in, "-o", sig)
	sb, _ := os.ReadFile(sig)
	cert := readCert(t, filepath.Join(dir, "c.pem"))
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), msg[:], sb) {
		t.Error("signature of the imported key does not verify with the certificate's key")
	}
}

func mustBig(t *testing.T, s string) *big.Int {
	t.Helper()
	v, err := dkek.ParseColonHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
