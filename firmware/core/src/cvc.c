/*
 * cvc.c — CV certificate encoding; the formats and invariants are stated in cvc.h.
 *
 * The private scalar is held only in the mbedtls_mpi `d` exported from the caller's key pair;
 * every function that exports it frees it at its one exit label (mbedtls_mpi_free wipes the
 * limbs; mbedTLS wipes the per-signature nonce itself). Hashes, signatures and public values
 * are not secret.
 */
#include "hsm/cvc.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/rng.h"
#include "keys.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/sha256.h"

const uint8_t hsm_cvc_oid_ecdsa_sha256[10] = {0x04, 0x00, 0x7F, 0x00, 0x07,
                                              0x02, 0x02, 0x02, 0x02, 0x03};

/* CHAT of a terminal (device) certificate: role id-AT, no access rights (ext. spec 5.1). */
static const uint8_t chat_terminal[] = {0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03,
                                        0x01, 0x02, 0x02, 0x53, 0x01, 0x00};

static int from_mbedtls(int ret)
{
    switch (ret) {
    case 0:
        return HSM_OK;
    case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
    case MBEDTLS_ERR_ECP_RANDOM_FAILED:
        return HSM_ERR_ENTROPY;
    default:
        return HSM_ERR_EXEC;
    }
}

/* Writes `tag` with x big-endian, left-padded with zeros to exactly `len` bytes. */
static int put_mpi(hsm_tlv_writer *w, uint32_t tag, const mbedtls_mpi *x, size_t len)
{
    uint8_t buf[HSM_CVC_FIELD_MAX];
    if (len > sizeof(buf) || mbedtls_mpi_write_binary(x, buf, len) != 0) {
        return HSM_ERR_EXEC;
    }
    hsm_tlv_put(w, tag, buf, len);
    return HSM_OK;
}

/* Writes `tag` with P uncompressed; the point at infinity is refused (HSM_ERR_DATA). */
static int put_point(hsm_tlv_writer *w, uint32_t tag, const mbedtls_ecp_group *grp,
                     const mbedtls_ecp_point *P, size_t plen)
{
    uint8_t buf[1 + 2 * HSM_CVC_FIELD_MAX];
    size_t olen = 0;
    int ret = mbedtls_ecp_point_write_binary(grp, P, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, buf,
                                             sizeof(buf));
    if (ret != 0) {
        return HSM_ERR_EXEC;
    }
    if (olen != 1 + 2 * plen) {
        return HSM_ERR_DATA;
    }
    hsm_tlv_put(w, tag, buf, olen);
    return HSM_OK;
}

int hsm_cvc_put_ec_pubkey(hsm_tlv_writer *w, const mbedtls_ecp_group *grp,
                          const mbedtls_ecp_point *Q, const uint8_t *alg_oid, size_t alg_oid_len)
{
    static const uint8_t cofactor = 0x01;
    mbedtls_mpi a;
    size_t plen, nlen, mark;
    int ret, rc;

    mbedtls_mpi_init(&a);
    if (w == NULL || grp == NULL || Q == NULL || alg_oid == NULL || alg_oid_len == 0) {
        rc = HSM_ERR_INTERNAL;
        goto exit;
    }
    if (mbedtls_ecp_get_type(grp) != MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS) {
        rc = HSM_ERR_UNSUPPORTED;
        goto exit;
    }
    plen = mbedtls_mpi_size(&grp->P);
    nlen = mbedtls_mpi_size(&grp->N);
    if (nlen < plen) {
        nlen = plen;
    }
    if (plen == 0 || nlen > HSM_CVC_FIELD_MAX) {
        rc = HSM_ERR_UNSUPPORTED;
        goto exit;
    }
    /* mbedTLS leaves A empty for the a = -3 curves; OpenSC needs it written out. */
    ret = mbedtls_ecp_group_a_is_minus_3(grp) ? mbedtls_mpi_sub_int(&a, &grp->P, 3)
                                              : mbedtls_mpi_copy(&a, &grp->A);
    if (ret != 0) {
        rc = HSM_ERR_EXEC;
        goto exit;
    }

    mark = hsm_tlv_begin(w, 0x7F49);
    hsm_tlv_put(w, 0x06, alg_oid, alg_oid_len);
    if ((rc = put_mpi(w, 0x81, &grp->P, plen)) != HSM_OK ||
        (rc = put_mpi(w, 0x82, &a, plen)) != HSM_OK ||
        (rc = put_mpi(w, 0x83, &grp->B, plen)) != HSM_OK ||
        (rc = put_point(w, 0x84, grp, &grp->G, plen)) != HSM_OK ||
        (rc = put_mpi(w, 0x85, &grp->N, nlen)) != HSM_OK ||
        (rc = put_point(w, 0x86, grp, Q, plen)) != HSM_OK) {
        goto exit;
    }
    hsm_tlv_put(w, 0x87, &cofactor, 1);
    hsm_tlv_end(w, mark);
    rc = hsm_tlv_writer_ok(w) ? HSM_OK : HSM_ERR_NO_SPACE;

exit:
    mbedtls_mpi_free(&a);
    return rc;
}

/* ECDSA-SHA-256 with (grp, d), r || s at the order's byte length. */
static int sign_plain(mbedtls_ecp_group *grp, const mbedtls_mpi *d, const uint8_t *msg,
                      size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t hash[32];
    mbedtls_mpi r, s;
    size_t nlen = mbedtls_mpi_size(&grp->N);
    int rc;

    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (nlen == 0 || nlen > HSM_CVC_FIELD_MAX) {
        rc = HSM_ERR_UNSUPPORTED;
        goto exit;
    }
    if (cap < 2 * nlen) {
        rc = HSM_ERR_NO_SPACE;
        goto exit;
    }
    if ((rc = from_mbedtls(mbedtls_sha256(msg, len, hash, 0))) != HSM_OK ||
        (rc = from_mbedtls(mbedtls_ecdsa_sign(grp, &r, &s, d, hash, sizeof(hash),
                                              hsm_rng_mbedtls, NULL))) != HSM_OK ||
        (rc = from_mbedtls(mbedtls_mpi_write_binary(&r, sig, nlen))) != HSM_OK ||
        (rc = from_mbedtls(mbedtls_mpi_write_binary(&s, sig + nlen, nlen))) != HSM_OK) {
        goto exit;
    }
    *sig_len = 2 * nlen;

exit:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}

int hsm_cvc_sign_ecdsa_sha256(const mbedtls_ecp_keypair *key, const uint8_t *msg, size_t len,
                              uint8_t *sig, size_t cap, size_t *sig_len)
{
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point Q;
    int rc;

    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&Q);
    if (key == NULL || (msg == NULL && len > 0) || sig == NULL || sig_len == NULL) {
        rc = HSM_ERR_INTERNAL;
        goto exit;
    }
    *sig_len = 0;
    if ((rc = from_mbedtls(mbedtls_ecp_export(key, &grp, &d, &Q))) != HSM_OK) {
        goto exit;
    }
    rc = sign_plain(&grp, &d, msg, len, sig, cap, sig_len);

exit:
    mbedtls_mpi_free(&d); /* wipes the scalar */
    mbedtls_ecp_point_free(&Q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

/* 1..HSM_CVC_NAME_MAX characters of the ASN.1 PrintableString set. */
static int check_name(const char *s)
{
    static const char extra[] = " '()+,-./:=?";
    if (s == NULL) {
        return HSM_ERR_INTERNAL;
    }
    size_t n = strlen(s);
    if (n == 0 || n > HSM_CVC_NAME_MAX) {
        return HSM_ERR_DATA;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (c != '\0' && strchr(extra, c) != NULL);
        if (!ok) {
            return HSM_ERR_DATA;
        }
    }
    return HSM_OK;
}

/* YYMMDD, one digit per byte; month 01..12, day 01..31 (no calendar beyond that). */
static int check_date(const uint8_t d[6])
{
    if (d == NULL) {
        return HSM_ERR_INTERNAL;
    }
    for (size_t i = 0; i < 6; i++) {
        if (d[i] > 9) {
            return HSM_ERR_DATA;
        }
    }
    unsigned month = d[2] * 10u + d[3], day = d[4] * 10u + d[5];
    if (month < 1 || month > 12 || day < 1 || day > 31) {
        return HSM_ERR_DATA;
    }
    return HSM_OK;
}

int hsm_cvc_build_self_signed(const mbedtls_ecp_keypair *key, const char *car, const char *chr,
                              const uint8_t effective[6], const uint8_t expiry[6], uint8_t *out,
                              size_t cap, size_t *out_len)
{
    static const uint8_t cpi = 0x00;
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point Q;
    uint8_t sig[HSM_CVC_SIG_MAX];
    size_t sig_len = 0, cert, body, body_start;
    hsm_tlv_writer w;
    int rc;

    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&Q);
    if (key == NULL || out_len == NULL) {
        rc = HSM_ERR_INTERNAL;
        goto exit;
    }
    *out_len = 0;
    if ((rc = check_name(car)) != HSM_OK || (rc = check_name(chr)) != HSM_OK ||
        (rc = check_date(effective)) != HSM_OK || (rc = check_date(expiry)) != HSM_OK) {
        goto exit;
    }
    if ((rc = from_mbedtls(mbedtls_ecp_export(key, &grp, &d, &Q))) != HSM_OK) {
        goto exit;
    }

    hsm_tlv_writer_init(&w, out, cap);
    cert = hsm_tlv_begin(&w, 0x7F21);
    body = hsm_tlv_begin(&w, 0x7F4E);
    hsm_tlv_put(&w, 0x5F29, &cpi, 1);
    hsm_tlv_put(&w, 0x42, car, strlen(car));
    if ((rc = hsm_cvc_put_ec_pubkey(&w, &grp, &Q, hsm_cvc_oid_ecdsa_sha256,
                                    sizeof(hsm_cvc_oid_ecdsa_sha256))) != HSM_OK) {
        goto exit;
    }
    hsm_tlv_put(&w, 0x5F20, chr, strlen(chr));
    hsm_tlv_put(&w, 0x7F4C, chat_terminal, sizeof(chat_terminal));
    hsm_tlv_put(&w, 0x5F25, effective, 6);
    hsm_tlv_put(&w, 0x5F24, expiry, 6);
    hsm_tlv_end(&w, body);
    if (!hsm_tlv_writer_ok(&w)) {
        rc = HSM_ERR_NO_SPACE;
        goto exit;
    }
    /* The mark is the length byte's offset: the body TLV starts at its two-byte tag. */
    body_start = body - hsm_tlv_tag_size(0x7F4E);
    rc = sign_plain(&grp, &d, out + body_start, w.len - body_start, sig, sizeof(sig), &sig_len);
    if (rc != HSM_OK) {
        goto exit;
    }
    hsm_tlv_put(&w, 0x5F37, sig, sig_len);
    hsm_tlv_end(&w, cert);
    if (!hsm_tlv_writer_ok(&w)) {
        rc = HSM_ERR_NO_SPACE;
        goto exit;
    }
    *out_len = w.len;
    rc = HSM_OK;

exit:
    mbedtls_mpi_free(&d); /* wipes the scalar */
    mbedtls_ecp_point_free(&Q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

/* ---- parsing and verification ---------------------------------------------------------- */

static int read_name(const hsm_tlv *t)
{
    return t->len >= 1 && t->len <= HSM_CVC_NAME_MAX ? HSM_OK : HSM_ERR_DATA;
}

int hsm_cvc_parse(const uint8_t *buf, size_t len, hsm_cvc_cert *c, size_t *used)
{
    hsm_tlv_reader r, in, b;
    hsm_tlv t, body, e;
    bool eff = false, exp = false;

    if (buf == NULL || c == NULL || used == NULL) {
        return HSM_ERR_INTERNAL;
    }
    memset(c, 0, sizeof(*c));
    *used = 0;
    hsm_tlv_reader_init(&r, buf, len);
    if (hsm_tlv_next(&r, &t) != 1 || t.tag != 0x7F21) {
        return HSM_ERR_DATA;
    }
    c->raw = buf;
    c->raw_len = (size_t)(r.p - buf);
    hsm_tlv_reader_init(&in, t.value, t.len);
    const uint8_t *body_start = in.p;
    if (hsm_tlv_next(&in, &body) != 1 || body.tag != 0x7F4E) {
        return HSM_ERR_DATA;
    }
    c->body = body_start;
    c->body_len = (size_t)(in.p - body_start);
    if (hsm_tlv_next(&in, &c->sig) != 1 || c->sig.tag != 0x5F37 || c->sig.len == 0 ||
        in.p != in.end) {
        return HSM_ERR_DATA;
    }
    /* Mandatory, in order: 5F29 42 7F49 5F20; then optional 7F4C 5F25 5F24 65, in order. */
    static const uint32_t order[] = {0x5F29, 0x42, 0x7F49, 0x5F20, 0x7F4C, 0x5F25, 0x5F24, 0x65};
    size_t next = 0;
    hsm_tlv_reader_init(&b, body.value, body.len);
    int rc;
    while ((rc = hsm_tlv_next(&b, &e)) == 1) {
        while (next < sizeof(order) / sizeof(order[0]) && order[next] != e.tag) {
            if (next < 4) {
                return HSM_ERR_DATA; /* a mandatory element is missing */
            }
            next++;
        }
        if (next == sizeof(order) / sizeof(order[0])) {
            return HSM_ERR_DATA; /* unknown or out of order */
        }
        next++;
        switch (e.tag) {
        case 0x5F29:
            if (e.len != 1) return HSM_ERR_DATA;
            break;
        case 0x42:
            c->car = e;
            if (read_name(&e) != HSM_OK) return HSM_ERR_DATA;
            break;
        case 0x7F49:
            c->pubkey = e;
            if (e.len == 0) return HSM_ERR_DATA;
            break;
        case 0x5F20:
            c->chr = e;
            if (read_name(&e) != HSM_OK) return HSM_ERR_DATA;
            break;
        case 0x7F4C:
            c->has_chat = true;
            break;
        case 0x5F25:
            if (e.len != 6 || check_date(e.value) != HSM_OK) return HSM_ERR_DATA;
            memcpy(c->effective, e.value, 6);
            eff = true;
            break;
        case 0x5F24:
            if (e.len != 6 || check_date(e.value) != HSM_OK) return HSM_ERR_DATA;
            memcpy(c->expiry, e.value, 6);
            exp = true;
            break;
        default:
            break;
        }
    }
    if (rc < 0 || next < 4) {
        return HSM_ERR_DATA;
    }
    c->has_dates = eff && exp;
    *used = c->raw_len;
    return HSM_OK;
}

int hsm_cvc_date_cmp(const uint8_t a[6], const uint8_t b[6])
{
    int m = memcmp(a, b, 6);
    return m < 0 ? -1 : m > 0;
}

int hsm_cvc_verify(const hsm_cvc_cert *c, const uint8_t *key, size_t key_len,
                   const uint8_t *domain, size_t domain_len)
{
    uint8_t hash[32];
    if (c == NULL) {
        return HSM_ERR_INTERNAL;
    }
    if (mbedtls_sha256(c->body, c->body_len, hash, 0) != 0) {
        return HSM_ERR_EXEC;
    }
    return hsm_cvc_verify_digest(hash, c->sig.value, c->sig.len, key, key_len, domain,
                                 domain_len);
}

int hsm_cvc_verify_digest(const uint8_t hash[32], const uint8_t *sig, size_t sig_len,
                          const uint8_t *key, size_t key_len, const uint8_t *domain,
                          size_t domain_len)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_id gid;
    hsm_tlv oid, p, a, q;
    int rc;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&Q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (hash == NULL || sig == NULL || key == NULL || domain == NULL) {
        rc = HSM_ERR_INTERNAL;
        goto exit;
    }
    if (hsm_tlv_find(key, key_len, 0x06, &oid) != 1 || hsm_tlv_find(key, key_len, 0x86, &q) != 1 ||
        hsm_tlv_find(domain, domain_len, 0x81, &p) != 1 ||
        hsm_tlv_find(domain, domain_len, 0x82, &a) != 1) {
        rc = HSM_ERR_DATA;
        goto exit;
    }
    if (oid.len != sizeof(hsm_cvc_oid_ecdsa_sha256) ||
        memcmp(oid.value, hsm_cvc_oid_ecdsa_sha256, oid.len) != 0) {
        rc = HSM_ERR_UNSUPPORTED;
        goto exit;
    }
    if ((rc = hsm_key_curve_from_params(p.value, p.len, a.value, a.len, &gid)) != HSM_OK) {
        goto exit;
    }
    if (mbedtls_ecp_group_load(&grp, gid) != 0) {
        rc = HSM_ERR_UNSUPPORTED;
        goto exit;
    }
    if (mbedtls_ecp_point_read_binary(&grp, &Q, q.value, q.len) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &Q) != 0) {
        rc = HSM_ERR_DATA;
        goto exit;
    }
    size_t nlen = mbedtls_mpi_size(&grp.N);
    if (sig_len != 2 * nlen) {
        rc = HSM_ERR_CONDITIONS;
        goto exit;
    }
    if (mbedtls_mpi_read_binary(&r, sig, nlen) != 0 ||
        mbedtls_mpi_read_binary(&s, sig + nlen, nlen) != 0) {
        rc = HSM_ERR_EXEC;
        goto exit;
    }
    rc = mbedtls_ecdsa_verify(&grp, hash, 32, &Q, &r, &s) == 0 ? HSM_OK : HSM_ERR_CONDITIONS;

exit:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&Q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}
