// Command pico-hsm-tool builds and checks Pico HSM firmware images and talks to a Pico HSM
// through a PC/SC reader.
//
//	pico-hsm-tool uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf
//	pico-hsm-tool uf2-info FILE.uf2
//	pico-hsm-tool info [--reader NAME]
//	pico-hsm-tool random [--reader NAME] N
//
// On failure it writes exactly one line, "pico-hsm-tool: <what failed>: <why>", to stderr
// and exits with status 2 for a usage error, 1 otherwise.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: pico-hsm-tool <command> [arguments]

commands:
  uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf   convert a firmware ELF file to UF2
  uf2-info FILE.uf2                             check a UF2 file and describe it
  info [--reader NAME]                          show the applet of the card in a reader
  random [--reader NAME] N                      print N random bytes from the card, in hex

--reader selects the first reader whose name contains NAME; without it, the first reader
holding a card is used.
`

// command is one subcommand: its usage line and its body. args excludes the command name.
type command struct {
	synopsis string
	run      func(args []string, stdout io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"uf2":      {"uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf", cmdUF2},
		"uf2-info": {"uf2-info FILE.uf2", cmdUF2Info},
		"info":     {"info [--reader NAME]", cmdInfo},
		"random":   {"random [--reader NAME] N", cmdRandom},
	}
}

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// errHelp asks run to print a usage text on stdout and succeed.
var errHelp = errors.New("help requested")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stderr, usagef("no command given (see pico-hsm-tool help)"))
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		return fail(stderr, usagef("unknown command %q (see pico-hsm-tool help)", name))
	}
	err := cmd.run(args[1:], stdout)
	if errors.Is(err, errHelp) {
		fmt.Fprintf(stdout, "usage: pico-hsm-tool %s\n", cmd.synopsis)
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w (usage: pico-hsm-tool %s)", name, err, cmd.synopsis)
	} else if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return fail(stderr, err)
}

// fail writes err as the one diagnostic line and returns the exit status for it.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // keep it on one line
	fmt.Fprintf(stderr, "pico-hsm-tool: %s\n", msg)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// parseArgs parses flags that may come before, between or after the positional
// arguments, and returns the positional ones. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
