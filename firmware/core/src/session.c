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
    }
}

int hsm_session_grant(hsm_session *s, uint8_t role, const uint8_t mkek[32])
{
    int rc = hsm_session_open_keys(s, mkek);
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

