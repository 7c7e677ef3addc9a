package conformance

// End-to-end: the emulator on vpcd slot 0 (127.0.0.1:35963), reached through pcscd by the
// OpenSC tools and by the Go pcsc transport. Runs only with PICO_HSM_E2E=1 (`make test` sets
// it) so that plain `go test ./...` needs no pcscd. Uses a running pcscd, or starts one and
// stops it afterwards; never touches a pcscd it did not start.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport/pcsc"
)

const (
	// Slot 0 of the Debian vsmartcard-vpcd configuration (/etc/reader.conf.d/vpcd, spec 1.5).
	e2eReader   = "Virtual PCD 00 00"
	e2eVPCDAddr = "127.0.0.1:35963"
	// opensc-tool prints the ATR in this form (spec 1.1).
	e2eATRText = "3b:fe:18:00:00:81:31:fe:45:80:31:81:54:48:53:4d:31:73:80:21:40:81:07:fa"

	e2eCardTimeout = 20 * time.Second
	e2eToolTimeout = 60 * time.Second
)

func TestE2E(t *testing.T) {
	if os.Getenv("PICO_HSM_E2E") != "1" {
		t.Skip("end-to-end tests through pcscd and OpenSC run with PICO_HSM_E2E=1 (make test)")
	}
	bin := emulatorPath(t)
	for _, tool := range []string{"opensc-tool", "pkcs15-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (install opensc): %v", tool, err)
		}
	}
	startE2ECard(t, bin)

	// Spec 1.1: OpenSC recognises the card by its ATR as a SmartCard-HSM.
	t.Run("opensc-tool -an", func(t *testing.T) {
		out := runTool(t, "opensc-tool", "-r", e2eReader, "-a", "-n")
		if !strings.Contains(out, e2eATRText) {
			t.Errorf("ATR %s not in output:\n%s", e2eATRText, out)
		}
		if !strings.Contains(out, "SmartCard-HSM") {
			t.Errorf("card name SmartCard-HSM not in output:\n%s", out)
		}
	})

	// Spec 2.1: SELECT of the application with P2 0C through pcscd.
	t.Run("opensc-tool -s SELECT", func(t *testing.T) {
		out := runTool(t, "opensc-tool", "-r", e2eReader, "-s", "00A4040C0BE82B0601040181C31F0201")
		if !strings.Contains(out, "SW1=0x90, SW2=0x00") {
			t.Errorf("SELECT not answered 9000:\n%s", out)
		}
	})

	// Spec 5.2: the PKCS#15 binding (needs EF.C_DevAut 2F02, spec 3.6).
	t.Run("pkcs15-tool -D", func(t *testing.T) {
		out := runTool(t, "pkcs15-tool", "-r", e2eReader, "-D")
		if !strings.Contains(out, "PKCS#15 Card [SmartCard-HSM]") {
			t.Errorf("pkcs15-tool did not bind to the SmartCard-HSM:\n%s", out)
		}
		for _, line := range strings.Split(out, "\n") {
			l := strings.ToLower(line)
			if strings.Contains(l, "error") || strings.Contains(l, "failed") {
				t.Errorf("pkcs15-tool reported: %s\nfull output:\n%s", line, out)
			}
		}
	})

	// The Go PC/SC binding: SELECT and GET CHALLENGE (spec 2.1, 2.16) with T=1.
	t.Run("go pcsc transport", func(t *testing.T) {
		readers, err := pcsc.ListReaders()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(readers, e2eReader) {
			t.Fatalf("ListReaders = %q, want %q among them", readers, e2eReader)
		}
		tr, err := pcsc.Open(e2eReader)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := tr.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}()
		if !bytes.Equal(tr.ATR(), wantATR) {
			t.Errorf("ATR %X, want %X", tr.ATR(), wantATR)
		}
		ctx, cancel := context.WithTimeout(context.Background(), e2eToolTimeout)
		defer cancel()
		c := hsm.New(tr)
		info, err := c.SelectApplet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("applet %s version %s", info.Name(), info.Version())
		for _, n := range []int{8, 256, 1024} {
			a, err := c.GetChallenge(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.GetChallenge(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != n || len(b) != n || bytes.Equal(a, b) {
				t.Errorf("GET CHALLENGE %d: got %d and %d bytes, equal=%v", n, len(a), len(b), bytes.Equal(a, b))
			}
		}
		// The raw transport too, with the conformance helpers.
		selectApplet(t, tr)
		getChallenge(t, tr, mustHex("00 84 00 00 00 04 00"), 1024)
		expectSW(t, tr, mustHex("00 A4 04 00 06 A0 00 00 00 01 01"), 0x6A82)
	})
}

// ensurePCSCD makes sure a pcscd with the vpcd reader answers. If none runs, it starts
// `pcscd --foreground --auto-exit` (auto-exit: it ends by itself should this test die) and
// stops exactly that process at the end.
func ensurePCSCD(t *testing.T) {
	t.Helper()
	_, err := pcsc.ListReaders()
	switch {
	case err == nil:
		t.Log("using the running pcscd")
	case errors.Is(err, pcsc.ErrNoService):
		startPCSCD(t)
	default:
		t.Fatalf("pcscd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		readers, err := pcsc.ListReaders()
		if err == nil && slices.Contains(readers, e2eReader) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcscd shows no reader %q (readers %q, error %v): is vsmartcard-vpcd installed "+
				"(/etc/reader.conf.d/vpcd), and was pcscd started after it?", e2eReader, readers, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startPCSCD(t *testing.T) {
	t.Helper()
	path, err := exec.LookPath("pcscd")
	if err != nil {
		path = "/usr/sbin/pcscd"
	}
	var out lockedBuffer
	cmd := exec.Command(path, "--foreground", "--auto-exit")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = emu.ChildSysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pcscd: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Logf("started pcscd (pid %d)", cmd.Process.Pid)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("pcscd (pid %d) ignored SIGTERM and was killed", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("pcscd output:\n%s", out.String())
		}
	})
	// Wait for its socket; fail early if it exits (for example: another pcscd runs).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := pcsc.ListReaders(); err == nil {
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("pcscd exited (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcscd did not answer within 10 s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForCard polls `opensc-tool -an` until it shows the card, or fails when the emulator
// exits or the time is up.
func waitForCard(t *testing.T, p *emu.Process) {
	t.Helper()
	deadline := time.Now().Add(e2eCardTimeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), e2eToolTimeout)
		out, err := exec.CommandContext(ctx, "opensc-tool", "-r", e2eReader, "-a", "-n").CombinedOutput()
		cancel()
		if err == nil && strings.Contains(string(out), e2eATRText) {
			return
		}
		last = fmt.Sprintf("%v: %s", err, out)
		select {
		case <-p.Done():
			t.Fatalf("emulator exited (%v) before the card appeared:\n%s", p.ExitErr(), p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no card in %q after %v; last opensc-tool -an: %s", e2eReader, e2eCardTimeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runTool runs an OpenSC tool; a non-zero exit fails the test. It returns stdout and stderr.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eToolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitSlotFree waits (up to 3 s) until pcscd sees no card in the reader: the card of an
// emulator that has just stopped only disappears at pcscd's next poll of the slot. A card
// still there after that belongs to another emulator, and the test stops.
func waitSlotFree(t *testing.T) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		present, err := pcsc.CardPresent(e2eReader)
		if err != nil {
			t.Fatalf("query %q: %v", e2eReader, err)
		}
		if !present {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("reader %q (vpcd %s) already holds a card: another emulator is connected "+
				"(`make stop` ends one started by `make run`)", e2eReader, e2eVPCDAddr)
		}
	}
}

// startE2ECard makes sure a pcscd with the vpcd reader runs, refuses to share the reader's slot
// with another card, starts the emulator on a fresh flash file against that slot, and waits
// until PC/SC sees the card. Cleanup stops the emulator and fails the test if it did not exit
// cleanly (a sanitizer report included).
func startE2ECard(t *testing.T, bin string) *emu.Process {
	t.Helper()
	ensurePCSCD(t)
	waitSlotFree(t)
	p, err := emu.Start(bin, newFlash(t), e2eVPCDAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(emu.StopTimeout); err != nil {
			t.Errorf("emulator did not exit cleanly on SIGTERM: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", p.Output())
		}
	})
	waitForCard(t, p)
	return p
}
