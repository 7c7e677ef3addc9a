package main

// PINs on the command line: given in a flag, or "-" to read them from standard input, one
// line each, so that they stay out of the process list and the shell history. A PIN is never
// printed, not even in an error message.

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/hsm"
)

// stdin is where "-" PINs are read from. Tests replace it.
var stdin io.Reader = os.Stdin

// secretReader reads the "-" values of one command line from stdin, in flag order. When stdin
// is a terminal it prompts on stderr and turns the terminal's echo off while a PIN is typed.
type secretReader struct {
	br *bufio.Reader
}

// value returns the flag's value, reading a line from stdin when it is "-".
func (s *secretReader) value(name, v string) ([]byte, error) {
	if v != "-" {
		return []byte(v), nil
	}
	if s.br == nil {
		s.br = bufio.NewReader(stdin)
	}
	f, isFile := stdin.(*os.File)
	if isFile && isTerminal(f) {
		fmt.Fprintf(os.Stderr, "%s: ", name)
		restore := echoOff(f)
		defer func() {
			restore()
			fmt.Fprintln(os.Stderr)
		}()
	}
	line, err := s.br.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return nil, usagef("--%s -: standard input ended before the value", name)
		}
		return nil, fmt.Errorf("read --%s from standard input: %w", name, err)
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

// userPIN reads and checks a user PIN flag (6..16 bytes, spec 3.8).
func (s *secretReader) userPIN(name, v string) ([]byte, error) {
	if v == "" {
		return nil, usagef("missing --%s", name)
	}
	p, err := s.value(name, v)
	if err != nil {
		return nil, err
	}
	if n := len(p); n < hsm.MinPINLen || n > hsm.MaxPINLen {
		return nil, usagef("--%s must be %d to %d characters, got %d", name, hsm.MinPINLen, hsm.MaxPINLen, n)
	}
	return p, nil
}

// soPIN reads and decodes an SO-PIN flag: 16 hex digits, 8 bytes on the wire (spec 3.8).
func (s *secretReader) soPIN(name, v string) ([]byte, error) {
	if v == "" {
		return nil, usagef("missing --%s", name)
	}
	p, err := s.value(name, v)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(string(p))
	if err != nil || len(b) != hsm.SOPINLen {
		return nil, usagef("--%s must be %d hexadecimal digits", name, 2*hsm.SOPINLen)
	}
	return b, nil
}
