/*
 * keys_common.h — what the key tests (test_keys.c, test_keys_errors.c, test_keys_rsa4096.c)
 * share. Header-only like store_model.h, so every CHECK counts in the test that includes it.
 *
 *   - APDUs exactly as OpenSC sends them: GENERATE ASYMMETRIC KEY PAIR 00 46 case 4E with
 *     Le 0000, SIGN 80 68 and DECIPHER 80 62 case 4E with Le 0200 (core spec 2.11-2.13);
 *   - a card from blank flash: INITIALIZE as sc-hsm-tool sends it, then VERIFY;
 *   - the request for every key type: RSA 7F49 { 06, 82 e, 02 bits }; Weierstrass curves with
 *     their domain parameters taken from mbedTLS's groups and written at full field length,
 *     a = p - 3 spelled out (spec 2.11.1); X25519/X448 with the Pico template (ext. spec 5.2.1);
 *     the requests are encoded here by hand, not with the core's TLV writer under test;
 *   - a strict check of the answer (spec 2.11.2): the exact nesting and order, ascending 7F49
 *     tags, field-length values equal to what was sent, the total within OpenSC's 1200-byte
 *     buffer, the inner signature under the returned key and the outer one under the device key
 *     of EF 2F02 (read with SELECT + READ BINARY, parsed with the core's TLV reader);
 *   - the inside view: a key record decrypted through production code only (PIN -> MKEK by
 *     hsm_pin_check, object key by hsm_session_open_keys, hsm_secret_expose), and the raw flash.
 */
#ifndef HSM_TEST_KEYS_COMMON_H
#define HSM_TEST_KEYS_COMMON_H

#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cmd.h"
#include "device.h"
#include "hsm/apdu.h"
#include "hsm/card.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/port/flash.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "mbedtls/bignum.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/md.h"
#include "mbedtls/rsa.h"
#include "mbedtls/sha256.h"
#include "pin.h"
#include "ram_port.h"
#include "secret.h"

#define KT_PIN '6', '4', '8', '2', '1', '9'
#define KT_SOPIN 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30
#define KT_OPENSC_BUF 1200u /* OpenSC's receive buffer for the GAKP answer (spec 2.11.4) */
#define KT_FIELD_MAX 66u

static const uint8_t kt_pin[] = {KT_PIN};

static const uint8_t kt_oid_rsa_v15_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t kt_oid_ecdsa_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t kt_oid_ri_ecdh_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};

/* ---- APDUs ----------------------------------------------------------------------------- */

static uint8_t kt_resp[HSM_RAPDU_MAX];
static size_t kt_rlen;

static inline uint16_t kt_tx(const uint8_t *cmd, size_t n)
{
    kt_rlen = hsm_card_apdu(cmd, n, kt_resp, sizeof(kt_resp));
    return kt_rlen < 2 ? 0 : (uint16_t)((kt_resp[kt_rlen - 2] << 8) | kt_resp[kt_rlen - 1]);
}
#define KT_TX(...) kt_tx((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))
#define KT_SELECT_APP 0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00

/* Response data length of the last APDU. */
static inline size_t kt_data_len(void)
{
    return kt_rlen >= 2 ? kt_rlen - 2 : 0;
}

/* Case 4E: CLA INS P1 P2 00 Lc(2) data Le(2); ne 65536 is Le 0000. nc must be >= 1. */
static inline uint16_t kt_ext(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                              size_t nc, size_t ne)
{
    static uint8_t cmd[HSM_CAPDU_MAX];
    size_t n = 0;
    cmd[n++] = cla, cmd[n++] = ins, cmd[n++] = p1, cmd[n++] = p2;
    cmd[n++] = 0x00, cmd[n++] = (uint8_t)(nc >> 8), cmd[n++] = (uint8_t)nc;
    memcpy(cmd + n, data, nc), n += nc;
    cmd[n++] = (uint8_t)(ne >> 8), cmd[n++] = (uint8_t)ne; /* 65536 -> 00 00 */
    return kt_tx(cmd, n);
}

static inline uint16_t kt_sign(uint8_t id, uint8_t alg, const uint8_t *in, size_t n)
{
    return kt_ext(0x80, 0x68, id, alg, in, n, 512);
}

static inline uint16_t kt_decipher(uint8_t id, uint8_t alg, const uint8_t *in, size_t n)
{
    return kt_ext(0x80, 0x62, id, alg, in, n, 512);
}

static inline uint16_t kt_gakp_raw(uint8_t id, uint8_t p2, const uint8_t *data, size_t n)
{
    return kt_ext(0x00, 0x46, id, p2, data, n, 65536);
}

/* ---- card set-up ----------------------------------------------------------------------- */

static inline void kt_remount(void)
{
    ram_port_power_on();
    CHECK_EQ_INT(hsm_store_mount(hsm_id_survives_init), HSM_OK);
    hsm_card_reset();
}

static inline void kt_login(void)
{
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, KT_PIN), 0x9000);
}

/* Blank flash, INITIALIZE (options 0001, 3 retries), logged in with the user PIN. */
static inline void kt_power_up(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03),
                 0x9000);
    kt_login();
}

/* ---- a deterministic RNG for the test's own keys, paddings and ephemeral points ---------- */

static inline int kt_rng(void *ctx, unsigned char *buf, size_t len)
{
    static uint64_t counter = 0x6b65797374657374u;
    (void)ctx;
    while (len > 0) {
        uint8_t in[8], h[32];
        for (int i = 0; i < 8; i++) {
            in[i] = (uint8_t)(counter >> (8 * i));
        }
        counter++;
        mbedtls_sha256(in, sizeof(in), h, 0);
        size_t n = len < sizeof(h) ? len : sizeof(h);
        memcpy(buf, h, n);
        buf += n, len -= n;
    }
    return 0;
}

/* ---- request encoding (by hand) ------------------------------------------------------------ */

typedef struct {
    uint8_t *buf;
    size_t cap, len;
} kt_buf;

static inline void kt_raw(kt_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        fprintf(stderr, "kt_buf overflow\n");
        abort();
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void kt_byte(kt_buf *b, uint8_t v)
{
    kt_raw(b, &v, 1);
}

/* Tag of one or two bytes, length in the shortest form (up to 82 xx xx). */
static inline void kt_tl(kt_buf *b, uint16_t tag, size_t len)
{
    if (tag > 0xFF) {
        kt_byte(b, (uint8_t)(tag >> 8));
    }
    kt_byte(b, (uint8_t)tag);
    if (len < 0x80) {
        kt_byte(b, (uint8_t)len);
    } else if (len < 0x100) {
        kt_byte(b, 0x81), kt_byte(b, (uint8_t)len);
    } else {
        kt_byte(b, 0x82), kt_byte(b, (uint8_t)(len >> 8)), kt_byte(b, (uint8_t)len);
    }
}

static inline void kt_tlv(kt_buf *b, uint16_t tag, const void *v, size_t len)
{
    kt_tl(b, tag, len);
    kt_raw(b, v, len);
}

/* ---- key types and domain parameters ------------------------------------------------------ */

typedef enum { KT_RSA, KT_EC, KT_MONT } kt_kind;

typedef struct {
    const char *name;
    kt_kind kind;
    unsigned bits;            /* RSA: modulus bits */
    mbedtls_ecp_group_id grp; /* EC, Montgomery */
} kt_type;

/* Domain parameters as OpenSC (Weierstrass) or pypicohsm (Montgomery) send them. */
typedef struct {
    size_t plen, nlen, glen;
    uint8_t p[KT_FIELD_MAX], a[KT_FIELD_MAX], b[KT_FIELD_MAX], n[KT_FIELD_MAX];
    uint8_t g[1 + 2 * KT_FIELD_MAX];
} kt_domain;

static inline void kt_domain_of(mbedtls_ecp_group_id id, kt_domain *d)
{
    mbedtls_ecp_group g;
    mbedtls_mpi a;
    mbedtls_ecp_group_init(&g);
    mbedtls_mpi_init(&a);
    memset(d, 0, sizeof(*d));
    CHECK_EQ_INT(mbedtls_ecp_group_load(&g, id), 0);
    d->plen = mbedtls_mpi_size(&g.P);
    size_t nsz = mbedtls_mpi_size(&g.N);
    d->nlen = nsz > d->plen ? nsz : d->plen;
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&g.P, d->p, d->plen), 0);
    if (mbedtls_ecp_get_type(&g) == MBEDTLS_ECP_TYPE_MONTGOMERY) {
        /* 82 is the order (minimal length), 83 the generator's u, little-endian. */
        d->nlen = nsz;
        CHECK_EQ_INT(mbedtls_mpi_write_binary(&g.N, d->n, d->nlen), 0);
        d->glen = d->plen;
        d->g[0] = id == MBEDTLS_ECP_DP_CURVE25519 ? 0x09 : 0x05;
    } else {
        CHECK_EQ_INT(mbedtls_ecp_group_a_is_minus_3(&g) ? mbedtls_mpi_sub_int(&a, &g.P, 3)
                                                        : mbedtls_mpi_copy(&a, &g.A),
                     0);
        CHECK_EQ_INT(mbedtls_mpi_write_binary(&a, d->a, d->plen), 0);
        CHECK_EQ_INT(mbedtls_mpi_write_binary(&g.B, d->b, d->plen), 0);
        CHECK_EQ_INT(mbedtls_mpi_write_binary(&g.N, d->n, d->nlen), 0);
        CHECK_EQ_INT(mbedtls_ecp_point_write_binary(&g, &g.G, MBEDTLS_ECP_PF_UNCOMPRESSED, &d->glen,
                                                    d->g, sizeof(d->g)),
                     0);
    }
    mbedtls_mpi_free(&a);
    mbedtls_ecp_group_free(&g);
}

/* The content of 7F49 for type t with algorithm oid (NULL: the type's usual one). */
static inline void kt_template(const kt_type *t, const uint8_t *oid, size_t oid_len, kt_buf *b)
{
    if (oid == NULL) {
        oid = t->kind == KT_RSA ? kt_oid_rsa_v15_sha256 : kt_oid_ecdsa_sha256;
        oid_len = 10;
    }
    kt_tlv(b, 0x06, oid, oid_len);
    if (t->kind == KT_RSA) {
        const uint8_t e[] = {0x01, 0x00, 0x01}, bits[] = {(uint8_t)(t->bits >> 8), (uint8_t)t->bits};
        kt_tlv(b, 0x82, e, sizeof(e));
        kt_tlv(b, 0x02, bits, sizeof(bits));
        return;
    }
    kt_domain d;
    kt_domain_of(t->grp, &d);
    kt_tlv(b, 0x81, d.p, d.plen);
    if (t->kind == KT_MONT) {
        kt_tlv(b, 0x82, d.n, d.nlen);
        kt_tlv(b, 0x83, d.g, d.glen);
        return;
    }
    kt_tlv(b, 0x82, d.a, d.plen);
    kt_tlv(b, 0x83, d.b, d.plen);
    kt_tlv(b, 0x84, d.g, d.glen);
    kt_tlv(b, 0x85, d.n, d.nlen);
    kt_tlv(b, 0x87, "\x01", 1);
}

/* OpenSC's CHR: the device serial followed by 00001 (spec 2.11.1). */
static inline const char *kt_chr(void)
{
    static char chr[32];
    snprintf(chr, sizeof(chr), "%s00001", hsm_devid_serial());
    return chr;
}

typedef struct {
    const uint8_t *oid; /* NULL: the type's usual algorithm */
    size_t oid_len;
    bool no_car;        /* omit 42 (the vendor module does) */
    const uint8_t *extra; /* top-level TLVs appended: 90 counter, 91 algorithms, 92 domain */
    size_t extra_len;
} kt_opts;

/* The GAKP data: 5F29, 42 "UTCA00001", 7F49 { tpl }, 5F20 CHR, extra. */
static inline size_t kt_request(const uint8_t *tpl, size_t tpl_len, const kt_opts *o, uint8_t *out,
                                size_t cap)
{
    kt_buf b = {out, cap, 0};
    kt_tlv(&b, 0x5F29, "\x00", 1);
    if (o == NULL || !o->no_car) {
        kt_tlv(&b, 0x42, "UTCA00001", 9);
    }
    kt_tlv(&b, 0x7F49, tpl, tpl_len);
    kt_tlv(&b, 0x5F20, kt_chr(), strlen(kt_chr()));
    if (o != NULL && o->extra_len) {
        kt_raw(&b, o->extra, o->extra_len);
    }
    return b.len;
}

static inline uint16_t kt_generate(uint8_t id, const kt_type *t, const kt_opts *o)
{
    uint8_t tpl[1024], data[2048];
    kt_buf b = {tpl, sizeof(tpl), 0};
    kt_template(t, o ? o->oid : NULL, o ? o->oid_len : 0, &b);
    size_t n = kt_request(tpl, b.len, o, data, sizeof(data));
    return kt_gakp_raw(id, 0x00, data, n);
}

/* ---- public keys and signature checks ----------------------------------------------------- */

typedef struct {
    kt_kind kind;
    mbedtls_rsa_context rsa;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    size_t len;  /* RSA modulus bytes; EC / Montgomery field bytes */
    size_t nlen; /* EC order bytes (r and s of a plain signature) */
    uint8_t raw[512]; /* 81 modulus (RSA), 86 point (EC), 84 u (Montgomery) */
    size_t raw_len;
} kt_pub;

static inline void kt_pub_init(kt_pub *k)
{
    memset(k, 0, sizeof(*k));
    mbedtls_rsa_init(&k->rsa);
    mbedtls_ecp_group_init(&k->grp);
    mbedtls_ecp_point_init(&k->Q);
}

static inline void kt_pub_free(kt_pub *k)
{
    mbedtls_rsa_free(&k->rsa);
    mbedtls_ecp_group_free(&k->grp);
    mbedtls_ecp_point_free(&k->Q);
}

static inline size_t kt_hash(mbedtls_md_type_t md, const uint8_t *m, size_t n, uint8_t *out)
{
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    CHECK(mi != NULL && mbedtls_md(mi, m, n, out) == 0);
    return mi ? mbedtls_md_get_size(mi) : 0;
}

/* DigestInfo = prefix (spec 2.12.3) || hash. */
static inline size_t kt_digest_info(mbedtls_md_type_t md, const uint8_t *hash, uint8_t *out)
{
    static const struct { mbedtls_md_type_t md; uint8_t len; uint8_t p[19]; } pre[] = {
        {MBEDTLS_MD_SHA1, 15, {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14}},
        {MBEDTLS_MD_SHA224, 19, {0x30, 0x2D, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1C}},
        {MBEDTLS_MD_SHA256, 19, {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
        {MBEDTLS_MD_SHA384, 19, {0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
        {MBEDTLS_MD_SHA512, 19, {0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
    };
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
        if (pre[i].md == md) {
            size_t h = mbedtls_md_get_size(mbedtls_md_info_from_type(md));
            memcpy(out, pre[i].p, pre[i].len);
            memcpy(out + pre[i].len, hash, h);
            return pre[i].len + h;
        }
    }
    CHECK(false);
    return 0;
}

/* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 T, k bytes (what OpenSC sends with 20). */
static inline void kt_pkcs1_block(const uint8_t *t, size_t tlen, uint8_t *out, size_t k)
{
    out[0] = 0x00, out[1] = 0x01;
    memset(out + 2, 0xFF, k - 3 - tlen);
    out[k - tlen - 1] = 0x00;
    memcpy(out + k - tlen, t, tlen);
}

/* A strict DER ECDSA-Sig-Value: 30 L { 02 Lr r, 02 Ls s }, minimal positive INTEGERs, nothing
 * after it; r and s returned. */
static inline bool kt_der_sig(const uint8_t *p, size_t n, mbedtls_mpi *r, mbedtls_mpi *s)
{
    size_t i = 0, len;
    if (n < 8 || p[i++] != 0x30) return false;
    if (p[i] < 0x80) {
        len = p[i++];
    } else if (p[i] == 0x81 && p[i + 1] >= 0x80) {
        len = p[i + 1], i += 2;
    } else {
        return false;
    }
    if (i + len != n) return false;
    mbedtls_mpi *v[2] = {r, s};
    for (int k = 0; k < 2; k++) {
        if (i + 2 > n || p[i] != 0x02 || p[i + 1] >= 0x80) return false;
        size_t l = p[i + 1];
        i += 2;
        if (l == 0 || i + l > n) return false;
        if (p[i] & 0x80) return false;                                  /* negative */
        if (l > 1 && p[i] == 0x00 && !(p[i + 1] & 0x80)) return false; /* not minimal */
        if (mbedtls_mpi_read_binary(v[k], p + i, l) != 0) return false;
        i += l;
    }
    return i == n;
}

/* ECDSA over hash with r || s (plain) or DER. */
static inline bool kt_ecdsa_ok(kt_pub *k, const uint8_t *hash, size_t hlen, const uint8_t *sig,
                               size_t slen, bool der)
{
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    bool ok;
    if (der) {
        ok = kt_der_sig(sig, slen, &r, &s);
    } else {
        ok = slen == 2 * k->nlen && mbedtls_mpi_read_binary(&r, sig, k->nlen) == 0 &&
             mbedtls_mpi_read_binary(&s, sig + k->nlen, k->nlen) == 0;
    }
    ok = ok && mbedtls_ecdsa_verify(&k->grp, hash, hlen, &k->Q, &r, &s) == 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return ok;
}

static inline bool kt_v15_ok(kt_pub *k, mbedtls_md_type_t md, const uint8_t *hash, size_t hlen,
                             const uint8_t *sig, size_t slen)
{
    return slen == k->len &&
           mbedtls_rsa_rsassa_pkcs1_v15_verify(&k->rsa, md, (unsigned)hlen, hash, sig) == 0;
}

/* PSS with MGF1 of the same hash and salt length = hash length (spec 2.12.3). */
static inline bool kt_pss_ok(kt_pub *k, mbedtls_md_type_t md, const uint8_t *hash, size_t hlen,
                             const uint8_t *sig, size_t slen)
{
    return slen == k->len && mbedtls_rsa_rsassa_pss_verify_ext(&k->rsa, md, (unsigned)hlen, hash, md,
                                                               (int)hlen, sig) == 0;
}

/* ---- the device key (EF 2F02) ------------------------------------------------------------- */

static inline bool kt_device_key(kt_pub *dev)
{
    kt_pub_init(dev);
    CHECK_EQ_INT(KT_TX(0x00, 0xA4, 0x00, 0x00, 0x02, 0x2F, 0x02), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0x2F, 0x02, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00, 0x00),
                 0x9000);
    static uint8_t c[HSM_DEVID_C_DEVAUT_MAX];
    size_t n = kt_data_len();
    if (n > sizeof(c)) return false;
    memcpy(c, kt_resp, n);
    hsm_tlv cert, body, pk, p, q, sig;
    if (hsm_tlv_find(c, n, 0x7F21, &cert) != 1 || hsm_tlv_find(cert.value, cert.len, 0x7F4E, &body) != 1 ||
        hsm_tlv_find(cert.value, cert.len, 0x5F37, &sig) != 1 ||
        hsm_tlv_find(body.value, body.len, 0x7F49, &pk) != 1 || hsm_tlv_find(pk.value, pk.len, 0x81, &p) != 1 ||
        hsm_tlv_find(pk.value, pk.len, 0x86, &q) != 1) {
        CHECK(false);
        return false;
    }
    /* The device key is on secp256r1 (devid.h) and signs with 64 bytes (spec 2.11.4). */
    kt_domain d;
    kt_domain_of(MBEDTLS_ECP_DP_SECP256R1, &d);
    CHECK(p.len == d.plen && memcmp(p.value, d.p, d.plen) == 0);
    dev->kind = KT_EC;
    dev->len = dev->nlen = 32;
    bool ok = mbedtls_ecp_group_load(&dev->grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
              mbedtls_ecp_point_read_binary(&dev->grp, &dev->Q, q.value, q.len) == 0 &&
              mbedtls_ecp_check_pubkey(&dev->grp, &dev->Q) == 0;
    CHECK(ok);
    /* Self-signed until a CA's chain is installed (devid.h): then its own signature verifies. */
    hsm_tlv car, chr;
    if (hsm_tlv_find(body.value, body.len, 0x42, &car) == 1 &&
        hsm_tlv_find(body.value, body.len, 0x5F20, &chr) == 1 && car.len == chr.len &&
        memcmp(car.value, chr.value, car.len) == 0) {
        uint8_t h[32];
        const uint8_t *body_start = cert.value; /* 7F4E is the first element */
        size_t body_tlv = (size_t)(body.value - body_start) + body.len;
        mbedtls_sha256(body_start, body_tlv, h, 0);
        CHECK(ok && kt_ecdsa_ok(dev, h, 32, sig.value, sig.len, false));
    }
    return ok;
}

/* ---- the GAKP answer ------------------------------------------------------------------------- */

/* Reads the elements of a constructed value in order: tags, starts (of the whole TLV) and TLVs.
 * Returns the count, or -1 if malformed or more than max. */
static inline int kt_children(const uint8_t *v, size_t len, hsm_tlv *out, const uint8_t **start,
                              int max)
{
    hsm_tlv_reader rd;
    hsm_tlv_reader_init(&rd, v, len);
    int n = 0, rc;
    const uint8_t *s = rd.p;
    hsm_tlv t;
    while ((rc = hsm_tlv_next(&rd, &t)) == 1) {
        if (n == max) return -1;
        out[n] = t;
        if (start) start[n] = s;
        n++;
        s = rd.p;
    }
    return rc < 0 ? -1 : n;
}

/* Whole TLV extent of child i (start .. end of value). */
static inline size_t kt_extent(const uint8_t *start, const hsm_tlv *t)
{
    return (size_t)(t->value + t->len - start);
}

/* Checks the answer in kt_resp for a key of type t requested with o (spec 2.11.2), verifies
 * both signatures, and returns the public key in *k (kt_pub_init'ed by this function). */
static inline bool kt_check_answer(const kt_type *t, const kt_opts *o, kt_pub *k)
{
    unsigned fails = check_fail;
    static uint8_t a[HSM_RAPDU_MAX];
    size_t n = kt_data_len();
    memcpy(a, kt_resp, n);
    kt_pub_init(k);
    k->kind = t->kind;

    CHECK(n <= KT_OPENSC_BUF);
    hsm_tlv top[2], l1[4], l2[3], body[5], pk[10];
    const uint8_t *s1[4], *s2[3];
    CHECK_EQ_INT(kt_children(a, n, top, NULL, 2), 1);
    CHECK_EQ_INT(top[0].tag, 0x67);
    CHECK_EQ_INT(kt_extent(a, &top[0]), n);
    /* 67 { 7F21, 42, 5F37 } */
    if (kt_children(top[0].value, top[0].len, l1, s1, 4) != 3 || l1[0].tag != 0x7F21 ||
        l1[1].tag != 0x42 || l1[2].tag != 0x5F37) {
        CHECK(false);
        return false;
    }
    /* 7F21 { 7F4E, 5F37 } */
    if (kt_children(l1[0].value, l1[0].len, l2, s2, 3) != 2 || l2[0].tag != 0x7F4E || l2[1].tag != 0x5F37) {
        CHECK(false);
        return false;
    }
    /* 7F4E { 5F29 00, 42 CAR, 7F49, 5F20 CHR } */
    if (kt_children(l2[0].value, l2[0].len, body, NULL, 5) != 4 || body[0].tag != 0x5F29 ||
        body[1].tag != 0x42 || body[2].tag != 0x7F49 || body[3].tag != 0x5F20) {
        CHECK(false);
        return false;
    }
    CHECK(body[0].len == 1 && body[0].value[0] == 0x00);
    const char *car = (o && o->no_car) ? hsm_devid_chr() : "UTCA00001";
    CHECK(body[1].len == strlen(car) && memcmp(body[1].value, car, body[1].len) == 0);
    CHECK(body[3].len == strlen(kt_chr()) && memcmp(body[3].value, kt_chr(), body[3].len) == 0);
    const char *dev_chr = hsm_devid_chr();
    CHECK(l1[1].len == strlen(dev_chr) && memcmp(l1[1].value, dev_chr, l1[1].len) == 0);

    /* 7F49: ascending tags, the exact set per kind. */
    int np = kt_children(body[2].value, body[2].len, pk, NULL, 10);
    static const uint32_t want_rsa[] = {0x06, 0x81, 0x82};
    static const uint32_t want_ec[] = {0x06, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87};
    static const uint32_t want_mont[] = {0x06, 0x81, 0x82, 0x83, 0x84};
    const uint32_t *want = t->kind == KT_RSA ? want_rsa : t->kind == KT_EC ? want_ec : want_mont;
    int nwant = t->kind == KT_RSA ? 3 : t->kind == KT_EC ? 8 : 5;
    CHECK_EQ_INT(np, nwant);
    if (np != nwant) return false;
    for (int i = 0; i < np; i++) {
        CHECK_EQ_INT(pk[i].tag, want[i]);
    }
    const uint8_t *oid = t->kind == KT_MONT ? kt_oid_ri_ecdh_sha256
                         : (o && o->oid) ? o->oid
                         : t->kind == KT_RSA ? kt_oid_rsa_v15_sha256 : kt_oid_ecdsa_sha256;
    CHECK(pk[0].len == 10 && memcmp(pk[0].value, oid, 10) == 0);

    if (t->kind == KT_RSA) {
        k->len = t->bits / 8;
        CHECK_EQ_INT(pk[1].len, k->len);                 /* exactly modulus bytes */
        CHECK(pk[1].len > 0 && (pk[1].value[0] & 0x80)); /* no leading zero, full size */
        CHECK(pk[2].len == 3 && memcmp(pk[2].value, "\x01\x00\x01", 3) == 0);
        memcpy(k->raw, pk[1].value, pk[1].len <= sizeof(k->raw) ? pk[1].len : 0);
        k->raw_len = pk[1].len;
        CHECK_EQ_INT(mbedtls_rsa_import_raw(&k->rsa, pk[1].value, pk[1].len, NULL, 0, NULL, 0, NULL, 0,
                                            pk[2].value, pk[2].len),
                     0);
        CHECK_EQ_INT(mbedtls_rsa_complete(&k->rsa), 0);
        CHECK_EQ_INT(mbedtls_rsa_check_pubkey(&k->rsa), 0);
        CHECK_EQ_INT(mbedtls_rsa_get_len(&k->rsa), k->len);
    } else {
        kt_domain d;
        kt_domain_of(t->grp, &d);
        k->len = d.plen;
        CHECK_EQ_INT(mbedtls_ecp_group_load(&k->grp, t->grp), 0);
        k->nlen = (k->grp.nbits + 7) / 8;
        /* OpenSC matches 81 and 82 byte for byte: the values sent come back unchanged. */
        CHECK(pk[1].len == d.plen && memcmp(pk[1].value, d.p, d.plen) == 0);
        if (t->kind == KT_EC) {
            CHECK(pk[2].len == d.plen && memcmp(pk[2].value, d.a, d.plen) == 0);
            CHECK(pk[3].len == d.plen && memcmp(pk[3].value, d.b, d.plen) == 0);
            CHECK(pk[4].len == d.glen && memcmp(pk[4].value, d.g, d.glen) == 0);
            CHECK(pk[5].len == d.nlen && memcmp(pk[5].value, d.n, d.nlen) == 0);
            CHECK(pk[6].len == 1 + 2 * d.plen && pk[6].value[0] == 0x04);
            CHECK(pk[7].len == 1 && pk[7].value[0] == 0x01);
            memcpy(k->raw, pk[6].value, pk[6].len <= sizeof(k->raw) ? pk[6].len : 0);
            k->raw_len = pk[6].len;
        } else {
            CHECK(pk[2].len == d.nlen && memcmp(pk[2].value, d.n, d.nlen) == 0);
            CHECK(pk[3].len == d.glen && memcmp(pk[3].value, d.g, d.glen) == 0);
            CHECK_EQ_INT(pk[4].len, d.plen);
            memcpy(k->raw, pk[4].value, pk[4].len <= sizeof(k->raw) ? pk[4].len : 0);
            k->raw_len = pk[4].len;
        }
        CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&k->grp, &k->Q, k->raw, k->raw_len), 0);
        CHECK_EQ_INT(mbedtls_ecp_check_pubkey(&k->grp, &k->Q), 0);
    }

    /* Inner signature over the whole 7F4E TLV, by the new key. */
    uint8_t h[32];
    mbedtls_sha256(s2[0], kt_extent(s2[0], &l2[0]), h, 0);
    const hsm_tlv *isig = &l2[1];
    if (t->kind == KT_RSA) {
        CHECK(kt_v15_ok(k, MBEDTLS_MD_SHA256, h, 32, isig->value, isig->len));
    } else if (t->kind == KT_EC) {
        CHECK(kt_ecdsa_ok(k, h, 32, isig->value, isig->len, false));
    } else {
        static const uint8_t zero[2 * KT_FIELD_MAX];
        CHECK(isig->len == 2 * k->len && memcmp(isig->value, zero, isig->len) == 0);
    }

    /* Outer signature over 7F21 TLV || 42 TLV, by the device key (read afresh: a first
     * INITIALIZE creates a new one). */
    static kt_pub dev;
    bool have_dev = kt_device_key(&dev);
    mbedtls_sha256(s1[0], kt_extent(s1[0], &l1[1]), h, 0);
    CHECK(have_dev && kt_ecdsa_ok(&dev, h, 32, l1[2].value, l1[2].len, false));
    kt_pub_free(&dev);
    CHECK_EQ_INT(l1[2].len, 64);
    return check_fail == fails;
}

/* ---- the inside view --------------------------------------------------------------------- */

/* Key id's record in plaintext, through production code only. Returns its length (0: none). */
static inline size_t kt_expose_record(uint8_t id, uint8_t *out, size_t cap)
{
    hsm_device d;
    uint8_t mkek[HSM_MKEK_SIZE];
    unsigned tries;
    hsm_session s;
    static uint8_t sealed[HSM_STORE_OBJ_MAX];
    size_t sn, pn = 0;
    memset(&s, 0, sizeof(s));
    if (hsm_device_load(&d) != HSM_OK ||
        hsm_pin_check(&d, HSM_PIN_ROLE_USER, kt_pin, sizeof(kt_pin), mkek, &tries) != HSM_OK ||
        hsm_session_open_keys(&s, mkek) != HSM_OK) {
        CHECK(false);
        return 0;
    }
    uint16_t fid = (uint16_t)((HSM_PREFIX_KEY << 8) | id);
    if (hsm_store_read(fid, 0, sealed, sizeof(sealed), &sn) != HSM_OK ||
        hsm_secret_expose(&s, fid, sealed, sn, out, cap, &pn) != HSM_OK) {
        pn = 0;
    }
    hsm_session_clear(&s);
    memset(mkek, 0, sizeof(mkek));
    return pn;
}

/* The usage counter in key id's record (tag C2), 0xFFFFFFFF when absent or unreadable. */
static inline uint32_t kt_record_counter(uint8_t id)
{
    static uint8_t rec[4096];
    size_t n = kt_expose_record(id, rec, sizeof(rec));
    hsm_tlv t;
    if (n == 0 || hsm_tlv_find(rec, n, 0xC2, &t) != 1 || t.len != 4) {
        return 0xFFFFFFFFu;
    }
    return ((uint32_t)t.value[0] << 24) | ((uint32_t)t.value[1] << 16) | ((uint32_t)t.value[2] << 8) | t.value[3];
}

/* The whole flash region. */
static inline size_t kt_flash_image(uint8_t *img, size_t cap)
{
    uint32_t size = hsm_port_flash_size();
    if (size > cap || hsm_port_flash_read(0, img, size) != HSM_OK) {
        CHECK(false);
        return 0;
    }
    return size;
}

static inline double kt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
