// Command pico-hsm-soak runs a long mixed workload against the emulator through pcscd and
// checks every answer (issue "robustness", the soak test; `make soak`, not part of make test).
//
//	pico-hsm-soak [--duration 1h] [--emu PATH] [--reader "Virtual PCD 00 01"]
//	              [--vpcd 127.0.0.1:35964] [--report 1m] [--cycle 2m] [--rate N] [--seed N]
//
// It starts its own emulator on a fresh flash file, connected to a vpcd slot (slot 1 by
// default, so that the end-to-end tests can keep slot 0), initialises it and then, until the
// duration is over, draws operations at random (it holds the card exclusively, so no other
// PC/SC application can interleave commands): EC and RSA key generation, key deletion,
// ECDSA and RSA signatures (each verified with Go's crypto), RSA decryption of a ciphertext
// made by Go, ECDH compared with Go's, data object writes, reads (compared with what was
// written) and deletes, PIN changes (and back), and power cycles of the card: a clean
// restart of the emulator (SIGTERM) or a power cut (SIGKILL), after which every key and
// object the model holds is checked again. It samples the emulator's resident memory and
// the store's use (the line the emulator prints at each start) and prints a report line
// every --report; the last lines compare the start with the end. Any wrong answer is an
// error: it is counted, printed and the run goes on; the exit status is 1 if any occurred.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport"
	"github.com/pico-hsm/pico-hsm/host/transport/pcsc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pico-hsm-soak:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pico-hsm-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", time.Hour, "how long to run")
	emuPath := fs.String("emu", "", "emulator binary (default $PICO_HSM_EMU, else build/emu/pico-hsm-emu above the current directory)")
	reader := fs.String("reader", "Virtual PCD 00 01", "the pcscd reader of the vpcd slot")
	vpcdAddr := fs.String("vpcd", "127.0.0.1:35964", "the vpcd slot's HOST:PORT the emulator connects to")
	report := fs.Duration("report", time.Minute, "interval between report lines")
	cycle := fs.Duration("cycle", 2*time.Minute, "interval between power cycles of the card (alternately a clean restart and a power cut)")
	rate := fs.Float64("rate", 0, "at most this many operations per second (0: as fast as the card answers)")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock; printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *duration <= 0 || *report <= 0 || *cycle <= 0 {
		return fmt.Errorf("--duration, --report and --cycle must be positive")
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	bin := *emuPath
	if bin == "" {
		bin = os.Getenv("PICO_HSM_EMU")
	}
	if bin == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if bin, err = emu.FindUpward(wd); err != nil {
			return err
		}
	}
	present, err := pcsc.CardPresent(*reader)
	if err != nil {
		return fmt.Errorf("reader %q: %w (is pcscd running with vsmartcard-vpcd?)", *reader, err)
	}
	if present {
		return fmt.Errorf("reader %q already holds a card: another emulator uses vpcd %s", *reader, *vpcdAddr)
	}
	dir, err := os.MkdirTemp("", "pico-hsm-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	s := &soak{
		bin: bin, flash: filepath.Join(dir, "emu.flash"), reader: *reader, vpcd: *vpcdAddr,
		rnd: mrand.New(mrand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)), out: stdout,
		keys: map[byte]*soakKey{}, objects: map[uint16][]byte{}, pin: []byte("648219"),
		counts: map[string]int{},
	}
	fmt.Fprintf(stdout, "soak: %v through pcscd reader %q (vpcd %s), seed %d, emulator %s\n",
		*duration, *reader, *vpcdAddr, *seed, bin)
	if err := s.powerOn(ctx); err != nil {
		return err
	}
	defer s.powerOff(false)
	if err := s.client.Initialize(ctx, hsm.InitParams{Options: 1, UserPIN: s.pin, SOPIN: soPIN, Retries: 3}); err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	if err := s.login(ctx); err != nil {
		return err
	}
	s.first = s.sample()
	fmt.Fprintln(stdout, "start:", s.first)

	end := time.Now().Add(*duration)
	next := time.Now().Add(*report)
	nextCycle := time.Now().Add(*cycle)
	start := time.Now()
	cut := false
	var tick <-chan time.Time
	if *rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer t.Stop()
		tick = t.C
	}
	for time.Now().Before(end) && ctx.Err() == nil {
		if tick != nil {
			<-tick
		}
		s.step(ctx)
		// A process's baseline is taken once it has done some work.
		if s.startRSS == 0 && s.proc != nil && time.Since(s.procStart) > 5*time.Second {
			s.startRSS = rssKiB(s.proc.Pid())
		}
		if time.Now().After(nextCycle) {
			nextCycle = time.Now().Add(*cycle)
			s.noteGrowth()
			name := "restart"
			if cut {
				name = "power-cut"
			}
			s.do(ctx, name, func(ctx context.Context) error { return s.powerCycle(ctx, cut) })
			cut = !cut
		}
		if time.Now().After(next) {
			next = next.Add(*report)
			fmt.Fprintf(stdout, "%7s %s\n", time.Since(start).Round(time.Second), s.status())
		}
	}
	// A final power cycle, so the end figures are those of a freshly mounted store.
	s.noteGrowth()
	s.do(ctx, "restart", func(ctx context.Context) error { return s.powerCycle(ctx, false) })
	last := s.sample()
	fmt.Fprintf(stdout, "end after %v: %s\n", time.Since(start).Round(time.Second), s.status())
	fmt.Fprintln(stdout, "start:", s.first)
	fmt.Fprintln(stdout, "end:  ", last)
	fmt.Fprintf(stdout, "largest RSS growth within one emulator process: %d KiB (over %d processes)\n", s.maxGrowth, s.processes)
	names := make([]string, 0, len(s.counts))
	for k := range s.counts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(stdout, "  %-10s %d\n", k, s.counts[k])
	}
	if s.errors > 0 {
		return fmt.Errorf("%d errors in %d operations", s.errors, s.ops)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(stdout, "%d operations, 0 errors\n", s.ops)
	return nil
}

var soPIN = []byte{0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30}

type soakKey struct {
	pub crypto.PublicKey
	rsa bool
}

type soak struct {
	bin, flash, reader, vpcd string
	rnd                      *mrand.Rand
	out                      io.Writer

	proc   *emu.Process
	tr     transport.Transport
	client *hsm.Client

	keys    map[byte]*soakKey
	objects map[uint16][]byte
	pin     []byte

	ops, errors int
	counts      map[string]int
	first       sample
	maxRSS      int
	// startRSS is the resident memory of the current emulator process after its first
	// operations; maxGrowth the largest growth seen within one process.
	startRSS, maxGrowth, processes int
	procStart                      time.Time
}

// noteGrowth records how much the current process grew since its first sample.
func (s *soak) noteGrowth() {
	if s.proc == nil || s.startRSS == 0 {
		return
	}
	if g := rssKiB(s.proc.Pid()) - s.startRSS; g > s.maxGrowth {
		s.maxGrowth = g
	}
}

// sample is what the run watches for growth: the emulator's resident memory and the store.
type sample struct {
	rssKiB            int
	store             string // the emulator's "store: ..." line at its latest start
	liveBytes, object int
}

func (s sample) String() string {
	return fmt.Sprintf("emulator RSS %d KiB; %s", s.rssKiB, s.store)
}

var storeLine = regexp.MustCompile(`store: (\d+) objects, (\d+) of \d+ bytes live[^\n]*`)

func (s *soak) sample() sample {
	out := sample{rssKiB: rssKiB(s.proc.Pid())}
	if m := storeLine.FindAllStringSubmatch(s.proc.Output(), -1); len(m) > 0 {
		last := m[len(m)-1]
		out.store = last[0]
		out.object, _ = strconv.Atoi(last[1])
		out.liveBytes, _ = strconv.Atoi(last[2])
	}
	return out
}

// rssKiB reads VmRSS of a process from /proc (0 where that is not available).
func rssKiB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func (s *soak) status() string {
	smp := s.sample()
	if smp.rssKiB > s.maxRSS {
		s.maxRSS = smp.rssKiB
	}
	return fmt.Sprintf("ops %d errors %d keys %d objects %d | %s (max RSS %d KiB)",
		s.ops, s.errors, len(s.keys), len(s.objects), smp, s.maxRSS)
}

// powerOn starts the emulator on the flash file and connects through pcscd.
func (s *soak) powerOn(ctx context.Context) error {
	p, err := emu.Start(s.bin, s.flash, s.vpcd)
	if err != nil {
		return err
	}
	s.proc = p
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ok, _ := pcsc.CardPresent(s.reader); ok {
			break
		}
		select {
		case <-p.Done():
			return fmt.Errorf("emulator exited: %v\n%s", p.ExitErr(), p.Output())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("card did not appear in %q within 15 s", s.reader)
		}
	}
	// Exclusive: another application's SELECT or reset would end the PIN session and show up
	// here as errors that are not the card's.
	tr, err := pcsc.OpenExclusive(s.reader)
	if err != nil {
		return err
	}
	s.tr, s.client = tr, hsm.New(tr)
	if _, err := s.client.SelectApplet(ctx); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	s.processes++
	s.startRSS, s.procStart = 0, time.Now()
	return nil
}

// powerOff ends the emulator: SIGTERM, or SIGKILL for a power cut.
func (s *soak) powerOff(cut bool) error {
	if s.tr != nil {
		s.tr.Close()
		s.tr = nil
	}
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	if cut {
		p.Kill()
		<-p.Done()
		return nil
	}
	return p.Stop(10 * time.Second)
}

func (s *soak) powerCycle(ctx context.Context, cut bool) error {
	// Keep the old output's last store line comparable: sample() reads the new process.
	if err := s.powerOff(cut); err != nil {
		return err
	}
	// pcscd must see the card go before it comes back.
	for i := 0; i < 100; i++ {
		if ok, _ := pcsc.CardPresent(s.reader); !ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.powerOn(ctx); err != nil {
		return err
	}
	if err := s.login(ctx); err != nil {
		return err
	}
	return s.checkAll(ctx)
}

func (s *soak) login(ctx context.Context) error {
	if err := s.client.Verify(ctx, hsm.UserPIN, s.pin); err != nil {
		return fmt.Errorf("verify PIN: %w", err)
	}
	return nil
}

// checkAll compares every key and object the model holds with the card.
func (s *soak) checkAll(ctx context.Context) error {
	for id, k := range s.keys {
		if err := s.signWith(ctx, id, k); err != nil {
			return fmt.Errorf("key %02X after power cycle: %w", id, err)
		}
	}
	for fid, want := range s.objects {
		got, err := s.client.ReadFile(ctx, fid)
		if err != nil {
			return fmt.Errorf("object %04X after power cycle: %w", fid, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("object %04X after power cycle: %d bytes differ from the %d written", fid, len(got), len(want))
		}
	}
	return nil
}

func samePublic(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// do runs one operation, counting it and any error.
func (s *soak) do(ctx context.Context, name string, f func(context.Context) error) {
	s.ops++
	s.counts[name]++
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := f(octx); err != nil {
		if ctx.Err() != nil {
			return
		}
		s.errors++
		fmt.Fprintf(s.out, "ERROR %s: %v\n", name, err)
		// Start again from a known state: a fresh power-on and login.
		if s.proc == nil || s.tr == nil {
			if err := s.powerCycle(ctx, false); err != nil {
				fmt.Fprintf(s.out, "ERROR recover: %v\n", err)
			}
		}
	}
}

// Weighted operation table; key generation and deletion keep between 2 and 8 keys.
func (s *soak) step(ctx context.Context) {
	type op struct {
		name   string
		weight int
		f      func(context.Context) error
	}
	ops := []op{
		{"sign-ec", 30, s.signEC},
		{"sign-rsa", 12, s.signRSA},
		{"decrypt", 8, s.decrypt},
		{"ecdh", 5, s.ecdhOp},
		{"keygen-ec", 6, func(ctx context.Context) error { return s.keygen(ctx, false) }},
		{"keygen-rsa", 1, func(ctx context.Context) error { return s.keygen(ctx, true) }},
		{"delete-key", 4, s.deleteKey},
		{"write", 10, s.writeObject},
		{"read", 10, s.readObject},
		{"delete-obj", 4, s.deleteObject},
		{"pin-change", 2, s.changePIN},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	r := s.rnd.IntN(total)
	for _, o := range ops {
		if r < o.weight {
			s.do(ctx, o.name, o.f)
			return
		}
		r -= o.weight
	}
}

// pickKey returns a random key of the kind wanted, generating one when there is none.
func (s *soak) pickKey(ctx context.Context, wantRSA bool) (byte, *soakKey, error) {
	var ids []byte
	for id, k := range s.keys {
		if k.rsa == wantRSA {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		if err := s.keygen(ctx, wantRSA); err != nil {
			return 0, nil, err
		}
		return s.pickKey(ctx, wantRSA)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	id := ids[s.rnd.IntN(len(ids))]
	return id, s.keys[id], nil
}

func (s *soak) freeID() byte {
	for id := byte(1); id < 32; id++ {
		if _, ok := s.keys[id]; !ok {
			return id
		}
	}
	return 0
}

func (s *soak) keygen(ctx context.Context, isRSA bool) error {
	if len(s.keys) >= 8 {
		if err := s.deleteKey(ctx); err != nil {
			return err
		}
	}
	id := s.freeID()
	var (
		g   *hsm.GeneratedKey
		err error
	)
	if isRSA {
		g, err = s.client.GenerateRSA(ctx, id, 2048, hsm.KeyOptions{})
	} else {
		g, err = s.client.GenerateEC(ctx, id, "secp256r1", hsm.KeyOptions{})
	}
	if err != nil {
		return fmt.Errorf("generate key %02X: %w", id, err)
	}
	s.keys[id] = &soakKey{pub: g.Public, rsa: isRSA}
	return nil
}

func (s *soak) deleteKey(ctx context.Context) error {
	if len(s.keys) <= 2 {
		return nil
	}
	ids := make([]byte, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	id := ids[s.rnd.IntN(len(ids))]
	if err := s.client.DeleteKey(ctx, id); err != nil {
		return fmt.Errorf("delete key %02X: %w", id, err)
	}
	delete(s.keys, id)
	objs, err := s.client.ListObjects(ctx)
	if err != nil {
		return err
	}
	for _, fid := range objs {
		if fid == 0xCC00|uint16(id) {
			return fmt.Errorf("key %02X still listed after deletion", id)
		}
	}
	return nil
}

func (s *soak) message() []byte {
	m := make([]byte, 1+s.rnd.IntN(200))
	rand.Read(m)
	return m
}

func (s *soak) signEC(ctx context.Context) error {
	id, k, err := s.pickKey(ctx, false)
	if err != nil {
		return err
	}
	return s.signWith(ctx, id, k)
}

func (s *soak) signRSA(ctx context.Context) error {
	id, k, err := s.pickKey(ctx, true)
	if err != nil {
		return err
	}
	return s.signWith(ctx, id, k)
}

// signWith signs a random message with key id and verifies the signature with Go's crypto:
// ECDSA, or RSA PKCS#1 v1.5 or PSS drawn at random.
func (s *soak) signWith(ctx context.Context, id byte, k *soakKey) error {
	if k.rsa {
		return s.signRSAWith(ctx, id, k)
	}
	key, err := s.client.Key(id, k.pub)
	if err != nil {
		return err
	}
	key.Context = ctx
	d := sha256.Sum256(s.message())
	sig, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("sign with %02X: %w", id, err)
	}
	if !ecdsa.VerifyASN1(k.pub.(*ecdsa.PublicKey), d[:], sig) {
		return fmt.Errorf("ECDSA signature of key %02X does not verify", id)
	}
	return nil
}

func (s *soak) signRSAWith(ctx context.Context, id byte, k *soakKey) error {
	key, err := s.client.Key(id, k.pub)
	if err != nil {
		return err
	}
	key.Context = ctx
	d := sha256.Sum256(s.message())
	pub := k.pub.(*rsa.PublicKey)
	if s.rnd.IntN(2) == 0 {
		sig, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			return fmt.Errorf("PKCS#1 sign with %02X: %w", id, err)
		}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig)
	}
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := key.Sign(rand.Reader, d[:], opts)
	if err != nil {
		return fmt.Errorf("PSS sign with %02X: %w", id, err)
	}
	return rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, opts)
}

func (s *soak) decrypt(ctx context.Context) error {
	id, k, err := s.pickKey(ctx, true)
	if err != nil {
		return err
	}
	key, err := s.client.RSAKey(id, k.pub.(*rsa.PublicKey))
	if err != nil {
		return err
	}
	key.Key.Context = ctx
	msg := make([]byte, 32)
	rand.Read(msg)
	var (
		c    []byte
		opts crypto.DecrypterOpts
	)
	if s.rnd.IntN(2) == 0 {
		c, err = rsa.EncryptPKCS1v15(rand.Reader, k.pub.(*rsa.PublicKey), msg)
	} else {
		o := &rsa.OAEPOptions{Hash: crypto.SHA256}
		c, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, k.pub.(*rsa.PublicKey), msg, nil)
		opts = o
	}
	if err != nil {
		return err
	}
	got, err := key.Decrypt(rand.Reader, c, opts)
	if err != nil {
		return fmt.Errorf("decrypt with %02X: %w", id, err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("decrypt with %02X: wrong plaintext", id)
	}
	return nil
}

func (s *soak) ecdhOp(ctx context.Context) error {
	id, k, err := s.pickKey(ctx, false)
	if err != nil {
		return err
	}
	key, err := s.client.Key(id, k.pub)
	if err != nil {
		return err
	}
	key.Context = ctx
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	got, err := key.ECDH(peer.PublicKey())
	if err != nil {
		return fmt.Errorf("ECDH with %02X: %w", id, err)
	}
	cardPub, err := k.pub.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		return err
	}
	want, err := peer.ECDH(cardPub)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("ECDH with %02X: shared secret differs from Go's", id)
	}
	return nil
}

// Data objects: private data objects CD01..CD10 (user PIN to read and write).
func (s *soak) objectID() uint16 { return 0xCD01 + uint16(s.rnd.IntN(16)) }

func (s *soak) writeObject(ctx context.Context) error {
	fid := s.objectID()
	data := make([]byte, 1+s.rnd.IntN(2000))
	rand.Read(data)
	if err := s.client.WriteFile(ctx, fid, data); err != nil {
		return fmt.Errorf("write %04X (%d bytes): %w", fid, len(data), err)
	}
	s.objects[fid] = data
	return nil
}

func (s *soak) readObject(ctx context.Context) error {
	fid := s.objectID()
	want, ok := s.objects[fid]
	got, err := s.client.ReadFile(ctx, fid)
	if !ok {
		if err == nil {
			return fmt.Errorf("read %04X: present, but never written or deleted", fid)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %04X: %w", fid, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("read %04X: %d bytes differ from the %d written", fid, len(got), len(want))
	}
	return nil
}

func (s *soak) deleteObject(ctx context.Context) error {
	fid := s.objectID()
	_, ok := s.objects[fid]
	err := s.client.DeleteFile(ctx, fid)
	if ok && err != nil {
		return fmt.Errorf("delete %04X: %w", fid, err)
	}
	if !ok && err == nil {
		return fmt.Errorf("delete %04X: succeeded on an object that does not exist", fid)
	}
	delete(s.objects, fid)
	return nil
}

// changePIN changes the user PIN to a fresh one, checks the old one is refused in a new
// session... without spending its retries: it only verifies the new PIN.
func (s *soak) changePIN(ctx context.Context) error {
	next := []byte(fmt.Sprintf("%06d", s.rnd.IntN(1000000)))
	if err := s.client.ChangePIN(ctx, hsm.UserPIN, s.pin, next); err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	s.pin = next
	return s.login(ctx)
}
