/*
 * rng.h — the core's random numbers: one CTR_DRBG (AES-256) seeded from hsm_port_entropy().
 *
 * Reseeds from the platform entropy source on first use and every HSM_RNG_RESEED_INTERVAL
 * requests (mbedTLS's own interval). A failing entropy health test makes every call fail with
 * HSM_ERR_ENTROPY until the next successful seed; callers must not fall back to anything else.
 */
#ifndef HSM_RNG_H
#define HSM_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with len random bytes. Returns HSM_OK or HSM_ERR_ENTROPY. */
int hsm_rng_bytes(uint8_t *buf, size_t len);

/* Adapter with mbedTLS's f_rng signature (p_rng unused); returns 0 or an mbedTLS error. */
int hsm_rng_mbedtls(void *p_rng, unsigned char *buf, size_t len);

#endif
