package conformance

// End-to-end key operations through OpenSC 0.23's PKCS#11 module, checked with OpenSSL
// (spec 2.11-2.13, 3.2, 3.4, 5.9-5.13): pkcs11-tool generates every RSA size OpenSC offers
// (3.2) and every curve of 3.7.3 the card supports, signs with every mechanism pkcs11-tool
// lists for the key type, decrypts what OpenSSL encrypted and derives ECDH secrets; OpenSSL
// verifies each result with the public key OpenSC exports. Then OpenSSL makes self-signed
// certificates with card keys through the libp11 engine, and ssh-keygen lists the keys.
// Gated like e2e_test.go (PICO_HSM_E2E=1), on the same reader. One key per size and curve,
// shared by the subtests: the whole test takes well under a minute on the emulator.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "crypto/sha1" // crypto.Hash.New for e2eDigests
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/pico-hsm/pico-hsm/host/cvc"
)

const (
	e2eKeysPIN = "648219"
	// libp11's OpenSSL 3 engine (Debian libengine-pkcs11-openssl). Debian 12 has no
	// pkcs11-provider, so the engine interface is what OpenSSL can use there.
	e2eEngine = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
	// The card label given at initialisation; OpenSC's token label is "<label> (UserPIN)".
	e2eKeysLabel = "PicoHSM-keys"
)

// Spec 3.2: the RSA sizes OpenSC offers (all within the card's 1024..4096).
var e2eRSABits = []int{1024, 1536, 2048, 3072, 4096}

// Spec 3.7.3: the curves both OpenSC 0.23 and the card support (cvc and pkcs11-tool names),
// with OpenSSL's name where genpkey wants another, and OpenSSH's key type for the NIST ones.
var e2eCurves = []struct{ name, ossl, ssh string }{
	{"secp192r1", "prime192v1", ""},
	{"secp256r1", "prime256v1", "ecdsa-sha2-nistp256"},
	{"secp384r1", "", "ecdsa-sha2-nistp384"},
	{"secp521r1", "", "ecdsa-sha2-nistp521"},
	{"brainpoolP256r1", "", ""},
	{"brainpoolP384r1", "", ""},
	{"brainpoolP512r1", "", ""},
	{"secp192k1", "", ""},
	{"secp256k1", "", ""},
}

// e2eDigest names one hash in each tool's spelling.
type e2eDigest struct {
	p11, mgf, ossl string // pkcs11-tool --hash-algorithm and --mgf, openssl digest name
	mechPrefix     string // SHA256 in SHA256-RSA-PKCS, ECDSA-SHA256
	h              crypto.Hash
}

var e2eDigests = []e2eDigest{
	{"SHA-1", "MGF1-SHA1", "sha1", "SHA1", crypto.SHA1},
	{"SHA224", "MGF1-SHA224", "sha224", "SHA224", crypto.SHA224},
	{"SHA256", "MGF1-SHA256", "sha256", "SHA256", crypto.SHA256},
	{"SHA384", "MGF1-SHA384", "sha384", "SHA384", crypto.SHA384},
	{"SHA512", "MGF1-SHA512", "sha512", "SHA512", crypto.SHA512},
}

// Spec 2.12.3: the DigestInfo prefix of SHA-256.
const e2eDigestInfoSHA256 = "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"

func hashOf(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// hsmKey is one key generated on the card through pkcs11-tool.
type hsmKey struct {
	name  string // subtest name and PKCS#11 label
	id    string // CKA_ID, hex
	bits  int    // RSA modulus bits, 0 for EC
	curve *cvc.Curve
	ossl  string // OpenSSL's curve name
	ssh   string // the OpenSSH key type ("ssh-rsa", "ecdsa-sha2-nistp256"), "" if none
	spki  []byte // DER SubjectPublicKeyInfo as exported by OpenSC
	pub   string // the same, PEM file
}

// keyRig runs the tools against the card of one test.
type keyRig struct {
	dir    string
	reader string
	n      int // files written so far, for unique names
}

// run runs a command with extra environment and returns its output and exit status. Only
// a failure to run it at all (or a timeout) fails the test.
func (r *keyRig) run(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return string(out), ee.ExitCode()
	}
	t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	return "", 0
}

// must runs a command that has to succeed.
func (r *keyRig) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, code := r.run(t, nil, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

func (r *keyRig) p11Args(args ...string) []string {
	return append([]string{"--module", e2eModule, "--slot-description", r.reader}, args...)
}

// p11 runs pkcs11-tool on the card and requires success.
func (r *keyRig) p11(t *testing.T, args ...string) string {
	t.Helper()
	return r.must(t, "pkcs11-tool", r.p11Args(args...)...)
}

// p11Login is p11 with --login --pin.
func (r *keyRig) p11Login(t *testing.T, args ...string) string {
	t.Helper()
	return r.p11(t, append([]string{"--login", "--pin", e2eKeysPIN}, args...)...)
}

// file writes b to a fresh file and returns its path.
func (r *keyRig) file(t *testing.T, what string, b []byte) string {
	t.Helper()
	r.n++
	p := filepath.Join(r.dir, fmt.Sprintf("%03d-%s", r.n, what))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// out returns a fresh path for a tool's output file.
func (r *keyRig) out(what string) string {
	r.n++
	return filepath.Join(r.dir, fmt.Sprintf("%03d-%s", r.n, what))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyDgst checks a signature over msg with `openssl dgst -<md> -verify`.
func (r *keyRig) verifyDgst(t *testing.T, k *hsmKey, md string, msg, sig []byte, sigopts ...string) {
	t.Helper()
	args := []string{"dgst", "-" + md, "-verify", k.pub, "-signature", r.file(t, "sig", sig)}
	for _, o := range sigopts {
		args = append(args, "-sigopt", o)
	}
	contains(t, r.must(t, "openssl", append(args, r.file(t, "msg", msg))...), "Verified OK")
}

// verifyPkey checks a signature over an already hashed input with `openssl pkeyutl -verify`.
// It returns whether OpenSSL accepted it.
func (r *keyRig) verifyPkey(t *testing.T, k *hsmKey, in, sig []byte, pkeyopts ...string) bool {
	t.Helper()
	args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", k.pub, "-in", r.file(t, "in", in),
		"-sigfile", r.file(t, "sig", sig)}
	for _, o := range pkeyopts {
		args = append(args, "-pkeyopt", o)
	}
	out, code := r.run(t, nil, "openssl", args...)
	return code == 0 && strings.Contains(out, "Signature Verified Successfully")
}

// recoverRSA returns sig^e mod n with the given padding check (`openssl pkeyutl -verifyrecover`).
func (r *keyRig) recoverRSA(t *testing.T, k *hsmKey, sig []byte, padding string) []byte {
	t.Helper()
	o := r.out("recovered")
	r.must(t, "openssl", "pkeyutl", "-verifyrecover", "-pubin", "-inkey", k.pub, "-in", r.file(t, "sig", sig),
		"-pkeyopt", "rsa_padding_mode:"+padding, "-out", o)
	return readFile(t, o)
}

// sign has the card sign in with pkcs11-tool and returns the signature.
func (r *keyRig) sign(t *testing.T, k *hsmKey, mech string, in []byte, extra ...string) []byte {
	t.Helper()
	o := r.out("sig")
	args := append([]string{"--sign", "--id", k.id, "-m", mech, "-i", r.file(t, "tbs", in), "-o", o}, extra...)
	r.p11Login(t, args...)
	return readFile(t, o)
}

func TestE2EKeys(t *testing.T) {
	if os.Getenv("PICO_HSM_E2E") != "1" {
		t.Skip("end-to-end tests through pcscd and OpenSC run with PICO_HSM_E2E=1 (make test)")
	}
	started := time.Now()
	bin := emulatorPath(t)
	for _, tool := range []string{"sc-hsm-tool", "pkcs15-tool", "pkcs11-tool", "openssl", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (scripts/deps installs it): %v", tool, err)
		}
	}
	for _, f := range []string{e2eModule, e2eEngine} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v (scripts/deps installs opensc-pkcs11 and libengine-pkcs11-openssl)", err)
		}
	}
	startE2ECard(t, bin)

	r := &keyRig{dir: t.TempDir(), reader: e2eReader}
	r.must(t, "sc-hsm-tool", "-r", r.reader, "--initialize", "--so-pin", e2eSO, "--pin", e2eKeysPIN, "--label", e2eKeysLabel)
	msg := pattern(7, 300)

	var keys []*hsmKey
	for _, bits := range e2eRSABits {
		keys = append(keys, &hsmKey{name: fmt.Sprintf("RSA-%d", bits), id: strconv.Itoa(bits), bits: bits, ssh: "ssh-rsa"})
	}
	for i, c := range e2eCurves {
		curve := cvc.CurveByName(c.name)
		if curve == nil {
			t.Fatalf("curve %s not in the cvc table", c.name)
		}
		k := &hsmKey{name: c.name, id: fmt.Sprintf("ec%02x", i+1), curve: curve, ossl: c.ossl, ssh: c.ssh}
		if k.ossl == "" {
			k.ossl = c.name
		}
		keys = append(keys, k)
	}
	byName := map[string]*hsmKey{}
	for _, k := range keys {
		byName[k.name] = k
		t.Run(k.name, func(t *testing.T) {
			began := time.Now()
			if !t.Run("keygen", func(t *testing.T) { r.generate(t, k) }) {
				return
			}
			if k.bits != 0 {
				r.rsaCases(t, k, msg)
			} else {
				r.ecCases(t, k, msg)
			}
			t.Logf("%s: %v", k.name, time.Since(began).Round(time.Millisecond))
		})
	}

	// OpenSSL signs a certificate with a card key through PKCS#11 (spec 5.11 underneath).
	for _, name := range []string{"RSA-2048", "secp256r1"} {
		k := byName[name]
		t.Run("openssl req -x509 "+name, func(t *testing.T) {
			if k.spki == nil {
				t.Skip("the key was not generated")
			}
			r.selfSigned(t, k)
		})
	}
	t.Run("ssh-keygen -D", func(t *testing.T) { r.sshList(t, keys) })
	t.Logf("TestE2EKeys: %d keys, %v", len(keys), time.Since(started).Round(time.Millisecond))
}

// generate runs `pkcs11-tool --keypairgen` (spec 5.9, 5.10) and exports the public key
// twice: from PKCS#11 and from pkcs15-tool (which reads the CV request in CE<key>, 3.4).
func (r *keyRig) generate(t *testing.T, k *hsmKey) {
	began := time.Now()
	args := []string{"--keypairgen", "--id", k.id, "--label", k.name}
	if k.bits != 0 {
		args = append(args, "--key-type", fmt.Sprintf("rsa:%d", k.bits), "--usage-sign", "--usage-decrypt")
	} else {
		args = append(args, "--key-type", "EC:"+k.curve.Name, "--usage-sign", "--usage-derive")
	}
	out := r.p11Login(t, args...)
	if k.bits != 0 {
		contains(t, out, "Private Key Object; RSA", fmt.Sprintf("Public Key Object; RSA %d bits", k.bits), "ID:         "+k.id)
	} else {
		contains(t, out, "Private Key Object; EC", "Public Key Object; EC", "ID:         "+k.id)
	}
	t.Logf("keypairgen %s: %v", k.name, time.Since(began).Round(time.Millisecond))

	// pkcs15-tool decodes the 7F49 of the CV request OpenSC stored in CE<key> (spec 2.11.2).
	pemOut := r.must(t, "pkcs15-tool", "-r", r.reader, "--read-public-key", k.id)
	blk, _ := pem.Decode([]byte(pemOut))
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("pkcs15-tool --read-public-key %s: no PUBLIC KEY PEM block:\n%s", k.id, pemOut)
	}
	var der []byte
	if k.bits != 0 {
		o := r.out("pub.der")
		r.p11(t, "--read-object", "--type", "pubkey", "--id", k.id, "-o", o)
		der = readFile(t, o)
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatalf("pkcs11-tool exported %X: %v", der, err)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok || rk.N.BitLen() != k.bits || rk.E != 65537 {
			t.Fatalf("public key %T (%d bits, e %d), want RSA-%d with e 65537", pub, rk.N.BitLen(), rk.E, k.bits)
		}
	} else {
		ek, err := parseP11ECKey(r.p11(t, "--list-objects", "--type", "pubkey"), k.id)
		if err != nil {
			t.Fatal(err)
		}
		if want := curveOIDDER(k.curve.OID); !bytes.Equal(ek.Params, want) {
			t.Fatalf("CKA_EC_PARAMS %X, want %X", ek.Params, want)
		}
		if ek.FieldBytes() != k.curve.FieldBytes() {
			t.Fatalf("CKA_EC_POINT of %d-byte coordinates, want %d", ek.FieldBytes(), k.curve.FieldBytes())
		}
		if der, err = ek.SPKI(); err != nil {
			t.Fatal(err)
		}
		// pkcs11-tool's own export: fails on some curves with OpenSC 0.23 (e2e_keys_spki_test.go).
		o := r.out("pub.der")
		out, code := r.run(t, nil, "pkcs11-tool", r.p11Args("--read-object", "--type", "pubkey", "--id", k.id, "-o", o)...)
		switch {
		case code == 0:
			if got := readFile(t, o); !bytes.Equal(got, der) {
				t.Fatalf("pkcs11-tool --read-object gives %X, CKA_EC_POINT/PARAMS give %X", got, der)
			}
		case strings.Contains(out, "cannot create EVP_PKEY"):
			t.Logf("pkcs11-tool --read-object --type pubkey: %q (OpenSC 0.23 use-after-free, not the card); SPKI built from CKA_EC_POINT/CKA_EC_PARAMS",
				strings.TrimSpace(out))
		default:
			t.Fatalf("pkcs11-tool --read-object --type pubkey: exit %d\n%s", code, out)
		}
	}
	if !bytes.Equal(der, blk.Bytes) {
		t.Fatalf("PKCS#11 public key %X differs from pkcs15-tool's %X", der, blk.Bytes)
	}
	k.spki = der
	k.pub = r.file(t, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	// OpenSSL's own check: the point is on the curve, the RSA modulus is sane.
	r.must(t, "openssl", "pkey", "-pubin", "-in", k.pub, "-pubcheck", "-noout")
}

// rsaCases: every signature mechanism pkcs11-tool 0.23 offers for RSA (spec 5.11: OpenSC
// pads PKCS#1 v1.5 itself and sends P2 20; PSS goes as P2 40), and decryption (5.12: P2 21,
// OpenSC removes the padding).
func (r *keyRig) rsaCases(t *testing.T, k *hsmKey, msg []byte) {
	modLen := (k.bits + 7) / 8
	t.Run("RSA-X-509", func(t *testing.T) {
		in := pattern(9, 40) // OpenSC left-pads with zeros to the modulus length
		got := r.recoverRSA(t, k, r.sign(t, k, "RSA-X-509", in), "none")
		if want := append(make([]byte, modLen-len(in)), in...); !bytes.Equal(got, want) {
			t.Fatalf("recovered %X, want %X", got, want)
		}
	})
	t.Run("RSA-PKCS", func(t *testing.T) {
		in := append(mustHex(e2eDigestInfoSHA256), hashOf(crypto.SHA256, msg)...)
		if got := r.recoverRSA(t, k, r.sign(t, k, "RSA-PKCS", in), "pkcs1"); !bytes.Equal(got, in) {
			t.Fatalf("recovered %X, want the DigestInfo %X", got, in)
		}
		// The same signature is the standard SHA-256 one.
		r.verifyDgst(t, k, "sha256", msg, r.sign(t, k, "RSA-PKCS", in))
	})
	for _, d := range append(e2eDigests, e2eDigest{mechPrefix: "MD5", ossl: "md5"}, e2eDigest{mechPrefix: "RIPEMD160", ossl: "ripemd160"}) {
		t.Run(d.mechPrefix+"-RSA-PKCS", func(t *testing.T) {
			r.verifyDgst(t, k, d.ossl, msg, r.sign(t, k, d.mechPrefix+"-RSA-PKCS", msg))
		})
	}
	// Spec 2.12.3: salt length = hash length, so PSS needs a modulus of at least
	// 2 * hash + 2 bytes (RSA-1024 cannot do SHA-512): the card answers 6A80.
	emLen := (k.bits - 1 + 7) / 8
	for _, d := range e2eDigests {
		pssOpts := []string{"rsa_padding_mode:pss", "rsa_pss_saltlen:-1", "rsa_mgf1_md:" + d.ossl}
		fits := emLen >= 2*d.h.Size()+2
		t.Run("RSA-PKCS-PSS "+d.p11, func(t *testing.T) {
			hash := hashOf(d.h, msg)
			args := []string{"--sign", "--id", k.id, "-m", "RSA-PKCS-PSS", "--hash-algorithm", d.p11, "--mgf", d.mgf,
				"-i", r.file(t, "hash", hash), "-o", r.out("sig")}
			if !fits {
				r.p11Fails(t, "CKR_DATA_INVALID", args...)
				return
			}
			sig := r.sign(t, k, "RSA-PKCS-PSS", hash, "--hash-algorithm", d.p11, "--mgf", d.mgf)
			if !r.verifyPkey(t, k, hash, sig, append([]string{"digest:" + d.ossl}, pssOpts...)...) {
				t.Fatal("openssl pkeyutl -verify rejects the PSS signature")
			}
		})
		t.Run(d.mechPrefix+"-RSA-PKCS-PSS", func(t *testing.T) {
			mech := d.mechPrefix + "-RSA-PKCS-PSS"
			if !fits {
				r.p11Fails(t, "CKR_DATA_INVALID", "--sign", "--id", k.id, "-m", mech, "-i", r.file(t, "msg", msg), "-o", r.out("sig"))
				return
			}
			r.verifyDgst(t, k, d.ossl, msg, r.sign(t, k, mech, msg), pssOpts...)
		})
	}
	if k.bits == 2048 {
		// Spec 2.12.3: the card cannot learn the MGF1 hash, it uses the message hash. OpenSC
		// 0.23 passes such a request on without complaint (current OpenSC refuses it).
		t.Run("RSA-PKCS-PSS SHA256 with MGF1-SHA1 gets MGF1-SHA256", func(t *testing.T) {
			hash := hashOf(crypto.SHA256, msg)
			sig := r.sign(t, k, "RSA-PKCS-PSS", hash, "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA1")
			base := []string{"digest:sha256", "rsa_padding_mode:pss", "rsa_pss_saltlen:32"}
			if !r.verifyPkey(t, k, hash, sig, append(base, "rsa_mgf1_md:sha256")...) {
				t.Fatal("not a PSS signature with MGF1-SHA256")
			}
			if r.verifyPkey(t, k, hash, sig, append(base, "rsa_mgf1_md:sha1")...) {
				t.Fatal("verifies with MGF1-SHA1: the card learnt the MGF hash?")
			}
		})
		// A message longer than pkcs11-tool's 1025-byte buffer goes through C_SignUpdate.
		t.Run("SHA256-RSA-PKCS 20000-byte message", func(t *testing.T) {
			long := pattern(11, 20000)
			r.verifyDgst(t, k, "sha256", long, r.sign(t, k, "SHA256-RSA-PKCS", long))
		})
	}

	// Decryption of what OpenSSL encrypted with the exported key.
	type decCase struct {
		name  string
		p11   []string
		ossl  []string
		plain []byte
	}
	cases := []decCase{
		{"RSA-X-509", []string{"-m", "RSA-X-509"}, []string{"rsa_padding_mode:none"},
			append([]byte{0}, pattern(12, modLen-1)...)},
		{"RSA-PKCS", []string{"-m", "RSA-PKCS"}, []string{"rsa_padding_mode:pkcs1"}, pattern(13, 32)},
	}
	for _, d := range e2eDigests {
		if modLen < 2*d.h.Size()+2+16 {
			continue // OAEP with this hash leaves no room for the message
		}
		cases = append(cases, decCase{"RSA-PKCS-OAEP " + d.p11,
			[]string{"-m", "RSA-PKCS-OAEP", "--hash-algorithm", d.p11, "--mgf", d.mgf},
			[]string{"rsa_padding_mode:oaep", "rsa_oaep_md:" + d.ossl, "rsa_mgf1_md:" + d.ossl}, pattern(14, 16)})
	}
	for _, c := range cases {
		t.Run("decrypt "+c.name, func(t *testing.T) {
			ct := r.out("ct")
			args := []string{"pkeyutl", "-encrypt", "-pubin", "-inkey", k.pub, "-in", r.file(t, "pt", c.plain), "-out", ct}
			for _, o := range c.ossl {
				args = append(args, "-pkeyopt", o)
			}
			r.must(t, "openssl", args...)
			pt := r.out("pt")
			r.p11Login(t, append([]string{"--decrypt", "--id", k.id, "-i", ct, "-o", pt}, c.p11...)...)
			if got := readFile(t, pt); !bytes.Equal(got, c.plain) {
				t.Fatalf("decrypted %X, want %X", got, c.plain)
			}
		})
	}
}

// p11Fails runs a logged-in pkcs11-tool command that must fail with want in its output.
func (r *keyRig) p11Fails(t *testing.T, want string, args ...string) {
	t.Helper()
	out, code := r.run(t, nil, "pkcs11-tool", r.p11Args(append([]string{"--login", "--pin", e2eKeysPIN}, args...)...)...)
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("pkcs11-tool %s: exit %d, want a failure with %s\n%s", strings.Join(args, " "), code, want, out)
	}
}

// ecCases: ECDSA with every mechanism pkcs11-tool 0.23 offers (spec 5.11: ECDSA with the
// hash as input is P2 70, ECDSA-SHA1/224/256 send the message with P2 71-73, 0.23 hashes
// SHA-384/512 itself and uses 70) and ECDH (5.13: P2 80).
func (r *keyRig) ecCases(t *testing.T, k *hsmKey, msg []byte) {
	der := []string{"--signature-format", "openssl"}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
		// OpenSC truncates a hash longer than the field (P-256 + SHA-512) as ECDSA does.
		t.Run("ECDSA "+h.String()+" hash", func(t *testing.T) {
			hash := hashOf(h, msg)
			if !r.verifyPkey(t, k, hash, r.sign(t, k, "ECDSA", hash, der...)) {
				t.Fatal("openssl pkeyutl -verify rejects the signature")
			}
		})
	}
	for _, d := range e2eDigests {
		t.Run("ECDSA-"+d.mechPrefix, func(t *testing.T) {
			r.verifyDgst(t, k, d.ossl, msg, r.sign(t, k, "ECDSA-"+d.mechPrefix, msg, der...))
		})
	}
	// Spec 2.12.1: ECDSA-SHA256 sends the whole message, here in one 20 KB extended APDU.
	t.Run("ECDSA-SHA256 20000-byte message", func(t *testing.T) {
		long := pattern(15, 20000)
		r.verifyDgst(t, k, "sha256", long, r.sign(t, k, "ECDSA-SHA256", long, der...))
	})
	// PKCS#11's own format: r || s, each the field length (spec 2.12.4).
	t.Run("ECDSA-SHA256 r||s", func(t *testing.T) {
		if sig := r.sign(t, k, "ECDSA-SHA256", msg); len(sig) != 2*k.curve.FieldBytes() {
			t.Fatalf("signature of %d bytes, want %d", len(sig), 2*k.curve.FieldBytes())
		}
	})
	for _, mech := range []string{"ECDH1-DERIVE", "ECDH1-COFACTOR-DERIVE"} {
		t.Run(mech, func(t *testing.T) {
			peer := r.out("peer.pem")
			r.must(t, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+k.ossl,
				"-pkeyopt", "ec_param_enc:named_curve", "-out", peer)
			peerDER := r.out("peer.der")
			r.must(t, "openssl", "pkey", "-in", peer, "-pubout", "-outform", "DER", "-out", peerDER)
			want := r.out("z.openssl")
			r.must(t, "openssl", "pkeyutl", "-derive", "-inkey", peer, "-peerkey", k.pub, "-out", want)
			got := r.out("z.card")
			r.p11Login(t, "--derive", "-m", mech, "--id", k.id, "--input-file", peerDER, "-o", got)
			g, w := readFile(t, got), readFile(t, want)
			if !bytes.Equal(g, w) || len(g) != k.curve.FieldBytes() {
				t.Fatalf("card secret %X, OpenSSL's %X (want %d bytes)", g, w, k.curve.FieldBytes())
			}
		})
	}
}

// pkcs11URI percent-encodes a value for a PKCS#11 URI (RFC 7512).
func pkcs11URI(v string) string {
	var b strings.Builder
	for _, c := range []byte(v) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// selfSigned has OpenSSL (libp11 engine over opensc-pkcs11) make a self-signed certificate
// with the card key, then checks it with OpenSSL alone.
func (r *keyRig) selfSigned(t *testing.T, k *hsmKey) {
	cnf := r.file(t, "openssl.cnf", []byte(fmt.Sprintf(`openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = %s
MODULE_PATH = %s
PIN = %s
init = 0
[req]
distinguished_name = dn
[dn]
`, e2eEngine, e2eModule, e2eKeysPIN)))
	var id strings.Builder
	for i := 0; i+1 < len(k.id); i += 2 {
		id.WriteString("%" + strings.ToUpper(k.id[i:i+2]))
	}
	uri := "pkcs11:token=" + pkcs11URI(e2eKeysLabel+" (UserPIN)") + ";id=" + id.String() + ";type=private"
	cert := r.out("cert.pem")
	out, code := r.run(t, []string{"OPENSSL_CONF=" + cnf}, "openssl", "req", "-new", "-x509", "-engine", "pkcs11",
		"-keyform", "engine", "-key", uri, "-sha256", "-subj", "/CN=Pico HSM "+k.name, "-days", "1", "-out", cert)
	if code != 0 {
		t.Fatalf("openssl req -x509 with %s: exit %d\n%s", uri, code, out)
	}
	contains(t, r.must(t, "openssl", "verify", "-CAfile", cert, cert), cert+": OK")
	pubPEM := r.must(t, "openssl", "x509", "-in", cert, "-pubkey", "-noout")
	blk, _ := pem.Decode([]byte(pubPEM))
	if blk == nil || !bytes.Equal(blk.Bytes, k.spki) {
		t.Fatalf("certificate key %s, want the card's %X", pubPEM, k.spki)
	}
	want := "sha256WithRSAEncryption"
	if k.bits == 0 {
		want = "ecdsa-with-SHA256"
	}
	contains(t, r.must(t, "openssl", "x509", "-in", cert, "-noout", "-text"), "Signature Algorithm: "+want, "CN = Pico HSM "+k.name)
}

// sshList: `ssh-keygen -D` prints every card key OpenSSH supports (RSA and NIST curves),
// each equal to the OpenSSL-exported key converted by ssh-keygen. OpenSSH 9.2 prints the
// other curves as "ssh-unknown" lines; those are not counted.
func (r *keyRig) sshList(t *testing.T, keys []*hsmKey) {
	out := r.must(t, "ssh-keygen", "-D", e2eModule)
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] != "ssh-unknown" {
			listed[f[0]+" "+f[1]] = true
		}
	}
	n := 0
	for _, k := range keys {
		if k.ssh == "" || k.pub == "" {
			continue
		}
		n++
		conv := strings.Fields(r.must(t, "ssh-keygen", "-i", "-m", "PKCS8", "-f", k.pub))
		if len(conv) < 2 || conv[0] != k.ssh {
			t.Fatalf("ssh-keygen -i of %s: %q", k.name, conv)
		}
		if !listed[conv[0]+" "+conv[1]] {
			t.Errorf("%s (%s) not listed by ssh-keygen -D:\n%s", k.name, conv[0], out)
		}
	}
	if len(listed) != n {
		t.Errorf("ssh-keygen -D lists %d keys, want %d (RSA and NIST curves only):\n%s", len(listed), n, out)
	}
}
