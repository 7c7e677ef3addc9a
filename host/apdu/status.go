package apdu

import "fmt"

// SWSuccess is the only status word Check treats as success.
const SWSuccess uint16 = 0x9000

// StatusError is a status word other than 9000. It is a comparable value, so
// errors.Is(err, ErrFileNotFound) matches any StatusError with SW 6A82, however deeply
// wrapped.
type StatusError struct {
	SW uint16
}

// Error returns the status word in hex and its ISO 7816-4 meaning.
func (e StatusError) Error() string {
	return fmt.Sprintf("SW %04X: %s", e.SW, Meaning(e.SW))
}

// Status words used by the SmartCard-HSM protocol (smartcard-hsm-core.md section 2.19).
var (
	ErrEndOfFile             = StatusError{0x6282}
	ErrExecution             = StatusError{0x6400}
	ErrMemoryFailure         = StatusError{0x6581}
	ErrWrongLength           = StatusError{0x6700}
	ErrSMNotSupported        = StatusError{0x6882}
	ErrLastCommandExpected   = StatusError{0x6883}
	ErrSecurityStatus        = StatusError{0x6982}
	ErrBlocked               = StatusError{0x6983}
	ErrReferenceDataUnusable = StatusError{0x6984}
	ErrConditions            = StatusError{0x6985}
	ErrCommandNotAllowed     = StatusError{0x6986}
	ErrIncorrectData         = StatusError{0x6A80}
	ErrFunctionNotSupported  = StatusError{0x6A81}
	ErrFileNotFound          = StatusError{0x6A82}
	ErrNotEnoughMemory       = StatusError{0x6A84}
	ErrIncorrectP1P2         = StatusError{0x6A86}
	ErrReferenceNotFound     = StatusError{0x6A88}
	ErrFileExists            = StatusError{0x6A89}
	ErrWrongP1P2             = StatusError{0x6B00}
	ErrINSNotSupported       = StatusError{0x6D00}
	ErrCLANotSupported       = StatusError{0x6E00}
	ErrNoDiagnosis           = StatusError{0x6F00}
	// ErrPresence: press-to-confirm timed out (pico-hsm-extensions.md 3.5).
	ErrPresence = StatusError{0x6600}
)

// meanings holds the ISO 7816-4 text of the status words listed in section 2.19.
var meanings = map[uint16]string{
	0x9000: "success",
	0x6282: "end of file reached before reading Ne bytes",
	0x6400: "execution error",
	0x6581: "memory failure",
	0x6600: "user presence not confirmed (press-to-confirm timed out)",
	0x6700: "wrong length",
	0x6882: "secure messaging not supported",
	0x6883: "last command of the chain expected",
	0x6982: "security status not satisfied",
	0x6983: "authentication method blocked",
	0x6984: "reference data not usable",
	0x6985: "conditions of use not satisfied",
	0x6986: "command not allowed",
	0x6A80: "incorrect data",
	0x6A81: "function not supported",
	0x6A82: "file or application not found",
	0x6A84: "not enough memory space in the file",
	0x6A86: "incorrect parameters P1-P2",
	0x6A88: "referenced data not found",
	0x6A89: "file already exists",
	0x6B00: "wrong parameters P1-P2",
	0x6D00: "instruction code not supported or invalid",
	0x6E00: "class not supported",
	0x6F00: "no precise diagnosis",
}

// Meaning returns the ISO 7816-4 text for sw, including the parameterised families
// 61xx, 63Cx and 6Cxx.
func Meaning(sw uint16) string {
	if m, ok := meanings[sw]; ok {
		return m
	}
	switch {
	case sw&0xFF00 == 0x6100:
		return fmt.Sprintf("%d response bytes still available", sw&0xFF)
	case sw&0xFFF0 == 0x63C0:
		return fmt.Sprintf("verification failed, %d tries left", sw&0x0F)
	case sw&0xFF00 == 0x6C00:
		return fmt.Sprintf("wrong Le, %d bytes available", sw&0xFF)
	}
	return "unknown status"
}

// WrongPINError is status word 63Cx: a verification (VERIFY, CHANGE REFERENCE DATA, RESET
// RETRY COUNTER, INITIALIZE) failed and Retries tries are left. Use errors.As to read
// Retries; errors.Is(err, StatusError{0x63C2}) also matches a WrongPINError{2}.
type WrongPINError struct {
	Retries int
}

// SW returns the status word 63Cx the error stands for.
func (e WrongPINError) SW() uint16 { return 0x63C0 | uint16(e.Retries&0x0F) }

func (e WrongPINError) Error() string {
	return fmt.Sprintf("SW %04X: verification failed, %d tries left", e.SW(), e.Retries)
}

// Is lets a WrongPINError match the StatusError with the same status word.
func (e WrongPINError) Is(target error) bool {
	t, ok := target.(StatusError)
	return ok && t.SW == e.SW()
}

// Check maps a status word to an error: nil for 9000, WrongPINError for 63Cx, and
// StatusError for everything else.
//
// Warnings are errors too: 6282 (end of file before Ne bytes, which READ BINARY may return
// with valid data) is not success here; callers that accept a short read test
// errors.Is(err, ErrEndOfFile) and keep the data. 61xx and 6Cxx are returned as they are;
// the SmartCard-HSM protocol never needs GET RESPONSE.
func Check(sw uint16) error {
	switch {
	case sw == SWSuccess:
		return nil
	case sw&0xFFF0 == 0x63C0:
		return WrongPINError{Retries: int(sw & 0x0F)}
	}
	return StatusError{SW: sw}
}
