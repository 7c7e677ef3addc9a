package cvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for the id-TA-*-SHA-1 algorithms
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"math/big"
)

func (a Algorithm) hash() crypto.Hash {
	switch a {
	case RSAv15SHA1, RSAPSSSHA1, ECDSASHA1:
		return crypto.SHA1
	case ECDSASHA224:
		return crypto.SHA224
	case RSAv15SHA256, RSAPSSSHA256, ECDSASHA256:
		return crypto.SHA256
	case ECDSASHA384:
		return crypto.SHA384
	case RSAv15SHA512, RSAPSSSHA512, ECDSASHA512:
		return crypto.SHA512
	}
	return 0
}

// VerifySelfSigned checks the signature of c under c's own public key (a self-signed
// certificate, or a request's self-signature).
func (c *Certificate) VerifySelfSigned() error {
	return c.Verify(c.PublicKey)
}

// Verify checks the signature of c over its body (the whole 7F4E object) under the issuer's
// key, with the issuer key's algorithm. ECDSA signatures are plain r || s, each half the
// signature, of the byte length of the curve order (BSI TR-03111); RSA-PSS uses a salt as
// long as the hash. Curves the standard library lacks are verified with math/big
// arithmetic. Errors wrap ErrSignature or ErrUnsupported (X25519/X448 keys cannot sign).
func (c *Certificate) Verify(issuer *PublicKey) error {
	return issuer.verify(c.Body, c.Signature, c.CHR)
}

// verify checks sig over msg under k; who names the signed object in errors.
func (issuer *PublicKey) verify(msg, sig []byte, who string) error {
	if issuer == nil {
		return fmt.Errorf("%w: no issuer key", ErrUnsupported)
	}
	h := issuer.Algorithm.hash()
	if h == 0 {
		return fmt.Errorf("%w: algorithm % X", ErrUnsupported, issuer.OID)
	}
	hw := h.New()
	hw.Write(msg)
	digest := hw.Sum(nil)

	if issuer.Algorithm.IsRSA() {
		pub := &rsa.PublicKey{N: issuer.N, E: issuer.E}
		var err error
		if issuer.Algorithm == RSAPSSSHA1 || issuer.Algorithm == RSAPSSSHA256 ||
			issuer.Algorithm == RSAPSSSHA512 {
			err = rsa.VerifyPSS(pub, h, digest, sig,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(pub, h, digest, sig)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSignature, who, err)
		}
		return nil
	}

	c := issuer.Curve
	if c == nil || c.Montgomery {
		return fmt.Errorf("%w: no ECDSA key with domain parameters in this 7F49", ErrUnsupported)
	}
	n := len(c.N)
	if len(sig) != 2*n {
		return fmt.Errorf("%w: %s: signature of %d bytes, want r || s of %d", ErrSignature,
			who, len(sig), 2*n)
	}
	r := new(big.Int).SetBytes(sig[:n])
	s := new(big.Int).SetBytes(sig[n:])
	if !issuer.VerifyECDSA(digest, r, s) {
		return fmt.Errorf("%w: %s", ErrSignature, who)
	}
	return nil
}

// VerifyECDSA reports whether (r, s) is an ECDSA signature of digest under k, an EC key
// with domain parameters; the digest is truncated to the order's bit length as ECDSA
// specifies. It uses crypto/ecdsa where the standard library has the curve, math/big
// arithmetic otherwise, and is false for every other kind of key.
func (k *PublicKey) VerifyECDSA(digest []byte, r, s *big.Int) bool {
	c := k.Curve
	if !k.Algorithm.IsECDSA() || c == nil || c.Montgomery {
		return false
	}
	if c.stdlib != nil {
		pub, err := k.ECDSA()
		return err == nil && ecdsa.Verify(pub, digest, r, s)
	}
	x, y, ok := c.math.Unmarshal(k.Point)
	return ok && c.math.VerifyECDSA(x, y, digest, r, s)
}
