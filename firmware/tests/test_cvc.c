/*
 * test_cvc.c — CV certificate encoding (cvc.c) and the device identity (devid.c).
 *
 * Every certificate is taken apart with the core's own TLV reader and its signature checked
 * with mbedtls_ecdsa_verify, i.e. by code independent of the encoder's signing path. The Go
 * package host/cvc cross-checks the encoding with a separate parser (`test_cvc --dump HEXID`
 * prints the C_DevAut bytes of a device whose unique ID is HEXID, 16 hex digits).
 *
 * Fake platform: the unique ID is `test_uid`; entropy is a fixed counter pattern, so every run
 * produces the same keys (fine for encoding tests, never for a device).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hsm/cvc.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/entropy.h"
#include "hsm/port/flash.h"
#include "hsm/port/otp.h"
#include "hsm/rng.h"
#include "hsm/tlv.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/sha256.h"

/* ---- fake platform ---- */

static uint8_t test_uid[8] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7};
static uint8_t entropy_counter;

void hsm_port_unique_id(uint8_t id[8])
{
    memcpy(id, test_uid, 8);
}

int hsm_port_entropy(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(entropy_counter++ * 167u + 13u);
    }
    return HSM_OK;
}

uint64_t hsm_port_millis(void)
{
    return 0;
}

void hsm_port_led(hsm_led_state s)
{
    (void)s;
}

/* No flash: the store is never mounted here (devid falls back to its boot placeholder). */
uint32_t hsm_port_flash_size(void)
{
    return 0;
}

int hsm_port_flash_read(uint32_t off, void *buf, size_t len)
{
    (void)off, (void)buf, (void)len;
    return HSM_ERR_FLASH;
}

int hsm_port_flash_program(uint32_t off, const void *buf, size_t len)
{
    (void)off, (void)buf, (void)len;
    return HSM_ERR_FLASH;
}

int hsm_port_flash_erase(uint32_t off)
{
    (void)off;
    return HSM_ERR_FLASH;
}

/* No OTP root (the PIN code is linked in through the device key's sealing; never called). */
int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE])
{
    memset(out, 0, HSM_OTP_ROOT_SIZE);
    return HSM_ERR_NOT_FOUND;
}

/* ---- helpers ---- */

static const uint8_t eff[6] = {2, 6, 0, 1, 0, 1};
static const uint8_t exp_[6] = {9, 9, 1, 2, 3, 1};
static const uint8_t chat[] = {0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03,
                               0x01, 0x02, 0x02, 0x53, 0x01, 0x00};

/* Reads the next TLV and checks its tag; records where it started (for the signed bytes). */
static int next_is(hsm_tlv_reader *r, uint32_t tag, hsm_tlv *t, const uint8_t **start)
{
    const uint8_t *s = r->p;
    if (hsm_tlv_next(r, t) != 1 || t->tag != tag) {
        return 0;
    }
    if (start) {
        *start = s;
    }
    return 1;
}

static int gen_key(mbedtls_ecp_keypair *k, mbedtls_ecp_group_id id)
{
    mbedtls_ecp_keypair_init(k);
    return mbedtls_ecp_gen_key(id, k, hsm_rng_mbedtls, NULL);
}

static void mpi_bytes(const mbedtls_mpi *x, uint8_t *buf, size_t len)
{
    CHECK_EQ_INT(mbedtls_mpi_write_binary(x, buf, len), 0);
}

/* Verifies an r||s signature over msg with the point encoded in `point`. 1 = valid. */
static int verify_plain(mbedtls_ecp_group_id id, const uint8_t *point, size_t point_len,
                        const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    mbedtls_mpi r, s;
    uint8_t hash[32];
    int ok = 0;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&Q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (mbedtls_ecp_group_load(&grp, id) == 0 &&
        mbedtls_ecp_point_read_binary(&grp, &Q, point, point_len) == 0 &&
        mbedtls_mpi_read_binary(&r, sig, sig_len / 2) == 0 &&
        mbedtls_mpi_read_binary(&s, sig + sig_len / 2, sig_len / 2) == 0 &&
        mbedtls_sha256(msg, msg_len, hash, 0) == 0 &&
        mbedtls_ecdsa_verify(&grp, hash, sizeof(hash), &Q, &r, &s) == 0) {
        ok = 1;
    }
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&Q);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return ok;
}

/* A parsed certificate: pointers into the caller's buffer. */
typedef struct {
    const uint8_t *body; /* the whole 7F4E TLV */
    size_t body_len;
    hsm_tlv car, chr, pubkey, sig, chat, eff, exp;
} cert_view;

/* Checks the structure of 7F21 and fills v. Returns 1 when everything is where it belongs. */
static int parse_cert(const uint8_t *buf, size_t len, cert_view *v)
{
    hsm_tlv_reader r, rc, rb;
    hsm_tlv cert, body, cpi, t;
    hsm_tlv_reader_init(&r, buf, len);
    if (!next_is(&r, 0x7F21, &cert, NULL) || hsm_tlv_next(&r, &t) != 0) {
        return 0;
    }
    hsm_tlv_reader_init(&rc, cert.value, cert.len);
    if (!next_is(&rc, 0x7F4E, &body, &v->body) || !next_is(&rc, 0x5F37, &v->sig, NULL) ||
        hsm_tlv_next(&rc, &t) != 0) {
        return 0;
    }
    v->body_len = (size_t)(body.value + body.len - v->body);
    hsm_tlv_reader_init(&rb, body.value, body.len);
    if (!next_is(&rb, 0x5F29, &cpi, NULL) || cpi.len != 1 || cpi.value[0] != 0 ||
        !next_is(&rb, 0x42, &v->car, NULL) || !next_is(&rb, 0x7F49, &v->pubkey, NULL) ||
        !next_is(&rb, 0x5F20, &v->chr, NULL) || !next_is(&rb, 0x7F4C, &v->chat, NULL) ||
        !next_is(&rb, 0x5F25, &v->eff, NULL) || !next_is(&rb, 0x5F24, &v->exp, NULL) ||
        hsm_tlv_next(&rb, &t) != 0) {
        return 0;
    }
    return 1;
}

/* Checks a 7F49 value: tags 06, 81..87 in order with full-length values; returns 86 in q. */
static void check_pubkey(const hsm_tlv *pk, const mbedtls_ecp_group *grp, hsm_tlv *q)
{
    static const uint32_t tags[] = {0x06, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87};
    size_t plen = mbedtls_mpi_size(&grp->P);
    const size_t lens[] = {10, plen, plen, plen, 1 + 2 * plen, plen, 1 + 2 * plen, 1};
    uint8_t want[1 + 2 * HSM_CVC_FIELD_MAX];
    hsm_tlv el[8], t;
    hsm_tlv_reader r;

    hsm_tlv_reader_init(&r, pk->value, pk->len);
    for (size_t i = 0; i < 8; i++) {
        CHECK(next_is(&r, tags[i], &el[i], NULL));
        CHECK_EQ_INT(el[i].len, lens[i]);
        if (el[i].len != lens[i]) {
            return;
        }
    }
    CHECK_EQ_INT(hsm_tlv_next(&r, &t), 0);
    CHECK_MEM(el[0].value, hsm_cvc_oid_ecdsa_sha256, 10);
    mpi_bytes(&grp->P, want, plen);
    CHECK_MEM(el[1].value, want, plen);
    if (mbedtls_ecp_group_a_is_minus_3(grp)) {
        /* a = p - 3: p's bytes with the last one lowered by 3 (p ends in FF for these curves) */
        want[plen - 1] = (uint8_t)(want[plen - 1] - 3);
    } else {
        mpi_bytes(&grp->A, want, plen);
    }
    CHECK_MEM(el[2].value, want, plen);
    mpi_bytes(&grp->B, want, plen);
    CHECK_MEM(el[3].value, want, plen);
    CHECK_EQ_INT(el[4].value[0], 0x04);
    mpi_bytes(&grp->N, want, plen);
    CHECK_MEM(el[5].value, want, plen);
    CHECK_EQ_INT(el[6].value[0], 0x04);
    CHECK_EQ_INT(el[7].value[0], 0x01);
    *q = el[6];
}

/* ---- tests ---- */

static void test_pubkey_p256_known_values(void)
{
    static const uint8_t p[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t b[32] = {0x5A, 0xC6, 0x35, 0xD8, 0xAA, 0x3A, 0x93, 0xE7, 0xB3, 0xEB, 0xBD,
                                  0x55, 0x76, 0x98, 0x86, 0xBC, 0x65, 0x1D, 0x06, 0xB0, 0xCC, 0x53,
                                  0xB0, 0xF6, 0x3B, 0xCE, 0x3C, 0x3E, 0x27, 0xD2, 0x60, 0x4B};
    static const uint8_t n[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
                                  0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
    static const uint8_t gx[4] = {0x6B, 0x17, 0xD1, 0xF2};
    mbedtls_ecp_keypair k;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    uint8_t buf[400];
    hsm_tlv_writer w;
    hsm_tlv pk, el;

    CHECK_EQ_INT(gen_key(&k, MBEDTLS_ECP_DP_SECP256R1), 0);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&Q);
    CHECK_EQ_INT(mbedtls_ecp_export(&k, &grp, NULL, &Q), 0);
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    CHECK_EQ_INT(hsm_cvc_put_ec_pubkey(&w, &grp, &Q, hsm_cvc_oid_ecdsa_sha256, 10), HSM_OK);
    CHECK_EQ_INT(hsm_tlv_find(buf, w.len, 0x7F49, &pk), 1);
    CHECK_EQ_INT(hsm_tlv_find(pk.value, pk.len, 0x81, &el), 1);
    CHECK(el.len == 32 && memcmp(el.value, p, 32) == 0);
    CHECK_EQ_INT(hsm_tlv_find(pk.value, pk.len, 0x82, &el), 1);
    CHECK(el.len == 32 && memcmp(el.value, p, 31) == 0 && el.value[31] == 0xFC);
    CHECK_EQ_INT(hsm_tlv_find(pk.value, pk.len, 0x83, &el), 1);
    CHECK(el.len == 32 && memcmp(el.value, b, 32) == 0);
    CHECK_EQ_INT(hsm_tlv_find(pk.value, pk.len, 0x84, &el), 1);
    CHECK(el.len == 65 && el.value[0] == 0x04 && memcmp(el.value + 1, gx, 4) == 0);
    CHECK_EQ_INT(hsm_tlv_find(pk.value, pk.len, 0x85, &el), 1);
    CHECK(el.len == 32 && memcmp(el.value, n, 32) == 0);
    /* the template is exactly (2 + 3) + 12 + 4 * 34 + 2 * 67 + 3 = 290 bytes */
    CHECK_EQ_INT(w.len, 290);

    /* too small for the template: an error, no write past the capacity */
    for (size_t cap = 0; cap < 290; cap += 17) {
        memset(buf, 0xA5, sizeof(buf));
        hsm_tlv_writer_init(&w, buf, cap);
        CHECK_EQ_INT(hsm_cvc_put_ec_pubkey(&w, &grp, &Q, hsm_cvc_oid_ecdsa_sha256, 10),
                     HSM_ERR_NO_SPACE);
        CHECK(buf[cap] == 0xA5);
    }
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&Q);
    mbedtls_ecp_keypair_free(&k);
}

static void test_pubkey_curves(void)
{
    static const mbedtls_ecp_group_id ids[] = {
        MBEDTLS_ECP_DP_SECP192R1, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
        MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_SECP192K1, MBEDTLS_ECP_DP_SECP256K1,
        MBEDTLS_ECP_DP_BP256R1,   MBEDTLS_ECP_DP_BP384R1,   MBEDTLS_ECP_DP_BP512R1,
    };
    static uint8_t buf[1024];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        mbedtls_ecp_keypair k;
        mbedtls_ecp_group grp;
        mbedtls_ecp_point Q, Q2;
        hsm_tlv_writer w;
        hsm_tlv pk, q = {0};

        CHECK_EQ_INT(gen_key(&k, ids[i]), 0);
        mbedtls_ecp_group_init(&grp);
        mbedtls_ecp_point_init(&Q);
        mbedtls_ecp_point_init(&Q2);
        CHECK_EQ_INT(mbedtls_ecp_export(&k, &grp, NULL, &Q), 0);
        hsm_tlv_writer_init(&w, buf, sizeof(buf));
        CHECK_EQ_INT(hsm_cvc_put_ec_pubkey(&w, &grp, &Q, hsm_cvc_oid_ecdsa_sha256, 10), HSM_OK);
        CHECK_EQ_INT(hsm_tlv_find(buf, w.len, 0x7F49, &pk), 1);
        check_pubkey(&pk, &grp, &q);
        if (q.value) {
            CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&grp, &Q2, q.value, q.len), 0);
            CHECK_EQ_INT(mbedtls_ecp_point_cmp(&Q, &Q2), 0);
        }
        /* spec 3.7.3 facts */
        hsm_tlv el;
        if (ids[i] == MBEDTLS_ECP_DP_SECP256K1) {
            static const uint8_t zero[32];
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x82, &el) == 1 && el.len == 32 &&
                  memcmp(el.value, zero, 32) == 0);
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x83, &el) == 1 && el.len == 32 &&
                  memcmp(el.value, zero, 31) == 0 && el.value[31] == 0x07);
        }
        if (ids[i] == MBEDTLS_ECP_DP_SECP521R1) {
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x81, &el) == 1 && el.len == 66 &&
                  el.value[0] == 0x01);
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x82, &el) == 1 && el.value[0] == 0x01);
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x83, &el) == 1 && el.value[0] == 0x00 &&
                  el.value[1] == 0x51);
            CHECK(hsm_tlv_find(pk.value, pk.len, 0x85, &el) == 1 && el.value[0] == 0x01);
        }
        mbedtls_ecp_group_free(&grp);
        mbedtls_ecp_point_free(&Q);
        mbedtls_ecp_point_free(&Q2);
        mbedtls_ecp_keypair_free(&k);
    }

    /* a Montgomery curve has no 7F49 layout of this kind */
    mbedtls_ecp_keypair k;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    hsm_tlv_writer w;
    CHECK_EQ_INT(gen_key(&k, MBEDTLS_ECP_DP_CURVE25519), 0);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&Q);
    CHECK_EQ_INT(mbedtls_ecp_export(&k, &grp, NULL, &Q), 0);
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    CHECK_EQ_INT(hsm_cvc_put_ec_pubkey(&w, &grp, &Q, hsm_cvc_oid_ecdsa_sha256, 10),
                 HSM_ERR_UNSUPPORTED);
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&Q);
    mbedtls_ecp_keypair_free(&k);
}

/* Builds, parses and verifies a certificate on curve `id`; checks the signature length. */
static void check_self_signed(mbedtls_ecp_group_id id, size_t sig_len)
{
    static uint8_t buf[1024];
    mbedtls_ecp_keypair k;
    mbedtls_ecp_group grp;
    size_t len = 0;
    cert_view v;
    hsm_tlv q = {0};

    CHECK_EQ_INT(gen_key(&k, id), 0);
    mbedtls_ecp_group_init(&grp);
    CHECK_EQ_INT(mbedtls_ecp_group_load(&grp, id), 0);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZPTESTCA00001", "ZZPTESTDEV00001", eff, exp_,
                                           buf, sizeof(buf), &len),
                 HSM_OK);
    CHECK(parse_cert(buf, len, &v));
    CHECK(v.car.len == 14 && memcmp(v.car.value, "ZZPTESTCA00001", 14) == 0);
    CHECK(v.chr.len == 15 && memcmp(v.chr.value, "ZZPTESTDEV00001", 15) == 0);
    CHECK(v.chat.len == sizeof(chat) && memcmp(v.chat.value, chat, sizeof(chat)) == 0);
    CHECK(v.eff.len == 6 && memcmp(v.eff.value, eff, 6) == 0);
    CHECK(v.exp.len == 6 && memcmp(v.exp.value, exp_, 6) == 0);
    CHECK_EQ_INT(v.sig.len, sig_len);
    check_pubkey(&v.pubkey, &grp, &q);
    if (q.value) {
        CHECK(verify_plain(id, q.value, q.len, v.body, v.body_len, v.sig.value, v.sig.len));
    }
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_keypair_free(&k);
}

static void test_self_signed_p256(void)
{
    static uint8_t buf[1024], copy[1024], small[1024 + 16];
    mbedtls_ecp_keypair k;
    size_t len = 0, len2 = 0;
    cert_view v;
    hsm_tlv q;

    check_self_signed(MBEDTLS_ECP_DP_SECP256R1, 64);

    CHECK_EQ_INT(gen_key(&k, MBEDTLS_ECP_DP_SECP256R1), 0);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZPABCDEFGH00001", "ZZPABCDEFGH00001", eff, exp_,
                                           buf, sizeof(buf), &len),
                 HSM_OK);
    /* 16-character names: body 4 + 18 + 290 + 19 + 17 + 9 + 9 = 366, body TLV 5 + 366,
     * signature TLV 3 + 64, certificate 5 + 371 + 67 = 443 bytes */
    CHECK_EQ_INT(len, 443);
    CHECK(parse_cert(buf, len, &v));
    CHECK_EQ_INT(hsm_tlv_find(v.pubkey.value, v.pubkey.len, 0x86, &q), 1);

    /* any flipped byte in the body, or in the signature, breaks the signature */
    size_t body_off = (size_t)(v.body - buf), sig_off = (size_t)(v.sig.value - buf);
    const size_t flips[] = {body_off, body_off + 10, body_off + v.body_len - 1, sig_off,
                            sig_off + 40};
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        cert_view cv;
        hsm_tlv cq;
        memcpy(copy, buf, len);
        copy[flips[i]] ^= 0x01;
        if (parse_cert(copy, len, &cv) &&
            hsm_tlv_find(cv.pubkey.value, cv.pubkey.len, 0x86, &cq) == 1) {
            CHECK(!verify_plain(MBEDTLS_ECP_DP_SECP256R1, cq.value, cq.len, cv.body, cv.body_len,
                                cv.sig.value, cv.sig.len));
        } else {
            CHECK(1); /* the flip broke the structure: rejected anyway */
        }
    }

    /* every capacity below the size fails cleanly, without writing past it */
    int all_fail = 1, no_overrun = 1;
    for (size_t cap = 0; cap < len; cap++) {
        memset(small, 0xA5, sizeof(small));
        len2 = 99;
        int rc = hsm_cvc_build_self_signed(&k, "ZZPABCDEFGH00001", "ZZPABCDEFGH00001", eff, exp_,
                                           small, cap, &len2);
        if (rc != HSM_ERR_NO_SPACE || len2 != 0) {
            all_fail = 0;
        }
        for (size_t j = cap; j < sizeof(small); j++) {
            if (small[j] != 0xA5) {
                no_overrun = 0;
            }
        }
    }
    CHECK(all_fail);
    CHECK(no_overrun);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZPABCDEFGH00001", "ZZPABCDEFGH00001", eff, exp_,
                                           small, len, &len2),
                 HSM_OK);
    CHECK_EQ_INT(len2, len);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "A", "B", eff, exp_, NULL, 0, &len2),
                 HSM_ERR_NO_SPACE);

    /* bad names and dates */
    const uint8_t bad_month[6] = {2, 6, 1, 3, 0, 1}, bad_day[6] = {2, 6, 0, 1, 3, 2};
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ", "ZZPABCDEFGH000012", eff, exp_, buf,
                                           sizeof(buf), &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "", "ZZP00001", eff, exp_, buf, sizeof(buf),
                                           &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ", "ZZP*0001", eff, exp_, buf, sizeof(buf),
                                           &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ\n", "ZZP00001", eff, exp_, buf, sizeof(buf),
                                           &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ", "ZZP00001", bad_month, exp_, buf,
                                           sizeof(buf), &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ", "ZZP00001", eff, bad_day, buf, sizeof(buf),
                                           &len2),
                 HSM_ERR_DATA);
    const uint8_t bad_digit[6] = {2, 6, 0, 10, 0, 1};
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZ", "ZZP00001", eff, bad_digit, buf,
                                           sizeof(buf), &len2),
                 HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(NULL, "ZZ", "ZZP00001", eff, exp_, buf, sizeof(buf),
                                           &len2),
                 HSM_ERR_INTERNAL);
    mbedtls_ecp_keypair_free(&k);
}

static void test_self_signed_other_curves(void)
{
    check_self_signed(MBEDTLS_ECP_DP_SECP384R1, 96);
    check_self_signed(MBEDTLS_ECP_DP_SECP521R1, 132);
    check_self_signed(MBEDTLS_ECP_DP_SECP256K1, 64);
    check_self_signed(MBEDTLS_ECP_DP_BP256R1, 64);
}

static void test_serial(void)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    char sa[HSM_DEVID_SERIAL_LEN + 1], sb[HSM_DEVID_SERIAL_LEN + 1], sa2[HSM_DEVID_SERIAL_LEN + 1];

    CHECK_EQ_INT(hsm_devid_serial_from_uid(a, sa), HSM_OK);
    CHECK_EQ_INT(hsm_devid_serial_from_uid(b, sb), HSM_OK);
    CHECK_EQ_INT(hsm_devid_serial_from_uid(a, sa2), HSM_OK);
    CHECK_EQ_INT(strlen(sa), HSM_DEVID_SERIAL_LEN);
    CHECK(strcmp(sa, sb) != 0);
    CHECK(strcmp(sa, sa2) == 0);
    CHECK(memcmp(sa, "ZZP", 3) == 0);
    int in_alphabet = 1;
    for (size_t i = 3; i < HSM_DEVID_SERIAL_LEN; i++) {
        if (sa[i] == '\0' || strchr(alphabet, sa[i]) == NULL) {
            in_alphabet = 0;
        }
    }
    CHECK(in_alphabet);

    /* the all-zero ID and the 64 IDs one bit away from it: 65 distinct serials */
    static char many[65][HSM_DEVID_SERIAL_LEN + 1];
    int distinct = 1;
    for (size_t i = 0; i < 65; i++) {
        uint8_t id[8] = {0};
        if (i > 0) {
            id[(i - 1) / 8] = (uint8_t)(1u << ((i - 1) % 8));
        }
        CHECK_EQ_INT(hsm_devid_serial_from_uid(id, many[i]), HSM_OK);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(many[i], many[j]) == 0) {
                distinct = 0;
            }
        }
    }
    CHECK(distinct);
}

static void test_devid(void)
{
    const uint8_t *data = NULL, *data2 = NULL;
    size_t len = 0, len2 = 0;
    char want[HSM_DEVID_SERIAL_LEN + 1];
    cert_view v;
    hsm_tlv q;

    CHECK(hsm_devid_serial() == NULL);
    CHECK_EQ_INT(hsm_devid_c_devaut(&data, &len), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_devid_init(), HSM_OK);
    const char *serial = hsm_devid_serial(), *chr = hsm_devid_chr();
    CHECK(serial != NULL && chr != NULL);
    if (serial == NULL || chr == NULL) {
        return;
    }
    CHECK_EQ_INT(hsm_devid_serial_from_uid(test_uid, want), HSM_OK);
    CHECK(strcmp(serial, want) == 0);
    CHECK_EQ_INT(strlen(chr), HSM_DEVID_CHR_LEN);
    CHECK(strlen(chr) >= 8);
    CHECK(strncmp(chr, serial, HSM_DEVID_SERIAL_LEN) == 0);
    CHECK(strcmp(chr + HSM_DEVID_SERIAL_LEN, "00001") == 0);

    CHECK_EQ_INT(hsm_devid_c_devaut(&data, &len), HSM_OK);
    CHECK(len > 0 && len <= HSM_DEVID_C_DEVAUT_MAX);
    CHECK(parse_cert(data, len, &v));
    CHECK(v.chr.len == strlen(chr) && memcmp(v.chr.value, chr, v.chr.len) == 0);
    CHECK(v.car.len == v.chr.len && memcmp(v.car.value, v.chr.value, v.chr.len) == 0);
    CHECK(v.eff.len == 6 && memcmp(v.eff.value, eff, 6) == 0);
    CHECK(v.exp.len == 6 && memcmp(v.exp.value, exp_, 6) == 0);
    CHECK_EQ_INT(hsm_tlv_find(v.pubkey.value, v.pubkey.len, 0x86, &q), 1);
    CHECK(verify_plain(MBEDTLS_ECP_DP_SECP256R1, q.value, q.len, v.body, v.body_len, v.sig.value,
                       v.sig.len));

    /* Without a store (none is mounted here) the boot placeholder stands in; the persistent
     * device key and its outer signatures are tested through the card (test_trust.c). */

    /* idempotent: the same identity, the same bytes */
    CHECK_EQ_INT(hsm_devid_init(), HSM_OK);
    CHECK(hsm_devid_serial() == serial);
    CHECK_EQ_INT(hsm_devid_c_devaut(&data2, &len2), HSM_OK);
    CHECK(data2 == data && len2 == len);
}

/* hsm_cvc_parse and hsm_cvc_verify: a good certificate, every mandatory element missing, bad
 * order, bad names and dates, truncation, trailing bytes; verification under the right key, a
 * wrong key, a flipped signature, a key on another curve (its 81/82 name the curve). */
static void test_parse_verify(void)
{
    static uint8_t buf[1024], bad[1024];
    mbedtls_ecp_keypair k, other;
    size_t len = 0, used = 0;
    hsm_cvc_cert c;

    CHECK_EQ_INT(gen_key(&k, MBEDTLS_ECP_DP_SECP256R1), 0);
    CHECK_EQ_INT(gen_key(&other, MBEDTLS_ECP_DP_BP256R1), 0);
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&k, "ZZPCA", "ZZPTR00001", eff, exp_, buf, sizeof(buf), &len),
                 HSM_OK);
    memcpy(buf + len, "\x01\x02", 2); /* trailing bytes are not the certificate's */
    CHECK_EQ_INT(hsm_cvc_parse(buf, len + 2, &c, &used), HSM_OK);
    CHECK_EQ_INT(used, len);
    CHECK(c.raw == buf && c.raw_len == len);
    CHECK(c.car.len == 5 && memcmp(c.car.value, "ZZPCA", 5) == 0);
    CHECK(c.chr.len == 10 && memcmp(c.chr.value, "ZZPTR00001", 10) == 0);
    CHECK(c.has_chat && c.has_dates);
    CHECK(memcmp(c.effective, eff, 6) == 0 && memcmp(c.expiry, exp_, 6) == 0);
    CHECK(c.body[0] == 0x7F && c.body[1] == 0x4E && c.sig.len == 64);
    CHECK_EQ_INT(hsm_cvc_verify(&c, c.pubkey.value, c.pubkey.len, c.pubkey.value, c.pubkey.len), HSM_OK);

    /* Another key on another curve: its own 81/82 select brainpoolP256r1; the signature fails. */
    static uint8_t ob[1024];
    size_t olen = 0;
    hsm_cvc_cert oc;
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&other, "ZZPCA", "ZZPOTHER", eff, exp_, ob, sizeof(ob), &olen), HSM_OK);
    CHECK_EQ_INT(hsm_cvc_parse(ob, olen, &oc, &used), HSM_OK);
    CHECK_EQ_INT(hsm_cvc_verify(&oc, oc.pubkey.value, oc.pubkey.len, oc.pubkey.value, oc.pubkey.len), HSM_OK);
    CHECK_EQ_INT(hsm_cvc_verify(&c, oc.pubkey.value, oc.pubkey.len, oc.pubkey.value, oc.pubkey.len),
                 HSM_ERR_CONDITIONS);
    /* the right point read on the wrong curve is not a point: malformed key */
    CHECK_EQ_INT(hsm_cvc_verify(&c, c.pubkey.value, c.pubkey.len, oc.pubkey.value, oc.pubkey.len), HSM_ERR_DATA);
    /* a flipped signature bit */
    memcpy(bad, buf, len);
    bad[len - 1] ^= 0x80;
    CHECK_EQ_INT(hsm_cvc_parse(bad, len, &oc, &used), HSM_OK);
    CHECK_EQ_INT(hsm_cvc_verify(&oc, c.pubkey.value, c.pubkey.len, c.pubkey.value, c.pubkey.len), HSM_ERR_CONDITIONS);
    /* a domain without 81/82 */
    CHECK_EQ_INT(hsm_cvc_verify(&c, c.pubkey.value, c.pubkey.len, (const uint8_t *)"\x06\x01\x00", 3), HSM_ERR_DATA);

    /* Truncations at every length are malformed, never a crash. */
    for (size_t n = 0; n < len; n++) {
        if (hsm_cvc_parse(buf, n, &oc, &used) != HSM_ERR_DATA) {
            CHECK(false);
            fprintf(stderr, "truncated to %zu parsed\n", n);
            break;
        }
    }

    /* Hand-built bodies: each case is 7F21 { 7F4E { body }, 5F37 01 00 }. */
    static const struct {
        const char *what;
        uint8_t body[40];
        size_t len;
        int rc;
    } cases[] = {
        {"minimal", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B'}, 16, HSM_OK},
        {"no CPI", {0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B'}, 12, HSM_ERR_DATA},
        {"no CAR", {0x5F, 0x29, 1, 0, 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B'}, 13, HSM_ERR_DATA},
        {"no CHR", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0}, 12, HSM_ERR_DATA},
        {"CHR before key", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x5F, 0x20, 1, 'B', 0x7F, 0x49, 2, 0x06, 0}, 16,
         HSM_ERR_DATA},
        {"empty CAR", {0x5F, 0x29, 1, 0, 0x42, 0, 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B'}, 15, HSM_ERR_DATA},
        {"bad date", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B',
                      0x5F, 0x25, 6, 2, 6, 1, 3, 0, 1}, 25, HSM_ERR_DATA},
        {"short date", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B',
                        0x5F, 0x24, 5, 2, 6, 1, 2, 0}, 24, HSM_ERR_DATA},
        {"unknown tag", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B', 0x99, 0},
         18, HSM_ERR_DATA},
        {"dates", {0x5F, 0x29, 1, 0, 0x42, 1, 'A', 0x7F, 0x49, 2, 0x06, 0, 0x5F, 0x20, 1, 'B',
                   0x5F, 0x25, 6, 2, 6, 0, 1, 0, 1, 0x5F, 0x24, 6, 2, 7, 1, 2, 3, 1}, 34, HSM_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t cbuf[64];
        size_t n = 0;
        cbuf[n++] = 0x7F, cbuf[n++] = 0x21, cbuf[n++] = (uint8_t)(cases[i].len + 3 + 4);
        cbuf[n++] = 0x7F, cbuf[n++] = 0x4E, cbuf[n++] = (uint8_t)cases[i].len;
        memcpy(cbuf + n, cases[i].body, cases[i].len), n += cases[i].len;
        cbuf[n++] = 0x5F, cbuf[n++] = 0x37, cbuf[n++] = 1, cbuf[n++] = 0;
        int rc = hsm_cvc_parse(cbuf, n, &oc, &used);
        if (rc != cases[i].rc) {
            CHECK(false);
            fprintf(stderr, "case %s: %d, want %d\n", cases[i].what, rc, cases[i].rc);
        }
    }
    /* Wrong outer tag, missing signature, extra element after the signature. */
    CHECK_EQ_INT(hsm_cvc_parse((const uint8_t *)"\x7F\x4E\x00", 3, &oc, &used), HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_cvc_parse((const uint8_t *)"\x7F\x21\x03\x7F\x4E\x00", 6, &oc, &used), HSM_ERR_DATA);
    mbedtls_ecp_keypair_free(&k);
    mbedtls_ecp_keypair_free(&other);
}

static int dump(const char *hex)
{
    if (strlen(hex) != 16) {
        fprintf(stderr, "--dump wants 16 hex digits\n");
        return 2;
    }
    for (size_t i = 0; i < 8; i++) {
        char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
        char *end;
        unsigned long v = strtoul(byte, &end, 16);
        if (*end != '\0') {
            fprintf(stderr, "--dump: not hex: %s\n", hex);
            return 2;
        }
        test_uid[i] = (uint8_t)v;
    }
    const uint8_t *data;
    size_t len;
    if (hsm_devid_init() != HSM_OK || hsm_devid_c_devaut(&data, &len) != HSM_OK) {
        fprintf(stderr, "--dump: device identity failed\n");
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        printf("%02X", data[i]);
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
        return dump(argv[2]);
    }
    test_pubkey_p256_known_values();
    test_pubkey_curves();
    test_self_signed_p256();
    test_self_signed_other_curves();
    test_serial();
    test_devid();
    test_parse_verify();
    return CHECK_DONE();
}
