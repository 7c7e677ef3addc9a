package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
	"github.com/pico-hsm/pico-hsm/host/transport/pcsc"
)

// openReader connects to the card in the first reader whose name contains the argument
// (the first reader holding a card when it is empty). Tests replace it.
var openReader = pcsc.Open

// maxRandom bounds the random command; chunk is the most asked in one GET CHALLENGE, as
// OpenSC does (section 2.16).
const (
	maxRandom   = 65536
	randomChunk = 1024
)

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}

// withCard opens the reader, selects the applet and runs fn.
func withCard(reader string, fn func(ctx context.Context, t transport.Transport, c *hsm.Client, info *hsm.AppletInfo) error) (err error) {
	t, err := openReader(reader)
	if err != nil {
		return fmt.Errorf("open reader: %w", err)
	}
	defer func() {
		if cerr := t.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close reader: %w", cerr)
		}
	}()
	ctx := context.Background()
	if secureMessaging {
		t = &secureAfterLogin{Transport: t}
	}
	c := hsm.New(t)
	info, err := c.SelectApplet(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, t, c, info)
}

// cmdInfo prints the ATR and what the applet's FCP tells.
func cmdInfo(args []string, stdout io.Writer) error {
	fs := newFlagSet("info")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return withCard(*reader, func(_ context.Context, t transport.Transport, _ *hsm.Client, info *hsm.AppletInfo) error {
		fmt.Fprintf(stdout, "ATR:     %s\n", strings.ToUpper(hex.EncodeToString(t.ATR())))
		fmt.Fprintf(stdout, "applet:  %s\n", info.Name())
		fmt.Fprintf(stdout, "version: %s\n", info.Version())
		if info.HasOptions {
			fmt.Fprintf(stdout, "options: %04x%s\n", info.Options, describeOptions(info.Options))
		}
		return nil
	})
}

func describeOptions(o uint16) string {
	var names []string
	for _, b := range []struct {
		bit  uint16
		name string
	}{
		{hsm.OptionResetRetryCounter, "user PIN reset with SO-PIN"},
		{hsm.OptionTransportPIN, "transport PIN"},
		{hsm.OptionSessionPIN, "session PIN"},
	} {
		if o&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// cmdRandom prints N bytes from the card's random number generator as hex.
func cmdRandom(args []string, stdout io.Writer) error {
	fs := newFlagSet("random")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one byte count, got %d arguments", len(pos))
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 1 || n > maxRandom {
		return usagef("byte count must be 1..%d, got %q", maxRandom, pos[0])
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		out := make([]byte, 0, n)
		for len(out) < n {
			b, err := c.GetChallenge(ctx, min(n-len(out), randomChunk))
			if err != nil {
				return err
			}
			out = append(out, b...)
		}
		fmt.Fprintln(stdout, hex.EncodeToString(out))
		return nil
	})
}
