package emu

import "syscall"

// sysProcAttr asks the kernel to SIGTERM the emulator if the test or tool that started it
// dies, so no emulator is left reconnecting forever.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
