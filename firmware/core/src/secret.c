/*
 * secret.c — sealing and exposing objects at rest; see secret.h.
 */
#include "secret.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/rng.h"
#include "mbedtls/gcm.h"

#define VERSION 0x01
#define NONCE 12u
#define TAG 16u

static void aad(uint16_t id, uint8_t out[15])
{
    memcpy(out, "pico-hsm/obj", 12);
    out[12] = (uint8_t)(id >> 8);
    out[13] = (uint8_t)id;
    out[14] = VERSION;
}

int hsm_secret_seal(const hsm_session *s, uint16_t id, const uint8_t *pt, size_t len,
                    uint8_t *out, size_t cap, size_t *out_len)
{
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    if (cap < HSM_SEALED_OVERHEAD || len > cap - HSM_SEALED_OVERHEAD) {
        return HSM_ERR_NO_SPACE;
    }
    uint8_t a[15];
    aad(id, a);
    out[0] = VERSION;
    int rc = hsm_rng_bytes(out + 1, NONCE);
    if (rc != HSM_OK) {
        return rc;
    }
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, s->objkey, 256) != 0 ||
        mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, out + 1, NONCE, a, sizeof(a), pt,
                                  out + 1 + NONCE, TAG, out + 1 + NONCE + len) != 0) {
        rc = HSM_ERR_EXEC;
    }
    mbedtls_gcm_free(&gcm);
    *out_len = rc == HSM_OK ? len + HSM_SEALED_OVERHEAD : 0;
    return rc;
}

int hsm_secret_expose(const hsm_session *s, uint16_t id, const uint8_t *in, size_t len,
                      uint8_t *pt, size_t cap, size_t *pt_len)
{
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    if (len < HSM_SEALED_OVERHEAD || in[0] != VERSION) {
        return HSM_ERR_EXEC;
    }
    size_t n = len - HSM_SEALED_OVERHEAD;
    if (n > cap) {
        return HSM_ERR_NO_SPACE;
    }
    uint8_t a[15];
    aad(id, a);
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = HSM_OK;
    if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, s->objkey, 256) != 0 ||
        mbedtls_gcm_auth_decrypt(&gcm, n, in + 1, NONCE, a, sizeof(a), in + 1 + NONCE + n, TAG,
                                 in + 1 + NONCE, pt) != 0) {
        rc = HSM_ERR_EXEC; /* mbedTLS wipes pt when the tag does not match */
    }
    mbedtls_gcm_free(&gcm);
    *pt_len = rc == HSM_OK ? n : 0;
    return rc;
}
