// Command pico-hsm-bench measures a Pico HSM: by default the APDU round trip (N GET
// CHALLENGE commands, 00 84 00 00 08, spec 2.16, median/p90/p99/max/mean in microseconds);
// with --op the latency of key generation, signing, decryption or ECDH as OpenSC sends them
// (spec 2.11-2.13; median/p90/min/max/mean in milliseconds).
//
//	pico-hsm-bench [--via pcsc|vpcd] [--reader NAME] [--n 1000] [--emu PATH]
//	pico-hsm-bench --op keygen|sign|decrypt|ecdh --key rsa:2048|ec:secp256r1 [--n 20] [--pin PIN] ...
//
// --via pcsc (default) goes through pcscd to the first reader whose name contains NAME (any
// reader holding a card when empty): with `make run`, the emulator behind vpcd. --via vpcd
// starts the emulator itself on a free loopback port with a temporary flash file and talks
// to it directly, without pcscd, so the two paths can be compared.
//
// Key operations log in with --pin (through pcscd the card must have been initialised, for
// example with sc-hsm-tool; a fresh --via vpcd emulator is initialised with --pin and
// --so-pin). sign, decrypt and ecdh first generate one key, untimed; keygen times each
// generation. The key goes to the lowest free key slot and is deleted at the end, also
// after each keygen round; it has no PKCS#15 files, so OpenSC never shows it.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport"
	"github.com/pico-hsm/pico-hsm/host/transport/pcsc"
)

var (
	selectAID    = []byte{0x00, 0xA4, 0x04, 0x0C, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01}
	getChallenge = []byte{0x00, 0x84, 0x00, 0x00, 0x08}
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pico-hsm-bench:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pico-hsm-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	via := fs.String("via", "pcsc", "path to the card: `pcsc` (through pcscd) or vpcd (start the emulator, direct)")
	reader := fs.String("reader", "", "with --via pcsc: the first reader whose name contains `NAME`")
	n := fs.Int("n", 1000, "number of timed round trips (key operations: default 20)")
	warmup := fs.Int("warmup", 50, "untimed round trips first (key operations: default 2)")
	emuPath := fs.String("emu", "", "with --via vpcd: emulator binary (default $PICO_HSM_EMU, else build/emu/pico-hsm-emu above the current directory)")
	op := fs.String("op", "challenge", "what to time: `challenge` (APDU round trip), keygen, sign, decrypt or ecdh")
	keyFlag := fs.String("key", "", "with a key --op: `rsa:BITS` (1024..4096) or ec:CURVE (secp256r1, brainpoolP256r1, ...)")
	pin := fs.String("pin", "", "with a key --op: the user `PIN` (--via vpcd: default 648219, also set at initialisation)")
	soPIN := fs.String("so-pin", "3537363231383830", "with a key --op and --via vpcd: the SO-PIN the fresh emulator is initialised with (16 hex digits)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var (
		spec keySpec
		so   []byte
	)
	switch *op {
	case "challenge":
	case "keygen", "sign", "decrypt", "ecdh":
		var err error
		if spec, err = parseKeySpec(*keyFlag); err != nil {
			return err
		}
		if (*op == "decrypt" && spec.curve != nil) || (*op == "ecdh" && spec.curve == nil) {
			return fmt.Errorf("--op %s does not apply to %s", *op, spec)
		}
		if !set["n"] {
			*n = 20
		}
		if !set["warmup"] {
			*warmup = 2
		}
		if *via == "vpcd" && *pin == "" {
			*pin = "648219"
		}
		if so, err = hex.DecodeString(*soPIN); err != nil || len(so) != hsm.SOPINLen {
			return fmt.Errorf("--so-pin: want 16 hex digits")
		}
	default:
		return fmt.Errorf("--op %q: want challenge, keygen, sign, decrypt or ecdh", *op)
	}
	if *n < 1 || *warmup < 0 {
		return fmt.Errorf("--n must be >= 1 and --warmup >= 0")
	}

	var (
		t    transport.Transport
		desc string
	)
	switch *via {
	case "pcsc":
		tr, err := pcsc.Open(*reader)
		if err != nil {
			return err
		}
		defer tr.Close()
		t, desc = tr, fmt.Sprintf("via pcscd (%v)", tr)
	case "vpcd":
		card, cleanup, err := startEmulator(ctx, *emuPath)
		if err != nil {
			return err
		}
		defer cleanup()
		t, desc = card, fmt.Sprintf("via vpcd, direct (emulator pid %d on %s)", card.Proc.Pid(), card.Addr())
	default:
		return fmt.Errorf("--via %q: want pcsc or vpcd", *via)
	}

	if *op != "challenge" {
		b := keyBench{op: *op, spec: spec, n: *n, warmup: *warmup, pin: []byte(*pin), soPIN: so, initialize: *via == "vpcd"}
		return b.run(ctx, t, desc, stdout)
	}
	if err := expect(ctx, t, selectAID, 0); err != nil {
		return fmt.Errorf("select applet: %w", err)
	}
	for i := 0; i < *warmup; i++ {
		if err := expect(ctx, t, getChallenge, 8); err != nil {
			return err
		}
	}
	samples := make([]time.Duration, *n)
	for i := range samples {
		start := time.Now()
		resp, err := t.Transmit(ctx, getChallenge)
		samples[i] = time.Since(start)
		if err != nil {
			return fmt.Errorf("round trip %d: %w", i+1, err)
		}
		if err := checkResp(resp, 8); err != nil {
			return fmt.Errorf("round trip %d: %w", i+1, err)
		}
	}
	fmt.Fprintf(stdout, "%s: %d x GET CHALLENGE %X\n", desc, *n, getChallenge)
	fmt.Fprintf(stdout, "round trip: %v\n", summarize(samples))
	return nil
}

// startEmulator runs the emulator on a temporary flash file against a private reader.
func startEmulator(ctx context.Context, path string) (*emu.Card, func(), error) {
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, err
		}
		if path, err = emu.FindUpward(wd); err != nil {
			return nil, nil, err
		}
	}
	dir, err := os.MkdirTemp("", "pico-hsm-bench-")
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	card, err := emu.StartCard(cctx, path, filepath.Join(dir, "emu.flash"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return card, func() {
		if err := card.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pico-hsm-bench: stop emulator:", err)
		}
		os.RemoveAll(dir)
	}, nil
}

func expect(ctx context.Context, t transport.Transport, apdu []byte, n int) error {
	resp, err := t.Transmit(ctx, apdu)
	if err != nil {
		return err
	}
	return checkResp(resp, n)
}

// checkResp wants n data bytes and 90 00.
func checkResp(resp []byte, n int) error {
	if len(resp) != n+2 || !bytes.Equal(resp[n:], []byte{0x90, 0x00}) {
		return fmt.Errorf("unexpected answer %X (want %d bytes and 9000)", resp, n)
	}
	return nil
}
