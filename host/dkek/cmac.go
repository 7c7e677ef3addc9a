package dkek

// AES-CMAC, NIST SP 800-38B (also RFC 4493 for AES-128): the MAC of the key blob (spec
// smartcard-hsm-core.md 4.4.1), computed with Kmac as an AES-256 key.

import (
	"crypto/aes"
	"crypto/cipher"
)

// CMAC returns the 16-byte AES-CMAC of msg under key (16, 24 or 32 bytes).
func CMAC(key, msg []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cmacBlock(b, msg), nil
}

func cmacBlock(b cipher.Block, msg []byte) []byte {
	const bs = aes.BlockSize
	// Subkeys (SP 800-38B 6.1): L = E(K, 0); K1 = dbl(L), K2 = dbl(K1).
	var l, k1, k2 [bs]byte
	b.Encrypt(l[:], l[:])
	double(&k1, &l)
	double(&k2, &k1)

	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	var last [bs]byte
	tail := msg[(n-1)*bs:]
	if complete {
		for i := range last {
			last[i] = tail[i] ^ k1[i]
		}
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		for i := range last {
			last[i] ^= k2[i]
		}
	}
	var x [bs]byte
	for i := 0; i < n-1; i++ {
		for j := 0; j < bs; j++ {
			x[j] ^= msg[i*bs+j]
		}
		b.Encrypt(x[:], x[:])
	}
	for j := range x {
		x[j] ^= last[j]
	}
	b.Encrypt(x[:], x[:])
	return x[:]
}

// double multiplies in GF(2^128) by x: shift left one bit, reduce with R128 = 0x87.
func double(dst, src *[16]byte) {
	carry := src[0] >> 7
	for i := 0; i < 15; i++ {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[15] = src[15]<<1 ^ (0x87 & -carry)
}
