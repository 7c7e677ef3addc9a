/*
 * cmd_cipher_sym.c — CIPHER SYMMETRIC (78), extensions spec 1.3-1.6.
 *
 * P1 = AES key number, P2 = algorithm byte:
 *   10 / 11  AES-CBC encrypt / decrypt, zero IV, no padding (data a multiple of 16, else 6700)
 *   18       AES-CMAC (16/24/32-byte key; a 64-byte key -> 6700)
 *   99       HKDF-SHA-256(salt empty, IKM = key, info = data), output as long as the data
 *            (51/52 OIDs: AES modes, XTS, ChaCha20-Poly1305, HMAC, HKDF, PBKDF2, PBES2, X9.63)
 *   51 / 52  extended cipher: TLVs 06 OID, 81 input, 82 IV/nonce/salt, 83 AAD/shared info,
 *            84 tag length (1 byte, GCM/CCM only; our addition, default 16)
 *   other    6B00
 * Errors of the extended cipher (spec 1.6): missing/unknown OID, key of the wrong length for
 * the OID, wrong IV/nonce length, ECB input not one block, KDF output > 2028 -> 6700;
 * AES-CBC data not a multiple of 16, GCM/CCM tag mismatch -> 6400; ChaCha20-Poly1305 tag
 * mismatch -> 6700; the HD cipher OID without an HD node -> 6A80.
 * Key policy (keys.h): no key 6A82, not an AES key or P2 not in its list 6A81, counter 6984.
 * Decision: an imported secret of another length than 16/24/32/64 bytes (keys.h) serves HMAC,
 * the KDFs and P2 99 (so RFC 4231/5869/6070 vectors run on the device); AES modes, CMAC and
 * ChaCha20-Poly1305 answer 6700 for it, as the reference does for any such key (spec 1.3).
 *
 * Output goes straight into the response buffer; on any failure it is wiped there, so a
 * decryption that fails releases nothing.
 */
#include <string.h>

#include "cmd.h"
#include "hd.h"
#include "hsm/err.h"
#include "hsm/tlv.h"
#include "keys.h"
#include "mbedtls/platform_util.h"
#include "sym.h"

#define KDF_MAX 2028u /* largest KDF output (spec 1.6.4, MAX_APDU_DATA of the reference) */
#define PBKDF2_MAX_ITER 1000000u

typedef enum { OP_CBC_ENC, OP_CBC_DEC, OP_CMAC, OP_DERIVE, OP_AES, OP_XTS, OP_CHACHA, OP_HMAC,
               OP_HKDF, OP_PBKDF2, OP_PBES2, OP_X963, OP_HD } op_kind;

typedef struct {
    hsm_cmd *c;
    op_kind kind;
    bool encrypt;
    hsm_sym_mode mode;
    size_t key_len;         /* required key length, 0: any */
    mbedtls_md_type_t md;
    hsm_tlv in, iv, aad;
    bool has_iv, has_aad;
    size_t tag_len;
} request;

static const uint8_t oid_chacha[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x12};
static const uint8_t oid_hmac[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02}; /* + 07..0B */
static const uint8_t oid_hkdf[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03}; /* + 1D..1F */
static const uint8_t oid_pbkdf2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
static const uint8_t oid_pbes2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D};
static const uint8_t oid_x963[] = {0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F};
static const uint8_t oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01}; /* + mode */
static const uint8_t oid_xts[] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01}; /* + 01/02 */
static const uint8_t oid_hd[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xA8, 0x78, 0x05, 0x8D, 0x6B};

static bool has_prefix(const hsm_tlv *t, const uint8_t *p, size_t n, size_t extra)
{
    return t->len == n + extra && memcmp(t->value, p, n) == 0;
}

/* The HMAC hash of an HMAC OID's last byte (07 SHA-1 .. 0B SHA-512), NONE when unknown. */
static mbedtls_md_type_t hmac_md(uint8_t last)
{
    static const mbedtls_md_type_t md[] = {MBEDTLS_MD_SHA1, MBEDTLS_MD_SHA224, MBEDTLS_MD_SHA256,
                                           MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512};
    return last >= 0x07 && last <= 0x0B ? md[last - 0x07] : MBEDTLS_MD_NONE;
}

/* NIST AES OID last byte -> mode and key length (spec 1.6.8). */
static int aes_oid(uint8_t last, request *r)
{
    static const int modes[9] = {HSM_SYM_ECB, HSM_SYM_CBC, HSM_SYM_OFB, HSM_SYM_CFB, -1,
                                 HSM_SYM_GCM, HSM_SYM_CCM, -1,          HSM_SYM_CTR};
    static const struct { uint8_t base; uint8_t key_len; } groups[] = {{0x01, 16}, {0x15, 24}, {0x29, 32}};
    for (size_t i = 0; i < 3; i++) {
        if (last >= groups[i].base && last < groups[i].base + 9 && modes[last - groups[i].base] >= 0) {
            r->mode = (hsm_sym_mode)modes[last - groups[i].base];
            r->key_len = groups[i].key_len;
            return HSM_OK;
        }
    }
    return HSM_ERR_WRONG_LENGTH; /* key-wrap arcs and the rest: no such operation (1.6.8) */
}

static int parse_oid(const hsm_tlv *oid, request *r)
{
    if (has_prefix(oid, oid_chacha, sizeof(oid_chacha), 0)) {
        r->kind = OP_CHACHA, r->key_len = 32;
    } else if (has_prefix(oid, oid_hmac, sizeof(oid_hmac), 1)) {
        r->kind = OP_HMAC, r->md = hmac_md(oid->value[sizeof(oid_hmac)]);
        if (r->md == MBEDTLS_MD_NONE) return HSM_ERR_WRONG_LENGTH;
    } else if (has_prefix(oid, oid_hkdf, sizeof(oid_hkdf), 1) &&
               oid->value[sizeof(oid_hkdf)] >= 0x1D && oid->value[sizeof(oid_hkdf)] <= 0x1F) {
        static const mbedtls_md_type_t md[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512};
        r->kind = OP_HKDF, r->md = md[oid->value[sizeof(oid_hkdf)] - 0x1D];
    } else if (has_prefix(oid, oid_pbkdf2, sizeof(oid_pbkdf2), 0)) {
        r->kind = OP_PBKDF2;
    } else if (has_prefix(oid, oid_pbes2, sizeof(oid_pbes2), 0)) {
        r->kind = OP_PBES2;
    } else if (has_prefix(oid, oid_x963, sizeof(oid_x963), 0)) {
        r->kind = OP_X963;
    } else if (has_prefix(oid, oid_aes, sizeof(oid_aes), 1)) {
        r->kind = OP_AES;
        return aes_oid(oid->value[sizeof(oid_aes)], r);
    } else if (has_prefix(oid, oid_xts, sizeof(oid_xts), 1) &&
               (oid->value[sizeof(oid_xts)] == 0x01 || oid->value[sizeof(oid_xts)] == 0x02)) {
        r->kind = OP_XTS, r->mode = HSM_SYM_XTS;
        r->key_len = oid->value[sizeof(oid_xts)] == 0x01 ? 32 : 64;
    } else if (has_prefix(oid, oid_hd, sizeof(oid_hd), 0)) {
        r->kind = OP_HD;
    } else {
        return HSM_ERR_WRONG_LENGTH; /* unknown OID (1.6.11) */
    }
    return HSM_OK;
}

static int parse_extended(const hsm_apdu *a, request *r)
{
    hsm_tlv_reader rd;
    hsm_tlv t, oid = {0};
    bool has_oid = false;
    int rc;
    hsm_tlv_reader_init(&rd, a->data, a->nc);
    while ((rc = hsm_tlv_next(&rd, &t)) == 1) {
        switch (t.tag) {
        case 0x06: oid = t, has_oid = true; break;
        case 0x81: r->in = t; break;
        case 0x82: r->iv = t, r->has_iv = true; break;
        case 0x83: r->aad = t, r->has_aad = true; break;
        case 0x84:
            if (t.len != 1 || t.value[0] == 0) return HSM_ERR_WRONG_LENGTH;
            r->tag_len = t.value[0];
            break;
        default: break;
        }
    }
    if (rc < 0 || !has_oid || oid.len == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    return parse_oid(&oid, r);
}

/* Output length of a KDF: Ne, or `dflt` without Le; at most KDF_MAX. */
static int kdf_len(const hsm_cmd *c, size_t dflt, size_t *n)
{
    *n = c->apdu->ne ? c->apdu->ne : dflt;
    return *n <= KDF_MAX && *n <= hsm_cmd_room(c) ? HSM_OK : HSM_ERR_WRONG_LENGTH;
}

static uint8_t *out_at(hsm_cmd *c)
{
    return c->out + c->out_len;
}

/* PBKDF2-params contents (spec 1.6.5): 04 salt, 02 iterations, [02 keyLength], [30 { 06 PRF }]. */
static int pbkdf2(hsm_cmd *c, const request *r, const uint8_t *key, size_t key_len)
{
    hsm_tlv_reader rd;
    hsm_tlv salt, iter, t, prf;
    size_t n = 0;
    bool has_len = false;
    mbedtls_md_type_t md = MBEDTLS_MD_SHA1;
    hsm_tlv_reader_init(&rd, r->in.value, r->in.len);
    if (hsm_tlv_next(&rd, &salt) != 1 || salt.tag != 0x04 || hsm_tlv_next(&rd, &iter) != 1 ||
        iter.tag != 0x02 || iter.len == 0 || iter.len > 4 || (iter.value[0] & 0x80)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    uint32_t count = 0;
    for (size_t i = 0; i < iter.len; i++) count = (count << 8) | iter.value[i];
    if (count == 0 || count > PBKDF2_MAX_ITER) {
        return HSM_ERR_WRONG_LENGTH;
    }
    int rc;
    while ((rc = hsm_tlv_next(&rd, &t)) == 1) {
        if (t.tag == 0x02 && !has_len) {
            if (t.len == 0 || t.len > 2 || (t.value[0] & 0x80)) return HSM_ERR_WRONG_LENGTH;
            for (size_t i = 0; i < t.len; i++) n = (n << 8) | t.value[i];
            has_len = true;
        } else if (t.tag == 0x30) {
            if (hsm_tlv_find(t.value, t.len, 0x06, &prf) != 1 ||
                !has_prefix(&prf, (const uint8_t[]){0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02}, 7, 1) ||
                (md = hmac_md(prf.value[7])) == MBEDTLS_MD_NONE) {
                return HSM_ERR_WRONG_LENGTH; /* unknown PRF */
            }
        } else {
            return HSM_ERR_WRONG_LENGTH;
        }
    }
    if (rc < 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (!has_len && (rc = kdf_len(c, 32, &n)) != HSM_OK) {
        return rc;
    }
    if (n == 0 || n > KDF_MAX || n > hsm_cmd_room(c)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    rc = hsm_sym_pbkdf2(md, key, key_len, salt.value, salt.len, count, out_at(c), n);
    if (rc == HSM_OK) c->out_len += n;
    return rc;
}

static int run(void *ctx, const uint8_t *key, size_t key_len)
{
    request *r = ctx;
    hsm_cmd *c = r->c;
    const hsm_apdu *a = c->apdu;
    size_t n = 0;
    int rc;
    /* HMAC and the KDFs take any imported secret; everything else an AES key length. */
    bool any_len = r->kind == OP_HMAC || r->kind == OP_HKDF || r->kind == OP_PBKDF2 ||
                   r->kind == OP_X963 || r->kind == OP_DERIVE || r->kind == OP_PBES2;
    if (!any_len && key_len != 16 && key_len != 24 && key_len != 32 && key_len != 64) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (r->key_len != 0 && key_len != r->key_len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    switch (r->kind) {
    case OP_CBC_ENC:
    case OP_CBC_DEC: {
        if (key_len == 64) return HSM_ERR_EXEC; /* as the reference (spec 1.4) */
        if (a->nc % 16 != 0) return HSM_ERR_WRONG_LENGTH;
        hsm_sym_params p = {0};
        rc = hsm_sym_aes(HSM_SYM_CBC, r->kind == OP_CBC_ENC, key, key_len, &p, a->data, a->nc,
                         out_at(c), hsm_cmd_room(c), &n);
        break;
    }
    case OP_CMAC:
        if (hsm_cmd_room(c) < 16) return HSM_ERR_WRONG_LENGTH;
        rc = hsm_sym_cmac(key, key_len, a->data, a->nc, out_at(c));
        n = 16;
        break;
    case OP_DERIVE:
        if (a->nc == 0 || a->nc > hsm_cmd_room(c)) return HSM_ERR_WRONG_LENGTH;
        rc = hsm_sym_hkdf(MBEDTLS_MD_SHA256, NULL, 0, key, key_len, a->data, a->nc, out_at(c), a->nc);
        n = a->nc;
        break;
    case OP_AES:
    case OP_XTS: {
        hsm_sym_params p = {r->has_iv ? r->iv.value : NULL, r->iv.len, r->aad.value, r->aad.len,
                            r->tag_len};
        if (r->has_iv && r->iv.len == 0) return HSM_ERR_WRONG_LENGTH;
        if (r->mode == HSM_SYM_CBC && r->in.len % 16 != 0) return HSM_ERR_EXEC; /* spec 1.6.8 */
        rc = hsm_sym_aes(r->mode, r->encrypt, key, key_len, &p, r->in.value, r->in.len,
                         out_at(c), hsm_cmd_room(c), &n);
        break;
    }
    case OP_CHACHA:
        if (!r->has_iv || r->iv.len != 12) return HSM_ERR_WRONG_LENGTH;
        rc = hsm_sym_chachapoly(r->encrypt, key, r->iv.value, r->aad.value, r->aad.len,
                                r->in.value, r->in.len, out_at(c), hsm_cmd_room(c), &n);
        if (rc == HSM_ERR_EXEC) rc = HSM_ERR_WRONG_LENGTH; /* tag mismatch: 6700 (spec 1.6.2) */
        break;
    case OP_HMAC:
        rc = hsm_sym_hmac(r->md, key, key_len, r->in.value, r->in.len, out_at(c),
                          hsm_cmd_room(c), &n);
        break;
    case OP_HKDF:
        rc = kdf_len(c, mbedtls_md_get_size(mbedtls_md_info_from_type(r->md)), &n);
        if (rc == HSM_OK) {
            rc = hsm_sym_hkdf(r->md, r->iv.value, r->iv.len, key, key_len, r->in.value, r->in.len,
                              out_at(c), n);
        }
        break;
    case OP_PBKDF2:
        return pbkdf2(c, r, key, key_len);
    case OP_PBES2:
        /* 83 = PBES2-params contents, 81 = data; password = the secret (spec 1.6.6). */
        rc = hsm_sym_pbes2(r->encrypt, r->aad.value, r->aad.len, PBKDF2_MAX_ITER, key, key_len,
                           r->in.value, r->in.len, out_at(c), hsm_cmd_room(c), &n);
        break;
    case OP_X963: {
        /* 81 names the hash by an HMAC OID; anything else means SHA-1 (spec 1.6.7). */
        mbedtls_md_type_t md = MBEDTLS_MD_SHA1;
        if (has_prefix(&r->in, oid_hmac, sizeof(oid_hmac), 1) &&
            hmac_md(r->in.value[sizeof(oid_hmac)]) != MBEDTLS_MD_NONE) {
            md = hmac_md(r->in.value[sizeof(oid_hmac)]);
        }
        rc = kdf_len(c, 32, &n);
        if (rc == HSM_OK) {
            rc = hsm_sym_x963(md, key, key_len, r->aad.value, r->aad.len, out_at(c), n);
        }
        break;
    }
    default:
        return HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) {
        c->out_len += n;
    }
    return rc;
}

/* HD symmetric cipher (spec 1.6.10, 2.6): the SLIP-21 node kept by 80 4A 10 is consumed here,
 * whatever the outcome; P1, key counters and algorithm lists are not consulted. 83 is the key
 * label, 82 the IV (empty: derived). No node kept → 6A80. */
static int hd_cipher(hsm_cmd *c, const request *r)
{
    hsm_hd_node node;
    if (hsm_hd_take_node(c->s, &node) != HSM_OK) {
        return HSM_ERR_DATA;
    }
    int rc = HSM_ERR_WRONG_LENGTH;
    if (r->in.len <= hsm_cmd_room(c)) {
        rc = hsm_hd_cipher(&node, r->encrypt, r->aad.value, r->aad.len, r->iv.value, r->iv.len,
                           r->in.value, r->in.len, out_at(c));
    }
    if (rc == HSM_OK) {
        c->out_len += r->in.len;
    }
    hsm_hd_node_wipe(&node);
    return rc;
}

int hsm_cmd_cipher_sym(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    request r;
    int rc = HSM_OK;
    memset(&r, 0, sizeof(r));
    r.c = c;
    switch (a->p2) {
    case 0x10: r.kind = OP_CBC_ENC; break;
    case 0x11: r.kind = OP_CBC_DEC; break;
    case 0x18: r.kind = OP_CMAC; break;
    case 0x99: r.kind = OP_DERIVE; break;
    case 0x51:
    case 0x52:
        r.encrypt = a->p2 == 0x51;
        rc = parse_extended(a, &r);
        break;
    default: return HSM_ERR_WRONG_P1P2;
    }
    if (rc == HSM_OK && r.kind == OP_HD) {
        rc = hd_cipher(c, &r);
    } else if (rc == HSM_OK) {
        rc = hsm_key_expose_secret(c->s, a->p1, a->p2, run, &r);
    }
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(c->out, c->out_cap);
        c->out_len = 0;
    }
    return rc;
}
