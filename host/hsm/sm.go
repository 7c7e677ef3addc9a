package hsm

// Secure messaging after chip authentication (pico-hsm-extensions.md 5.7; BSI TR-03110 and
// ICAO 9303 with id-CA-ECDH-AES-CBC-CMAC-128) and the session PIN (4.6, as this firmware
// defines it).
//
// OpenSecureChannel runs MSE SET AT and GENERAL AUTHENTICATE with an ephemeral P-256 key
// against the device key of EF.C_DevAut, checks the device's token and returns a
// SecureChannel: a transport.Transport that protects every APDU (87/97/8E) and checks and
// decrypts every answer (87/99/8E), so hsm.New(channel) runs every client call inside the
// channel. The device needs a PIN session for GENERAL AUTHENTICATE (it answers 6400
// otherwise).

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/tlv"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// Instruction bytes of chip authentication and the session PIN.
const (
	InsGeneralAuthenticate byte = 0x86
	InsSessionPIN          byte = 0x5A
)

// OIDChipAuthAES128 is the DER content of id-CA-ECDH-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.3.2.2).
var OIDChipAuthAES128 = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02}

// ErrSecureMessaging is wrapped by every error about a protected response that does not
// verify (wrong MAC, malformed envelope, bad padding).
var ErrSecureMessaging = errors.New("secure messaging")

// SessionKeys derives K_enc and K_mac from the shared secret Z and the device nonce r
// (TR-03110 KDF for AES-128: SHA-1(Z || r || counter)[0..15], counter 1 and 2).
func SessionKeys(z, r []byte) (kenc, kmac []byte) {
	derive := func(counter byte) []byte {
		h := sha1.New()
		h.Write(z)
		h.Write(r)
		h.Write([]byte{0, 0, 0, counter})
		return h.Sum(nil)[:16]
	}
	return derive(1), derive(2)
}

// AuthToken is CMAC(K_mac, 7F49 { 06 <OID> 86 <terminal public key> })[0..7].
func AuthToken(kmac, terminalPub []byte) ([]byte, error) {
	body := tlv.Encode(0x06, OIDChipAuthAES128)
	body = tlv.Append(body, 0x86, terminalPub)
	mac, err := dkek.CMAC(kmac, tlv.Encode(0x7F49, body))
	if err != nil {
		return nil, err
	}
	return mac[:8], nil
}

// SecureChannel protects APDUs with the session keys. Like every Transport it is not safe
// for concurrent use. Closing it does not close the underlying transport.
type SecureChannel struct {
	inner      transport.Transport
	kenc, kmac []byte
	ssc        [16]byte
}

// NewSecureChannel returns a channel over inner with the given keys and SSC = 0 (what
// GENERAL AUTHENTICATE establishes). Exposed for tests and known-answer vectors.
func NewSecureChannel(inner transport.Transport, kenc, kmac []byte) *SecureChannel {
	return &SecureChannel{inner: inner, kenc: append([]byte(nil), kenc...), kmac: append([]byte(nil), kmac...)}
}

// OpenSecureChannel performs chip authentication with the device key published in
// EF.C_DevAut (first certificate, P-256) and returns the channel.
func (c *Client) OpenSecureChannel(ctx context.Context) (*SecureChannel, error) {
	chain, err := c.DeviceChain(ctx)
	if err != nil {
		return nil, fmt.Errorf("open secure channel: %w", err)
	}
	if len(chain) == 0 || chain[0].PublicKey == nil {
		return nil, fmt.Errorf("open secure channel: no device key in 2F02")
	}
	devPub, err := ecdh.P256().NewPublicKey(chain[0].PublicKey.Point)
	if err != nil {
		return nil, fmt.Errorf("open secure channel: device key: %w", err)
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsMSE, P1: 0x41, P2: 0xA4,
		Data: tlv.Encode(0x80, OIDChipAuthAES128)}); err != nil {
		return nil, fmt.Errorf("open secure channel: MSE SET AT: %w", err)
	}
	termPub := eph.PublicKey().Bytes()
	resp, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsGeneralAuthenticate,
		Data: tlv.Encode(0x7C, tlv.Encode(0x80, termPub)), Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, fmt.Errorf("open secure channel: GENERAL AUTHENTICATE: %w", err)
	}
	r, token, err := parseGAResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("open secure channel: %w", err)
	}
	z, err := eph.ECDH(devPub)
	if err != nil {
		return nil, err
	}
	kenc, kmac := SessionKeys(z, r)
	want, err := AuthToken(kmac, termPub)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(want, token) {
		return nil, fmt.Errorf("open secure channel: %w: the device's token does not verify (not the key of 2F02)", ErrSecureMessaging)
	}
	return NewSecureChannel(c.t, kenc, kmac), nil
}

func parseGAResponse(b []byte) (r, token []byte, err error) {
	top, err := tlv.Parse(b)
	if err != nil || len(top) != 1 || top[0].Tag != 0x7C {
		return nil, nil, fmt.Errorf("GENERAL AUTHENTICATE answer %x: want 7C", b)
	}
	els, err := top[0].Children()
	if err != nil {
		return nil, nil, err
	}
	rt, ok1 := tlv.Find(els, 0x81)
	tt, ok2 := tlv.Find(els, 0x82)
	if !ok1 || !ok2 || len(rt.Value) != 8 || len(tt.Value) != 8 {
		return nil, nil, fmt.Errorf("GENERAL AUTHENTICATE answer %x: want 81 (8 bytes) and 82 (8 bytes)", b)
	}
	return rt.Value, tt.Value, nil
}

// Client returns a client whose every command runs inside this channel.
func (s *SecureChannel) Client() *Client { return New(s) }

func (s *SecureChannel) incSSC() {
	for i := len(s.ssc) - 1; i >= 0; i-- {
		s.ssc[i]++
		if s.ssc[i] != 0 {
			return
		}
	}
}

// SSC returns the current send sequence counter.
func (s *SecureChannel) SSC() [16]byte { return s.ssc }

func pad(b []byte) []byte {
	out := append(append([]byte(nil), b...), 0x80)
	for len(out)%aes.BlockSize != 0 {
		out = append(out, 0)
	}
	return out
}

func (s *SecureChannel) cbc(encrypt bool, in []byte) ([]byte, error) {
	blk, err := aes.NewCipher(s.kenc)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, aes.BlockSize)
	blk.Encrypt(iv, s.ssc[:])
	out := make([]byte, len(in))
	if encrypt {
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out, in)
	} else {
		cipher.NewCBCDecrypter(blk, iv).CryptBlocks(out, in)
	}
	return out, nil
}

func (s *SecureChannel) mac(parts ...[]byte) ([]byte, error) {
	msg := append([]byte(nil), s.ssc[:]...)
	for _, p := range parts {
		msg = append(msg, p...)
	}
	m, err := dkek.CMAC(s.kmac, msg)
	if err != nil {
		return nil, err
	}
	return m[:8], nil
}

// Wrap protects one plain command APDU (it advances the SSC once): CLA | 0C, data
// 87 01 E(pad(data)) if any, 97 Le if Ne > 0, 8E 08 MAC; the outer Le asks for everything
// (extended 0000).
func (s *SecureChannel) Wrap(raw []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return nil, err
	}
	if cmd.CLA != 0x00 && cmd.CLA != 0x80 {
		return nil, fmt.Errorf("%w: cannot protect CLA %02X", ErrSecureMessaging, cmd.CLA)
	}
	s.incSSC()
	cla := cmd.CLA | 0x0C
	var dos []byte
	if len(cmd.Data) > 0 {
		ct, err := s.cbc(true, pad(cmd.Data))
		if err != nil {
			return nil, err
		}
		dos = tlv.Append(dos, 0x87, append([]byte{0x01}, ct...))
	}
	switch {
	case cmd.Ne > apdu.MaxShortNe:
		dos = tlv.Append(dos, 0x97, []byte{byte(cmd.Ne >> 8), byte(cmd.Ne)})
	case cmd.Ne > 0:
		dos = tlv.Append(dos, 0x97, []byte{byte(cmd.Ne)})
	}
	macIn := [][]byte{pad([]byte{cla, cmd.INS, cmd.P1, cmd.P2})}
	if len(dos) > 0 {
		macIn = append(macIn, pad(dos))
	}
	m, err := s.mac(macIn...)
	if err != nil {
		return nil, err
	}
	out := apdu.Command{CLA: cla, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2,
		Data: tlv.Append(dos, 0x8E, m), Ne: apdu.MaxExtendedNe}
	return out.Bytes()
}

// Unwrap checks and decrypts one protected response (it advances the SSC once) and returns
// the plain response: data || SW1 SW2 from 99. A response whose outer status word is not
// 9000 (the device refused the envelope, 6984) is returned as it is.
func (s *SecureChannel) Unwrap(resp []byte) ([]byte, error) {
	if len(resp) < 2 {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrSecureMessaging, len(resp))
	}
	if resp[len(resp)-2] != 0x90 || resp[len(resp)-1] != 0x00 {
		return resp, nil
	}
	s.incSSC()
	els, err := tlv.Parse(resp[:len(resp)-2])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSecureMessaging, err)
	}
	var do87, do99, do8E *tlv.TLV
	var macd []byte
	for i := range els {
		e := &els[i]
		switch {
		case e.Tag == 0x87 && do87 == nil && do99 == nil && do8E == nil:
			do87 = e
		case e.Tag == 0x99 && do99 == nil && do8E == nil:
			do99 = e
		case e.Tag == 0x8E && do8E == nil:
			do8E = e
			continue
		default:
			return nil, fmt.Errorf("%w: unexpected %X in the response", ErrSecureMessaging, e.Tag)
		}
		macd = append(macd, e.Raw...)
	}
	if do99 == nil || do8E == nil || len(do99.Value) != 2 || els[len(els)-1].Tag != 0x8E {
		return nil, fmt.Errorf("%w: response without 99 or 8E", ErrSecureMessaging)
	}
	want, err := s.mac(pad(macd))
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(want, do8E.Value) {
		return nil, fmt.Errorf("%w: response MAC does not verify", ErrSecureMessaging)
	}
	var data []byte
	if do87 != nil {
		v := do87.Value
		if len(v) < 1+aes.BlockSize || v[0] != 0x01 || (len(v)-1)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("%w: malformed 87", ErrSecureMessaging)
		}
		p, err := s.cbc(false, v[1:])
		if err != nil {
			return nil, err
		}
		i := len(p) - 1
		for i > len(p)-aes.BlockSize && p[i] == 0 {
			i--
		}
		if p[i] != 0x80 {
			return nil, fmt.Errorf("%w: bad padding", ErrSecureMessaging)
		}
		data = p[:i]
	}
	return append(data, do99.Value...), nil
}

// Transmit protects cmd, sends it and returns the plain response.
func (s *SecureChannel) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	w, err := s.Wrap(cmd)
	if err != nil {
		return nil, err
	}
	resp, err := s.inner.Transmit(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.Unwrap(resp)
}

// Inner is the transport the channel sends over (plain APDUs sent there close the channel
// on the device).
func (s *SecureChannel) Inner() transport.Transport { return s.inner }

// ATR is the underlying card's.
func (s *SecureChannel) ATR() []byte { return s.inner.ATR() }

// Close forgets the session keys; the underlying transport stays open.
func (s *SecureChannel) Close() error {
	clear(s.kenc)
	clear(s.kmac)
	return nil
}

// SessionPIN sends GET SESSION PIN (80 5A 01 81). Only inside a secure channel and with the
// user PIN verified: the 8-byte PIN then verifies the user (VERIFY 00 20 00 81) inside this
// channel only, and is wiped when the channel closes.
func (c *Client) SessionPIN(ctx context.Context) ([]byte, error) {
	b, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsSessionPIN, P1: 0x01, P2: 0x81, Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, fmt.Errorf("get session PIN: %w", err)
	}
	if len(b) != 8 {
		return nil, fmt.Errorf("get session PIN: %d bytes, want 8", len(b))
	}
	return b, nil
}
