/*
 * session.c — the volatile session's secrets: set from a verified PIN, wiped on every reset.
 */
#include <string.h>

#include "cmd.h"
#include "dkek.h"
#include "hsm/err.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#include "lock.h"
#include "pin.h"

void hsm_session_clear(hsm_session *s)
{
    mbedtls_platform_zeroize(s, sizeof(*s));
}

int hsm_session_open_keys(hsm_session *s, const uint8_t mkek[32])
{
    static const char info[] = "pico-hsm/object-key/v1";
    memcpy(s->mkek, mkek, 32);
    if (mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), NULL, 0, mkek, 32,
                     (const unsigned char *)info, sizeof(info) - 1, s->objkey, 32) != 0) {
        mbedtls_platform_zeroize(s->mkek, 32);
        s->keys_open = false;
        return HSM_ERR_EXEC;
    }
    s->keys_open = true;
    return HSM_OK;
}

void hsm_session_drop(hsm_session *s, uint8_t role)
{
    if (role == HSM_PIN_ROLE_SO) {
        s->so_verified = false;
    } else {
        s->user_verified = false;
    }
    if (!s->user_verified && !s->so_verified) {
        mbedtls_platform_zeroize(s->mkek, sizeof(s->mkek));
        mbedtls_platform_zeroize(s->objkey, sizeof(s->objkey));
        s->keys_open = false;
        s->mkek_held = false;
    }
    uint8_t *kek = role == HSM_PIN_ROLE_SO ? s->kek_so : s->kek_user;
    mbedtls_platform_zeroize(kek, 32);
    if (role == HSM_PIN_ROLE_SO) {
        s->kek_so_set = false;
    } else {
        s->kek_user_set = false;
    }
}

int hsm_session_grant(hsm_session *s, uint8_t role, const uint8_t mkek[32])
{
    /* mkek is W, what the PIN wraps hold; the keys open with W, or W xor the host secret
     * while the secure lock is on (lock.h), or stay closed until 3A 03 brings the secret. */
    int rc = hsm_lock_open_keys(s, mkek);
    if (rc != HSM_OK) {
        return rc;
    }
    if (role == HSM_PIN_ROLE_SO) {
        s->so_verified = true;
    } else {
        s->user_verified = true;
    }
    /* The one place where keys open: a DKEK completed without a PIN is sealed now (dkek.h).
     * A failure leaves it pending; it must not fail the PIN command. */
    (void)hsm_dkek_flush(s);
    return HSM_OK;
}

