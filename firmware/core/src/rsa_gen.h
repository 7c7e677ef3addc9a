/*
 * rsa_gen.h — RSA key-pair generation for GENERATE ASYMMETRIC KEY PAIR (core spec 2.11).
 *
 * The acceptance rules are mbedtls_rsa_gen_key()'s: primes at least sqrt(2)·2^(k-1) (FIPS
 * 186-4 B.3.3), its Miller-Rabin round counts, |p - q| > 2^(nbits/2-100), gcd(e, (p-1)(q-1)) = 1,
 * d = e^-1 mod lcm(p-1, q-1) longer than nbits/2, p > q, and mbedtls_rsa_check_privkey() at the
 * end. The search differs: mbedTLS draws a fresh random number per candidate and divides it by
 * the primes below 1000; here each random start is followed by a window of odd candidates,
 * sieved with every prime below 2^16 (the incremental search of OpenSSL's and Java's prime
 * generators), so about 40 % fewer composites reach Miller-Rabin, whose first modular
 * exponentiation is nearly all of the time. A prime after a long gap is a little more likely
 * to be found than one after a short gap; the loss of entropy is a few bits at most.
 */
#ifndef HSM_RSA_GEN_H
#define HSM_RSA_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/bignum.h"
#include "mbedtls/rsa.h"

/* Generates an nbits-bit key (even, >= 1024) with public exponent e (odd, >= 3, < 2^31) into
 * ctx, which must be freshly initialised; random numbers from hsm_rng_mbedtls(). Returns 0 or an
 * mbedTLS error; on error ctx holds no key material. */
int hsm_rsa_gen_key(mbedtls_rsa_context *ctx, unsigned nbits, uint32_t e);

/* One probable prime X of nbits bits (>= 128), at least sqrt(2)·2^(nbits-1), with
 * gcd(X - 1, e) = 1; rounds of Miller-Rabin as mbedTLS for its size and error bound
 * (2^-100 when low_err, else 2^-80). Returns 0 or an mbedTLS error. */
int hsm_rsa_gen_prime(mbedtls_mpi *x, unsigned nbits, uint32_t e, int low_err);

/* Sets bit k of marks (window bits) when some odd prime below 2^16 divides x0 + 2k, x0 being
 * the big-endian number be[0..len), larger than 2^17. Exposed for the unit tests. */
void hsm_rsa_sieve(const uint8_t *be, size_t len, uint8_t *marks, size_t window);

#endif
