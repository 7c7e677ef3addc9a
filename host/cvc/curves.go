package cvc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/elliptic"
	"encoding/hex"
	"math/big"

	"github.com/pico-hsm/pico-hsm/host/internal/ecmath"
)

// Curve is a named curve of the SmartCard-HSM curve table (core spec 3.7.3) with its domain
// parameters in the encoding of a 7F49 template.
//
// Short Weierstrass curves (Montgomery false): p, a, b and n big-endian at full field length
// (for the curves here n has the field length), G uncompressed.
//
// X25519 and X448 (Montgomery true, pico-hsm-extensions.md 5.2): P and N (the order)
// big-endian at field length, G the base point's u-coordinate little-endian (09 00 .. 00,
// 05 00 .. 00); A and B are nil.
type Curve struct {
	Name string
	// OID is the DER body of the named-curve object identifier (CKA_EC_PARAMS is 06 len OID);
	// for X25519 and X448 the RFC 8410 algorithm identifier.
	OID           []byte
	P, A, B, G, N []byte
	Montgomery    bool
	stdlib        elliptic.Curve // nil: the standard library has no ECDSA on this curve
	ecdh          ecdh.Curve     // nil when the standard library lacks the curve
	math          *ecmath.Curve  // Weierstrass curves the standard library lacks
}

// FieldBytes is the byte length of the field (and of each coordinate).
func (c *Curve) FieldBytes() int { return len(c.P) }

// Elliptic returns the crypto/elliptic curve, or nil when the standard library lacks it
// (secp192r1, the Koblitz curves, brainpool, X25519, X448). Signatures on the Weierstrass
// curves the standard library lacks are verified with math/big arithmetic.
func (c *Curve) Elliptic() elliptic.Curve { return c.stdlib }

// ECDH returns the crypto/ecdh curve (P-256, P-384, P-521, X25519), or nil.
func (c *Curve) ECDH() ecdh.Curve { return c.ecdh }

// curves holds every curve Parse recognises. OpenSC also knows brainpoolP192r1/224r1/320r1
// and the brainpool t1 curves; certificates on those fail with ErrUnsupported.
var curves = append(append(stdlibCurves(), hexCurves()...), montgomeryCurves()...)

// Curves returns every curve of the table (a fresh slice; the curves are shared and must
// not be modified).
func Curves() []*Curve { return append([]*Curve(nil), curves...) }

// CurveByName returns the curve called name ("secp256r1", "brainpoolP256r1", ...) or nil.
func CurveByName(name string) *Curve {
	for _, c := range curves {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// curveByPA identifies a curve as OpenSC does: p and a equal byte for byte, length included.
func curveByPA(p, a []byte) *Curve {
	for _, c := range curves {
		if !c.Montgomery && bytes.Equal(c.P, p) && bytes.Equal(c.A, a) {
			return c
		}
	}
	return nil
}

func stdlibCurves() []*Curve {
	list := []struct {
		name string
		oid  string
		c    elliptic.Curve
		e    ecdh.Curve
	}{
		{"secp256r1", "2A8648CE3D030107", elliptic.P256(), ecdh.P256()},
		{"secp384r1", "2B81040022", elliptic.P384(), ecdh.P384()},
		{"secp521r1", "2B81040023", elliptic.P521(), ecdh.P521()},
	}
	var out []*Curve
	for _, l := range list {
		prm := l.c.Params()
		n := (prm.BitSize + 7) / 8
		a := new(big.Int).Sub(prm.P, big.NewInt(3))
		out = append(out, &Curve{
			Name:   l.name,
			OID:    mustHex(l.oid),
			P:      prm.P.FillBytes(make([]byte, n)),
			A:      a.FillBytes(make([]byte, n)),
			B:      prm.B.FillBytes(make([]byte, n)),
			G:      append(append([]byte{4}, prm.Gx.FillBytes(make([]byte, n))...), prm.Gy.FillBytes(make([]byte, n))...),
			N:      prm.N.FillBytes(make([]byte, n)),
			stdlib: l.c,
			ecdh:   l.e,
		})
	}
	return out
}

// hexCurves are the curves the standard library lacks (SEC 2, RFC 5639 values).
func hexCurves() []*Curve {
	list := []struct{ name, oid, p, a, b, g, n string }{
		{
			name: "secp192r1",
			oid:  "2A8648CE3D030101",
			p:    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
			a:    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
			b:    "64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1",
			g: "04188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF101207192B95FFC8DA" +
				"78631011ED6B24CDD573F977A11E794811",
			n: "FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831",
		},
		{
			name: "secp192k1",
			oid:  "2B8104001F",
			p:    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFEE37",
			a:    "000000000000000000000000000000000000000000000000",
			b:    "000000000000000000000000000000000000000000000003",
			g: "04DB4FF10EC057E9AE26B07D0280B7F4341DA5D1B1EAE06C7D9B2F2F6D9C5628" +
				"A7844163D015BE86344082AA88D95E2F9D",
			n: "FFFFFFFFFFFFFFFFFFFFFFFE26F2FC170F69466A74DEFD8D",
		},
		{
			name: "secp256k1",
			oid:  "2B8104000A",
			p:    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
			a:    "0000000000000000000000000000000000000000000000000000000000000000",
			b:    "0000000000000000000000000000000000000000000000000000000000000007",
			g: "0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F817" +
				"98483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4" +
				"B8",
			n: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
		},
		{
			name: "brainpoolP256r1",
			oid:  "2B2403030208010107",
			p:    "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
			a:    "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
			b:    "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
			g: "048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE32" +
				"62547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F0469" +
				"97",
			n: "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
		},
		{
			name: "brainpoolP384r1",
			oid:  "2B240303020801010B",
			p: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123" +
				"ACD3A729901D1A71874700133107EC53",
			a: "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F" +
				"8AA5814A503AD4EB04A8C7DD22CE2826",
			b: "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D5" +
				"7CB4390295DBC9943AB78696FA504C11",
			g: "041D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10" +
				"E8E826E03436D646AAEF87B2E247D4AF1E8ABE1D7520F9C2A45CB1EB8E95CFD5" +
				"5262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C53" +
				"15",
			n: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7" +
				"CF3AB6AF6B7FC3103B883202E9046565",
		},
		{
			name: "brainpoolP512r1",
			oid:  "2B240303020801010D",
			p: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330871" +
				"7D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
			a: "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC" +
				"2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
			b: "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A7" +
				"2BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
			g: "0481AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D009" +
				"8EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F8" +
				"227DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F81" +
				"11B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD808" +
				"92",
			n: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870" +
				"553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
		},
	}
	var out []*Curve
	for _, l := range list {
		c := &Curve{
			Name: l.name, OID: mustHex(l.oid),
			P: mustHex(l.p), A: mustHex(l.a), B: mustHex(l.b), G: mustHex(l.g), N: mustHex(l.n),
		}
		c.math = ecmath.NewCurve(c.P, c.A, c.B, c.G, c.N)
		out = append(out, c)
	}
	return out
}

// montgomeryCurves are X25519 and X448 (RFC 7748) as Pico HSM encodes them.
func montgomeryCurves() []*Curve {
	x25519 := &Curve{
		Name:       "X25519",
		OID:        mustHex("2B656E"), // 1.3.101.110
		P:          mustHex("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED"),
		N:          mustHex("1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED"),
		G:          ecmath.X25519.Basepoint(),
		Montgomery: true,
		ecdh:       ecdh.X25519(),
	}
	x448 := &Curve{
		Name: "X448",
		OID:  mustHex("2B656F"), // 1.3.101.111
		P: mustHex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE" +
			"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
		N: mustHex("3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" +
			"7CCA23E9C44EDB49AED63690216CC2728DC58F552378C292AB5844F3"),
		G:          ecmath.X448.Basepoint(),
		Montgomery: true,
	}
	return []*Curve{x25519, x448}
}

// curveByPrime returns the Montgomery curve with prime p (byte for byte), or nil.
func curveByPrime(p []byte) *Curve {
	for _, c := range curves {
		if c.Montgomery && bytes.Equal(c.P, p) {
			return c
		}
	}
	return nil
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
