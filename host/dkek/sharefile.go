package dkek

// DKEK share files (spec smartcard-hsm-core.md 4.2), byte-compatible with
// sc-hsm-tool --create-dkek-share / --import-dkek-share:
//
//	offset 0   8 bytes  "Salted__"
//	offset 8   8 bytes  salt
//	offset 16 48 bytes  AES-256-CBC(key, iv, share || 16 x 10)   (PKCS#7 padding)
//
// key || iv = OpenSSL EVP_BytesToKey(AES-256-CBC, MD5, salt, password, 10 000 000).

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
)

const (
	// ShareFileSize is the size of a share file.
	ShareFileSize = 64
	// ShareFileIterations is sc-hsm-tool's iteration count for EVP_BytesToKey.
	ShareFileIterations = 10_000_000
	// SaltSize is the length of a share file's salt.
	SaltSize = 8
)

var shareMagic = []byte("Salted__")

// ErrNotShareFile is returned for a file that does not start with "Salted__" or is not 64
// bytes long.
var ErrNotShareFile = errors.New("dkek: not a DKEK share file")

// ErrWrongPassword is returned when a share file does not decrypt with the password (the
// PKCS#7 padding check fails, as in sc-hsm-tool: "Password correct ?").
var ErrWrongPassword = errors.New("dkek: wrong password for the DKEK share")

// checkEvery is how many MD5 rounds run between two looks at the context.
const checkEvery = 1 << 17

// BytesToKey is OpenSSL's EVP_BytesToKey with MD5 for AES-256-CBC: 32 bytes of key and 16
// of IV. D1 = MD5^count(password || salt), Di = MD5^count(Di-1 || password || salt). It
// looks at ctx now and then: 10 000 000 iterations take seconds.
func BytesToKey(ctx context.Context, password, salt []byte, count int) (key, iv []byte, err error) {
	if count < 1 {
		return nil, nil, fmt.Errorf("dkek: iteration count %d", count)
	}
	out := make([]byte, 0, 48)
	var prev []byte
	for len(out) < 48 {
		first := make([]byte, 0, len(prev)+len(password)+len(salt))
		first = append(append(append(first, prev...), password...), salt...)
		d := md5.Sum(first)
		Wipe(first)
		for i := 1; i < count; i++ {
			if i%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, nil, fmt.Errorf("dkek: key derivation: %w", err)
				}
			}
			d = md5.Sum(d[:])
		}
		prev = d[:]
		out = append(out, d[:]...)
	}
	return out[:32], out[32:48], nil
}

// KDFCache remembers BytesToKey results for ShareFileIterations, so that a program that
// opens or creates the same share file several times (a test suite, a batch) derives each
// key once. A nil *KDFCache caches nothing. It holds key material: keep it no longer than
// needed and Clear it.
type KDFCache struct {
	mu sync.Mutex
	m  map[string][48]byte
}

// Clear wipes and forgets every entry.
func (c *KDFCache) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.m {
		Wipe(v[:])
		delete(c.m, k)
	}
}

func (c *KDFCache) derive(ctx context.Context, password, salt []byte) (key, iv []byte, err error) {
	if c == nil {
		return BytesToKey(ctx, password, salt, ShareFileIterations)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := string(password) + "\x00" + string(salt)
	if v, ok := c.m[id]; ok {
		out := append([]byte(nil), v[:]...)
		return out[:32], out[32:], nil
	}
	key, iv, err = BytesToKey(ctx, password, salt, ShareFileIterations)
	if err != nil {
		return nil, nil, err
	}
	if c.m == nil {
		c.m = map[string][48]byte{}
	}
	var v [48]byte
	copy(v[:], key)
	copy(v[32:], iv)
	c.m[id] = v
	return key, iv, nil
}

// CreateShareFile encrypts a 32-byte share under password with the given 8-byte salt and
// returns the 64-byte file. sc-hsm-tool takes salt and share from the card's GET
// CHALLENGE (8 bytes, then 32).
func CreateShareFile(ctx context.Context, kdf *KDFCache, share, salt, password []byte) ([]byte, error) {
	if len(share) != Size {
		return nil, fmt.Errorf("dkek: share of %d bytes, want %d", len(share), Size)
	}
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("dkek: salt of %d bytes, want %d", len(salt), SaltSize)
	}
	key, iv, err := kdf.derive(ctx, password, salt)
	if err != nil {
		return nil, err
	}
	return sealShare(key, iv, share, salt), nil
}

func sealShare(key, iv, share, salt []byte) []byte {
	defer Wipe(key)
	b, _ := aes.NewCipher(key) // 32 bytes: cannot fail
	out := make([]byte, ShareFileSize)
	copy(out, shareMagic)
	copy(out[8:], salt)
	plain := append(append(make([]byte, 0, 48), share...), bytes.Repeat([]byte{16}, 16)...)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out[16:], plain)
	Wipe(plain)
	return out
}

// ShareFileSalt returns the salt of a share file after checking its form.
func ShareFileSalt(file []byte) ([]byte, error) {
	if len(file) != ShareFileSize || !bytes.Equal(file[:8], shareMagic) {
		return nil, ErrNotShareFile
	}
	return file[8:16], nil
}

// OpenShareFile decrypts a share file with password and returns the 32-byte share.
func OpenShareFile(ctx context.Context, kdf *KDFCache, file, password []byte) ([]byte, error) {
	salt, err := ShareFileSalt(file)
	if err != nil {
		return nil, err
	}
	key, iv, err := kdf.derive(ctx, password, salt)
	if err != nil {
		return nil, err
	}
	return openShare(key, iv, file)
}

func openShare(key, iv, file []byte) ([]byte, error) {
	defer Wipe(key)
	b, _ := aes.NewCipher(key)
	plain := make([]byte, 48)
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, file[16:])
	// PKCS#7 as EVP_DecryptFinal checks it; the share is always 32 bytes, so the only
	// valid padding is a full block of 10s (checked without branching on its bytes).
	if subtle.ConstantTimeCompare(plain[32:], bytes.Repeat([]byte{16}, 16)) != 1 {
		Wipe(plain)
		return nil, ErrWrongPassword
	}
	share := append([]byte(nil), plain[:32]...)
	Wipe(plain)
	return share, nil
}
