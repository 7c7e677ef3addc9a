package conformance

// SubjectPublicKeyInfo of an EC public key rebuilt from what OpenSC's PKCS#11 module shows
// (`pkcs11-tool --list-objects`: CKA_EC_POINT, CKA_EC_PARAMS). OpenSC 0.23's
// `pkcs11-tool --read-object --type pubkey` cannot be relied on for EC keys: its OpenSSL 3
// branch merges two OSSL_PARAM arrays with OSSL_PARAM_merge (a shallow copy), frees both
// sources and then builds the key from the merged array, so it reads freed memory and fails
// with "cannot create EVP_PKEY" for some curves (the sizes that get reused by the allocator:
// secp192r1/k1, secp384r1, brainpoolP384r1 here). The card's attributes are correct; the
// SPKI built here from them is cross-checked with pkcs15-tool's.

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// oidECPublicKey is id-ecPublicKey (RFC 5480).
var oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

// p11ECKey is what `pkcs11-tool --list-objects` prints for one EC public key object.
type p11ECKey struct {
	Point  []byte // CKA_EC_POINT: DER OCTET STRING holding 04 || x || y
	Params []byte // CKA_EC_PARAMS: DER OBJECT IDENTIFIER of the named curve
	Bits   int    // the size in the "EC_POINT n bits" header
}

// parseP11ECKey finds the "Public Key Object; EC" block with CKA_ID id (lower-case hex) in
// the output of `pkcs11-tool --list-objects` (0.23 lists every object: --id does not filter).
func parseP11ECKey(out, id string) (*p11ECKey, error) {
	blocks := strings.Split(out, "Public Key Object;")
	for _, b := range blocks[1:] {
		fields := map[string]string{}
		var header string
		for i, line := range strings.Split(b, "\n") {
			if i == 0 {
				header = line
				continue
			}
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if !strings.HasPrefix(strings.TrimSpace(header), "EC") || !strings.EqualFold(fields["ID"], id) {
			continue
		}
		k := &p11ECKey{}
		var err error
		// "EC  EC_POINT 384 bits" (OpenSC prints the field length: 528 for secp521r1).
		if h := strings.Fields(header); len(h) != 4 || h[1] != "EC_POINT" {
			return nil, fmt.Errorf("header %q", header)
		} else if k.Bits, err = strconv.Atoi(h[2]); err != nil {
			return nil, fmt.Errorf("header %q: %w", header, err)
		}
		if k.Point, err = hex.DecodeString(fields["EC_POINT"]); err != nil || len(k.Point) == 0 {
			return nil, fmt.Errorf("EC_POINT %q: %v", fields["EC_POINT"], err)
		}
		if k.Params, err = hex.DecodeString(fields["EC_PARAMS"]); err != nil || len(k.Params) == 0 {
			return nil, fmt.Errorf("EC_PARAMS %q: %v", fields["EC_PARAMS"], err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("no EC public key with ID %s in:\n%s", id, out)
}

// SPKI returns the DER SubjectPublicKeyInfo (RFC 5480):
// SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING point }.
func (k *p11ECKey) SPKI() ([]byte, error) {
	var point []byte
	if rest, err := asn1.Unmarshal(k.Point, &point); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("EC_POINT % X is not one DER OCTET STRING (PKCS#11 2.40 requires it): %v", k.Point, err)
	}
	if len(point) == 0 || point[0] != 0x04 || len(point)%2 != 1 {
		return nil, fmt.Errorf("EC_POINT value % X is not an uncompressed point", point)
	}
	var curve asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(k.Params, &curve); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("EC_PARAMS % X is not a named-curve OID: %v", k.Params, err)
	}
	type algorithm struct {
		Algorithm asn1.ObjectIdentifier
		Curve     asn1.RawValue
	}
	spki := struct {
		Algorithm algorithm
		Key       asn1.BitString
	}{
		Algorithm: algorithm{oidECPublicKey, asn1.RawValue{FullBytes: k.Params}},
		Key:       asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	}
	return asn1.Marshal(spki)
}

// FieldBytes is the byte length of a coordinate of the point.
func (k *p11ECKey) FieldBytes() int {
	var point []byte
	if _, err := asn1.Unmarshal(k.Point, &point); err != nil {
		return 0
	}
	return (len(point) - 1) / 2
}

// curveOIDDER returns CKA_EC_PARAMS for a curve OID body: 06 len body.
func curveOIDDER(body []byte) []byte {
	return append([]byte{0x06, byte(len(body))}, body...)
}

// spkiCurve returns the DER named-curve OID inside an EC SubjectPublicKeyInfo.
func spkiCurve(spki []byte) ([]byte, error) {
	var s struct {
		Algorithm struct {
			Algorithm asn1.ObjectIdentifier
			Curve     asn1.RawValue
		}
		Key asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &s); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("SPKI % X: %v", spki, err)
	}
	if !s.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, fmt.Errorf("SPKI algorithm %v, want id-ecPublicKey", s.Algorithm.Algorithm)
	}
	return bytes.Clone(s.Algorithm.Curve.FullBytes), nil
}
