/*
 * cmd_reset_retry.c — RESET RETRY COUNTER (2C), spec 2.8. P2 must be 81 (the user PIN).
 *
 *   P1 00  SO-PIN (8) | new user PIN   verify SO-PIN, set the PIN, counter to maximum
 *   P1 01  SO-PIN (8)                  verify SO-PIN, counter to maximum
 *   P1 02  new user PIN                SO-PIN verified earlier in this session
 *   P1 03  (none)                      SO-PIN verified earlier in this session
 * Needs option bit 0001 (6986 otherwise). The MKEK for a new PIN comes from the SO-PIN's
 * wrap, which is how the SO-PIN recovers a blocked or forgotten user PIN without any key
 * being lost. The user PIN is not verified by this command.
 */
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "hsm/err.h"
#include "mbedtls/platform_util.h"
#include "pin.h"

#define OPT_RRC 0x0001u

int hsm_cmd_reset_retry_counter(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 != HSM_PIN_ROLE_USER) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (a->p1 > 0x03) {
        return HSM_ERR_P1P2;
    }
    hsm_device d;
    int rc = hsm_device_load(&d);
    if (rc != HSM_OK) {
        return rc;
    }
    if (!(d.options & OPT_RRC)) {
        return HSM_ERR_NOT_ALLOWED;
    }
    const bool so_in_data = a->p1 <= 0x01;
    const bool new_pin = a->p1 == 0x00 || a->p1 == 0x02;
    const size_t so_len = so_in_data ? HSM_SO_PIN_LEN : 0;
    if (a->nc < so_len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    const size_t pin_len = a->nc - so_len;
    if (new_pin ? (pin_len < HSM_PIN_MIN || pin_len > HSM_PIN_MAX) : pin_len != 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    uint8_t mkek[HSM_MKEK_SIZE];
    if (so_in_data) {
        rc = hsm_pin_check(&d, HSM_PIN_ROLE_SO, a->data, so_len, mkek, &c->tries);
        if (rc != HSM_OK) {
            goto out;
        }
    } else if (!c->s->so_verified || !c->s->keys_open) {
        return HSM_ERR_CONDITIONS;
    } else {
        memcpy(mkek, c->s->mkek, sizeof(mkek));
    }
    if (new_pin) {
        rc = hsm_pin_wrap(&d, HSM_PIN_ROLE_USER, a->data + so_len, pin_len, mkek, d.user_wrap);
        if (rc != HSM_OK) {
            goto out;
        }
        d.user_len = (uint8_t)pin_len;
        d.flags &= (uint8_t)~HSM_DEV_TRANSPORT_PIN;
        /* a KEK of the old user PIN must not re-wrap anything any more (lock.h) */
        mbedtls_platform_zeroize(c->s->kek_user, sizeof(c->s->kek_user));
        c->s->kek_user_set = false;
    }
    d.user_left = d.user_max;
    rc = hsm_device_save(&d, false);
out:
    mbedtls_platform_zeroize(mkek, sizeof(mkek));
    return rc;
}
