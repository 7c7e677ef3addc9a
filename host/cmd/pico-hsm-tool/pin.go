package main

// init and the pin commands: INITIALIZE (spec 2.9) and the PIN model (3.8).

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// cmdInit initialises the device: options 0001 (the SO-PIN may unblock the user PIN), plus
// 0002 with --transport-pin.
func cmdInit(args []string, _ io.Writer) error {
	fs := newFlagSet("init")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	so := fs.String("so-pin", "", "SO-PIN, 16 hex digits (- reads it from standard input)")
	pin := fs.String("pin", "", "user PIN, 6..16 characters (- reads it from standard input)")
	retries := fs.Int("retries", 3, "user PIN retry counter, 1..15")
	transportPIN := fs.Bool("transport-pin", false, "the user PIN must be changed before first use")
	shares := fs.Int("dkek-shares", -1, "number of DKEK shares, 0..255 (default: no DKEK)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *retries < 1 || *retries > hsm.MaxUserRetries {
		return usagef("--retries must be 1..%d, got %d", hsm.MaxUserRetries, *retries)
	}
	p := hsm.InitParams{Options: hsm.OptionResetRetryCounter, Retries: *retries}
	if *transportPIN {
		p.Options |= hsm.OptionTransportPIN
	}
	if set(fs, "dkek-shares") {
		if *shares < 0 || *shares > 255 {
			return usagef("--dkek-shares must be 0..255, got %d", *shares)
		}
		p.DKEKShares = shares
	}
	var sr secretReader
	var err error
	if p.SOPIN, err = sr.soPIN("so-pin", *so); err != nil {
		return err
	}
	if p.UserPIN, err = sr.userPIN("pin", *pin); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		return c.Initialize(ctx, p)
	})
}

// cmdPINStatus prints the state of both PINs (status queries: no try is spent).
func cmdPINStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("pin status")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		for _, ref := range []hsm.PINRef{hsm.UserPIN, hsm.SOPIN} {
			st, err := c.PINStatus(ctx, ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-9s %s\n", ref.String()+":", st)
		}
		return nil
	})
}

// cmdPINVerify checks the user PIN (or with --so the SO-PIN) and spends a try when it is
// wrong.
func cmdPINVerify(args []string, _ io.Writer) error {
	fs := newFlagSet("pin verify")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	so := fs.Bool("so", false, "verify the SO-PIN (16 hex digits) instead of the user PIN")
	pin := fs.String("pin", "", "the PIN (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	ref, p, err := pinFor(*so, "pin", *pin, &secretReader{})
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		return c.Verify(ctx, ref, p)
	})
}

// cmdPINChange replaces the user PIN (or with --so the SO-PIN); it also ends the transport
// PIN state.
func cmdPINChange(args []string, _ io.Writer) error {
	fs := newFlagSet("pin change")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	so := fs.Bool("so", false, "change the SO-PIN (16 hex digits) instead of the user PIN")
	pin := fs.String("pin", "", "the current PIN (- reads it from standard input)")
	newPIN := fs.String("new-pin", "", "the new PIN (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	sr := &secretReader{}
	ref, oldP, err := pinFor(*so, "pin", *pin, sr)
	if err != nil {
		return err
	}
	_, newP, err := pinFor(*so, "new-pin", *newPIN, sr)
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		return c.ChangePIN(ctx, ref, oldP, newP)
	})
}

// cmdPINUnblock resets the user PIN's retry counter with the SO-PIN (RESET RETRY COUNTER
// P1 01), or with --new-pin also sets a new user PIN (P1 00).
func cmdPINUnblock(args []string, _ io.Writer) error {
	fs := newFlagSet("pin unblock")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	so := fs.String("so-pin", "", "SO-PIN, 16 hex digits (- reads it from standard input)")
	newPIN := fs.String("new-pin", "", "new user PIN (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	sr := &secretReader{}
	soP, err := sr.soPIN("so-pin", *so)
	if err != nil {
		return err
	}
	mode := hsm.ResetWithSOPIN
	var newP []byte
	if set(fs, "new-pin") {
		if newP, err = sr.userPIN("new-pin", *newPIN); err != nil {
			return err
		}
		mode = hsm.ResetWithSOPINNewPIN
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		return c.ResetRetryCounter(ctx, mode, soP, newP)
	})
}

// pinFor reads the flag as an SO-PIN when so is set, as a user PIN otherwise.
func pinFor(so bool, name, v string, sr *secretReader) (hsm.PINRef, []byte, error) {
	if so {
		p, err := sr.soPIN(name, v)
		return hsm.SOPIN, p, err
	}
	p, err := sr.userPIN(name, v)
	return hsm.UserPIN, p, err
}

// noPositional parses args and refuses positional arguments.
func noPositional(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// set reports whether the flag name was given on the command line.
func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}
