package conformance

// Files (spec 3.1, 3.3) through the vpcd harness: UPDATE BINARY as create and chunked write
// (2.3), READ BINARY (2.2), DELETE FILE (2.4), ENUMERATE OBJECTS (2.5), protected data, size
// limits; then persistence across a restart and a scan of the raw flash file.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

// Largest file contents (spec 2.3; the store's object limit, less the sealing overhead for
// protected data, which is encrypted at rest).
const (
	maxPublicFile    = 3800
	maxProtectedFile = 3771
)

// initCard selects the applet, initialises with the PINs of section 5.4 and leaves the user
// PIN verified.
func initCard(t *testing.T, cl *hsm.Client) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3}
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	login(t, cl)
}

// login selects the applet (a fresh session) and verifies the user PIN.
func login(t *testing.T, cl *hsm.Client) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
}

// certificate returns a self-signed X.509 certificate padded with an extension to n bytes
// (roughly: at least n - 16).
func certificate(t *testing.T, n int) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pico-hsm conformance"},
		NotBefore:    time.Unix(1700000000, 0),
		NotAfter:     time.Unix(1900000000, 0),
	}
	base, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if pad := n - len(base) - 16; pad > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 99999, 1}, Value: pattern(9, pad)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestFiles(t *testing.T) {
	c := startCard(t)
	cl := client(c)
	ctx := testCtx(t)
	initCard(t, cl)
	cert := certificate(t, 3000)
	if len(cert) < 2430 || len(cert) > maxPublicFile {
		t.Fatalf("certificate of %d bytes, want 3 chunks", len(cert))
	}
	public := pattern(1, 300)
	secret := []byte("protected data: the quick brown fox jumps over the lazy dog")

	t.Run("write and read back", func(t *testing.T) {
		for _, f := range []struct {
			fid  uint16
			data []byte
		}{
			{0xCA01, cert}, {0xCF01, public}, {0xCD01, secret}, {0xC901, pattern(2, 40)},
			{0xCE01, pattern(3, 1215)}, {0xC801, pattern(4, 1216)}, {0xC401, nil},
		} {
			if err := cl.WriteFile(ctx, f.fid, f.data); err != nil {
				t.Fatalf("write %04X: %v", f.fid, err)
			}
			got, err := cl.ReadFile(ctx, f.fid)
			if err != nil || !bytes.Equal(got, f.data) {
				t.Fatalf("read %04X: %d bytes (%v), want %d", f.fid, len(got), err, len(f.data))
			}
		}
		// Spec 1.3.2: SELECT of the EF reports the size.
		fcp := expectSW(t, c, mustHex("00 A4 00 00 02 CA 01 00"), 0x9000)
		if want := []byte{0x81, 0x02, byte(len(cert) >> 8), byte(len(cert))}; !bytes.Contains(fcp, want) {
			t.Errorf("FCP of CA01 %X lacks size %X", fcp, want)
		}
		if _, err := x509.ParseCertificate(mustRead(t, cl, 0xCA01)); err != nil {
			t.Errorf("certificate read back does not parse: %v", err)
		}
	})

	// Spec 2.5: the device key CC00 first, then every key and EF ascending; internal objects
	// and 2Fxx never.
	t.Run("enumerate", func(t *testing.T) {
		ids, err := cl.ListObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []uint16{0xCC00, 0xC401, 0xC801, 0xC901, 0xCA01, 0xCD01, 0xCE01, 0xCF01}
		if !slices.Equal(ids, want) {
			t.Fatalf("ENUMERATE = %s, want %s", fidList(ids), fidList(want))
		}
	})

	// Spec 2.2, 2.3, 3.3 as status words; each table row leaves the card usable.
	t.Run("status words", func(t *testing.T) {
		tests := []struct {
			name  string
			login bool // verify the user PIN first (after a SELECT)
			steps []step
		}{
			{"public data without PIN", false, []step{{name: "read CF01", apdu: readAPDU(0xCF01, 0, 1024), sw: 0x9000, check: dataIs(public)}}},
			{"protected data needs the PIN", false, seq(
				one("read CD01", readAPDU(0xCD01, 0, 1024), 0x6982),
				[]step{{name: "select CD01 is allowed", apdu: mustHex("00 A4 00 0C 02 CD 01"), sw: 0x9000}},
				one("read current EF", mustHex("00 B1 00 00 00 00 04 54 02 00 00 04 00"), 0x6982),
				one("verify", verifyAPDU(u, userPIN), 0x9000),
				[]step{{name: "read CD01", apdu: readAPDU(0xCD01, 0, 1024), sw: 0x9000, check: dataIs(secret)}},
				[]step{{name: "read CD01 at 10", apdu: readAPDU(0xCD01, 10, 5), sw: 0x9000, check: dataIs(secret[10:15])}},
				one("wrong PIN", verifyAPDU(u, wrongPIN), tries(2)),
				one("read CD01 again", readAPDU(0xCD01, 0, 1024), 0x6982),
			)},
			{"writes and deletes need the PIN", false, seq(
				one("create", updateAPDU(0xCF02, 0, nil), 0x6982),
				one("overwrite", updateAPDU(0xCF01, 0, []byte{1}), 0x6982),
				one("delete", deleteAPDU(0xCF01), 0x6982),
				[]step{{name: "unchanged", apdu: readAPDU(0xCF01, 0, 1024), sw: 0x9000, check: dataIs(public)}},
			)},
			{"read offsets", false, seq(
				[]step{{name: "middle", apdu: readAPDU(0xCF01, 100, 10), sw: 0x9000, check: dataIs(public[100:110])}},
				[]step{{name: "tail", apdu: readAPDU(0xCF01, 290, 256), sw: 0x9000, check: dataIs(public[290:])}},
				one("at the end: nothing", readAPDU(0xCF01, 300, 256), 0x9000),
				one("beyond the end", readAPDU(0xCF01, 301, 256), 0x6B00),
			)},
			{"missing and forbidden files", true, seq(
				one("read missing", readAPDU(0xCF07, 0, 256), 0x6A82),
				one("delete missing", deleteAPDU(0xCF07), 0x6A82),
				one("write a key", updateAPDU(0xCC01, 0, []byte{1}), 0x6982),
				// 2F02 takes only a whole chain for this device (ext. spec 5.3; trust_test.go).
				one("write 2F02", updateAPDU(0x2F02, 0, []byte{1}), 0x6A80),
				one("write into 2F02", updateAPDU(0x2F02, 1, []byte{1}), 0x6B00),
				one("delete 2F02", deleteAPDU(0x2F02), 0x6982),
				one("write an unknown prefix", updateAPDU(0x0101, 0, []byte{1}), 0x6A86),
				one("write an internal id", updateAPDU(0x1000, 0, []byte{1}), 0x6A86),
				one("write beyond the end", updateAPDU(0xCF01, 301, []byte{1}), 0x6B00),
				[]step{{name: "unchanged", apdu: readAPDU(0xCF01, 0, 1024), sw: 0x9000, check: dataIs(public)}},
			)},
			{"offset writes", true, seq(
				one("create", updateAPDU(0xCF03, 0, []byte("abcdef")), 0x9000),
				one("inside", updateAPDU(0xCF03, 2, []byte("XY")), 0x9000),
				one("append", updateAPDU(0xCF03, 6, []byte("gh")), 0x9000),
				one("across the end", updateAPDU(0xCF03, 7, []byte("HIJ")), 0x9000),
				[]step{{name: "result", apdu: readAPDU(0xCF03, 0, 256), sw: 0x9000, check: dataIs([]byte("abXYefgHIJ"))}},
				one("offset 0 replaces", updateAPDU(0xCF03, 0, []byte("z")), 0x9000),
				[]step{{name: "replaced", apdu: readAPDU(0xCF03, 0, 256), sw: 0x9000, check: dataIs([]byte("z"))}},
				one("current EF", cmd(mustHex("00 D7 00 00"), lc(cmd(mustHex("54 02 00 01 53 01"), []byte("y")))), 0x9000),
				[]step{{name: "written", apdu: readAPDU(0xCF03, 0, 256), sw: 0x9000, check: dataIs([]byte("zy"))}},
				one("select CF03", mustHex("00 A4 00 0C 02 CF 03"), 0x9000),
				one("delete the current EF", mustHex("00 E4 02 00"), 0x9000),
				one("gone", readAPDU(0xCF03, 0, 256), 0x6A82),
				one("no current EF left", mustHex("00 E4 02 00"), 0x6A82),
			)},
			{"size limits", true, seq(
				one("public too big", updateAPDU(0xCF04, 0, make([]byte, maxPublicFile+1)), 0x6A84),
				one("public too big by offset", updateAPDU(0xCF01, 300, make([]byte, maxPublicFile-299)), 0x6A84),
				one("protected too big", updateAPDU(0xCD04, 0, make([]byte, maxProtectedFile+1)), 0x6A84),
				one("not created", readAPDU(0xCF04, 0, 256), 0x6A82),
				one("not created either", readAPDU(0xCD04, 0, 256), 0x6A82),
				one("public at the limit", updateAPDU(0xCF04, 0, pattern(5, maxPublicFile)), 0x9000),
				one("protected at the limit", updateAPDU(0xCD04, 0, pattern(6, maxProtectedFile)), 0x9000),
				[]step{{name: "public read", apdu: readAPDU(0xCF04, 0, 4096), sw: 0x9000, check: dataIs(pattern(5, maxPublicFile))}},
				[]step{{name: "protected read", apdu: readAPDU(0xCD04, 0, 4096), sw: 0x9000, check: dataIs(pattern(6, maxProtectedFile))}},
				one("delete", deleteAPDU(0xCF04), 0x9000),
				one("delete", deleteAPDU(0xCD04), 0x9000),
			)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				selectApplet(t, c)
				if tc.login {
					expectSW(t, c, verifyAPDU(u, userPIN), 0x9000)
				}
				runSteps(t, c, tc.steps)
				stillWorks(t, c)
			})
		}
	})

	t.Run("too big through WriteFile", func(t *testing.T) {
		login(t, cl)
		err := cl.WriteFile(ctx, 0xCF05, pattern(7, maxPublicFile+1))
		if !errors.Is(err, apdu.ErrNotEnoughMemory) {
			t.Fatalf("WriteFile of %d bytes: %v, want 6A84", maxPublicFile+1, err)
		}
		// The chunks before the refused one were written (they are separate commands).
		got := mustRead(t, cl, 0xCF05)
		if !bytes.Equal(got, pattern(7, 3*hsm.WriteChunk)) {
			t.Errorf("CF05 holds %d bytes, want the first three chunks", len(got))
		}
		if err := cl.DeleteFile(ctx, 0xCF05); err != nil {
			t.Fatal(err)
		}
		stillWorks(t, c)
	})

	t.Run("delete", func(t *testing.T) {
		login(t, cl)
		for _, fid := range []uint16{0xCF01, 0xCD01, 0xC401} {
			if err := cl.DeleteFile(ctx, fid); err != nil {
				t.Fatalf("delete %04X: %v", fid, err)
			}
			if _, err := cl.ReadFile(ctx, fid); !errors.Is(err, apdu.ErrFileNotFound) {
				t.Fatalf("read %04X after delete: %v, want 6A82", fid, err)
			}
			if err := cl.DeleteFile(ctx, fid); !errors.Is(err, apdu.ErrFileNotFound) {
				t.Fatalf("second delete %04X: %v, want 6A82", fid, err)
			}
			expectSW(t, c, cmd(mustHex("00 A4 00 00 02"), []byte{byte(fid >> 8), byte(fid)}, []byte{0}), 0x6A82)
		}
		ids, err := cl.ListObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []uint16{0xCC00, 0xC801, 0xC901, 0xCA01, 0xCE01}; !slices.Equal(ids, want) {
			t.Fatalf("ENUMERATE = %s, want %s", fidList(ids), fidList(want))
		}
		// Recreated after a delete: empty, then written.
		if err := cl.WriteFile(ctx, 0xCF01, []byte("again")); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, cl, 0xCF01); string(got) != "again" {
			t.Fatalf("CF01 = %q", got)
		}
		stillWorks(t, c)
	})
}

func mustRead(t *testing.T, cl *hsm.Client, fid uint16) []byte {
	t.Helper()
	b, err := cl.ReadFile(testCtx(t), fid)
	if err != nil {
		t.Fatalf("read %04X: %v", fid, err)
	}
	return b
}

// restart stops the emulator (SIGTERM) and starts a new one on the same flash file.
func restart(t *testing.T, c *emu.Card, flash string) *emu.Card {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("stop emulator: %v\n%s", err, c.Proc.Output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	n, err := startOn(ctx, emulatorPath(t), flash)
	if err != nil {
		t.Fatalf("restart emulator: %v", err)
	}
	return n
}

// State survives a restart on the same flash file (power cycle): PINs, retry counters,
// options, files, and protected data (which the new process can only decrypt with the PIN).
// Then the raw flash file is scanned: no PIN and no protected plaintext, while public data is
// found (which proves the scan can see stored bytes).
func TestPersistenceAndFlashScan(t *testing.T) {
	bin := emulatorPath(t)
	flash := newFlash(t)
	ctx0, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := startOn(ctx0, bin, flash)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	cl := client(c)
	ctx := testCtx(t)

	// A long, distinctive user PIN and SO-PIN make accidental matches impossible.
	pin := []byte("Pico#4711-Zz9")
	so := mustHex("A1B2C3D4E5F60718")
	secret := []byte("TOP SECRET protected data object, never on flash in plaintext: 0123456789")
	public := []byte("public data object, stored as it is: ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Initialize(ctx, hsm.InitParams{Options: 0x0001, UserPIN: pin, SOPIN: so, Retries: 5}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, pin); err != nil {
		t.Fatal(err)
	}
	for fid, data := range map[uint16][]byte{0xCD01: secret, 0xCF01: public, 0xCA00: certificate(t, 1500)} {
		if err := cl.WriteFile(ctx, fid, data); err != nil {
			t.Fatal(err)
		}
	}
	// Overwrites and a PIN change leave older records behind: none may hold a secret either.
	if err := cl.WriteFile(ctx, 0xCD01, append([]byte("v1 "), secret...)); err != nil {
		t.Fatal(err)
	}
	if err := cl.WriteFile(ctx, 0xCD01, secret); err != nil {
		t.Fatal(err)
	}
	if err := cl.ChangePIN(ctx, hsm.UserPIN, pin, pin); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, wrongPIN); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	if err := cl.Verify(ctx, hsm.SOPIN, wrongSO); err == nil {
		t.Fatal("wrong SO-PIN accepted")
	}

	for round := 1; round <= 2; round++ {
		c = restart(t, c, flash)
		cl = client(c)
		if _, err := cl.SelectApplet(ctx); err != nil {
			t.Fatal(err)
		}
		// Counters as left: 5 - 1 (user) and 15 - 1 (SO); after round 1 the user's is reset.
		wantUser := 4
		if round == 2 {
			wantUser = 5
		}
		if st, err := cl.PINStatus(ctx, hsm.UserPIN); err != nil || st != (hsm.PINStatus{TriesLeft: wantUser}) {
			t.Fatalf("round %d: user status %v (%v), want %d tries", round, st, err, wantUser)
		}
		if st, err := cl.PINStatus(ctx, hsm.SOPIN); err != nil || st != (hsm.PINStatus{TriesLeft: 14}) {
			t.Fatalf("round %d: SO status %v (%v), want 14 tries", round, st, err)
		}
		if _, err := cl.ReadFile(ctx, 0xCD01); !errors.Is(err, apdu.ErrSecurityStatus) {
			t.Fatalf("round %d: protected data without PIN: %v", round, err)
		}
		if got := mustRead(t, cl, 0xCF01); !bytes.Equal(got, public) {
			t.Fatalf("round %d: CF01 = %q", round, got)
		}
		if err := cl.Verify(ctx, hsm.UserPIN, pin); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := mustRead(t, cl, 0xCD01); !bytes.Equal(got, secret) {
			t.Fatalf("round %d: CD01 = %q", round, got)
		}
		ids, err := cl.ListObjects(ctx)
		if want := []uint16{0xCC00, 0xCA00, 0xCD01, 0xCF01}; err != nil || !slices.Equal(ids, want) {
			t.Fatalf("round %d: ENUMERATE = %s (%v), want %s", round, fidList(ids), err, fidList(want))
		}
		// Options survive too: the FCP still says 0001.
		info, err := cl.SelectApplet(ctx)
		if err != nil || info.Options != 0x0001 {
			t.Fatalf("round %d: options %04X (%v)", round, info.Options, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(flash)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flash file: %d bytes", len(raw))
	if !bytes.Contains(raw, public) {
		t.Fatalf("the public data object is not in the flash file: the scan cannot see stored data")
	}
	for _, leak := range []struct {
		what string
		b    []byte
	}{
		{"user PIN", pin},
		{"user PIN (hex text)", []byte(hexOf(pin))},
		{"SO-PIN", so},
		{"SO-PIN (hex text)", []byte(hexOf(so))},
		{"protected data", secret},
		{"protected data (first 16 bytes)", secret[:16]},
		{"protected data (last 16 bytes)", secret[len(secret)-16:]},
	} {
		if i := bytes.Index(raw, leak.b); i >= 0 {
			t.Errorf("%s found in the flash file at offset %#x", leak.what, i)
		}
	}
}
