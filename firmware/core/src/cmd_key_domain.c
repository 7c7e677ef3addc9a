/*
 * cmd_key_domain.c — IMPORT DKEK SHARE / MANAGE KEY DOMAIN (52): core spec 2.10 and
 * extensions spec 4.2. P2 = key domain (>= 16 -> 6B00).
 *
 *   P1 00  no data: status; 32 bytes: import one share (no PIN needed; other lengths 6700)
 *   P1 01  1 byte n: create domain P2 expecting n shares       (user PIN)
 *   P1 02  GSK certificate request || 54 signature: join an XKEK group (xkek.h)  (user PIN)
 *   P1 03  delete domain P2 (6A89 while a key belongs to it), its DKEK and UID  (user PIN)
 *          success is answered 6A88, as Pico HSM does (pypicohsm expects that code)
 *   P1 04  clear the DKEK of domain P2 (an XKEK domain keeps its UID)  (user PIN)
 * Every success other than 03 answers (when Le is present) the 10-byte status: total, missing, KCV (zeros until the
 * DKEK is complete), followed by the domain's UID when it is an XKEK domain. The mutating forms answer 6982 without a verified user PIN (Pico: 6985;
 * 6982 makes pypicohsm verify and retry, which is what the caller wants).
 */
#include "cmd.h"
#include "dkek.h"
#include "hsm/err.h"
#include "pka.h"
#include "xkek.h"

int hsm_cmd_key_domain(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    const uint8_t p1 = a->p1, domain = a->p2;
    uint8_t st[HSM_DKEK_STATUS_SIZE + HSM_XKEK_UID_MAX];
    size_t st_len = 0;
    int rc;
    if (p1 > 0x04) {
        return HSM_ERR_P1P2;
    }
    if (p1 != 0x00 && (!c->s->user_verified || !hsm_pka_satisfied(c->s))) {
        return HSM_ERR_SECURITY;
    }
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_WRONG_P1P2;
    }
    switch (p1) {
    case 0x00:
        if (a->nc != 0 && a->nc != HSM_DKEK_SIZE) {
            return HSM_ERR_WRONG_LENGTH;
        }
        rc = a->nc == 0 ? HSM_OK : hsm_dkek_import_share(c->s, domain, a->data);
        break;
    case 0x01:
        if (a->nc != 1) {
            return HSM_ERR_WRONG_LENGTH;
        }
        /* An XKEK domain already exists, although its table byte says FF. */
        rc = hsm_xkek_uid(domain, NULL, NULL) ? HSM_ERR_P1P2
                                              : hsm_dkek_create_domain(domain, a->data[0]);
        break;
    case 0x02:
        rc = hsm_xkek_create(c->s, domain, a->data, a->nc);
        break;
    case 0x03:
        rc = hsm_xkek_delete_domain(c->s, domain);
        return rc == HSM_OK ? HSM_ERR_REF_NOT_FOUND : rc;
    default:
        rc = hsm_xkek_clear(c->s, domain);
        break;
    }
    if (rc == HSM_OK) {
        rc = hsm_xkek_status(c->s, domain, st, sizeof(st), &st_len);
    }
    /* Without Le (case 1/3) the change is done and nothing is answered, rather than a 6700
     * that would hide a change already made. */
    if (rc == HSM_OK && a->ne > 0) {
        rc = hsm_cmd_out(c, st, st_len);
    }
    return rc;
}
