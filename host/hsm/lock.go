package hsm

// Secure lock (pico-hsm-extensions.md 3.8, 6.8): the device's keys usable only in sessions
// where the host that holds a 32-byte secret has sent it. The secret travels in a one-shot
// envelope: 80 64 3A 01 <host ephemeral P-256 point> answers the device's point; both sides
// derive K = HKDF-SHA256(no salt, ECDH x, info = host point, 44 bytes); the secret goes as
// ChaCha20-Poly1305(K[12:44], nonce K[0:12], AAD = host point) in 80 64 3A 02|03|04.

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/crypto/poly1305"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// LockSecretSize is the length of a secure-lock host secret.
const LockSecretSize = 32

// OptionSecureLock is the device option bit set while the secure lock is on.
const OptionSecureLock uint16 = 0x0400

// Secure-lock operations (P2 of 80 64 3A).
const (
	lockAgree   byte = 0x01
	lockEnable  byte = 0x02
	lockUnlock  byte = 0x03
	lockDisable byte = 0x04
)

// NewLockSecret returns a fresh random host secret.
func NewLockSecret() ([]byte, error) {
	s := make([]byte, LockSecretSize)
	if _, err := io.ReadFull(rand.Reader, s); err != nil {
		return nil, err
	}
	return s, nil
}

// LockEnvelope derives the envelope key from the host's ephemeral key and the device's point
// and seals secret (spec 3.8 step 2). It is exported for tests that build envelopes by hand.
func LockEnvelope(host *ecdh.PrivateKey, devicePoint, secret []byte) ([]byte, error) {
	peer, err := ecdh.P256().NewPublicKey(devicePoint)
	if err != nil {
		return nil, fmt.Errorf("device point: %w", err)
	}
	z, err := host.ECDH(peer)
	if err != nil {
		return nil, err
	}
	hp := host.PublicKey().Bytes()
	k := make([]byte, 44)
	if _, err := io.ReadFull(hkdf.New(sha256.New, z, nil, hp), k); err != nil {
		return nil, err
	}
	return sealChaCha20Poly1305(k[12:], k[:12], secret, hp)
}

// sealChaCha20Poly1305 is the AEAD of RFC 8439 section 2.8 (ciphertext || tag). It is built
// here from x/crypto's chacha20 and poly1305 because x/crypto/chacha20poly1305 needs
// golang.org/x/sys, which is not among the module's dependencies; the RFC's test vector
// (2.8.2) is checked in lock_test.go and the device's mbedTLS opens what it seals.
func sealChaCha20Poly1305(key, nonce, plaintext, aad []byte) ([]byte, error) {
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		return nil, err
	}
	var polyKey [32]byte
	c.XORKeyStream(polyKey[:], polyKey[:]) // block 0 (RFC 8439 2.6)
	c.SetCounter(1)
	out := make([]byte, len(plaintext), len(plaintext)+poly1305.TagSize)
	c.XORKeyStream(out, plaintext)
	pad := func(b []byte) []byte { return append(b, make([]byte, (16-len(b)%16)%16)...) }
	mac := pad(append([]byte(nil), aad...))
	mac = pad(append(mac, out...))
	mac = binary.LittleEndian.AppendUint64(mac, uint64(len(aad)))
	mac = binary.LittleEndian.AppendUint64(mac, uint64(len(out)))
	var tag [poly1305.TagSize]byte
	poly1305.Sum(&tag, mac, &polyKey)
	return append(out, tag[:]...), nil
}

// LockAgree runs step 1 with a fresh ephemeral key: 80 64 3A 01 <65-byte point>.
func (c *Client) LockAgree(ctx context.Context) (*ecdh.PrivateKey, []byte, error) {
	host, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	dev, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsExtras, P1: 0x3A, P2: lockAgree,
		Data: host.PublicKey().Bytes(), Ne: 65})
	if err != nil {
		return nil, nil, fmt.Errorf("secure lock key agreement: %w", err)
	}
	return host, dev, nil
}

// LockSend sends an envelope with sub-command p2 (02 enable, 03 unlock, 04 disable).
func (c *Client) LockSend(ctx context.Context, p2 byte, envelope []byte) error {
	_, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsExtras, P1: 0x3A, P2: p2, Data: envelope})
	return err
}

func (c *Client) lock(ctx context.Context, p2 byte, what string, secret []byte) error {
	if len(secret) != LockSecretSize {
		return fmt.Errorf("secure lock %s: secret of %d bytes, want %d", what, len(secret), LockSecretSize)
	}
	host, dev, err := c.LockAgree(ctx)
	if err != nil {
		return err
	}
	env, err := LockEnvelope(host, dev, secret)
	if err != nil {
		return fmt.Errorf("secure lock %s: %w", what, err)
	}
	if err := c.LockSend(ctx, p2, env); err != nil {
		return fmt.Errorf("secure lock %s: %w", what, err)
	}
	return nil
}

// LockEnable locks the device to secret. The session needs the user PIN and the SO-PIN both
// verified (the device re-wraps its master key under both; apdu.ErrSecurityStatus otherwise).
// No effect when the device is locked already.
func (c *Client) LockEnable(ctx context.Context, secret []byte) error {
	return c.lock(ctx, lockEnable, "enable", secret)
}

// LockUnlock makes the keys usable in this session (until the next SELECT).
// apdu.ErrSecurityStatus when secret is not the lock's.
func (c *Client) LockUnlock(ctx context.Context, secret []byte) error {
	return c.lock(ctx, lockUnlock, "unlock", secret)
}

// LockDisable removes the lock; like LockEnable it needs both PINs verified in the session.
func (c *Client) LockDisable(ctx context.Context, secret []byte) error {
	return c.lock(ctx, lockDisable, "disable", secret)
}
