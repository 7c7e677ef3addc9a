/*
 * bench_rsa_gen.c — RSA key generation on the host: mbedtls_rsa_gen_key() against
 * hsm_rsa_gen_key() (trial division to 2^16), alternating, over the same DRBG. Prints keys per
 * second and the mean, median and spread per key for each. Not a test (no pass/fail); run by
 * hand: build/emu/bench_rsa_gen [bits] [keys]. Key generation time is dominated by how many
 * composites reach Miller-Rabin, which the host and the RP2040 share; the device's own cycle
 * counts come from make bench-device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hsm/card.h"
#include "hsm/rng.h"
#include "mbedtls/rsa.h"
#include "ram_port.h"
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

int main(int argc, char **argv)
{
    unsigned bits = argc > 1 ? (unsigned)atoi(argv[1]) : 2048;
    int n = argc > 2 ? atoi(argv[2]) : 40;
    double *tm = calloc((size_t)n, sizeof(double)), *th = calloc((size_t)n, sizeof(double));
    if (tm == NULL || th == NULL || n < 1 || hsm_card_init() != 0) {
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
        mbedtls_rsa_free(&k);
        tm[i] = t1 - t0;
        th[i] = now_s() - t1;
    }
    printf("RSA-%u, %d keys each, e = 65537\n", bits, n);
    report("mbedtls_rsa_gen_key", tm, n);
    report("hsm_rsa_gen_key", th, n);
    free(tm);
    free(th);
    return 0;
}
