package conformance

// End-to-end flows of OpenSC 0.23 through pcscd (spec 5.3, 5.4, 5.14-5.17): sc-hsm-tool
// initialises the emulator, pkcs15-tool shows the PIN, opensc-pkcs11 blocks, unblocks and
// changes the PIN and stores, reads and deletes a certificate and a private data object; our
// pico-hsm-tool works on the same card through PC/SC and reads what OpenSC wrote. Gated like
// e2e_test.go (PICO_HSM_E2E=1) and on the same reader.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	e2eModule = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
	e2eSO     = "3537363231383830"
	e2eLabel  = "Pico HSM e2e"
)

// runExit runs a command and checks its exit status (want -1: any failure); it returns
// stdout and stderr together.
func runExit(t *testing.T, want int, stdin []byte, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	if code != want && !(want == -1 && code != 0) {
		t.Fatalf("%s %s: exit %d, want %d\n%s", name, strings.Join(args, " "), code, want, out)
	}
	return string(out)
}

// contains fails unless out holds every one of want.
func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

// lacks fails if out holds any of bad.
func lacks(t *testing.T, out string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(out, b) {
			t.Fatalf("output has %q:\n%s", b, out)
		}
	}
}

// buildTool builds pico-hsm-tool into dir.
func buildTool(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found: %v", err)
	}
	out := filepath.Join(dir, "pico-hsm-tool")
	runExit(t, 0, nil, goBin, "build", "-o", out, "github.com/pico-hsm/pico-hsm/host/cmd/pico-hsm-tool")
	return out
}

// makeCertificate makes a self-signed P-256 certificate of about 3000 bytes (three OpenSC
// write chunks, spec 2.3) with openssl, DER-encoded.
func makeCertificate(t *testing.T, dir string) []byte {
	t.Helper()
	var names []string
	for i := 1; i <= 95; i++ {
		names = append(names, fmt.Sprintf("DNS:host-%03d.pico-hsm.example", i))
	}
	der := filepath.Join(dir, "cert.der")
	runExit(t, 0, nil, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-keyout", filepath.Join(dir, "key.pem"), "-subj", "/CN=pico-hsm-e2e", "-days", "30",
		"-outform", "DER", "-out", der, "-addext", "subjectAltName="+strings.Join(names, ","))
	b, err := os.ReadFile(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= 2*1215 {
		t.Fatalf("certificate of %d bytes, want more than two write chunks", len(b))
	}
	return b
}

func TestE2EOpenSCFlows(t *testing.T) {
	if os.Getenv("PICO_HSM_E2E") != "1" {
		t.Skip("end-to-end tests through pcscd and OpenSC run with PICO_HSM_E2E=1 (make test)")
	}
	bin := emulatorPath(t)
	for _, tool := range []string{"sc-hsm-tool", "pkcs15-tool", "pkcs11-tool", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
	}
	if _, err := os.Stat(e2eModule); err != nil {
		t.Fatalf("PKCS#11 module: %v (install opensc-pkcs11)", err)
	}
	dir := t.TempDir()
	tool := buildTool(t, dir)
	cert := makeCertificate(t, dir)
	data := pattern(42, 1000)
	dataFile := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(dataFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	startE2ECard(t, bin)

	r := e2eReader
	scHSM := func(t *testing.T, args ...string) string {
		t.Helper()
		return runExit(t, 0, nil, "sc-hsm-tool", append([]string{"-r", r}, args...)...)
	}
	p11 := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		return runExit(t, want, nil, "pkcs11-tool", append([]string{"--module", e2eModule, "--slot-description", r}, args...)...)
	}
	pico := func(t *testing.T, want int, stdin []byte, args ...string) string {
		t.Helper()
		return runExit(t, want, stdin, tool, append(args, "--reader", r)...)
	}
	status := func(t *testing.T, so, user string) {
		t.Helper()
		contains(t, scHSM(t), "SO-PIN tries left    : "+so, "User PIN "+user)
	}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		// Spec 5.3 (S1: 6A88).
		{"sc-hsm-tool: not initialised", func(t *testing.T) {
			contains(t, scHSM(t), "never been initialized")
		}},
		// Spec 5.4 (I1-I3: INITIALIZE, VERIFY, UPDATE BINARY 2F03).
		{"sc-hsm-tool --initialize", func(t *testing.T) {
			out := scHSM(t, "--initialize", "--so-pin", e2eSO, "--pin", "648219", "--label", e2eLabel)
			lacks(t, out, "failed", "rror")
			out = scHSM(t)
			contains(t, out, "User PIN reset with SO-PIN enabled")
			status(t, "15", "tries left  : 3")
		}},
		// Spec 5.2, 3.5.4: the PIN objects, the label written to 2F03.
		{"pkcs15-tool -D", func(t *testing.T) {
			out := runExit(t, 0, nil, "pkcs15-tool", "-r", r, "-D")
			contains(t, out, "PKCS#15 Card ["+e2eLabel+"]", "PIN [UserPIN]", "Reference      : 129 (0x81)",
				"Tries left     : 3", "PIN [SOPIN]", "Reference      : 136 (0x88)")
			lacks(t, out, "rror", "failed")
		}},
		// Spec 2.6, 5.17: three wrong logins block the PIN.
		{"wrong PIN three times blocks", func(t *testing.T) {
			contains(t, p11(t, 1, "--login", "--pin", "000000", "--list-objects"), "CKR_PIN_INCORRECT")
			status(t, "15", "tries left  : 2")
			contains(t, p11(t, 1, "--login", "--pin", "000000", "--list-objects"), "CKR_PIN_INCORRECT")
			contains(t, p11(t, 1, "--login", "--pin", "000000", "--list-objects"), "CKR_PIN_LOCKED")
			status(t, "15", "locked")
			contains(t, p11(t, 1, "--login", "--pin", "648219", "--list-objects"), "CKR_PIN_LOCKED")
		}},
		// Spec 2.8 pitfall: pkcs15-tool --unblock-pin sends the SO-PIN as 16 ASCII characters
		// and the new PIN BCD-packed; the card counts a wrong SO-PIN and unblocks nothing.
		{"pkcs15-tool --unblock-pin is not compatible", func(t *testing.T) {
			runExit(t, -1, nil, "pkcs15-tool", "-r", r, "--unblock-pin", "--puk", e2eSO, "--new-pin", "648219")
			status(t, "14", "locked")
		}},
		// Spec 2.8, 5.17: sc-hsm-tool 0.23 has no unblock option; C_InitPIN as SO sends
		// RESET RETRY COUNTER P1 00 with the SO-PIN and the new PIN.
		{"unblock with C_InitPIN as SO", func(t *testing.T) {
			out := p11(t, 0, "--login", "--login-type", "so", "--so-pin", e2eSO, "--init-pin", "--new-pin", "648219")
			contains(t, out, "User PIN successfully initialized")
			status(t, "15", "tries left  : 3") // the right SO-PIN restored its counter too
			p11(t, 0, "--login", "--pin", "648219", "--list-objects")
		}},
		// Spec 2.7, 5.17.
		{"pkcs11-tool --change-pin", func(t *testing.T) {
			contains(t, p11(t, 0, "--login", "--pin", "648219", "--change-pin", "--new-pin", "123456"), "PIN successfully changed")
			p11(t, 0, "--login", "--pin", "123456", "--list-objects")
			contains(t, p11(t, 1, "--login", "--pin", "648219", "--list-objects"), "CKR_PIN_INCORRECT")
			p11(t, 0, "--login", "--pin", "123456", "--list-objects") // resets the counter
			status(t, "15", "tries left  : 3")
		}},
		// Spec 5.14, 5.15: a CA certificate (no key with its ID) goes to CA00 + C800, a private
		// data object to CD00 + C900.
		{"pkcs11-tool --write-object", func(t *testing.T) {
			certFile := filepath.Join(dir, "cert.der")
			contains(t, p11(t, 0, "--login", "--pin", "123456", "--write-object", certFile, "--type", "cert", "--id", "01", "--label", "e2e cert"),
				"Created certificate", "CN=pico-hsm-e2e")
			contains(t, p11(t, 0, "--login", "--pin", "123456", "--write-object", dataFile, "--type", "data", "--label", "x", "--private"),
				"Created Data Object", "private")
			out := p11(t, 0, "--login", "--pin", "123456", "--list-objects")
			contains(t, out, "Certificate Object; type = X.509 cert", "label:      e2e cert", "label:          'x'")
			// Without login the private data object is invisible, the certificate is not.
			out = p11(t, 0, "--list-objects")
			contains(t, out, "e2e cert")
			lacks(t, out, "'x'")
		}},
		{"pkcs11-tool --read-object", func(t *testing.T) {
			certOut, dataOut := filepath.Join(dir, "cert.out"), filepath.Join(dir, "data.out")
			p11(t, 0, "--login", "--pin", "123456", "--read-object", "--type", "cert", "--id", "01", "-o", certOut)
			p11(t, 0, "--login", "--pin", "123456", "--read-object", "--type", "data", "--label", "x", "-o", dataOut)
			for _, f := range []struct {
				path string
				want []byte
			}{{certOut, cert}, {dataOut, data}} {
				got, err := os.ReadFile(f.path)
				if err != nil || !bytes.Equal(got, f.want) {
					t.Fatalf("%s: %d bytes (%v), want the %d bytes written", f.path, len(got), err, len(f.want))
				}
			}
			contains(t, p11(t, 1, "--read-object", "--type", "data", "--label", "x", "-o", dataOut), "object not found")
		}},
		// Our tool reads what OpenSC wrote (spec 3.1): the same bytes in CA00 and CD00, the
		// descriptions in C800 and C900; CD00 only with the PIN.
		{"pico-hsm-tool files on OpenSC's objects", func(t *testing.T) {
			out := pico(t, 0, nil, "files", "list")
			if want := "CC00\nC800\nC900\nCA00\nCD00\n"; out != want {
				t.Fatalf("files list = %q, want %q", out, want)
			}
			if got := pico(t, 0, nil, "files", "read", "CA00"); got != string(cert) {
				t.Fatalf("CA00 has %d bytes, want the certificate's %d", len(got), len(cert))
			}
			contains(t, pico(t, 1, nil, "files", "read", "CD00"), "pico-hsm-tool: files read: ", "6982")
			if got := pico(t, 0, []byte("123456\n"), "files", "read", "--pin", "-", "CD00"); got != string(data) {
				t.Fatalf("CD00 has %d bytes, want %d", len(got), len(data))
			}
			// The DODF entry names the label and the path CD00.
			dodf := pico(t, 0, nil, "files", "read", "C900")
			if !strings.Contains(dodf, "x") || !bytes.Contains([]byte(dodf), []byte{0xCD, 0x00}) {
				t.Fatalf("C900 = %X does not describe CD00", dodf)
			}
		}},
		// Spec 5.16.
		{"pkcs11-tool --delete-object", func(t *testing.T) {
			p11(t, 0, "--login", "--pin", "123456", "--delete-object", "--type", "cert", "--id", "01")
			p11(t, 0, "--login", "--pin", "123456", "--delete-object", "--type", "data", "--label", "x")
			out := p11(t, 0, "--login", "--pin", "123456", "--list-objects")
			lacks(t, out, "Certificate Object", "e2e cert", "Data object")
			// Only the device key, which is never deletable, stays listed.
			if out := pico(t, 0, nil, "files", "list"); out != "CC00\n" {
				t.Fatalf("files left after the deletes: %q", out)
			}
		}},
		// Our tool's pin commands through PC/SC, checked with OpenSC.
		{"pico-hsm-tool pin", func(t *testing.T) {
			if out := pico(t, 0, nil, "pin", "status"); out != "user PIN: 3 tries left\nSO-PIN:   15 tries left\n" {
				t.Fatalf("pin status = %q", out)
			}
			out := pico(t, 1, nil, "pin", "verify", "--pin", "000000")
			contains(t, out, "pico-hsm-tool: pin verify: ", "2 tries left")
			lacks(t, out, "000000")
			status(t, "15", "tries left  : 2")
			pico(t, 0, []byte("123456\n"), "pin", "verify", "--pin", "-")
			status(t, "15", "tries left  : 3")
			pico(t, 0, []byte("123456\n24681357\n"), "pin", "change", "--pin", "-", "--new-pin", "-")
			p11(t, 0, "--login", "--pin", "24681357", "--list-objects")
			for i := 0; i < 3; i++ {
				pico(t, 1, nil, "pin", "verify", "--pin", "000000")
			}
			contains(t, pico(t, 0, nil, "pin", "status"), "user PIN: blocked")
			contains(t, p11(t, 1, "--login", "--pin", "24681357", "--list-objects"), "CKR_PIN_LOCKED")
			pico(t, 0, []byte(e2eSO+"\n"), "pin", "unblock", "--so-pin", "-")
			p11(t, 0, "--login", "--pin", "24681357", "--list-objects")
			pico(t, 0, nil, "pin", "unblock", "--so-pin", e2eSO, "--new-pin", "648219")
			p11(t, 0, "--login", "--pin", "648219", "--list-objects")
			pico(t, 0, nil, "pin", "verify", "--so", "--pin", e2eSO)
			status(t, "15", "tries left  : 3")
		}},
		// Our tool's files commands, checked with pkcs15-tool/pkcs11-tool: a public data object
		// written as OpenSC would (content CF00 + DODF C900 copied from an OpenSC write).
		{"pico-hsm-tool files", func(t *testing.T) {
			p11(t, 0, "--login", "--pin", "648219", "--write-object", dataFile, "--type", "data", "--label", "pub")
			dodf := pico(t, 0, nil, "files", "read", "C900")
			dodfFile := filepath.Join(dir, "dodf.bin")
			if err := os.WriteFile(dodfFile, []byte(dodf), 0o600); err != nil {
				t.Fatal(err)
			}
			// Replace the content with the certificate's bytes through our tool.
			pico(t, 0, nil, "files", "write", "--pin", "648219", "CF00", filepath.Join(dir, "cert.der"))
			readBack := filepath.Join(dir, "pub.out")
			p11(t, 0, "--read-object", "--type", "data", "--label", "pub", "-o", readBack)
			if got, err := os.ReadFile(readBack); err != nil || !bytes.Equal(got, cert) {
				t.Fatalf("OpenSC reads %d bytes (%v), want the %d written by pico-hsm-tool", len(got), err, len(cert))
			}
			pico(t, 1, nil, "files", "delete", "CF00") // no PIN: 6982
			pico(t, 0, nil, "files", "delete", "--pin", "648219", "CF00")
			pico(t, 0, nil, "files", "delete", "--pin", "648219", "C900")
			contains(t, pico(t, 1, nil, "files", "read", "CF00"), "6A82")
			lacks(t, p11(t, 0, "--list-objects"), "pub")
			// Write it back through our tool: OpenSC sees the object again.
			pico(t, 0, nil, "files", "write", "--pin", "648219", "C900", dodfFile)
			pico(t, 0, nil, "files", "write", "--pin", "648219", "CF00", dataFile)
			p11(t, 0, "--read-object", "--type", "data", "--label", "pub", "-o", readBack)
			if got, err := os.ReadFile(readBack); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("OpenSC reads %d bytes (%v), want %d", len(got), err, len(data))
			}
		}},
		// Spec 2.9.3: a wrong SO-PIN costs a try and wipes nothing; sc-hsm-tool reports it
		// on stderr and still exits 0 (5.4).
		{"re-initialise with a wrong SO-PIN", func(t *testing.T) {
			out := scHSM(t, "--initialize", "--so-pin", "3030303030303030", "--pin", "111111")
			contains(t, out, "SC_CARDCTL_SC_HSM_INITIALIZE", "PIN code or key incorrect")
			status(t, "14", "tries left  : 3")
			if out := pico(t, 0, nil, "files", "list"); out != "CC00\nC900\nCF00\n" {
				t.Fatalf("files after a refused initialise: %q", out)
			}
			p11(t, 0, "--login", "--pin", "648219", "--list-objects")
		}},
		{"re-initialise with the SO-PIN wipes", func(t *testing.T) {
			scHSM(t, "--initialize", "--so-pin", e2eSO, "--pin", "111111")
			status(t, "15", "tries left  : 3")
			if out := pico(t, 0, nil, "files", "list"); out != "CC00\n" {
				t.Fatalf("files after initialise: %q", out)
			}
			p11(t, 0, "--login", "--pin", "111111", "--list-objects")
			contains(t, runExit(t, 0, nil, "pkcs15-tool", "-r", r, "-D"), "PKCS#15 Card [SmartCard-HSM]")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return // later steps depend on this one
		}
	}
}
