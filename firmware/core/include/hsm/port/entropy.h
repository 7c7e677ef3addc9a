/*
 * port/entropy.h — platform service: raw entropy for seeding the core's DRBG.
 *
 * Fills buf with full-entropy bytes after the platform's health tests (SP 800-90B repetition
 * count and adaptive proportion on devices). Returns HSM_OK or HSM_ERR_ENTROPY when a health
 * test failed: the caller must then refuse key generation, never carry on silently.
 */
#ifndef HSM_PORT_ENTROPY_H
#define HSM_PORT_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

int hsm_port_entropy(uint8_t *buf, size_t len);

#endif
