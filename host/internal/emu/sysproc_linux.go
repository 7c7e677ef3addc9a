package emu

import "syscall"

// ChildSysProcAttr asks the kernel to SIGTERM a child (the emulator, a pcscd started by a
// test) if the test or tool that started it dies, so nothing is left running.
func ChildSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
