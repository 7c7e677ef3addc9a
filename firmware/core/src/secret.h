/*
 * secret.h — objects encrypted at rest under the session's object key.
 *
 * Sealed layout: version 01 | nonce (12) | AES-256-GCM ciphertext | tag (16);
 * AAD = "pico-hsm/obj" | object id (2 bytes, big-endian) | version, so a sealed object cannot
 * be moved to another id. Functions that release plaintext are named *_expose_*.
 */
#ifndef HSM_SECRET_H
#define HSM_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_SEALED_OVERHEAD (1u + 12u + 16u)

/* Encrypts pt into out (cap >= len + HSM_SEALED_OVERHEAD). Needs s->keys_open. */
int hsm_secret_seal(const hsm_session *s, uint16_t id, const uint8_t *pt, size_t len,
                    uint8_t *out, size_t cap, size_t *out_len);
/* Decrypts a sealed object into pt; HSM_ERR_EXEC if it does not authenticate. */
int hsm_secret_expose(const hsm_session *s, uint16_t id, const uint8_t *in, size_t len,
                      uint8_t *pt, size_t cap, size_t *pt_len);

#endif
