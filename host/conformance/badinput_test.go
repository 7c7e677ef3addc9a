package conformance

// The bad-input table: for every command of the core spec (smartcard-hsm-core.md section 2)
// and of the extensions spec (pico-hsm-extensions.md: symmetric keys, HD keys, EXTRAS, key
// domains and XKEK, PKA, trust store, secure messaging, rescue applet; rows in
// badinput_ext_test.go), each documented error with the status word it must get, sent in the
// card state where it applies. After every row the card must still work: SELECT and GET
// CHALLENGE answer, and on an initialised card a fresh login and an ECDSA signature (verified
// here) succeed. TestBadInputCoverage checks, for each spec separately, that its rows hold
// every status word row of the spec's table (core 2.19, extensions 0.3), or says why a row
// cannot be reached from a host.

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

// Card states a row runs in. Each names a card too: the main card (locked, user), a second
// one never initialised (blank), a third one with public key authentication (pka, pka-locked).
const (
	stateBlank     = "blank"      // never initialised, applet selected
	stateLocked    = "locked"     // initialised, applet selected, no PIN verified
	stateUser      = "user"       // initialised, user PIN verified
	statePKA       = "pka"        // initialised with PKA (ext. spec 5.6), user PIN verified, no holder authenticated
	statePKALocked = "pka-locked" // the same card, no PIN verified
)

type badRow struct {
	state string
	cmd   string // command name, as in the spec's section title
	why   string // the documented error
	apdu  []byte
	sw    uint16
	// before, when set, runs first (in the row's state) to set the error up.
	before func(t *testing.T, b *badCard)
	// build, when set, makes the APDU from the card (apdu is then nil).
	build func(t *testing.T, b *badCard) []byte
}

// badCard is an initialised card with an EC key (1), an RSA key (2), a key whose usage
// counter is used up (3), a key restricted to ECDSA with SHA-256 (4) and a private data
// object (CD01); of its four key domains, domain 0 is created with one DKEK share, imported,
// so WRAP works. What the extension rows need comes on top (setupExt).
type badCard struct {
	c     transmitter
	cl    *hsm.Client
	ecPub *ecdsa.PublicKey // key 1's public key; nil on the blank card
	// holders answer the PKA challenge before a signature (the PKA card only).
	holders []hsm.PKAHolder
	ext     badExt // state the extension rows use (badinput_ext_test.go)
}

const (
	badKeyEC      = 1
	badKeyRSA     = 2
	badKeyUsedUp  = 3
	badKeyECDSA   = 4
	badKeyMissing = 0x33
)

func newBadCard(t *testing.T) *badCard {
	t.Helper()
	c := startCard(t)
	cl := client(c)
	ctx := genCtx(t)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	domains := 4
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3, KeyDomains: &domains}
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	login(t, cl)
	if _, err := cl.CreateKeyDomain(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ImportDKEKShare(ctx, 0, pattern(7, 32)); err != nil {
		t.Fatal(err)
	}
	g, err := cl.GenerateEC(ctx, badKeyEC, "secp256r1", hsm.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GenerateRSA(ctx, badKeyRSA, 1024, hsm.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	one32 := uint32(1)
	if _, err := cl.GenerateEC(ctx, badKeyUsedUp, "secp256r1", hsm.KeyOptions{UsageCounter: &one32}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GenerateEC(ctx, badKeyECDSA, "secp256r1", hsm.KeyOptions{Algorithms: []byte{byte(hsm.AlgECDSASHA256)}}); err != nil {
		t.Fatal(err)
	}
	// Use up key 3's one operation.
	d := sha256.Sum256([]byte("used up"))
	if _, err := cl.Sign(ctx, badKeyUsedUp, hsm.AlgECDSA, d[:]); err != nil {
		t.Fatal(err)
	}
	if err := cl.WriteFile(ctx, 0xCD01, []byte("private data")); err != nil {
		t.Fatal(err)
	}
	b := &badCard{c: c, cl: cl, ecPub: g.Public.(*ecdsa.PublicKey)}
	b.setupExt(t)
	return b
}

// newBlankCard is a card never initialised, with the applet selected.
func newBlankCard(t *testing.T) *badCard {
	t.Helper()
	c := startCard(t)
	selectApplet(t, c)
	return &badCard{c: c, cl: client(c)}
}

// enter puts the card in a state: a fresh session (SELECT), then VERIFY where the state has
// the user PIN verified.
func (b *badCard) enter(t *testing.T, state string) {
	t.Helper()
	selectApplet(t, b.c)
	if state == stateUser || state == statePKA {
		expectSW(t, b.c, verifyAPDU(hsm.UserPIN, userPIN), 0x9000)
	}
}

// stillWorks checks the card after a row: SELECT, GET CHALLENGE, then (on an initialised
// card) a login, the PKA holders' answers where PKA is configured, and an ECDSA signature
// verified with Go's crypto.
func (b *badCard) stillWorks(t *testing.T) {
	t.Helper()
	stillWorks(t, b.c)
	if b.ecPub == nil {
		return // the blank card: nothing to log in to
	}
	expectSW(t, b.c, verifyAPDU(hsm.UserPIN, userPIN), 0x9000)
	if len(b.holders) > 0 {
		if err := b.cl.AuthenticatePKA(testCtx(t), b.holders); err != nil {
			t.Fatalf("PKA after the row: %v", err)
		}
	}
	d := sha256.Sum256([]byte("still works"))
	sig := expectSW(t, b.c, signRow(badKeyEC, byte(hsm.AlgECDSA), d[:]), 0x9000)
	if !ecdsa.VerifyASN1(b.ecPub, d[:], sig) {
		t.Fatalf("signature after the row does not verify")
	}
}

// rsaTemplate is a GAKP data field for an RSA key of bits with exponent 65537 (spec 2.11.1).
func rsaTemplate(bits int) []byte {
	return tmpl(berTLV(0x06, cvc.OIDRSAv15SHA256), mustHex("8203010001"), []byte{0x02, 0x02, byte(bits >> 8), byte(bits)})
}

func signRow(id, alg byte, data []byte) []byte     { return keyAPDU(0x68, id, alg, data) }
func decipherRow(id, alg byte, data []byte) []byte { return keyAPDU(0x62, id, alg, data) }

// coreBadInputRows are the rows of smartcard-hsm-core.md.
func coreBadInputRows() []badRow {
	digest := make([]byte, 32)
	share := pattern(9, 32)
	return []badRow{
		// Transport level (1.4): encodings, CLA, INS.
		{stateLocked, "APDU", "unknown INS", mustHex("00 D0 00 00"), 0x6D00, nil, nil},
		{stateLocked, "APDU", "CLA FF", mustHex("FF 84 00 00 08"), 0x6E00, nil, nil},
		{stateLocked, "APDU", "protected APDU (CLA 0C) without a secure channel", mustHex("0C 84 00 00 08"), 0x6984, nil, nil},
		{stateLocked, "APDU", "proprietary secure-messaging CLA 08", mustHex("08 84 00 00 08"), 0x6882, nil, nil},
		{stateLocked, "APDU", "Lc larger than the data", mustHex("00 A4 04 00 0B E8 2B 06"), 0x6700, nil, nil},
		{stateLocked, "APDU", "command chaining (not supported: extended APDUs carry 65535 bytes)", mustHex("10 84 00 00 08"), 0x6E00, nil, nil},

		// 2.1 SELECT.
		{stateLocked, "SELECT", "unknown AID", mustHex("00 A4 04 00 05 A0 00 00 00 01 00"), 0x6A82, nil, nil},
		{stateLocked, "SELECT", "missing EF", mustHex("00 A4 00 00 02 CE 77 00"), 0x6A82, nil, nil},
		{stateLocked, "SELECT", "unsupported P1", mustHex("00 A4 07 00 02 2F 02 00"), 0x6A86, nil, nil},

		// 2.2 READ BINARY.
		{stateLocked, "READ BINARY", "missing EF", readAPDU(0xCE77, 0, 16), 0x6A82, nil, nil},
		{stateLocked, "READ BINARY", "private data object without PIN", readAPDU(0xCD01, 0, 16), 0x6982, nil, nil},
		{stateUser, "READ BINARY", "key object CC01 is never readable", readAPDU(0xCC01, 0, 16), 0x6982, nil, nil},
		{stateLocked, "READ BINARY", "offset past the end", readAPDU(0x2F02, 0x7000, 16), 0x6B00, nil, nil},
		{stateLocked, "READ BINARY", "malformed offset object", mustHex("00 B1 2F 02 03 54 05 00 00"), 0x6A80, nil, nil},

		// 2.3 UPDATE BINARY.
		{stateLocked, "UPDATE BINARY", "without the user PIN", updateAPDU(0xCD02, 0, []byte("x")), 0x6982, nil, nil},
		{stateUser, "UPDATE BINARY", "malformed TLV", mustHex("00 D7 CD 02 03 54 05 00"), 0x6A80, nil, nil},
		{stateUser, "UPDATE BINARY", "key object CC01", updateAPDU(0xCC01, 0, []byte("x")), 0x6982, nil, nil},

		// 2.4 DELETE FILE.
		{stateUser, "DELETE FILE", "device key CC00", deleteAPDU(0xCC00), 0x6982, nil, nil},
		{stateUser, "DELETE FILE", "missing file", deleteAPDU(0xCD77), 0x6A82, nil, nil},
		{stateLocked, "DELETE FILE", "without the user PIN", deleteAPDU(0xCD01), 0x6982, nil, nil},
		{stateUser, "DELETE FILE", "wrong P1", mustHex("00 E4 07 00 02 CD 01"), 0x6A86, nil, nil},
		{stateUser, "DELETE FILE", "file id of 3 bytes", mustHex("00 E4 02 00 03 CD 01 00"), 0x6700, nil, nil},

		// 2.6 VERIFY.
		{stateLocked, "VERIFY", "wrong PIN", verifyAPDU(hsm.UserPIN, wrongPIN), 0x63C2, nil, nil},
		{stateLocked, "VERIFY", "status query, not verified", mustHex("00 20 00 81"), 0x63C3, nil, nil},
		{stateLocked, "VERIFY", "unknown PIN reference 85", verifyAPDU(0x85, userPIN), 0x6A88, nil, nil},
		{stateLocked, "VERIFY", "P1 not 00", mustHex("00 20 01 81 06 36 34 38 32 31 39"), 0x6B00, nil, nil},
		{stateLocked, "VERIFY", "PIN longer than 16 bytes", verifyAPDU(hsm.UserPIN, pattern(1, 17)), 0x6A80, nil, nil},
		{stateLocked, "VERIFY", "PIN blocked", verifyAPDU(hsm.UserPIN, userPIN), 0x6983, func(t *testing.T, b *badCard) {
			for i := 0; i < 3; i++ {
				tx(t, b.c, verifyAPDU(hsm.UserPIN, wrongPIN))
			}
		}, nil},

		// 2.7 CHANGE REFERENCE DATA (the PIN was unblocked by the row above's cleanup).
		{stateLocked, "CHANGE REFERENCE DATA", "wrong old PIN", changeAPDU(hsm.UserPIN, wrongPIN, newPIN), 0x63C2, nil, nil},
		{stateLocked, "CHANGE REFERENCE DATA", "unknown reference", changeAPDU(0x85, userPIN, newPIN), 0x6A88, nil, nil},

		// 2.8 RESET RETRY COUNTER.
		{stateLocked, "RESET RETRY COUNTER", "wrong SO-PIN", resetAPDU(0x00, wrongSO, userPIN), 0x63CE, nil, nil},
		{stateLocked, "RESET RETRY COUNTER", "P1 01 with a new PIN", resetAPDU(0x01, soPIN, userPIN), 0x6700, nil, nil},
		{stateLocked, "RESET RETRY COUNTER", "P1 02 without a verified SO-PIN", resetAPDU(0x02, userPIN), 0x6985, nil, nil},
		{stateLocked, "RESET RETRY COUNTER", "unknown P1", resetAPDU(0x07, soPIN, userPIN), 0x6A86, nil, nil},

		// 2.9 INITIALIZE DEVICE.
		{stateLocked, "INITIALIZE DEVICE", "wrong SO-PIN on a re-initialisation", initAPDU(1, userPIN, wrongSO, 3), 0x63CD, nil, nil},
		{stateLocked, "INITIALIZE DEVICE", "malformed TLV", mustHex("80 50 00 00 04 80 05 00 01"), 0x6A80, nil, nil},
		{stateLocked, "INITIALIZE DEVICE", "user PIN of 3 bytes", initAPDU(1, []byte("123"), soPIN, 3), 0x6A80, nil, nil},

		// 2.10 IMPORT DKEK SHARE (MANAGE KEY DOMAIN, extensions 4.2, is in the extension rows).
		{stateUser, "IMPORT DKEK SHARE", "share of 31 bytes", cmd(mustHex("80 52 00 00 1F"), share[:31]), 0x6700, nil, nil},
		{stateUser, "IMPORT DKEK SHARE", "DKEK already complete", cmd(mustHex("80 52 00 00 20"), share), 0x6986, nil, nil},
		{stateUser, "IMPORT DKEK SHARE", "key domain 16", cmd(mustHex("80 52 00 10 20"), share), 0x6B00, nil, nil},

		// 2.11 GENERATE ASYMMETRIC KEY PAIR.
		{stateLocked, "GENERATE ASYMMETRIC KEY PAIR", "without the user PIN", gakpAPDU(9, 0, rsaTemplate(1024)), 0x6982, nil, nil},
		{stateUser, "GENERATE ASYMMETRIC KEY PAIR", "unknown curve", gakpAPDU(9, 0, rsaTemplate(1016)), 0x6A81, nil, nil},
		{stateUser, "GENERATE ASYMMETRIC KEY PAIR", "malformed template", gakpAPDU(9, 0, mustHex("5F2901007F4910")), 0x6A80, nil, nil},
		{stateUser, "GENERATE ASYMMETRIC KEY PAIR", "key id 0 (the device key)", gakpAPDU(0, 0, rsaTemplate(1024)), 0x6A86, nil, nil},

		// 2.12 SIGN.
		{stateLocked, "SIGN", "without the user PIN", signRow(badKeyEC, byte(hsm.AlgECDSA), digest), 0x6982, nil, nil},
		{stateUser, "SIGN", "missing key", signRow(badKeyMissing, byte(hsm.AlgECDSA), digest), 0x6A82, nil, nil},
		{stateUser, "SIGN", "unknown algorithm byte", signRow(badKeyEC, 0x7E, digest), 0x6A86, nil, nil},
		{stateUser, "SIGN", "RSA algorithm on an EC key", signRow(badKeyEC, byte(hsm.AlgRSAPKCS1SHA256), digest), 0x6A81, nil, nil},
		{stateUser, "SIGN", "algorithm not in the key's list", signRow(badKeyECDSA, byte(hsm.AlgECDSA), digest), 0x6A81, nil, nil},
		{stateUser, "SIGN", "usage counter used up", signRow(badKeyUsedUp, byte(hsm.AlgECDSA), digest), 0x6984, nil, nil},
		{stateUser, "SIGN", "RSA raw input longer than the modulus", signRow(badKeyRSA, byte(hsm.AlgRSARaw), pattern(2, 129)), 0x6A80, nil, nil},
		{stateUser, "SIGN", "no data", []byte{0x80, 0x68, badKeyEC, 0x70, 0x00, 0x02, 0x00}, 0x6700, nil, nil},

		// 2.13 DECIPHER.
		{stateLocked, "DECIPHER", "without the user PIN", decipherRow(badKeyRSA, byte(hsm.AlgRSADecryptRaw), pattern(4, 128)), 0x6982, nil, nil},
		{stateUser, "DECIPHER", "ECDH with a point not on the curve", decipherRow(badKeyEC, byte(hsm.AlgECDH), cmd([]byte{4}, pattern(5, 64))), 0x6A80, nil, nil},
		{stateUser, "DECIPHER", "RSA decryption with an EC key", decipherRow(badKeyEC, byte(hsm.AlgRSADecryptRaw), pattern(4, 128)), 0x6A81, nil, nil},
		{stateUser, "DECIPHER", "missing key", decipherRow(badKeyMissing, byte(hsm.AlgECDH), cmd([]byte{4}, pattern(5, 64))), 0x6A82, nil, nil},

		// 2.14 WRAP KEY, 2.15 UNWRAP KEY.
		{stateLocked, "WRAP KEY", "without the user PIN", mustHex("80 72 01 92 00 00 00"), 0x6982, nil, nil},
		{stateUser, "WRAP KEY", "missing key", mustHex("80 72 33 92 00 00 00"), 0x6A82, nil, nil},
		{stateUser, "WRAP KEY", "wrong P2", mustHex("80 72 01 93 00 00 00"), 0x6B00, nil, nil},
		{stateUser, "UNWRAP KEY", "into an occupied key reference", nil, 0x6A89, nil, func(t *testing.T, b *badCard) []byte {
			blob, err := b.cl.WrapKey(testCtx(t), badKeyEC)
			if err != nil {
				t.Fatal(err)
			}
			return cmd([]byte{0x80, 0x74, badKeyEC, 0x93, 0x00, byte(len(blob) >> 8), byte(len(blob))}, blob)
		}},
		{stateUser, "UNWRAP KEY", "blob that does not match the DKEK", cmd(mustHex("80 74 21 93 00 00 40"), pattern(6, 64)), 0x6A80, nil, nil},
		{stateUser, "UNWRAP KEY", "wrong P2", cmd(mustHex("80 74 21 94 00 00 20"), pattern(6, 32)), 0x6B00, nil, nil},

		// 2.16 GET CHALLENGE.
		{stateLocked, "GET CHALLENGE", "P1 not 00", mustHex("00 84 01 00 08"), 0x6A86, nil, nil},

		// A blank card: nothing but SELECT, GET CHALLENGE and INITIALIZE before initialisation.
		{stateBlank, "VERIFY", "card never initialised", verifyAPDU(hsm.UserPIN, userPIN), 0x6A88, nil, nil},
		{stateBlank, "VERIFY", "status query, never initialised", mustHex("00 20 00 81"), 0x6A88, nil, nil},
	}
}

// badSpec is one spec's part of the table: its rows and the status words of its table.
type badSpec struct {
	name        string
	rows        []badRow
	sws         []uint16          // the status word rows of the spec's table (63C0 for 63Cx, 6100 for 61xx)
	unreachable map[uint16]string // rows of that table no bad input reaches, and where they are tested
}

func badSpecs() []badSpec {
	return []badSpec{
		{"core", coreBadInputRows(), specSWs, unreachableSW},
		{"ext", extBadInputRows(), extSpecSWs, unreachableExtSW},
	}
}

func TestBadInputTable(t *testing.T) {
	b := newBadCard(t)
	pka := newPKACard(t)
	cards := map[string]*badCard{stateLocked: b, stateUser: b, stateBlank: newBlankCard(t), statePKA: pka, statePKALocked: pka}
	for _, spec := range badSpecs() {
		for _, r := range spec.rows {
			t.Run(spec.name+"/"+r.cmd+"/"+r.why, func(t *testing.T) {
				b := cards[r.state]
				b.enter(t, r.state)
				if r.before != nil {
					r.before(t, b)
				}
				a := r.apdu
				if r.build != nil {
					a = r.build(t, b)
				}
				data, sw := tx(t, b.c, a)
				if sw != r.sw {
					t.Errorf("%s -> SW %04X (data %s), want %04X", short(a), sw, short(data), r.sw)
				}
				if len(data) != 0 {
					t.Errorf("%s -> SW %04X with data %s: an error carries no data", short(a), sw, short(data))
				}
				if sw == 0x6983 { // unblock for the next rows
					expectSW(t, b.c, resetAPDU(0x00, soPIN, userPIN), 0x9000)
				}
				b.stillWorks(t)
			})
		}
	}
}

// unreachableSW are the status words of the spec's table (2.19) that no host input can
// cause on a healthy card, with where they are tested instead.
var unreachableSW = map[uint16]string{
	0x9000: "success: every other test",
	0x6282: "READ BINARY past the end answers 6B00 and at the end 9000 without data, as spec 2.2 recommends (6282 is the reference's variant)",
	0x6883: "command chaining is not supported (CLA bit 10 answers 6E00, a row above): extended APDUs carry 65535 bytes",
	0x6400: "crypto library failure: not reachable with valid keys; C unit tests inject entropy failure (test_keys_errors)",
	0x6581: "flash write failure: the C power-cut tests (test_store_powercut) inject it through the platform layer",
	0x6A84: "not enough memory: the store-full path is tested in C (test_store); the usage counter uses 6984",
	0x6F00: "internal error: by definition not reachable; the fuzz targets check no input reaches it",
}

// The status words of smartcard-hsm-core.md 2.19.
var specSWs = []uint16{0x9000, 0x6282, 0x63C0, 0x6400, 0x6581, 0x6700, 0x6882, 0x6883, 0x6982, 0x6983,
	0x6984, 0x6985, 0x6986, 0x6A80, 0x6A81, 0x6A82, 0x6A84, 0x6A86, 0x6A88, 0x6A89, 0x6B00, 0x6D00,
	0x6E00, 0x6F00}

func TestBadInputCoverage(t *testing.T) {
	for _, spec := range badSpecs() {
		t.Run(spec.name, func(t *testing.T) {
			covered := map[uint16]bool{}
			for _, r := range spec.rows {
				sw := r.sw
				if sw&0xFFF0 == 0x63C0 {
					sw = 0x63C0
				}
				covered[sw] = true
			}
			var missing []string
			for _, sw := range spec.sws {
				if covered[sw] {
					continue
				}
				if _, ok := spec.unreachable[sw]; ok {
					continue
				}
				missing = append(missing, fmt.Sprintf("%04X", sw))
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("status words of the %s spec's table without a bad-input row or a stated reason: %v", spec.name, missing)
			}
			for sw := range spec.unreachable {
				if covered[sw] {
					t.Errorf("SW %04X is both covered and listed as unreachable", sw)
				}
				if !slices.Contains(spec.sws, sw) {
					t.Errorf("SW %04X listed as unreachable is not in the %s spec's table", sw, spec.name)
				}
			}
		})
	}
}
