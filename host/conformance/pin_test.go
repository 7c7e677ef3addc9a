package conformance

// The PIN model (spec 3.8) through the vpcd harness: INITIALIZE (2.9), VERIFY and its status
// query (2.6), CHANGE REFERENCE DATA (2.7), RESET RETRY COUNTER (2.8), the transport PIN and
// re-initialisation. Every scenario runs on a fresh emulator and ends by checking that the
// card still answers.

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

const (
	u = hsm.UserPIN
	s = hsm.SOPIN
)

// status word 63Cx
func tries(n int) uint16 { return 0x63C0 | uint16(n) }

// repeat returns n copies of st.
func repeat(n int, st step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = st
	}
	return out
}

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(name string, a []byte, sw uint16) []step { return []step{{name: name, apdu: a, sw: sw}} }

// The usual start: INITIALIZE with options 0001, user PIN 648219 (3 tries), SO-PIN of 5.4,
// then a SELECT to end the session INITIALIZE opened.
var initDefault = seq(
	one("initialize", initAPDU(0x0001, userPIN, soPIN, 3), 0x9000),
	[]step{{name: "select (logout)", apdu: selectAID, sw: 0x9000, check: checkAppletFCP}},
)

// blockUser spends the three user tries.
var blockUser = seq(
	one("wrong 1", verifyAPDU(u, wrongPIN), tries(2)),
	one("wrong 2", verifyAPDU(u, wrongPIN), tries(1)),
	one("wrong 3 blocks", verifyAPDU(u, wrongPIN), 0x6983),
	one("status blocked", verifyAPDU(u, nil), 0x6983),
)

func TestPINModel(t *testing.T) {
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"not initialised", seq(
			one("user status", verifyAPDU(u, nil), 0x6A88),
			one("SO status", verifyAPDU(s, nil), 0x6A88),
			one("user verify", verifyAPDU(u, userPIN), 0x6A88),
			one("SO verify", verifyAPDU(s, soPIN), 0x6A88),
			one("change", changeAPDU(u, userPIN, newPIN), 0x6A88),
			one("reset retry counter", resetAPDU(0x01, soPIN), 0x6A88),
			one("write without PIN", updateAPDU(0xCF01, 0, []byte{1}), 0x6982),
			one("initialize without SO-PIN", cmd(mustHex("80 50 00 00 0C 80 02 00 01 81 06"), userPIN), 0x6A80),
			one("initialize with a 5-byte PIN", initAPDU(0x0001, userPIN[:5], soPIN, 3), 0x6A80),
			one("initialize with a 7-byte SO-PIN", initAPDU(0x0001, userPIN, soPIN[:7], 3), 0x6A80),
			one("initialize with 0 retries", initAPDU(0x0001, userPIN, soPIN, 0), 0x6A80),
			one("initialize with 16 retries", initAPDU(0x0001, userPIN, soPIN, 16), 0x6A80),
			one("initialize with truncated TLV", mustHex("80 50 00 00 04 80 05 00 01"), 0x6A80),
			one("initialize P1 01", mustHex("80 50 01 00 00"), 0x6A86),
			one("still not initialised", verifyAPDU(u, nil), 0x6A88),
			[]step{{name: "device info", apdu: mustHex("80 50 00 00 00"), sw: 0x9000, check: func(d []byte) error {
				if len(d) != 7 || d[4] != 0 {
					return errors.New("want 7 bytes: free space, 00, version")
				}
				return nil
			}}},
		)},
		{"initialise leaves the user logged in, SELECT logs out", seq(
			one("initialize, unknown tag 99 ignored", cmd(mustHex("80 50 00 00 1C"), mustHex("99 01 00"),
				initAPDU(0x0001, userPIN, soPIN, 3)[5:]), 0x9000),
			one("user status verified", verifyAPDU(u, nil), 0x9000),
			one("SO status 15", verifyAPDU(s, nil), tries(15)),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("user status 3", verifyAPDU(u, nil), tries(3)),
		)},
		{"status queries never decrement", seq(initDefault,
			repeat(5, one("user status", verifyAPDU(u, nil), tries(3))[0]),
			repeat(5, one("SO status", verifyAPDU(s, nil), tries(15))[0]),
			one("wrong", verifyAPDU(u, wrongPIN), tries(2)),
			repeat(5, one("user status", verifyAPDU(u, nil), tries(2))[0]),
			one("right", verifyAPDU(u, userPIN), 0x9000),
			one("status verified", verifyAPDU(u, nil), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("counter back at 3", verifyAPDU(u, nil), tries(3)),
		)},
		{"lengths and references that cost no try", seq(initDefault,
			one("user PIN of 5", verifyAPDU(u, []byte("12345")), 0x6A80),
			one("user PIN of 17", verifyAPDU(u, bytes.Repeat([]byte("1"), 17)), 0x6A80),
			one("SO-PIN of 7", verifyAPDU(s, soPIN[:7]), 0x6A80),
			one("SO-PIN of 9", verifyAPDU(s, cmd(soPIN, []byte{0})), 0x6A80),
			one("user counter kept", verifyAPDU(u, nil), tries(3)),
			one("SO counter kept", verifyAPDU(s, nil), tries(15)),
			one("biometric 85", verifyAPDU(0x85, nil), 0x6A88),
			one("biometric 86", verifyAPDU(0x86, nil), 0x6A88),
			one("reference 82", verifyAPDU(0x82, userPIN), 0x6A88),
			one("P1 01", mustHex("00 20 01 81"), 0x6B00),
			one("16-byte PIN is a wrong PIN", verifyAPDU(u, bytes.Repeat([]byte("1"), 16)), tries(2)),
		)},
		{"verified state is dropped by a wrong PIN", seq(initDefault,
			one("right", verifyAPDU(u, userPIN), 0x9000),
			one("write", updateAPDU(0xCF01, 0, []byte{1}), 0x9000),
			one("wrong", verifyAPDU(u, wrongPIN), tries(2)),
			one("write refused", updateAPDU(0xCF01, 0, []byte{2}), 0x6982),
			one("right again", verifyAPDU(u, userPIN), 0x9000),
			one("status 9000", verifyAPDU(u, nil), 0x9000),
		)},
		{"block after the retry limit, unblock with P1 01", seq(initDefault, blockUser,
			one("right PIN while blocked", verifyAPDU(u, userPIN), 0x6983),
			one("change while blocked", changeAPDU(u, userPIN, newPIN), 0x6983),
			one("still blocked", verifyAPDU(u, nil), 0x6983),
			one("P1 01 wrong SO-PIN", resetAPDU(0x01, wrongSO), tries(14)),
			one("SO status 14", verifyAPDU(s, nil), tries(14)),
			one("user still blocked", verifyAPDU(u, nil), 0x6983),
			one("P1 01 SO-PIN of 7", resetAPDU(0x01, soPIN[:7]), 0x6700),
			one("P1 01 with a PIN too", resetAPDU(0x01, soPIN, newPIN), 0x6700),
			one("P1 01", resetAPDU(0x01, soPIN), 0x9000),
			one("SO counter back at 15", verifyAPDU(s, nil), tries(15)),
			one("user counter 3", verifyAPDU(u, nil), tries(3)),
			one("old PIN works", verifyAPDU(u, userPIN), 0x9000),
		)},
		{"unblock and set a new PIN with P1 00", seq(initDefault, blockUser,
			one("P1 00 PIN too short", resetAPDU(0x00, soPIN, []byte("12345")), 0x6700),
			one("P1 00 PIN too long", resetAPDU(0x00, soPIN, bytes.Repeat([]byte("1"), 17)), 0x6700),
			one("P1 00", resetAPDU(0x00, soPIN, newPIN), 0x9000),
			one("user counter 3", verifyAPDU(u, nil), tries(3)),
			one("old PIN refused", verifyAPDU(u, userPIN), tries(2)),
			one("new PIN", verifyAPDU(u, newPIN), 0x9000),
		)},
		{"SO-PIN VERIFY then P1 02 and 03", seq(initDefault, blockUser,
			one("P1 03 without SO-PIN", resetAPDU(0x03), 0x6985),
			one("P1 02 without SO-PIN", resetAPDU(0x02, newPIN), 0x6985),
			one("SO verify", verifyAPDU(s, soPIN), 0x9000),
			one("SO status verified", verifyAPDU(s, nil), 0x9000),
			one("P1 03 with data", resetAPDU(0x03, newPIN), 0x6700),
			one("P1 03", resetAPDU(0x03), 0x9000),
			one("user counter 3", verifyAPDU(u, nil), tries(3)),
			blockUser,
			one("P1 02", resetAPDU(0x02, newPIN), 0x9000),
			one("new PIN", verifyAPDU(u, newPIN), 0x9000),
			one("SO wrong drops SO state", verifyAPDU(s, wrongSO), tries(14)),
			one("P1 03 refused again", resetAPDU(0x03), 0x6985),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("SO verify", verifyAPDU(s, soPIN), 0x9000),
			one("select logs the SO out", selectAID[:len(selectAID)-1], 0x9000),
			one("P1 03 after select", resetAPDU(0x03), 0x6985),
		)},
		{"RESET RETRY COUNTER disabled by the options", seq(
			one("initialize options 0000", initAPDU(0x0000, userPIN, soPIN, 3), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			blockUser,
			one("P1 00", resetAPDU(0x00, soPIN, newPIN), 0x6986),
			one("P1 01", resetAPDU(0x01, soPIN), 0x6986),
			one("SO counter untouched", verifyAPDU(s, nil), tries(15)),
			one("user still blocked", verifyAPDU(u, userPIN), 0x6983),
		)},
		{"CHANGE REFERENCE DATA 81", seq(initDefault,
			one("wrong old", changeAPDU(u, wrongPIN, newPIN), tries(2)),
			one("data no longer than the stored PIN", changeAPDU(u, userPIN, nil), 0x6700),
			one("new PIN of 5", changeAPDU(u, userPIN, []byte("12345")), 0x6700),
			one("new PIN of 17", changeAPDU(u, userPIN, bytes.Repeat([]byte("1"), 17)), 0x6700),
			one("counter kept by length errors", verifyAPDU(u, nil), tries(2)),
			one("change", changeAPDU(u, userPIN, []byte("12345678")), 0x9000),
			one("verified after change", verifyAPDU(u, nil), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("counter at 3", verifyAPDU(u, nil), tries(3)),
			one("old PIN refused", verifyAPDU(u, userPIN), tries(2)),
			one("new PIN", verifyAPDU(u, []byte("12345678")), 0x9000),
			one("split at the new length (8)", changeAPDU(u, []byte("12345678"), newPIN), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("6-byte PIN", verifyAPDU(u, newPIN), 0x9000),
		)},
		{"CHANGE REFERENCE DATA 88", seq(initDefault,
			one("wrong old", changeAPDU(s, wrongSO, newSO), tries(14)),
			one("new SO-PIN of 7", changeAPDU(s, soPIN, newSO[:7]), 0x6700),
			one("change", changeAPDU(s, soPIN, newSO), 0x9000),
			one("SO verified after change", verifyAPDU(s, nil), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("SO counter 15", verifyAPDU(s, nil), tries(15)),
			one("old SO-PIN refused", verifyAPDU(s, soPIN), tries(14)),
			blockUser,
			one("unblock with old SO-PIN refused", resetAPDU(0x01, soPIN), tries(13)),
			one("unblock with new SO-PIN", resetAPDU(0x01, newSO), 0x9000),
			one("user PIN works", verifyAPDU(u, userPIN), 0x9000),
		)},
		{"transport PIN", seq(
			one("initialize options 0003", initAPDU(0x0003, userPIN, soPIN, 3), 0x9000),
			one("not logged in after initialize", updateAPDU(0xCF01, 0, []byte{1}), 0x6982),
			one("status transport", verifyAPDU(u, nil), 0x6984),
			one("right PIN refused", verifyAPDU(u, userPIN), 0x6984),
			one("wrong PIN refused", verifyAPDU(u, wrongPIN), 0x6984),
			one("SO status", verifyAPDU(s, nil), tries(15)),
			one("change with wrong transport PIN", changeAPDU(u, wrongPIN, newPIN), tries(2)),
			one("still transport", verifyAPDU(u, nil), 0x6984),
			one("change", changeAPDU(u, userPIN, newPIN), 0x9000),
			one("verified", verifyAPDU(u, nil), 0x9000),
			one("write", updateAPDU(0xCF01, 0, []byte{1}), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("counter 3", verifyAPDU(u, nil), tries(3)),
			one("transport PIN is gone", verifyAPDU(u, userPIN), tries(2)),
			one("new PIN", verifyAPDU(u, newPIN), 0x9000),
		)},
		{"transport PIN ended by RESET RETRY COUNTER", seq(
			one("initialize options 0003", initAPDU(0x0003, userPIN, soPIN, 3), 0x9000),
			one("P1 00", resetAPDU(0x00, soPIN, newPIN), 0x9000),
			one("counter 3", verifyAPDU(u, nil), tries(3)),
			one("new PIN", verifyAPDU(u, newPIN), 0x9000),
		)},
		{"re-initialisation needs the SO-PIN", seq(initDefault,
			one("verify", verifyAPDU(u, userPIN), 0x9000),
			one("write CF01", updateAPDU(0xCF01, 0, []byte("keep me")), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("re-initialise with wrong SO-PIN", initAPDU(0x0001, newPIN, wrongSO, 5), tries(14)),
			one("SO counter 14", verifyAPDU(s, nil), tries(14)),
			[]step{{name: "file kept", apdu: readAPDU(0xCF01, 0, 256), sw: 0x9000, check: dataIs([]byte("keep me"))}},
			one("old user PIN kept, counter 3", verifyAPDU(u, nil), tries(3)),
			one("new user PIN not set", verifyAPDU(u, newPIN), tries(2)),
			one("old user PIN works", verifyAPDU(u, userPIN), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("re-initialise with the SO-PIN", initAPDU(0x0001, newPIN, soPIN, 5), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("file wiped", readAPDU(0xCF01, 0, 256), 0x6A82),
			[]step{{name: "only the device key listed (spec 3.2)", apdu: enumerateAPDU, sw: 0x9000, check: listIs(0xCC00)}},
			one("SO counter 15", verifyAPDU(s, nil), tries(15)),
			one("user counter 5", verifyAPDU(u, nil), tries(5)),
			one("old user PIN gone", verifyAPDU(u, userPIN), tries(4)),
			one("new user PIN", verifyAPDU(u, newPIN), 0x9000),
		)},
		{"a blocked SO-PIN can never re-initialise", seq(initDefault,
			one("verify", verifyAPDU(u, userPIN), 0x9000),
			one("write CF01", updateAPDU(0xCF01, 0, []byte("keep me")), 0x9000),
			one("select", selectAID[:len(selectAID)-1], 0x9000),
			one("re-initialise wrong 1", initAPDU(0x0001, newPIN, wrongSO, 3), tries(14)),
			soWrong(13, 1),
			one("SO blocked", verifyAPDU(s, nil), 0x6983),
			one("re-initialise with the right SO-PIN", initAPDU(0x0001, newPIN, soPIN, 3), 0x6983),
			one("SO verify", verifyAPDU(s, soPIN), 0x6983),
			one("reset retry counter", resetAPDU(0x01, soPIN), 0x6983),
			one("change SO-PIN", changeAPDU(s, soPIN, newSO), 0x6983),
			one("user PIN still works", verifyAPDU(u, userPIN), 0x9000),
			[]step{{name: "file kept", apdu: readAPDU(0xCF01, 0, 256), sw: 0x9000, check: dataIs([]byte("keep me"))}},
		)},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			c := startCard(t)
			selectApplet(t, c)
			runSteps(t, c, sc.steps)
			stillWorks(t, c)
		})
	}
}

// soWrong spends SO-PIN tries with VERIFY 88: from `from` left down to `to` left, then the
// last one blocks.
func soWrong(from, to int) []step {
	var out []step
	for n := from; n >= to; n-- {
		out = append(out, one("SO wrong", verifyAPDU(s, wrongSO), tries(n))...)
	}
	return append(out, one("SO wrong blocks", verifyAPDU(s, wrongSO), 0x6983)...)
}

// The typed calls of host/hsm against the emulator: the same model through Client.
func TestPINModelClient(t *testing.T) {
	c := startCard(t)
	ctx := testCtx(t)
	cl := client(c)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.PINStatus(ctx, hsm.UserPIN); err != nil || st.State != hsm.PINNotInitialized {
		t.Fatalf("status before initialise: %v, %v", st, err)
	}
	info, err := cl.DeviceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device info: %d bytes free, version %s", info.FreeBytes, info.Version())
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: 3}
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	sel := func() {
		t.Helper()
		if _, err := cl.SelectApplet(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sel()
	want := func(ref hsm.PINRef, st hsm.PINStatus) {
		t.Helper()
		got, err := cl.PINStatus(ctx, ref)
		if err != nil || got != st {
			t.Fatalf("%v status %v (%v), want %v", ref, got, err, st)
		}
	}
	want(hsm.UserPIN, hsm.PINStatus{TriesLeft: 3})
	var wp apdu.WrongPINError
	if err := cl.Verify(ctx, hsm.UserPIN, wrongPIN); !errors.As(err, &wp) || wp.Retries != 2 {
		t.Fatalf("wrong PIN: %v", err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
	want(hsm.UserPIN, hsm.PINStatus{State: hsm.PINVerified})
	if err := cl.ChangePIN(ctx, hsm.UserPIN, userPIN, newPIN); err != nil {
		t.Fatal(err)
	}
	sel()
	for i := 0; i < 3; i++ {
		cl.Verify(ctx, hsm.UserPIN, wrongPIN)
	}
	want(hsm.UserPIN, hsm.PINStatus{State: hsm.PINBlocked})
	if err := cl.Verify(ctx, hsm.UserPIN, newPIN); !errors.Is(err, apdu.ErrBlocked) {
		t.Fatalf("blocked: %v", err)
	}
	if err := cl.ResetRetryCounter(ctx, hsm.ResetWithSOPIN, soPIN, nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.SOPIN, soPIN); err != nil {
		t.Fatal(err)
	}
	want(hsm.SOPIN, hsm.PINStatus{State: hsm.PINVerified})
	if err := cl.ResetRetryCounter(ctx, hsm.ResetNewPIN, nil, userPIN); err != nil {
		t.Fatal(err)
	}
	if err := cl.ResetRetryCounter(ctx, hsm.ResetOnly, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.ResetRetryCounter(ctx, hsm.ResetWithSOPINNewPIN, soPIN, newPIN); err != nil {
		t.Fatal(err)
	}
	if err := cl.ChangePIN(ctx, hsm.SOPIN, soPIN, newSO); err != nil {
		t.Fatal(err)
	}
	sel()
	want(hsm.SOPIN, hsm.PINStatus{TriesLeft: 15})
	if err := cl.Initialize(ctx, p); !errors.As(err, &wp) || wp.Retries != 14 {
		t.Fatalf("re-initialise with the old SO-PIN: %v", err)
	}
	p.SOPIN = newSO
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	sel()
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
	p.Options |= hsm.OptionTransportPIN
	if err := cl.Initialize(ctx, p); err != nil {
		t.Fatal(err)
	}
	want(hsm.UserPIN, hsm.PINStatus{State: hsm.PINTransport})
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); !errors.Is(err, apdu.ErrReferenceDataUnusable) {
		t.Fatalf("transport PIN: %v", err)
	}
	stillWorks(t, c)
}
