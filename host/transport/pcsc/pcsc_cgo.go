//go:build cgo && !nopcsc

package pcsc

/*
#cgo pkg-config: libpcsclite
#include <stdlib.h>
#include <string.h>
#include <winscard.h>

// SCARD_PCI_T1 is a macro over a global; wrap it so cgo need not evaluate it.
static LONG pico_transmit_t1(SCARDHANDLE h, const unsigned char *in, DWORD in_len,
                             unsigned char *out, DWORD *out_len) {
	return SCardTransmit(h, SCARD_PCI_T1, in, in_len, NULL, out, out_len);
}

// Non-blocking query of one reader's state: *present = 1 if a card is in it.
static LONG pico_card_present(SCARDCONTEXT ctx, const char *reader, int *present) {
	SCARD_READERSTATE st;
	memset(&st, 0, sizeof st);
	st.szReader = reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	LONG rv = SCardGetStatusChange(ctx, 0, &st, 1);
	if (rv == SCARD_E_TIMEOUT)
		rv = SCARD_S_SUCCESS;
	*present = (rv == SCARD_S_SUCCESS) && (st.dwEventState & SCARD_STATE_PRESENT) &&
	           !(st.dwEventState & SCARD_STATE_MUTE);
	return rv;
}

static LONG pico_status_atr(SCARDHANDLE h, unsigned char *atr, DWORD *atr_len) {
	char name[MAX_READERNAME + 1];
	DWORD name_len = sizeof name, state = 0, proto = 0;
	return SCardStatus(h, name, &name_len, &state, &proto, atr, atr_len);
}
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"github.com/pico-hsm/pico-hsm/host/transport"
)

// recvBufSize holds the largest response: 65536 data bytes plus SW1 SW2.
const recvBufSize = 65538

func codeText(c Code) string {
	return C.GoString(C.pcsc_stringify_error(C.LONG(c)))
}

func check(op string, rv C.LONG) error {
	if rv == C.SCARD_S_SUCCESS {
		return nil
	}
	return &Error{Op: op, Code: Code(uint32(rv))}
}

func establish() (C.SCARDCONTEXT, error) {
	var ctx C.SCARDCONTEXT
	if err := check("SCardEstablishContext", C.SCardEstablishContext(C.SCARD_SCOPE_SYSTEM, nil, nil, &ctx)); err != nil {
		return 0, err
	}
	return ctx, nil
}

func listReaders(ctx C.SCARDCONTEXT) ([]string, error) {
	var n C.DWORD
	rv := C.SCardListReaders(ctx, nil, nil, &n)
	if Code(uint32(rv)) == ErrNoReadersAvailable {
		return nil, nil
	}
	if err := check("SCardListReaders", rv); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	rv = C.SCardListReaders(ctx, nil, (*C.char)(unsafe.Pointer(&buf[0])), &n)
	if Code(uint32(rv)) == ErrNoReadersAvailable {
		return nil, nil
	}
	if err := check("SCardListReaders", rv); err != nil {
		return nil, err
	}
	// A multi-string: names separated by NUL, ended by an empty name.
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names, nil
}

func cardPresent(ctx C.SCARDCONTEXT, reader string) (bool, error) {
	cname := C.CString(reader)
	defer C.free(unsafe.Pointer(cname))
	var present C.int
	if err := check("SCardGetStatusChange", C.pico_card_present(ctx, cname, &present)); err != nil {
		return false, err
	}
	return present != 0, nil
}

// ListReaders returns the names of the readers pcscd knows (empty when there are none).
func ListReaders() ([]string, error) {
	ctx, err := establish()
	if err != nil {
		return nil, err
	}
	defer C.SCardReleaseContext(ctx)
	return listReaders(ctx)
}

// CardPresent reports whether a (responsive) card is in the named reader.
func CardPresent(reader string) (bool, error) {
	ctx, err := establish()
	if err != nil {
		return false, err
	}
	defer C.SCardReleaseContext(ctx)
	return cardPresent(ctx, reader)
}

// card is a shared T=1 connection to one card.
type card struct {
	ctx    C.SCARDCONTEXT
	h      C.SCARDHANDLE
	reader string
	atr    []byte
	recv   []byte // recvBufSize bytes, reused by every Transmit
}

// Open connects to the first reader whose name contains readerSubstring and that holds a
// card; an empty substring means any reader.
func Open(readerSubstring string) (transport.Transport, error) {
	return openShare(readerSubstring, C.SCARD_SHARE_SHARED)
}

// OpenExclusive is Open with exclusive access: no other application can connect to the card
// (it gets SCARD_E_SHARING_VIOLATION) until Close, so none can select another application or
// reset the card in between, which would end the PIN session.
func OpenExclusive(readerSubstring string) (transport.Transport, error) {
	return openShare(readerSubstring, C.SCARD_SHARE_EXCLUSIVE)
}

func openShare(readerSubstring string, share C.DWORD) (transport.Transport, error) {
	ctx, err := establish()
	if err != nil {
		return nil, err
	}
	c, err := open(ctx, readerSubstring, share)
	if err != nil {
		C.SCardReleaseContext(ctx)
		return nil, err
	}
	return c, nil
}

func open(ctx C.SCARDCONTEXT, sub string, share C.DWORD) (*card, error) {
	readers, err := listReaders(ctx)
	if err != nil {
		return nil, err
	}
	var matching []string
	for _, r := range readers {
		if strings.Contains(r, sub) {
			matching = append(matching, r)
		}
	}
	if len(matching) == 0 {
		return nil, fmt.Errorf("pcsc: no reader matching %q (readers: %q)", sub, readers)
	}
	reader := ""
	for _, r := range matching {
		ok, err := cardPresent(ctx, r)
		if err != nil {
			return nil, err
		}
		if ok {
			reader = r
			break
		}
	}
	if reader == "" {
		return nil, fmt.Errorf("pcsc: no card in readers %q: %w", matching, ErrNoSmartcard)
	}

	cname := C.CString(reader)
	defer C.free(unsafe.Pointer(cname))
	var h C.SCARDHANDLE
	var proto C.DWORD
	if err := check("SCardConnect", C.SCardConnect(ctx, cname, share, C.SCARD_PROTOCOL_T1, &h, &proto)); err != nil {
		return nil, fmt.Errorf("%w (reader %q)", err, reader)
	}
	c := &card{ctx: ctx, h: h, reader: reader, recv: make([]byte, recvBufSize)}
	var atr [C.MAX_ATR_SIZE]C.uchar
	n := C.DWORD(len(atr))
	if err := check("SCardStatus", C.pico_status_atr(h, &atr[0], &n)); err != nil {
		C.SCardDisconnect(h, C.SCARD_LEAVE_CARD)
		return nil, err
	}
	c.atr = C.GoBytes(unsafe.Pointer(&atr[0]), C.int(n))
	return c, nil
}

// Transmit sends one APDU with SCardTransmit (T=1). PC/SC cannot abort a transmission, so
// ctx is only checked before the call.
func (c *card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	if c.h == 0 {
		return nil, fmt.Errorf("pcsc: transmit: card closed")
	}
	if len(apdu) == 0 {
		return nil, fmt.Errorf("pcsc: transmit: empty APDU")
	}
	n := C.DWORD(len(c.recv))
	rv := C.pico_transmit_t1(c.h, (*C.uchar)(unsafe.Pointer(&apdu[0])), C.DWORD(len(apdu)),
		(*C.uchar)(unsafe.Pointer(&c.recv[0])), &n)
	if err := check("SCardTransmit", rv); err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("pcsc: transmit: response of %d bytes has no status word", n)
	}
	return append([]byte(nil), c.recv[:n]...), nil
}

func (c *card) ATR() []byte { return append([]byte(nil), c.atr...) }

// Close disconnects leaving the card powered (SCARD_LEAVE_CARD) and releases the context.
func (c *card) Close() error {
	if c.h == 0 {
		return nil
	}
	err := check("SCardDisconnect", C.SCardDisconnect(c.h, C.SCARD_LEAVE_CARD))
	if err2 := check("SCardReleaseContext", C.SCardReleaseContext(c.ctx)); err == nil {
		err = err2
	}
	c.h, c.ctx = 0, 0
	return err
}

// String names the reader, for messages.
func (c *card) String() string { return "pcsc reader " + c.reader }
