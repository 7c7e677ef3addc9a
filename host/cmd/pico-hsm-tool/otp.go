package main

// otp status|provision: the chip's OTP root that binds the PIN keys to the chip (Pico HSM's
// own EXTRAS F0; docs/security.md).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

func boundText(b bool) string {
	if b {
		return "bound to the OTP root"
	}
	return "not bound"
}

// cmdOTPStatus prints the OTP root's state and which PIN wraps are bound to it.
func cmdOTPStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("otp status")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		st, err := c.OTPStatus(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "otp root: %s\n", st.State)
		fmt.Fprintf(stdout, "user PIN: %s\n", boundText(st.UserBound))
		fmt.Fprintf(stdout, "SO-PIN:   %s\n", boundText(st.SOBound))
		return nil
	})
}

// promptOut is where confirm asks. Tests replace it.
var promptOut io.Writer = os.Stderr

// confirm asks on stderr and reads one line from the same standard input the "-" PINs come
// from (after them); only "yes" confirms.
func confirm(sr *secretReader, question string) error {
	fmt.Fprintf(promptOut, "%s Type yes to continue: ", question)
	if sr.br == nil {
		sr.br = bufio.NewReader(stdin)
	}
	line, err := sr.br.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return usagef("not confirmed (no answer on standard input; --yes skips the question)")
	}
	if strings.TrimSpace(line) != "yes" {
		return errors.New("not confirmed: nothing was written")
	}
	return nil
}

// cmdOTPProvision writes the OTP root, after a confirmation unless --yes.
func cmdOTPProvision(args []string, stdout io.Writer) error {
	fs := newFlagSet("otp provision")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	so := fs.String("so-pin", "", "SO-PIN, 16 hex digits (- reads it from standard input)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	sr := &secretReader{}
	soP, err := sr.soPIN("so-pin", *so)
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		st, err := c.OTPStatus(ctx)
		if err != nil {
			return err
		}
		switch st.State {
		case hsm.OTPAbsent:
			return errors.New("this chip has no OTP (RP2040): the flash-only model applies")
		case hsm.OTPReady, hsm.OTPPending:
			return errors.New("already provisioned")
		case hsm.OTPDamaged:
			return errors.New("the OTP root is damaged and can never be written")
		}
		if !*yes {
			if err := confirm(sr, "This writes a random secret into the chip's OTP and locks it: "+
				"irreversible, and from then on this device's flash is useless on any other chip."); err != nil {
				return err
			}
		}
		err = c.ProvisionOTP(ctx, soP)
		switch {
		case errors.Is(err, apdu.ErrMemoryFailure):
			return fmt.Errorf("%w (an OTP write failed: see otp status — damaged: the flash-only model continues; pending: the next boot finishes the lock)", err)
		case err != nil:
			return err
		}
		fmt.Fprintln(stdout, "otp: provisioned; SO-PIN bound now, the user PIN at its next verify")
		return nil
	})
}
