package hsm

// The algorithm bytes of SIGN (68, section 2.12.1) and DECIPHER (62, section 2.13), the P2
// of those commands and the entries of a key's allowed-algorithm list (GAKP tag 91).

import (
	"crypto"
	"fmt"
	"strconv"
	"strings"
)

// Algorithm is an algorithm identifier of SIGN or DECIPHER.
type Algorithm byte

// SIGN algorithms (section 2.12.1).
const (
	AlgRSARaw          Algorithm = 0x20 // m^d mod n of a modulus-size block, padded by the host
	AlgRSAPKCS1        Algorithm = 0x30 // PKCS#1 v1.5 padding of the given DigestInfo
	AlgRSAPKCS1SHA1    Algorithm = 0x31 // hash on the card, DigestInfo, PKCS#1 v1.5
	AlgRSAPKCS1SHA224  Algorithm = 0x32
	AlgRSAPKCS1SHA256  Algorithm = 0x33
	AlgRSAPKCS1SHA384  Algorithm = 0x34
	AlgRSAPKCS1SHA512  Algorithm = 0x35
	AlgRSAPSS          Algorithm = 0x40 // PSS of the given hash (or DigestInfo); salt = hash length
	AlgRSAPSSSHA1      Algorithm = 0x41 // hash on the card, PSS
	AlgRSAPSSSHA224    Algorithm = 0x42
	AlgRSAPSSSHA256    Algorithm = 0x43
	AlgRSAPSSSHA384    Algorithm = 0x44
	AlgRSAPSSSHA512    Algorithm = 0x45
	AlgECDSA           Algorithm = 0x70 // ECDSA of the given hash
	AlgECDSASHA1       Algorithm = 0x71 // hash on the card, ECDSA
	AlgECDSASHA224     Algorithm = 0x72
	AlgECDSASHA256     Algorithm = 0x73
	AlgECDSASHA384     Algorithm = 0x74
	AlgECDSASHA512     Algorithm = 0x75
	AlgRSADecryptRaw   Algorithm = 0x21 // DECIPHER: c^d mod n, modulus-size answer
	AlgRSADecryptPKCS1 Algorithm = 0x22 // DECIPHER: PKCS#1 v1.5 unpadding on the card
	AlgRSADecryptOAEP  Algorithm = 0x23 // DECIPHER: OAEP, SHA-256, MGF1-SHA-256, empty label
	AlgECDH            Algorithm = 0x80 // DECIPHER: ECDH (X25519/X448 too) with the given point
)

var algorithmNames = map[Algorithm]string{
	AlgRSARaw: "rsa-raw", AlgRSAPKCS1: "rsa-pkcs1",
	AlgRSAPKCS1SHA1: "rsa-pkcs1-sha1", AlgRSAPKCS1SHA224: "rsa-pkcs1-sha224",
	AlgRSAPKCS1SHA256: "rsa-pkcs1-sha256", AlgRSAPKCS1SHA384: "rsa-pkcs1-sha384",
	AlgRSAPKCS1SHA512: "rsa-pkcs1-sha512",
	AlgRSAPSS:         "rsa-pss", AlgRSAPSSSHA1: "rsa-pss-sha1", AlgRSAPSSSHA224: "rsa-pss-sha224",
	AlgRSAPSSSHA256: "rsa-pss-sha256", AlgRSAPSSSHA384: "rsa-pss-sha384", AlgRSAPSSSHA512: "rsa-pss-sha512",
	AlgECDSA: "ecdsa", AlgECDSASHA1: "ecdsa-sha1", AlgECDSASHA224: "ecdsa-sha224",
	AlgECDSASHA256: "ecdsa-sha256", AlgECDSASHA384: "ecdsa-sha384", AlgECDSASHA512: "ecdsa-sha512",
	AlgRSADecryptRaw: "rsa-decrypt-raw", AlgRSADecryptPKCS1: "rsa-decrypt-pkcs1",
	AlgRSADecryptOAEP: "rsa-decrypt-oaep", AlgECDH: "ecdh",
}

// Algorithms returns every algorithm the card knows, in ascending byte order.
func Algorithms() []Algorithm {
	var out []Algorithm
	for a := 0; a < 256; a++ {
		if _, ok := algorithmNames[Algorithm(a)]; ok {
			out = append(out, Algorithm(a))
		}
	}
	return out
}

// String returns the algorithm's name (rsa-pss-sha256), or its byte in hex when unknown.
func (a Algorithm) String() string {
	if n, ok := algorithmNames[a]; ok {
		return n
	}
	return fmt.Sprintf("%02X", byte(a))
}

// Known reports whether a is an algorithm the card defines (section 2.12.1, 2.13).
func (a Algorithm) Known() bool {
	_, ok := algorithmNames[a]
	return ok
}

// ParseAlgorithm accepts a name of String, or a byte in hex (73, 0x73).
func ParseAlgorithm(s string) (Algorithm, error) {
	for a, n := range algorithmNames {
		if strings.EqualFold(n, s) {
			return a, nil
		}
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown algorithm %q (a name such as ecdsa-sha256, or a byte in hex)", s)
	}
	return Algorithm(v), nil
}

// IsSign reports whether a is a SIGN (68) algorithm.
func (a Algorithm) IsSign() bool {
	return a == AlgRSARaw || a >= AlgRSAPKCS1 && a <= AlgRSAPKCS1SHA512 ||
		a >= AlgRSAPSS && a <= AlgRSAPSSSHA512 || a >= AlgECDSA && a <= AlgECDSASHA512
}

// IsDecipher reports whether a is a DECIPHER (62) algorithm.
func (a Algorithm) IsDecipher() bool {
	return a >= AlgRSADecryptRaw && a <= AlgRSADecryptOAEP || a == AlgECDH
}

// IsRSA reports whether a is an algorithm of RSA keys.
func (a Algorithm) IsRSA() bool {
	return a.IsSign() && a < AlgECDSA || a >= AlgRSADecryptRaw && a <= AlgRSADecryptOAEP
}

// Hash returns the hash the card computes for the hash-on-card algorithms (31-35, 41-45,
// 71-75), and 0 for the others.
func (a Algorithm) Hash() crypto.Hash {
	hi, lo := a&0xF0, a&0x0F
	if hi != 0x30 && hi != 0x40 && hi != 0x70 || lo < 1 || lo > 5 {
		return 0
	}
	return []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}[lo-1]
}
