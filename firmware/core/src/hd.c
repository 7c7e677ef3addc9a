/*
 * hd.c — BIP32 / SLIP-10 / SLIP-21 nodes; see hd.h and pico-hsm-extensions.md section 2.
 *
 * Every intermediate secret (HMAC outputs, scalars, the serialised node) lives on this
 * module's stack frames and is wiped at the single exit of the function that made it.
 */
#include "hd.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "mbedtls/aes.h"
#include "mbedtls/bignum.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ripemd160.h"
#include "mbedtls/sha256.h"
#include "secret.h"

#define HARDENED 0x80000000u
#define MAX_DEPTH 255u /* the depth byte of the description */

static const uint8_t xpub_version[4] = {0x04, 0x88, 0xB2, 0x1E};

void hsm_hd_node_wipe(hsm_hd_node *n)
{
    mbedtls_platform_zeroize(n, sizeof(*n));
}

static int hmac512(const uint8_t *key, size_t klen, const uint8_t *m1, size_t l1,
                   const uint8_t *m2, size_t l2, uint8_t out[64])
{
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA512), 1);
    if (rc == 0) rc = mbedtls_md_hmac_starts(&ctx, key, klen);
    if (rc == 0 && l1 > 0) rc = mbedtls_md_hmac_update(&ctx, m1, l1);
    if (rc == 0 && l2 > 0) rc = mbedtls_md_hmac_update(&ctx, m2, l2);
    if (rc == 0) rc = mbedtls_md_hmac_finish(&ctx, out);
    mbedtls_md_free(&ctx); /* wipes the HMAC pads */
    return rc == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static mbedtls_ecp_group_id curve_of(uint8_t type)
{
    return type == HSM_HD_SECP256K1 ? MBEDTLS_ECP_DP_SECP256K1 : MBEDTLS_ECP_DP_SECP256R1;
}

static int load_group(uint8_t type, mbedtls_ecp_group *g)
{
    return mbedtls_ecp_group_load(g, curve_of(type)) == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* 0 < x < n for the 32 bytes x. */
static bool valid_scalar(const mbedtls_ecp_group *g, const uint8_t x[32])
{
    mbedtls_mpi v;
    mbedtls_mpi_init(&v);
    bool ok = mbedtls_mpi_read_binary(&v, x, 32) == 0 && mbedtls_mpi_cmp_int(&v, 0) > 0 &&
              mbedtls_mpi_cmp_mpi(&v, &g->N) < 0;
    mbedtls_mpi_free(&v);
    return ok;
}

int hsm_hd_master(uint8_t type, const uint8_t *seed, size_t len, hsm_hd_node *out)
{
    static const char *const hmac_keys[] = {"Bitcoin seed", "Nist256p1 seed", "Symmetric key seed"};
    if (type < HSM_HD_SECP256K1 || type > HSM_HD_SYMMETRIC) {
        return HSM_ERR_P1P2;
    }
    if (len > HSM_HD_SEED_MAX) {
        len = HSM_HD_SEED_MAX;
    }
    const char *key = hmac_keys[type - 1];
    uint8_t i[64];
    mbedtls_ecp_group g;
    mbedtls_ecp_group_init(&g);
    int rc = hmac512((const uint8_t *)key, strlen(key), seed, len, NULL, 0, i);
    if (rc == HSM_OK && type != HSM_HD_SYMMETRIC) {
        rc = load_group(type, &g);
        /* SLIP-10: an invalid key is replaced by the HMAC of the whole previous output. */
        while (rc == HSM_OK && !valid_scalar(&g, i)) {
            uint8_t prev[64];
            memcpy(prev, i, sizeof(prev));
            rc = hmac512((const uint8_t *)key, strlen(key), prev, sizeof(prev), NULL, 0, i);
            mbedtls_platform_zeroize(prev, sizeof(prev));
        }
    }
    if (rc == HSM_OK) {
        out->type = type;
        memcpy(out->a, i, 32);
        memcpy(out->b, i + 32, 32);
    }
    mbedtls_ecp_group_free(&g);
    mbedtls_platform_zeroize(i, sizeof(i));
    return rc;
}

/* SEC1 compressed public key of private key k. */
static int compressed_pub(mbedtls_ecp_group *g, const uint8_t k[32], uint8_t out[33])
{
    mbedtls_mpi d;
    mbedtls_ecp_point q;
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    size_t n = 0;
    int rc = HSM_ERR_EXEC;
    if (mbedtls_mpi_read_binary(&d, k, 32) == 0 &&
        mbedtls_ecp_mul(g, &q, &d, &g->G, hsm_rng_mbedtls, NULL) == 0 &&
        mbedtls_ecp_point_write_binary(g, &q, MBEDTLS_ECP_PF_COMPRESSED, &n, out, 33) == 0 &&
        n == 33) {
        rc = HSM_OK;
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    return rc;
}

/* First 4 bytes of RIPEMD160(SHA256(m)). */
static int fingerprint(const uint8_t *m, size_t len, uint8_t fp[4])
{
    uint8_t h[32], r[20];
    int rc = mbedtls_sha256(m, len, h, 0) == 0 && mbedtls_ripemd160(h, sizeof(h), r) == 0
                 ? HSM_OK
                 : HSM_ERR_EXEC;
    memcpy(fp, r, 4);
    return rc;
}

static int sha256d(const uint8_t *m, size_t len, uint8_t out[32])
{
    uint8_t h[32];
    return mbedtls_sha256(m, len, h, 0) == 0 && mbedtls_sha256(h, sizeof(h), out, 0) == 0
               ? HSM_OK
               : HSM_ERR_EXEC;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* One BIP32 / SLIP-10 child step (spec 2.4); pub is the parent's compressed public key. */
static int ecdsa_child(mbedtls_ecp_group *g, hsm_hd_node *n, const uint8_t pub[33], uint32_t index)
{
    uint8_t data[37], i[64];
    mbedtls_mpi il, k;
    mbedtls_mpi_init(&il);
    mbedtls_mpi_init(&k);
    if (index >= HARDENED) {
        data[0] = 0x00;
        memcpy(data + 1, n->a, 32);
    } else {
        memcpy(data, pub, 33);
    }
    put32(data + 33, index);
    int rc = hmac512(n->b, 32, data, sizeof(data), NULL, 0, i);
    for (;;) {
        if (rc != HSM_OK) {
            break;
        }
        rc = mbedtls_mpi_read_binary(&il, i, 32) == 0 && mbedtls_mpi_read_binary(&k, n->a, 32) == 0
                 ? HSM_OK
                 : HSM_ERR_EXEC;
        if (rc == HSM_OK && mbedtls_mpi_cmp_mpi(&il, &g->N) < 0) {
            if (mbedtls_mpi_add_mpi(&k, &k, &il) != 0 || mbedtls_mpi_mod_mpi(&k, &k, &g->N) != 0) {
                rc = HSM_ERR_EXEC;
                break;
            }
            if (mbedtls_mpi_cmp_int(&k, 0) != 0) {
                break;
            }
        }
        if (rc != HSM_OK) {
            break;
        }
        /* SLIP-10 retry rule: data = 01 | I[32..63] | index. */
        data[0] = 0x01;
        memcpy(data + 1, i + 32, 32);
        rc = hmac512(n->b, 32, data, sizeof(data), NULL, 0, i);
    }
    if (rc == HSM_OK && mbedtls_mpi_write_binary(&k, n->a, 32) != 0) {
        rc = HSM_ERR_EXEC;
    }
    if (rc == HSM_OK) {
        memcpy(n->b, i + 32, 32);
    }
    mbedtls_mpi_free(&il);
    mbedtls_mpi_free(&k);
    mbedtls_platform_zeroize(data, sizeof(data));
    mbedtls_platform_zeroize(i, sizeof(i));
    return rc;
}

/* One SLIP-21 step: N = HMAC-SHA512(chain, 00 | label). */
static int symmetric_child(hsm_hd_node *n, const uint8_t *label, size_t len)
{
    static const uint8_t zero = 0x00;
    uint8_t out[64];
    int rc = hmac512(n->a, 32, &zero, 1, label, len, out);
    if (rc == HSM_OK) {
        memcpy(n->a, out, 32);
        memcpy(n->b, out + 32, 32);
    }
    mbedtls_platform_zeroize(out, sizeof(out));
    return rc;
}

int hsm_hd_derive(hsm_hd_node *node, const uint8_t *path, size_t len, uint8_t *xpub,
                  size_t *xpub_len)
{
    const bool sym = node->type == HSM_HD_SYMMETRIC;
    uint8_t fp[4] = {0}, child[4] = {0}, pub[33];
    unsigned depth = 0;
    hsm_tlv_reader r;
    hsm_tlv e;
    mbedtls_ecp_group g;
    mbedtls_ecp_group_init(&g);
    int rc = node->type >= HSM_HD_SECP256K1 && node->type <= HSM_HD_SYMMETRIC ? HSM_OK
                                                                             : HSM_ERR_EXEC;
    if (rc == HSM_OK && !sym) {
        rc = load_group(node->type, &g);
        if (rc == HSM_OK) {
            rc = compressed_pub(&g, node->a, pub);
        }
    }
    hsm_tlv_reader_init(&r, path, len);
    while (rc == HSM_OK && r.p < r.end) {
        if (hsm_tlv_next(&r, &e) != 1 || ++depth > MAX_DEPTH) {
            rc = HSM_ERR_EXEC;
        } else if (!sym && e.tag == 0x02 && e.len == 4) {
            const uint32_t index = ((uint32_t)e.value[0] << 24) | ((uint32_t)e.value[1] << 16) |
                                   ((uint32_t)e.value[2] << 8) | e.value[3];
            rc = fingerprint(pub, sizeof(pub), fp);
            if (rc == HSM_OK) rc = ecdsa_child(&g, node, pub, index);
            if (rc == HSM_OK) rc = compressed_pub(&g, node->a, pub);
            memcpy(child, e.value, 4);
        } else if (sym && e.tag == 0x04) {
            rc = fingerprint(node->b, 32, fp);
            if (rc == HSM_OK) rc = symmetric_child(node, e.value, e.len);
        } else {
            rc = HSM_ERR_EXEC; /* wrong element kind or length for this master (spec 2.3) */
        }
    }
    if (rc == HSM_OK && xpub != NULL) {
        memcpy(xpub, xpub_version, 4);
        xpub[4] = (uint8_t)depth;
        memcpy(xpub + 5, fp, 4);
        memcpy(xpub + 9, child, 4);
        if (sym) {
            rc = sha256d(node->a, 32, xpub + 13);
            if (rc == HSM_OK) rc = sha256d(node->b, 32, xpub + 45);
            *xpub_len = HSM_HD_SYM_XPUB_SIZE;
        } else {
            memcpy(xpub + 13, node->b, 32);
            memcpy(xpub + 45, pub, 33);
            *xpub_len = HSM_HD_XPUB_SIZE;
        }
    }
    if (rc != HSM_OK) {
        hsm_hd_node_wipe(node);
    }
    mbedtls_ecp_group_free(&g);
    return rc;
}

int hsm_hd_sign(const hsm_hd_node *node, const uint8_t *hash, size_t len, uint8_t *out,
                size_t cap, size_t *out_len)
{
    if (node->type == HSM_HD_SYMMETRIC) {
        return HSM_ERR_CONDITIONS;
    }
    if (node->type != HSM_HD_SECP256K1 && node->type != HSM_HD_P256) {
        return HSM_ERR_DATA;
    }
    if (len == 0 || len > 64) {
        return HSM_ERR_WRONG_LENGTH;
    }
    mbedtls_ecdsa_context k;
    mbedtls_ecdsa_init(&k);
    int rc = HSM_ERR_EXEC;
    if (mbedtls_ecp_group_load(&k.MBEDTLS_PRIVATE(grp), curve_of(node->type)) == 0 &&
        mbedtls_mpi_read_binary(&k.MBEDTLS_PRIVATE(d), node->a, 32) == 0) {
        int m = mbedtls_ecdsa_write_signature(&k, MBEDTLS_MD_NONE, hash, len, out, cap, out_len,
                                              hsm_rng_mbedtls, NULL);
        rc = m == 0 ? HSM_OK : m == MBEDTLS_ERR_ECP_BUFFER_TOO_SMALL ? HSM_ERR_WRONG_LENGTH
                                                                    : HSM_ERR_EXEC;
    }
    mbedtls_ecdsa_free(&k); /* mbedTLS wipes d */
    return rc;
}

int hsm_hd_cipher(const hsm_hd_node *node, bool encrypt, const uint8_t *label, size_t label_len,
                  const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out)
{
    if (node->type != HSM_HD_SYMMETRIC) {
        return HSM_ERR_DATA;
    }
    if (len % 16 != 0 || (iv_len != 0 && iv_len != 16)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    uint8_t k[64], ivb[16];
    mbedtls_aes_context aes;
    mbedtls_aes_init(&aes);
    int rc = hmac512(node->b, 32, label, label_len, NULL, 0, k);
    if (rc == HSM_OK) {
        memcpy(ivb, iv_len ? iv : k + 32, 16);
        int m = encrypt ? mbedtls_aes_setkey_enc(&aes, k, 256) : mbedtls_aes_setkey_dec(&aes, k, 256);
        if (m == 0 && len > 0) {
            m = mbedtls_aes_crypt_cbc(&aes, encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT, len,
                                      ivb, in, out);
        }
        rc = m == 0 ? HSM_OK : HSM_ERR_EXEC;
    }
    mbedtls_aes_free(&aes);
    mbedtls_platform_zeroize(k, sizeof(k));
    mbedtls_platform_zeroize(ivb, sizeof(ivb));
    return rc;
}

int hsm_hd_take_node(hsm_session *s, hsm_hd_node *n)
{
    if (s->hd_type == 0) {
        return HSM_ERR_CONDITIONS;
    }
    n->type = s->hd_type;
    memcpy(n->a, s->hd_node, 32);
    memcpy(n->b, s->hd_node + 32, 32);
    mbedtls_platform_zeroize(s->hd_node, sizeof(s->hd_node));
    s->hd_type = 0;
    return HSM_OK;
}

static void serialise(const hsm_hd_node *n, uint8_t out[HSM_HD_NODE_SIZE])
{
    out[0] = n->type;
    memcpy(out + 1, n->a, 32);
    memcpy(out + 33, n->b, 32);
}

int hsm_hd_save_master(const hsm_session *s, uint8_t id, const hsm_hd_node *n)
{
    uint8_t pt[HSM_HD_NODE_SIZE], ct[HSM_HD_NODE_SIZE + HSM_SEALED_OVERHEAD];
    size_t len = 0;
    if (id >= HSM_HD_MASTERS) {
        return HSM_ERR_P1P2;
    }
    if (!s->keys_open) {
        return HSM_ERR_EXEC; /* spec 2.1: the master cannot be encrypted without a PIN session */
    }
    serialise(n, pt);
    int rc = hsm_secret_seal(s, (uint16_t)(HSM_ID_HD_FIRST + id), pt, sizeof(pt), ct, sizeof(ct), &len);
    if (rc == HSM_OK) {
        rc = hsm_store_write((uint16_t)(HSM_ID_HD_FIRST + id), ct, len, 0);
    }
    mbedtls_platform_zeroize(pt, sizeof(pt));
    return rc;
}

int hsm_hd_load_master(const hsm_session *s, uint8_t id, hsm_hd_node *n)
{
    uint8_t pt[HSM_HD_NODE_SIZE], ct[HSM_HD_NODE_SIZE + HSM_SEALED_OVERHEAD];
    size_t len = 0, pn = 0;
    if (id >= HSM_HD_MASTERS || !s->keys_open) {
        return HSM_ERR_EXEC;
    }
    int rc = hsm_store_read((uint16_t)(HSM_ID_HD_FIRST + id), 0, ct, sizeof(ct), &len);
    if (rc == HSM_OK) {
        rc = hsm_secret_expose(s, (uint16_t)(HSM_ID_HD_FIRST + id), ct, len, pt, sizeof(pt), &pn);
    }
    if (rc == HSM_OK && (pn != HSM_HD_NODE_SIZE || pt[0] < HSM_HD_SECP256K1 ||
                         pt[0] > HSM_HD_SYMMETRIC)) {
        rc = HSM_ERR_EXEC;
    }
    if (rc == HSM_OK) {
        n->type = pt[0];
        memcpy(n->a, pt + 1, 32);
        memcpy(n->b, pt + 33, 32);
    } else {
        rc = rc == HSM_ERR_FLASH ? rc : HSM_ERR_EXEC; /* missing or undecryptable: spec 2.3 */
    }
    mbedtls_platform_zeroize(pt, sizeof(pt));
    return rc;
}
