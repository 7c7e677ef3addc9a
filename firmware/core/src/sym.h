/*
 * sym.h — the symmetric crypto facade over mbedTLS (extensions spec 1.4-1.6): AES modes,
 * ChaCha20-Poly1305, CMAC, HMAC and the KDFs, as plain functions of caller-owned buffers.
 *
 * Every function takes the secret as bytes (the key store hands it out for one call, keys.h),
 * keeps no state, wipes its mbedTLS contexts, and returns HSM_OK or:
 *   HSM_ERR_WRONG_LENGTH  a length the algorithm does not take (key, IV/nonce, tag, data),
 *                         or an output that does not fit `cap`;
 *   HSM_ERR_EXEC          the cipher failed, and for AEAD decryption: the tag did not verify.
 * AEAD decryption that fails leaves no plaintext in `out` (its first `len` bytes are zeroed).
 * Output never aliases input.
 */
#ifndef HSM_SYM_H
#define HSM_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/md.h"

typedef enum {
    HSM_SYM_ECB, /* one block per call */
    HSM_SYM_CBC, /* no padding: len a multiple of 16 */
    HSM_SYM_CFB, /* CFB-128, any length */
    HSM_SYM_OFB, /* any length */
    HSM_SYM_CTR, /* iv = initial 16-byte counter block, big-endian increment */
    HSM_SYM_GCM, /* iv any non-zero length; tag appended (encrypt) / expected at the end */
    HSM_SYM_CCM, /* nonce 7..13 bytes; tag as GCM */
    HSM_SYM_XTS, /* key 32 or 64 bytes, iv = 16-byte tweak, len >= 16 (ciphertext stealing) */
} hsm_sym_mode;

typedef struct {
    const uint8_t *iv;   /* IV / nonce / tweak; NULL: 16 zero bytes (not for GCM, CCM) */
    size_t iv_len;
    const uint8_t *aad;  /* GCM, CCM: additional data (may be NULL) */
    size_t aad_len;
    size_t tag_len;      /* GCM: 4, 8, 12..16; CCM: 4, 6, .., 16; 0 = 16 */
} hsm_sym_params;

/* AES in `mode`. Encryption writes len (+ tag) bytes, decryption len (- tag). */
int hsm_sym_aes(hsm_sym_mode mode, bool encrypt, const uint8_t *key, size_t key_len,
                const hsm_sym_params *p, const uint8_t *in, size_t len, uint8_t *out,
                size_t cap, size_t *out_len);

/* RFC 8439 AEAD: key 32 bytes, nonce 12; encrypt appends the 16-byte tag. */
int hsm_sym_chachapoly(bool encrypt, const uint8_t key[32], const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap, size_t *out_len);

/* SP 800-38B AES-CMAC with a 16, 24 or 32-byte key. */
int hsm_sym_cmac(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len,
                 uint8_t mac[16]);

/* HMAC with md; writes the full digest length. */
int hsm_sym_hmac(mbedtls_md_type_t md, const uint8_t *key, size_t key_len, const uint8_t *in,
                 size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* RFC 5869 HKDF (extract and expand); out_len <= 255 x digest length. */
int hsm_sym_hkdf(mbedtls_md_type_t md, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                 size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out,
                 size_t out_len);

/* RFC 8018 PBKDF2 with HMAC-md; iterations >= 1. */
int hsm_sym_pbkdf2(mbedtls_md_type_t md, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
                   size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len);

/* RFC 8018 PBES2 with password pw: params = the contents of a PBES2-params SEQUENCE
 * (PBKDF2 with its PRF, then an encryption scheme mbedTLS knows: AES-CBC, 3DES-CBC, DES-CBC,
 * PKCS#7 padding). PBKDF2 iteration counts above max_iter are refused (HSM_ERR_WRONG_LENGTH).
 * Any malformed parameter or padding: HSM_ERR_WRONG_LENGTH. */
int hsm_sym_pbes2(bool encrypt, const uint8_t *params, size_t params_len, uint32_t max_iter,
                  const uint8_t *pw, size_t pw_len, const uint8_t *in, size_t len, uint8_t *out,
                  size_t cap, size_t *out_len);

/* ANSI X9.63 KDF: Hash(Z || counter32 || SharedInfo) for counter 1, 2, ... truncated. */
int hsm_sym_x963(mbedtls_md_type_t md, const uint8_t *z, size_t z_len, const uint8_t *info,
                 size_t info_len, uint8_t *out, size_t out_len);

#endif
