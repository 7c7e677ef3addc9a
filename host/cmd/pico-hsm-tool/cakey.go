package main

// The CA's private keys at rest: PKCS#8 encrypted with AES-256-GCM under a key derived from
// the passphrase with scrypt, in a PEM block whose headers carry the KDF parameters:
//
//	-----BEGIN PICO-HSM ENCRYPTED CA KEY-----
//	KDF: scrypt
//	Scrypt-Params: N=32768,r=8,p=1
//	Salt: <32 hex bytes>
//	Nonce: <12 hex bytes>
//
//	<base64 of ciphertext || tag; AAD = the name (CHR) of the key's certificate>
//	-----END PICO-HSM ENCRYPTED CA KEY-----
//
// A wrong passphrase (or a modified file) fails the GCM tag: nothing is decrypted.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

const (
	caKeyPEMType = "PICO-HSM ENCRYPTED CA KEY"
	scryptN      = 1 << 15
	scryptR      = 8
	scryptP      = 1
	minPassLen   = 8
)

var errPassphrase = errors.New("wrong passphrase or damaged key file")

func kek(pass, salt []byte, n, r, p int) (cipher.AEAD, error) {
	k, err := scrypt.Key(pass, salt, n, r, p, 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealCAKey encrypts key for the certificate named name.
func sealCAKey(key *ecdsa.PrivateKey, name string, pass []byte) ([]byte, error) {
	if len(pass) < minPassLen {
		return nil, usagef("the passphrase must have at least %d characters", minPassLen)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	salt, nonce := make([]byte, 32), make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	aead, err := kek(pass, salt, scryptN, scryptR, scryptP)
	if err != nil {
		return nil, err
	}
	blk := &pem.Block{Type: caKeyPEMType, Headers: map[string]string{
		"KDF":           "scrypt",
		"Scrypt-Params": fmt.Sprintf("N=%d,r=%d,p=%d", scryptN, scryptR, scryptP),
		"Salt":          hex.EncodeToString(salt),
		"Nonce":         hex.EncodeToString(nonce),
	}, Bytes: aead.Seal(nil, nonce, der, []byte(name))}
	return pem.EncodeToMemory(blk), nil
}

// openCAKey decrypts a key file written by sealCAKey for the certificate named name.
func openCAKey(file []byte, name string, pass []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(file)
	if blk == nil || blk.Type != caKeyPEMType || blk.Headers["KDF"] != "scrypt" {
		return nil, errors.New("not a Pico HSM CA key file")
	}
	var n, r, p int
	if _, err := fmt.Sscanf(blk.Headers["Scrypt-Params"], "N=%d,r=%d,p=%d", &n, &r, &p); err != nil ||
		n < 1<<14 || n > 1<<22 || r < 1 || r > 32 || p < 1 || p > 16 {
		return nil, errors.New("CA key file: bad scrypt parameters")
	}
	salt, err1 := hex.DecodeString(blk.Headers["Salt"])
	nonce, err2 := hex.DecodeString(blk.Headers["Nonce"])
	if err1 != nil || err2 != nil || len(salt) < 16 || len(nonce) != 12 {
		return nil, errors.New("CA key file: bad salt or nonce")
	}
	aead, err := kek(pass, salt, n, r, p)
	if err != nil {
		return nil, err
	}
	der, err := aead.Open(nil, nonce, blk.Bytes, []byte(name))
	if err != nil {
		return nil, errPassphrase
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("CA key file: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("CA key file: not an EC key")
	}
	return ek, nil
}
