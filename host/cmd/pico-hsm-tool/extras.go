package main

// hd, clock, options, rescue: the Pico HSM extensions (pico-hsm-extensions.md 2, 3.1-3.5,
// 3.9).

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// labelList collects repeated --label flags.
type labelList [][]byte

func (l *labelList) String() string { return fmt.Sprint(len(*l)) }
func (l *labelList) Set(v string) error {
	*l = append(*l, []byte(v))
	return nil
}

func parseMasterID(s string) (byte, error) {
	v, err := strconv.ParseUint(s, 0, 8)
	if err != nil || v >= hsm.HDMasters {
		return 0, usagef("--id %q: a master id is 0..%d", s, hsm.HDMasters-1)
	}
	return byte(v), nil
}

// hdPathArg builds the path from --path (BIP32/SLIP-10) or --label (SLIP-21).
func hdPathArg(id byte, path string, labels labelList) ([]byte, error) {
	if path != "" && len(labels) > 0 {
		return nil, usagef("--path and --label exclude each other")
	}
	if len(labels) > 0 {
		p, err := hsm.SLIP21Path(id, labels...)
		if err != nil {
			return nil, usagef("--label: %v", err)
		}
		return p, nil
	}
	if path == "" {
		path = "m"
	}
	idx, err := hsm.ParseBIP32Path(path)
	if err != nil {
		return nil, usagef("--path: %v", err)
	}
	return hsm.BIP32Path(id, idx), nil
}

func cmdHDMaster(args []string, stdout io.Writer) error {
	fs := newFlagSet("hd master")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "master id 0..9")
	typ := fs.String("type", "", "secp256k1 (BIP32), p256 (SLIP-10 nist256p1) or slip21")
	seedArg := fs.String("seed", "", "seed in hex (at most 64 bytes); without it the device draws 64 random bytes")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseMasterID(*idArg)
	if err != nil {
		return err
	}
	types := map[string]hsm.HDType{"secp256k1": hsm.HDSecp256k1, "p256": hsm.HDP256, "nist256p1": hsm.HDP256, "slip21": hsm.HDSymmetric}
	t, ok := types[strings.ToLower(*typ)]
	if !ok {
		return usagef("--type %q: secp256k1, p256 or slip21", *typ)
	}
	seed, err := hex.DecodeString(*seedArg)
	if err != nil || len(seed) > 64 {
		return usagef("--seed: at most 64 bytes in hex")
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if err := c.CreateHDMaster(ctx, t, id, seed); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "master %d: %s\n", id, *typ)
		return nil
	})
}

func cmdHDDerive(args []string, stdout io.Writer) error {
	fs := newFlagSet("hd derive")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "master id 0..9")
	path := fs.String("path", "", "BIP32 path, e.g. m/44h/0h/0h/0/1")
	var labels labelList
	fs.Var(&labels, "label", "SLIP-21 label (repeat for each level)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseMasterID(*idArg)
	if err != nil {
		return err
	}
	p, err := hdPathArg(id, *path, labels)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		k, err := c.DeriveHD(ctx, p)
		if err != nil {
			return err
		}
		if len(k.Raw) == 78 {
			fmt.Fprintf(stdout, "xpub:        %s\n", k)
			fmt.Fprintf(stdout, "public key:  %X\n", k.Key)
			fmt.Fprintf(stdout, "chain code:  %X\n", k.ChainCode)
		} else {
			fmt.Fprintf(stdout, "SHA256d(key):   %X\n", k.Key)
			fmt.Fprintf(stdout, "SHA256d(chain): %X\n", k.ChainCode)
		}
		fmt.Fprintf(stdout, "depth %d, parent fingerprint %X, child %08X\n", k.Depth, k.ParentFingerprint, k.ChildNumber)
		return nil
	})
}

func cmdHDSign(args []string, stdout io.Writer) error {
	fs := newFlagSet("hd sign")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "master id 0..9")
	path := fs.String("path", "", "BIP32 path of the signing node")
	in := fs.String("i", "", "the digest to sign (1..64 bytes, e.g. a SHA-256 hash): `FILE`")
	out := fs.String("o", "", "write the DER signature to `FILE` instead of standard output")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseMasterID(*idArg)
	if err != nil {
		return err
	}
	p, err := hdPathArg(id, *path, nil)
	if err != nil {
		return err
	}
	if *in == "" {
		return usagef("missing -i FILE")
	}
	digest, err := readInput(*in, *pin)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if err := c.SelectHD(ctx, p); err != nil {
			return err
		}
		sig, err := c.SignHD(ctx, 0, digest)
		if err != nil {
			return err
		}
		return writeOutput(*out, sig, stdout)
	})
}

func cmdClock(args []string, stdout io.Writer, setIt bool) error {
	fs := newFlagSet("clock")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	at := fs.String("time", "now", "RFC 3339 time to set, or now")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	t := time.Now()
	if setIt && *at != "now" {
		var err error
		if t, err = time.Parse(time.RFC3339, *at); err != nil {
			return usagef("--time: %v", err)
		}
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if setIt {
			return c.SetClock(ctx, t)
		}
		now, err := c.Clock(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, now.Format(time.RFC3339))
		return nil
	})
}

func cmdClockGet(args []string, stdout io.Writer) error { return cmdClock(args, stdout, false) }
func cmdClockSet(args []string, stdout io.Writer) error { return cmdClock(args, stdout, true) }

var optionNames = map[string]uint16{"button": hsm.OptPressToConfirm, "counter": hsm.OptCounterAllKeys}

func cmdOptionsGet(args []string, stdout io.Writer) error {
	fs := newFlagSet("options get")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		o, err := c.Options(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "options: %04x\n", o)
		for _, n := range []string{"button", "counter"} {
			fmt.Fprintf(stdout, "%-8s %v\n", n+":", o&optionNames[n] != 0)
		}
		fmt.Fprintf(stdout, "lock:    %v\n", o&hsm.OptSecureLock != 0)
		return nil
	})
}

func cmdOptionsSet(args []string, stdout io.Writer) error {
	fs := newFlagSet("options set")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[1] != "on" && pos[1] != "off") {
		return usagef("options set: want OPTION on|off (OPTION: button, counter)")
	}
	bit, ok := optionNames[pos[0]]
	if !ok {
		return usagef("options set: unknown option %q (button, counter)", pos[0])
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		return c.SetOption(ctx, bit, pos[1] == "on")
	})
}

func cmdRescue(args []string, stdout io.Writer, what string) error {
	fs := newFlagSet("rescue " + what)
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	bootsel := false
	if what == "reboot" {
		fs.BoolVar(&bootsel, "bootloader", false, "reboot into the ROM loader (confirm on the device)")
	}
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		info, err := c.SelectRescue(ctx)
		if err != nil {
			return err
		}
		switch what {
		case "info":
			platforms := map[byte]string{0: "RP2040", 1: "RP2350", 2: "ESP32-S3", 3: "emulation"}
			fmt.Fprintf(stdout, "platform: %s (%02X)\nproduct:  %02X\nversion:  %d.%d\nchip id:  %X\n",
				platforms[info.Platform], info.Platform, info.Product, info.Major, info.Minor, info.ChipID)
		case "memory":
			m, err := c.RescueFlashInfo(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "free %d, used %d, total %d bytes; %d objects; flash %d bytes; firmware %d bytes\n",
				m.Free, m.Used, m.Total, m.Files, m.FlashSize, m.FirmwareSize)
		case "reboot":
			return c.RescueReboot(ctx, bootsel)
		}
		return nil
	})
}

func cmdRescueInfo(args []string, stdout io.Writer) error   { return cmdRescue(args, stdout, "info") }
func cmdRescueMemory(args []string, stdout io.Writer) error { return cmdRescue(args, stdout, "memory") }
func cmdRescueReboot(args []string, stdout io.Writer) error { return cmdRescue(args, stdout, "reboot") }
