/*
 * rng.c — one CTR_DRBG (AES-256, prediction resistance off, mbedTLS reseed interval) seeded
 * from the platform entropy source, personalised with the chip's unique ID.
 *
 * State: `drbg` is owned by this file. `seeded` is true only after a successful seed; an
 * entropy failure (seed or reseed) clears it and frees the DRBG, so no output is ever produced
 * from a state whose seeding failed.
 */
#include "hsm/rng.h"

#include <stdbool.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/entropy.h"
#include "mbedtls/ctr_drbg.h"

static mbedtls_ctr_drbg_context drbg;
static bool seeded;

static int entropy_cb(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    return hsm_port_entropy(buf, len) == HSM_OK ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static int ensure_seeded(void)
{
    if (seeded) {
        return HSM_OK;
    }
    uint8_t pers[8 + 8] = {'p', 'i', 'c', 'o', '-', 'h', 's', 'm'};
    hsm_port_unique_id(pers + 8);
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, entropy_cb, NULL, pers, sizeof(pers)) != 0) {
        mbedtls_ctr_drbg_free(&drbg);
        return HSM_ERR_ENTROPY;
    }
    seeded = true;
    return HSM_OK;
}

int hsm_rng_bytes(uint8_t *buf, size_t len)
{
    int rc = ensure_seeded();
    if (rc != HSM_OK) {
        return rc;
    }
    while (len > 0) {
        size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&drbg, buf, n) != 0) {
            /* Only a failed reseed gets here: drop the state, seed afresh next time. */
            mbedtls_ctr_drbg_free(&drbg);
            seeded = false;
            return HSM_ERR_ENTROPY;
        }
        buf += n;
        len -= n;
    }
    return HSM_OK;
}

int hsm_rng_mbedtls(void *p_rng, unsigned char *buf, size_t len)
{
    (void)p_rng;
    return hsm_rng_bytes(buf, len) == HSM_OK ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}
