package hsm

// XKEK key domains (pico-hsm-extensions.md 4.2 P1 02/03/04, 4.3): devices of one key-domain
// group, admitted by the group manager's signing key (GSK), derive a common DKEK by ECDH
// between their XKEK keys.
//
// Status words (errors.Is against the apdu values):
//
//	apdu.ErrWrongLength            6700  membership without a 54 signature; an XKEK key
//	                                     without 92 or whose domain has no UID; a peer
//	                                     certificate without the key-domain-UID extension
//	apdu.ErrConditions             6985  membership signature wrong (another device, another
//	                                     group key) or no curve for the group key; DECIPHER 84
//	                                     with a key whose list does not name 84
//	apdu.ErrReferenceNotFound      6A88  peer of another group (UID differs); domain absent
//	apdu.ErrReferenceDataUnusable  6984  malformed group-key or peer certificate
//	apdu.ErrIncorrectP1P2          6A86  domain holds shares or another group's UID
//	apdu.ErrCommandNotAllowed      6986  the domain already has another derived DKEK
//	apdu.ErrFileExists             6A89  delete while keys belong to the domain
//	apdu.ErrSecurityStatus         6982  user PIN not verified

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// AlgXKEK is the DECIPHER algorithm and allowed-list byte of XKEK keys (spec 4.3 step 3-4).
const AlgXKEK Algorithm = 0x84

const keyDomainXKEK byte = 0x02

var (
	// OIDKDM is 1.3.6.1.4.1.24991.4.2.1, the format of a key domain membership (DER body).
	OIDKDM = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x04, 0x02, 0x01}
	// OIDKeyDomainUID is 1.3.6.1.4.1.24991.3.2.2, the extension of XKEK key certificates.
	OIDKeyDomainUID = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x02, 0x02}
)

// KDM is a key domain membership for one device (spec 4.3):
//
//	30 { 06 OIDKDM, 61 { DV certificate }, 62 { certificate of the group key's holder },
//	     63 { 67 { 7F21 group key certificate, 42 outer CAR, 5F37 outer signature } },
//	     54 <signature by the group key over SHA-256(54 || X of the device key)> }
type KDM struct {
	DV, Holder []byte // complete 7F21 certificates
	GroupKey   []byte // the complete 67 object
	Signature  []byte // value of 54
}

// Encode returns the KDM's bytes.
func (k *KDM) Encode() []byte {
	v := tlv.Encode(0x06, OIDKDM)
	v = tlv.Append(v, 0x61, k.DV)
	v = tlv.Append(v, 0x62, k.Holder)
	v = tlv.Append(v, 0x63, k.GroupKey)
	v = tlv.Append(v, 0x54, k.Signature)
	return tlv.Encode(0x30, v)
}

// ParseKDM decodes a KDM (the format pypicohsm's create_xkek consumes).
func ParseKDM(b []byte) (*KDM, error) {
	top, err := tlv.Parse(b)
	if err != nil || len(top) != 1 || top[0].Tag != 0x30 {
		return nil, errors.New("KDM: want one 30 object")
	}
	parts, err := top[0].Children()
	if err != nil {
		return nil, fmt.Errorf("KDM: %w", err)
	}
	oid, ok := tlv.Find(parts, 0x06)
	if !ok || !bytes.Equal(oid.Value, OIDKDM) {
		return nil, errors.New("KDM: not the 1.3.6.1.4.1.24991.4.2.1 format")
	}
	k := &KDM{}
	for _, f := range []struct {
		tag uint32
		dst *[]byte
	}{{0x61, &k.DV}, {0x62, &k.Holder}, {0x63, &k.GroupKey}, {0x54, &k.Signature}} {
		t, ok := tlv.Find(parts, f.tag)
		if !ok || len(t.Value) == 0 {
			return nil, fmt.Errorf("KDM: no %02X element", f.tag)
		}
		*f.dst = t.Value
	}
	if _, err := cvc.ParseAuthenticatedRequest(k.GroupKey); err != nil {
		return nil, fmt.Errorf("KDM group key: %w", err)
	}
	return k, nil
}

// MembershipDigest is SHA-256(54 || X), X the x-coordinate of the device key point
// (uncompressed 04 || X || Y), which the group key signs for that device (spec 4.3 step 2).
func MembershipDigest(devicePoint []byte) ([]byte, error) {
	if len(devicePoint) < 3 || devicePoint[0] != 0x04 || (len(devicePoint)-1)%2 != 0 {
		return nil, errors.New("device key: not an uncompressed EC point")
	}
	h := sha256.New()
	h.Write([]byte{0x54})
	h.Write(devicePoint[1 : 1+(len(devicePoint)-1)/2])
	return h.Sum(nil), nil
}

// KeyDomainUID returns the UID in the 65/73 extension of an XKEK key certificate (nil when
// absent).
func KeyDomainUID(c *cvc.Certificate) []byte {
	exts, err := tlv.Parse(c.Extensions)
	if err != nil {
		return nil
	}
	for _, e := range exts {
		if e.Tag != 0x73 {
			continue
		}
		in, err := e.Children()
		if err != nil {
			continue
		}
		if oid, ok := tlv.Find(in, 0x06); ok && bytes.Equal(oid.Value, OIDKeyDomainUID) {
			if u, ok := tlv.Find(in, 0x80); ok {
				return u.Value
			}
		}
	}
	return nil
}

// trustCertificate puts cert into the device's trust store as pypicohsm's verify_certificate
// does: nothing when its CHR is already trusted, else MSE SET <CAR> and PSO VERIFY.
func (c *Client) trustCertificate(ctx context.Context, raw []byte) error {
	cert, err := cvc.Parse(raw)
	if err != nil {
		return err
	}
	if err := c.SelectVerifier(ctx, cert.CHR); err == nil {
		return nil
	} else if !errors.Is(err, apdu.ErrReferenceNotFound) {
		return err
	}
	if err := c.SelectVerifier(ctx, cert.CAR); err != nil {
		return err
	}
	return c.VerifyCertificate(ctx, raw)
}

// JoinXKEK makes domain an XKEK domain of kdm's group (spec 4.3 steps 1-2): the holder and
// DV certificates go through PSO VERIFY CERTIFICATE, then 80 52 02 <domain> with the content
// of the 67 object and the 54 TLV. Needs the user PIN. The status carries the group's UID.
func (c *Client) JoinXKEK(ctx context.Context, domain byte, kdm *KDM) (DKEKStatus, error) {
	for _, cert := range [][]byte{kdm.Holder, kdm.DV} {
		if err := c.trustCertificate(ctx, cert); err != nil {
			return DKEKStatus{}, fmt.Errorf("join XKEK group: trust store: %w", err)
		}
	}
	list, err := tlv.Parse(kdm.GroupKey)
	if err != nil || len(list) != 1 {
		return DKEKStatus{}, errors.New("join XKEK group: malformed group key request")
	}
	data := tlv.Append(append([]byte(nil), list[0].Value...), 0x54, kdm.Signature)
	return c.CreateXKEKDomain(ctx, domain, data)
}

// CreateXKEKDomain sends 80 52 02 <domain> <data> (spec 4.2) with data as given.
func (c *Client) CreateXKEKDomain(ctx context.Context, domain byte, data []byte) (DKEKStatus, error) {
	b, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsKeyDomain, P1: keyDomainXKEK, P2: domain,
		Data: data, Ne: apdu.MaxShortNe})
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("create XKEK domain %d: %w", domain, err)
	}
	s, err := parseDKEKStatus(b)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("create XKEK domain %d: %w", domain, err)
	}
	return s, nil
}

// GenerateXKEKKey generates the device's XKEK key pair on curve as key id, bound to domain
// (91 = 84, 92 = domain; spec 4.3 step 3). Its certificate (Request.Request of the answer)
// carries the domain's UID and is what the other members need.
func (c *Client) GenerateXKEKKey(ctx context.Context, id, domain byte, curve string) (*GeneratedKey, error) {
	g, err := c.GenerateEC(ctx, id, curve, KeyOptions{Algorithms: []byte{byte(AlgXKEK)}, Domain: &domain})
	if err != nil {
		return nil, err
	}
	if KeyDomainUID(g.Request.Request) == nil {
		return nil, fmt.Errorf("generate XKEK key %02X: the certificate has no key-domain UID", id)
	}
	return g, nil
}

// DeriveXKEK sends DECIPHER 80 62 <id> 84 <peer certificate> (spec 4.3 step 4): the DKEK of
// the key's domain becomes the ECDH secret with the peer's XKEK key.
func (c *Client) DeriveXKEK(ctx context.Context, id byte, peerCert []byte) error {
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: InsDecipher, P1: id, P2: byte(AlgXKEK),
		Data: peerCert}); err != nil {
		return fmt.Errorf("derive XKEK with key %02X: %w", id, err)
	}
	return nil
}
