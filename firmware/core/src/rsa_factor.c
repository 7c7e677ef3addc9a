/*
 * rsa_factor.c — factoring n from (n, e, d) with a bounded number of steps; see rsa_factor.h.
 */
#include "rsa_factor.h"

#include "hsm/rng.h"

/* Outcome of one base. */
enum { BASE_SPLIT, BASE_NONE, BASE_MISMATCH };

/* Walks a^t, a^2t, ... a^(2^s·t) mod N for one random base a. BASE_SPLIT with a proper factor
 * in F; BASE_NONE when the sequence reaches 1 with no square root of 1 other than ±1 on the
 * way; BASE_MISMATCH when it never reaches 1 (2^s·t is not a multiple of the order of a).
 * Returns 0 or an mbedTLS error; the outcome in *out. */
static int one_base(const mbedtls_mpi *N, const mbedtls_mpi *Nm1, const mbedtls_mpi *T, size_t s,
                    mbedtls_mpi *RR, mbedtls_mpi *F, int *out)
{
    int ret;
    mbedtls_mpi A, X, Y;
    mbedtls_mpi_init(&A);
    mbedtls_mpi_init(&X);
    mbedtls_mpi_init(&Y);
    MBEDTLS_MPI_CHK(mbedtls_mpi_random(&A, 2, Nm1, hsm_rng_mbedtls, NULL)); /* 2 <= a <= N-2 */
    MBEDTLS_MPI_CHK(mbedtls_mpi_gcd(F, &A, N));
    if (mbedtls_mpi_cmp_int(F, 1) != 0) {
        *out = BASE_SPLIT; /* a shares a factor with N; 1 < gcd <= a < N */
        goto cleanup;
    }
    MBEDTLS_MPI_CHK(mbedtls_mpi_exp_mod(&X, &A, T, N, RR));
    *out = BASE_NONE;
    if (mbedtls_mpi_cmp_int(&X, 1) == 0 || mbedtls_mpi_cmp_mpi(&X, Nm1) == 0) {
        goto cleanup;
    }
    /* Invariant: X = a^(2^i·t) mod N is neither 1 nor N-1, for i = 0, 1, ... */
    for (size_t i = 0; i < s; i++) {
        MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&Y, &X, &X));
        MBEDTLS_MPI_CHK(mbedtls_mpi_mod_mpi(&Y, &Y, N));
        if (mbedtls_mpi_cmp_int(&Y, 1) == 0) {
            MBEDTLS_MPI_CHK(mbedtls_mpi_sub_int(&X, &X, 1));
            MBEDTLS_MPI_CHK(mbedtls_mpi_gcd(F, &X, N));
            *out = BASE_SPLIT;
            goto cleanup;
        }
        if (mbedtls_mpi_cmp_mpi(&Y, Nm1) == 0) {
            goto cleanup;
        }
        MBEDTLS_MPI_CHK(mbedtls_mpi_copy(&X, &Y));
    }
    *out = BASE_MISMATCH;

cleanup:
    mbedtls_mpi_free(&A); /* mbedtls_mpi_free() zeroises */
    mbedtls_mpi_free(&X);
    mbedtls_mpi_free(&Y);
    return ret;
}

/* Sets *passes when 2^(N-1) ≡ 1 mod N: N prime or a base-2 pseudoprime (a prime power p^k,
 * k > 1, passes only when 2^(p-1) ≡ 1 mod p^2: p = 1093, 3511 and no other prime below 2^64).
 * Returns 0 or an mbedTLS error. */
static int fermat_2(const mbedtls_mpi *N, const mbedtls_mpi *Nm1, mbedtls_mpi *RR, int *passes)
{
    int ret;
    mbedtls_mpi B;
    mbedtls_mpi_init(&B);
    MBEDTLS_MPI_CHK(mbedtls_mpi_lset(&B, 2));
    MBEDTLS_MPI_CHK(mbedtls_mpi_exp_mod(&B, &B, Nm1, N, RR));
    *passes = mbedtls_mpi_cmp_int(&B, 1) == 0;
cleanup:
    mbedtls_mpi_free(&B);
    return ret;
}

int hsm_rsa_factor(const mbedtls_mpi *N, const mbedtls_mpi *E, const mbedtls_mpi *D,
                   mbedtls_mpi *P, mbedtls_mpi *Q, unsigned *bases)
{
    unsigned b = 0;
    size_t s;
    if (bases != NULL) {
        *bases = 0;
    }
    if (mbedtls_mpi_get_bit(N, 0) != 1 || mbedtls_mpi_cmp_int(N, 15) < 0 ||
        mbedtls_mpi_cmp_int(E, 1) <= 0 || mbedtls_mpi_cmp_mpi(E, N) >= 0 ||
        mbedtls_mpi_cmp_int(D, 1) <= 0 || mbedtls_mpi_cmp_mpi(D, N) >= 0) {
        return MBEDTLS_ERR_MPI_BAD_INPUT_DATA;
    }
    int ret, out = BASE_NONE;
    mbedtls_mpi T, Nm1, RR, R;
    mbedtls_mpi_init(&T);
    mbedtls_mpi_init(&Nm1);
    mbedtls_mpi_init(&RR);
    mbedtls_mpi_init(&R);
    MBEDTLS_MPI_CHK(mbedtls_mpi_sub_int(&Nm1, N, 1));
    MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&T, D, E));
    MBEDTLS_MPI_CHK(mbedtls_mpi_sub_int(&T, &T, 1)); /* d·e - 1 >= 3 */
    MBEDTLS_MPI_CHK(mbedtls_mpi_gcd(&R, &T, N));
    if (mbedtls_mpi_cmp_int(&R, 1) != 0) {
        ret = MBEDTLS_ERR_MPI_BAD_INPUT_DATA; /* see rsa_factor.h: a square factor, or no key */
        goto cleanup;
    }
    s = mbedtls_mpi_lsb(&T);
    MBEDTLS_MPI_CHK(mbedtls_mpi_shift_r(&T, s));

    while (b < HSM_RSA_FACTOR_BASES) {
        b++;
        MBEDTLS_MPI_CHK(one_base(N, &Nm1, &T, s, &RR, P, &out));
        if (out != BASE_NONE) {
            break;
        }
        if (b == 1) {
            int prime_like;
            MBEDTLS_MPI_CHK(fermat_2(N, &Nm1, &RR, &prime_like));
            if (prime_like) {
                break;
            }
        }
    }
    if (out != BASE_SPLIT) {
        ret = MBEDTLS_ERR_MPI_BAD_INPUT_DATA;
        goto cleanup;
    }
    MBEDTLS_MPI_CHK(mbedtls_mpi_div_mpi(Q, &R, N, P));
    if (mbedtls_mpi_cmp_int(&R, 0) != 0) {
        ret = MBEDTLS_ERR_MPI_BAD_INPUT_DATA; /* unreachable: P divides N by construction */
        goto cleanup;
    }
    if (mbedtls_mpi_cmp_mpi(P, Q) < 0) {
        mbedtls_mpi_swap(P, Q);
    }
    /* No high zero limbs: mbedtls_mpi_is_prime_ext() draws its bases by X's limb count. */
    MBEDTLS_MPI_CHK(mbedtls_mpi_shrink(P, 0));
    MBEDTLS_MPI_CHK(mbedtls_mpi_shrink(Q, 0));

cleanup:
    if (bases != NULL) {
        *bases = b;
    }
    mbedtls_mpi_free(&T);
    mbedtls_mpi_free(&Nm1);
    mbedtls_mpi_free(&RR);
    mbedtls_mpi_free(&R);
    if (ret != 0) {
        mbedtls_mpi_free(P);
        mbedtls_mpi_free(Q);
    }
    return ret;
}
