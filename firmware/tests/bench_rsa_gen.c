/*
 * bench_rsa_gen.c — RSA key generation on the host: mbedtls_rsa_gen_key() against
 * hsm_rsa_gen_key() (trial division to 2^16), alternating, over the same DRBG. Prints keys per
 * second and the mean, median and spread per key for each. Not a test (no pass/fail); run by
 * hand: build/emu/bench_rsa_gen [bits] [keys]. Key generation time is dominated by how many
 * composites reach Miller-Rabin, which the host and the RP2040 share; the device's own cycle
 * counts come from make bench-device.
 *
 * Then the primes of the same keys recovered from (n, e, d), as UNWRAP of a type-05 blob does:
 * mbedtls_rsa_complete() (mbedtls_rsa_deduce_primes) against hsm_rsa_factor(), and both on a
 * prime n with 2^(bits-124) | n - 1 and a matching d, which no base can split.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hsm/card.h"
#include "hsm/rng.h"
#include "mbedtls/rsa.h"
#include "ram_port.h"
#include "rsa_factor.h"
#include "rsa_gen.h"

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *t, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += t[i];
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("%-24s %6.2f keys/s  mean %7.1f ms  median %7.1f ms  (%.1f..%.1f)\n", name, n / sum,
           1e3 * sum / n, 1e3 * t[n / 2], 1e3 * t[0], 1e3 * t[n - 1]);
}

/* mbedTLS's way: P and Q from N, D, E inside mbedtls_rsa_complete(). */
static int complete(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D)
{
    mbedtls_rsa_context r;
    mbedtls_rsa_init(&r);
    int rc = mbedtls_rsa_import(&r, N, NULL, NULL, D, E);
    if (rc == 0) {
        rc = mbedtls_rsa_complete(&r);
    }
    mbedtls_rsa_free(&r);
    return rc;
}

static int factor(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D, unsigned *bases)
{
    mbedtls_mpi P, Q;
    mbedtls_mpi_init(&P), mbedtls_mpi_init(&Q);
    int rc = hsm_rsa_factor(N, E, D, &P, &Q, bases);
    mbedtls_mpi_free(&P), mbedtls_mpi_free(&Q);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned bits = argc > 1 ? (unsigned)atoi(argv[1]) : 2048;
    int n = argc > 2 ? atoi(argv[2]) : 40;
    double *tm = calloc((size_t)n, sizeof(double)), *th = calloc((size_t)n, sizeof(double));
    mbedtls_mpi *N = calloc((size_t)n, sizeof(mbedtls_mpi)), *D = calloc((size_t)n, sizeof(mbedtls_mpi));
    if (tm == NULL || th == NULL || N == NULL || D == NULL || n < 1 || hsm_card_init() != 0) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        mbedtls_rsa_context k;
        double t0 = now_s();
        mbedtls_rsa_init(&k);
        if (mbedtls_rsa_gen_key(&k, hsm_rng_mbedtls, NULL, bits, 65537) != 0) {
            return 1;
        }
        mbedtls_rsa_free(&k);
        double t1 = now_s();
        mbedtls_rsa_init(&k);
        if (hsm_rsa_gen_key(&k, bits, 65537) != 0) {
            return 1;
        }
        tm[i] = t1 - t0;
        th[i] = now_s() - t1;
        mbedtls_mpi_init(&N[i]), mbedtls_mpi_init(&D[i]);
        if (mbedtls_rsa_export(&k, &N[i], NULL, NULL, &D[i], NULL) != 0) {
            return 1;
        }
        mbedtls_rsa_free(&k);
    }
    printf("RSA-%u, %d keys each, e = 65537\n", bits, n);
    report("mbedtls_rsa_gen_key", tm, n);
    report("hsm_rsa_gen_key", th, n);

    mbedtls_mpi E;
    mbedtls_mpi_init(&E);
    if (mbedtls_mpi_lset(&E, 65537) != 0) {
        return 1;
    }
    unsigned bases = 0, most = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        if (complete(&N[i], &E, &D[i]) != 0) {
            return 1;
        }
        double t1 = now_s();
        unsigned b;
        if (factor(&N[i], &E, &D[i], &b) != 0) {
            return 1;
        }
        th[i] = now_s() - t1;
        tm[i] = t1 - t0;
        bases += b, most = b > most ? b : most;
        mbedtls_mpi_free(&N[i]), mbedtls_mpi_free(&D[i]);
    }
    printf("primes from (n, e, d), the same keys\n");
    report("mbedtls_rsa_complete", tm, n);
    report("hsm_rsa_factor", th, n);
    printf("%-24s %u in all, at most %u for one key\n", "  bases", bases, most);

    /* n prime, 2^(bits-124) | n - 1 (r·2^k + 1 for random r of 124 bits), d = e^-1 mod n - 1 */
    mbedtls_mpi P, P1;
    mbedtls_mpi_init(&P), mbedtls_mpi_init(&P1), mbedtls_mpi_init(&D[0]);
    for (;;) {
        if (mbedtls_mpi_fill_random(&P, 16, hsm_rng_mbedtls, NULL) != 0 || mbedtls_mpi_shift_r(&P, 4) != 0 ||
            mbedtls_mpi_set_bit(&P, 123, 1) != 0 || mbedtls_mpi_shift_l(&P, bits - 124) != 0 ||
            mbedtls_mpi_add_int(&P, &P, 1) != 0 || mbedtls_mpi_sub_int(&P1, &P, 1) != 0) {
            return 1;
        }
        if (mbedtls_mpi_is_prime_ext(&P, 40, hsm_rng_mbedtls, NULL) == 0 && mbedtls_mpi_inv_mod(&D[0], &E, &P1) == 0) {
            break;
        }
    }
    double t0 = now_s();
    int rm = complete(&P, &E, &D[0]);
    double t1 = now_s();
    unsigned b;
    int rh = factor(&P, &E, &D[0], &b);
    double t2 = now_s();
    printf("prime n of %zu bits, 2^%zu | n - 1: mbedtls_rsa_complete %.1f ms (%s), "
           "hsm_rsa_factor %.1f ms (%s, %u base)\n", mbedtls_mpi_bitlen(&P), mbedtls_mpi_lsb(&P1),
           1e3 * (t1 - t0), rm ? "refused" : "accepted", 1e3 * (t2 - t1), rh ? "refused" : "accepted", b);
    mbedtls_mpi_free(&P), mbedtls_mpi_free(&P1), mbedtls_mpi_free(&D[0]), mbedtls_mpi_free(&E);
    free(N);
    free(D);
    free(tm);
    free(th);
    return 0;
}
