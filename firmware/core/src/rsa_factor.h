/*
 * rsa_factor.h — the primes of an RSA key given as (n, e, d), for UNWRAP of key blobs without
 * CRT values (core spec 4.4.2, type 05: the form WRAP writes).
 *
 * d·e − 1 = 2^s·t with t odd is a multiple of λ(n). For a base a coprime to n the sequence
 * a^t, a^2t, ..., a^(2^s·t) mod n ends at 1; when the element before the first 1 is not −1 it
 * is a square root of 1 other than ±1, and gcd(x − 1, n) is a proper factor of n. For n with
 * two or more distinct odd prime factors at least half of all bases give one, so bases are drawn
 * at random: a key of two primes is factored after two bases on average, whatever the primes.
 *
 * The work is bounded whatever the input: each base costs one exponentiation by t plus at most
 * s squarings (together about bitlen(d·e) multiplications), and no input makes a base fail to
 * decide with probability above 1/2, so the expected number of bases is at most 2 and the
 * number is capped at HSM_RSA_FACTOR_BASES. The inputs for which every base would fail are
 * refused before: n sharing a factor with d·e − 1 (a square factor p^2 of n for which d and e
 * are right puts p there; a key of two distinct large primes never does), and n that passes a
 * base-2 Fermat test after the first base failed (prime n). A base fails with probability at
 * most 1/2 otherwise: when d·e − 1 is a multiple of λ(n), n square-free with two or more prime
 * factors, at least half of all bases split n; when it is not, at least half of all bases give
 * a^(d·e−1) ≠ 1 and end the search. mbedTLS's mbedtls_rsa_deduce_primes() takes one gcd per
 * squaring step, with the 54 primes below 256 as bases, which a crafted n (prime, with a large
 * power of 2 in n − 1) turns into seconds of work on a PC.
 */
#ifndef HSM_RSA_FACTOR_H
#define HSM_RSA_FACTOR_H

#include "mbedtls/bignum.h"

/* At most this many random bases; a key of two distinct primes fails with probability at most
 * 2^-HSM_RSA_FACTOR_BASES. */
#define HSM_RSA_FACTOR_BASES 64

/* Sets P > Q with P·Q = N from N, E and D, with N odd, 1 < E < N and 1 < D < N. P and Q are
 * only a factorisation of N: whether they are prime, and D and E right for them, is for
 * mbedtls_rsa_check_privkey() to tell. Random bases from hsm_rng_mbedtls(); *bases (when not
 * NULL) receives the number tried. Returns 0, MBEDTLS_ERR_MPI_BAD_INPUT_DATA (bad N, E or D, or
 * no factor found), or another mbedTLS error; values derived from D are wiped. */
int hsm_rsa_factor(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D,
                   mbedtls_mpi *P, mbedtls_mpi *Q, unsigned *bases);

#endif
