// Package emu starts and stops the Pico HSM emulator (pico-hsm-emu) for tests and tools.
//
// The emulator is a vpcd card (spec smartcard-hsm-core.md 1.5): it connects as a TCP client
// to a vpcd reader and reconnects every ~100 ms while refused. Card pairs it with an
// in-process vpcd.Reader on a free loopback port, so no pcscd is needed.
package emu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pico-hsm/pico-hsm/host/transport/vpcd"
)

// EnvBinary names the environment variable that overrides the emulator path.
const EnvBinary = "PICO_HSM_EMU"

// RelPath is the emulator's place in a build tree, relative to the repository root.
const RelPath = "build/emu/pico-hsm-emu"

// ErrNotFound says the emulator binary is missing; the message tells how to build it.
var ErrNotFound = errors.New("pico-hsm-emu not found: run `make emu` in the repository root (or set " + EnvBinary + ")")

// Find returns the emulator binary: $PICO_HSM_EMU if set (it must exist), else the first
// existing candidate path.
func Find(candidates ...string) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	for _, c := range candidates {
		if executable(c) == nil {
			abs, err := filepath.Abs(c)
			if err != nil {
				return c, nil
			}
			return abs, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %q)", ErrNotFound, candidates)
}

// FindUpward looks for RelPath in dir and its parents (for commands run anywhere in the
// repository), after $PICO_HSM_EMU.
func FindUpward(dir string) (string, error) {
	var cands []string
	for d := dir; ; d = filepath.Dir(d) {
		cands = append(cands, filepath.Join(d, RelPath))
		if filepath.Dir(d) == d {
			break
		}
	}
	return Find(cands...)
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// Process is a running emulator.
type Process struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
	err  error // Wait's result, valid once done is closed
}

// Start runs bin --flash flash --vpcd vpcdAddr. Its stdout and stderr are kept (the last
// 64 KiB) for Output.
func Start(bin, flash, vpcdAddr string) (*Process, error) {
	out := &tailBuffer{max: 64 << 10}
	cmd := exec.Command(bin, "--flash", flash, "--vpcd", vpcdAddr)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = ChildSysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	p := &Process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr returns how the process ended (nil for exit status 0); call it after Done.
func (p *Process) ExitErr() error { <-p.done; return p.err }

// Output returns what the emulator printed so far (its last 64 KiB).
func (p *Process) Output() string { return p.out.String() }

// sanitizerMarkers are the first lines AddressSanitizer, LeakSanitizer and
// UndefinedBehaviorSanitizer print; an emulator built with -DHSM_SANITIZE=ON prints them on
// any finding.
var sanitizerMarkers = []string{"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}

// SanitizerReport returns the emulator's output from the first sanitizer report on, or "".
func (p *Process) SanitizerReport() string {
	out := p.Output()
	for _, m := range sanitizerMarkers {
		if i := strings.Index(out, m); i >= 0 {
			return out[i:]
		}
	}
	return ""
}

// Stop sends SIGTERM and waits up to timeout for the exit, then kills it. It returns the
// exit result; an error also when the process had to be killed or printed a sanitizer report.
func (p *Process) Stop(timeout time.Duration) error {
	err := p.stop(timeout)
	if r := p.SanitizerReport(); r != "" {
		return fmt.Errorf("emulator (pid %d) reported a sanitizer finding:\n%s", p.Pid(), r)
	}
	return err
}

func (p *Process) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-p.done:
			return p.err
		default:
			return fmt.Errorf("stop emulator (pid %d): %w", p.Pid(), err)
		}
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("emulator (pid %d) ignored SIGTERM for %v and was killed", p.Pid(), timeout)
	}
}

// Kill ends the process with SIGKILL, as a power cut would end the device, and waits for
// it to exit. Nothing of the emulator runs after it: no handler, no flush.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill() // fails only when the process has already exited
	<-p.done
}

// StopTimeout is how long Close waits for the emulator to exit after SIGTERM.
const StopTimeout = 5 * time.Second

// Card is an emulator connected to its own in-process vpcd reader and powered on. It is a
// transport.Transport through the embedded Reader.
type Card struct {
	*vpcd.Reader
	Proc *Process
	rec  *recorder // with CorpusEnv set: this card's traffic, kept as a fuzz seed
}

// CorpusEnv names a directory: when set, every Card keeps the first CorpusMax bytes of the
// APDUs it sends and writes them there on Close, as a seed of the fuzz_apdu target (its
// format: a state byte, 00 = fresh card, then each APDU as a 2-byte big-endian length and
// its bytes). The file is named after its content's SHA-256, so reruns add no duplicates.
const CorpusEnv = "PICO_HSM_CORPUS_DIR"

// CorpusMax bounds a seed: the fuzz targets run with -max_len=4096.
const CorpusMax = 4096

type recorder struct {
	mu  sync.Mutex
	dir string
	buf []byte
}

func (r *recorder) add(apdu []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf)+2+len(apdu) > CorpusMax {
		return
	}
	r.buf = append(r.buf, byte(len(apdu)>>8), byte(len(apdu)))
	r.buf = append(r.buf, apdu...)
}

func (r *recorder) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) <= 1 {
		return nil
	}
	sum := sha256.Sum256(r.buf)
	return os.WriteFile(filepath.Join(r.dir, "traffic-"+hex.EncodeToString(sum[:8])), r.buf, 0o644)
}

// Transmit sends one APDU (transport.Transport), recording it when CorpusEnv is set.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if c.rec != nil {
		c.rec.add(apdu)
	}
	return c.Reader.Transmit(ctx, apdu)
}

// StartCard listens on a free loopback port, starts the emulator against it, waits (until
// ctx is done) for it to connect and powers the card on.
func StartCard(ctx context.Context, bin, flash string) (*Card, error) {
	r, err := vpcd.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p, err := Start(bin, flash, r.Addr())
	if err != nil {
		r.Close()
		return nil, err
	}
	c := &Card{Reader: r, Proc: p}
	if dir := os.Getenv(CorpusEnv); dir != "" {
		c.rec = &recorder{dir: dir, buf: []byte{0x00}}
	}
	if err := c.Connect(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Connect waits for the emulator to (re)connect to the reader and powers the card on. It
// fails early, with the emulator's output, if the process exits.
func (c *Card) Connect(ctx context.Context) error {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.Proc.Done():
			cancel()
		case <-actx.Done():
		}
	}()
	if err := c.Accept(actx); err != nil {
		select {
		case <-c.Proc.Done():
			return fmt.Errorf("emulator exited before connecting (%v); output:\n%s", c.Proc.ExitErr(), c.Proc.Output())
		default:
		}
		return fmt.Errorf("wait for the emulator to connect to %s: %w", c.Addr(), err)
	}
	if _, err := c.PowerOn(ctx); err != nil {
		return fmt.Errorf("power on: %w", err)
	}
	return nil
}

// Close stops the emulator (SIGTERM, then SIGKILL after StopTimeout) and closes the reader.
// It returns the emulator's exit result.
func (c *Card) Close() error {
	err := c.Proc.Stop(StopTimeout)
	c.Reader.Close()
	if c.rec != nil {
		if werr := c.rec.flush(); err == nil {
			err = werr
		}
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
