//go:build !linux

package emu

import "syscall"

// ChildSysProcAttr returns nil: only Linux has a parent-death signal.
func ChildSysProcAttr() *syscall.SysProcAttr { return nil }
