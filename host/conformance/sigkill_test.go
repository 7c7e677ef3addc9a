package conformance

// The store survives the emulator being killed with SIGKILL mid-workload (a power cut): a
// mixed workload of single-APDU operations (writes of varied files, overwrites, appends,
// deletes, reads, PIN verifies with wrong and right PINs, status queries) runs against an
// emulator that is SIGKILLed at a random moment, restarted on the same flash file, checked
// against a reference model, and driven again; many times over.
//
// The model's rules:
//   - every operation whose answer arrived is reflected, and its status word is the one the
//     model predicts;
//   - the operation in flight when the process died is either fully applied or not at all;
//     for a VERIFY in flight the user counter may also be one lower than before (the
//     decrement is persisted before the compare, spec 3.8), never higher unless the PIN sent
//     was right;
//   - nothing else changes: ENUMERATE lists exactly the model's files.
//
// PICO_HSM_SIGKILL_SEED=<n> replays a run; PICO_HSM_SIGKILL_KILLS=<n> changes the number of
// kills (default 60).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
)

const (
	killUserMax = 5    // user PIN retry maximum of the workload's device
	killMaxFile = 3000 // appends stop here; the card's limit is tested by TestFiles
	killMaxWait = 60 * time.Millisecond
)

// The workload's files: public data, protected (sealed) data, a CA certificate, a DCOD.
var killFIDs = []uint16{0xCF00, 0xCF01, 0xCF02, 0xCF03, 0xCD00, 0xCD01, 0xCD02, 0xCA00, 0xC900}

type opKind int

const (
	opWrite opKind = iota
	opDelete
	opRead
	opVerifyRight
	opVerifyWrong
	opStatus
)

// killOp is one single-APDU operation.
type killOp struct {
	kind opKind
	fid  uint16
	off  int
	data []byte
}

func (o killOp) String() string {
	switch o.kind {
	case opWrite:
		return fmt.Sprintf("write %04X at %d, %d bytes", o.fid, o.off, len(o.data))
	case opDelete:
		return fmt.Sprintf("delete %04X", o.fid)
	case opRead:
		return fmt.Sprintf("read %04X", o.fid)
	case opVerifyRight:
		return "verify right PIN"
	case opVerifyWrong:
		return "verify wrong PIN"
	}
	return "PIN status"
}

func (o killOp) apdu() []byte {
	switch o.kind {
	case opWrite:
		return updateAPDU(o.fid, o.off, o.data)
	case opDelete:
		return deleteAPDU(o.fid)
	case opRead:
		return readAPDU(o.fid, 0, 4096)
	case opVerifyRight:
		return verifyAPDU(u, userPIN)
	case opVerifyWrong:
		return verifyAPDU(u, wrongPIN)
	}
	return verifyAPDU(u, nil)
}

// killModel is what the card must hold.
type killModel struct {
	files    map[uint16][]byte
	left     int  // user PIN tries left
	verified bool // user PIN verified in this session
}

func maxSize(fid uint16) int {
	if fid>>8 == 0xCD {
		return maxProtectedFile
	}
	return maxPublicFile
}

// apply predicts op's answer and updates the model as the card must.
func (m *killModel) apply(op killOp) (sw uint16, data []byte) {
	switch op.kind {
	case opWrite:
		old, ok := m.files[op.fid]
		switch {
		case !m.verified:
			return 0x6982, nil
		case op.off > len(old):
			return 0x6B00, nil
		case op.off+len(op.data) > maxSize(op.fid):
			return 0x6A84, nil
		}
		var n []byte
		if op.off > 0 && ok {
			n = bytes.Clone(old)
		}
		if end := op.off + len(op.data); end > len(n) {
			n = append(n, make([]byte, end-len(n))...)
		}
		copy(n[op.off:], op.data)
		m.files[op.fid] = n
		return 0x9000, nil
	case opDelete:
		if !m.verified {
			return 0x6982, nil
		}
		if _, ok := m.files[op.fid]; !ok {
			return 0x6A82, nil
		}
		delete(m.files, op.fid)
		return 0x9000, nil
	case opRead:
		f, ok := m.files[op.fid]
		switch {
		case !ok:
			return 0x6A82, nil
		case op.fid>>8 == 0xCD && !m.verified:
			return 0x6982, nil
		}
		return 0x9000, f
	case opVerifyRight, opVerifyWrong:
		m.verified = false
		if m.left == 0 {
			return 0x6983, nil
		}
		if op.kind == opVerifyRight {
			m.left, m.verified = killUserMax, true
			return 0x9000, nil
		}
		m.left--
		if m.left == 0 {
			return 0x6983, nil
		}
		return tries(m.left), nil
	}
	switch {
	case m.verified:
		return 0x9000, nil
	case m.left == 0:
		return 0x6983, nil
	}
	return tries(m.left), nil
}

// next picks a random operation; wrong PINs never take the counter below 1, so the
// workload can always log in again. Without pinOps it picks only file operations (PIN
// checks are the slowest commands, so a random kill would mostly hit them).
func (m *killModel) next(r *rand.Rand, pinOps bool) killOp {
	fid := killFIDs[r.IntN(len(killFIDs))]
	p := r.IntN(100)
	if !pinOps {
		p = r.IntN(70)
	}
	switch {
	case p < 45:
		old := m.files[fid]
		switch q := r.IntN(10); {
		case q < 4 && len(old) > 0 && len(old) < killMaxFile: // append
			n := 1 + r.IntN(min(600, killMaxFile-len(old)))
			return killOp{kind: opWrite, fid: fid, off: len(old), data: randBytes(r, n)}
		case q < 5 && len(old) > 1: // overwrite inside
			off := r.IntN(len(old))
			return killOp{kind: opWrite, fid: fid, off: off, data: randBytes(r, 1+r.IntN(len(old)-off))}
		case q < 6: // refused: too big
			return killOp{kind: opWrite, fid: fid, data: randBytes(r, maxSize(fid)+1)}
		}
		sizes := []int{0, 1, 50, 255, 256, 1215, 2000, killMaxFile}
		n := sizes[r.IntN(len(sizes))]
		if r.IntN(2) == 0 {
			n = r.IntN(killMaxFile + 1)
		}
		return killOp{kind: opWrite, fid: fid, data: randBytes(r, n)}
	case p < 55:
		return killOp{kind: opDelete, fid: fid}
	case p < 70:
		return killOp{kind: opRead, fid: fid}
	case p < 80 || (!m.verified && p < 88):
		return killOp{kind: opVerifyRight}
	case p < 90 && m.left >= 2:
		return killOp{kind: opVerifyWrong}
	}
	return killOp{kind: opStatus}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func envInt(t *testing.T, name string, def uint64) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func TestSIGKILLWorkload(t *testing.T) {
	bin := emulatorPath(t)
	flash := newFlash(t)
	seed := envInt(t, "PICO_HSM_SIGKILL_SEED", uint64(time.Now().UnixNano()))
	kills := int(envInt(t, "PICO_HSM_SIGKILL_KILLS", 60))
	t.Logf("seed %d (replay with PICO_HSM_SIGKILL_SEED=%d), %d kills", seed, seed, kills)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))

	start := func() *emu.Card {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		c, err := startOn(ctx, bin, flash)
		if err != nil {
			t.Fatalf("start emulator: %v", err)
		}
		return c
	}
	c := start()
	defer func() { c.Close() }()
	cl := client(c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Initialize(ctx, hsm.InitParams{Options: hsm.OptionResetRetryCounter, UserPIN: userPIN, SOPIN: soPIN, Retries: killUserMax}); err != nil {
		t.Fatal(err)
	}
	m := &killModel{files: map[uint16][]byte{}, left: killUserMax, verified: true}

	var acked, inFlightApplied, inFlightOld, verifyLow int
	inFlight := map[string]int{}
	deadline := time.Now().Add(50 * time.Second)
	for k := 1; k <= kills; k++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills in 50 s", k-1)
		}
		// Arm the kill, then drive the card until the answer does not come.
		var killed atomic.Bool
		proc := c.Proc
		wait := time.Duration(r.Int64N(int64(killMaxWait)))
		timer := time.AfterFunc(wait, func() { killed.Store(true); proc.Kill() })
		var pending *killOp
		n := 0
		pinOps := k%2 == 0
		for {
			op := m.next(r, pinOps)
			resp, err := c.Transmit(ctx, op.apdu())
			if err != nil {
				if !killed.Load() {
					timer.Stop()
					t.Fatalf("kill %d: %v failed before the kill: %v\nemulator output:\n%s", k, op, err, proc.Output())
				}
				pending = &op
				break
			}
			data, sw, err := apdu.ParseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			wantSW, wantData := m.apply(op)
			if sw != wantSW || !bytes.Equal(data, wantData) {
				t.Fatalf("kill %d, op %d: %v -> SW %04X with %d bytes, model says %04X with %d bytes",
					k, n, op, sw, len(data), wantSW, len(wantData))
			}
			n++
			acked++
		}
		<-proc.Done()
		c.Reader.Close()
		t.Logf("kill %d after %v: %d operations answered, in flight: %v", k, wait, n, pending)

		c = start()
		cl = client(c)
		inFlight[[]string{"write", "delete", "read", "verify right", "verify wrong", "status"}[pending.kind]]++
		applied, low := m.recover(t, ctx, cl, *pending)
		if applied {
			inFlightApplied++
		} else {
			inFlightOld++
		}
		if low {
			verifyLow++
		}
	}
	t.Logf("%d kills, %d answered operations; in flight: %v; %d applied, %d not, %d verifies left the counter one lower",
		kills, acked, inFlight, inFlightApplied, inFlightOld, verifyLow)
	stillWorks(t, c)
}

// recover checks a freshly restarted card against the model, given the operation that was in
// flight, and makes the model exact again. It reports whether the in-flight operation took
// effect and whether a VERIFY in flight left only its decrement behind.
func (m *killModel) recover(t *testing.T, ctx context.Context, cl *hsm.Client, pending killOp) (applied, low bool) {
	t.Helper()
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	before := m.left
	after := &killModel{files: map[uint16][]byte{}, left: m.left, verified: m.verified}
	for fid, b := range m.files {
		after.files[fid] = b
	}
	after.apply(pending)

	// The user counter: a status query costs nothing.
	st, err := cl.PINStatus(ctx, hsm.UserPIN)
	if err != nil {
		t.Fatal(err)
	}
	got := st.TriesLeft
	switch st.State {
	case hsm.PINBlocked:
		got = 0
	case hsm.PINNotVerified:
	default:
		t.Fatalf("after restart the user PIN is %v", st)
	}
	allowed := []int{before}
	if pending.kind == opVerifyRight || pending.kind == opVerifyWrong {
		allowed = append(allowed, max(before-1, 0))
		if pending.kind == opVerifyRight && before > 0 {
			allowed = append(allowed, killUserMax)
		}
	}
	if !slices.Contains(allowed, got) {
		t.Fatalf("after %v with %d tries left, the card has %d (allowed %v)", pending, before, got, allowed)
	}
	switch {
	case got != before && (pending.kind == opVerifyWrong || got == killUserMax):
		applied = true
	case got != before:
		low = true
	}
	if got == 0 {
		t.Fatalf("the workload never blocks the PIN, yet it is blocked")
	}

	// Log in (resets the counter) and compare every file.
	if err := cl.Verify(ctx, hsm.UserPIN, userPIN); err != nil {
		t.Fatal(err)
	}
	m.left, m.verified = killUserMax, true
	for _, fid := range killFIDs {
		want, inModel := m.files[fid]
		alt, inAfter := after.files[fid]
		b, err := cl.ReadFile(ctx, fid)
		present := err == nil
		if err != nil && !errors.Is(err, apdu.ErrFileNotFound) {
			t.Fatalf("read %04X: %v", fid, err)
		}
		switch {
		case present == inModel && (!present || bytes.Equal(b, want)):
			// the old state
		case present == inAfter && (!present || bytes.Equal(b, alt)) && pending.fid == fid:
			applied = true
			if present {
				m.files[fid] = b
			} else {
				delete(m.files, fid)
			}
		default:
			t.Fatalf("%04X after the kill: present=%v, %d bytes; model: present=%v, %d bytes; in flight: %v",
				fid, present, len(b), inModel, len(want), pending)
		}
	}
	ids, err := cl.ListObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var files []uint16
	for fid := range m.files {
		files = append(files, fid)
	}
	slices.Sort(files)
	// Spec 2.5, 3.2: the device key CC00 first, then the files ascending.
	want := append([]uint16{0xCC00}, files...)
	if !slices.Equal(ids, want) {
		t.Fatalf("ENUMERATE after the kill = %s, model %s", fidList(ids), fidList(want))
	}
	return applied, low
}
