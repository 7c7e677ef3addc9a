/*
 * cmd_sm.c — chip authentication and the session PIN (ext. spec 5.7 and 4.6).
 *
 * MSE SET AT (00 22 41 A4, data 80 0A <id-CA-ECDH-AES-CBC-CMAC-128>): the only protocol; any
 * other protocol or a missing 80 is 6A80. GENERAL AUTHENTICATE does not require it first (one
 * protocol exists, so the choice is implied).
 *
 * GENERAL AUTHENTICATE (00 86 00 00, data 7C { 80 41 04 X Y }): checks in this order —
 *   inside a channel 6985; P1P2 other than 0000 6A86 (the reference answers 9000 doing
 *   nothing; a careful card does not acknowledge what it ignored); fewer than 2 bytes 6700;
 *   first byte not 7C 6A80; 7C length not matching the data 6700; no 80 6700; 80 not an
 *   uncompressed 65-byte point, or not on P-256, 6A80; no PIN session 6400 (the device key is
 *   sealed under the MKEK; the reference's tested answer). Success opens a new channel (any old
 *   one is closed) and answers 7C 14 81 08 r 82 08 token.
 *
 * Session PIN: GET SESSION PIN 80 5A 01 81 (P1P2 otherwise 6A86), only inside a channel (outside
 * 6D00, as firmware 6.6 answers it) and only while the user PIN is verified (6982): 8 random
 * bytes, kept in the channel with a copy of the session's MKEK, both wiped when the channel
 * closes (and at a successful INITIALIZE, which changes the MKEK). While it exists, a user
 * VERIFY with data received inside the channel (00 20 00 81)
 * is compared against it in constant time instead of the real PIN: a match restores the user
 * verification and the keys (without touching the PIN retry counter); a mismatch destroys the
 * session PIN and answers 63C0. Outside the channel, or in a later one, the same bytes are just
 * a wrong user PIN. A user verification obtained by the session PIN is dropped when the channel
 * closes.
 */
#include <string.h>

#include "cmd.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/tlv.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/platform_util.h"
#include "pin.h"
#include "sm.h"

int hsm_sm_mse_set_at(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    hsm_tlv oid;
    if (hsm_tlv_find(a->data, a->nc, 0x80, &oid) != 1 ||
        oid.len != sizeof(hsm_sm_oid_ca_ecdh_aes128) ||
        memcmp(oid.value, hsm_sm_oid_ca_ecdh_aes128, oid.len) != 0) {
        return HSM_ERR_DATA;
    }
    return HSM_OK;
}

int hsm_cmd_general_authenticate(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    hsm_tlv outer, pub;
    hsm_tlv_reader r;
    if (c->secure) {
        return HSM_ERR_CONDITIONS;
    }
    if (a->p1 != 0x00 || a->p2 != 0x00) {
        return HSM_ERR_P1P2;
    }
    if (a->nc < 2) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (a->data[0] != 0x7C) {
        return HSM_ERR_DATA;
    }
    hsm_tlv_reader_init(&r, a->data, a->nc);
    if (hsm_tlv_next(&r, &outer) != 1 || r.p != a->data + a->nc) {
        return HSM_ERR_WRONG_LENGTH;
    }
    int found = hsm_tlv_find(outer.value, outer.len, 0x80, &pub);
    if (found != 1) {
        return found == 0 ? HSM_ERR_WRONG_LENGTH : HSM_ERR_DATA;
    }
    if (pub.len != 65 || pub.value[0] != 0x04) {
        return HSM_ERR_DATA;
    }
    if (!c->s->keys_open) {
        return HSM_ERR_EXEC;
    }

    uint8_t z[32], rnd[8], kenc[16], kmac[16], token[8];
    hsm_sm_close(c->sm);
    int rc = hsm_devid_ecdh(c->s, pub.value, pub.len, z);
    if (rc == HSM_OK) {
        rc = hsm_rng_bytes(rnd, sizeof(rnd));
    }
    if (rc == HSM_OK) {
        rc = hsm_sm_kdf(z, sizeof(z), rnd, kenc, kmac);
    }
    if (rc == HSM_OK) {
        rc = hsm_sm_token(kmac, pub.value, token);
    }
    if (rc == HSM_OK) {
        const uint8_t head[] = {0x7C, 0x14, 0x81, 0x08};
        const uint8_t mid[] = {0x82, 0x08};
        if ((rc = hsm_cmd_out(c, head, sizeof(head))) == HSM_OK &&
            (rc = hsm_cmd_out(c, rnd, sizeof(rnd))) == HSM_OK &&
            (rc = hsm_cmd_out(c, mid, sizeof(mid))) == HSM_OK) {
            rc = hsm_cmd_out(c, token, sizeof(token));
        }
    }
    if (rc == HSM_OK) {
        hsm_sm_start(c->sm, kenc, kmac);
    }
    mbedtls_platform_zeroize(z, sizeof(z));
    mbedtls_platform_zeroize(kenc, sizeof(kenc));
    mbedtls_platform_zeroize(kmac, sizeof(kmac));
    return rc;
}

int hsm_cmd_session_pin(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (!c->secure) {
        return HSM_ERR_INS;
    }
    if (a->p1 != 0x01 || a->p2 != HSM_PIN_ROLE_USER) {
        return HSM_ERR_P1P2;
    }
    if (!c->s->user_verified || !c->s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    hsm_sm *sm = c->sm;
    int rc = hsm_rng_bytes(sm->spin, sizeof(sm->spin));
    if (rc == HSM_OK) {
        rc = hsm_cmd_out(c, sm->spin, sizeof(sm->spin));
    }
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(sm->spin, sizeof(sm->spin));
        return rc;
    }
    memcpy(sm->mkek, c->s->mkek, sizeof(sm->mkek));
    sm->spin_set = true;
    return HSM_OK;
}

int hsm_sm_verify_session_pin(hsm_cmd *c, int *rc)
{
    const hsm_apdu *a = c->apdu;
    hsm_sm *sm = c->sm;
    if (!c->secure || !sm->spin_set || a->ins != 0x20 || a->p1 != 0x00 ||
        a->p2 != HSM_PIN_ROLE_USER || a->nc == 0 || !c->s->app_selected) {
        return 0;
    }
    hsm_session_drop(c->s, HSM_PIN_ROLE_USER);
    sm->spin_login = false;
    if (a->nc == sizeof(sm->spin) && mbedtls_ct_memcmp(a->data, sm->spin, sizeof(sm->spin)) == 0) {
        *rc = hsm_session_grant(c->s, HSM_PIN_ROLE_USER, sm->mkek);
        sm->spin_login = *rc == HSM_OK;
        return 1;
    }
    hsm_sm_forget_session_pin(sm);
    c->tries = 0;
    *rc = HSM_ERR_VERIFY_FAILED;
    return 1;
}
