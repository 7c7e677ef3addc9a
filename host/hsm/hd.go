package hsm

// Hierarchical deterministic keys, INS 4A (pico-hsm-extensions.md section 2): BIP32 /
// SLIP-10 masters on secp256k1 and NIST P-256, SLIP-21 symmetric masters, derivation paths,
// the extended public description ("xpub") and signatures with a derived node.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// InsHD is the Pico HSM instruction for HD keys.
const InsHD = 0x4A

// HDType is the kind of an HD master node (spec 2.1); it is also P1 of master creation.
type HDType byte

const (
	HDSecp256k1 HDType = 0x01 // BIP32 (= SLIP-10 secp256k1), HMAC key "Bitcoin seed"
	HDP256      HDType = 0x02 // SLIP-10 nist256p1, "Nist256p1 seed"
	HDSymmetric HDType = 0x03 // SLIP-21, "Symmetric key seed"
)

// HDMasters is the number of master slots (ids 0..9).
const HDMasters = 10

// AlgHDSign is the SIGN algorithm byte of a signature with the selected HD node (spec 2.6).
const AlgHDSign Algorithm = 0xA0

// HDHardened marks a hardened BIP32 index.
const HDHardened = 0x80000000

const (
	hdCreate = 0x00 // P1 = the type
	hdDerive = 0x0A
	hdSelect = 0x10
)

// CreateHDMaster sends 80 4A <type> <id> [seed] (spec 2.2): the device computes the master
// node from seed (at most 64 bytes are used), or from 64 random bytes when seed is empty,
// and stores it sealed in slot id. Needs a verified PIN.
func (c *Client) CreateHDMaster(ctx context.Context, typ HDType, id byte, seed []byte) error {
	if id >= HDMasters {
		return fmt.Errorf("hd master %d: ids are 0..%d", id, HDMasters-1)
	}
	if len(seed) > 64 {
		return fmt.Errorf("hd master %d: seed of %d bytes, at most 64", id, len(seed))
	}
	_, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsHD, P1: byte(typ), P2: id, Data: seed})
	if err != nil {
		return fmt.Errorf("create hd master %d: %w", id, err)
	}
	return nil
}

// ParseBIP32Path parses "m", "m/0h/1/2'" into child indexes; h, H or ' marks a hardened one.
func ParseBIP32Path(s string) ([]uint32, error) {
	parts := strings.Split(s, "/")
	if parts[0] != "m" {
		return nil, fmt.Errorf("path %q: must start with m", s)
	}
	var out []uint32
	for _, p := range parts[1:] {
		hard := strings.HasSuffix(p, "h") || strings.HasSuffix(p, "H") || strings.HasSuffix(p, "'")
		if hard {
			p = p[:len(p)-1]
		}
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil || v >= HDHardened {
			return nil, fmt.Errorf("path %q: bad index %q", s, p)
		}
		if hard {
			v |= HDHardened
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

// BIP32Path encodes a derivation path of an ECDSA master (spec 2.3): 02 01 <id>, then
// 02 04 <index> per child.
func BIP32Path(master byte, indexes []uint32) []byte {
	b := []byte{0x02, 0x01, master}
	for _, i := range indexes {
		b = append(b, 0x02, 0x04)
		b = binary.BigEndian.AppendUint32(b, i)
	}
	return b
}

// SLIP21Path encodes a path of a SLIP-21 master: 02 01 <id>, then 04 <len> <label> per
// child. Labels must be shorter than 128 bytes.
func SLIP21Path(master byte, labels ...[]byte) ([]byte, error) {
	b := []byte{0x02, 0x01, master}
	for _, l := range labels {
		if len(l) >= 128 {
			return nil, fmt.Errorf("slip-21 label of %d bytes, at most 127", len(l))
		}
		b = append(b, 0x04, byte(len(l)))
		b = append(b, l...)
	}
	return b, nil
}

// ExtendedKey is the answer of a derivation (spec 2.5). For ECDSA nodes Key is the 33-byte
// compressed public key and ChainCode the chain code; for SLIP-21 nodes the device returns
// only double SHA-256 hashes: ChainCode = SHA256d(chain), Key = SHA256d(node key).
type ExtendedKey struct {
	Version           [4]byte
	Depth             byte
	ParentFingerprint [4]byte
	ChildNumber       uint32
	ChainCode         []byte
	Key               []byte
	Raw               []byte // the 78 or 77 bytes as received
}

// ParseExtendedKey decodes the 78-byte (ECDSA) or 77-byte (SLIP-21) description.
func ParseExtendedKey(b []byte) (*ExtendedKey, error) {
	if len(b) != 78 && len(b) != 77 {
		return nil, fmt.Errorf("extended key of %d bytes, want 78 or 77", len(b))
	}
	k := &ExtendedKey{Depth: b[4], ChildNumber: binary.BigEndian.Uint32(b[9:13]),
		ChainCode: append([]byte(nil), b[13:45]...), Key: append([]byte(nil), b[45:]...),
		Raw: append([]byte(nil), b...)}
	copy(k.Version[:], b[:4])
	copy(k.ParentFingerprint[:], b[5:9])
	return k, nil
}

// String is the Base58Check encoding (the "xpub..." string of BIP32) of an ECDSA node.
func (k *ExtendedKey) String() string {
	sum := sha256.Sum256(k.Raw)
	sum = sha256.Sum256(sum[:])
	return Base58(append(append([]byte(nil), k.Raw...), sum[:4]...))
}

// DeriveHD sends 80 4A 0A 00 <path> (spec 2.5) and returns the derived node's description.
func (c *Client) DeriveHD(ctx context.Context, path []byte) (*ExtendedKey, error) {
	out, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsHD, P1: hdDerive, Data: path,
		Ne: 256})
	if err != nil {
		return nil, fmt.Errorf("derive hd node: %w", err)
	}
	return ParseExtendedKey(out)
}

// SelectHD sends 80 4A 10 00 <path> (spec 2.6): the device derives the node and keeps it for
// the next SignHD (one signature; SELECT of the applet forgets it).
func (c *Client) SelectHD(ctx context.Context, path []byte) error {
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsHD, P1: hdSelect, Data: path}); err != nil {
		return fmt.Errorf("select hd node: %w", err)
	}
	return nil
}

// SignHD signs digest (used as given; normally a SHA-256 hash) with the node chosen by
// SelectHD: SIGN 80 68 <slot> A0 (spec 2.6). slot is the key whose policy applies; 0 (the
// device key) has none. The answer is a DER ECDSA-Sig-Value.
func (c *Client) SignHD(ctx context.Context, slot byte, digest []byte) ([]byte, error) {
	out, err := c.keyOp(ctx, InsSign, slot, AlgHDSign, digest)
	if err != nil {
		return nil, fmt.Errorf("hd signature: %w", err)
	}
	return out, nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Base58 encodes b with the Bitcoin alphabet (leading zero bytes become '1').
func Base58(b []byte) string {
	x := new(big.Int).SetBytes(b)
	var out []byte
	mod, radix := new(big.Int), big.NewInt(58)
	for x.Sign() > 0 {
		x.DivMod(x, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, v := range b {
		if v != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// DecodeBase58Check decodes a Base58Check string and verifies its 4-byte checksum.
func DecodeBase58Check(s string) ([]byte, error) {
	x := new(big.Int)
	for _, r := range s {
		i := strings.IndexRune(base58Alphabet, r)
		if i < 0 {
			return nil, fmt.Errorf("base58: bad character %q", r)
		}
		x.Mul(x, big.NewInt(58))
		x.Add(x, big.NewInt(int64(i)))
	}
	b := x.Bytes()
	for _, r := range s {
		if r != '1' {
			break
		}
		b = append([]byte{0}, b...)
	}
	if len(b) < 4 {
		return nil, errors.New("base58check: too short")
	}
	body, sum := b[:len(b)-4], b[len(b)-4:]
	h := sha256.Sum256(body)
	h = sha256.Sum256(h[:])
	if string(h[:4]) != string(sum) {
		return nil, errors.New("base58check: checksum mismatch")
	}
	return body, nil
}

// oidHDCipher selects the HD symmetric cipher in CIPHER SYMMETRIC (sections 1.6.10, 2.6).
var oidHDCipher = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xA8, 0x78, 0x05, 0x8D, 0x6B}

// HDCipher encrypts or decrypts data (a multiple of 16 bytes) with the SLIP-21 node chosen
// by SelectHD, which the card consumes (section 2.6): AES-256-CBC under
// S = HMAC-SHA512(node key, label), key S[0..31], IV iv or, when iv is empty, S[32..47].
// Without a selected SLIP-21 node the card answers 6A80.
func (c *Client) HDCipher(ctx context.Context, encrypt bool, label, iv, data []byte) ([]byte, error) {
	alg := AlgCipherDecrypt
	if encrypt {
		alg = AlgCipherEncrypt
	}
	p := CipherParams{IV: iv, AAD: label}
	if p.IV == nil {
		p.IV = []byte{}
	}
	return c.CipherSym(ctx, 0, alg, extended(oidHDCipher, data, p), len(data))
}
