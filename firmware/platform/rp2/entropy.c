/*
 * entropy.c — port/entropy.h on RP2040/RP2350: raw ring-oscillator bits -> health tests ->
 * von Neumann debiasing -> health tests -> SHA-256 conditioning.
 *
 * Per request:
 *   1. rp2_noise_start(); a fresh health context (firmware/entropy/health.h) on the raw bits.
 *   2. Start-up test: one APT window (1024 raw bits) through the tests, then discarded.
 *   3. For each 32-byte output block: read raw bits in pairs, every bit through the raw tests;
 *      a pair 01 gives 0, 10 gives 1, 00 and 11 give nothing (von Neumann). The debiased bits
 *      go through a second pair of tests (an alternating source, e.g. a ring locked to the
 *      clock, passes the raw tests but debiases to a constant), and 512 of them (64 bytes) are
 *      hashed into 32 output bytes: 2:1 conditioning, crediting at most half a bit of entropy
 *      per debiased bit. More than MAX_PAIRS_PER_BLOCK pairs for one block (a source whose
 *      pairs are all 00/11) is a failure too.
 *   4. Any failure: HSM_ERR_ENTROPY, the output is wiped, nothing is retried.
 * The intermediate pool and digest are wiped before returning.
 *
 * Core 1 only (the DRBG seeding in the core); not re-entrant.
 */
#include <string.h>

#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

#include "health.h"
#include "hsm/err.h"
#include "hsm/port/entropy.h"
#include "rp2.h"

#define POOL_BYTES 64u                     /* debiased bits hashed per output block */
#define BLOCK_BYTES 32u                    /* SHA-256 output per block */
#define MAX_PAIRS_PER_BLOCK (POOL_BYTES * 8u * 16u) /* expected ~4 per output bit */

static int raw_bit(hsm_health *raw) {
    int b = rp2_noise_bit();
    if (b < 0)
        return HSM_ERR_ENTROPY;
    if (hsm_health_feed(raw, (uint8_t)b) != HSM_OK)
        return HSM_ERR_ENTROPY;
    return b;
}

static void health_init(hsm_health *h) {
    hsm_health_init(h, HSM_HEALTH_BINARY_RCT_CUTOFF, HSM_HEALTH_BINARY_APT_WINDOW,
                    HSM_HEALTH_BINARY_APT_CUTOFF);
}

/* Fills pool with POOL_BYTES of debiased, tested bits. */
static int fill_pool(uint8_t pool[POOL_BYTES], hsm_health *raw, hsm_health *deb) {
    memset(pool, 0, POOL_BYTES);
    uint32_t bits = 0;
    for (uint32_t pairs = 0; bits < POOL_BYTES * 8u; pairs++) {
        if (pairs == MAX_PAIRS_PER_BLOCK)
            return HSM_ERR_ENTROPY;
        int a = raw_bit(raw);
        if (a < 0)
            return a;
        int b = raw_bit(raw);
        if (b < 0)
            return b;
        if (a == b)
            continue;
        if (hsm_health_feed(deb, (uint8_t)a) != HSM_OK)
            return HSM_ERR_ENTROPY;
        pool[bits / 8] |= (uint8_t)(a << (bits % 8));
        bits++;
    }
    return HSM_OK;
}

int hsm_port_entropy(uint8_t *buf, size_t len) {
    hsm_health raw, deb;
    uint8_t pool[POOL_BYTES], digest[BLOCK_BYTES];
    int rc = rp2_noise_start();
    if (rc != HSM_OK)
        goto out;
    health_init(&raw);
    health_init(&deb);
    for (uint32_t i = 0; i < HSM_HEALTH_BINARY_APT_WINDOW; i++) {
        rc = raw_bit(&raw);
        if (rc < 0)
            goto out;
    }
    rc = hsm_health_startup_done(&raw) ? HSM_OK : HSM_ERR_ENTROPY;
    for (size_t done = 0; rc == HSM_OK && done < len; done += BLOCK_BYTES) {
        rc = fill_pool(pool, &raw, &deb);
        if (rc != HSM_OK)
            break;
        if (mbedtls_sha256(pool, POOL_BYTES, digest, 0) != 0) {
            rc = HSM_ERR_ENTROPY;
            break;
        }
        size_t n = len - done < BLOCK_BYTES ? len - done : BLOCK_BYTES;
        memcpy(buf + done, digest, n);
    }
out:
    if (rc != HSM_OK) {
        rc = HSM_ERR_ENTROPY;
        mbedtls_platform_zeroize(buf, len);
    }
    mbedtls_platform_zeroize(pool, sizeof pool);
    mbedtls_platform_zeroize(digest, sizeof digest);
    return rc;
}
