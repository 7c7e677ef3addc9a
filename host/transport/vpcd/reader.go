package vpcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pico-hsm/pico-hsm/host/transport"
)

// Control bytes sent by the reader in 1-byte frames (spec 1.5).
const (
	CtrlPowerOff byte = 0x00
	CtrlPowerOn  byte = 0x01
	CtrlReset    byte = 0x02
	CtrlGetATR   byte = 0x04
)

var (
	// ErrNotConnected is returned by card operations before Accept succeeded or after the
	// connection was dropped.
	ErrNotConnected = errors.New("vpcd: no card connected")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("vpcd: reader closed")
)

// Reader is the vpcd reader side: it listens on a loopback TCP port and a virtual card
// connects to it as a client. It implements transport.Transport once a card is connected
// and powered on. Like every Transport it serves one client at a time; Disconnect and Close
// may be called from another goroutine to abort a blocked operation.
type Reader struct {
	ln *net.TCPListener

	mu     sync.Mutex
	conn   *net.TCPConn // nil when no card is connected
	atr    []byte       // last ATR read from the card
	closed bool
}

var _ transport.Transport = (*Reader)(nil)

// Listen opens a reader on addr ("host:port"). The host must be a loopback address or
// "localhost"; an empty host means 127.0.0.1. Port 0 picks a free port, see Addr.
func Listen(addr string) (*Reader, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("vpcd: listen %q: %w", addr, err)
	}
	switch {
	case host == "":
		host = "127.0.0.1"
	case host == "localhost":
	default:
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			// A reader hands every APDU (PINs included) to whoever connects: keep it local.
			return nil, fmt.Errorf("vpcd: listen %q: host must be a loopback address", addr)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("vpcd: listen: %w", err)
	}
	return &Reader{ln: ln.(*net.TCPListener)}, nil
}

// Addr returns the address the reader listens on, as "ip:port", suitable for the
// emulator's --vpcd option.
func (r *Reader) Addr() string { return r.ln.Addr().String() }

// Accept waits until a card connects, replacing (and closing) any previous connection.
func (r *Reader) Accept(ctx context.Context) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vpcd: accept: %w", err)
	}
	dl, _ := ctx.Deadline()
	if err := r.ln.SetDeadline(dl); err != nil {
		return fmt.Errorf("vpcd: accept: %w", err)
	}
	release := interruptOnDone(ctx, r.ln.SetDeadline)
	c, err := r.ln.AcceptTCP()
	release()
	if err != nil {
		return fmt.Errorf("vpcd: accept: %w", ctxError(ctx, err))
	}
	if err := c.SetNoDelay(true); err != nil {
		c.Close()
		return fmt.Errorf("vpcd: accept: set TCP_NODELAY: %w", err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		c.Close()
		return ErrClosed
	}
	old := r.conn
	r.conn, r.atr = c, nil
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Connected reports whether a card connection is open.
func (r *Reader) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn != nil
}

// PowerOn sends "power on" then "get ATR" and returns the ATR.
func (r *Reader) PowerOn(ctx context.Context) ([]byte, error) {
	return r.controlATR(ctx, "power on", CtrlPowerOn)
}

// Reset sends "reset" then "get ATR" and returns the ATR.
func (r *Reader) Reset(ctx context.Context) ([]byte, error) {
	return r.controlATR(ctx, "reset", CtrlReset)
}

// PowerOff sends "power off"; the card does not answer.
func (r *Reader) PowerOff(ctx context.Context) error {
	if _, err := r.exchange(ctx, "power off", []byte{CtrlPowerOff}, false); err != nil {
		return err
	}
	return nil
}

// QueryATR sends only "get ATR", as pcscd does when it polls for card presence, and
// returns the answer. The card must not change state on it.
func (r *Reader) QueryATR(ctx context.Context) ([]byte, error) {
	atr, err := r.exchange(ctx, "get ATR", []byte{CtrlGetATR}, true)
	if err != nil {
		return nil, err
	}
	r.setATR(atr)
	return atr, nil
}

func (r *Reader) controlATR(ctx context.Context, what string, ctrl byte) ([]byte, error) {
	if _, err := r.exchange(ctx, what, []byte{ctrl}, false); err != nil {
		return nil, err
	}
	atr, err := r.exchange(ctx, what+": get ATR", []byte{CtrlGetATR}, true)
	if err != nil {
		return nil, err
	}
	r.setATR(atr)
	return atr, nil
}

func (r *Reader) setATR(atr []byte) {
	r.mu.Lock()
	r.atr = append([]byte(nil), atr...)
	r.mu.Unlock()
}

// ATR returns the ATR read by the last PowerOn, Reset or QueryATR (nil before any).
func (r *Reader) ATR() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.atr...)
}

// Transmit sends one command APDU frame and returns the response frame (data, SW1, SW2).
// The APDU must be 2..65535 bytes: a 1-byte frame would be read as a control frame. Shorter
// than 4 bytes is allowed on purpose, to test how a card rejects malformed commands.
func (r *Reader) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if len(apdu) < 2 {
		return nil, fmt.Errorf("vpcd: transmit: APDU of %d bytes (a 1-byte frame is a control frame)", len(apdu))
	}
	if len(apdu) > MaxFrame {
		return nil, fmt.Errorf("vpcd: transmit: APDU of %d bytes: %w", len(apdu), ErrFrameTooLarge)
	}
	resp, err := r.exchange(ctx, "transmit", apdu, true)
	if err != nil {
		return nil, err
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("vpcd: transmit: response of %d bytes has no status word", len(resp))
	}
	return resp, nil
}

// Disconnect closes the card connection but keeps listening, so the card can reconnect
// (see Accept). It aborts an operation blocked on the connection.
func (r *Reader) Disconnect() error {
	r.mu.Lock()
	c := r.conn
	r.conn = nil
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}

// Close closes the card connection and the listener.
func (r *Reader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err1 := r.Disconnect()
	err2 := r.ln.Close()
	return errors.Join(err1, err2)
}

// exchange writes one frame and, if wantReply, reads one frame back. Any failure after
// the first byte was written leaves the stream position unknown, so the connection is
// dropped; the card will reconnect and must be Accepted again.
func (r *Reader) exchange(ctx context.Context, what string, out []byte, wantReply bool) ([]byte, error) {
	r.mu.Lock()
	c, closed := r.conn, r.closed
	r.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("vpcd: %s: %w", what, ErrClosed)
	}
	if c == nil {
		return nil, fmt.Errorf("vpcd: %s: %w", what, ErrNotConnected)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vpcd: %s: %w", what, err)
	}
	dl, _ := ctx.Deadline()
	if err := c.SetDeadline(dl); err != nil {
		r.drop(c)
		return nil, fmt.Errorf("vpcd: %s: %w", what, err)
	}
	release := interruptOnDone(ctx, c.SetDeadline)
	defer release()

	if err := WriteFrame(c, out); err != nil {
		r.drop(c)
		return nil, fmt.Errorf("vpcd: %s: %w", what, ctxError(ctx, err))
	}
	if !wantReply {
		return nil, nil
	}
	resp, err := ReadFrame(c)
	if err != nil {
		r.drop(c)
		return nil, fmt.Errorf("vpcd: %s: %w", what, ctxError(ctx, err))
	}
	return resp, nil
}

// drop closes c if it is still the current connection.
func (r *Reader) drop(c *net.TCPConn) {
	r.mu.Lock()
	if r.conn == c {
		r.conn = nil
	}
	r.mu.Unlock()
	c.Close()
}

// longAgo is a deadline in the past: setting it makes blocked I/O return at once.
var longAgo = time.Unix(1, 0)

// interruptOnDone makes blocked I/O return when ctx is done, by moving the deadline into
// the past. The returned release must be called when the I/O is over; it waits for a
// concurrent interrupt to finish so the next operation's deadline is not overwritten.
func interruptOnDone(ctx context.Context, setDeadline func(time.Time) error) (release func()) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(longAgo)
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// ctxError prefers the context's error when the I/O failed because of it.
func ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
