/*
 * cmd_pka.c — MANAGE PKA (80 54) and EXTERNAL AUTHENTICATE (00 82), ext. spec 5.6, core 2.17.
 *
 * MANAGE PKA, checked in this order:
 *   PKA not configured                -> with data 6A82, without 6A86 (pypicohsm is_puk())
 *   P1 00, no data                    -> status: n | unregistered | m | authenticated
 *   P1 00, data (P2 must be 00: 6A86) -> register into the first empty slot; full 6A84;
 *                                        data not a 67 request content 6A80
 *   P1 01, data                       -> replace slot P2 (P2 >= n 6A86; option 0008 else 6985)
 *   P1 02                             -> slot P2 (>= n 6A86): CHR of its request, SW 9000 or
 *                                        9001 when authenticated in this session; empty 6A88
 *   other P1                          -> 6A86
 * The registered request is stored verbatim (its chain was checked by the client through
 * MSE SET DST + PSO, 5.5). Registration needs no PIN: sc-hsm-tool --register-public-key sends
 * none, and a slot once filled can only be replaced with option 0008 — which does need the
 * user PIN session (6982), since it changes who can authorise key use.
 *
 * EXTERNAL AUTHENTICATE: P1 P2 00 00 (6A86), then pka.h (6A82 / 6A88 / 6700 / 6985).
 */
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "pka.h"

#define OPT_PKA_REPLACE 0x0008u

static int status(hsm_cmd *c, uint8_t n, uint8_t m)
{
    unsigned k = 0;
    for (uint8_t i = 0; i < n; i++) {
        k += (c->s->pka_flags >> i) & 1u;
    }
    const uint8_t out[4] = {n, (uint8_t)(n - hsm_pka_registered(n)), m, (uint8_t)k};
    return hsm_cmd_out(c, out, sizeof(out));
}

/* The data must be the content of a 67 request: 7F21 request (with 7F4E, 7F49, 5F20) first. */
static int check_request(const uint8_t *d, size_t len)
{
    hsm_tlv req, body, t;
    if (hsm_tlv_find(d, len, 0x7F21, &req) != 1 || d[0] != 0x7F ||
        hsm_tlv_find(req.value, req.len, 0x7F4E, &body) != 1 ||
        hsm_tlv_find(body.value, body.len, 0x7F49, &t) != 1 ||
        hsm_tlv_find(body.value, body.len, 0x5F20, &t) != 1 || t.len == 0 || t.len > 16) {
        return HSM_ERR_DATA;
    }
    return HSM_OK;
}

int hsm_cmd_manage_pka(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint8_t n, m;
    int rc = hsm_pka_config(&n, &m);
    if (rc != HSM_OK) {
        return rc == HSM_ERR_NOT_FOUND ? (a->nc > 0 ? HSM_ERR_NOT_FOUND : HSM_ERR_P1P2) : rc;
    }
    switch (a->p1) {
    case 0x00:
        if (a->p2 != 0x00) {
            return HSM_ERR_P1P2;
        }
        if (a->nc == 0) {
            return status(c, n, m);
        }
        if ((rc = check_request(a->data, a->nc)) != HSM_OK) {
            return rc;
        }
        for (uint8_t i = 0; i < n; i++) {
            size_t len;
            uint16_t id = (uint16_t)(HSM_ID_PKA_SLOT_FIRST + i);
            if ((rc = hsm_store_size(id, &len)) == HSM_ERR_NOT_FOUND) {
                if ((rc = hsm_store_write(id, a->data, a->nc, 0)) != HSM_OK) {
                    return rc;
                }
                return status(c, n, m);
            }
            if (rc != HSM_OK) {
                return rc;
            }
        }
        return HSM_ERR_NO_SPACE;
    case 0x01: {
        if (a->p2 >= n) {
            return HSM_ERR_P1P2;
        }
        hsm_device d;
        if ((rc = hsm_device_load(&d)) != HSM_OK) {
            return rc;
        }
        if (!(d.options & OPT_PKA_REPLACE)) {
            return HSM_ERR_CONDITIONS;
        }
        if (!c->s->user_verified) {
            return HSM_ERR_SECURITY;
        }
        if (a->nc == 0) {
            return HSM_ERR_WRONG_LENGTH;
        }
        if ((rc = check_request(a->data, a->nc)) != HSM_OK) {
            return rc;
        }
        if ((rc = hsm_store_write((uint16_t)(HSM_ID_PKA_SLOT_FIRST + a->p2), a->data, a->nc, 0)) !=
            HSM_OK) {
            return rc;
        }
        c->s->pka_flags &= (uint8_t)~(1u << a->p2); /* a new holder has not answered yet */
        return status(c, n, m);
    }
    case 0x02: {
        if (a->p2 >= n) {
            return HSM_ERR_P1P2;
        }
        uint8_t chr[16];
        size_t len;
        if ((rc = hsm_pka_slot_chr(a->p2, chr, &len)) != HSM_OK) {
            return rc;
        }
        if ((rc = hsm_cmd_out(c, chr, len)) != HSM_OK) {
            return rc;
        }
        if (c->s->pka_flags & (1u << a->p2)) {
            c->sw_ok = 0x9001;
        }
        return HSM_OK;
    }
    default:
        return HSM_ERR_P1P2;
    }
}

int hsm_cmd_external_authenticate(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p1 != 0x00 || a->p2 != 0x00) {
        return HSM_ERR_P1P2;
    }
    return hsm_pka_authenticate(c->s, a->data, a->nc);
}
