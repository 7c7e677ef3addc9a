package main

// The files commands: ENUMERATE OBJECTS, READ BINARY, UPDATE BINARY and DELETE FILE
// (spec 2.2-2.5) on the application's files (3.1).

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// maxFileArg bounds what files write accepts: the card's offsets are 2 bytes.
const maxFileArg = 65536

// parseFID reads a file identifier written as 4 hex digits (CF01).
func parseFID(s string) (uint16, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 2 {
		return 0, usagef("file identifier must be 4 hex digits, got %q", s)
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

// withLogin is withCard that verifies the user PIN first when pin is given (files read of
// protected data, files write, files delete need it).
func withLogin(reader, pin string, fn func(ctx context.Context, c *hsm.Client) error) error {
	var p []byte
	if pin != "" {
		var err error
		if p, err = (&secretReader{}).userPIN("pin", pin); err != nil {
			return err
		}
	}
	return withCard(reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		if p != nil {
			if err := c.Verify(ctx, hsm.UserPIN, p); err != nil {
				return err
			}
		}
		return fn(ctx, c)
	})
}

// cmdFilesList prints the identifiers ENUMERATE OBJECTS lists, one per line.
func cmdFilesList(args []string, stdout io.Writer) error {
	fs := newFlagSet("files list")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		ids, err := c.ListObjects(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			fmt.Fprintf(stdout, "%04X\n", id)
		}
		return nil
	})
}

// cmdFilesRead writes the content of a file to stdout, or to -o FILE.
func cmdFilesRead(args []string, stdout io.Writer) error {
	fs := newFlagSet("files read")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	out := fs.String("o", "", "write the content to `FILE` instead of standard output")
	fid, err := oneFIDArg(fs, args)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		b, err := c.ReadFile(ctx, fid)
		if err != nil {
			return err
		}
		if *out != "" {
			return writeFileAtomicMode(*out, b, 0o600) // it may be protected data
		}
		_, err = stdout.Write(b)
		return err
	})
}

// cmdFilesWrite replaces the content of a file (creating it) with the content of FILE.
func cmdFilesWrite(args []string, _ io.Writer) error {
	fs := newFlagSet("files write")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want a file identifier and a file, got %d arguments", len(pos))
	}
	fid, err := parseFID(pos[0])
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	if len(data) > maxFileArg {
		return fmt.Errorf("%s has %d bytes, more than a file can hold", pos[1], len(data))
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		return c.WriteFile(ctx, fid, data)
	})
}

// cmdFilesDelete deletes a file.
func cmdFilesDelete(args []string, _ io.Writer) error {
	fs := newFlagSet("files delete")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	fid, err := oneFIDArg(fs, args)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		return c.DeleteFile(ctx, fid)
	})
}

// oneFIDArg parses the flags and exactly one positional file identifier.
func oneFIDArg(fs *flag.FlagSet, args []string) (uint16, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) != 1 {
		return 0, usagef("want exactly one file identifier, got %d arguments", len(pos))
	}
	return parseFID(pos[0])
}
