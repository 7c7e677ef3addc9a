/*
 * cmd_sign.c — SIGN (68, spec 2.12) and DECIPHER (62, spec 2.13): P1 = key number, P2 = the
 * algorithm byte. Everything about the key — type, allowed algorithms, usage counter, the
 * operation itself — is the key store's (keys.c); this handler only moves bytes.
 */
#include "cmd.h"
#include "hsm/err.h"
#include "hd.h"
#include "keys.h"
#include "xkek.h"

int hsm_cmd_sign(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 == HSM_HD_ALG_SIGN) {
        return hsm_cmd_hd_sign(c); /* signature with the selected HD node (ext. spec 2.6) */
    }
    size_t n = 0;
    int rc = hsm_key_sign(c->s, a->p1, a->p2, a->data, a->nc, c->out, c->out_cap, &n);
    c->out_len = rc == HSM_OK ? n : 0;
    return rc;
}

int hsm_cmd_decipher(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 == HSM_XKEK_ALG) {
        return hsm_cmd_xkek_derive(c); /* XKEK derivation (ext. spec 4.3 step 4) */
    }
    size_t n = 0;
    int rc = hsm_key_decipher(c->s, a->p1, a->p2, a->data, a->nc, c->out, c->out_cap, &n);
    c->out_len = rc == HSM_OK ? n : 0;
    return rc;
}
