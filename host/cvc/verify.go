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
// long as the hash. Errors wrap ErrSignature or ErrUnsupported.
func (c *Certificate) Verify(issuer *PublicKey) error {
	if issuer == nil {
		return fmt.Errorf("%w: no issuer key", ErrUnsupported)
	}
	h := issuer.Algorithm.hash()
	if h == 0 {
		return fmt.Errorf("%w: algorithm % X", ErrUnsupported, issuer.OID)
	}
	hw := h.New()
	hw.Write(c.Body)
	digest := hw.Sum(nil)

	if issuer.Algorithm.IsRSA() {
		pub := &rsa.PublicKey{N: issuer.N, E: issuer.E}
		var err error
		if issuer.Algorithm == RSAPSSSHA1 || issuer.Algorithm == RSAPSSSHA256 ||
			issuer.Algorithm == RSAPSSSHA512 {
			err = rsa.VerifyPSS(pub, h, digest, c.Signature,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(pub, h, digest, c.Signature)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSignature, c.CHR, err)
		}
		return nil
	}

	pub, err := issuer.ECDSA()
	if err != nil {
		return err
	}
	n := (pub.Curve.Params().N.BitLen() + 7) / 8
	if len(c.Signature) != 2*n {
		return fmt.Errorf("%w: %s: signature of %d bytes, want r || s of %d", ErrSignature,
			c.CHR, len(c.Signature), 2*n)
	}
	r := new(big.Int).SetBytes(c.Signature[:n])
	s := new(big.Int).SetBytes(c.Signature[n:])
	if !ecdsa.Verify(pub, digest, r, s) {
		return fmt.Errorf("%w: %s", ErrSignature, c.CHR)
	}
	return nil
}
