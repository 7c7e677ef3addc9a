/*
 * cmd_keygen.c — GENERATE ASYMMETRIC KEY PAIR (46), spec 2.11.
 *
 * P1 = key number 01..FF (00, the device key, is refused: 6A86); P2 = 00 (the device key signs
 * the outer layer). Data: the content of a CV body — 5F29, 42 CAR, 7F49 template, 5F20 CHR —
 * plus the optional key attributes 90 usage counter, 91 allowed algorithms, 92 key domain.
 * A key whose 91 names 84 is an XKEK key: it needs 92 naming an XKEK domain (6700 otherwise)
 * and its certificate carries the domain's UID in a 65 extension (xkek.h, ext. spec 4.3).
 * RSA: 7F49 { 06 id-TA-RSA-v1-5-SHA-256, 82 exponent (default 65537), 02 modulus bits (default
 * 2048) }. EC: 7F49 { 06 id-TA-ECDSA-SHA-256, 81 p, 82 a, ... }: the curve is the supported one
 * whose p and a both match (6A81 otherwise). Other OIDs are 6A81: the self-signature is always
 * made with SHA-256 and v1.5 / ECDSA, and the answer's 7F49 repeats the OID, so any other one
 * would mislabel it (ext. spec 5.2.1: the Pico firmware accepts exactly these two).
 *
 * Answer: 67 { 7F21 { 7F4E { 5F29 00, 42 CAR, 7F49 public key, 5F20 CHR }, 5F37 signature by
 * the new key }, 42 device CHR, 5F37 device signature over the 7F21 and 42 TLVs }.
 */
#include <string.h>

#include "attest.h"
#include "cmd.h"
#include "extras.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "keys.h"
#include "xkek.h"

#define NAME_MAX_LEN 16u

static const uint8_t oid_ta_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t oid_ta_ecdsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};

typedef struct {
    hsm_key_spec spec;
    hsm_tlv car, chr, oid;
    bool has_car, has_chr, has_domain;
    uint8_t ext[HSM_XKEK_EXT_MAX]; /* 65 extension of XKEK keys (ext. spec 4.3 step 3) */
    size_t ext_len;
} request;

static uint32_t be_uint(const uint8_t *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static int parse_template(const hsm_tlv *tpl, request *r)
{
    hsm_tlv t, p, a;
    if (hsm_tlv_find(tpl->value, tpl->len, 0x06, &r->oid) != 1) {
        return HSM_ERR_DATA;
    }
    if (r->oid.len == sizeof(oid_ta_rsa) &&
        memcmp(r->oid.value, oid_ta_rsa, sizeof(oid_ta_rsa)) == 0) {
        r->spec.type = HSM_KEY_RSA;
        r->spec.rsa_exponent = 65537;
        r->spec.rsa_bits = 2048;
        if (hsm_tlv_find(tpl->value, tpl->len, 0x82, &t) == 1) {
            if (t.len == 0 || t.len > 4) return HSM_ERR_DATA;
            r->spec.rsa_exponent = be_uint(t.value, t.len);
        }
        if (hsm_tlv_find(tpl->value, tpl->len, 0x02, &t) == 1) {
            if (t.len == 0 || t.len > 2) return HSM_ERR_DATA;
            r->spec.rsa_bits = (uint16_t)be_uint(t.value, t.len);
        }
        return HSM_OK;
    }
    if (r->oid.len == sizeof(oid_ta_ecdsa) &&
        memcmp(r->oid.value, oid_ta_ecdsa, sizeof(oid_ta_ecdsa)) == 0) {
        r->spec.type = HSM_KEY_EC;
        if (hsm_tlv_find(tpl->value, tpl->len, 0x81, &p) != 1) {
            return HSM_ERR_DATA;
        }
        if (hsm_key_montgomery_from_prime(p.value, p.len, &r->spec.grp) == HSM_OK) {
            /* Curve25519/Curve448 prime: the generator tells X25519/X448 (u = 9 / 5) from
             * Ed25519/Ed448, which this firmware does not offer. */
            hsm_tlv g;
            if (hsm_tlv_find(tpl->value, tpl->len, 0x83, &g) != 1 || g.len == 0) {
                return HSM_ERR_DATA;
            }
            bool x25519 = r->spec.grp == MBEDTLS_ECP_DP_CURVE25519 && g.value[0] == 0x09;
            bool x448 = r->spec.grp == MBEDTLS_ECP_DP_CURVE448 && g.len == 56 && g.value[0] == 0x05;
            return x25519 || x448 ? HSM_OK : HSM_ERR_UNSUPPORTED;
        }
        if (hsm_tlv_find(tpl->value, tpl->len, 0x82, &a) != 1) {
            return HSM_ERR_DATA;
        }
        return hsm_key_curve_from_params(p.value, p.len, a.value, a.len, &r->spec.grp);
    }
    return HSM_ERR_UNSUPPORTED;
}

static int parse(const hsm_apdu *a, request *r)
{
    hsm_tlv_reader rd;
    hsm_tlv t, tpl = {0};
    bool has_tpl = false;
    int rc;
    memset(r, 0, sizeof(*r));
    r->spec.counter = HSM_KEY_UNLIMITED;
    uint16_t opt = 0;
    if (hsm_options_get(&opt) == HSM_OK && (opt & HSM_OPT_COUNTER_ALL)) {
        r->spec.counter = 0xFFFFFFFEu; /* option 0200: every new key counts (ext. spec 4.5) */
    }
    hsm_tlv_reader_init(&rd, a->data, a->nc);
    while ((rc = hsm_tlv_next(&rd, &t)) == 1) {
        switch (t.tag) {
        case 0x42:
            if (t.len == 0 || t.len > NAME_MAX_LEN) return HSM_ERR_DATA;
            r->car = t, r->has_car = true;
            break;
        case 0x5F20:
            if (t.len == 0 || t.len > NAME_MAX_LEN) return HSM_ERR_DATA;
            r->chr = t, r->has_chr = true;
            break;
        case 0x7F49:
            tpl = t, has_tpl = true;
            break;
        case 0x90:
            if (t.len == 0 || t.len > 4) return HSM_ERR_DATA;
            r->spec.counter = be_uint(t.value, t.len);
            if (r->spec.counter == HSM_KEY_UNLIMITED) r->spec.counter--;
            break;
        case 0x91:
            if (t.len > HSM_KEY_ALGS_MAX) return HSM_ERR_DATA;
            r->spec.nalgs = (uint8_t)t.len;
            memcpy(r->spec.algs, t.value, t.len);
            break;
        case 0x92:
            if (t.len != 1) return HSM_ERR_DATA;
            r->spec.domain = t.value[0];
            r->has_domain = true;
            break;
        default:
            break;
        }
    }
    if (rc < 0 || !has_tpl) {
        return HSM_ERR_DATA;
    }
    rc = hsm_xkek_key_extension(r->spec.algs, r->spec.nalgs, r->has_domain, r->spec.domain, r->ext,
                                sizeof(r->ext), &r->ext_len);
    return rc == HSM_OK ? parse_template(&tpl, r) : rc;
}

static int respond(hsm_cmd *c, uint8_t id, const request *r)
{
    hsm_tlv_writer w;
    hsm_tlv_writer_init(&w, c->out, c->out_cap);
    int rc = hsm_attest_request_ext(c->s, id, r->oid.value, r->oid.len,
                                    r->has_car ? &r->car : NULL, r->has_chr ? &r->chr : NULL,
                                    r->ext_len ? r->ext : NULL, r->ext_len, &w);
    if (rc != HSM_OK) {
        /* An overflow is the answer outgrowing Ne (not 6A84). */
        return rc == HSM_ERR_NO_SPACE && !hsm_tlv_writer_ok(&w) ? HSM_ERR_WRONG_LENGTH : rc;
    }
    c->out_len = w.len;
    return HSM_OK;
}

int hsm_cmd_generate_keypair(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p1 == HSM_DEVICE_KEY_ID || a->p2 != 0x00) {
        return HSM_ERR_P1P2;
    }
    request r;
    int rc = parse(a, &r);
    if (rc != HSM_OK) {
        return rc;
    }
    rc = hsm_key_generate(c->s, a->p1, &r.spec);
    if (rc != HSM_OK) {
        return rc;
    }
    rc = respond(c, a->p1, &r);
    if (rc == HSM_OK) {
        /* The attestation stays with the key (ext. spec 5.4): CE<id> = the 67 answer. */
        rc = hsm_store_write((uint16_t)((HSM_PREFIX_EE_CERT << 8) | a->p1), c->out, c->out_len, 0);
    }
    if (rc != HSM_OK) {
        /* No half-delivered key: the host never learnt its public key. */
        (void)hsm_store_delete((uint16_t)((HSM_PREFIX_KEY << 8) | a->p1));
        c->out_len = 0;
    }
    return rc;
}
