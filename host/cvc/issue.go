package cvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// Roles of the SmartCard-HSM PKI: the CHAT (7F4C) is the role OID id-AT followed by 53 access
// bits (pico-hsm-extensions.md 5.1).
var (
	RoleOID        = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02}
	AccessCA       = []byte{0xC0, 0x00, 0x00, 0x00, 0x00}
	AccessDV       = []byte{0x80, 0x00, 0x00, 0x00, 0x04}
	AccessTerminal = []byte{0x00}
)

// ErrChain is wrapped when a chain is not a chain: names do not link, a date is out of range,
// or the last certificate is not issued by the root.
var ErrChain = errors.New("cvc: certificate chain does not verify")

// Template is what Issue puts in a certificate body (pico-hsm-extensions.md 5.2), in this
// order: 5F29 00, 42 CAR, 7F49 key, 5F20 CHR, 7F4C CHAT (when Access is set), 5F25/5F24 (when
// both dates are set).
type Template struct {
	CAR, CHR string
	Key      *PublicKey // an EC key on a known curve (Curve and Point set)
	// WithDomain writes the key with its domain parameters (81..87). OpenSC's decoder of
	// EF.C_DevAut needs 81 and 82, so device and DV certificates carry them.
	WithDomain        bool
	Access            []byte // CHAT access bits (AccessCA, AccessDV, AccessTerminal); nil: no CHAT
	Effective, Expiry time.Time
}

// EncodeECPublicKey returns the 7F49 template of point on c with id-TA-ECDSA-SHA-256: with
// domain parameters 06, 81 p, 82 a, 83 b, 84 G, 85 n, 86 point, 87 01; without, 06 and 86.
func EncodeECPublicKey(c *Curve, point []byte, withDomain bool) []byte {
	var v []byte
	v = tlv.Append(v, 0x06, OIDECDSASHA256)
	if withDomain {
		v = tlv.Append(v, 0x81, c.P)
		v = tlv.Append(v, 0x82, c.A)
		v = tlv.Append(v, 0x83, c.B)
		v = tlv.Append(v, 0x84, c.G)
		v = tlv.Append(v, 0x85, c.N)
	}
	v = tlv.Append(v, 0x86, point)
	if withDomain {
		v = tlv.Append(v, 0x87, []byte{1})
	}
	return tlv.Encode(TagPublicKey, v)
}

// ECPublicKey returns pub as a CV public key (id-TA-ECDSA-SHA-256) on its curve of the table.
func ECPublicKey(pub *ecdsa.PublicKey) (*PublicKey, error) {
	for _, c := range curves {
		if c.stdlib != nil && c.stdlib == pub.Curve {
			n := c.FieldBytes()
			q := append([]byte{4}, pub.X.FillBytes(make([]byte, n))...)
			q = append(q, pub.Y.FillBytes(make([]byte, n))...)
			return &PublicKey{OID: OIDECDSASHA256, Algorithm: ECDSASHA256, Curve: c, Point: q}, nil
		}
	}
	return nil, fmt.Errorf("%w: curve %s", ErrUnsupported, pub.Curve.Params().Name)
}

func encodeDate(t time.Time) []byte {
	y, m, d := t.UTC().Date()
	y -= 2000
	return []byte{byte(y / 10), byte(y % 10), byte(m / 10), byte(m % 10), byte(d / 10), byte(d % 10)}
}

// Body returns the 7F4E object of t.
func (t *Template) Body() ([]byte, error) {
	if _, err := name("CAR", []byte(t.CAR)); err != nil {
		return nil, err
	}
	if _, err := name("CHR", []byte(t.CHR)); err != nil {
		return nil, err
	}
	if t.Key == nil || t.Key.Curve == nil || t.Key.Curve.Montgomery || !t.Key.Algorithm.IsECDSA() {
		return nil, fmt.Errorf("%w: only EC keys with a known Weierstrass curve are issued", ErrUnsupported)
	}
	v := tlv.Encode(TagCPI, []byte{0})
	v = tlv.Append(v, TagCAR, []byte(t.CAR))
	v = append(v, EncodeECPublicKey(t.Key.Curve, t.Key.Point, t.WithDomain)...)
	v = tlv.Append(v, TagCHR, []byte(t.CHR))
	if t.Access != nil {
		v = tlv.Append(v, TagCHAT, append(tlv.Encode(0x06, RoleOID), tlv.Encode(0x53, t.Access)...))
	}
	if !t.Effective.IsZero() || !t.Expiry.IsZero() {
		if t.Effective.Year() < 2000 || t.Expiry.Year() > 2099 || t.Expiry.Before(t.Effective) {
			return nil, formatErr("dates %v..%v outside 2000..2099 or reversed", t.Effective, t.Expiry)
		}
		v = tlv.Append(v, TagEffective, encodeDate(t.Effective))
		v = tlv.Append(v, TagExpiry, encodeDate(t.Expiry))
	}
	return tlv.Encode(TagBody, v), nil
}

// Issue encodes t and signs it with the issuer's ECDSA key (SHA-256, r || s at the issuer
// curve's order length, BSI TR-03111): the returned bytes are a complete 7F21 certificate.
func Issue(t Template, issuer crypto.Signer) ([]byte, error) {
	body, err := t.Body()
	if err != nil {
		return nil, err
	}
	sig, err := SignECDSA(issuer, body, rand.Reader)
	if err != nil {
		return nil, err
	}
	return tlv.Encode(TagCertificate, append(body, tlv.Encode(TagSignature, sig)...)), nil
}

// SignECDSA signs SHA-256(msg) with an ECDSA signer and returns r || s, each at the byte length
// of the curve order.
func SignECDSA(signer crypto.Signer, msg []byte, rnd io.Reader) ([]byte, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: issuer key is not ECDSA", ErrUnsupported)
	}
	h := sha256.Sum256(msg)
	der, err := signer.Sign(rnd, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("cvc: sign: %w", err)
	}
	var r, s = new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(r) ||
		!seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, errors.New("cvc: sign: signer returned a malformed ECDSA signature")
	}
	n := (pub.Curve.Params().N.BitLen() + 7) / 8
	return append(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n))...), nil
}

// withCurve returns k, or when k has no domain parameters a copy on the issuer's curve (the
// point checked to lie on it).
func withCurve(k *PublicKey, issuer *PublicKey) (*PublicKey, error) {
	if k.Curve != nil || !k.Algorithm.IsECDSA() {
		return k, nil
	}
	if issuer == nil || issuer.Curve == nil {
		return nil, fmt.Errorf("%w: key without domain parameters and no issuer curve", ErrChain)
	}
	c := *k
	c.Curve = issuer.Curve
	if len(c.Point) != 1+2*c.Curve.FieldBytes() {
		return nil, formatErr("point of %d bytes for %s", len(c.Point), c.Curve.Name)
	}
	if c.Curve.ecdh != nil {
		if _, err := c.Curve.ecdh.NewPublicKey(c.Point); err != nil {
			return nil, formatErr("point not on %s", c.Curve.Name)
		}
	} else if _, _, ok := c.Curve.math.Unmarshal(c.Point); !ok {
		return nil, formatErr("point not on %s", c.Curve.Name)
	}
	return &c, nil
}

// VerifyChain checks chain[0] <- chain[1] <- ... <- root: each certificate's CAR is the next
// one's CHR (the root's for the last), its signature verifies under that key (a key without
// domain parameters takes its issuer's curve), and, when now is not zero, now lies within the
// validity dates of every certificate that has them. The root must be self-signed. It returns
// the public key of chain[0], with its curve resolved.
func VerifyChain(chain []*Certificate, root *Certificate, now time.Time) (*PublicKey, error) {
	if root == nil || len(chain) == 0 {
		return nil, fmt.Errorf("%w: empty chain or no root", ErrChain)
	}
	if root.CAR != root.CHR {
		return nil, fmt.Errorf("%w: root %s is not self-signed (CAR %s)", ErrChain, root.CHR, root.CAR)
	}
	if err := root.VerifySelfSigned(); err != nil {
		return nil, fmt.Errorf("%w: root %s: %w", ErrChain, root.CHR, err)
	}
	all := append(append([]*Certificate(nil), chain...), root)
	keys := make([]*PublicKey, len(all))
	keys[len(all)-1] = root.PublicKey
	for i := len(all) - 2; i >= 0; i-- {
		c, issuer := all[i], all[i+1]
		if c.CAR != issuer.CHR {
			return nil, fmt.Errorf("%w: %s names its issuer %s, the next certificate is %s", ErrChain, c.CHR, c.CAR, issuer.CHR)
		}
		if err := c.Verify(keys[i+1]); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrChain, c.CHR, err)
		}
		k, err := withCurve(c.PublicKey, keys[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.CHR, err)
		}
		keys[i] = k
	}
	if !now.IsZero() {
		day := now.UTC().Truncate(24 * time.Hour)
		for _, c := range all {
			if c.Effective.IsZero() {
				continue
			}
			if day.Before(c.Effective) || day.After(c.Expiry) {
				return nil, fmt.Errorf("%w: %s valid %s..%s, not on %s", ErrChain, c.CHR,
					c.Effective.Format(time.DateOnly), c.Expiry.Format(time.DateOnly), day.Format(time.DateOnly))
			}
		}
	}
	return keys[0], nil
}
