package main

import (
	"bytes"
	"strings"
	"testing"
)

const (
	otpStatusCmd = "80 64 F0 00 00"
	otpProvision = "80 64 F0 01 08 " + soHex
)

func quietPrompt(t *testing.T) *bytes.Buffer {
	t.Helper()
	old := promptOut
	var b bytes.Buffer
	t.Cleanup(func() { promptOut = old })
	promptOut = &b
	return &b
}

func TestOTPStatus(t *testing.T) {
	useScript(t, selectEx, exchange{otpStatusCmd, "02 02 9000"})
	code, out := runTool(t, "otp", "status")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := "otp root: provisioned\nuser PIN: not bound\nSO-PIN:   bound to the OTP root\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestOTPProvision(t *testing.T) {
	const done = "otp: provisioned; SO-PIN bound now, the user PIN at its next verify\n"
	blank := exchange{otpStatusCmd, "01 00 9000"}
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		script []exchange
		code   int
		out    string
		asked  bool
	}{
		{"yes flag", []string{"--so-pin", so, "--yes"}, "", []exchange{selectEx, blank, {otpProvision, "9000"}}, 0, done, false},
		{"confirmed", []string{"--so-pin", so}, "yes\n", []exchange{selectEx, blank, {otpProvision, "9000"}}, 0, done, true},
		{"so-pin and answer on stdin", []string{"--so-pin", "-"}, so + "\nyes\n",
			[]exchange{selectEx, blank, {otpProvision, "9000"}}, 0, done, true},
		{"declined", []string{"--so-pin", so}, "no\n", []exchange{selectEx, blank}, 1, "", true},
		{"no answer", []string{"--so-pin", so}, "", []exchange{selectEx, blank}, 2, "", true},
		{"wrong so-pin", []string{"--so-pin", so, "--yes"}, "", []exchange{selectEx, blank, {otpProvision, "63CE"}}, 1, "", false},
		{"write failed", []string{"--so-pin", so, "--yes"}, "", []exchange{selectEx, blank, {otpProvision, "6581"}}, 1, "", false},
		{"already", []string{"--so-pin", so, "--yes"}, "", []exchange{selectEx, {otpStatusCmd, "02 03 9000"}}, 1, "", false},
		{"no otp", []string{"--so-pin", so}, "", []exchange{selectEx, {otpStatusCmd, "00 00 9000"}}, 1, "", false},
		{"damaged", []string{"--so-pin", so}, "", []exchange{selectEx, {otpStatusCmd, "04 00 9000"}}, 1, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			useScript(t, tc.script...)
			useStdin(t, tc.stdin)
			asked := quietPrompt(t)
			code, out := runTool(t, append([]string{"otp", "provision"}, tc.args...)...)
			if code != tc.code || out != tc.out {
				t.Errorf("exit %d, stdout %q; want %d, %q", code, out, tc.code, tc.out)
			}
			if got := strings.Contains(asked.String(), "irreversible"); got != tc.asked {
				t.Errorf("asked = %v, want %v", got, tc.asked)
			}
		})
	}
}

func TestOTPUsage(t *testing.T) {
	for _, args := range [][]string{
		{"otp"},
		{"otp", "burn"},
		{"otp", "status", "extra"},
		{"otp", "provision"},
		{"otp", "provision", "--so-pin", "353736323138383"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(args, &out, &errOut); code != 2 || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want 2, nothing", code, out.String())
			}
		})
	}
}
