package hsm

// Asymmetric keys: GENERATE ASYMMETRIC KEY PAIR (2.11), SIGN (2.12), DECIPHER and ECDH
// (2.13), and deleting a key (2.4 with FID CCxx, section 3.2). All of them need the user PIN
// (apdu.ErrSecurityStatus otherwise).
//
// Status words of the key commands (Pico HSM, errors.Is against the apdu values):
//
//	apdu.ErrFileNotFound           6A82  no key with that number
//	apdu.ErrFunctionNotSupported   6A81  algorithm not for this key type or not in its list;
//	                                     curve or RSA size not supported (generation)
//	apdu.ErrIncorrectData          6A80  input of the wrong length or form for the algorithm
//	apdu.ErrReferenceDataUnusable  6984  the key's usage counter is exhausted
//	apdu.ErrIncorrectP1P2          6A86  key number 00 (the device key), unknown algorithm

import (
	"context"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Instruction bytes of the key commands.
const (
	InsGenerateKeyPair byte = 0x46
	InsSign            byte = 0x68
	InsDecipher        byte = 0x62
)

// cryptoNe is the Ne of SIGN and DECIPHER as OpenSC sends them (02 00): an RSA-4096 block.
const cryptoNe = 512

// RSA modulus sizes the card generates (section 3.2; Pico: any multiple of 8 in between).
const (
	MinRSABits = 1024
	MaxRSABits = 4096
)

// ErrNotSupported is wrapped when the host refuses a request the card could not serve: an
// unknown curve, an RSA size outside the card's range, a signature option the card has no
// algorithm for, an operation the key type does not have.
var ErrNotSupported = errors.New("hsm: not supported")

// KeyOptions are the optional key attributes of a generation (pico-hsm-extensions.md 4.4).
// The zero value asks for none: unlimited use, every algorithm of the key type, domain 0.
type KeyOptions struct {
	// UsageCounter, when set, limits the key to that many successful SIGN/DECIPHER
	// operations (tag 90, 4 bytes big-endian); the next answers 6984.
	UsageCounter *uint32
	// Algorithms, when not empty, is the key's allowed-algorithm list (tag 91): Algorithm
	// bytes; any other algorithm answers 6A81.
	Algorithms []byte
	// Domain, when set, is the key domain (tag 92).
	Domain *byte
	// CAR and CHR, when set, are the inner request's authority and holder references (tags
	// 42 and 5F20, at most 16 characters); the card uses its device name for those left
	// empty. OpenSC sends "UTCA00001" and <serial>00001.
	CAR, CHR string
}

// GeneratedKey is the result of a key generation.
type GeneratedKey struct {
	ID byte
	// Public is *rsa.PublicKey; *ecdsa.PublicKey on secp256r1, secp384r1 and secp521r1;
	// *ecdh.PublicKey for X25519; *ECPublicKey on the other curves and for X448.
	Public crypto.PublicKey
	// Request is the parsed answer: the new key's CV request signed by itself (all zeros for
	// X25519/X448, which cannot sign) inside the device key's signature (section 2.11.2).
	Request *cvc.AuthenticatedRequest
	// Raw is the answer as the card sent it (67 ...): what OpenSC stores in EF CE<id>.
	Raw []byte
}

// GenerateRSA generates an RSA key pair of bits (MinRSABits..MaxRSABits, a multiple of 8)
// with exponent 65537 as key id (1..255), replacing a key of that number. RSA-4096 takes
// seconds on the emulator and much longer on a device: give ctx room.
func (c *Client) GenerateRSA(ctx context.Context, id byte, bits int, opts KeyOptions) (*GeneratedKey, error) {
	if bits < MinRSABits || bits > MaxRSABits || bits%8 != 0 {
		return nil, fmt.Errorf("generate key %02X: %w: RSA size %d (want %d..%d, a multiple of 8)",
			id, ErrNotSupported, bits, MinRSABits, MaxRSABits)
	}
	// Section 2.11.1: 06 id-TA-RSA-v1-5-SHA-256, 82 exponent, 02 size as an INTEGER.
	t := tlv.Encode(0x06, cvc.OIDRSAv15SHA256)
	t = tlv.Append(t, 0x82, []byte{0x01, 0x00, 0x01})
	t = tlv.Append(t, 0x02, []byte{byte(bits >> 8), byte(bits)})
	return c.generate(ctx, id, tlv.Encode(0x7F49, t), opts, func(g *GeneratedKey) error {
		if KeyDescription(g.Public) != fmt.Sprintf("rsa:%d", bits) {
			return fmt.Errorf("asked for rsa:%d, card generated %s", bits, KeyDescription(g.Public))
		}
		return nil
	})
}

// GenerateEC generates a key pair on the named curve (a name or alias of Curves(): secp256r1,
// prime256v1, brainpoolP384r1, secp256k1, X25519, ...) as key id. The request carries the
// curve's full domain parameters, which is how the card learns the curve.
func (c *Client) GenerateEC(ctx context.Context, id byte, curve string, opts KeyOptions) (*GeneratedKey, error) {
	cv := CurveByName(curve)
	if cv == nil {
		return nil, fmt.Errorf("generate key %02X: %w: curve %q", id, ErrNotSupported, curve)
	}
	return c.generate(ctx, id, cv.template(), opts, func(g *GeneratedKey) error {
		if got := curveOf(g.Public); got != cv {
			return fmt.Errorf("asked for a %s key, card generated %s", cv.Name, KeyDescription(g.Public))
		}
		return nil
	})
}

// GenerateX25519 generates an X25519 key pair (ECDH only) as key id.
func (c *Client) GenerateX25519(ctx context.Context, id byte, opts KeyOptions) (*GeneratedKey, error) {
	return c.GenerateEC(ctx, id, "X25519", opts)
}

// GenerateX448 generates an X448 key pair (ECDH only) as key id.
func (c *Client) GenerateX448(ctx context.Context, id byte, opts KeyOptions) (*GeneratedKey, error) {
	return c.GenerateEC(ctx, id, "X448", opts)
}

// generate sends 00 46 <id> 00 <Lc 3 bytes> <data> 00 00 (case 4E, Ne 65536, section 2.11.1)
// with data 5F29 00, [42 CAR], 7F49 template, [5F20 CHR], [90 counter], [91 list], [92 domain].
func (c *Client) generate(ctx context.Context, id byte, template []byte, opts KeyOptions, check func(*GeneratedKey) error) (*GeneratedKey, error) {
	if id == 0 {
		return nil, fmt.Errorf("generate key: key number 00 is the device key; use 01..FF")
	}
	for _, n := range []string{opts.CAR, opts.CHR} {
		if len(n) > cvc.MaxNameLen {
			return nil, fmt.Errorf("generate key %02X: reference %q longer than %d characters", id, n, cvc.MaxNameLen)
		}
	}
	if len(opts.Algorithms) > apdu.MaxShortData {
		return nil, fmt.Errorf("generate key %02X: %d algorithms", id, len(opts.Algorithms))
	}
	data := tlv.Encode(cvc.TagCPI, []byte{0x00})
	if opts.CAR != "" {
		data = tlv.Append(data, cvc.TagCAR, []byte(opts.CAR))
	}
	data = append(data, template...)
	if opts.CHR != "" {
		data = tlv.Append(data, cvc.TagCHR, []byte(opts.CHR))
	}
	if opts.UsageCounter != nil {
		data = tlv.Append(data, 0x90, binary.BigEndian.AppendUint32(nil, *opts.UsageCounter))
	}
	if len(opts.Algorithms) > 0 {
		data = tlv.Append(data, 0x91, opts.Algorithms)
	}
	if opts.Domain != nil {
		data = tlv.Append(data, 0x92, []byte{*opts.Domain})
	}
	resp, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsGenerateKeyPair, P1: id, P2: 0x00,
		Data: data, Ne: apdu.MaxExtendedNe, ForceExtended: true})
	if err != nil {
		return nil, fmt.Errorf("generate key %02X: %w", id, err)
	}
	g, err := ParseGeneratedKey(id, resp)
	if err != nil {
		return nil, fmt.Errorf("generate key %02X: %w", id, err)
	}
	if err := check(g); err != nil {
		return nil, fmt.Errorf("generate key %02X: %w", id, err)
	}
	return g, nil
}

// ParseGeneratedKey decodes the answer of a key generation (or the content of CE<id> that
// holds it) for key id. It checks the structure, not the signatures: verify
// Request.Request with VerifySelfSigned and Request with VerifyOuter under the device key.
func ParseGeneratedKey(id byte, raw []byte) (*GeneratedKey, error) {
	a, err := cvc.ParseAuthenticatedRequest(raw)
	if err != nil {
		return nil, err
	}
	pub, err := publicFromCVC(a.Request.PublicKey)
	if err != nil {
		return nil, err
	}
	return &GeneratedKey{ID: id, Public: pub, Request: a, Raw: a.Raw}, nil
}

// DeleteKey deletes key id (DELETE FILE of CC<id>, sections 2.4 and 3.2). The key's CE and
// C4 files, if any, are left alone. Key 00, the device key, cannot be deleted.
func (c *Client) DeleteKey(ctx context.Context, id byte) error {
	if id == 0 {
		return fmt.Errorf("delete key: key number 00 is the device key")
	}
	if err := c.DeleteFile(ctx, uint16(PrefixKey)<<8|uint16(id)); err != nil {
		return fmt.Errorf("delete key %02X: %w", id, err)
	}
	return nil
}

// Sign sends SIGN, 80 68 <id> <alg> 00 <Lc 2 bytes> <data> 02 00 (case 4E, Ne 512,
// section 2.12), and returns the card's answer: an RSA signature of modulus size, or a DER
// ECDSA-Sig-Value. The card checks the algorithm against the key, not this function.
func (c *Client) Sign(ctx context.Context, id byte, alg Algorithm, data []byte) ([]byte, error) {
	out, err := c.keyOp(ctx, InsSign, id, alg, data)
	if err != nil {
		return nil, fmt.Errorf("sign with key %02X (%v): %w", id, alg, err)
	}
	return out, nil
}

// Decipher sends DECIPHER, 80 62 <id> <alg> 00 <Lc 2 bytes> <data> 02 00 (section 2.13), and
// returns the card's answer: for AlgRSADecryptRaw the modulus-size block with its leading
// zeros, for AlgRSADecryptPKCS1 and AlgRSADecryptOAEP the plaintext, for AlgECDH 04 || secret.
func (c *Client) Decipher(ctx context.Context, id byte, alg Algorithm, data []byte) ([]byte, error) {
	out, err := c.keyOp(ctx, InsDecipher, id, alg, data)
	if err != nil {
		return nil, fmt.Errorf("decipher with key %02X (%v): %w", id, alg, err)
	}
	return out, nil
}

// ECDH derives the shared secret of key id and a peer's public key (DECIPHER with AlgECDH):
// peerPoint is the uncompressed point 04 || x || y on Weierstrass curves, the raw
// u-coordinate (32 or 56 bytes, little-endian) for X25519/X448. The result is the x-coordinate
// of the shared point at field length (the card's answer without its 04), for X25519/X448
// the RFC 7748 shared secret — what crypto/ecdh returns.
func (c *Client) ECDH(ctx context.Context, id byte, peerPoint []byte) ([]byte, error) {
	out, err := c.keyOp(ctx, InsDecipher, id, AlgECDH, peerPoint)
	if err != nil {
		return nil, fmt.Errorf("ecdh with key %02X: %w", id, err)
	}
	if len(out) < 2 || out[0] != 0x04 {
		return nil, fmt.Errorf("ecdh with key %02X: answer % X is not 04 || secret", id, out)
	}
	return out[1:], nil
}

func (c *Client) keyOp(ctx context.Context, ins, id byte, alg Algorithm, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("no input")
	}
	return c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: ins, P1: id, P2: byte(alg), Data: data,
		Ne: cryptoNe, ForceExtended: true})
}
