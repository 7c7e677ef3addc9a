package main

// lock: the secure lock (pico-hsm-extensions.md 3.8). The host secret is 32 random bytes in a
// file the user controls (created 0600 by `lock new-secret`, refused when others can read it).
// enable and disable need the user PIN and the SO-PIN: the device re-wraps its master key
// under both. unlock opens the keys for this tool's session only (the next SELECT, i.e. the
// next tool, needs it again); clients that use the keys send it themselves (hsm.LockUnlock).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

func cmdLockNewSecret(args []string, stdout io.Writer) error {
	fs := newFlagSet("lock new-secret")
	out := fs.String("o", "", "write the secret to `FILE` (created, mode 0600; never overwritten)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("want -o FILE")
	}
	s, err := hsm.NewLockSecret()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(s); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lock secret written to %s (keep it: without it the locked device's keys are unusable)\n", *out)
	return nil
}

// readLockSecret reads a secret file: exactly 32 bytes, not readable by group or others.
func readLockSecret(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v lets others read the lock secret; chmod 600 it", name, st.Mode().Perm())
	}
	s, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(s) != hsm.LockSecretSize {
		return nil, fmt.Errorf("%s: %d bytes, a lock secret has %d", name, len(s), hsm.LockSecretSize)
	}
	return s, nil
}

func cmdLock(op string) func(args []string, stdout io.Writer) error {
	return func(args []string, stdout io.Writer) error {
		fs := newFlagSet("lock " + op)
		reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
		file := fs.String("secret-file", "", "the host secret `FILE` (lock new-secret)")
		pin := fs.String("pin", "", "the user PIN (- reads it from standard input)")
		soPIN := fs.String("so-pin", "", "the SO-PIN, 16 hex digits (- reads it from standard input)")
		if err := noPositional(fs, args); err != nil {
			return err
		}
		if *file == "" {
			return usagef("want --secret-file FILE")
		}
		needPINs := op != "unlock"
		sr := &secretReader{}
		var userP, soP []byte
		var err error
		if needPINs || *pin != "" {
			if userP, err = sr.userPIN("pin", *pin); err != nil {
				return err
			}
		}
		if needPINs {
			if soP, err = sr.soPIN("so-pin", *soPIN); err != nil {
				return err
			}
		}
		secret, err := readLockSecret(*file)
		if err != nil {
			return err
		}
		return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
			if userP != nil {
				if err := c.Verify(ctx, hsm.UserPIN, userP); err != nil {
					return err
				}
			}
			if soP != nil {
				if err := c.Verify(ctx, hsm.SOPIN, soP); err != nil {
					return err
				}
			}
			switch op {
			case "enable":
				err = c.LockEnable(ctx, secret)
			case "unlock":
				err = c.LockUnlock(ctx, secret)
			default:
				err = c.LockDisable(ctx, secret)
			}
			if err != nil {
				return err
			}
			info, err := c.SelectApplet(ctx) // a SELECT ends the session; the option word says the state
			if err != nil {
				return err
			}
			if !info.HasOptions {
				return errors.New("the device reports no options")
			}
			state := "unlocked"
			if info.Options&hsm.OptionSecureLock != 0 {
				state = "locked"
			}
			fmt.Fprintf(stdout, "secure lock %s: device %s\n", op, state)
			return nil
		})
	}
}
