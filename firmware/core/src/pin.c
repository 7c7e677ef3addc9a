/*
 * pin.c — see pin.h for the derivations and the retry discipline.
 */
#include "pin.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/rng.h"
#include "mbedtls/gcm.h"
#include "mbedtls/pkcs5.h"
#include "mbedtls/platform_util.h"

#define NONCE_LEN 12u
#define TAG_LEN 16u

static int derive_kek(const hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                      uint8_t kek[32])
{
    uint8_t salt[12 + 1 + 8 + 32];
    memcpy(salt, "pico-hsm/pin", 12);
    salt[12] = role;
    hsm_port_unique_id(salt + 13);
    memcpy(salt + 21, d->salt, 32);
    int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pin, pin_len, salt, sizeof(salt),
                                           d->kdf_iterations, 32, kek);
    return rc == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static void wrap_aad(uint8_t role, uint8_t aad[13 + 1 + 8])
{
    memcpy(aad, "pico-hsm/mkek", 13);
    aad[13] = role;
    hsm_port_unique_id(aad + 14);
}

/* Keys gcm with the KEK of pin for role and fills the wrap's AAD. */
static int gcm_for_pin(const hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                       mbedtls_gcm_context *gcm, uint8_t aad[22], uint8_t *kek_out)
{
    uint8_t kek[32];
    int rc = derive_kek(d, role, pin, pin_len, kek);
    if (rc == HSM_OK && mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, kek, 256) != 0) {
        rc = HSM_ERR_EXEC;
    }
    if (rc == HSM_OK && kek_out != NULL) {
        memcpy(kek_out, kek, sizeof(kek));
    }
    mbedtls_platform_zeroize(kek, sizeof(kek));
    wrap_aad(role, aad);
    return rc;
}

int hsm_pin_command_setup(uint8_t p1, uint8_t p2, hsm_device *d)
{
    if (p1 != 0x00) {
        return HSM_ERR_WRONG_P1P2;
    }
    if (p2 != HSM_PIN_ROLE_USER && p2 != HSM_PIN_ROLE_SO) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    return hsm_device_load(d);
}

static int wrap_with(mbedtls_gcm_context *gcm, int rc, const uint8_t aad[22],
                     const uint8_t mkek[HSM_MKEK_SIZE], uint8_t out[HSM_WRAP_SIZE]);

int hsm_pin_wrap(const hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                 const uint8_t mkek[HSM_MKEK_SIZE], uint8_t out[HSM_WRAP_SIZE])
{
    uint8_t aad[22];
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = gcm_for_pin(d, role, pin, pin_len, &gcm, aad, NULL);
    return wrap_with(&gcm, rc, aad, mkek, out);
}

int hsm_pin_wrap_kek(uint8_t role, const uint8_t kek[32], const uint8_t mkek[HSM_MKEK_SIZE],
                     uint8_t out[HSM_WRAP_SIZE])
{
    uint8_t aad[22];
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, kek, 256) == 0 ? HSM_OK : HSM_ERR_EXEC;
    wrap_aad(role, aad);
    return wrap_with(&gcm, rc, aad, mkek, out);
}

/* Encrypts mkek with the keyed gcm into out (nonce | ciphertext | tag) and frees gcm. */
static int wrap_with(mbedtls_gcm_context *gcm, int rc, const uint8_t aad[22],
                     const uint8_t mkek[HSM_MKEK_SIZE], uint8_t out[HSM_WRAP_SIZE])
{
    if (rc == HSM_OK) {
        rc = hsm_rng_bytes(out, NONCE_LEN);
    }
    if (rc == HSM_OK &&
        mbedtls_gcm_crypt_and_tag(gcm, MBEDTLS_GCM_ENCRYPT, HSM_MKEK_SIZE, out, NONCE_LEN, aad,
                                  22, mkek, out + NONCE_LEN, TAG_LEN,
                                  out + NONCE_LEN + HSM_MKEK_SIZE) != 0) {
        rc = HSM_ERR_EXEC;
    }
    mbedtls_gcm_free(gcm);
    return rc;
}

/* HSM_OK when the wrap authenticates under pin, HSM_ERR_VERIFY_FAILED when it does not. */
static int unwrap(const hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                  uint8_t mkek[HSM_MKEK_SIZE], uint8_t *kek)
{
    const uint8_t *w = role == HSM_PIN_ROLE_SO ? d->so_wrap : d->user_wrap;
    uint8_t aad[22];
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = gcm_for_pin(d, role, pin, pin_len, &gcm, aad, kek);
    if (rc != HSM_OK) {
        goto out;
    }
    int r = mbedtls_gcm_auth_decrypt(&gcm, HSM_MKEK_SIZE, w, NONCE_LEN, aad, sizeof(aad),
                                     w + NONCE_LEN + HSM_MKEK_SIZE, TAG_LEN, w + NONCE_LEN, mkek);
    if (r == MBEDTLS_ERR_GCM_AUTH_FAILED) {
        rc = HSM_ERR_VERIFY_FAILED;
    } else if (r != 0) {
        rc = HSM_ERR_EXEC;
    }
out:
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(mkek, HSM_MKEK_SIZE);
        if (kek != NULL) {
            mbedtls_platform_zeroize(kek, 32);
        }
    }
    mbedtls_gcm_free(&gcm);
    return rc;
}

int hsm_pin_check(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                  uint8_t mkek[HSM_MKEK_SIZE], unsigned *tries_left)
{
    return hsm_pin_check_kek(d, role, pin, pin_len, mkek, NULL, tries_left);
}

int hsm_pin_check_kek(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                      uint8_t mkek[HSM_MKEK_SIZE], uint8_t *kek, unsigned *tries_left)
{
    uint8_t *left = role == HSM_PIN_ROLE_SO ? &d->so_left : &d->user_left;
    const uint8_t max = role == HSM_PIN_ROLE_SO ? HSM_SO_PIN_TRIES : d->user_max;

    *tries_left = *left;
    if (*left == 0) {
        return HSM_ERR_BLOCKED;
    }
    /* 1. Persist the decremented counter before anything is compared. */
    (*left)--;
    int rc = hsm_device_save(d, false);
    if (rc != HSM_OK) {
        return rc;
    }
    /* 2. Compare. */
    rc = unwrap(d, role, pin, pin_len, mkek, kek);
    if (rc == HSM_ERR_VERIFY_FAILED) {
        *tries_left = *left;
        return *left == 0 ? HSM_ERR_BLOCKED : HSM_ERR_VERIFY_FAILED;
    }
    if (rc != HSM_OK) {
        return rc;
    }
    /* 3. Right PIN: the counter goes back to its maximum. */
    *left = max;
    *tries_left = max;
    rc = hsm_device_save(d, false);
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(mkek, HSM_MKEK_SIZE);
        if (kek != NULL) {
            mbedtls_platform_zeroize(kek, 32);
        }
    }
    return rc;
}
