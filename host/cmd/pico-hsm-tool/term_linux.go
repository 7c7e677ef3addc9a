package main

import (
	"os"
	"syscall"
	"unsafe"
)

func termios(f *os.File) (syscall.Termios, bool) {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return t, errno == 0
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, ok := termios(f)
	return ok
}

// echoOff turns the terminal's echo off and returns the function that restores it.
func echoOff(f *os.File) (restore func()) {
	old, ok := termios(f)
	if !ok {
		return func() {}
	}
	t := old
	t.Lflag &^= syscall.ECHO
	syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(&t)))
	return func() {
		syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(&old)))
	}
}
