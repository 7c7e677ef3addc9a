package apdu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		sw      uint16
		is      error // nil: Check must return nil
		retries int   // for 63Cx, -1 otherwise
		text    string
	}{
		{0x9000, nil, -1, ""},
		{0x6282, ErrEndOfFile, -1, "end of file"},
		{0x6400, ErrExecution, -1, "execution error"},
		{0x6581, ErrMemoryFailure, -1, "memory failure"},
		{0x6700, ErrWrongLength, -1, "wrong length"},
		{0x6882, ErrSMNotSupported, -1, "secure messaging"},
		{0x6883, ErrLastCommandExpected, -1, "chain"},
		{0x6982, ErrSecurityStatus, -1, "security status not satisfied"},
		{0x6983, ErrBlocked, -1, "blocked"},
		{0x6984, ErrReferenceDataUnusable, -1, "not usable"},
		{0x6985, ErrConditions, -1, "conditions of use"},
		{0x6986, ErrCommandNotAllowed, -1, "not allowed"},
		{0x6A80, ErrIncorrectData, -1, "incorrect data"},
		{0x6A81, ErrFunctionNotSupported, -1, "function not supported"},
		{0x6A82, ErrFileNotFound, -1, "not found"},
		{0x6A84, ErrNotEnoughMemory, -1, "memory"},
		{0x6A86, ErrIncorrectP1P2, -1, "P1-P2"},
		{0x6A88, ErrReferenceNotFound, -1, "referenced data not found"},
		{0x6A89, ErrFileExists, -1, "already exists"},
		{0x6B00, ErrWrongP1P2, -1, "P1-P2"},
		{0x6D00, ErrINSNotSupported, -1, "instruction"},
		{0x6E00, ErrCLANotSupported, -1, "class"},
		{0x6F00, ErrNoDiagnosis, -1, "no precise diagnosis"},
		{0x63C0, StatusError{0x63C0}, 0, "0 tries left"},
		{0x63C3, StatusError{0x63C3}, 3, "3 tries left"},
		{0x63CF, StatusError{0x63CF}, 15, "15 tries left"},
		{0x6110, StatusError{0x6110}, -1, "16 response bytes"},
		{0x6C08, StatusError{0x6C08}, -1, "wrong Le, 8"},
		{0x1234, StatusError{0x1234}, -1, "unknown"},
	} {
		t.Run(fmt.Sprintf("%04X", tc.sw), func(t *testing.T) {
			err := Check(tc.sw)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			wrapped := fmt.Errorf("some command: %w", err)
			if !errors.Is(wrapped, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", wrapped, tc.is)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%04X", tc.sw)) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Error() = %q, want SW and %q", err.Error(), tc.text)
			}
			var wp WrongPINError
			isPIN := errors.As(wrapped, &wp)
			if isPIN != (tc.retries >= 0) {
				t.Fatalf("errors.As WrongPINError = %v, want %v", isPIN, tc.retries >= 0)
			}
			if isPIN && wp.Retries != tc.retries {
				t.Errorf("Retries = %d, want %d", wp.Retries, tc.retries)
			}
			var se StatusError
			if !isPIN && (!errors.As(wrapped, &se) || se.SW != tc.sw) {
				t.Errorf("errors.As StatusError = %+v, want SW %04X", se, tc.sw)
			}
		})
	}
}

// Sentinels must not match each other, and a wrong PIN is not "blocked".
func TestSentinelsDistinct(t *testing.T) {
	if errors.Is(Check(0x6A82), ErrReferenceNotFound) {
		t.Error("6A82 matches ErrReferenceNotFound")
	}
	if errors.Is(Check(0x63C0), ErrBlocked) {
		t.Error("63C0 matches ErrBlocked")
	}
	if errors.Is(Check(0x63C1), StatusError{0x63C2}) {
		t.Error("63C1 matches 63C2")
	}
}
