/*
 * pka.c — public key authentication state and challenge-response; see pka.h.
 *
 * Static buffer: `slot_buf` holds one registered request while it is searched or used (one
 * command at a time); it holds public data only.
 */
#include "pka.h"

#include <string.h>

#include "hsm/cvc.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "mbedtls/sha256.h"

/* id-TA-RSA-v1-5-SHA-256 and id-TA-RSA-PSS-SHA-256 (0.4.0.127.0.7.2.2.2.1.2 / .4). */
static const uint8_t oid_rsa_v15[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t oid_rsa_pss[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x04};

static uint8_t slot_buf[HSM_PKA_KEY_MAX];

int hsm_pka_config(uint8_t *n, uint8_t *m)
{
    uint8_t st[2];
    size_t len;
    int rc = hsm_store_read(HSM_ID_PKA_STATE, 0, st, sizeof(st), &len);
    if (rc != HSM_OK) {
        return rc == HSM_ERR_NOT_FOUND ? HSM_ERR_NOT_FOUND : rc;
    }
    if (len != 2 || st[0] == 0 || st[0] > HSM_PKA_MAX || st[1] == 0 || st[1] > st[0]) {
        return HSM_ERR_NOT_FOUND; /* not a configuration this code writes */
    }
    *n = st[0];
    *m = st[1];
    return HSM_OK;
}

int hsm_pka_on_initialize(uint8_t n, uint8_t m)
{
    if (n == 0) {
        return HSM_OK;
    }
    if (n > HSM_PKA_MAX || m == 0 || m > n) {
        return HSM_ERR_DATA;
    }
    const uint8_t st[2] = {n, m};
    return hsm_store_write(HSM_ID_PKA_STATE, st, sizeof(st), 0);
}

bool hsm_pka_satisfied(const hsm_session *s)
{
    uint8_t n, m;
    return s->pka_ok || hsm_pka_config(&n, &m) != HSM_OK;
}

unsigned hsm_pka_registered(uint8_t n)
{
    unsigned k = 0;
    for (uint8_t i = 0; i < n; i++) {
        size_t len;
        if (hsm_store_size((uint16_t)(HSM_ID_PKA_SLOT_FIRST + i), &len) == HSM_OK) {
            k++;
        }
    }
    return k;
}

void hsm_pka_on_challenge(hsm_session *s, const uint8_t *ch, size_t len)
{
    if (len > sizeof(s->challenge)) {
        len = sizeof(s->challenge);
    }
    memcpy(s->challenge, ch, len);
    s->challenge_len = (uint16_t)len;
    s->pka_flags = 0;
}

int hsm_pka_slot_read(uint8_t slot, uint8_t *buf, size_t cap, size_t *len)
{
    int rc = hsm_store_read((uint16_t)(HSM_ID_PKA_SLOT_FIRST + slot), 0, buf, cap, len);
    return rc == HSM_ERR_NOT_FOUND ? HSM_ERR_REF_NOT_FOUND : rc;
}

/* The request's public key (7F49 value) and CHR from a registered 67 content. */
static int request_fields(const uint8_t *buf, size_t len, hsm_tlv *pub, hsm_tlv *chr)
{
    hsm_tlv req, body;
    if (hsm_tlv_find(buf, len, 0x7F21, &req) != 1 ||
        hsm_tlv_find(req.value, req.len, 0x7F4E, &body) != 1 ||
        hsm_tlv_find(body.value, body.len, 0x7F49, pub) != 1 ||
        hsm_tlv_find(body.value, body.len, 0x5F20, chr) != 1 || chr->len == 0 ||
        chr->len > HSM_CVC_NAME_MAX) {
        return HSM_ERR_DATA;
    }
    return HSM_OK;
}

int hsm_pka_slot_chr(uint8_t slot, uint8_t chr[16], size_t *len)
{
    size_t got;
    hsm_tlv pub, name;
    int rc = hsm_pka_slot_read(slot, slot_buf, sizeof(slot_buf), &got);
    if (rc != HSM_OK) {
        return rc;
    }
    if (request_fields(slot_buf, got, &pub, &name) != HSM_OK) {
        return HSM_ERR_INTERNAL; /* only checked requests are stored */
    }
    memcpy(chr, name.value, name.len);
    *len = name.len;
    return HSM_OK;
}

int hsm_pka_select(hsm_session *s, const uint8_t *chr, size_t len)
{
    uint8_t n, m;
    s->pka_selected = 0;
    if (hsm_pka_config(&n, &m) != HSM_OK) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    for (uint8_t i = 0; i < n; i++) {
        size_t got;
        hsm_tlv pub, name;
        if (hsm_pka_slot_read(i, slot_buf, sizeof(slot_buf), &got) != HSM_OK ||
            request_fields(slot_buf, got, &pub, &name) != HSM_OK || name.len != len ||
            memcmp(name.value, chr, len) != 0) {
            continue;
        }
        if (s->pka_flags & (1u << i)) {
            return HSM_ERR_CONDITIONS;
        }
        s->pka_selected = (uint8_t)(i + 1);
        return HSM_OK;
    }
    return HSM_ERR_REF_NOT_FOUND;
}

static int verify_rsa(const hsm_tlv *oid, const uint8_t *pub, size_t pub_len,
                      const uint8_t hash[32], const uint8_t *sig, size_t len)
{
    hsm_tlv n, e;
    bool pss = oid->len == sizeof(oid_rsa_pss) && memcmp(oid->value, oid_rsa_pss, oid->len) == 0;
    if (hsm_tlv_find(pub, pub_len, 0x81, &n) != 1 || hsm_tlv_find(pub, pub_len, 0x82, &e) != 1) {
        return HSM_ERR_DATA;
    }
    mbedtls_rsa_context rsa;
    mbedtls_rsa_init(&rsa);
    int rc = HSM_OK;
    if (mbedtls_rsa_import_raw(&rsa, n.value, n.len, NULL, 0, NULL, 0, NULL, 0, e.value, e.len) != 0 ||
        mbedtls_rsa_complete(&rsa) != 0 || mbedtls_rsa_check_pubkey(&rsa) != 0 ||
        (pss && mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256) != 0)) {
        rc = HSM_ERR_DATA;
    } else if (len != mbedtls_rsa_get_len(&rsa) ||
               mbedtls_rsa_pkcs1_verify(&rsa, MBEDTLS_MD_SHA256, 32, hash, sig) != 0) {
        rc = HSM_ERR_CONDITIONS;
    }
    mbedtls_rsa_free(&rsa);
    return rc;
}

int hsm_pka_authenticate(hsm_session *s, const uint8_t *sig, size_t len)
{
    uint8_t n, m;
    if (hsm_pka_config(&n, &m) != HSM_OK) {
        return HSM_ERR_NOT_FOUND;
    }
    if (s->pka_selected == 0 || s->pka_selected > n) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (len == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (s->challenge_len == 0) {
        return HSM_ERR_CONDITIONS;
    }
    const uint8_t slot = (uint8_t)(s->pka_selected - 1);
    size_t got;
    hsm_tlv pub, name, oid;
    int rc = hsm_pka_slot_read(slot, slot_buf, sizeof(slot_buf), &got);
    if (rc != HSM_OK) {
        return rc;
    }
    if (request_fields(slot_buf, got, &pub, &name) != HSM_OK ||
        hsm_tlv_find(pub.value, pub.len, 0x06, &oid) != 1) {
        return HSM_ERR_CONDITIONS;
    }
    /* The signed message: the device name (CHR of the first 2F02 certificate) | challenge. */
    static uint8_t msg[HSM_DEVID_CHR_LEN + sizeof(s->challenge)];
    const char *dev = hsm_devid_chr();
    if (dev == NULL) {
        return HSM_ERR_INTERNAL;
    }
    memcpy(msg, dev, HSM_DEVID_CHR_LEN);
    memcpy(msg + HSM_DEVID_CHR_LEN, s->challenge, s->challenge_len);
    const size_t msg_len = HSM_DEVID_CHR_LEN + s->challenge_len;

    if (oid.len == sizeof(hsm_cvc_oid_ecdsa_sha256) &&
        memcmp(oid.value, hsm_cvc_oid_ecdsa_sha256, oid.len) == 0) {
        /* hsm_cvc_verify checks SHA-256(body) against r || s: the message is the "body". */
        hsm_cvc_cert c;
        memset(&c, 0, sizeof(c));
        c.body = msg, c.body_len = msg_len;
        c.sig.value = sig, c.sig.len = len;
        rc = hsm_cvc_verify(&c, pub.value, pub.len, pub.value, pub.len);
    } else if ((oid.len == sizeof(oid_rsa_v15) && memcmp(oid.value, oid_rsa_v15, oid.len) == 0) ||
               (oid.len == sizeof(oid_rsa_pss) && memcmp(oid.value, oid_rsa_pss, oid.len) == 0)) {
        uint8_t hash[32];
        rc = mbedtls_sha256(msg, msg_len, hash, 0) == 0
                 ? verify_rsa(&oid, pub.value, pub.len, hash, sig, len)
                 : HSM_ERR_EXEC;
    } else {
        rc = HSM_ERR_CONDITIONS;
    }
    if (rc != HSM_OK) {
        return rc == HSM_ERR_EXEC || rc == HSM_ERR_INTERNAL ? rc : HSM_ERR_CONDITIONS;
    }
    s->pka_flags |= (uint8_t)(1u << slot);
    unsigned k = 0;
    for (uint8_t i = 0; i < n; i++) {
        k += (s->pka_flags >> i) & 1u;
    }
    if (k >= m) {
        s->pka_ok = true;
        mbedtls_platform_zeroize(s->challenge, sizeof(s->challenge));
        s->challenge_len = 0;
    }
    return HSM_OK;
}
