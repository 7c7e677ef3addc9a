/*
 * pin.c — see pin.h for the derivations, the OTP binding and the retry discipline.
 */
#include "pin.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/otp.h"
#include "hsm/rng.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "mbedtls/pkcs5.h"
#include "mbedtls/platform_util.h"

#define NONCE_LEN 12u
#define TAG_LEN 16u

static uint8_t otp_flag(uint8_t role)
{
    return role == HSM_PIN_ROLE_SO ? HSM_DEV_SO_OTP : HSM_DEV_USER_OTP;
}

/* The PBKDF2 output of pin for role: the KEK of a wrap that is not bound to the OTP root. */
static int derive_pre(const hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                      uint8_t pre[32])
{
    uint8_t salt[12 + 1 + 8 + 32];
    memcpy(salt, "pico-hsm/pin", 12);
    salt[12] = role;
    hsm_port_unique_id(salt + 13);
    memcpy(salt + 21, d->salt, 32);
    int rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pin, pin_len, salt, sizeof(salt),
                                           d->kdf_iterations, 32, pre);
    return rc == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* The KEK of a wrap bound to the OTP root. */
static int derive_bound(const uint8_t root[HSM_OTP_ROOT_SIZE], uint8_t role, const uint8_t pre[32],
                        uint8_t kek[32])
{
    uint8_t info[16 + 1];
    memcpy(info, "pico-hsm/pin/otp", 16);
    info[16] = role;
    int rc = mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), root, HSM_OTP_ROOT_SIZE,
                          pre, 32, info, sizeof(info), kek, 32);
    return rc == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static void wrap_aad(uint8_t role, uint8_t aad[13 + 1 + 8])
{
    memcpy(aad, "pico-hsm/mkek", 13);
    aad[13] = role;
    hsm_port_unique_id(aad + 14);
}

/* Wraps mkek under kek for role into out (fresh nonce). */
static int seal(const uint8_t kek[32], uint8_t role, const uint8_t mkek[HSM_MKEK_SIZE],
                uint8_t out[HSM_WRAP_SIZE])
{
    uint8_t aad[22];
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    wrap_aad(role, aad);
    int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, kek, 256) == 0 ? HSM_OK : HSM_ERR_EXEC;
    if (rc == HSM_OK) {
        rc = hsm_rng_bytes(out, NONCE_LEN);
    }
    if (rc == HSM_OK &&
        mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, HSM_MKEK_SIZE, out, NONCE_LEN, aad,
                                  sizeof(aad), mkek, out + NONCE_LEN, TAG_LEN,
                                  out + NONCE_LEN + HSM_MKEK_SIZE) != 0) {
        rc = HSM_ERR_EXEC;
    }
    mbedtls_gcm_free(&gcm);
    return rc;
}

/* HSM_OK when wrap w authenticates under kek, HSM_ERR_VERIFY_FAILED when it does not (GCM's
 * tag compare is constant-time); mkek is zeroed on any failure. */
static int unseal(const uint8_t kek[32], uint8_t role, const uint8_t w[HSM_WRAP_SIZE],
                  uint8_t mkek[HSM_MKEK_SIZE])
{
    uint8_t aad[22];
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    wrap_aad(role, aad);
    int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, kek, 256) == 0 ? HSM_OK : HSM_ERR_EXEC;
    if (rc == HSM_OK) {
        int r = mbedtls_gcm_auth_decrypt(&gcm, HSM_MKEK_SIZE, w, NONCE_LEN, aad, sizeof(aad),
                                         w + NONCE_LEN + HSM_MKEK_SIZE, TAG_LEN, w + NONCE_LEN, mkek);
        rc = r == 0 ? HSM_OK : r == MBEDTLS_ERR_GCM_AUTH_FAILED ? HSM_ERR_VERIFY_FAILED : HSM_ERR_EXEC;
    }
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(mkek, HSM_MKEK_SIZE);
    }
    mbedtls_gcm_free(&gcm);
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

int hsm_pin_wrap(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                 const uint8_t mkek[HSM_MKEK_SIZE], uint8_t out[HSM_WRAP_SIZE])
{
    uint8_t pre[32], kek[32], root[HSM_OTP_ROOT_SIZE];
    const bool bound = hsm_port_otp_root(root) == HSM_OK;
    int rc = derive_pre(d, role, pin, pin_len, pre);
    if (rc == HSM_OK && bound) {
        rc = derive_bound(root, role, pre, kek);
    } else if (rc == HSM_OK) {
        memcpy(kek, pre, sizeof(kek));
    }
    if (rc == HSM_OK) {
        rc = seal(kek, role, mkek, out);
    }
    if (rc == HSM_OK) {
        d->flags = bound ? (uint8_t)(d->flags | otp_flag(role))
                         : (uint8_t)(d->flags & ~otp_flag(role));
    }
    mbedtls_platform_zeroize(pre, sizeof(pre));
    mbedtls_platform_zeroize(kek, sizeof(kek));
    mbedtls_platform_zeroize(root, sizeof(root));
    return rc;
}

int hsm_pin_wrap_kek(uint8_t role, const uint8_t kek[32], const uint8_t mkek[HSM_MKEK_SIZE],
                     uint8_t out[HSM_WRAP_SIZE])
{
    return seal(kek, role, mkek, out);
}

int hsm_pin_check(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                  uint8_t mkek[HSM_MKEK_SIZE], unsigned *tries_left)
{
    return hsm_pin_check_kek(d, role, pin, pin_len, mkek, NULL, tries_left);
}

int hsm_pin_check_kek(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                      uint8_t mkek[HSM_MKEK_SIZE], uint8_t *kek_out, unsigned *tries_left)
{
    uint8_t *left = role == HSM_PIN_ROLE_SO ? &d->so_left : &d->user_left;
    uint8_t *wrap = role == HSM_PIN_ROLE_SO ? d->so_wrap : d->user_wrap;
    const uint8_t max = role == HSM_PIN_ROLE_SO ? HSM_SO_PIN_TRIES : d->user_max;
    const bool bound = (d->flags & otp_flag(role)) != 0;
    uint8_t pre[32], kek[32], root[HSM_OTP_ROOT_SIZE], rebound[HSM_WRAP_SIZE];
    int rc;

    mbedtls_platform_zeroize(mkek, HSM_MKEK_SIZE);
    *tries_left = *left;
    if (*left == 0) {
        return HSM_ERR_BLOCKED;
    }
    /* 0. A wrap bound to the OTP root cannot be opened without it: fail closed, before any
     *    try is spent (nothing is compared). */
    const bool have_root = hsm_port_otp_root(root) == HSM_OK;
    if (bound && !have_root) {
        rc = HSM_ERR_EXEC;
        goto out;
    }
    /* 1. Persist the decremented counter before anything is compared. */
    (*left)--;
    rc = hsm_device_save(d, false);
    if (rc != HSM_OK) {
        goto out;
    }
    /* 2. Compare. */
    rc = derive_pre(d, role, pin, pin_len, pre);
    if (rc == HSM_OK && bound) {
        rc = derive_bound(root, role, pre, kek);
    } else if (rc == HSM_OK) {
        memcpy(kek, pre, sizeof(kek));
    }
    if (rc == HSM_OK) {
        rc = unseal(kek, role, wrap, mkek);
    }
    if (rc == HSM_ERR_VERIFY_FAILED) {
        *tries_left = *left;
        rc = *left == 0 ? HSM_ERR_BLOCKED : HSM_ERR_VERIFY_FAILED;
        goto out;
    }
    if (rc != HSM_OK) {
        goto out;
    }
    /* 3. Right PIN: the counter goes back to its maximum and, when the root exists but this
     *    wrap predates it, the wrap is re-made under the bound KEK — in the same atomic write,
     *    so a power cut leaves either the old wrap (and the decrement) or the new one. A
     *    failure to re-make it keeps the old wrap: the next right PIN tries again. */
    *left = max;
    *tries_left = max;
    if (kek_out != NULL) {
        memcpy(kek_out, kek, sizeof(kek)); /* the KEK of the wrap as it stands */
    }
    if (!bound && have_root && derive_bound(root, role, pre, kek) == HSM_OK &&
        seal(kek, role, mkek, rebound) == HSM_OK) {
        memcpy(wrap, rebound, HSM_WRAP_SIZE);
        d->flags |= otp_flag(role);
        if (kek_out != NULL) {
            memcpy(kek_out, kek, sizeof(kek)); /* ... which is now the bound one */
        }
    }
    rc = hsm_device_save(d, false);
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(mkek, HSM_MKEK_SIZE);
        if (kek_out != NULL) {
            mbedtls_platform_zeroize(kek_out, sizeof(kek));
        }
    }
out:
    mbedtls_platform_zeroize(pre, sizeof(pre));
    mbedtls_platform_zeroize(kek, sizeof(kek));
    mbedtls_platform_zeroize(root, sizeof(root));
    return rc;
}
