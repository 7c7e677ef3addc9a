/*
 * sym.c — the symmetric crypto facade; see sym.h. Contexts live on this file's stack frames
 * and are freed (mbedTLS wipes them) before every return.
 */
#include "sym.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/tlv.h"
#include "mbedtls/aes.h"
#include "mbedtls/ccm.h"
#include "mbedtls/chachapoly.h"
#include "mbedtls/cipher.h"
#include "mbedtls/cmac.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/pkcs5.h"
#include "mbedtls/platform_util.h"

#define BLOCK 16u

static bool aes_key_ok(size_t n)
{
    return n == 16 || n == 24 || n == 32;
}

static int gcm(bool enc, const uint8_t *key, size_t key_len, const hsm_sym_params *p,
               size_t tag_len, const uint8_t *in, size_t len, uint8_t *out)
{
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    int m = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(key_len * 8));
    if (m == 0 && enc) {
        m = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, p->iv, p->iv_len, p->aad,
                                      p->aad_len, in, out, tag_len, out + len);
    } else if (m == 0) {
        m = mbedtls_gcm_auth_decrypt(&g, len, p->iv, p->iv_len, p->aad, p->aad_len, in + len,
                                     tag_len, in, out);
    }
    mbedtls_gcm_free(&g);
    return m == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static int ccm(bool enc, const uint8_t *key, size_t key_len, const hsm_sym_params *p,
               size_t tag_len, const uint8_t *in, size_t len, uint8_t *out)
{
    mbedtls_ccm_context c;
    mbedtls_ccm_init(&c);
    int m = mbedtls_ccm_setkey(&c, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(key_len * 8));
    if (m == 0 && enc) {
        m = mbedtls_ccm_encrypt_and_tag(&c, len, p->iv, p->iv_len, p->aad, p->aad_len, in, out,
                                        out + len, tag_len);
    } else if (m == 0) {
        m = mbedtls_ccm_auth_decrypt(&c, len, p->iv, p->iv_len, p->aad, p->aad_len, in, out,
                                     in + len, tag_len);
    }
    mbedtls_ccm_free(&c);
    return m == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static int xts(bool enc, const uint8_t *key, size_t key_len, const uint8_t tweak[16],
               const uint8_t *in, size_t len, uint8_t *out)
{
    mbedtls_aes_xts_context x;
    mbedtls_aes_xts_init(&x);
    int m = enc ? mbedtls_aes_xts_setkey_enc(&x, key, (unsigned)(key_len * 8))
                : mbedtls_aes_xts_setkey_dec(&x, key, (unsigned)(key_len * 8));
    if (m == 0) {
        m = mbedtls_aes_crypt_xts(&x, enc ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT, len, tweak,
                                  in, out);
    }
    mbedtls_aes_xts_free(&x);
    return m == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* ECB, CBC, CFB, OFB, CTR with a 16-byte IV (zeros when absent). */
static int plain_mode(hsm_sym_mode mode, bool enc, const uint8_t *key, size_t key_len,
                      const uint8_t iv_in[16], const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t iv[BLOCK], stream[BLOCK];
    size_t off = 0;
    mbedtls_aes_context a;
    mbedtls_aes_init(&a);
    memcpy(iv, iv_in, BLOCK);
    /* Only ECB and CBC decryption use the inverse cipher; the stream modes always encrypt. */
    bool inverse = !enc && (mode == HSM_SYM_ECB || mode == HSM_SYM_CBC);
    int m = inverse ? mbedtls_aes_setkey_dec(&a, key, (unsigned)(key_len * 8))
                    : mbedtls_aes_setkey_enc(&a, key, (unsigned)(key_len * 8));
    const int dir = enc ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT;
    if (m == 0) {
        switch (mode) {
        case HSM_SYM_ECB: m = mbedtls_aes_crypt_ecb(&a, dir, in, out); break;
        case HSM_SYM_CBC: m = mbedtls_aes_crypt_cbc(&a, dir, len, iv, in, out); break;
        case HSM_SYM_CFB: m = mbedtls_aes_crypt_cfb128(&a, dir, len, &off, iv, in, out); break;
        case HSM_SYM_OFB: m = mbedtls_aes_crypt_ofb(&a, len, &off, iv, in, out); break;
        case HSM_SYM_CTR: m = mbedtls_aes_crypt_ctr(&a, len, &off, iv, stream, in, out); break;
        default: m = -1; break;
        }
    }
    mbedtls_aes_free(&a);
    mbedtls_platform_zeroize(stream, sizeof(stream));
    mbedtls_platform_zeroize(iv, sizeof(iv));
    return m == 0 ? HSM_OK : HSM_ERR_EXEC;
}

int hsm_sym_aes(hsm_sym_mode mode, bool encrypt, const uint8_t *key, size_t key_len,
                const hsm_sym_params *p, const uint8_t *in, size_t len, uint8_t *out,
                size_t cap, size_t *out_len)
{
    static const uint8_t zero_iv[BLOCK];
    const bool aead = mode == HSM_SYM_GCM || mode == HSM_SYM_CCM;
    size_t tag_len = p->tag_len ? p->tag_len : 16;
    *out_len = 0;
    if (mode == HSM_SYM_XTS ? key_len != 32 && key_len != 64 : !aes_key_ok(key_len)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (aead) {
        if (p->iv == NULL || p->iv_len == 0 ||
            (mode == HSM_SYM_CCM && (p->iv_len < 7 || p->iv_len > 13))) {
            return HSM_ERR_WRONG_LENGTH;
        }
        bool tag_ok = mode == HSM_SYM_GCM
                          ? tag_len == 4 || tag_len == 8 || (tag_len >= 12 && tag_len <= 16)
                          : tag_len >= 4 && tag_len <= 16 && tag_len % 2 == 0;
        if (!tag_ok || (!encrypt && len < tag_len)) {
            return HSM_ERR_WRONG_LENGTH;
        }
        size_t n = encrypt ? len + tag_len : len - tag_len;
        if (n > cap || (encrypt && len > cap)) {
            return HSM_ERR_WRONG_LENGTH;
        }
        size_t body = encrypt ? len : len - tag_len;
        int rc = mode == HSM_SYM_GCM ? gcm(encrypt, key, key_len, p, tag_len, in, body, out)
                                     : ccm(encrypt, key, key_len, p, tag_len, in, body, out);
        if (rc != HSM_OK) {
            mbedtls_platform_zeroize(out, n);
            return rc;
        }
        *out_len = n;
        return HSM_OK;
    }
    if (p->iv != NULL && p->iv_len != BLOCK) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (len > cap || (mode == HSM_SYM_ECB && len != BLOCK) || (mode == HSM_SYM_XTS && len < BLOCK)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    const uint8_t *iv = p->iv ? p->iv : zero_iv;
    int rc = mode == HSM_SYM_XTS ? xts(encrypt, key, key_len, iv, in, len, out)
                                 : plain_mode(mode, encrypt, key, key_len, iv, in, len, out);
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(out, len);
        return rc;
    }
    *out_len = len;
    return HSM_OK;
}

int hsm_sym_chachapoly(bool encrypt, const uint8_t key[32], const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (!encrypt && len < 16) {
        return HSM_ERR_WRONG_LENGTH;
    }
    size_t body = encrypt ? len : len - 16, n = encrypt ? len + 16 : body;
    if (n > cap) {
        return HSM_ERR_WRONG_LENGTH;
    }
    mbedtls_chachapoly_context c;
    mbedtls_chachapoly_init(&c);
    int m = mbedtls_chachapoly_setkey(&c, key);
    if (m == 0 && encrypt) {
        m = mbedtls_chachapoly_encrypt_and_tag(&c, body, nonce, aad, aad_len, in, out, out + body);
    } else if (m == 0) {
        m = mbedtls_chachapoly_auth_decrypt(&c, body, nonce, aad, aad_len, in + body, in, out);
    }
    mbedtls_chachapoly_free(&c);
    if (m != 0) {
        mbedtls_platform_zeroize(out, n);
        return HSM_ERR_EXEC;
    }
    *out_len = n;
    return HSM_OK;
}

int hsm_sym_cmac(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len,
                 uint8_t mac[16])
{
    if (!aes_key_ok(key_len)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    static const uint8_t empty[1];
    const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_values(
        MBEDTLS_CIPHER_ID_AES, (int)(key_len * 8), MBEDTLS_MODE_ECB);
    if (in == NULL) {
        in = empty; /* mbedTLS refuses a NULL message even of length 0 */
    }
    return ci != NULL && mbedtls_cipher_cmac(ci, key, key_len * 8, in, len, mac) == 0
               ? HSM_OK
               : HSM_ERR_EXEC;
}

int hsm_sym_hmac(mbedtls_md_type_t md, const uint8_t *key, size_t key_len, const uint8_t *in,
                 size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    *out_len = 0;
    if (mi == NULL) {
        return HSM_ERR_EXEC;
    }
    size_t n = mbedtls_md_get_size(mi);
    if (n > cap) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (mbedtls_md_hmac(mi, key, key_len, in, len, out) != 0) {
        return HSM_ERR_EXEC;
    }
    *out_len = n;
    return HSM_OK;
}

int hsm_sym_hkdf(mbedtls_md_type_t md, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                 size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out,
                 size_t out_len)
{
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    if (mi == NULL) {
        return HSM_ERR_EXEC;
    }
    if (out_len == 0 || out_len > 255u * mbedtls_md_get_size(mi)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    return mbedtls_hkdf(mi, salt, salt_len, ikm, ikm_len, info, info_len, out, out_len) == 0
               ? HSM_OK
               : HSM_ERR_EXEC;
}

int hsm_sym_pbkdf2(mbedtls_md_type_t md, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
                   size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    if (iterations == 0 || out_len == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    return mbedtls_pkcs5_pbkdf2_hmac_ext(md, pw, pw_len, salt, salt_len, iterations,
                                         (uint32_t)out_len, out) == 0
               ? HSM_OK
               : HSM_ERR_EXEC;
}

int hsm_sym_x963(mbedtls_md_type_t md, const uint8_t *z, size_t z_len, const uint8_t *info,
                 size_t info_len, uint8_t *out, size_t out_len)
{
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    mbedtls_md_context_t ctx;
    int rc = HSM_OK;
    if (mi == NULL) {
        return HSM_ERR_EXEC;
    }
    if (out_len == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    const size_t hl = mbedtls_md_get_size(mi);
    mbedtls_md_init(&ctx);
    if (mbedtls_md_setup(&ctx, mi, 0) != 0) {
        rc = HSM_ERR_EXEC;
    }
    for (uint32_t counter = 1, done = 0; rc == HSM_OK && done < out_len; counter++) {
        const uint8_t cb[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
                               (uint8_t)(counter >> 8), (uint8_t)counter};
        if (mbedtls_md_starts(&ctx) != 0 || mbedtls_md_update(&ctx, z, z_len) != 0 ||
            mbedtls_md_update(&ctx, cb, 4) != 0 ||
            (info_len && mbedtls_md_update(&ctx, info, info_len) != 0) ||
            mbedtls_md_finish(&ctx, h) != 0) {
            rc = HSM_ERR_EXEC;
            break;
        }
        size_t n = out_len - done < hl ? out_len - done : hl;
        memcpy(out + done, h, n);
        done += (uint32_t)n;
    }
    mbedtls_md_free(&ctx);
    mbedtls_platform_zeroize(h, sizeof(h));
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(out, out_len);
    }
    return rc;
}

/* The PBKDF2 iteration count inside PBES2-params contents: 30 { 06 kdf, 30 { 04 salt, 02 n } }. */
static int pbes2_iterations(const uint8_t *params, size_t len, uint32_t *n)
{
    hsm_tlv kdf, kp, salt, iter;
    hsm_tlv_reader rd;
    hsm_tlv_reader_init(&rd, params, len);
    if (hsm_tlv_next(&rd, &kdf) != 1 || kdf.tag != 0x30 ||
        hsm_tlv_find(kdf.value, kdf.len, 0x30, &kp) != 1) {
        return HSM_ERR_WRONG_LENGTH;
    }
    hsm_tlv_reader_init(&rd, kp.value, kp.len);
    if (hsm_tlv_next(&rd, &salt) != 1 || salt.tag != 0x04 || hsm_tlv_next(&rd, &iter) != 1 ||
        iter.tag != 0x02 || iter.len == 0 || iter.len > 4 || (iter.value[0] & 0x80)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    *n = 0;
    for (size_t i = 0; i < iter.len; i++) *n = (*n << 8) | iter.value[i];
    return HSM_OK;
}

int hsm_sym_pbes2(bool encrypt, const uint8_t *params, size_t params_len, uint32_t max_iter,
                  const uint8_t *pw, size_t pw_len, const uint8_t *in, size_t len, uint8_t *out,
                  size_t cap, size_t *out_len)
{
    uint32_t n;
    *out_len = 0;
    if (params == NULL || pbes2_iterations(params, params_len, &n) != HSM_OK || n == 0 ||
        n > max_iter) {
        return HSM_ERR_WRONG_LENGTH;
    }
    static const uint8_t empty[1];
    mbedtls_asn1_buf p = {.tag = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE,
                          .len = params_len, .p = (unsigned char *)params};
    int m = mbedtls_pkcs5_pbes2_ext(&p, encrypt ? MBEDTLS_PKCS5_ENCRYPT : MBEDTLS_PKCS5_DECRYPT,
                                    pw, pw_len, in ? in : empty, len, out, cap, out_len);
    if (m != 0) {
        mbedtls_platform_zeroize(out, cap < len + 16 ? cap : len + 16);
        *out_len = 0;
        return HSM_ERR_WRONG_LENGTH;
    }
    return HSM_OK;
}
