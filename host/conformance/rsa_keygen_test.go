package conformance

// RSA key generation (spec smartcard-hsm-core.md 2.11) checked from outside: keys generated on
// the card are exported under a known DKEK, decoded here, and their private parts tested with
// Go's math/big against the rules the firmware promises (FIPS 186-4 B.3.1/B.3.3, as mbedTLS):
// two probable primes of nbits/2 bits each at least sqrt(2)·2^(nbits/2-1), |p - q| >
// 2^(nbits/2-100), gcd(e, (p-1)(q-1)) = 1, e^-1 mod lcm(p-1, q-1) longer than nbits/2.

import (
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

func TestRSAKeygenPrimes(t *testing.T) {
	cl := dkekCard(t, 1, dkekShareA)
	k, _ := dkek.FromShares(dkekShareA)
	ctx := genCtx(t)
	one := big.NewInt(1)
	for i, bits := range []int{1024, 1024, 1024, 2048, 2048, 3072} {
		id := byte(1 + i)
		g, err := cl.GenerateRSA(ctx, id, bits, hsm.KeyOptions{})
		if err != nil {
			t.Fatalf("RSA-%d: %v", bits, err)
		}
		blob, err := cl.WrapKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := k.Unwrap(blob)
		if err != nil {
			t.Fatalf("RSA-%d: host decode: %v", bits, err)
		}
		key, ok := dec.Key.(*rsa.PrivateKey)
		if !ok || !key.PublicKey.Equal(g.Public) {
			t.Fatalf("RSA-%d: the blob does not hold the generated key", bits)
		}
		if len(key.Primes) != 2 {
			t.Fatalf("RSA-%d: %d primes", bits, len(key.Primes))
		}
		p, q := key.Primes[0], key.Primes[1]
		half := bits / 2
		// sqrt(2)·2^(half-1) <= x  <=>  x² >= 2^(2·half-1)
		low := new(big.Int).Lsh(one, uint(bits-1))
		for _, x := range []*big.Int{p, q} {
			if x.BitLen() != half || !x.ProbablyPrime(40) {
				t.Errorf("RSA-%d: factor of %d bits, prime %v", bits, x.BitLen(), x.ProbablyPrime(40))
			}
			if new(big.Int).Mul(x, x).Cmp(low) < 0 {
				t.Errorf("RSA-%d: factor below sqrt(2)·2^%d", bits, half-1)
			}
		}
		if key.N.BitLen() != bits || new(big.Int).Mul(p, q).Cmp(key.N) != 0 {
			t.Errorf("RSA-%d: modulus of %d bits is not p·q", bits, key.N.BitLen())
		}
		if d := new(big.Int).Sub(p, q); d.Abs(d).BitLen() <= half-99 {
			t.Errorf("RSA-%d: |p - q| too small", bits)
		}
		p1, q1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		e := big.NewInt(int64(key.E))
		if new(big.Int).GCD(nil, nil, e, new(big.Int).Mul(p1, q1)).Cmp(one) != 0 {
			t.Errorf("RSA-%d: gcd(e, (p-1)(q-1)) != 1", bits)
		}
		lcm := new(big.Int).Mul(p1, q1)
		lcm.Div(lcm, new(big.Int).GCD(nil, nil, p1, q1))
		// The blob is in CRT form (d mod p-1, d mod q-1): the rule is checked on p, q, e.
		if d := new(big.Int).ModInverse(e, lcm); d == nil || d.BitLen() <= (bits+1)/2 {
			t.Errorf("RSA-%d: e^-1 mod lcm(p-1, q-1) missing or not longer than %d bits", bits, (bits+1)/2)
		}
		signVerify(t, cl, id, g.Public)
	}
}
