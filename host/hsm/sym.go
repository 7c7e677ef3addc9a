package hsm

// Symmetric keys and derivations (pico-hsm-extensions.md section 1): GENERATE SYMMETRIC KEY
// (48, 1.2), CIPHER SYMMETRIC (78, 1.3-1.7) and EC private key derivation (76, 1.8). All of
// them need the user PIN.
//
// Status words (errors.Is against the apdu values):
//
//	apdu.ErrFileNotFound           6A82  no key with that number
//	apdu.ErrFunctionNotSupported   6A81  not an AES key (EC key for CIPHER, AES key for SIGN),
//	                                     or the algorithm is not in the key's list
//	apdu.ErrReferenceDataUnusable  6984  usage counter exhausted; DERIVE: unusable scalar
//	apdu.ErrWrongLength            6700  unknown OID, key length wrong for the OID, wrong
//	                                     IV/nonce length, ChaCha20-Poly1305 tag mismatch, KDF
//	                                     output too long, data not a multiple of 16 (P2 10/11)
//	apdu.ErrExecution              6400  AES-GCM/CCM tag mismatch, extended AES-CBC data not a
//	                                     multiple of 16
//	apdu.ErrWrongP1P2              6B00  unknown algorithm byte (P2)

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Instruction bytes of the symmetric commands.
const (
	InsGenerateSymKey byte = 0x48
	InsCipherSym      byte = 0x78
	InsDeriveEC       byte = 0x76
)

// Algorithm bytes of CIPHER SYMMETRIC and DERIVE (section 1.1), usable in KeyOptions.Algorithms.
const (
	AlgAESCBCEncrypt Algorithm = 0x10 // AES-CBC, zero IV, no padding
	AlgAESCBCDecrypt Algorithm = 0x11
	AlgAESCMAC       Algorithm = 0x18
	AlgCipherEncrypt Algorithm = 0x51 // extended cipher, OID-selected: encrypt / MAC / KDF
	AlgCipherDecrypt Algorithm = 0x52 // extended cipher: decrypt
	AlgWrap          Algorithm = 0x92 // the key may be wrapped (WRAP KEY)
	AlgECDerive      Algorithm = 0x98 // EC private key derivation (76)
	AlgAESDerive     Algorithm = 0x99 // HKDF-SHA-256 secret derivation (78 P2 99)
)

// DefaultAESAlgorithms is the list pypicohsm writes into an imported AES key blob.
var DefaultAESAlgorithms = []byte{0x10, 0x11, 0x18, 0x99, 0x51, 0x52}

// AESMode is a mode of the extended cipher (section 1.6.8, 1.6.9).
type AESMode int

// AES modes.
const (
	ModeECB AESMode = iota // one 16-byte block per call
	ModeCBC                // no padding, IV 16 bytes (default zeros)
	ModeOFB                // IV 16 bytes (default zeros)
	ModeCFB                // CFB-128, IV 16 bytes (default zeros)
	ModeCTR                // IV = initial counter block (16 bytes, default zeros)
	ModeGCM                // nonce required; ciphertext || tag
	ModeCCM                // nonce 7..13 bytes; ciphertext || tag
	ModeXTS                // tweak 16 bytes; key 256 (AES-128-XTS) or 512 bits (AES-256-XTS)
)

var aesModeNames = map[AESMode]string{ModeECB: "ecb", ModeCBC: "cbc", ModeOFB: "ofb", ModeCFB: "cfb",
	ModeCTR: "ctr", ModeGCM: "gcm", ModeCCM: "ccm", ModeXTS: "xts"}

func (m AESMode) String() string {
	if n, ok := aesModeNames[m]; ok {
		return n
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseAESMode returns the mode named ecb, cbc, ofb, cfb, ctr, gcm, ccm or xts.
func ParseAESMode(s string) (AESMode, error) {
	for m, n := range aesModeNames {
		if n == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown AES mode %q (want ecb, cbc, ofb, cfb, ctr, gcm, ccm or xts)", s)
}

// OIDs of the extended cipher (section 1.6.1), content bytes of tag 06.
var (
	oidChaChaPoly = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x12}
	oidHMACPrefix = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02}
	oidHKDFPrefix = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03}
	oidPBKDF2     = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C}
	oidPBES2      = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D}
	oidX963       = []byte{0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F}
	oidAESPrefix  = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01}
	oidXTSPrefix  = []byte{0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01}
)

// AESOID returns the OID content bytes the card expects for mode with a key of keyBits.
func AESOID(mode AESMode, keyBits int) ([]byte, error) {
	if mode == ModeXTS {
		switch keyBits {
		case 256:
			return append(bytes.Clone(oidXTSPrefix), 0x01), nil
		case 512:
			return append(bytes.Clone(oidXTSPrefix), 0x02), nil
		}
		return nil, fmt.Errorf("%w: AES-XTS with a %d-bit key (want 256 or 512)", ErrNotSupported, keyBits)
	}
	base := map[int]byte{128: 0x01, 192: 0x15, 256: 0x29}[keyBits]
	if base == 0 {
		return nil, fmt.Errorf("%w: AES-%s with a %d-bit key", ErrNotSupported, mode, keyBits)
	}
	off := map[AESMode]byte{ModeECB: 0, ModeCBC: 1, ModeOFB: 2, ModeCFB: 3, ModeGCM: 5, ModeCCM: 6, ModeCTR: 8}
	o, ok := off[mode]
	if !ok {
		return nil, fmt.Errorf("%w: AES mode %d", ErrNotSupported, int(mode))
	}
	return append(bytes.Clone(oidAESPrefix), base+o), nil
}

func hashOIDByte(h crypto.Hash) (byte, error) {
	switch h {
	case crypto.SHA1:
		return 0x07, nil
	case crypto.SHA224:
		return 0x08, nil
	case crypto.SHA256:
		return 0x09, nil
	case crypto.SHA384:
		return 0x0A, nil
	case crypto.SHA512:
		return 0x0B, nil
	}
	return 0, fmt.Errorf("%w: hash %v", ErrNotSupported, h)
}

// HMACOID returns the hmacWithSHAx OID content bytes for h (SHA-1, SHA-224 ... SHA-512).
func HMACOID(h crypto.Hash) ([]byte, error) {
	b, err := hashOIDByte(h)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(oidHMACPrefix), b), nil
}

// GenerateAESKey generates a random AES key of bits (128, 192, 256 or 512, the last for
// AES-256-XTS) as key id (1..255), replacing a key of that number (section 1.2): 00 48 <id>
// B0..B3 with the optional attributes of opts (counter, algorithm list, domain).
func (c *Client) GenerateAESKey(ctx context.Context, id byte, bits int, opts KeyOptions) error {
	p2 := map[int]byte{128: 0xB0, 192: 0xB1, 256: 0xB2, 512: 0xB3}[bits]
	if p2 == 0 {
		return fmt.Errorf("generate AES key: %w: %d bits (want 128, 192, 256 or 512)", ErrNotSupported, bits)
	}
	if id == 0 {
		return fmt.Errorf("generate AES key: key number 00 is the device key; use 01..FF")
	}
	var data []byte
	if opts.UsageCounter != nil {
		data = tlv.Append(data, 0x90, binary.BigEndian.AppendUint32(nil, *opts.UsageCounter))
	}
	if len(opts.Algorithms) > 0 {
		data = tlv.Append(data, 0x91, opts.Algorithms)
	}
	if opts.Domain != nil {
		data = tlv.Append(data, 0x92, []byte{*opts.Domain})
	}
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsGenerateSymKey, P1: id, P2: p2, Data: data}); err != nil {
		return fmt.Errorf("generate AES key %02X: %w", id, err)
	}
	return nil
}

// ImportAESKey stores key as key id through UNWRAP KEY: the blob (smartcard-hsm-core.md 4.4,
// type 0F) is made on the host under k, which must be the DKEK of the card's key domain. key
// is an AES key (16, 24, 32 or 64 bytes) or a secret of 1..64 bytes for HMAC and the KDFs.
// algs is the key's allowed-algorithm list (nil: all).
func (c *Client) ImportAESKey(ctx context.Context, id byte, key []byte, k *dkek.DKEK, algs []byte) error {
	var wk any = dkek.SecretKey(key)
	switch len(key) {
	case 16, 24, 32, 64:
		wk = dkek.AESKey(key)
	}
	blob, err := k.Wrap(wk, dkek.WrapOptions{Algorithms: algs})
	if err != nil {
		return fmt.Errorf("import AES key %02X: %w", id, err)
	}
	defer dkek.Wipe(blob)
	return c.UnwrapKey(ctx, id, blob, false)
}

// CipherSym sends 80 78 <id> <alg> with data (case 4E, Ne ne; ne 0 asks for the most,
// 65536) and returns the answer: the raw CIPHER SYMMETRIC command (section 1.3).
func (c *Client) CipherSym(ctx context.Context, id byte, alg Algorithm, data []byte, ne int) ([]byte, error) {
	if ne == 0 {
		ne = apdu.MaxExtendedNe
	}
	resp, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsCipherSym, P1: id, P2: byte(alg),
		Data: data, Ne: ne, ForceExtended: true})
	if err != nil {
		return nil, fmt.Errorf("cipher key %02X alg %02X: %w", id, byte(alg), err)
	}
	return resp, nil
}

// AESCBC encrypts or decrypts data (a multiple of 16 bytes) with AES-CBC, zero IV and no
// padding: the core algorithms 10 / 11 (section 1.4).
func (c *Client) AESCBC(ctx context.Context, id byte, encrypt bool, data []byte) ([]byte, error) {
	alg := AlgAESCBCDecrypt
	if encrypt {
		alg = AlgAESCBCEncrypt
	}
	return c.CipherSym(ctx, id, alg, data, len(data))
}

// CMAC returns the 16-byte AES-CMAC (NIST SP 800-38B) of msg under key id (algorithm 18).
func (c *Client) CMAC(ctx context.Context, id byte, msg []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgAESCMAC, msg, 16)
}

// DeriveAES returns HKDF-SHA-256(salt empty, IKM = key id, info = data) of len(data) bytes:
// algorithm 99 (section 1.5).
func (c *Client) DeriveAES(ctx context.Context, id byte, data []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgAESDerive, data, len(data))
}

// CipherParams are the optional inputs of the extended cipher.
type CipherParams struct {
	IV  []byte // tag 82: IV, nonce or tweak (nil: the card's default, zeros where allowed)
	AAD []byte // tag 83: additional authenticated data (GCM, CCM, ChaCha20-Poly1305)
	// TagLen is the GCM/CCM tag length (tag 84, our addition to the protocol); 0 means 16.
	TagLen int
}

func extended(oid, in []byte, p CipherParams) []byte {
	data := tlv.Encode(0x06, oid)
	data = tlv.Append(data, 0x81, in)
	if p.IV != nil {
		data = tlv.Append(data, 0x82, p.IV)
	}
	if p.AAD != nil {
		data = tlv.Append(data, 0x83, p.AAD)
	}
	if p.TagLen != 0 {
		data = tlv.Append(data, 0x84, []byte{byte(p.TagLen)})
	}
	return data
}

// AESEncrypt encrypts with key id (of keyBits: 128, 192, 256; XTS 256 or 512) in mode
// (section 1.6.8): 80 78 <id> 51 { 06 OID, 81 data, [82 IV], [83 AAD] }. GCM and CCM return
// ciphertext || tag.
func (c *Client) AESEncrypt(ctx context.Context, id byte, keyBits int, mode AESMode, data []byte, p CipherParams) ([]byte, error) {
	return c.aes(ctx, id, keyBits, mode, AlgCipherEncrypt, data, p)
}

// AESDecrypt is the inverse of AESEncrypt; for GCM and CCM data is ciphertext || tag and a
// wrong tag answers 6400 with no plaintext.
func (c *Client) AESDecrypt(ctx context.Context, id byte, keyBits int, mode AESMode, data []byte, p CipherParams) ([]byte, error) {
	return c.aes(ctx, id, keyBits, mode, AlgCipherDecrypt, data, p)
}

func (c *Client) aes(ctx context.Context, id byte, keyBits int, mode AESMode, alg Algorithm, data []byte, p CipherParams) ([]byte, error) {
	oid, err := AESOID(mode, keyBits)
	if err != nil {
		return nil, fmt.Errorf("cipher key %02X: %w", id, err)
	}
	return c.CipherSym(ctx, id, alg, extended(oid, data, p), 0)
}

// ChaCha20Poly1305Seal encrypts plaintext with the 32-byte key id (RFC 8439, section 1.6.2)
// and returns ciphertext || 16-byte tag.
func (c *Client) ChaCha20Poly1305Seal(ctx context.Context, id byte, nonce, plaintext, aad []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oidChaChaPoly, plaintext, CipherParams{IV: nonce, AAD: aad}), 0)
}

// ChaCha20Poly1305Open decrypts ciphertext || tag; a wrong tag answers 6700 and no plaintext.
func (c *Client) ChaCha20Poly1305Open(ctx context.Context, id byte, nonce, sealed, aad []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgCipherDecrypt, extended(oidChaChaPoly, sealed, CipherParams{IV: nonce, AAD: aad}), 0)
}

// HMAC returns HMAC-h(key id, msg) (section 1.6.3), h one of SHA-1, SHA-224 ... SHA-512.
func (c *Client) HMAC(ctx context.Context, id byte, h crypto.Hash, msg []byte) ([]byte, error) {
	oid, err := HMACOID(h)
	if err != nil {
		return nil, fmt.Errorf("hmac key %02X: %w", id, err)
	}
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oid, msg, CipherParams{}), h.Size())
}

// HKDF returns n bytes of RFC 5869 HKDF-h with IKM = key id (section 1.6.4); h is SHA-256,
// SHA-384 or SHA-512. The card takes the output length from Le (at most 2028).
func (c *Client) HKDF(ctx context.Context, id byte, h crypto.Hash, salt, info []byte, n int) ([]byte, error) {
	last := map[crypto.Hash]byte{crypto.SHA256: 0x1D, crypto.SHA384: 0x1E, crypto.SHA512: 0x1F}[h]
	if last == 0 {
		return nil, fmt.Errorf("hkdf key %02X: %w: hash %v", id, ErrNotSupported, h)
	}
	if n <= 0 {
		return nil, fmt.Errorf("hkdf key %02X: output length %d", id, n)
	}
	oid := append(bytes.Clone(oidHKDFPrefix), last)
	p := CipherParams{IV: salt}
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oid, info, p), n)
}

// PBKDF2 returns n bytes of RFC 8018 PBKDF2 with PRF HMAC-h, password = key id (section
// 1.6.5); iterations 1..1000000.
func (c *Client) PBKDF2(ctx context.Context, id byte, h crypto.Hash, salt []byte, iterations, n int) ([]byte, error) {
	prf, err := HMACOID(h)
	if err != nil {
		return nil, fmt.Errorf("pbkdf2 key %02X: %w", id, err)
	}
	if iterations < 1 || iterations > 1000000 || n <= 0 {
		return nil, fmt.Errorf("pbkdf2 key %02X: %d iterations, %d bytes", id, iterations, n)
	}
	iter := big4(uint32(iterations))
	params := tlv.Encode(0x04, salt)
	params = tlv.Append(params, 0x02, iter)
	params = tlv.Append(params, 0x30, tlv.Encode(0x06, prf))
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oidPBKDF2, params, CipherParams{}), n)
}

// PBES2Params returns the contents of a PBES2-params SEQUENCE (RFC 8018 A.4) for PBKDF2 with
// HMAC-h (salt, iterations) and AES-CBC with a key of keyBits (128, 192, 256) and iv (16 bytes,
// PKCS#7 padding): what PBES2Encrypt and PBES2Decrypt take.
func PBES2Params(h crypto.Hash, salt []byte, iterations int, keyBits int, iv []byte) ([]byte, error) {
	prf, err := HMACOID(h)
	if err != nil {
		return nil, err
	}
	enc, err := AESOID(ModeCBC, keyBits)
	if err != nil {
		return nil, err
	}
	if iterations < 1 || iterations > 1000000 || len(iv) != 16 {
		return nil, fmt.Errorf("PBES2 parameters: %d iterations, IV of %d bytes", iterations, len(iv))
	}
	kdfParams := tlv.Encode(0x04, salt)
	kdfParams = tlv.Append(kdfParams, 0x02, big4(uint32(iterations)))
	kdfParams = tlv.Append(kdfParams, 0x30, append(tlv.Encode(0x06, prf), 0x05, 0x00))
	kdf := tlv.Encode(0x06, oidPBKDF2)
	kdf = tlv.Append(kdf, 0x30, kdfParams)
	scheme := tlv.Encode(0x06, enc)
	scheme = tlv.Append(scheme, 0x04, iv)
	return tlv.Append(tlv.Encode(0x30, kdf), 0x30, scheme), nil
}

// PBES2Encrypt encrypts data under RFC 8018 PBES2 with password = key id (section 1.6.6);
// params are the contents of a PBES2-params SEQUENCE (see PBES2Params).
func (c *Client) PBES2Encrypt(ctx context.Context, id byte, params, data []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oidPBES2, data, CipherParams{AAD: params}), 0)
}

// PBES2Decrypt is the inverse of PBES2Encrypt; a wrong password or padding answers 6700.
func (c *Client) PBES2Decrypt(ctx context.Context, id byte, params, data []byte) ([]byte, error) {
	return c.CipherSym(ctx, id, AlgCipherDecrypt, extended(oidPBES2, data, CipherParams{AAD: params}), 0)
}

// big4 is v as a minimal positive DER INTEGER body.
func big4(v uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, v)
	for len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0 {
		b = b[1:]
	}
	if b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// X963KDF returns n bytes of the ANSI X9.63 KDF with hash h, Z = key id, and sharedInfo
// (section 1.6.7).
func (c *Client) X963KDF(ctx context.Context, id byte, h crypto.Hash, sharedInfo []byte, n int) ([]byte, error) {
	sel, err := HMACOID(h)
	if err != nil {
		return nil, fmt.Errorf("x963 key %02X: %w", id, err)
	}
	if n <= 0 {
		return nil, fmt.Errorf("x963 key %02X: output length %d", id, n)
	}
	return c.CipherSym(ctx, id, AlgCipherEncrypt, extended(oidX963, sel, CipherParams{AAD: sharedInfo}), n)
}

// DeriveEC stores the EC key d' = (d + scalar) mod p of key src as key dst (section 1.8):
// 80 76 <src> <dst> 98 || scalar. The card returns nothing; the public key of dst is
// (d + scalar)·G.
func (c *Client) DeriveEC(ctx context.Context, src, dst byte, scalar []byte) error {
	if dst == 0 {
		return fmt.Errorf("derive EC key: key number 00 is the device key")
	}
	data := append([]byte{byte(AlgECDerive)}, scalar...)
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsDeriveEC, P1: src, P2: dst, Data: data, ForceExtended: true}); err != nil {
		return fmt.Errorf("derive EC key %02X -> %02X: %w", src, dst, err)
	}
	return nil
}
