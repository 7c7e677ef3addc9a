package dkek

// The key blob of WRAP KEY / UNWRAP KEY (spec smartcard-hsm-core.md 4.4):
//
//	KCV(8) type(1) [len2 default-algorithm OID] [len2 allowed algorithms]
//	[len2 access conditions] [len2 key OID] AES-256-CBC(Kenc, IV 0, plaintext) CMAC(16)
//
// plaintext = random(8) keysize(2) components, padded with 80 00.. to a multiple of 16
// only when it is not one already; the CMAC (Kmac) covers everything before it.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Key types of a blob (spec 4.4.1).
const (
	TypeRSA    byte = 0x05
	TypeRSACRT byte = 0x06
	TypeEC     byte = 0x0C
	TypeAES    byte = 0x0F
)

// Default-algorithm OID bodies per key type (spec 4.4.1).
var (
	oidRSA = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02} // id-TA-RSA-v1-5-SHA-256
	oidEC  = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03} // id-TA-ECDSA-SHA-256
	oidAES = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01}             // aes
)

func defaultOID(typ byte) []byte {
	switch typ {
	case TypeRSA, TypeRSACRT:
		return oidRSA
	case TypeEC:
		return oidEC
	case TypeAES:
		return oidAES
	}
	return nil
}

// Errors of Unwrap, distinguishable with errors.Is.
var (
	ErrBlobMalformed = errors.New("dkek: malformed key blob")
	ErrKCVMismatch   = errors.New("dkek: key blob was made with another DKEK")
	ErrBadMAC        = errors.New("dkek: key blob MAC is wrong")
)

// ECKey is an EC private key on a short Weierstrass curve with the domain parameters the
// blob carries: P, A, B, N big-endian, G and Q uncompressed points, D the scalar.
type ECKey struct {
	P, A, B, N, G []byte
	D             []byte
	Q             []byte
}

// AESKey is a secret key of 16, 24, 32 or 64 bytes.
type AESKey []byte

// SecretKey is a generic secret of 1..64 bytes in an AES-type (0F) blob whose length is not
// an AES key length: this device keeps it for HMAC and the KDFs (pico-hsm-extensions.md
// 1.6.3-1.6.7); the reference firmware accepts only AES key lengths.
type SecretKey []byte

// Blob is a decoded key blob.
type Blob struct {
	KCV              [KCVSize]byte
	Type             byte
	DefaultAlgorithm []byte // OID body
	Algorithms       []byte // allowed-algorithm list, empty: all
	AccessConditions []byte
	KeyOID           []byte
	// Key is *rsa.PrivateKey (types 05 and 06), *ECKey (0C), AESKey or SecretKey (0F).
	Key any
}

// WrapOptions are the optional parts of a blob.
type WrapOptions struct {
	// Algorithms is the allowed-algorithm list (empty: all algorithms).
	Algorithms []byte
	// CRT selects type 06 for RSA keys (type 05, d and n, otherwise: what Pico writes and
	// what fits OpenSC's 1500-byte buffer, spec 2.14).
	CRT bool
	// Rand supplies the 8 random bytes of the plaintext; crypto/rand when nil.
	Rand io.Reader
}

// ECKeyFromECDSA converts a key on P-256, P-384 or P-521 to ECKey with
// full-length components (a = p - 3 for these curves).
func ECKeyFromECDSA(k *ecdsa.PrivateKey) (*ECKey, error) {
	params := k.Curve.Params()
	n := (params.BitSize + 7) / 8
	a := new(big.Int).Sub(params.P, big.NewInt(3))
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("dkek: EC key: %w", err)
	}
	priv, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("dkek: EC key: %w", err)
	}
	g := append([]byte{0x04}, params.Gx.FillBytes(make([]byte, n))...)
	g = append(g, params.Gy.FillBytes(make([]byte, n))...)
	return &ECKey{
		P: params.P.FillBytes(make([]byte, n)), A: a.FillBytes(make([]byte, n)),
		B: params.B.FillBytes(make([]byte, n)), N: params.N.FillBytes(make([]byte, n)),
		G: g, D: priv.Bytes(), Q: pub.Bytes(),
	}, nil
}

// ECDSA returns the key as *ecdsa.PrivateKey when its curve is P-256, P-384 or
// P-521, identified by p (and a, when present).
func (k *ECKey) ECDSA() (*ecdsa.PrivateKey, error) {
	p := new(big.Int).SetBytes(k.P)
	curves := []struct {
		c elliptic.Curve
		x ecdh.Curve
	}{{elliptic.P256(), ecdh.P256()}, {elliptic.P384(), ecdh.P384()}, {elliptic.P521(), ecdh.P521()}}
	for _, cc := range curves {
		c := cc.c
		if c.Params().P.Cmp(p) != 0 {
			continue
		}
		if len(k.A) > 0 && new(big.Int).SetBytes(k.A).Cmp(new(big.Int).Sub(p, big.NewInt(3))) != 0 {
			break
		}
		n := (c.Params().BitSize + 7) / 8
		if len(k.D) > n {
			return nil, fmt.Errorf("%w: EC scalar of %d bytes", ErrBlobMalformed, len(k.D))
		}
		d := new(big.Int).SetBytes(k.D)
		x, err := cc.x.NewPrivateKey(d.FillBytes(make([]byte, n)))
		if err != nil {
			return nil, fmt.Errorf("%w: EC scalar: %v", ErrBlobMalformed, err)
		}
		pt := x.PublicKey().Bytes()
		return &ecdsa.PrivateKey{D: d, PublicKey: ecdsa.PublicKey{Curve: c,
			X: new(big.Int).SetBytes(pt[1 : 1+n]), Y: new(big.Int).SetBytes(pt[1+n:])}}, nil
	}
	return nil, fmt.Errorf("dkek: EC key on a curve crypto/ecdsa does not have")
}

// Wrap encodes key (*rsa.PrivateKey, *ecdsa.PrivateKey, *ECKey, AESKey or SecretKey) into a blob
// under k.
func (k *DKEK) Wrap(key any, opts WrapOptions) ([]byte, error) {
	typ, keySize, comps, err := encodeKey(key, opts.CRT)
	if err != nil {
		return nil, err
	}
	if len(opts.Algorithms) > 0xFFFF {
		return nil, errors.New("dkek: algorithm list too long")
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	plain := make([]byte, 8, 64)
	if _, err := io.ReadFull(rnd, plain); err != nil {
		return nil, fmt.Errorf("dkek: random: %w", err)
	}
	plain = binary.BigEndian.AppendUint16(plain, uint16(keySize))
	plain = append(plain, comps...)
	Wipe(comps)
	if len(plain)%aes.BlockSize != 0 {
		plain = append(plain, 0x80)
		for len(plain)%aes.BlockSize != 0 {
			plain = append(plain, 0)
		}
	}
	kcv := k.KCV()
	out := append([]byte(nil), kcv[:]...)
	out = append(out, typ)
	for _, f := range [][]byte{defaultOID(typ), opts.Algorithms, nil, nil} {
		out = appendLV(out, f)
	}
	enc, _ := aes.NewCipher(k.Kenc())
	start := len(out)
	out = append(out, plain...)
	cipher.NewCBCEncrypter(enc, make([]byte, aes.BlockSize)).CryptBlocks(out[start:], plain)
	Wipe(plain)
	mac, _ := CMAC(k.Kmac(), out)
	return append(out, mac...), nil
}

func appendLV(dst, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

func encodeKey(key any, crt bool) (typ byte, size int, comps []byte, err error) {
	switch key := key.(type) {
	case *rsa.PrivateKey:
		if len(key.Primes) != 2 && crt {
			return 0, 0, nil, errors.New("dkek: CRT form needs a two-prime RSA key")
		}
		e := big.NewInt(int64(key.E)).Bytes()
		if crt {
			key.Precompute()
			p, q := key.Primes[0], key.Primes[1]
			dp := new(big.Int).Mod(key.D, new(big.Int).Sub(p, one))
			dq := new(big.Int).Mod(key.D, new(big.Int).Sub(q, one))
			qinv := new(big.Int).ModInverse(q, p)
			for _, v := range [][]byte{dp.Bytes(), dq.Bytes(), p.Bytes(), qinv.Bytes(), q.Bytes(), key.N.Bytes(), e} {
				comps = appendLV(comps, v)
			}
			return TypeRSACRT, key.N.BitLen(), comps, nil
		}
		for _, v := range [][]byte{key.D.Bytes(), key.N.Bytes(), e} {
			comps = appendLV(comps, v)
		}
		return TypeRSA, key.N.BitLen(), comps, nil
	case *ecdsa.PrivateKey:
		ek, err := ECKeyFromECDSA(key)
		if err != nil {
			return 0, 0, nil, err
		}
		return encodeKey(ek, false)
	case *ECKey:
		if len(key.P) == 0 || len(key.N) == 0 || len(key.G) == 0 || len(key.D) == 0 {
			return 0, 0, nil, errors.New("dkek: EC key without p, n, G or d")
		}
		fieldBytes := (new(big.Int).SetBytes(key.P).BitLen() + 7) / 8
		for _, v := range [][]byte{key.A, key.B, key.P, key.N, key.G, key.D, key.Q} {
			comps = appendLV(comps, v)
		}
		return TypeEC, fieldBytes * 8, comps, nil
	case AESKey:
		switch len(key) {
		case 16, 24, 32, 64:
		default:
			return 0, 0, nil, fmt.Errorf("dkek: AES key of %d bytes", len(key))
		}
		return TypeAES, len(key), append([]byte(nil), key...), nil
	case SecretKey:
		if len(key) < 1 || len(key) > 64 {
			return 0, 0, nil, fmt.Errorf("dkek: secret of %d bytes (want 1..64)", len(key))
		}
		return TypeAES, len(key), append([]byte(nil), key...), nil
	}
	return 0, 0, nil, fmt.Errorf("dkek: cannot wrap a %T", key)
}

// ParseBlob decodes the clear part of a blob (everything but the key) without a DKEK.
func ParseBlob(blob []byte) (*Blob, error) {
	b, _, err := parseHeader(blob)
	return b, err
}

func parseHeader(blob []byte) (*Blob, int, error) {
	if len(blob) < KCVSize+1+8+16+16 {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrBlobMalformed, len(blob))
	}
	b := &Blob{Type: blob[8]}
	copy(b.KCV[:], blob)
	off := 9
	fields := []*[]byte{&b.DefaultAlgorithm, &b.Algorithms, &b.AccessConditions, &b.KeyOID}
	for _, f := range fields {
		if off+2 > len(blob)-16 {
			return nil, 0, fmt.Errorf("%w: truncated header", ErrBlobMalformed)
		}
		n := int(binary.BigEndian.Uint16(blob[off:]))
		off += 2
		if off+n > len(blob)-16 {
			return nil, 0, fmt.Errorf("%w: truncated header", ErrBlobMalformed)
		}
		*f = append([]byte{}, blob[off:off+n]...)
		off += n
	}
	return b, off, nil
}

// Unwrap checks a blob's KCV and CMAC under k, decrypts it and decodes the key.
func (k *DKEK) Unwrap(blob []byte) (*Blob, error) {
	b, off, err := parseHeader(blob)
	if err != nil {
		return nil, err
	}
	kcv := k.KCV()
	if subtle.ConstantTimeCompare(b.KCV[:], kcv[:]) != 1 {
		return nil, ErrKCVMismatch
	}
	body := blob[:len(blob)-16]
	mac, _ := CMAC(k.Kmac(), body)
	if subtle.ConstantTimeCompare(mac, blob[len(blob)-16:]) != 1 {
		return nil, ErrBadMAC
	}
	if want := defaultOID(b.Type); want == nil {
		return nil, fmt.Errorf("%w: key type %02X", ErrBlobMalformed, b.Type)
	} else if !bytes.Equal(want, b.DefaultAlgorithm) {
		return nil, fmt.Errorf("%w: default algorithm % X for key type %02X", ErrBlobMalformed, b.DefaultAlgorithm, b.Type)
	}
	enc := body[off:]
	if len(enc) == 0 || len(enc)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: encrypted part of %d bytes", ErrBlobMalformed, len(enc))
	}
	plain := make([]byte, len(enc))
	c, _ := aes.NewCipher(k.Kenc())
	cipher.NewCBCDecrypter(c, make([]byte, aes.BlockSize)).CryptBlocks(plain, enc)
	defer Wipe(plain)
	if b.Key, err = decodeKey(b.Type, plain); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeKey(typ byte, plain []byte) (any, error) {
	if len(plain) < 10 {
		return nil, fmt.Errorf("%w: plaintext of %d bytes", ErrBlobMalformed, len(plain))
	}
	size := int(binary.BigEndian.Uint16(plain[8:]))
	rest := plain[10:]
	if typ == TypeAES {
		if size < 1 || size > 64 {
			return nil, fmt.Errorf("%w: AES key size %d", ErrBlobMalformed, size)
		}
		if len(rest) < size {
			return nil, fmt.Errorf("%w: AES key truncated", ErrBlobMalformed)
		}
		switch size {
		case 16, 24, 32, 64:
			return AESKey(append([]byte(nil), rest[:size]...)), nil
		}
		return SecretKey(append([]byte(nil), rest[:size]...)), nil
	}
	count := map[byte]int{TypeRSA: 3, TypeRSACRT: 7, TypeEC: 7}[typ]
	comps := make([][]byte, count)
	for i := range comps {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: component %d missing", ErrBlobMalformed, i+1)
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil, fmt.Errorf("%w: component %d truncated", ErrBlobMalformed, i+1)
		}
		comps[i] = append([]byte(nil), rest[2:2+n]...)
		rest = rest[2+n:]
	}
	bi := func(b []byte) *big.Int { return new(big.Int).SetBytes(b) }
	switch typ {
	case TypeRSA:
		d, n, e := bi(comps[0]), bi(comps[1]), bi(comps[2])
		if n.BitLen() != size {
			return nil, fmt.Errorf("%w: RSA modulus of %d bits, size field %d", ErrBlobMalformed, n.BitLen(), size)
		}
		return rsaFromNED(n, e, d)
	case TypeRSACRT:
		p, q, n, e := bi(comps[2]), bi(comps[4]), bi(comps[5]), bi(comps[6])
		if new(big.Int).Mul(p, q).Cmp(n) != 0 || n.BitLen() != size {
			return nil, fmt.Errorf("%w: RSA CRT components do not match n", ErrBlobMalformed)
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil || !e.IsInt64() {
			return nil, fmt.Errorf("%w: RSA exponent", ErrBlobMalformed)
		}
		return checkedRSA(&rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())}, D: d, Primes: []*big.Int{p, q}})
	default: // TypeEC
		k := &ECKey{A: comps[0], B: comps[1], P: comps[2], N: comps[3], G: comps[4], D: comps[5], Q: comps[6]}
		if len(k.P) == 0 || len(k.D) == 0 {
			return nil, fmt.Errorf("%w: EC key without p or d", ErrBlobMalformed)
		}
		return k, nil
	}
}

// rsaFromNED recovers p and q from n, e, d (NIST SP 800-56B C.2's probabilistic method):
// Go's rsa.PrivateKey needs the primes.
func rsaFromNED(n, e, d *big.Int) (*rsa.PrivateKey, error) {
	if !e.IsInt64() || e.Int64() < 3 || n.Sign() <= 0 {
		return nil, fmt.Errorf("%w: RSA public exponent", ErrBlobMalformed)
	}
	k := new(big.Int).Sub(new(big.Int).Mul(d, e), one) // k = de - 1 = 2^t r
	if k.Sign() <= 0 || k.Bit(0) != 0 {
		return nil, fmt.Errorf("%w: RSA exponents", ErrBlobMalformed)
	}
	t := 0
	r := new(big.Int).Set(k)
	for r.Bit(0) == 0 {
		r.Rsh(r, 1)
		t++
	}
	nm1 := new(big.Int).Sub(n, one)
	for g := int64(2); g < 200; g++ {
		y := new(big.Int).Exp(big.NewInt(g), r, n)
		if y.Cmp(one) == 0 || y.Cmp(nm1) == 0 {
			continue
		}
		for i := 0; i < t; i++ {
			x := new(big.Int).Exp(y, two, n)
			if x.Cmp(one) == 0 {
				p := new(big.Int).GCD(nil, nil, new(big.Int).Sub(y, one), n)
				q := new(big.Int).Div(n, p)
				if p.Cmp(q) < 0 {
					p, q = q, p
				}
				return checkedRSA(&rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())}, D: d, Primes: []*big.Int{p, q}})
			}
			if x.Cmp(nm1) == 0 {
				break
			}
			y = x
		}
	}
	return nil, fmt.Errorf("%w: RSA key does not factor", ErrBlobMalformed)
}

func checkedRSA(k *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: RSA key: %v", ErrBlobMalformed, err)
	}
	k.Precompute()
	return k, nil
}
