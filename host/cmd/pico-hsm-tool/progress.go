package main

// "Long operations show life": while a key is generated (RSA-4096 takes seconds on the
// emulator, minutes on a device) a line on stderr shows a spinner and the elapsed time, once
// per second, and is erased when the operation ends. Only on a terminal: a script or a log
// gets no progress noise, and stderr keeps its one-line-on-failure contract.

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

var (
	// progressOut receives the progress line; nil disables it. Tests replace it.
	progressOut io.Writer = terminalStderr()
	// progressTick is the update interval.
	progressTick = time.Second
)

func terminalStderr() io.Writer {
	if isTerminal(os.Stderr) {
		return os.Stderr
	}
	return nil
}

var spinner = []rune{'|', '/', '-', '\\'}

// startProgress shows "<what> <spinner> <elapsed>" after the first tick, rewritten every tick,
// and returns the function that stops it and erases the line. Operations faster than a tick
// show nothing.
func startProgress(what string) (stop func()) {
	w := progressOut
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		shown, n := 0, 0
		for {
			select {
			case <-done:
				if shown > 0 {
					fmt.Fprintf(w, "\r%*s\r", shown, "")
				}
				return
			case <-t.C:
				line := fmt.Sprintf("%s %c %ds", what, spinner[n%len(spinner)], int(time.Since(start).Round(time.Second)/time.Second))
				n++
				pad := max(shown-len(line), 0)
				fmt.Fprintf(w, "\r%s%*s", line, pad, "")
				shown = len(line) + pad
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
