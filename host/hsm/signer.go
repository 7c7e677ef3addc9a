package hsm

// Key and RSAKey: card keys as crypto.Signer and crypto.Decrypter, so that they plug into
// x509.CreateCertificate, crypto/tls and anything else written against those interfaces.

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// Key is private key id on the card with its public key: a crypto.Signer (RSA and EC keys)
// with ECDH (EC keys). RSAKey adds crypto.Decrypter for RSA keys. They are two types because
// crypto/tls (TLS 1.2) refuses a private key that is a crypto.Decrypter without an RSA
// public key, as piv-go's per-type keys avoid. Each operation is one APDU; like the Client,
// keys are not safe for concurrent use.
//
// Signatures (Sign):
//
//	RSA, opts *rsa.PSSOptions   SIGN 40 with the hash; the card salts with the hash length,
//	                            so SaltLength must be rsa.PSSSaltLengthEqualsHash or the
//	                            hash length; hashes SHA-1 and SHA-2 (224..512)
//	RSA, other opts             PKCS#1 v1.5: the DigestInfo of opts.HashFunc() (the bare
//	                            digest when it is 0), padded on the host and signed raw
//	                            (20, as OpenSC does), or padded by the card (30) with
//	                            CardPadding
//	EC (Weierstrass)            SIGN 70 with the digest; the answer is ASN.1 DER
//	X25519, X448                ErrNotSupported: these keys only derive
//
// Decryption (RSAKey.Decrypt): raw RSA (21) and the padding removed on the host, for
// PKCS#1 v1.5 (opts nil or *rsa.PKCS1v15DecryptOptions) and OAEP (*rsa.OAEPOptions, any
// hash, MGF1 hash and label); with CardPadding the card unpads (22; 23 for OAEP with
// SHA-256, MGF1-SHA-256 and no label only).
type Key struct {
	client *Client
	id     byte
	pub    crypto.PublicKey
	curve  *Curve // EC keys

	// Context bounds each card operation of Sign, Decrypt and ECDH (their interfaces have no
	// context); nil means context.Background().
	Context context.Context
	// CardPadding lets the card pad and unpad PKCS#1 v1.5 and OAEP (algorithms 30, 22, 23)
	// instead of the host around the raw operations 20 and 21. Use it for a key whose
	// allowed-algorithm list lacks 20/21.
	CardPadding bool
}

// Key returns the card key id whose public key is pub (from GeneratedKey.Public,
// ReadPublicKey or ParseKeyFile).
func (c *Client) Key(id byte, pub crypto.PublicKey) (*Key, error) {
	if id == 0 {
		return nil, errors.New("key 00 is the device key, not usable for SIGN or DECIPHER")
	}
	k := &Key{client: c, id: id, pub: pub}
	if _, ok := pub.(*rsa.PublicKey); !ok {
		if k.curve = curveOf(pub); k.curve == nil {
			return nil, fmt.Errorf("%w: public key of type %T", ErrNotSupported, pub)
		}
	}
	return k, nil
}

// ReadPublicKey reads the public key of key id from its file CE<id> (section 3.1): the
// request stored at generation (as OpenSC and pico-hsm-tool do) or a certificate imported
// since. apdu.ErrFileNotFound: the key has no such file.
func (c *Client) ReadPublicKey(ctx context.Context, id byte) (crypto.PublicKey, error) {
	b, err := c.ReadFile(ctx, uint16(PrefixEECert)<<8|uint16(id))
	if err != nil {
		return nil, err
	}
	pub, err := ParseKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("public key of key %02X in CE%02X: %w", id, id, err)
	}
	return pub, nil
}

// Key returns g as a Key of client c.
func (g *GeneratedKey) Key(c *Client) (*Key, error) { return c.Key(g.ID, g.Public) }

// RSAKey is an RSA Key that also decrypts (crypto.Decrypter).
type RSAKey struct {
	*Key
}

// RSAKey returns the card's RSA key id with public key pub as a crypto.Signer and
// crypto.Decrypter.
func (c *Client) RSAKey(id byte, pub *rsa.PublicKey) (*RSAKey, error) {
	k, err := c.Key(id, pub)
	if err != nil {
		return nil, err
	}
	return &RSAKey{k}, nil
}

// RSA returns k as an RSAKey, or ErrNotSupported when it is not an RSA key.
func (k *Key) RSA() (*RSAKey, error) {
	if _, ok := k.pub.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("key %02X: %w: %s is not an RSA key", k.id, ErrNotSupported, KeyDescription(k.pub))
	}
	return &RSAKey{k}, nil
}

// PrivateKey returns the value to hand to APIs that take a crypto.PrivateKey and probe its
// interfaces (tls.Certificate.PrivateKey): an *RSAKey for RSA keys, k itself otherwise.
func (k *Key) PrivateKey() crypto.PrivateKey {
	if r, err := k.RSA(); err == nil {
		return r
	}
	return k
}

// ID returns the key number.
func (k *Key) ID() byte { return k.id }

// Public returns the public key (crypto.Signer, crypto.Decrypter).
func (k *Key) Public() crypto.PublicKey { return k.pub }

func (k *Key) ctx() context.Context {
	if k.Context != nil {
		return k.Context
	}
	return context.Background()
}

// pssHashes are the hashes the card can take as a bare PSS input: it tells them apart by
// length (section 2.12.3).
var pssHashes = map[crypto.Hash]bool{crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true,
	crypto.SHA384: true, crypto.SHA512: true}

// Sign signs digest (crypto.Signer); see Key for the algorithms. rand is not used: the
// card makes its own randomness.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		opts = crypto.Hash(0)
	}
	if h := opts.HashFunc(); h != 0 && len(digest) != h.Size() {
		return nil, fmt.Errorf("sign with key %02X: digest of %d bytes for %v (%d bytes)", k.id, len(digest), h, h.Size())
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return k.signPSS(pub, digest, pss)
		}
		return k.signPKCS1(pub, digest, opts.HashFunc())
	}
	if k.curve.Kind == Montgomery {
		return nil, fmt.Errorf("sign with key %02X: %w: %s keys cannot sign", k.id, ErrNotSupported, k.curve.Name)
	}
	return k.signECDSA(digest)
}

func (k *Key) signPSS(pub *rsa.PublicKey, digest []byte, o *rsa.PSSOptions) ([]byte, error) {
	h := o.Hash
	switch {
	case !pssHashes[h]:
		return nil, fmt.Errorf("sign with key %02X: %w: PSS with %v (the card takes SHA-1 or SHA-2 224..512)", k.id, ErrNotSupported, h)
	case o.SaltLength != rsa.PSSSaltLengthEqualsHash && o.SaltLength != h.Size():
		return nil, fmt.Errorf("sign with key %02X: %w: PSS salt length %d; the card always salts with the hash length (%d)",
			k.id, ErrNotSupported, o.SaltLength, h.Size())
	case len(digest) != h.Size():
		return nil, fmt.Errorf("sign with key %02X: digest of %d bytes for %v", k.id, len(digest), h)
	}
	sig, err := k.client.Sign(k.ctx(), k.id, AlgRSAPSS, digest)
	if err != nil {
		return nil, err
	}
	return checkRSAOutput(pub, sig)
}

func (k *Key) signPKCS1(pub *rsa.PublicKey, digest []byte, h crypto.Hash) ([]byte, error) {
	t := digest
	if h != 0 {
		var err error
		if t, err = DigestInfo(h, digest); err != nil {
			return nil, fmt.Errorf("sign with key %02X: %w", k.id, err)
		}
	}
	n := pub.Size()
	if len(t)+11 > n {
		return nil, fmt.Errorf("sign with key %02X: %w", k.id, rsa.ErrMessageTooLong)
	}
	var sig []byte
	var err error
	if k.CardPadding {
		sig, err = k.client.Sign(k.ctx(), k.id, AlgRSAPKCS1, t)
	} else {
		// EMSA-PKCS1-v1_5 (RFC 8017 9.2): 00 01 FF..FF 00 T.
		em := make([]byte, n)
		em[1] = 0x01
		for i := 2; i < n-len(t)-1; i++ {
			em[i] = 0xFF
		}
		copy(em[n-len(t):], t)
		sig, err = k.client.Sign(k.ctx(), k.id, AlgRSARaw, em)
	}
	if err != nil {
		return nil, err
	}
	return checkRSAOutput(pub, sig)
}

// checkRSAOutput accepts a modulus-size answer below the modulus.
func checkRSAOutput(pub *rsa.PublicKey, out []byte) ([]byte, error) {
	if len(out) != pub.Size() || new(big.Int).SetBytes(out).Cmp(pub.N) >= 0 {
		return nil, fmt.Errorf("card answered %d bytes, want a value below the %d-byte modulus", len(out), pub.Size())
	}
	return out, nil
}

type ecdsaSignature struct{ R, S *big.Int }

func (k *Key) signECDSA(digest []byte) ([]byte, error) {
	if len(digest) == 0 {
		return nil, fmt.Errorf("sign with key %02X: empty digest", k.id)
	}
	// ECDSA uses the leftmost bits of the digest, as many as the order has (the card and
	// crypto/ecdsa alike); longer input than the field length is cut here, as OpenSC does,
	// since the card takes at most 64 bytes.
	if n := k.curve.FieldBytes(); len(digest) > n {
		digest = digest[:n]
	}
	der, err := k.client.Sign(k.ctx(), k.id, AlgECDSA, digest)
	if err != nil {
		return nil, err
	}
	var s ecdsaSignature
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) != 0 || s.R.Sign() <= 0 || s.S.Sign() <= 0 {
		return nil, fmt.Errorf("sign with key %02X: answer % X is not a DER ECDSA signature", k.id, der)
	}
	return asn1.Marshal(s) // canonical DER whatever the card's integer encoding
}

// ECDH derives the shared secret with a peer's public key of the same curve
// (*ecdsa.PublicKey, *ecdh.PublicKey or *ECPublicKey); see Client.ECDH.
func (k *Key) ECDH(peer crypto.PublicKey) ([]byte, error) {
	if k.curve == nil {
		return nil, fmt.Errorf("ecdh with key %02X: %w: not an EC key", k.id, ErrNotSupported)
	}
	if c := curveOf(peer); c != k.curve {
		return nil, fmt.Errorf("ecdh with key %02X: peer key %s, key on %s", k.id, KeyDescription(peer), k.curve.Name)
	}
	p, err := PublicPoint(peer)
	if err != nil {
		return nil, err
	}
	return k.client.ECDH(k.ctx(), k.id, p)
}

// Decrypt decrypts an RSA ciphertext (crypto.Decrypter); see Key. A ciphertext shorter than
// the modulus is left-padded with zeros.
func (r *RSAKey) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k := r.Key
	pub, ok := k.pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("decrypt with key %02X: %w: not an RSA key", k.id, ErrNotSupported)
	}
	n := pub.Size()
	if len(msg) > n {
		return nil, fmt.Errorf("decrypt with key %02X: ciphertext of %d bytes, modulus %d", k.id, len(msg), n)
	}
	c := make([]byte, n)
	copy(c[n-len(msg):], msg)

	switch o := opts.(type) {
	case nil:
		return k.decryptPKCS1(c, 0, rand)
	case *rsa.PKCS1v15DecryptOptions:
		return k.decryptPKCS1(c, o.SessionKeyLen, rand)
	case *rsa.OAEPOptions:
		return k.decryptOAEP(c, o)
	}
	return nil, fmt.Errorf("decrypt with key %02X: %w: options %T", k.id, ErrNotSupported, opts)
}

// decryptPKCS1 follows rsa.DecryptPKCS1v15 and, with sessionKeyLen > 0,
// rsa.DecryptPKCS1v15SessionKey: on a padding failure a random key of that length comes
// back instead of an error (Bleichenbacher countermeasure).
func (k *Key) decryptPKCS1(c []byte, sessionKeyLen int, rnd io.Reader) ([]byte, error) {
	var key []byte
	if sessionKeyLen > 0 {
		if sessionKeyLen+11 > len(c) {
			return nil, rsa.ErrDecryption // cannot fit the modulus (as crypto/rsa)
		}
		if rnd == nil {
			return nil, errors.New("decrypt: a session key needs a random source")
		}
		key = make([]byte, sessionKeyLen)
		if _, err := io.ReadFull(rnd, key); err != nil {
			return nil, err
		}
	}
	if k.CardPadding {
		msg, err := k.client.Decipher(k.ctx(), k.id, AlgRSADecryptPKCS1, c)
		switch {
		case sessionKeyLen == 0:
			return msg, cardDecryptionErr(err)
		case err != nil && !errors.Is(err, apdu.ErrIncorrectData):
			return nil, err
		case err == nil && len(msg) == sessionKeyLen:
			return msg, nil
		}
		return key, nil // bad padding or length: the random key, as crypto/rsa does
	}
	em, err := k.client.Decipher(k.ctx(), k.id, AlgRSADecryptRaw, c)
	if err != nil {
		return nil, err
	}
	if len(em) != len(c) {
		return nil, fmt.Errorf("decrypt with key %02X: raw answer of %d bytes, want %d", k.id, len(em), len(c))
	}
	valid, index := unpadPKCS1(em)
	if sessionKeyLen > 0 {
		if len(em)-index != sessionKeyLen {
			valid = 0
		}
		subtle.ConstantTimeCopy(valid, key, em[len(em)-sessionKeyLen:])
		return key, nil
	}
	if valid != 1 {
		return nil, rsa.ErrDecryption
	}
	return em[index:], nil
}

// cardDecryptionErr makes the card's refusal of a ciphertext (6A80: bad padding, or not
// below the modulus) also match rsa.ErrDecryption, as the host-unpadded paths do.
func cardDecryptionErr(err error) error {
	if errors.Is(err, apdu.ErrIncorrectData) {
		return fmt.Errorf("%w: %w", rsa.ErrDecryption, err)
	}
	return err
}

// unpadPKCS1 checks EME-PKCS1-v1_5 (RFC 8017 7.2.2) in constant time, as crypto/rsa does:
// valid is 1 for 00 02 PS(at least 8 nonzero bytes) 00 M, and index is where M starts.
func unpadPKCS1(em []byte) (valid, index int) {
	if len(em) < 11 {
		return 0, 0
	}
	firstByteIsZero := subtle.ConstantTimeByteEq(em[0], 0)
	secondByteIsTwo := subtle.ConstantTimeByteEq(em[1], 2)
	lookingForIndex := 1
	for i := 2; i < len(em); i++ {
		equals0 := subtle.ConstantTimeByteEq(em[i], 0)
		index = subtle.ConstantTimeSelect(lookingForIndex&equals0, i, index)
		lookingForIndex = subtle.ConstantTimeSelect(equals0, 0, lookingForIndex)
	}
	validPS := subtle.ConstantTimeLessOrEq(2+8, index)
	valid = firstByteIsZero & secondByteIsTwo & (^lookingForIndex & 1) & validPS
	index = subtle.ConstantTimeSelect(valid, index+1, 0)
	return valid, index
}

func (k *Key) decryptOAEP(c []byte, o *rsa.OAEPOptions) ([]byte, error) {
	mgf := o.MGFHash
	if mgf == 0 {
		mgf = o.Hash
	}
	if !o.Hash.Available() || !mgf.Available() {
		return nil, fmt.Errorf("decrypt with key %02X: %w: OAEP hash %v / MGF1 %v not linked in", k.id, ErrNotSupported, o.Hash, mgf)
	}
	if k.CardPadding {
		if o.Hash != crypto.SHA256 || mgf != crypto.SHA256 || len(o.Label) != 0 {
			return nil, fmt.Errorf("decrypt with key %02X: %w: the card's OAEP (23) is SHA-256, MGF1-SHA-256, no label", k.id, ErrNotSupported)
		}
		msg, err := k.client.Decipher(k.ctx(), k.id, AlgRSADecryptOAEP, c)
		return msg, cardDecryptionErr(err)
	}
	em, err := k.client.Decipher(k.ctx(), k.id, AlgRSADecryptRaw, c)
	if err != nil {
		return nil, err
	}
	if len(em) != len(c) {
		return nil, fmt.Errorf("decrypt with key %02X: raw answer of %d bytes, want %d", k.id, len(em), len(c))
	}
	return unpadOAEP(em, o.Hash.New(), mgf.New(), o.Label)
}

// unpadOAEP is EME-OAEP decoding (RFC 8017 7.1.2 step 3), constant time in the padding
// check as crypto/rsa does it.
func unpadOAEP(em []byte, h, mgfHash hash.Hash, label []byte) ([]byte, error) {
	hLen := h.Size()
	if len(em) < 2*hLen+2 {
		return nil, rsa.ErrDecryption
	}
	h.Write(label)
	lHash := h.Sum(nil)

	firstByteIsZero := subtle.ConstantTimeByteEq(em[0], 0)
	seed := append([]byte(nil), em[1:1+hLen]...)
	db := append([]byte(nil), em[1+hLen:]...)
	mgf1XOR(seed, mgfHash, db)
	mgf1XOR(db, mgfHash, seed)

	lHash2Good := subtle.ConstantTimeCompare(lHash, db[:hLen])
	lookingForIndex, index, invalid := 1, 0, 0
	rest := db[hLen:]
	for i := 0; i < len(rest); i++ {
		equals0 := subtle.ConstantTimeByteEq(rest[i], 0)
		equals1 := subtle.ConstantTimeByteEq(rest[i], 1)
		index = subtle.ConstantTimeSelect(lookingForIndex&equals1, i, index)
		lookingForIndex = subtle.ConstantTimeSelect(equals1, 0, lookingForIndex)
		invalid = subtle.ConstantTimeSelect(lookingForIndex&^equals0, 1, invalid)
	}
	if firstByteIsZero&lHash2Good&^invalid&^lookingForIndex != 1 {
		return nil, rsa.ErrDecryption
	}
	return rest[index+1:], nil
}

// mgf1XOR XORs out with MGF1 (RFC 8017 B.2.1) of seed under h.
func mgf1XOR(out []byte, h hash.Hash, seed []byte) {
	var counter [4]byte
	done := 0
	for done < len(out) {
		h.Reset()
		h.Write(seed)
		h.Write(counter[:])
		d := h.Sum(nil)
		for i := 0; i < len(d) && done < len(out); i++ {
			out[done] ^= d[i]
			done++
		}
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}

// Compile-time checks of the interfaces.
var (
	_ crypto.Signer    = (*Key)(nil)
	_ crypto.Signer    = (*RSAKey)(nil)
	_ crypto.Decrypter = (*RSAKey)(nil)
)
