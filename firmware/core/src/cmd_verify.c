/*
 * cmd_verify.c — VERIFY (20), spec 2.6 and 3.8.
 *
 * P2 81 user PIN (6..16 bytes), 88 SO-PIN (8 bytes); every other reference (the biometric
 * probes 85/86 among them) answers 6A88 so that OpenSC never assumes a PIN pad. Without data
 * it is a status query that never touches a counter: 9000 verified, 63Cx tries left, 6983
 * blocked, 6984 transport PIN still to be changed, 6A88 not initialised. With data, the
 * reference's verified state is dropped first, then hsm_pin_check() decides (the decremented
 * counter is persisted before the compare). A PIN of impossible length is refused (6A80)
 * without costing a try.
 */
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "hsm/err.h"
#include "mbedtls/platform_util.h"
#include "pin.h"

static int status(hsm_cmd *c, const hsm_device *d, uint8_t role)
{
    bool user = role == HSM_PIN_ROLE_USER;
    if (user && (d->flags & HSM_DEV_TRANSPORT_PIN)) {
        return HSM_ERR_REF_UNUSABLE;
    }
    if (user ? c->s->user_verified : c->s->so_verified) {
        return HSM_OK;
    }
    unsigned left = user ? d->user_left : d->so_left;
    if (left == 0) {
        return HSM_ERR_BLOCKED;
    }
    c->tries = left;
    return HSM_ERR_VERIFY_FAILED;
}

int hsm_cmd_verify(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    const uint8_t role = a->p2;
    hsm_device d;
    int rc = hsm_pin_command_setup(a->p1, role, &d);
    if (rc != HSM_OK) {
        return rc;
    }
    if (a->nc == 0) {
        return status(c, &d, role);
    }
    if (role == HSM_PIN_ROLE_USER ? (a->nc < HSM_PIN_MIN || a->nc > HSM_PIN_MAX)
                                  : a->nc != HSM_SO_PIN_LEN) {
        return HSM_ERR_DATA;
    }
    if (role == HSM_PIN_ROLE_USER && (d.flags & HSM_DEV_TRANSPORT_PIN)) {
        return HSM_ERR_REF_UNUSABLE;
    }
    hsm_session_drop(c->s, role);
    uint8_t mkek[HSM_MKEK_SIZE], kek[32];
    rc = hsm_pin_check_kek(&d, role, a->data, a->nc, mkek, kek, &c->tries);
    if (rc == HSM_OK) {
        rc = hsm_session_grant(c->s, role, mkek);
    }
    if (rc == HSM_OK) {
        /* kept for the secure lock's re-wrap (lock.h); wiped with the role or the session */
        memcpy(role == HSM_PIN_ROLE_SO ? c->s->kek_so : c->s->kek_user, kek, sizeof(kek));
        *(role == HSM_PIN_ROLE_SO ? &c->s->kek_so_set : &c->s->kek_user_set) = true;
    }
    mbedtls_platform_zeroize(mkek, sizeof(mkek));
    mbedtls_platform_zeroize(kek, sizeof(kek));
    return rc;
}
