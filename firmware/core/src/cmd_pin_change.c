/*
 * cmd_pin_change.c — CHANGE REFERENCE DATA (24), spec 2.7.
 *
 * 81: data = old PIN | new PIN, split at the stored PIN length; new length 6..16 (6700
 *     otherwise). Also the way out of transport-PIN mode.
 * 88: data = old SO-PIN (8) | new SO-PIN (8).
 * The old value goes through hsm_pin_check() (counter persisted first); on success the same
 * MKEK is wrapped under the new value and the reference stays verified.
 */
#include "cmd.h"
#include "device.h"
#include "hsm/err.h"
#include "mbedtls/platform_util.h"
#include "pin.h"

int hsm_cmd_change_reference_data(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    const uint8_t role = a->p2;
    hsm_device d;
    int rc = hsm_pin_command_setup(a->p1, role, &d);
    if (rc != HSM_OK) {
        return rc;
    }
    size_t old_len = role == HSM_PIN_ROLE_USER ? d.user_len : HSM_SO_PIN_LEN;
    if (a->nc <= old_len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    size_t new_len = a->nc - old_len;
    if (role == HSM_PIN_ROLE_USER ? (new_len < HSM_PIN_MIN || new_len > HSM_PIN_MAX)
                                  : new_len != HSM_SO_PIN_LEN) {
        return HSM_ERR_WRONG_LENGTH;
    }
    hsm_session_drop(c->s, role);
    uint8_t mkek[HSM_MKEK_SIZE];
    rc = hsm_pin_check(&d, role, a->data, old_len, mkek, &c->tries);
    if (rc != HSM_OK) {
        goto out;
    }
    if (role == HSM_PIN_ROLE_USER) {
        rc = hsm_pin_wrap(&d, role, a->data + old_len, new_len, mkek, d.user_wrap);
        d.user_len = (uint8_t)new_len;
        d.flags &= (uint8_t)~HSM_DEV_TRANSPORT_PIN;
    } else {
        rc = hsm_pin_wrap(&d, role, a->data + old_len, new_len, mkek, d.so_wrap);
    }
    if (rc == HSM_OK) {
        rc = hsm_device_save(&d, false);
    }
    if (rc == HSM_OK) {
        rc = hsm_session_grant(c->s, role, mkek);
    }
out:
    mbedtls_platform_zeroize(mkek, sizeof(mkek));
    return rc;
}
