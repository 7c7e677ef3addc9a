// Package dkek implements the host side of the SmartCard-HSM key backup scheme
// (smartcard-hsm-core.md section 4): DKEK share files as sc-hsm-tool writes them (4.2), the
// n-of-m password shares of sc-hsm-tool (4.3), the DKEK assembled from shares with its key
// check value and derived keys (4.1), the key blob of WRAP KEY / UNWRAP KEY (4.4) and the
// file sc-hsm-tool --wrap-key writes (4.5).
//
// Secrets (shares, the DKEK, private keys) are plain byte slices owned by the caller; Wipe
// clears a slice when the caller is done with it.
package dkek

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Size is the length of a DKEK and of one share.
const Size = 32

// KCVSize is the length of a key check value.
const KCVSize = 8

// DKEK is a device key encryption key (spec 4.1).
type DKEK [Size]byte

// FromShares assembles the DKEK a card holds after importing shares (in any order): the
// XOR of the 32-byte shares, starting from 32 zero bytes.
func FromShares(shares ...[]byte) (*DKEK, error) {
	if len(shares) == 0 {
		return nil, errors.New("dkek: no shares")
	}
	var k DKEK
	for i, s := range shares {
		if len(s) != Size {
			return nil, fmt.Errorf("dkek: share %d has %d bytes, want %d", i+1, len(s), Size)
		}
		subtle.XORBytes(k[:], k[:], s)
	}
	return &k, nil
}

// KCV is the key check value: the first 8 bytes of SHA-256(DKEK).
func (k *DKEK) KCV() [KCVSize]byte {
	h := sha256.Sum256(k[:])
	var out [KCVSize]byte
	copy(out[:], h[:KCVSize])
	return out
}

func (k *DKEK) derive(counter byte) []byte {
	h := sha256.New()
	h.Write(k[:])
	h.Write([]byte{0, 0, 0, counter})
	return h.Sum(nil)
}

// Kenc is the AES-256 key that encrypts key blobs: SHA-256(DKEK || 00000001).
func (k *DKEK) Kenc() []byte { return k.derive(1) }

// Kmac is the AES-256 CMAC key of key blobs: SHA-256(DKEK || 00000002).
func (k *DKEK) Kmac() []byte { return k.derive(2) }

// Wipe overwrites b with zeros.
func Wipe(b []byte) {
	clear(b)
}
