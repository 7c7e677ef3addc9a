/*
 * test_rsa_factor.c — the primes of an RSA key from (n, e, d) (rsa_factor.c): genuine keys of
 * every shape factor in few bases, whatever d's modulus and however large the power of 2 in
 * p − 1; inputs that are not a key of two primes are refused, and those built to make every
 * base fail (n prime with 2^900 | n − 1, n = p^2, n = p^2·q, all with matching d) after at most
 * one base. The import path through UNWRAP is in test_dkek.c.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hsm/card.h"
#include "hsm/rng.h"
#include "mbedtls/bignum.h"
#include "mbedtls/rsa.h"
#include "ram_port.h"
#include "rsa_factor.h"
#include "rsa_gen.h"

#define MPI(x) mbedtls_mpi x; mbedtls_mpi_init(&x)

/* A prime of nbits bits equal to 1 mod 2^k (k < nbits - 8): r·2^k + 1 for random r. */
static void prime_1_mod_2k(mbedtls_mpi *p, unsigned nbits, unsigned k)
{
    for (;;) {
        CHECK_EQ_INT(mbedtls_mpi_fill_random(p, (nbits - k + 7) / 8, hsm_rng_mbedtls, NULL), 0);
        CHECK_EQ_INT(mbedtls_mpi_shift_r(p, (8 - (nbits - k) % 8) % 8), 0);
        CHECK_EQ_INT(mbedtls_mpi_set_bit(p, nbits - k - 1, 1), 0);
        CHECK_EQ_INT(mbedtls_mpi_shift_l(p, k), 0);
        CHECK_EQ_INT(mbedtls_mpi_add_int(p, p, 1), 0);
        if (mbedtls_mpi_is_prime_ext(p, 40, hsm_rng_mbedtls, NULL) == 0) {
            CHECK_EQ_INT(mbedtls_mpi_bitlen(p), nbits);
            return;
        }
    }
}

/* d = e^-1 mod m, with m = lcm or product of (f_i - 1) over the given prime factors. */
static int inverse_mod(mbedtls_mpi *d, const mbedtls_mpi *e, const mbedtls_mpi *m)
{
    return mbedtls_mpi_inv_mod(d, e, m);
}

/* lcm(a, b) into r. */
static void lcm(mbedtls_mpi *r, const mbedtls_mpi *a, const mbedtls_mpi *b)
{
    MPI(g);
    MPI(ab);
    CHECK_EQ_INT(mbedtls_mpi_gcd(&g, a, b), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&ab, a, b), 0);
    CHECK_EQ_INT(mbedtls_mpi_div_mpi(r, NULL, &ab, &g), 0);
    mbedtls_mpi_free(&g);
    mbedtls_mpi_free(&ab);
}

/* P, Q recovered from (N, E, D) are the key's primes, P > Q. */
static void check_factors(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D,
                          const mbedtls_mpi *p, const mbedtls_mpi *q, unsigned *bases)
{
    MPI(P);
    MPI(Q);
    CHECK_EQ_INT(hsm_rsa_factor(N, E, D, &P, &Q, bases), 0);
    const mbedtls_mpi *hi = mbedtls_mpi_cmp_mpi(p, q) > 0 ? p : q, *lo = hi == p ? q : p;
    CHECK(mbedtls_mpi_cmp_mpi(&P, hi) == 0 && mbedtls_mpi_cmp_mpi(&Q, lo) == 0);
    CHECK(*bases >= 1 && *bases <= HSM_RSA_FACTOR_BASES);
    mbedtls_mpi_free(&P);
    mbedtls_mpi_free(&Q);
}

/* Keys from the key generator: d = e^-1 mod lcm(p-1, q-1) and the same key with d taken mod
 * (p-1)(q-1), as older generators write it. Bases per key follow a geometric law of mean at
 * most 2; the sum over all keys is checked against four times the key count. */
static void test_generated(void)
{
    const uint32_t exps[] = {65537, 3, 17, 0x7FFFFFFF};
    unsigned keys = 0, total = 0, most = 0;
    for (int i = 0; i < 12; i++) {
        mbedtls_rsa_context r;
        mbedtls_rsa_init(&r);
        CHECK_EQ_INT(hsm_rsa_gen_key(&r, i == 11 ? 2048 : 1024, exps[i % 4]), 0);
        MPI(N);
        MPI(p);
        MPI(q);
        MPI(D);
        MPI(E);
        MPI(phi);
        MPI(p1);
        MPI(q1);
        CHECK_EQ_INT(mbedtls_rsa_export(&r, &N, &p, &q, &D, &E), 0);
        unsigned b;
        check_factors(&N, &E, &D, &p, &q, &b);
        total += b, keys++, most = b > most ? b : most;
        CHECK_EQ_INT(mbedtls_mpi_sub_int(&p1, &p, 1), 0);
        CHECK_EQ_INT(mbedtls_mpi_sub_int(&q1, &q, 1), 0);
        CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&phi, &p1, &q1), 0);
        CHECK_EQ_INT(inverse_mod(&D, &E, &phi), 0);
        check_factors(&N, &E, &D, &p, &q, &b);
        total += b, keys++, most = b > most ? b : most;
        mbedtls_mpi_free(&N), mbedtls_mpi_free(&p), mbedtls_mpi_free(&q), mbedtls_mpi_free(&D);
        mbedtls_mpi_free(&E), mbedtls_mpi_free(&phi), mbedtls_mpi_free(&p1), mbedtls_mpi_free(&q1);
        mbedtls_rsa_free(&r);
    }
    CHECK(total <= 4 * keys);
    printf("  generated keys: %u, bases %u in all, at most %u for one\n", keys, total, most);
}

/* p ≡ 1 mod 2^200 (and q ≡ 1 mod 2^40): d·e - 1 holds a large power of 2, which costs
 * squarings, not bases. */
static void test_large_two_power(void)
{
    MPI(p);
    MPI(q);
    MPI(N);
    MPI(E);
    MPI(D);
    MPI(p1);
    MPI(q1);
    MPI(l);
    prime_1_mod_2k(&p, 512, 200);
    prime_1_mod_2k(&q, 512, 40);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&N, &p, &q), 0);
    CHECK_EQ_INT(mbedtls_mpi_lset(&E, 65537), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&p1, &p, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&q1, &q, 1), 0);
    lcm(&l, &p1, &q1);
    CHECK_EQ_INT(inverse_mod(&D, &E, &l), 0);
    unsigned b = 0;
    for (int i = 0; i < 8; i++) {
        check_factors(&N, &E, &D, &p, &q, &b);
    }
    mbedtls_mpi_free(&p), mbedtls_mpi_free(&q), mbedtls_mpi_free(&N), mbedtls_mpi_free(&E);
    mbedtls_mpi_free(&D), mbedtls_mpi_free(&p1), mbedtls_mpi_free(&q1), mbedtls_mpi_free(&l);
}

/* Refused, with at most `max_bases` bases tried. */
static void refused(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D, unsigned max_bases)
{
    MPI(P);
    MPI(Q);
    unsigned b = 99;
    CHECK_EQ_INT(hsm_rsa_factor(N, E, D, &P, &Q, &b), MBEDTLS_ERR_MPI_BAD_INPUT_DATA);
    CHECK(b <= max_bases);
    if (b > max_bases) {
        printf("  %u bases\n", b);
    }
    mbedtls_mpi_free(&P);
    mbedtls_mpi_free(&Q);
}

/* Inputs made so that no base can split n, d and e matching: refused after the first base (n
 * prime: the Fermat test) or before any (a square factor: gcd(d·e - 1, n)). mbedTLS's
 * mbedtls_rsa_deduce_primes() runs 50 bases of up to 900 gcds each on the first one. */
static void test_unsplittable(void)
{
    MPI(n);
    MPI(n1);
    MPI(E);
    MPI(D);
    MPI(p);
    MPI(q);
    MPI(l);
    MPI(t);
    CHECK_EQ_INT(mbedtls_mpi_lset(&E, 65537), 0);

    /* n prime, 2^900 | n - 1, d = e^-1 mod n - 1 */
    do {
        prime_1_mod_2k(&n, 1024, 900);
        CHECK_EQ_INT(mbedtls_mpi_sub_int(&n1, &n, 1), 0);
    } while (inverse_mod(&D, &E, &n1) != 0);
    refused(&n, &E, &D, 1);

    /* n = p^2 (1024 bits), λ(n) = p(p-1) */
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&p, 512, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&n, &p, &p), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &p, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&l, &t, &p), 0);
    CHECK_EQ_INT(inverse_mod(&D, &E, &l), 0);
    refused(&n, &E, &D, 0);

    /* n = p^2·q, λ(n) = lcm(p(p-1), q-1) */
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&p, 384, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&q, 384, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&n, &p, &p), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&n, &n, &q), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &p, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&t, &t, &p), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&n1, &q, 1), 0);
    lcm(&l, &t, &n1);
    CHECK_EQ_INT(inverse_mod(&D, &E, &l), 0);
    refused(&n, &E, &D, 0);

    mbedtls_mpi_free(&n), mbedtls_mpi_free(&n1), mbedtls_mpi_free(&E), mbedtls_mpi_free(&D);
    mbedtls_mpi_free(&p), mbedtls_mpi_free(&q), mbedtls_mpi_free(&l), mbedtls_mpi_free(&t);
}

/* Three primes with a matching d: a factorisation of n comes back (P·Q = N, one of them not
 * prime), which mbedtls_rsa_check_privkey() then refuses on import. */
static void test_three_primes(void)
{
    MPI(a);
    MPI(b);
    MPI(c);
    MPI(n);
    MPI(l);
    MPI(t);
    MPI(E);
    MPI(D);
    MPI(P);
    MPI(Q);
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&a, 352, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&b, 352, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&c, 352, 0, hsm_rng_mbedtls, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&n, &a, &b), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&n, &n, &c), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &a, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_copy(&l, &t), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &b, 1), 0);
    lcm(&l, &l, &t);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &c, 1), 0);
    lcm(&l, &l, &t);
    CHECK_EQ_INT(mbedtls_mpi_lset(&E, 65537), 0);
    CHECK_EQ_INT(inverse_mod(&D, &E, &l), 0);
    unsigned nb;
    CHECK_EQ_INT(hsm_rsa_factor(&n, &E, &D, &P, &Q, &nb), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&t, &P, &Q), 0);
    CHECK(mbedtls_mpi_cmp_mpi(&t, &n) == 0 && mbedtls_mpi_cmp_int(&Q, 1) > 0);
    CHECK(mbedtls_mpi_cmp_mpi(&P, &Q) > 0);
    int pp = mbedtls_mpi_is_prime_ext(&P, 20, hsm_rng_mbedtls, NULL) == 0;
    int qp = mbedtls_mpi_is_prime_ext(&Q, 20, hsm_rng_mbedtls, NULL) == 0;
    CHECK(pp + qp == 1);
    printf("  three primes: %u bases, P %zu bits (prime %d), Q %zu bits (prime %d)\n", nb, mbedtls_mpi_bitlen(&P), pp, mbedtls_mpi_bitlen(&Q), qp);
    mbedtls_mpi_free(&a), mbedtls_mpi_free(&b), mbedtls_mpi_free(&c), mbedtls_mpi_free(&n);
    mbedtls_mpi_free(&l), mbedtls_mpi_free(&t), mbedtls_mpi_free(&E), mbedtls_mpi_free(&D);
    mbedtls_mpi_free(&P), mbedtls_mpi_free(&Q);
}

/* d and e that do not match n end after one base; out-of-range values before any. */
static void test_bad_values(void)
{
    mbedtls_rsa_context r;
    mbedtls_rsa_init(&r);
    CHECK_EQ_INT(hsm_rsa_gen_key(&r, 1024, 65537), 0);
    MPI(N);
    MPI(D);
    MPI(E);
    MPI(x);
    CHECK_EQ_INT(mbedtls_rsa_export(&r, &N, NULL, NULL, &D, &E), 0);
    for (int i = 0; i < 8; i++) { /* random d: at least half of the bases see the mismatch */
        CHECK_EQ_INT(mbedtls_mpi_fill_random(&x, 120, hsm_rng_mbedtls, NULL), 0);
        refused(&N, &E, &x, 8);
    }
    CHECK_EQ_INT(mbedtls_mpi_add_int(&x, &D, 2), 0); /* d + 2: a^(de-1) = a^(2e) ≠ 1 */
    refused(&N, &E, &x, 1);
    CHECK_EQ_INT(mbedtls_mpi_lset(&x, 1), 0);
    refused(&N, &E, &x, 0); /* d = 1 */
    refused(&N, &x, &D, 0); /* e = 1 */
    refused(&N, &N, &D, 0); /* e = n */
    refused(&N, &E, &N, 0); /* d = n */
    CHECK_EQ_INT(mbedtls_mpi_add_int(&x, &N, 1), 0);
    refused(&x, &E, &D, 0); /* n even */
    CHECK_EQ_INT(mbedtls_mpi_lset(&x, 13), 0);
    refused(&x, &E, &x, 0); /* n too small */
    mbedtls_mpi_free(&N), mbedtls_mpi_free(&D), mbedtls_mpi_free(&E), mbedtls_mpi_free(&x);
    mbedtls_rsa_free(&r);
}

int main(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), 0);
    test_generated();
    test_large_two_power();
    test_unsplittable();
    test_three_primes();
    test_bad_values();
    return CHECK_DONE();
}
