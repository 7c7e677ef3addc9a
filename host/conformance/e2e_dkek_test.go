package conformance

// End-to-end DKEK flows with OpenSC 0.23's own tools (spec 2.10, 2.14, 2.15, 4.2-4.5,
// 5.5-5.8): sc-hsm-tool creates and imports share files (also ones made by host/dkek),
// wraps and unwraps keys generated through pkcs11-tool, splits a share password n-of-m;
// pico-hsm-tool and host/dkek read and write the same files; the unwrapped and imported
// keys sign through opensc-pkcs11 and OpenSSL verifies with the original public keys.
// Gated like e2e_test.go (PICO_HSM_E2E=1), on the same reader.
//
// Each share-file key derivation is 10 million MD5 rounds (about 10-15 s in sc-hsm-tool,
// 3 s in Go): every share file is made once, host/dkek derives through one KDFCache in the
// background while sc-hsm-tool works, and the card is re-initialised rather than fed the
// same share twice by sc-hsm-tool.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/dkek"
)

const (
	e2eDKEKPwA = "share-A-pw" // sc-hsm-tool's share
	e2eDKEKPwB = "share-B-pw" // host/dkek's share
	e2eP12Pw   = "p12-secret"
)

// background runs a host/dkek derivation while the card tools work.
type background chan struct {
	b   []byte
	err error
}

func goDerive(f func() ([]byte, error)) background {
	c := make(background, 1)
	go func() {
		b, err := f()
		c <- struct {
			b   []byte
			err error
		}{b, err}
	}()
	return c
}

func (c background) wait(t *testing.T) []byte {
	t.Helper()
	r := <-c
	c <- r // later waits get the same answer
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.b
}

func kcvHex(k *dkek.DKEK) string {
	v := k.KCV()
	return hexOf(v[:])
}

var (
	reSharePrime = regexp.MustCompile(`Prime\s*:\s*([0-9A-Fa-f:]+)`)
	reShareID    = regexp.MustCompile(`Share ID\s*:\s*(\d+)`)
	reShareValue = regexp.MustCompile(`Share value\s*:\s*([0-9A-Fa-f:]+)`)
	reImportedID = regexp.MustCompile(`ID ([0-9A-F]+)\n`)
)

// pwdShare is one password share as sc-hsm-tool prints it.
type pwdShare struct{ id, value string }

func TestE2EDKEK(t *testing.T) {
	if os.Getenv("PICO_HSM_E2E") != "1" {
		t.Skip("end-to-end tests through pcscd and OpenSC run with PICO_HSM_E2E=1 (make test)")
	}
	started := time.Now()
	bin := emulatorPath(t)
	for _, tool := range []string{"sc-hsm-tool", "pkcs15-tool", "pkcs11-tool", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
	}
	if _, err := os.Stat(e2eModule); err != nil {
		t.Fatalf("PKCS#11 module: %v (install opensc-pkcs11)", err)
	}
	r := &keyRig{dir: t.TempDir(), reader: e2eReader}
	tool := buildTool(t, r.dir)
	ctx := context.Background()
	kdf := &dkek.KDFCache{}
	t.Cleanup(kdf.Clear)

	// Share B: made by host/dkek (random share and salt) while the card starts.
	shareB := make([]byte, dkek.Size)
	saltB := make([]byte, dkek.SaltSize)
	rand.Read(shareB)
	rand.Read(saltB)
	fileBJob := goDerive(func() ([]byte, error) {
		return dkek.CreateShareFile(ctx, kdf, shareB, saltB, []byte(e2eDKEKPwB))
	})

	startE2ECard(t, bin)

	rd := e2eReader
	scHSM := func(t *testing.T, want int, stdin []byte, args ...string) string {
		t.Helper()
		return runExit(t, want, stdin, "sc-hsm-tool", append([]string{"-r", rd}, args...)...)
	}
	pico := func(t *testing.T, want int, stdin []byte, args ...string) string {
		t.Helper()
		return runExit(t, want, stdin, tool, append(args, "--reader", rd)...)
	}
	objects := func(t *testing.T) string {
		t.Helper()
		return pico(t, 0, nil, "files", "list")
	}
	// initialise wipes the card (same SO-PIN) and configures one DKEK share.
	initialise := func(t *testing.T) {
		t.Helper()
		out := scHSM(t, 0, nil, "--initialize", "--so-pin", e2eSO, "--pin", e2eKeysPIN, "--dkek-shares", "1")
		lacks(t, out, "rror", "failed")
		contains(t, scHSM(t, 0, nil), "SO-PIN tries left    : 15", "DKEK shares          : 1",
			"DKEK import pending, 1 share(s) still missing")
		if got := objects(t); got != "CC00\n" {
			t.Fatalf("objects after initialise: %q", got)
		}
	}
	// dkekIs: sc-hsm-tool and pico-hsm-tool show a complete DKEK with this check value.
	dkekIs := func(t *testing.T, k *dkek.DKEK) {
		t.Helper()
		contains(t, scHSM(t, 0, nil), "DKEK shares          : 1\nDKEK key check value : "+kcvHex(k)+"\n")
		contains(t, pico(t, 0, nil, "dkek", "status"), "DKEK key check value : "+kcvHex(k)+"\n")
	}
	// checkWrapFile parses a wrapped-key file with host/dkek: blob made with k, PRKD and
	// CV request present, the key inside is the one whose public key k2 holds.
	checkWrapFile := func(t *testing.T, path string, k *dkek.DKEK, key *hsmKey) {
		t.Helper()
		w, err := dkek.ParseWrapFile(readFile(t, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if kcv := k.KCV(); !bytes.Equal(w.Blob[:dkek.KCVSize], kcv[:]) {
			t.Fatalf("%s: blob KCV %X, the DKEK's is %X", path, w.Blob[:dkek.KCVSize], kcv)
		}
		if len(w.PRKD) == 0 || (w.PRKD[0] != 0x30 && w.PRKD[0] != 0xA0) {
			t.Fatalf("%s: PRKD %X, want a private key description (30 or A0)", path, w.PRKD)
		}
		if len(w.Cert) < 2 || !(w.Cert[0] == 0x67 || (w.Cert[0] == 0x7F && w.Cert[1] == 0x21)) {
			t.Fatalf("%s: certificate part %X, want a CV request (67 or 7F21)", path, w.Cert)
		}
		b, err := k.Unwrap(w.Blob)
		if err != nil {
			t.Fatalf("%s: host/dkek unwrap: %v", path, err)
		}
		pub, err := x509.ParsePKIXPublicKey(key.spki)
		if err != nil {
			t.Fatal(err)
		}
		switch kk := b.Key.(type) {
		case *rsa.PrivateKey:
			if b.Type != dkek.TypeRSA || !kk.PublicKey.Equal(pub) {
				t.Fatalf("%s: blob type %02X holds another RSA key than %s", path, b.Type, key.name)
			}
		case *dkek.ECKey:
			ep, ok := pub.(*ecdsa.PublicKey)
			if !ok || b.Type != dkek.TypeEC || !bytes.Equal(kk.Q, elliptic.Marshal(ep.Curve, ep.X, ep.Y)) { //nolint:staticcheck
				t.Fatalf("%s: blob type %02X, Q %X is not %s's point", path, b.Type, kk.Q, key.name)
			}
		default:
			t.Fatalf("%s: blob with key %T", path, b.Key)
		}
		t.Logf("%s: %d-byte blob, type %02X, PRKD %d bytes, CV request %d bytes", filepath.Base(path), len(w.Blob), b.Type, len(w.PRKD), len(w.Cert))
	}
	// signs: the key with CKA_ID key.id (on the card now) signs, OpenSSL verifies with
	// key.pub (the original public key).
	msg := pattern(21, 500)
	signs := func(t *testing.T, key *hsmKey) {
		t.Helper()
		out := r.p11Login(t, "--list-objects", "--type", "privkey")
		kind := "RSA"
		if key.bits == 0 {
			kind = "EC"
		}
		contains(t, out, "Private Key Object; "+kind)
		contains(t, out, "ID:         "+key.id)
		if key.bits != 0 {
			r.verifyDgst(t, key, "sha256", msg, r.sign(t, key, "SHA256-RSA-PKCS", msg))
		} else {
			r.verifyDgst(t, key, "sha256", msg, r.sign(t, key, "ECDSA-SHA256", msg, "--signature-format", "openssl"))
		}
	}

	fileA := filepath.Join(r.dir, "A.pbe")
	fileB := filepath.Join(r.dir, "B.pbe")
	var shareAJob background
	var kA, kB *dkek.DKEK
	keys := []*hsmKey{
		{name: "RSA-2048 a1", id: "a1", bits: 2048}, // sc-hsm-tool wrap -> sc-hsm-tool unwrap
		{name: "P-256 a2", id: "a2", curve: cvc.CurveByName("secp256r1")},
		{name: "P-256 a3", id: "a3", curve: cvc.CurveByName("secp256r1")}, // pico-hsm-tool wrap -> sc-hsm-tool unwrap
		{name: "RSA-2048 a4", id: "a4", bits: 2048},                       // sc-hsm-tool wrap -> pico-hsm-tool unwrap
	}
	wrapped := map[string]string{} // key id -> wrapped-key file
	var objectsB string

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		// Spec 2.9, 2.10, 4.2, 5.5, 5.6.
		{"1 sc-hsm-tool create and import share", func(t *testing.T) {
			initialise(t)
			out := scHSM(t, 0, nil, "--create-dkek-share", fileA, "--password", e2eDKEKPwA)
			contains(t, out, "DKEK share created and saved to "+fileA)
			fa := readFile(t, fileA)
			if len(fa) != 64 || !bytes.HasPrefix(fa, []byte("Salted__")) {
				t.Fatalf("share file %X: want 64 bytes starting Salted__", fa)
			}
			// host/dkek opens sc-hsm-tool's file while sc-hsm-tool imports it.
			shareAJob = goDerive(func() ([]byte, error) {
				return dkek.OpenShareFile(ctx, kdf, fa, []byte(e2eDKEKPwA))
			})
			out = scHSM(t, 0, nil, "--import-dkek-share", fileA, "--password", e2eDKEKPwA)
			var err error
			if kA, err = dkek.FromShares(shareAJob.wait(t)); err != nil {
				t.Fatal(err)
			}
			contains(t, out, "DKEK share imported", "DKEK key check value : "+kcvHex(kA))
			dkekIs(t, kA)
			// Share B, made by host/dkek in the background.
			b := fileBJob.wait(t)
			if err := os.WriteFile(fileB, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if kB, err = dkek.FromShares(shareB); err != nil {
				t.Fatal(err)
			}
			if kcvHex(kA) == kcvHex(kB) {
				t.Fatal("two random shares with the same KCV")
			}
		}},
		// Spec 2.14, 4.4, 4.5, 5.7.
		{"2 keypairgen and sc-hsm-tool --wrap-key", func(t *testing.T) {
			for i, k := range keys {
				r.generate(t, k)
				if !strings.Contains(objects(t), fmt.Sprintf("CC%02X\n", i+1)) {
					t.Fatalf("key %s is not key reference %d: %q", k.name, i+1, objects(t))
				}
			}
			for i, k := range keys {
				f := r.out("wrap-" + k.id + ".bin")
				if k.id == "a3" {
					out := pico(t, 0, nil, "keys", "wrap", "--pin", e2eKeysPIN, "--id", fmt.Sprint(i+1), "-o", f)
					lacks(t, out, "rror")
				} else {
					out := scHSM(t, 0, nil, "--wrap-key", f, "--key-reference", fmt.Sprint(i+1), "--pin", e2eKeysPIN)
					lacks(t, out, "rror", "failed")
				}
				checkWrapFile(t, f, kA, k)
				wrapped[k.id] = f
			}
		}},
		// Spec 2.9.3, 2.10: the same SO-PIN re-initialises; the same share gives the same DKEK
		// (imported by pico-hsm-tool this time: sc-hsm-tool's import was shown in step 1).
		{"2 re-initialise and re-import share A", func(t *testing.T) {
			initialise(t)
			out := pico(t, 0, nil, "dkek", "import", "--password", e2eDKEKPwA, fileA)
			contains(t, out, "DKEK share imported", "DKEK key check value : "+kcvHex(kA))
			dkekIs(t, kA)
		}},
		// Spec 2.15, 5.8.
		{"2 sc-hsm-tool --unwrap-key and sign", func(t *testing.T) {
			out := scHSM(t, 0, nil, "--unwrap-key", wrapped["a1"], "--key-reference", "10", "--pin", e2eKeysPIN)
			contains(t, out, "Key blob", "Private Key Description (PRKD)", "Certificate", "Key successfully imported")
			out = scHSM(t, 0, nil, "--unwrap-key", wrapped["a2"], "--key-reference", "11", "--pin", e2eKeysPIN)
			contains(t, out, "Key successfully imported")
			before := objects(t)
			for _, f := range []string{"CC0A", "C40A", "CE0A", "CC0B", "C40B", "CE0B"} {
				contains(t, before, f+"\n")
			}
			// Occupied number: refused without --force (nothing changes), replaced with it.
			out = scHSM(t, 1, nil, "--unwrap-key", wrapped["a2"], "--key-reference", "11", "--pin", e2eKeysPIN)
			contains(t, out, "Found existing private key description in EF with fid c40b", "--force")
			if got := objects(t); got != before {
				t.Fatalf("objects after a refused unwrap %q, before %q", got, before)
			}
			out = scHSM(t, 0, nil, "--unwrap-key", wrapped["a2"], "--key-reference", "11", "--pin", e2eKeysPIN, "--force")
			contains(t, out, "Key successfully imported")
			if got := objects(t); got != before {
				t.Fatalf("objects after --force %q, before %q", got, before)
			}
			signs(t, keys[0])
			signs(t, keys[1])
		}},
		// Cross-tool: pico-hsm-tool's file into sc-hsm-tool, sc-hsm-tool's into pico-hsm-tool.
		{"4 cross-tool wrap and unwrap", func(t *testing.T) {
			out := scHSM(t, 0, nil, "--unwrap-key", wrapped["a3"], "--key-reference", "12", "--pin", e2eKeysPIN)
			contains(t, out, "Private Key Description (PRKD)", "Certificate", "Key successfully imported")
			out = pico(t, 0, nil, "keys", "unwrap", "--pin", e2eKeysPIN, "--id", "13", wrapped["a4"])
			contains(t, out, "key 13 unwrapped")
			objs := objects(t)
			for _, f := range []string{"CC0C", "C40C", "CE0C", "CC0D", "C40D", "CE0D"} {
				contains(t, objs, f+"\n")
			}
			signs(t, keys[2])
			signs(t, keys[3])
			// pkcs15-tool reads the public keys from the copied CV requests.
			for _, k := range keys[2:] {
				blk, _ := pem.Decode([]byte(r.must(t, "pkcs15-tool", "-r", rd, "--read-public-key", k.id)))
				if blk == nil || !bytes.Equal(blk.Bytes, k.spki) {
					t.Fatalf("pkcs15-tool --read-public-key %s: not the original key", k.id)
				}
			}
		}},
		// Share B (made by host/dkek) into sc-hsm-tool.
		{"1 sc-hsm-tool imports a host/dkek share", func(t *testing.T) {
			initialise(t)
			out := scHSM(t, 0, nil, "--import-dkek-share", fileB, "--password", e2eDKEKPwB)
			contains(t, out, "DKEK share imported", "DKEK key check value : "+kcvHex(kB))
			dkekIs(t, kB)
		}},
		// Spec 4.4 made on the host: PKCS#12 keys wrapped with the DKEK from share B.
		{"6 pico-hsm-tool keys import --pkcs12", func(t *testing.T) {
			for _, c := range []struct {
				name, id, kind string
				newkey         []string
				mech           string
				sigfmt         []string
			}{
				{"p12-rsa", "30", "rsa:2048", []string{"rsa:2048"}, "SHA256-RSA-PKCS", nil},
				{"p12-ec", "31", "ec:P-256", []string{"ec", "-pkeyopt", "ec_paramgen_curve:P-256"}, "ECDSA-SHA256",
					[]string{"--signature-format", "openssl"}},
			} {
				keyPEM, certPEM, p12 := r.out(c.name+".key"), r.out(c.name+".crt"), r.out(c.name+".p12")
				r.must(t, "openssl", append(append([]string{"req", "-x509", "-newkey"}, c.newkey...),
					"-nodes", "-keyout", keyPEM, "-subj", "/CN="+c.name, "-days", "30", "-out", certPEM)...)
				r.must(t, "openssl", "pkcs12", "-export", "-inkey", keyPEM, "-in", certPEM, "-out", p12,
					"-passout", "pass:"+e2eP12Pw, "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1")
				before := objects(t)
				// Wrong PKCS#12 password, wrong DKEK: one error line, nothing on the card.
				out := pico(t, 1, nil, "keys", "import", "--pin", e2eKeysPIN, "--id", c.id, "--pkcs12", p12,
					"--pkcs12-password", "wrong", "--share", fileB, "--dkek-share-password", e2eDKEKPwB)
				if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 ||
					!strings.HasPrefix(out, "pico-hsm-tool: keys import: ") || !strings.Contains(out, "password") {
					t.Fatalf("wrong PKCS#12 password: %q", out)
				}
				t.Logf("wrong PKCS#12 password: %s", strings.TrimSpace(out))
				if c.id == "30" { // one wrong-DKEK run is enough (3 s of key derivation)
					out = pico(t, 1, nil, "keys", "import", "--pin", e2eKeysPIN, "--id", c.id, "--pkcs12", p12,
						"--pkcs12-password", e2eP12Pw, "--share", fileA, "--dkek-share-password", e2eDKEKPwA)
					if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 ||
						!strings.Contains(out, "check value "+kcvHex(kA)) || !strings.Contains(out, kcvHex(kB)) {
						t.Fatalf("wrong DKEK: %q", out)
					}
					t.Logf("wrong DKEK: %s", strings.TrimSpace(out))
				}
				if got := objects(t); got != before {
					t.Fatalf("objects after failed imports %q, before %q", got, before)
				}
				out = pico(t, 0, nil, "keys", "import", "--pin", e2eKeysPIN, "--id", c.id, "--pkcs12", p12,
					"--pkcs12-password", e2eP12Pw, "--share", fileB, "--dkek-share-password", e2eDKEKPwB)
				contains(t, out, "key "+c.id+" imported: "+c.kind+", label \""+c.name+"\"")
				m := reImportedID.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no ID in %q", out)
				}
				id := strings.ToLower(m[1])
				// The certificate's public key verifies the card's signature.
				pubPEM := r.file(t, c.name+".pub", []byte(r.must(t, "openssl", "x509", "-in", certPEM, "-pubkey", "-noout")))
				k := &hsmKey{name: c.name, id: id, pub: pubPEM}
				r.verifyDgst(t, k, "sha256", msg, r.sign(t, k, c.mech, msg, c.sigfmt...))
				// OpenSC shows the certificate (CE<id>) and reads it back unchanged.
				contains(t, r.must(t, "pkcs15-tool", "-r", rd, "-D"), "X.509 Certificate ["+c.name+"]", "ID             : "+id)
				got, _ := pem.Decode([]byte(r.must(t, "pkcs15-tool", "-r", rd, "--read-certificate", id)))
				want, _ := pem.Decode(readFile(t, certPEM))
				if got == nil || want == nil || !bytes.Equal(got.Bytes, want.Bytes) {
					t.Fatalf("pkcs15-tool --read-certificate %s differs from the PKCS#12 certificate", id)
				}
			}
			objectsB = objects(t)
		}},
		// Spec 2.15: a blob of another DKEK; the card answers 6A80, nothing changes.
		{"3 unwrap with a different DKEK", func(t *testing.T) {
			out, code := r.run(t, []string{"OPENSC_DEBUG=9"}, "sc-hsm-tool", "-r", rd, "--unwrap-key", wrapped["a1"],
				"--key-reference", "20", "--pin", e2eKeysPIN)
			if code == 0 {
				t.Fatalf("sc-hsm-tool --unwrap-key under another DKEK succeeded:\n%s", out)
			}
			contains(t, out, "Wrapped key does not match DKEK", "80 74 14 93", "Incoming APDU (2 bytes):\n6A 80")
			out = pico(t, 1, nil, "keys", "unwrap", "--pin", e2eKeysPIN, "--id", "20", wrapped["a2"])
			contains(t, out, "does not match the card's DKEK")
			t.Logf("pico-hsm-tool keys unwrap: %s", strings.TrimSpace(out))
			if got := objects(t); got != objectsB {
				t.Fatalf("objects after refused unwraps %q, before %q", got, objectsB)
			}
		}},
		// Spec 4.3: n-of-m password shares, sc-hsm-tool's both ways and pico-hsm-tool's import.
		{"5 password shares", func(t *testing.T) {
			var (
				fileS  string
				prime  string
				shares []pwdShare
				pw     []byte
			)
			// 1 in 128 passwords start with 00 and cannot be rebuilt by sc-hsm-tool (spec 4.3).
			for try := 0; try < 3 && len(pw) != dkek.PasswordSize; try++ {
				fileS = r.out("S.pbe")
				out := scHSM(t, 0, nil, "--create-dkek-share", fileS, "--pwd-shares-threshold", "2", "--pwd-shares-total", "3")
				contains(t, out, "(2-of-3) threshold scheme", "DKEK share created and saved to "+fileS)
				primes := reSharePrime.FindAllStringSubmatch(out, -1)
				ids := reShareID.FindAllStringSubmatch(out, -1)
				vals := reShareValue.FindAllStringSubmatch(out, -1)
				if len(primes) != 3 || len(ids) != 3 || len(vals) != 3 {
					t.Fatalf("want 3 shares in:\n%s", out)
				}
				prime, shares = primes[0][1], nil
				for i := range ids {
					if primes[i][1] != prime || ids[i][1] != fmt.Sprint(i+1) {
						t.Fatalf("share %d: prime %s ID %s", i+1, primes[i][1], ids[i][1])
					}
					shares = append(shares, pwdShare{ids[i][1], vals[i][1]})
				}
				pw = combine(t, prime, shares[0], shares[2])
				// Any two shares give the same password.
				if p2 := combine(t, prime, shares[1], shares[0]); !bytes.Equal(p2, pw) {
					t.Fatalf("shares 1+3 give %X, 2+1 give %X", pw, p2)
				}
				if len(pw) != dkek.PasswordSize {
					t.Logf("password of %d bytes (leading zero byte): creating another share", len(pw))
				}
			}
			fs := readFile(t, fileS)
			shareSJob := goDerive(func() ([]byte, error) { return dkek.OpenShareFile(ctx, kdf, fs, pw) })

			initialise(t)
			in := fmt.Sprintf("%s\n\n%s\n%s\n\n%s\n%s\n", prime, shares[0].id, shares[0].value, shares[2].id, shares[2].value)
			out := scHSM(t, 0, []byte(in), "--import-dkek-share", fileS, "--pwd-shares-total", "2")
			kS, err := dkek.FromShares(shareSJob.wait(t))
			if err != nil {
				t.Fatal(err)
			}
			contains(t, out, "requires 2 key custodians", "DKEK share imported", "DKEK key check value : "+kcvHex(kS))
			dkekIs(t, kS)

			initialise(t)
			in = fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", prime, shares[1].id, shares[1].value, shares[2].id, shares[2].value)
			out = pico(t, 0, []byte(in), "dkek", "import", "--pwd-shares", "2", fileS)
			contains(t, out, "DKEK share imported", "DKEK key check value : "+kcvHex(kS))
			dkekIs(t, kS)
		}},
	}
	for _, s := range steps {
		began := time.Now()
		ok := t.Run(s.name, s.run)
		t.Logf("%s: %v", s.name, time.Since(began).Round(time.Millisecond))
		if !ok {
			return // later steps depend on this one
		}
	}
	t.Logf("TestE2EDKEK: %v", time.Since(started).Round(time.Millisecond))
}

// combine rebuilds a share password from two of sc-hsm-tool's printed shares with host/dkek.
func combine(t *testing.T, prime string, a, b pwdShare) []byte {
	t.Helper()
	p, err := dkek.ParseColonHex(prime)
	if err != nil {
		t.Fatal(err)
	}
	var ps []dkek.PasswordShare
	for _, s := range []pwdShare{a, b} {
		id, err := dkek.ParseShareID(s.id)
		if err != nil {
			t.Fatal(err)
		}
		v, err := dkek.ParseColonHex(s.value)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, dkek.PasswordShare{ID: id, Value: v})
	}
	pw, err := dkek.CombinePassword(p, ps)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}
