//go:build !linux

package emu

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
