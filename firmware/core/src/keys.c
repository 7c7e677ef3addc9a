/*
 * keys.c — key records, generation, and every private-key operation; see keys.h.
 *
 * Static buffers owned here, used within one call and wiped before it returns: `plain` (a key
 * record's plaintext) and `sealed` (the record as stored). Loaded mbedTLS contexts live on the
 * caller's stack frame of the operation and are freed (mbedTLS wipes them) before it returns.
 *
 * Policy order for SIGN and DECIPHER (keys.h): the key exists; the algorithm fits the key type
 * (6A81) and the key's list (6A81); the input is well-formed for it (6A80); the usage counter
 * is not exhausted (6984); the decremented counter is persisted *before* the operation, so a
 * power cut can never yield a free use; an internal failure after that restores the counter.
 */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "keys.h"

#include <limits.h>
#include <string.h>

#include "hsm/cvc.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "ids.h"
#include "rsa_factor.h"
#include "rsa_gen.h"
#include "mbedtls/bignum.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "secret.h"

#define PLAIN_MAX 2600u
#define RSA_MIN_BITS 1024u
#define RSA_MAX_BITS 4096u

static uint8_t plain[PLAIN_MAX];
static uint8_t sealed[HSM_STORE_OBJ_MAX];

static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_SECP192R1, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_BP256R1,   MBEDTLS_ECP_DP_BP384R1,
    MBEDTLS_ECP_DP_BP512R1,   MBEDTLS_ECP_DP_SECP192K1, MBEDTLS_ECP_DP_SECP256K1,
};

static const mbedtls_ecp_group_id montgomery[] = {MBEDTLS_ECP_DP_CURVE25519,
                                                  MBEDTLS_ECP_DP_CURVE448};

/* id-RI-ECDH-SHA-256: the algorithm of X25519/X448 public keys (extensions spec 5.2). */
static const uint8_t oid_ri_ecdh[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};

static bool is_montgomery(mbedtls_ecp_group_id g)
{
    return g == MBEDTLS_ECP_DP_CURVE25519 || g == MBEDTLS_ECP_DP_CURVE448;
}

typedef struct {
    hsm_key_spec spec;
    mbedtls_rsa_context rsa;
    mbedtls_ecp_keypair ec;
    uint8_t sym[64]; /* AES: the secret (spec.sym_len bytes) */
    size_t len; /* RSA modulus bytes, EC field bytes, AES secret bytes */
} key;

/* A secret record holds 1..64 bytes: generation makes AES keys (16, 24, 32, 64); an imported
 * blob may carry any length up to 64, a generic secret for HMAC and the KDFs (the AES modes
 * refuse such a key, cmd_cipher_sym.c). */
static bool sym_len_ok(size_t n)
{
    return n >= 1 && n <= 64;
}

static bool aes_len_ok(size_t n)
{
    return n == 16 || n == 24 || n == 32 || n == 64;
}

static uint16_t key_fid(uint8_t id)
{
    return (uint16_t)((HSM_PREFIX_KEY << 8) | id);
}

static int err_from_mbedtls(int rc)
{
    return rc == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* ---- record (de)serialisation ---------------------------------------------------------- */

static int put_mpi(hsm_tlv_writer *w, uint32_t tag, const mbedtls_mpi *x, size_t len)
{
    if (len == 0) {
        len = mbedtls_mpi_size(x);
    }
    if (len > w->cap - w->len || w->overflow) {
        w->overflow = true;
        return HSM_ERR_NO_SPACE;
    }
    size_t m = hsm_tlv_begin(w, tag);
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return HSM_ERR_NO_SPACE;
    }
    if (mbedtls_mpi_write_binary(x, w->buf + w->len, len) != 0) {
        return HSM_ERR_INTERNAL;
    }
    w->len += len;
    hsm_tlv_end(w, m);
    return hsm_tlv_writer_ok(w) ? HSM_OK : HSM_ERR_NO_SPACE;
}

static void put_meta(hsm_tlv_writer *w, const hsm_key_spec *sp, uint16_t size)
{
    const uint8_t sz[2] = {(uint8_t)(size >> 8), (uint8_t)size};
    hsm_tlv_put(w, 0xC0, &sp->type, 1);
    hsm_tlv_put(w, 0xC1, sz, 2);
    if (sp->counter != HSM_KEY_UNLIMITED) {
        const uint8_t c[4] = {(uint8_t)(sp->counter >> 24), (uint8_t)(sp->counter >> 16),
                              (uint8_t)(sp->counter >> 8), (uint8_t)sp->counter};
        hsm_tlv_put(w, 0xC2, c, 4);
    }
    hsm_tlv_put(w, 0xC3, &sp->domain, 1);
    if (sp->nalgs) {
        hsm_tlv_put(w, 0xC4, sp->algs, sp->nalgs);
    }
}

static int write_record(const key *k, size_t *len)
{
    hsm_tlv_writer w;
    int rc = HSM_OK;
    hsm_tlv_writer_init(&w, plain, sizeof(plain));
    if (k->spec.type == HSM_KEY_RSA) {
        put_meta(&w, &k->spec, k->spec.rsa_bits);
        const mbedtls_rsa_context *r = &k->rsa;
        const mbedtls_mpi *parts[] = {&r->N, &r->E, &r->P, &r->Q, &r->D, &r->DP, &r->DQ, &r->QP};
        for (size_t i = 0; i < 8 && rc == HSM_OK; i++) {
            rc = put_mpi(&w, 0x81 + (uint32_t)i, parts[i], 0);
        }
    } else if (k->spec.type == HSM_KEY_AES) {
        put_meta(&w, &k->spec, k->spec.sym_len);
        hsm_tlv_put(&w, 0x81, k->sym, k->spec.sym_len);
    } else {
        put_meta(&w, &k->spec, (uint16_t)k->spec.grp);
        uint8_t d[66];
        size_t dlen;
        if (mbedtls_ecp_write_key_ext(&k->ec, &dlen, d, sizeof(d)) != 0) {
            rc = HSM_ERR_INTERNAL;
        } else {
            hsm_tlv_put(&w, 0x81, d, dlen);
        }
        mbedtls_platform_zeroize(d, sizeof(d));
        uint8_t q[1 + 2 * 66];
        size_t qlen;
        if (rc == HSM_OK &&
            mbedtls_ecp_point_write_binary(&k->ec.grp, &k->ec.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &qlen,
                                           q, sizeof(q)) != 0) {
            rc = HSM_ERR_INTERNAL;
        }
        if (rc == HSM_OK) {
            hsm_tlv_put(&w, 0x82, q, qlen);
        }
    }
    if (rc == HSM_OK && !hsm_tlv_writer_ok(&w)) {
        rc = HSM_ERR_NO_SPACE;
    }
    *len = w.len;
    return rc;
}

static int store_record(const hsm_session *s, uint8_t id, const key *k)
{
    size_t n, sn;
    int rc = write_record(k, &n);
    if (rc == HSM_OK) {
        rc = hsm_secret_seal(s, key_fid(id), plain, n, sealed, sizeof(sealed), &sn);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    if (rc == HSM_OK) {
        rc = hsm_store_write(key_fid(id), sealed, sn, 0);
    }
    return rc;
}

static void key_init(key *k)
{
    memset(k, 0, sizeof(*k));
    mbedtls_rsa_init(&k->rsa);
    mbedtls_ecp_keypair_init(&k->ec);
}

static void key_free(key *k)
{
    mbedtls_rsa_free(&k->rsa);
    mbedtls_ecp_keypair_free(&k->ec);
    mbedtls_platform_zeroize(k, sizeof(*k));
}

static int read_mpi(const uint8_t *rec, size_t n, uint32_t tag, mbedtls_mpi *x)
{
    hsm_tlv t;
    if (hsm_tlv_find(rec, n, tag, &t) != 1) {
        return HSM_ERR_INTERNAL;
    }
    return mbedtls_mpi_read_binary(x, t.value, t.len) == 0 ? HSM_OK : HSM_ERR_INTERNAL;
}

static int parse_record(key *k, const uint8_t *rec, size_t n)
{
    hsm_tlv t;
    hsm_key_spec *sp = &k->spec;
    if (hsm_tlv_find(rec, n, 0xC0, &t) != 1 || t.len != 1) return HSM_ERR_INTERNAL;
    sp->type = t.value[0];
    if (hsm_tlv_find(rec, n, 0xC1, &t) != 1 || t.len != 2) return HSM_ERR_INTERNAL;
    uint16_t size = (uint16_t)((t.value[0] << 8) | t.value[1]);
    sp->counter = HSM_KEY_UNLIMITED;
    if (hsm_tlv_find(rec, n, 0xC2, &t) == 1 && t.len == 4) {
        sp->counter = ((uint32_t)t.value[0] << 24) | ((uint32_t)t.value[1] << 16) |
                      ((uint32_t)t.value[2] << 8) | t.value[3];
    }
    if (hsm_tlv_find(rec, n, 0xC3, &t) == 1 && t.len == 1) sp->domain = t.value[0];
    if (hsm_tlv_find(rec, n, 0xC4, &t) == 1 && t.len <= HSM_KEY_ALGS_MAX) {
        sp->nalgs = (uint8_t)t.len;
        memcpy(sp->algs, t.value, t.len);
    }
    if (sp->type == HSM_KEY_RSA) {
        mbedtls_rsa_context *r = &k->rsa;
        mbedtls_mpi *parts[] = {&r->N, &r->E, &r->P, &r->Q, &r->D, &r->DP, &r->DQ, &r->QP};
        for (size_t i = 0; i < 8; i++) {
            if (read_mpi(rec, n, 0x81 + (uint32_t)i, parts[i]) != HSM_OK) return HSM_ERR_INTERNAL;
        }
        /* Every CRT value is present, so complete() derives nothing: it only checks. (Setting
         * the fields directly skips mbedtls_rsa_import(), which would also set len.) */
        r->len = mbedtls_mpi_size(&r->N);
        if (mbedtls_rsa_complete(r) != 0) return HSM_ERR_INTERNAL;
        sp->rsa_bits = size;
        k->len = mbedtls_rsa_get_len(r);
        return HSM_OK;
    }
    if (sp->type == HSM_KEY_AES) {
        if (!sym_len_ok(size) || hsm_tlv_find(rec, n, 0x81, &t) != 1 || t.len != size) {
            return HSM_ERR_INTERNAL;
        }
        sp->sym_len = (uint8_t)size;
        memcpy(k->sym, t.value, size);
        k->len = size;
        return HSM_OK;
    }
    if (sp->type == HSM_KEY_EC) {
        sp->grp = (mbedtls_ecp_group_id)size;
        if (hsm_tlv_find(rec, n, 0x81, &t) != 1 ||
            mbedtls_ecp_read_key(sp->grp, &k->ec, t.value, t.len) != 0) {
            return HSM_ERR_INTERNAL;
        }
        if (hsm_tlv_find(rec, n, 0x82, &t) != 1 ||
            mbedtls_ecp_point_read_binary(&k->ec.grp, &k->ec.Q, t.value, t.len) != 0) {
            return HSM_ERR_INTERNAL;
        }
        k->len = (k->ec.grp.pbits + 7) / 8;
        return HSM_OK;
    }
    return HSM_ERR_INTERNAL;
}

/* Loads key id. HSM_ERR_NOT_FOUND when absent; HSM_ERR_SECURITY without open keys. */
static int load(const hsm_session *s, uint8_t id, key *k)
{
    size_t sn, pn;
    key_init(k);
    if (id == HSM_DEVICE_KEY_ID) {
        return HSM_ERR_P1P2; /* the device key is never used through these commands */
    }
    int rc = hsm_store_read(key_fid(id), 0, sealed, sizeof(sealed), &sn);
    if (rc != HSM_OK) {
        return rc;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    rc = hsm_secret_expose(s, key_fid(id), sealed, sn, plain, sizeof(plain), &pn);
    if (rc == HSM_OK) {
        rc = parse_record(k, plain, pn);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    return rc;
}

/* ---- generation ------------------------------------------------------------------------- */

int hsm_key_generate(const hsm_session *s, uint8_t id, const hsm_key_spec *spec)
{
    key k;
    int rc;
    if (id == HSM_DEVICE_KEY_ID) {
        return HSM_ERR_P1P2;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    key_init(&k);
    k.spec = *spec;
    if (spec->type == HSM_KEY_RSA) {
        if (spec->rsa_bits < RSA_MIN_BITS || spec->rsa_bits > RSA_MAX_BITS ||
            spec->rsa_bits % 8 != 0 || spec->rsa_exponent < 3 || !(spec->rsa_exponent & 1) ||
            spec->rsa_exponent > INT_MAX) {
            rc = HSM_ERR_UNSUPPORTED;
            goto out;
        }
        rc = err_from_mbedtls(hsm_rsa_gen_key(&k.rsa, spec->rsa_bits, (uint32_t)spec->rsa_exponent));
    } else if (spec->type == HSM_KEY_EC) {
        rc = err_from_mbedtls(mbedtls_ecp_gen_key(spec->grp, &k.ec, hsm_rng_mbedtls, NULL));
        k.len = (k.ec.grp.pbits + 7) / 8;
    } else if (spec->type == HSM_KEY_AES && aes_len_ok(spec->sym_len)) {
        k.len = spec->sym_len;
        rc = hsm_rng_bytes(k.sym, k.len);
    } else {
        rc = HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = store_record(s, id, &k);
    }
out:
    key_free(&k);
    return rc;
}

/* ---- public key and the CV self-signature ---------------------------------------------- */

/* 7F49 { 06 id-RI-ECDH-SHA-256, 81 p, 82 order, 83 generator u (little-endian), 84 public u }. */
static int put_montgomery_public(const key *k, hsm_tlv_writer *w)
{
    uint8_t g[56] = {0}, q[56];
    size_t qlen;
    g[0] = k->spec.grp == MBEDTLS_ECP_DP_CURVE25519 ? 0x09 : 0x05;
    if (mbedtls_ecp_point_write_binary(&k->ec.grp, &k->ec.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &qlen,
                                       q, sizeof(q)) != 0) {
        return HSM_ERR_INTERNAL;
    }
    size_t m = hsm_tlv_begin(w, 0x7F49);
    hsm_tlv_put(w, 0x06, oid_ri_ecdh, sizeof(oid_ri_ecdh));
    int rc = put_mpi(w, 0x81, &k->ec.grp.P, k->len);
    if (rc == HSM_OK) {
        rc = put_mpi(w, 0x82, &k->ec.grp.N, 0);
    }
    hsm_tlv_put(w, 0x83, g, k->len);
    hsm_tlv_put(w, 0x84, q, qlen);
    hsm_tlv_end(w, m);
    if (rc == HSM_OK && !hsm_tlv_writer_ok(w)) {
        rc = HSM_ERR_NO_SPACE;
    }
    return rc;
}

int hsm_key_put_public(const hsm_session *s, uint8_t id, const uint8_t *alg_oid,
                       size_t alg_oid_len, hsm_tlv_writer *w)
{
    key k;
    int rc = load(s, id, &k);
    if (rc == HSM_OK && k.spec.type == HSM_KEY_AES) {
        rc = HSM_ERR_UNSUPPORTED; /* a secret key has no public part */
    } else if (rc == HSM_OK && k.spec.type == HSM_KEY_RSA) {
        size_t m = hsm_tlv_begin(w, 0x7F49);
        hsm_tlv_put(w, 0x06, alg_oid, alg_oid_len);
        if ((rc = put_mpi(w, 0x81, &k.rsa.N, k.len)) == HSM_OK) {
            rc = put_mpi(w, 0x82, &k.rsa.E, 0);
        }
        hsm_tlv_end(w, m);
        if (rc == HSM_OK && !hsm_tlv_writer_ok(w)) {
            rc = HSM_ERR_NO_SPACE;
        }
    } else if (rc == HSM_OK && is_montgomery(k.spec.grp)) {
        rc = put_montgomery_public(&k, w);
    } else if (rc == HSM_OK) {
        rc = hsm_cvc_put_ec_pubkey(w, &k.ec.grp, &k.ec.Q, alg_oid, alg_oid_len);
    }
    key_free(&k);
    return rc;
}

/* ECDSA over hash; DER (ECDSA-Sig-Value) or plain r || s at the order's byte length. */
static int ecdsa(key *k, const uint8_t *hash, size_t hlen, bool der, uint8_t *out, size_t cap,
                 size_t *out_len)
{
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = HSM_OK;
    if (der) {
        rc = err_from_mbedtls(mbedtls_ecdsa_write_signature(&k->ec, MBEDTLS_MD_NONE, hash, hlen,
                                                            out, cap, out_len, hsm_rng_mbedtls, NULL));
    } else {
        size_t nlen = (k->ec.grp.nbits + 7) / 8;
        if (cap < 2 * nlen) {
            rc = HSM_ERR_NO_SPACE;
        } else if (mbedtls_ecdsa_sign(&k->ec.grp, &r, &s, &k->ec.d, hash, hlen, hsm_rng_mbedtls,
                                      NULL) != 0 ||
                   mbedtls_mpi_write_binary(&r, out, nlen) != 0 ||
                   mbedtls_mpi_write_binary(&s, out + nlen, nlen) != 0) {
            rc = HSM_ERR_EXEC;
        } else {
            *out_len = 2 * nlen;
        }
    }
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}

int hsm_key_sign_cvc(const hsm_session *s, uint8_t id, const uint8_t *msg, size_t len,
                     uint8_t *sig, size_t cap, size_t *sig_len)
{
    key k;
    uint8_t hash[32];
    int rc = load(s, id, &k);
    if (rc == HSM_OK && k.spec.type == HSM_KEY_AES) {
        rc = HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = err_from_mbedtls(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), msg, len, hash));
    }
    if (rc == HSM_OK && k.spec.type == HSM_KEY_RSA) {
        if (cap < k.len) {
            rc = HSM_ERR_NO_SPACE;
        } else {
            rc = err_from_mbedtls(mbedtls_rsa_rsassa_pkcs1_v15_sign(&k.rsa, hsm_rng_mbedtls, NULL,
                                                                    MBEDTLS_MD_SHA256, 32, hash, sig));
            *sig_len = k.len;
        }
    } else if (rc == HSM_OK && is_montgomery(k.spec.grp)) {
        /* X25519/X448 cannot sign: the self-signature is 2 x key length zero bytes. */
        if (cap < 2 * k.len) {
            rc = HSM_ERR_NO_SPACE;
        } else {
            memset(sig, 0, 2 * k.len);
            *sig_len = 2 * k.len;
        }
    } else if (rc == HSM_OK) {
        rc = ecdsa(&k, hash, sizeof(hash), false, sig, cap, sig_len);
    }
    key_free(&k);
    return rc;
}

/* ---- policy ------------------------------------------------------------------------------ */

static int check_alg_list(const key *k, uint8_t alg)
{
    if (k->spec.nalgs == 0) {
        return HSM_OK;
    }
    for (size_t i = 0; i < k->spec.nalgs; i++) {
        if (k->spec.algs[i] == alg) {
            return HSM_OK;
        }
    }
    return HSM_ERR_UNSUPPORTED;
}

/* Persists counter - 1 before the operation (see the header comment). */
static int spend(const hsm_session *s, uint8_t id, key *k)
{
    if (k->spec.counter == HSM_KEY_UNLIMITED) {
        return HSM_OK;
    }
    if (k->spec.counter == 0) {
        return HSM_ERR_REF_UNUSABLE;
    }
    k->spec.counter--;
    return store_record(s, id, k);
}

static void refund(const hsm_session *s, uint8_t id, key *k)
{
    if (k->spec.counter != HSM_KEY_UNLIMITED) {
        k->spec.counter++;
        (void)store_record(s, id, k);
    }
}

/* ---- SIGN --------------------------------------------------------------------------------- */

static const mbedtls_md_type_t md_by_low_nibble[] = {
    MBEDTLS_MD_NONE, MBEDTLS_MD_SHA1, MBEDTLS_MD_SHA224, MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384,
    MBEDTLS_MD_SHA512};

/* A PSS input (spec 2.12.3): a DigestInfo, or a bare hash whose length names the algorithm. */
static int pss_input(const uint8_t *in, size_t len, mbedtls_md_type_t *md, const uint8_t **hash,
                     size_t *hlen)
{
    static const struct { uint8_t n; mbedtls_md_type_t md; } by_len[] = {
        {20, MBEDTLS_MD_SHA1}, {28, MBEDTLS_MD_SHA224}, {32, MBEDTLS_MD_SHA256},
        {48, MBEDTLS_MD_SHA384}, {64, MBEDTLS_MD_SHA512}};
    static const uint8_t oid_sha1[] = {0x2B, 0x0E, 0x03, 0x02, 0x1A};
    static const uint8_t oid_sha2[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02};
    hsm_tlv seq, alg, oid, digest;
    if (len > 2 && in[0] == 0x30 && hsm_tlv_find(in, len, 0x30, &seq) == 1 &&
        seq.value + seq.len == in + len && hsm_tlv_find(seq.value, seq.len, 0x30, &alg) == 1 &&
        hsm_tlv_find(alg.value, alg.len, 0x06, &oid) == 1 &&
        hsm_tlv_find(seq.value, seq.len, 0x04, &digest) == 1) {
        *md = MBEDTLS_MD_NONE;
        if (oid.len == sizeof(oid_sha1) && memcmp(oid.value, oid_sha1, oid.len) == 0) {
            *md = MBEDTLS_MD_SHA1;
        } else if (oid.len == sizeof(oid_sha2) + 1 && memcmp(oid.value, oid_sha2, sizeof(oid_sha2)) == 0) {
            static const mbedtls_md_type_t sha2[] = {MBEDTLS_MD_NONE, MBEDTLS_MD_SHA256,
                                                     MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512,
                                                     MBEDTLS_MD_SHA224};
            uint8_t last = oid.value[sizeof(oid_sha2)];
            *md = last >= 1 && last <= 4 ? sha2[last] : MBEDTLS_MD_NONE;
        }
        if (*md == MBEDTLS_MD_NONE || digest.len != mbedtls_md_get_size(mbedtls_md_info_from_type(*md))) {
            return HSM_ERR_DATA;
        }
        *hash = digest.value;
        *hlen = digest.len;
        return HSM_OK;
    }
    for (size_t i = 0; i < sizeof(by_len) / sizeof(by_len[0]); i++) {
        if (len == by_len[i].n) {
            *md = by_len[i].md;
            *hash = in;
            *hlen = len;
            return HSM_OK;
        }
    }
    return HSM_ERR_DATA;
}

/* Input < N, both k->len bytes. */
static bool below_modulus(const key *k, const uint8_t *in, size_t len)
{
    mbedtls_mpi x;
    mbedtls_mpi_init(&x);
    bool ok = len == k->len && mbedtls_mpi_read_binary(&x, in, len) == 0 &&
              mbedtls_mpi_cmp_mpi(&x, &k->rsa.N) < 0;
    mbedtls_mpi_free(&x);
    return ok;
}

static int rsa_sign(const hsm_session *s, uint8_t id, key *k, uint8_t alg, const uint8_t *in,
                    size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t hash[64];
    const uint8_t *h = in;
    size_t hlen = len;
    mbedtls_md_type_t md = MBEDTLS_MD_NONE;
    int rc = HSM_OK;
    const uint8_t hi = alg & 0xF0, lo = alg & 0x0F;

    if (cap < k->len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (alg == 0x20) {
        if (!below_modulus(k, in, len)) return HSM_ERR_DATA;
    } else if (alg == 0x30) {
        if (len == 0 || len > k->len - 11) return HSM_ERR_DATA;
    } else if ((hi == 0x30 || hi == 0x40) && lo >= 1 && lo <= 5) {
        md = md_by_low_nibble[lo];
        hlen = mbedtls_md_get_size(mbedtls_md_info_from_type(md));
        if (mbedtls_md(mbedtls_md_info_from_type(md), in, len, hash) != 0) return HSM_ERR_EXEC;
        h = hash;
    } else if (alg == 0x40) {
        if ((rc = pss_input(in, len, &md, &h, &hlen)) != HSM_OK) return rc;
    } else {
        return HSM_ERR_P1P2;
    }
    if (hi == 0x40 && k->len < hlen + hlen + 2) {
        return HSM_ERR_DATA; /* PSS with salt = hash length does not fit this modulus */
    }
    if ((rc = spend(s, id, k)) != HSM_OK) {
        return rc;
    }
    int m;
    if (alg == 0x20) {
        m = mbedtls_rsa_private(&k->rsa, hsm_rng_mbedtls, NULL, in, out);
    } else if (hi == 0x30) {
        m = mbedtls_rsa_rsassa_pkcs1_v15_sign(&k->rsa, hsm_rng_mbedtls, NULL, md,
                                              (unsigned)hlen, h, out);
    } else {
        m = mbedtls_rsa_set_padding(&k->rsa, MBEDTLS_RSA_PKCS_V21, md);
        if (m == 0) {
            m = mbedtls_rsa_rsassa_pss_sign_ext(&k->rsa, hsm_rng_mbedtls, NULL, md, (unsigned)hlen,
                                                h, (int)hlen, out);
        }
    }
    mbedtls_platform_zeroize(hash, sizeof(hash));
    if (m != 0) {
        refund(s, id, k);
        return HSM_ERR_EXEC;
    }
    *out_len = k->len;
    return HSM_OK;
}

static int ec_sign(const hsm_session *s, uint8_t id, key *k, uint8_t alg, const uint8_t *in,
                   size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t hash[64];
    const uint8_t *h = in;
    size_t hlen = len;
    const uint8_t lo = alg & 0x0F;
    if (alg == 0x70) {
        if (len == 0 || len > 64) return HSM_ERR_DATA;
    } else if (lo >= 1 && lo <= 5) {
        const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md_by_low_nibble[lo]);
        hlen = mbedtls_md_get_size(mi);
        if (mbedtls_md(mi, in, len, hash) != 0) return HSM_ERR_EXEC;
        h = hash;
    } else {
        return HSM_ERR_P1P2;
    }
    int rc = spend(s, id, k);
    if (rc != HSM_OK) {
        return rc;
    }
    rc = ecdsa(k, h, hlen, true, out, cap, out_len);
    if (rc != HSM_OK) {
        refund(s, id, k);
    }
    return rc;
}

static bool is_rsa_sign_alg(uint8_t a)
{
    return a == 0x20 || (a >= 0x30 && a <= 0x35) || (a >= 0x40 && a <= 0x45);
}

static bool is_ec_sign_alg(uint8_t a)
{
    return a >= 0x70 && a <= 0x75;
}

int hsm_key_sign(const hsm_session *s, uint8_t id, uint8_t alg, const uint8_t *in, size_t len,
                 uint8_t *out, size_t cap, size_t *out_len)
{
    if (!is_rsa_sign_alg(alg) && !is_ec_sign_alg(alg)) {
        return HSM_ERR_P1P2;
    }
    key k;
    int rc = load(s, id, &k);
    if (rc == HSM_OK) {
        bool fits = k.spec.type == HSM_KEY_RSA  ? is_rsa_sign_alg(alg)
                    : k.spec.type == HSM_KEY_EC ? is_ec_sign_alg(alg) && !is_montgomery(k.spec.grp)
                                                : false; /* AES keys do not sign */
        rc = fits ? check_alg_list(&k, alg) : HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = k.spec.type == HSM_KEY_RSA ? rsa_sign(s, id, &k, alg, in, len, out, cap, out_len)
                                        : ec_sign(s, id, &k, alg, in, len, out, cap, out_len);
    }
    key_free(&k);
    return rc;
}

int hsm_key_slot_policy(const hsm_session *s, uint8_t id, uint8_t alg, bool spend_one)
{
    key k;
    int rc = load(s, id, &k);
    if (rc == HSM_OK) rc = check_alg_list(&k, alg);
    if (rc == HSM_OK && k.spec.counter == 0) rc = HSM_ERR_REF_UNUSABLE;
    if (rc == HSM_OK && spend_one) rc = spend(s, id, &k);
    key_free(&k);
    return rc;
}

/* ---- DECIPHER ----------------------------------------------------------------------------- */

static int rsa_decipher(const hsm_session *s, uint8_t id, key *k, uint8_t alg, const uint8_t *in,
                        size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!below_modulus(k, in, len)) {
        return HSM_ERR_DATA;
    }
    if (cap < k->len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    int rc = spend(s, id, k);
    if (rc != HSM_OK) {
        return rc;
    }
    int m;
    if (alg == 0x21) {
        m = mbedtls_rsa_private(&k->rsa, hsm_rng_mbedtls, NULL, in, out);
        *out_len = k->len;
    } else if (alg == 0x22) {
        m = mbedtls_rsa_pkcs1_decrypt(&k->rsa, hsm_rng_mbedtls, NULL, out_len, in, out, cap);
    } else {
        m = mbedtls_rsa_set_padding(&k->rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
        if (m == 0) {
            m = mbedtls_rsa_rsaes_oaep_decrypt(&k->rsa, hsm_rng_mbedtls, NULL, NULL, 0, out_len,
                                               in, out, cap);
        }
    }
    if (m == MBEDTLS_ERR_RSA_INVALID_PADDING || m == MBEDTLS_ERR_RSA_OUTPUT_TOO_LARGE) {
        return HSM_ERR_DATA; /* a well-formed operation on a bad ciphertext: the use counts */
    }
    if (m != 0) {
        refund(s, id, k);
        return HSM_ERR_EXEC;
    }
    return HSM_OK;
}

static int ecdh(const hsm_session *s, uint8_t id, key *k, const uint8_t *in, size_t len,
                uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_ecp_point peer;
    mbedtls_mpi z;
    mbedtls_ecp_point_init(&peer);
    mbedtls_mpi_init(&z);
    int rc = HSM_OK;
    const bool mont = is_montgomery(k->spec.grp);
    if (len != (mont ? k->len : 1 + 2 * k->len) || (!mont && in[0] != 0x04) ||
        mbedtls_ecp_point_read_binary(&k->ec.grp, &peer, in, len) != 0 ||
        mbedtls_ecp_check_pubkey(&k->ec.grp, &peer) != 0) {
        rc = HSM_ERR_DATA;
    } else if (cap < 1 + k->len) {
        rc = HSM_ERR_WRONG_LENGTH;
    } else if ((rc = spend(s, id, k)) == HSM_OK) {
        if (mbedtls_ecdh_compute_shared(&k->ec.grp, &z, &peer, &k->ec.d, hsm_rng_mbedtls, NULL) != 0 ||
            (mont ? mbedtls_mpi_write_binary_le(&z, out + 1, k->len)
                  : mbedtls_mpi_write_binary(&z, out + 1, k->len)) != 0) {
            refund(s, id, k);
            rc = HSM_ERR_EXEC;
        } else {
            out[0] = 0x04;
            *out_len = 1 + k->len;
        }
    }
    mbedtls_ecp_point_free(&peer);
    mbedtls_mpi_free(&z);
    return rc;
}

int hsm_key_decipher(const hsm_session *s, uint8_t id, uint8_t alg, const uint8_t *in,
                     size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    bool rsa_alg = alg >= 0x21 && alg <= 0x23;
    if (!rsa_alg && alg != 0x80) {
        return HSM_ERR_P1P2;
    }
    key k;
    int rc = load(s, id, &k);
    if (rc == HSM_OK) {
        bool fits = k.spec.type == HSM_KEY_RSA ? rsa_alg : k.spec.type == HSM_KEY_EC && !rsa_alg;
        rc = fits ? check_alg_list(&k, alg) : HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = rsa_alg ? rsa_decipher(s, id, &k, alg, in, len, out, cap, out_len)
                     : ecdh(s, id, &k, in, len, out, cap, out_len);
    }
    key_free(&k);
    return rc;
}

int hsm_key_xkek_agree(const hsm_session *s, uint8_t id, const uint8_t *point, size_t plen,
                       hsm_key_agree_fn fn, void *ctx)
{
    mbedtls_ecp_point peer;
    mbedtls_mpi z;
    uint8_t x[MBEDTLS_ECP_MAX_BYTES];
    key k;
    mbedtls_ecp_point_init(&peer);
    mbedtls_mpi_init(&z);
    int rc = load(s, id, &k);
    if (rc == HSM_OK && (k.spec.type != HSM_KEY_EC || is_montgomery(k.spec.grp))) {
        rc = HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        /* Only a key made for it (91 lists 84): an unrestricted key is no XKEK key. */
        rc = k.spec.nalgs > 0 && check_alg_list(&k, 0x84) == HSM_OK ? HSM_OK : HSM_ERR_CONDITIONS;
    }
    if (rc == HSM_OK && (plen != 1 + 2 * k.len || point[0] != 0x04 ||
                         mbedtls_ecp_point_read_binary(&k.ec.grp, &peer, point, plen) != 0 ||
                         mbedtls_ecp_check_pubkey(&k.ec.grp, &peer) != 0)) {
        rc = HSM_ERR_DATA;
    }
    if (rc == HSM_OK) {
        rc = spend(s, id, &k);
    }
    if (rc == HSM_OK) {
        if (mbedtls_ecdh_compute_shared(&k.ec.grp, &z, &peer, &k.ec.d, hsm_rng_mbedtls, NULL) != 0 ||
            mbedtls_mpi_write_binary(&z, x, k.len) != 0) {
            rc = HSM_ERR_EXEC;
        } else {
            rc = fn(ctx, k.spec.domain, x, k.len);
        }
        if (rc != HSM_OK) {
            refund(s, id, &k);
        }
    }
    mbedtls_platform_zeroize(x, sizeof(x));
    mbedtls_ecp_point_free(&peer);
    mbedtls_mpi_free(&z);
    key_free(&k);
    return rc;
}

/* ---- curves ------------------------------------------------------------------------------- */

int hsm_key_montgomery_from_prime(const uint8_t *p, size_t plen, mbedtls_ecp_group_id *out)
{
    mbedtls_mpi P;
    mbedtls_ecp_group g;
    int rc = HSM_ERR_UNSUPPORTED;
    mbedtls_mpi_init(&P);
    mbedtls_ecp_group_init(&g);
    if (mbedtls_mpi_read_binary(&P, p, plen) == 0) {
        for (size_t i = 0; i < sizeof(montgomery) / sizeof(montgomery[0]); i++) {
            mbedtls_ecp_group_free(&g);
            mbedtls_ecp_group_init(&g);
            if (mbedtls_ecp_group_load(&g, montgomery[i]) == 0 && mbedtls_mpi_cmp_mpi(&g.P, &P) == 0) {
                *out = montgomery[i];
                rc = HSM_OK;
                break;
            }
        }
    }
    mbedtls_ecp_group_free(&g);
    mbedtls_mpi_free(&P);
    return rc;
}

int hsm_key_curve_from_params(const uint8_t *p, size_t plen, const uint8_t *a, size_t alen,
                              mbedtls_ecp_group_id *out)
{
    mbedtls_mpi P, A, ga;
    mbedtls_ecp_group g;
    int rc = HSM_ERR_UNSUPPORTED;
    mbedtls_mpi_init(&P);
    mbedtls_mpi_init(&A);
    mbedtls_mpi_init(&ga);
    mbedtls_ecp_group_init(&g);
    if (mbedtls_mpi_read_binary(&P, p, plen) != 0 || mbedtls_mpi_read_binary(&A, a, alen) != 0) {
        rc = HSM_ERR_DATA;
        goto out;
    }
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        mbedtls_ecp_group_free(&g);
        mbedtls_ecp_group_init(&g);
        if (mbedtls_ecp_group_load(&g, curves[i]) != 0 || mbedtls_mpi_cmp_mpi(&g.P, &P) != 0) {
            continue;
        }
        /* mbedTLS leaves A empty for a = -3 curves. */
        if (g.A.p == NULL) {
            if (mbedtls_mpi_sub_int(&ga, &g.P, 3) != 0) continue;
        } else if (mbedtls_mpi_copy(&ga, &g.A) != 0) {
            continue;
        }
        if (mbedtls_mpi_cmp_mpi(&ga, &A) == 0) {
            *out = curves[i];
            rc = HSM_OK;
            break;
        }
    }
out:
    mbedtls_ecp_group_free(&g);
    mbedtls_mpi_free(&P);
    mbedtls_mpi_free(&A);
    mbedtls_mpi_free(&ga);
    return rc;
}

/* ---- export and import of key material (DKEK key blobs, dkek.c) ------------------------- */

static void put_comp(uint8_t *out, size_t *n, const uint8_t *v, size_t len)
{
    out[(*n)++] = (uint8_t)(len >> 8);
    out[(*n)++] = (uint8_t)len;
    memcpy(out + *n, v, len);
    *n += len;
}

/* Appends mpi x as a 2-byte length and big-endian value: minimal length when len == 0. */
static int put_comp_mpi(uint8_t *out, size_t cap, size_t *n, const mbedtls_mpi *x, size_t len)
{
    if (len == 0) {
        len = mbedtls_mpi_size(x);
    }
    if (len > 0xFFFF || cap - *n < 2 + len) {
        return HSM_ERR_NO_SPACE;
    }
    out[(*n)++] = (uint8_t)(len >> 8);
    out[(*n)++] = (uint8_t)len;
    if (mbedtls_mpi_write_binary(x, out + *n, len) != 0) {
        return HSM_ERR_INTERNAL;
    }
    *n += len;
    return HSM_OK;
}

static int export_ec(const key *k, uint8_t *out, size_t cap, size_t *n)
{
    const mbedtls_ecp_group *g = &k->ec.grp;
    mbedtls_mpi a;
    uint8_t pt[1 + 2 * 66];
    size_t plen;
    int rc = HSM_OK;
    mbedtls_mpi_init(&a);
    /* mbedTLS keeps a = -3 implicit: write it as p - 3, at full field length (spec 4.4.2). */
    if ((mbedtls_ecp_group_a_is_minus_3(g) ? mbedtls_mpi_sub_int(&a, &g->P, 3)
                                           : mbedtls_mpi_copy(&a, &g->A)) != 0) {
        rc = HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) rc = put_comp_mpi(out, cap, n, &a, k->len);
    if (rc == HSM_OK) rc = put_comp_mpi(out, cap, n, &g->B, k->len);
    if (rc == HSM_OK) rc = put_comp_mpi(out, cap, n, &g->P, k->len);
    if (rc == HSM_OK) rc = put_comp_mpi(out, cap, n, &g->N, 0);
    if (rc == HSM_OK) {
        rc = mbedtls_ecp_point_write_binary(g, &g->G, MBEDTLS_ECP_PF_UNCOMPRESSED, &plen, pt,
                                            sizeof(pt)) == 0 ? HSM_OK : HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) rc = cap - *n >= 2 + plen ? (put_comp(out, n, pt, plen), HSM_OK) : HSM_ERR_NO_SPACE;
    if (rc == HSM_OK) rc = put_comp_mpi(out, cap, n, &k->ec.d, 0);
    if (rc == HSM_OK) {
        rc = mbedtls_ecp_point_write_binary(g, &k->ec.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &plen, pt,
                                            sizeof(pt)) == 0 ? HSM_OK : HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) rc = cap - *n >= 2 + plen ? (put_comp(out, n, pt, plen), HSM_OK) : HSM_ERR_NO_SPACE;
    mbedtls_mpi_free(&a);
    return rc;
}

int hsm_key_export_blob_plain(const hsm_session *s, uint8_t id, hsm_key_export_info *info,
                              uint8_t *out, size_t cap, size_t *len)
{
    key k;
    size_t n = 0;
    int rc = load(s, id, &k);
    if (rc == HSM_OK) {
        /* A key with an algorithm list may be wrapped only if the list names 92 (spec 4.4.3). */
        rc = check_alg_list(&k, 0x92);
    }
    if (rc == HSM_OK && k.spec.type == HSM_KEY_EC && is_montgomery(k.spec.grp)) {
        rc = HSM_ERR_UNSUPPORTED; /* no agreed blob encoding for X25519/X448 (see dkek.h) */
    }
    if (rc == HSM_OK && cap < 2) {
        rc = HSM_ERR_NO_SPACE;
    }
    if (rc == HSM_OK) {
        info->domain = k.spec.domain;
        info->nalgs = k.spec.nalgs;
        memcpy(info->algs, k.spec.algs, k.spec.nalgs);
        uint16_t size;
        if (k.spec.type == HSM_KEY_RSA) {
            info->blob_type = HSM_BLOB_RSA;
            size = (uint16_t)mbedtls_mpi_bitlen(&k.rsa.N);
        } else if (k.spec.type == HSM_KEY_AES) {
            info->blob_type = HSM_BLOB_AES;
            size = k.spec.sym_len;
        } else {
            info->blob_type = HSM_BLOB_EC;
            size = (uint16_t)(k.len * 8);
        }
        out[n++] = (uint8_t)(size >> 8);
        out[n++] = (uint8_t)size;
        if (k.spec.type == HSM_KEY_RSA) {
            rc = put_comp_mpi(out, cap, &n, &k.rsa.D, 0);
            if (rc == HSM_OK) rc = put_comp_mpi(out, cap, &n, &k.rsa.N, 0);
            if (rc == HSM_OK) rc = put_comp_mpi(out, cap, &n, &k.rsa.E, 0);
        } else if (k.spec.type == HSM_KEY_AES) {
            /* Key bytes right after the size field, no length prefix (core spec 4.4.2). */
            if (cap - n < k.spec.sym_len) {
                rc = HSM_ERR_NO_SPACE;
            } else {
                memcpy(out + n, k.sym, k.spec.sym_len);
                n += k.spec.sym_len;
            }
        } else {
            rc = export_ec(&k, out, cap, &n);
        }
    }
    key_free(&k);
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(out, cap);
        n = 0;
    }
    *len = n;
    return rc;
}

/* Reads the next length-prefixed component; HSM_ERR_DATA when it overruns the input. */
static int next_comp(const uint8_t **p, const uint8_t *end, const uint8_t **v, size_t *len)
{
    if (end - *p < 2) {
        return HSM_ERR_DATA;
    }
    size_t l = ((size_t)(*p)[0] << 8) | (*p)[1];
    *p += 2;
    if ((size_t)(end - *p) < l) {
        return HSM_ERR_DATA;
    }
    *v = *p, *len = l;
    *p += l;
    return HSM_OK;
}

static int import_rsa(key *k, uint8_t blob_type, const uint8_t *p, const uint8_t *end)
{
    /* 05: d n e;  06: dp dq p qinv q n e (the CRT values are recomputed, not trusted). */
    const uint8_t *v[7];
    size_t l[7];
    const int crt = blob_type != HSM_BLOB_RSA;
    const size_t count = crt ? 7 : 3;
    for (size_t i = 0; i < count; i++) {
        if (next_comp(&p, end, &v[i], &l[i]) != HSM_OK) return HSM_ERR_DATA;
    }
    mbedtls_mpi N, E, D, P, Q;
    mbedtls_mpi_init(&N);
    mbedtls_mpi_init(&E);
    mbedtls_mpi_init(&D);
    mbedtls_mpi_init(&P);
    mbedtls_mpi_init(&Q);
    int rc = HSM_ERR_DATA;
    size_t bits = 0;
    if (mbedtls_mpi_read_binary(&N, crt ? v[5] : v[1], crt ? l[5] : l[1]) != 0 ||
        mbedtls_mpi_read_binary(&E, crt ? v[6] : v[2], crt ? l[6] : l[2]) != 0) {
        goto out;
    }
    /* Sizes first: the work below grows with them. */
    bits = mbedtls_mpi_bitlen(&N);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || mbedtls_mpi_size(&E) > 4) {
        rc = HSM_ERR_UNSUPPORTED;
        goto out;
    }
    if (crt) {
        if (mbedtls_mpi_read_binary(&P, v[2], l[2]) != 0 || mbedtls_mpi_read_binary(&Q, v[4], l[4]) != 0) {
            goto out;
        }
    } else if (mbedtls_mpi_read_binary(&D, v[0], l[0]) != 0 || hsm_rsa_factor(&N, &E, &D, &P, &Q, NULL) != 0) {
        goto out; /* bounded work: rsa_factor.h */
    }
    /* complete() derives D for type 06 and DP, DQ, QP for both; check_privkey() then checks
     * P·Q = N and D·E ≡ 1 mod P-1 and Q-1. */
    mbedtls_rsa_context *r = &k->rsa;
    if (mbedtls_rsa_import(r, &N, &P, &Q, crt ? NULL : &D, &E) != 0 || mbedtls_rsa_complete(r) != 0 ||
        mbedtls_rsa_check_privkey(r) != 0) {
        goto out;
    }
    uint8_t e[4] = {0};
    (void)mbedtls_mpi_write_binary(&E, e, sizeof(e));
    k->spec.type = HSM_KEY_RSA;
    k->spec.rsa_bits = (uint16_t)bits;
    k->spec.rsa_exponent = ((uint32_t)e[0] << 24) | ((uint32_t)e[1] << 16) | ((uint32_t)e[2] << 8) | e[3];
    k->len = mbedtls_rsa_get_len(r);
    rc = HSM_OK;
out:
    mbedtls_mpi_free(&N); /* mbedtls_mpi_free() zeroises */
    mbedtls_mpi_free(&E);
    mbedtls_mpi_free(&D);
    mbedtls_mpi_free(&P);
    mbedtls_mpi_free(&Q);
    return rc;
}

/* The curve of an EC blob: by p and a; a of length 0 (Pico writes it so for a = -3) means
 * p - 3, and failing that the curve is taken by p alone. */
static int blob_curve(const uint8_t *p, size_t plen, const uint8_t *a, size_t alen,
                      mbedtls_ecp_group_id *grp)
{
    if (alen > 0) {
        return hsm_key_curve_from_params(p, plen, a, alen, grp);
    }
    mbedtls_mpi P;
    uint8_t am3[66];
    int rc = HSM_ERR_UNSUPPORTED;
    mbedtls_mpi_init(&P);
    if (plen <= sizeof(am3) && mbedtls_mpi_read_binary(&P, p, plen) == 0 &&
        mbedtls_mpi_sub_int(&P, &P, 3) == 0 && mbedtls_mpi_write_binary(&P, am3, plen) == 0) {
        rc = hsm_key_curve_from_params(p, plen, am3, plen, grp);
    }
    mbedtls_mpi_free(&P);
    return rc;
}

static int import_ec(key *k, const uint8_t *p, const uint8_t *end)
{
    /* a b p n G d Q */
    const uint8_t *v[7];
    size_t l[7];
    for (size_t i = 0; i < 6; i++) {
        if (next_comp(&p, end, &v[i], &l[i]) != HSM_OK) return HSM_ERR_DATA;
    }
    mbedtls_ecp_group_id grp;
    if (hsm_key_montgomery_from_prime(v[2], l[2], &grp) == HSM_OK) {
        return HSM_ERR_UNSUPPORTED; /* X25519/X448: see hsm_key_export_blob_plain() */
    }
    int rc = blob_curve(v[2], l[2], v[0], l[0], &grp);
    if (rc != HSM_OK) {
        return rc == HSM_ERR_UNSUPPORTED ? HSM_ERR_UNSUPPORTED : HSM_ERR_DATA;
    }
    /* Q (optional in the blob) is always recomputed from d: the record's Q is then right by
     * construction. */
    if (mbedtls_ecp_read_key(grp, &k->ec, v[5], l[5]) != 0 ||
        mbedtls_ecp_mul(&k->ec.grp, &k->ec.Q, &k->ec.d, &k->ec.grp.G, hsm_rng_mbedtls, NULL) != 0) {
        return HSM_ERR_DATA;
    }
    k->spec.type = HSM_KEY_EC;
    k->spec.grp = grp;
    k->len = (k->ec.grp.pbits + 7) / 8;
    return HSM_OK;
}

int hsm_key_import(const hsm_session *s, uint8_t id, uint8_t blob_type, const uint8_t *body,
                   size_t len, uint8_t domain, const uint8_t *algs, size_t nalgs)
{
    key k;
    size_t sz;
    int rc;
    if (id == HSM_DEVICE_KEY_ID) {
        return HSM_ERR_P1P2;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    if (nalgs > HSM_KEY_ALGS_MAX) {
        return HSM_ERR_DATA;
    }
    rc = hsm_store_size(key_fid(id), &sz);
    if (rc == HSM_OK) {
        return HSM_ERR_EXISTS;
    }
    if (rc != HSM_ERR_NOT_FOUND) {
        return rc;
    }
    key_init(&k);
    k.spec.counter = HSM_KEY_UNLIMITED;
    k.spec.domain = domain;
    k.spec.nalgs = (uint8_t)nalgs;
    memcpy(k.spec.algs, algs, nalgs);
    if (len < 2) {
        rc = HSM_ERR_DATA;
    } else if (blob_type == HSM_BLOB_RSA || blob_type == HSM_BLOB_RSA_CRT) {
        rc = import_rsa(&k, blob_type, body + 2, body + len);
    } else if (blob_type == HSM_BLOB_EC) {
        rc = import_ec(&k, body + 2, body + len);
    } else if (blob_type == HSM_BLOB_AES) {
        size_t n = ((size_t)body[0] << 8) | body[1];
        if (!sym_len_ok(n) || len - 2 < n) {
            rc = HSM_ERR_DATA;
        } else {
            k.spec.type = HSM_KEY_AES;
            k.spec.sym_len = (uint8_t)n;
            k.len = n;
            memcpy(k.sym, body + 2, n);
            rc = HSM_OK;
        }
    } else {
        rc = HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = store_record(s, id, &k);
    }
    key_free(&k);
    return rc;
}

/* ---- symmetric keys and EC derivation (extensions spec 1) ------------------------------ */

int hsm_key_expose_secret(const hsm_session *s, uint8_t id, uint8_t alg, hsm_key_secret_fn fn,
                          void *ctx)
{
    key k;
    int rc = load(s, id, &k);
    if (rc == HSM_OK) {
        rc = k.spec.type == HSM_KEY_AES ? check_alg_list(&k, alg) : HSM_ERR_UNSUPPORTED;
    }
    if (rc == HSM_OK) {
        rc = spend(s, id, &k);
    }
    if (rc == HSM_OK) {
        rc = fn(ctx, k.sym, k.spec.sym_len);
        if (rc != HSM_OK) {
            refund(s, id, &k);
        }
    }
    key_free(&k);
    return rc;
}

int hsm_key_derive_ec(const hsm_session *s, uint8_t src, uint8_t dst, const uint8_t *a,
                      size_t alen)
{
    key k, nk;
    mbedtls_mpi x;
    if (dst == HSM_DEVICE_KEY_ID) {
        return HSM_ERR_P1P2;
    }
    key_init(&nk);
    mbedtls_mpi_init(&x);
    int rc = load(s, src, &k);
    if (rc == HSM_OK) {
        bool fits = k.spec.type == HSM_KEY_EC && !is_montgomery(k.spec.grp);
        rc = fits ? check_alg_list(&k, 0x98) : HSM_ERR_UNSUPPORTED;
    }
    /* d' = (d + a) mod p: the reference reduces by the field prime (ext. spec 1.8, kept for
     * compatibility); a result that is no private key (0, >= n) is refused, not stored. */
    if (rc == HSM_OK && (mbedtls_mpi_read_binary(&x, a, alen) != 0 ||
                         mbedtls_mpi_add_mpi(&x, &x, &k.ec.d) != 0 ||
                         mbedtls_mpi_mod_mpi(&x, &x, &k.ec.grp.P) != 0)) {
        rc = HSM_ERR_REF_UNUSABLE;
    }
    if (rc == HSM_OK) {
        nk.spec.type = HSM_KEY_EC;
        nk.spec.grp = k.spec.grp;
        nk.spec.counter = HSM_KEY_UNLIMITED;
        if (mbedtls_ecp_group_load(&nk.ec.grp, k.spec.grp) != 0 ||
            mbedtls_mpi_copy(&nk.ec.d, &x) != 0) {
            rc = HSM_ERR_EXEC;
        } else if (mbedtls_ecp_check_privkey(&nk.ec.grp, &nk.ec.d) != 0) {
            rc = HSM_ERR_REF_UNUSABLE;
        } else if (mbedtls_ecp_mul(&nk.ec.grp, &nk.ec.Q, &nk.ec.d, &nk.ec.grp.G, hsm_rng_mbedtls,
                                   NULL) != 0) {
            rc = HSM_ERR_EXEC;
        }
        nk.len = (nk.ec.grp.pbits + 7) / 8;
    }
    if (rc == HSM_OK) {
        rc = spend(s, src, &k);
    }
    if (rc == HSM_OK) {
        rc = store_record(s, dst, &nk);
        if (rc != HSM_OK && src != dst) {
            refund(s, src, &k);
        }
    }
    mbedtls_mpi_free(&x);
    key_free(&nk);
    key_free(&k);
    return rc;
}

struct domain_scan {
    uint8_t ids[256];
    size_t n;
};

static int collect_key(uint16_t fid, void *ctx)
{
    struct domain_scan *d = ctx;
    if ((fid >> 8) == HSM_PREFIX_KEY && (fid & 0xFF) != HSM_DEVICE_KEY_ID && d->n < 256) {
        d->ids[d->n++] = (uint8_t)fid;
    }
    return 0;
}

int hsm_key_domain_in_use(const hsm_session *s, uint8_t domain, bool *used)
{
    static struct domain_scan scan;
    scan.n = 0;
    *used = false;
    int rc = hsm_store_each(collect_key, &scan);
    for (size_t i = 0; rc == HSM_OK && i < scan.n && !*used; i++) {
        key k;
        rc = load(s, scan.ids[i], &k);
        *used = rc == HSM_OK && k.spec.domain == domain;
        key_free(&k);
    }
    return rc;
}
