//go:build !linux

package main

import "os"

// isTerminal is false where the echo cannot be controlled: no prompt is shown, and a PIN
// typed on a terminal is echoed. Pipe it in instead.
func isTerminal(*os.File) bool { return false }

func echoOff(*os.File) func() { return func() {} }
