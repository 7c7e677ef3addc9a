/*
 * cmd_extras.c — EXTRAS (80 64), ext. spec 3.1: only the secure lock (P1 3A, 3.8 and lock.h)
 * is implemented; every other sub-command (dynamic options, date/time, PHY, OTP, reboot,
 * memory) answers 6A86, which is what firmware 6.6 answers for OTP and must stay so.
 *
 * 3A sub-commands, P2: 01 key agreement (65-byte host point; no data or a bad point 6700),
 * 02 enable, 03 unlock, 04 disable (48-byte envelope: no agreement 6986, other length or an
 * envelope that does not authenticate 6700; enable/disable without both PINs verified 6982,
 * a secret that is not the lock's 6982); any other P2 9000 without effect. The sub-commands
 * need no PIN of their own: what they change needs the PINs (lock.h).
 */
#include <string.h>

#include "cmd.h"
#include "hsm/err.h"
#include "lock.h"
#include "mbedtls/platform_util.h"

static int secure_lock(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 == 0x01) {
        uint8_t pub[HSM_LOCK_POINT_SIZE];
        int rc = hsm_lock_agree(a->data, a->nc, pub);
        return rc == HSM_OK ? hsm_cmd_out(c, pub, sizeof(pub)) : rc;
    }
    if (a->p2 < 0x02 || a->p2 > 0x04) {
        return HSM_OK;
    }
    uint8_t secret[HSM_LOCK_SECRET_SIZE];
    int rc = hsm_lock_open_envelope(a->data, a->nc, secret);
    if (rc == HSM_OK) {
        rc = a->p2 == 0x02   ? hsm_lock_enable(c->s, secret)
             : a->p2 == 0x03 ? hsm_lock_unlock(c->s, secret)
                             : hsm_lock_disable(c->s, secret);
    }
    mbedtls_platform_zeroize(secret, sizeof(secret));
    return rc;
}

int hsm_cmd_extras(hsm_cmd *c)
{
    switch (c->apdu->p1) {
    case 0x3A:
        return secure_lock(c);
    default:
        return HSM_ERR_P1P2;
    }
}
