package apdu

import "fmt"

// ParseResponse splits a response APDU into its data field and the status word
// SW1 SW2. The returned data aliases b.
func ParseResponse(b []byte) (data []byte, sw uint16, err error) {
	if len(b) < 2 {
		return nil, 0, fmt.Errorf("apdu: response of %d bytes has no status word", len(b))
	}
	n := len(b) - 2
	return b[:n:n], uint16(b[n])<<8 | uint16(b[n+1]), nil
}
