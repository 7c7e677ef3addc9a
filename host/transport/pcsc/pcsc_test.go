package pcsc

import (
	"errors"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		code Code
		hex  string
	}{
		{ErrNoSmartcard, "0x8010000C"},
		{ErrNoService, "0x8010001D"},
		{ErrNoReadersAvailable, "0x8010002E"},
		{ErrRemovedCard, "0x80100069"},
	}
	for _, tc := range tests {
		err := error(&Error{Op: "SCardConnect", Code: tc.code})
		msg := err.Error()
		if !strings.HasPrefix(msg, "pcsc: SCardConnect: ") || !strings.HasSuffix(msg, "("+tc.hex+")") {
			t.Errorf("message %q: want op and code %s", msg, tc.hex)
		}
		// The text comes from pcsc_stringify_error (with cgo): more than the bare code.
		if len(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(msg, "pcsc: SCardConnect: "), "("+tc.hex+")"))) == 0 {
			t.Errorf("message %q has no error text", msg)
		}
		if !errors.Is(err, tc.code) {
			t.Errorf("errors.Is(%v, %v) = false", err, tc.code)
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("errors.As failed for %v", err)
		}
	}
	if errors.Is(&Error{Op: "x", Code: ErrNoSmartcard}, ErrNoService) {
		t.Error("different codes match")
	}
}
