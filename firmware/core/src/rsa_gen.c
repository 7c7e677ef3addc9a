/*
 * rsa_gen.c — RSA key-pair generation with a sieve up to 2^16 (rsa_gen.h says what is
 * mbedTLS's and what is ours).
 *
 * Cost model (RP2040, RSA-2048, 1024-bit primes): an odd candidate is prime with probability
 * ~1/355; of the composites, 16 % survive division by the primes below 1000 (all mbedTLS
 * tries) and each costs a full 1024-bit exponentiation (~190 M cycles) to reject; with every
 * prime below 2^16 only 10 % survive. Dividing each candidate by 6541 primes would cost more
 * than it saves on a fast host, so the residues are computed once per random start (6541 × 64
 * hardware divisions, ~12 M cycles) and the window of candidates after it is sieved with them.
 */
#include "rsa_gen.h"

#include <stdbool.h>
#include <string.h>

#include "hsm/rng.h"
#include "mbedtls/platform_util.h"

#define SIEVE_LIMIT 65536u
#define PRIME_BYTES_MAX 256u /* half of RSA-4096 */
/* Odd candidates searched from one random start: 4096 integers, where a 1024-bit prime is
 * found with probability 1 - e^(-4096/710) > 99 %. */
#define WINDOW 2048u

/* Bit k set: 2k + 1 is not an odd prime. Built once; read-only afterwards. */
static uint8_t not_prime[SIEVE_LIMIT / 16];
static bool sieve_ready;

static bool odd_not_prime(uint32_t m)
{
    return (not_prime[m >> 4] >> ((m >> 1) & 7u)) & 1u;
}

static void sieve_build(void)
{
    not_prime[0] = 1; /* 1 */
    for (uint32_t p = 3; p * p < SIEVE_LIMIT; p += 2) {
        if (!odd_not_prime(p)) {
            for (uint32_t m = p * p; m < SIEVE_LIMIT; m += 2 * p) {
                not_prime[m >> 4] |= (uint8_t)(1u << ((m >> 1) & 7u));
            }
        }
    }
    sieve_ready = true;
}

void hsm_rsa_sieve(const uint8_t *be, size_t len, uint8_t *marks, size_t window)
{
    if (!sieve_ready) {
        sieve_build();
    }
    memset(marks, 0, (window + 7) / 8);
    for (uint32_t p = 3; p < SIEVE_LIMIT; p += 2) {
        if (odd_not_prime(p)) {
            continue;
        }
        /* r = x0 mod p by Horner in 16-bit digits: r < p < 2^16 keeps (r << 16 | digit) within
         * 32 bits. An odd length starts with a one-byte digit. */
        uint32_t r = (len & 1) ? be[0] % p : 0;
        for (size_t i = len & 1; i < len; i += 2) {
            r = ((r << 16) | (uint32_t)be[i] << 8 | be[i + 1]) % p;
        }
        /* p | x0 + 2k  <=>  k = -r / 2 = (p - r)·(p + 1)/2 (mod p). */
        for (uint32_t k = ((p - r) * ((p + 1) / 2)) % p; k < window; k += p) {
            marks[k >> 3] |= (uint8_t)(1u << (k & 7u));
        }
    }
}

/* The big-endian number be[0..len) mod m, for any m < 2^32 (mbedtls_mpi_mod_int() needs
 * m < 2^16 with 32-bit limbs, as on the RP2040, and e = 65537 is not). */
static uint32_t mod32(const uint8_t *be, size_t len, uint32_t m)
{
    uint64_t r = 0;
    for (size_t i = 0; i < len; i++) {
        r = ((r << 8) | be[i]) % m;
    }
    return (uint32_t)r;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* mbedtls_mpi_gen_prime()'s round counts (HAC table 4.4 and its 2^-100 extension). */
static int mr_rounds(unsigned nbits, int low_err)
{
    if (!low_err) {
        return nbits >= 1300 ? 2 : nbits >= 850 ? 3 : nbits >= 650 ? 4 : nbits >= 350 ? 8 : nbits >= 250 ? 12
               : nbits >= 150 ? 18 : 27;
    }
    return nbits >= 1450 ? 4 : nbits >= 1150 ? 5 : nbits >= 1000 ? 6 : nbits >= 850 ? 7 : nbits >= 750 ? 8
           : nbits >= 500 ? 13 : nbits >= 250 ? 28 : nbits >= 150 ? 40 : 51;
}

int hsm_rsa_gen_prime(mbedtls_mpi *x, unsigned nbits, uint32_t e, int low_err)
{
    static uint8_t buf[PRIME_BYTES_MAX], marks[WINDOW / 8];
    const size_t len = (nbits + 7) / 8;
    const unsigned top = (unsigned)(len * 8 - nbits); /* unused high bits of buf[0] */
    mbedtls_mpi x0;
    int ret; /* MBEDTLS_MPI_CHK's name */

    if (nbits < 128 || len > sizeof(buf)) {
        return MBEDTLS_ERR_MPI_BAD_INPUT_DATA;
    }
    mbedtls_mpi_init(&x0);
    /* x gets exactly x0's limbs: an x left larger by an earlier use would make Miller-Rabin
     * draw its bases too long and refuse every candidate (mbedTLS gives up after 30 draws). */
    mbedtls_mpi_free(x);
    for (;;) {
        MBEDTLS_MPI_CHK(hsm_rng_mbedtls(NULL, buf, len));
        buf[0] &= (uint8_t)(0xFFu >> top);
        /* At least sqrt(2)·2^(nbits-1) (FIPS 186-4 B.3.3 steps 4.4, 5.5): the top 32 bits, as
         * mbedTLS compares them, are at least ceil(2^32/sqrt(2)); redraw otherwise. Every
         * candidate of the window is larger than the start, so it holds for them too. */
        uint64_t hi = 0;
        for (size_t i = 0; i < 5; i++) {
            hi = hi << 8 | buf[i];
        }
        if ((uint32_t)(hi >> (8 - top)) < 0xB504F334u) {
            continue;
        }
        buf[len - 1] |= 1;
        hsm_rsa_sieve(buf, len, marks, WINDOW);
        const uint64_t r0 = mod32(buf, len, e); /* x0 mod e: (x - 1) mod e follows for each k */
        MBEDTLS_MPI_CHK(mbedtls_mpi_read_binary(&x0, buf, len));
        for (uint32_t k = 0; k < WINDOW; k++) {
            if ((marks[k >> 3] >> (k & 7u)) & 1u) {
                continue;
            }
            MBEDTLS_MPI_CHK(mbedtls_mpi_add_int(x, &x0, (mbedtls_mpi_sint)(2 * k)));
            if (mbedtls_mpi_bitlen(x) != nbits) {
                break; /* ran past 2^nbits: a new start */
            }
            /* gcd(x - 1, e) = gcd(e, (x - 1) mod e), with x - 1 = x0 + 2k - 1: no binary gcd
             * over the whole candidate (which cost as much as the sieve on a host). */
            if (gcd32(e, (uint32_t)((r0 + 2u * k + e - 1u) % e)) != 1) {
                continue;
            }
            ret = mbedtls_mpi_is_prime_ext(x, mr_rounds(nbits, low_err), hsm_rng_mbedtls, NULL);
            if (ret != MBEDTLS_ERR_MPI_NOT_ACCEPTABLE) {
                goto cleanup;
            }
        }
    }
cleanup:
    mbedtls_platform_zeroize(buf, sizeof(buf));
    mbedtls_platform_zeroize(marks, sizeof(marks)); /* where the prime lies after x0 */
    mbedtls_mpi_free(&x0);
    return ret;
}

int hsm_rsa_gen_key(mbedtls_rsa_context *ctx, unsigned nbits, uint32_t e)
{
    mbedtls_mpi p, q, n, d, ev, h, p1, q1, l;
    int ret; /* MBEDTLS_MPI_CHK's name */

    if (nbits < 1024 || nbits % 2 != 0 || e < 3 || !(e & 1) || e > 0x7FFFFFFFu) {
        return MBEDTLS_ERR_RSA_BAD_INPUT_DATA;
    }
    mbedtls_mpi *all[] = {&p, &q, &n, &d, &ev, &h, &p1, &q1, &l};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        mbedtls_mpi_init(all[i]);
    }
    const int low_err = nbits > 1024; /* 2^-80 suffices up to 80-bit security, as mbedTLS */
    MBEDTLS_MPI_CHK(mbedtls_mpi_lset(&ev, (mbedtls_mpi_sint)e));
    for (;;) {
        MBEDTLS_MPI_CHK(hsm_rsa_gen_prime(&p, nbits / 2, e, low_err));
        MBEDTLS_MPI_CHK(hsm_rsa_gen_prime(&q, nbits / 2, e, low_err));
        /* |p - q| > 2^(nbits/2 - 100) (FIPS 186-4 B.3.3 step 5.4); p > q by convention. */
        MBEDTLS_MPI_CHK(mbedtls_mpi_sub_mpi(&h, &p, &q));
        if (mbedtls_mpi_bitlen(&h) <= nbits / 2 - 99) {
            continue;
        }
        if (mbedtls_mpi_cmp_mpi(&p, &q) < 0) {
            mbedtls_mpi_swap(&p, &q);
        }
        /* d = e^-1 mod lcm(p - 1, q - 1) (B.3.1 criterion 3(b)), longer than nbits/2 (3(a)).
         * gcd(e, (p-1)(q-1)) = 1 holds: each prime was drawn with gcd(x - 1, e) = 1. */
        MBEDTLS_MPI_CHK(mbedtls_mpi_sub_int(&p1, &p, 1));
        MBEDTLS_MPI_CHK(mbedtls_mpi_sub_int(&q1, &q, 1));
        MBEDTLS_MPI_CHK(mbedtls_mpi_gcd(&h, &p1, &q1));
        MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&n, &p1, &q1));
        MBEDTLS_MPI_CHK(mbedtls_mpi_div_mpi(&l, NULL, &n, &h));
        MBEDTLS_MPI_CHK(mbedtls_mpi_inv_mod(&d, &ev, &l));
        if (mbedtls_mpi_bitlen(&d) <= (nbits + 1) / 2) {
            continue;
        }
        break;
    }
    MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&n, &p, &q));
    MBEDTLS_MPI_CHK(mbedtls_rsa_import(ctx, &n, &p, &q, &d, &ev));
    MBEDTLS_MPI_CHK(mbedtls_rsa_complete(ctx)); /* DP, DQ, QP */
    MBEDTLS_MPI_CHK(mbedtls_rsa_check_privkey(ctx));
cleanup:
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        mbedtls_mpi_free(all[i]); /* zeroizes the limbs */
    }
    if (ret != 0) {
        mbedtls_rsa_free(ctx);
    }
    return ret;
}
