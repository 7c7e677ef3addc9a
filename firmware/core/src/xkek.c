/*
 * xkek.c — XKEK key domains; the formats and what persists are in xkek.h.
 *
 * No static state. The derived DKEK exists only on the stack of derive_store() (and the shared
 * x-coordinate in keys.c) and is wiped there. Every UID handled here is public.
 */
#include "xkek.h"

#include <string.h>

#include "dkek.h"
#include "hsm/cvc.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "keys.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "trust.h"

/* id-KeyDomain-UID, 1.3.6.1.4.1.24991.3.2.2 (CardContact arc). */
static const uint8_t oid_kd_uid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x81,
                                     0xC3, 0x1F, 0x03, 0x02, 0x02};

static uint16_t uid_id(uint8_t domain)
{
    return (uint16_t)(HSM_ID_XKEK_FIRST + domain);
}

bool hsm_xkek_uid(uint8_t domain, uint8_t *uid, size_t *len)
{
    uint8_t tmp[HSM_XKEK_UID_MAX];
    size_t n;
    if (domain >= HSM_DKEK_DOMAINS) {
        return false;
    }
    if (hsm_store_read(uid_id(domain), 0, uid != NULL ? uid : tmp, HSM_XKEK_UID_MAX, &n) !=
            HSM_OK ||
        n == 0) {
        return false;
    }
    if (len != NULL) {
        *len = n;
    }
    return true;
}

/* X of this device's key: the 86 point of the first certificate of 2F02. */
static int own_x(const uint8_t **x, size_t *xlen)
{
    const uint8_t *chain;
    size_t len, used;
    hsm_cvc_cert c;
    hsm_tlv q;
    if (hsm_devid_c_devaut(&chain, &len) != HSM_OK ||
        hsm_cvc_parse(chain, len, &c, &used) != HSM_OK ||
        hsm_tlv_find(c.pubkey.value, c.pubkey.len, 0x86, &q) != 1 || q.len < 3 ||
        q.value[0] != 0x04 || (q.len - 1) % 2 != 0) {
        return HSM_ERR_EXEC;
    }
    *x = q.value + 1;
    *xlen = (q.len - 1) / 2;
    return HSM_OK;
}

int hsm_xkek_create(const hsm_session *s, uint8_t domain, const uint8_t *data, size_t len)
{
    uint8_t total, h[32], old[HSM_XKEK_UID_MAX], kcv[HSM_DKEK_KCV_SIZE];
    size_t used, xlen, oldlen;
    const uint8_t *x;
    hsm_cvc_cert gsk;
    hsm_tlv sig, dom, q, oid;
    mbedtls_sha256_context sha;
    (void)s;

    int rc = hsm_dkek_table_total(domain, &total);
    if (rc != HSM_OK) {
        return rc;
    }
    int f = hsm_tlv_find(data, len, 0x54, &sig);
    if (f < 0) {
        return HSM_ERR_REF_UNUSABLE;
    }
    if (f == 0 || sig.len == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if ((rc = own_x(&x, &xlen)) != HSM_OK) {
        return rc;
    }
    if (hsm_cvc_parse(data, len, &gsk, &used) != HSM_OK ||
        hsm_tlv_find(gsk.pubkey.value, gsk.pubkey.len, 0x06, &oid) != 1) {
        return HSM_ERR_REF_UNUSABLE;
    }
    if (oid.len != sizeof(hsm_cvc_oid_ecdsa_sha256) ||
        memcmp(oid.value, hsm_cvc_oid_ecdsa_sha256, oid.len) != 0) {
        return HSM_ERR_UNSUPPORTED; /* RSA group keys: no point to take a UID from */
    }
    if (hsm_tlv_find(gsk.pubkey.value, gsk.pubkey.len, 0x86, &q) != 1 || q.len < 3 ||
        q.value[0] != 0x04 || q.len - 1 > HSM_XKEK_UID_MAX) {
        return HSM_ERR_REF_UNUSABLE;
    }
    if (hsm_trust_domain_params(&gsk, &dom) != HSM_OK) {
        return HSM_ERR_CONDITIONS; /* no curve for the group key */
    }
    static const uint8_t tag54 = 0x54;
    mbedtls_sha256_init(&sha);
    rc = mbedtls_sha256_starts(&sha, 0) || mbedtls_sha256_update(&sha, &tag54, 1) ||
                 mbedtls_sha256_update(&sha, x, xlen) || mbedtls_sha256_finish(&sha, h)
             ? HSM_ERR_EXEC
             : HSM_OK;
    mbedtls_sha256_free(&sha);
    if (rc != HSM_OK) {
        return rc;
    }
    rc = hsm_cvc_verify_digest(h, sig.value, sig.len, gsk.pubkey.value, gsk.pubkey.len, dom.value,
                               dom.len);
    if (rc != HSM_OK) {
        return rc == HSM_ERR_EXEC ? rc : HSM_ERR_CONDITIONS;
    }
    /* Admitted. The domain must be free for it: no shares, and no other group's UID. */
    if (hsm_xkek_uid(domain, old, &oldlen)) {
        return oldlen == q.len - 1 && memcmp(old, q.value + 1, oldlen) == 0 ? HSM_OK
                                                                             : HSM_ERR_P1P2;
    }
    if ((total != HSM_DKEK_NOT_CREATED && total != 0) ||
        hsm_dkek_stored_kcv(domain, kcv) == HSM_OK) {
        return HSM_ERR_P1P2;
    }
    return hsm_store_write(uid_id(domain), q.value + 1, q.len - 1, 0);
}

int hsm_xkek_status(const hsm_session *s, uint8_t domain, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t total;
    size_t ulen = 0;
    if (cap < HSM_DKEK_STATUS_SIZE + HSM_XKEK_UID_MAX) {
        return HSM_ERR_INTERNAL;
    }
    int rc = hsm_dkek_status(s, domain, out);
    if (rc == HSM_ERR_REF_NOT_FOUND && hsm_dkek_table_total(domain, &total) == HSM_OK &&
        hsm_xkek_uid(domain, NULL, NULL)) {
        memset(out, 0, HSM_DKEK_STATUS_SIZE);
        out[0] = HSM_DKEK_NOT_CREATED;
        (void)hsm_dkek_stored_kcv(domain, out + 2); /* zeros when there is no DKEK */
        rc = HSM_OK;
    }
    if (rc != HSM_OK) {
        return rc;
    }
    (void)hsm_xkek_uid(domain, out + HSM_DKEK_STATUS_SIZE, &ulen);
    *len = HSM_DKEK_STATUS_SIZE + ulen;
    return HSM_OK;
}

static int delete_uid(uint8_t domain)
{
    int rc = hsm_store_delete(uid_id(domain));
    return rc == HSM_ERR_NOT_FOUND ? HSM_OK : rc;
}

int hsm_xkek_delete_domain(const hsm_session *s, uint8_t domain)
{
    uint8_t total;
    bool used;
    int rc = hsm_dkek_table_total(domain, &total);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total != HSM_DKEK_NOT_CREATED || !hsm_xkek_uid(domain, NULL, NULL)) {
        rc = hsm_dkek_delete_domain(s, domain);
        return rc == HSM_OK ? delete_uid(domain) : rc;
    }
    if ((rc = hsm_key_domain_in_use(s, domain, &used)) != HSM_OK) {
        return rc;
    }
    if (used) {
        return HSM_ERR_EXISTS;
    }
    /* DKEK first: a cut before the UID goes leaves a cleared XKEK domain, never a stale DKEK. */
    if ((rc = hsm_dkek_forget(domain)) != HSM_OK) {
        return rc;
    }
    return delete_uid(domain);
}

int hsm_xkek_clear(const hsm_session *s, uint8_t domain)
{
    uint8_t total;
    int rc = hsm_dkek_clear(s, domain);
    if (rc == HSM_ERR_REF_NOT_FOUND && hsm_dkek_table_total(domain, &total) == HSM_OK &&
        hsm_xkek_uid(domain, NULL, NULL)) {
        rc = hsm_dkek_forget(domain);
    }
    return rc;
}

int hsm_xkek_key_extension(const uint8_t *algs, size_t nalgs, bool has_domain, uint8_t domain,
                           uint8_t *ext, size_t cap, size_t *ext_len)
{
    uint8_t uid[HSM_XKEK_UID_MAX];
    size_t ulen;
    *ext_len = 0;
    if (memchr(algs, HSM_XKEK_ALG, nalgs) == NULL) {
        return HSM_OK;
    }
    if (!has_domain || domain >= HSM_DKEK_DOMAINS || !hsm_xkek_uid(domain, uid, &ulen)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    hsm_tlv_writer w;
    hsm_tlv_writer_init(&w, ext, cap);
    size_t m65 = hsm_tlv_begin(&w, 0x65);
    size_t m73 = hsm_tlv_begin(&w, 0x73);
    hsm_tlv_put(&w, 0x06, oid_kd_uid, sizeof(oid_kd_uid));
    hsm_tlv_put(&w, 0x80, uid, ulen);
    hsm_tlv_end(&w, m73);
    hsm_tlv_end(&w, m65);
    if (!hsm_tlv_writer_ok(&w)) {
        return HSM_ERR_INTERNAL;
    }
    *ext_len = w.len;
    return HSM_OK;
}

/* The 80 value of the 73 template with the key-domain-UID OID in extensions ext (value of 65).
 * 1 found, 0 absent, <0 malformed. */
static int find_uid(const hsm_tlv *ext, hsm_tlv *uid)
{
    hsm_tlv_reader r;
    hsm_tlv t, oid;
    int rc;
    hsm_tlv_reader_init(&r, ext->value, ext->len);
    while ((rc = hsm_tlv_next(&r, &t)) == 1) {
        if (t.tag != 0x73 || hsm_tlv_find(t.value, t.len, 0x06, &oid) != 1 ||
            oid.len != sizeof(oid_kd_uid) || memcmp(oid.value, oid_kd_uid, oid.len) != 0) {
            continue;
        }
        return hsm_tlv_find(t.value, t.len, 0x80, uid) == 1 && uid->len > 0 ? 1 : 0;
    }
    return rc;
}

typedef struct {
    const hsm_session *s;
    hsm_tlv uid; /* the peer's */
} derive_ctx;

static int derive_store(void *ctx, uint8_t domain, const uint8_t *x, size_t len)
{
    derive_ctx *d = ctx;
    uint8_t uid[HSM_XKEK_UID_MAX], dkek[HSM_DKEK_SIZE], kcv[HSM_DKEK_KCV_SIZE], h[32];
    size_t ulen;
    int rc;
    /* The UID is public: a plain compare is fine. */
    if (!hsm_xkek_uid(domain, uid, &ulen) || ulen != d->uid.len ||
        memcmp(uid, d->uid.value, ulen) != 0) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (len < HSM_DKEK_SIZE) {
        return HSM_ERR_UNSUPPORTED; /* curves below 256 bits give less than a DKEK */
    }
    memcpy(dkek, x, HSM_DKEK_SIZE);
    if (hsm_dkek_stored_kcv(domain, kcv) == HSM_OK) {
        /* Already derived: the same DKEK again is a no-op; another one would orphan every
         * blob made under the first, so it needs an explicit clear (P1 04) first. */
        mbedtls_sha256(dkek, HSM_DKEK_SIZE, h, 0);
        rc = memcmp(h, kcv, HSM_DKEK_KCV_SIZE) == 0 ? HSM_OK : HSM_ERR_NOT_ALLOWED;
    } else {
        rc = hsm_dkek_store(d->s, domain, dkek);
    }
    mbedtls_platform_zeroize(dkek, sizeof(dkek));
    mbedtls_platform_zeroize(h, sizeof(h));
    return rc;
}

int hsm_cmd_xkek_derive(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    hsm_cvc_cert peer;
    hsm_tlv q, ext;
    size_t used;
    derive_ctx d = {.s = c->s};
    if (hsm_cvc_parse(a->data, a->nc, &peer, &used) != HSM_OK ||
        hsm_tlv_find(peer.pubkey.value, peer.pubkey.len, 0x86, &q) != 1) {
        return HSM_ERR_REF_UNUSABLE;
    }
    /* The extension is the body's last element (cvc.h order). */
    if (hsm_tlv_find(peer.body, peer.body_len, 0x7F4E, &ext) != 1 ||
        hsm_tlv_find(ext.value, ext.len, 0x65, &ext) != 1 || find_uid(&ext, &d.uid) != 1) {
        return HSM_ERR_WRONG_LENGTH;
    }
    return hsm_key_xkek_agree(c->s, a->p1, q.value, q.len, derive_store, &d);
}
