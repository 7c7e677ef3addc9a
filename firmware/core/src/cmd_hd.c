/*
 * cmd_hd.c — HD keys (INS 4A) and the HD signature (SIGN 68 with P2 A0), pico-hsm-extensions.md
 * sections 2.1-2.6. The derivation itself is hd.c's; this file parses the APDU, checks who may
 * ask, and keeps the selected node in the session.
 *
 *   80 4A 01|02|03 <id> [seed]   master of type P1 in slot id (< 10): user authenticated (6982),
 *                                PIN session to seal it (6400); seed absent = 64 random bytes
 *   80 4A 0A 00 <path>           derive and return the 78/77-byte description
 *   80 4A 10 00 <path>           derive and keep the node for the next HD SIGN
 *   other P1, or P2 != 00 for 0A/10                                  -> 6A86 (spec 9 #15)
 *   path errors (missing master, wrong TLV, undecryptable, depth)    -> 6400 (spec 2.3)
 */
#include <string.h>

#include "cmd.h"
#include "hd.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/tlv.h"
#include "keys.h"
#include "mbedtls/platform_util.h"

static void forget_node(hsm_session *s)
{
    mbedtls_platform_zeroize(s->hd_node, sizeof(s->hd_node));
    s->hd_type = 0;
}

static int create_master(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint8_t seed[HSM_HD_SEED_MAX];
    const uint8_t *sp = a->data;
    size_t sl = a->nc;
    hsm_hd_node n;
    if (a->p2 >= HSM_HD_MASTERS) {
        return HSM_ERR_P1P2;
    }
    if (!c->s->user_verified && !c->s->so_verified) {
        return HSM_ERR_SECURITY;
    }
    int rc = HSM_OK;
    if (sl == 0) {
        rc = hsm_rng_bytes(seed, sizeof(seed));
        sp = seed, sl = sizeof(seed);
    }
    if (rc == HSM_OK) rc = hsm_hd_master(a->p1, sp, sl, &n);
    if (rc == HSM_OK) rc = hsm_hd_save_master(c->s, a->p2, &n);
    hsm_hd_node_wipe(&n);
    mbedtls_platform_zeroize(seed, sizeof(seed));
    return rc;
}

/* Derives the node named by the APDU's path into n (and its description into xpub). */
static int derive(hsm_cmd *c, hsm_hd_node *n, uint8_t *xpub, size_t *xpub_len)
{
    const hsm_apdu *a = c->apdu;
    hsm_tlv_reader r;
    hsm_tlv first;
    if (a->p2 != 0x00) {
        return HSM_ERR_P1P2;
    }
    if (a->nc == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    hsm_tlv_reader_init(&r, a->data, a->nc);
    if (hsm_tlv_next(&r, &first) != 1 || first.tag != 0x02 || first.len != 1) {
        return HSM_ERR_EXEC;
    }
    int rc = hsm_hd_load_master(c->s, first.value[0], n);
    if (rc == HSM_OK) {
        rc = hsm_hd_derive(n, r.p, (size_t)(r.end - r.p), xpub, xpub_len);
    }
    return rc;
}

int hsm_cmd_hd(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    hsm_hd_node n;
    uint8_t xpub[HSM_HD_XPUB_SIZE];
    size_t xl = 0;
    int rc;
    memset(&n, 0, sizeof(n));
    switch (a->p1) {
    case HSM_HD_SECP256K1:
    case HSM_HD_P256:
    case HSM_HD_SYMMETRIC:
        return create_master(c);
    case 0x0A:
        rc = derive(c, &n, xpub, &xl);
        if (rc == HSM_OK) rc = hsm_cmd_out(c, xpub, xl);
        break;
    case 0x10:
        rc = derive(c, &n, NULL, NULL);
        if (rc == HSM_OK) {
            forget_node(c->s);
            c->s->hd_type = n.type;
            memcpy(c->s->hd_node, n.a, 32);
            memcpy(c->s->hd_node + 32, n.b, 32);
        }
        break;
    default:
        return HSM_ERR_P1P2;
    }
    hsm_hd_node_wipe(&n);
    return rc;
}

/* SIGN 68 P1 A0 (spec 2.6): the slot named by P1 must pass its usual policy first (P1 00, the
 * device key, has none here); its counter is spent only after the signature succeeded. */
int hsm_cmd_hd_sign(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    hsm_hd_node n;
    size_t len = 0;
    int rc = HSM_OK;
    if (a->p1 != HSM_DEVICE_KEY_ID) {
        rc = hsm_key_slot_policy(c->s, a->p1, HSM_HD_ALG_SIGN, false);
        if (rc != HSM_OK) {
            return rc; /* rejected before the HD step: the node stays */
        }
    }
    rc = hsm_hd_take_node(c->s, &n); /* consumed by this use, success or failure */
    if (rc != HSM_OK) {
        return rc;
    }
    rc = hsm_hd_sign(&n, a->data, a->nc, c->out, c->out_cap, &len);
    hsm_hd_node_wipe(&n);
    if (rc == HSM_OK && a->p1 != HSM_DEVICE_KEY_ID) {
        rc = hsm_key_slot_policy(c->s, a->p1, HSM_HD_ALG_SIGN, true);
    }
    c->out_len = rc == HSM_OK ? len : 0;
    return rc;
}
