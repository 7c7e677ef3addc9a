//go:build !cgo || nopcsc

package pcsc

import (
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/transport"
)

func codeText(c Code) string { return fmt.Sprintf("PC/SC error 0x%08X", uint32(c)) }

// ListReaders returns ErrUnavailable: this build has no PC/SC binding.
func ListReaders() ([]string, error) { return nil, ErrUnavailable }

// CardPresent returns ErrUnavailable: this build has no PC/SC binding.
func CardPresent(reader string) (bool, error) { return false, ErrUnavailable }

// Open returns ErrUnavailable: this build has no PC/SC binding.
func Open(readerSubstring string) (transport.Transport, error) { return nil, ErrUnavailable }

// OpenExclusive fails: see ErrUnavailable.
func OpenExclusive(readerSubstring string) (transport.Transport, error) { return nil, ErrUnavailable }
