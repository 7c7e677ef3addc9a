/*
 * test_rsa_gen.c — RSA key generation (rsa_gen.c): the window sieve against plain
 * remainders, the prime and key rules, bad parameters. The generated keys are also checked
 * from outside, with Go's math/big, by host/conformance/rsa_keygen_test.go.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hsm/card.h"
#include "hsm/rng.h"
#include "mbedtls/bignum.h"
#include "mbedtls/rsa.h"
#include "ram_port.h"
#include "rsa_gen.h"

/* Primality of m < 2^16 by trial division: the reference the sieve is compared with. */
static int small_prime(uint32_t m)
{
    if (m < 2) {
        return 0;
    }
    for (uint32_t d = 2; d * d <= m; d++) {
        if (m % d == 0) {
            return 0;
        }
    }
    return 1;
}

/* The smallest odd prime below 2^16 dividing x, or 0. */
static uint32_t smallest_factor(const mbedtls_mpi *x)
{
    for (uint32_t p = 3; p < 65536; p += 2) {
        mbedtls_mpi_uint r;
        if (small_prime(p) && mbedtls_mpi_mod_int(&r, x, (mbedtls_mpi_sint)p) == 0 && r == 0) {
            return p;
        }
    }
    return 0;
}

/* The window sieve agrees with plain remainders: bit k set exactly when x0 + 2k has an odd
 * prime factor below 2^16. Returns the number of unmarked candidates. */
static unsigned sieve_check(const mbedtls_mpi *x0, size_t window)
{
    uint8_t be[129], marks[64];
    mbedtls_mpi x;
    unsigned clear = 0;
    size_t len = mbedtls_mpi_size(x0);
    CHECK(window <= 8 * sizeof(marks) && len <= sizeof(be) && mbedtls_mpi_write_binary(x0, be, len) == 0);
    hsm_rsa_sieve(be, len, marks, window);
    mbedtls_mpi_init(&x);
    for (size_t k = 0; k < window; k++) {
        int marked = (marks[k >> 3] >> (k & 7)) & 1;
        CHECK(mbedtls_mpi_add_int(&x, x0, (mbedtls_mpi_sint)(2 * k)) == 0);
        if (marked != (smallest_factor(&x) != 0)) {
            CHECK_EQ_INT(marked, smallest_factor(&x) != 0);
            break;
        }
        clear += !marked;
    }
    mbedtls_mpi_free(&x);
    return clear;
}

static void test_sieve(void)
{
    mbedtls_mpi x, y;
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&y);
    /* x0 = 65537^k, at even (k = 8: 17 bytes) and odd lengths (k = 3: 7 bytes): candidate 0 has
     * no small factor; x0 times the largest prime below 2^16, the smallest and some between
     * has one at candidate 0, found by that prime. */
    for (int k = 3; k <= 8; k++) {
        CHECK(mbedtls_mpi_lset(&x, 65537) == 0);
        for (int i = 1; i < k; i++) {
            CHECK(mbedtls_mpi_mul_int(&x, &x, 65537) == 0);
        }
        CHECK_EQ_INT(smallest_factor(&x), 0);
        sieve_check(&x, 200);
        const mbedtls_mpi_uint ps[] = {65521, 3, 997, 1009, 40009};
        for (size_t j = 0; j < sizeof(ps) / sizeof(ps[0]); j++) {
            CHECK(mbedtls_mpi_mul_int(&y, &x, ps[j]) == 0);
            CHECK_EQ_INT(smallest_factor(&y), ps[j]);
            sieve_check(&y, 40);
        }
    }
    /* Pseudo-random odd starts of 64 and 65 bytes, 512 candidates each: about 10 % of odd
     * numbers have no odd prime factor below 2^16 (1.123 / ln 2^16). */
    uint8_t buf[65];
    uint32_t s = 12345;
    unsigned clear = 0;
    for (int n = 0; n < 6; n++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            s = s * 1103515245u + 12345u;
            buf[i] = (uint8_t)(s >> 16);
        }
        buf[0] |= 0x80;
        buf[sizeof(buf) - 1] |= 1;
        CHECK(mbedtls_mpi_read_binary(&x, buf, 64 + (size_t)(n & 1)) == 0);
        clear += sieve_check(&x, 512);
    }
    CHECK(clear > 6 * 512 * 7 / 100 && clear < 6 * 512 * 14 / 100);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&y);
}

static void test_prime(void)
{
    mbedtls_mpi x, r, low;
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&low);
    for (unsigned bits = 510; bits <= 516; bits += 2) {
        CHECK_EQ_INT(hsm_rsa_gen_prime(&x, bits, 3, 0), 0);
        CHECK_EQ_INT(mbedtls_mpi_bitlen(&x), bits);
        CHECK_EQ_INT(smallest_factor(&x), 0);
        /* gcd(x - 1, 3) = 1: x is not 1 mod 3. */
        mbedtls_mpi_uint m;
        CHECK(mbedtls_mpi_mod_int(&m, &x, 3) == 0 && m == 2);
        /* x² >= 2^(2·bits - 1), i.e. x >= sqrt(2)·2^(bits-1). */
        CHECK(mbedtls_mpi_mul_mpi(&r, &x, &x) == 0);
        CHECK(mbedtls_mpi_lset(&low, 1) == 0 && mbedtls_mpi_shift_l(&low, 2 * bits - 1) == 0);
        CHECK(mbedtls_mpi_cmp_mpi(&r, &low) >= 0);
    }
    /* Exponents of 17 and 31 bits: x mod e is not 1 (the residue must not be computed with
     * mbedtls_mpi_mod_int, wrong for e >= 2^16 on 32-bit limbs). Checked here on the host's
     * 64-bit limbs, where mbedtls_mpi_mod_int is exact for both. */
    const uint32_t big_e[] = {65537, 0x7FFFFFFFu};
    for (size_t i = 0; i < 2; i++) {
        for (int n = 0; n < 8; n++) {
            mbedtls_mpi_uint m;
            CHECK_EQ_INT(hsm_rsa_gen_prime(&x, 256, big_e[i], 0), 0);
            CHECK(mbedtls_mpi_mod_int(&m, &x, (mbedtls_mpi_sint)big_e[i]) == 0 && m != 1);
        }
    }
    CHECK_EQ_INT(hsm_rsa_gen_prime(&x, 64, 3, 0), MBEDTLS_ERR_MPI_BAD_INPUT_DATA);
    CHECK_EQ_INT(hsm_rsa_gen_prime(&x, 2056, 3, 0), MBEDTLS_ERR_MPI_BAD_INPUT_DATA);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&low);
}

static void test_key(void)
{
    mbedtls_rsa_context k;
    mbedtls_mpi n, p, q, d, e, h;
    mbedtls_mpi *all[] = {&n, &p, &q, &d, &e, &h};
    for (size_t i = 0; i < 6; i++) {
        mbedtls_mpi_init(all[i]);
    }
    const uint32_t exps[] = {65537, 3, 17};
    for (size_t i = 0; i < 3; i++) {
        mbedtls_rsa_init(&k);
        CHECK_EQ_INT(hsm_rsa_gen_key(&k, 1024, exps[i]), 0);
        CHECK_EQ_INT(mbedtls_rsa_check_privkey(&k), 0);
        CHECK(mbedtls_rsa_export(&k, &n, &p, &q, &d, &e) == 0);
        CHECK_EQ_INT(mbedtls_mpi_bitlen(&n), 1024);
        CHECK_EQ_INT(mbedtls_mpi_cmp_int(&e, (mbedtls_mpi_sint)exps[i]), 0);
        CHECK(mbedtls_mpi_cmp_mpi(&p, &q) > 0);
        CHECK(mbedtls_mpi_sub_mpi(&h, &p, &q) == 0 && mbedtls_mpi_bitlen(&h) > 512 - 99);
        CHECK(mbedtls_mpi_bitlen(&d) > 512);
        CHECK(mbedtls_mpi_is_prime_ext(&p, 40, hsm_rng_mbedtls, NULL) == 0);
        CHECK(mbedtls_mpi_is_prime_ext(&q, 40, hsm_rng_mbedtls, NULL) == 0);
        mbedtls_rsa_free(&k);
    }
    /* Parameters mbedtls_rsa_gen_key() refuses are refused, and leave no key behind. */
    const struct {
        unsigned bits;
        uint32_t e;
    } bad[] = {{1023, 65537}, {1022, 65537}, {512, 65537}, {1024, 65536}, {1024, 1}, {1024, 0x80000001u}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mbedtls_rsa_init(&k);
        CHECK_EQ_INT(hsm_rsa_gen_key(&k, bad[i].bits, bad[i].e), MBEDTLS_ERR_RSA_BAD_INPUT_DATA);
        CHECK_EQ_INT(mbedtls_rsa_get_len(&k), 0);
        mbedtls_rsa_free(&k);
    }
    for (size_t i = 0; i < 6; i++) {
        mbedtls_mpi_free(all[i]);
    }
}

int main(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), 0);
    test_sieve();
    test_prime();
    test_key();
    return CHECK_DONE();
}
