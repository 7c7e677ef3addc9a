/*
 * cmd_key_wrap.c — WRAP KEY (72, P2 92) and UNWRAP KEY (74, P2 93): the key blob of core spec
 * 4.4, made with the DKEK of the key's domain (dkek.h).
 *
 *   KCV (8) | type (1) | 00 0A default-algorithm OID | 00 n allowed algorithms |
 *   00 00 access conditions | 00 00 key OID | AES-256-CBC(Kenc, IV 0, plaintext) | CMAC(Kmac)
 *   plaintext = 8 random bytes | key size (2) | components (2-byte length, value), followed
 *   by 80 00.. only when its length is not a multiple of 16.
 * The key material comes from and goes to the key store (hsm_key_export_blob_plain,
 * hsm_key_import); this file only frames, encrypts and authenticates it.
 *
 * UNWRAP takes the blob from the command data (OpenSC 0.23) or, without data, from the
 * transfer file 2F10 written by UPDATE BINARY (OpenSC >= 0.24), which is erased after a
 * successful unwrap. Checks in order: KCV (a domain with that DKEK; none at all -> 6A88,
 * no match -> 6A80), CMAC (6A80), type and its OID (6A80),
 * lengths (6A80), then the key store's parse (6A80) and the key number (occupied -> 6A89).
 *
 * Static buffers (owned here, wiped before return): `plain` (blob plaintext), `blob` (2F10).
 */
#include <string.h>

#include "attest.h"
#include "cmd.h"
#include "dkek.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "ids.h"
#include "keys.h"
#include "mbedtls/aes.h"
#include "mbedtls/cipher.h"
#include "mbedtls/cmac.h"
#include "mbedtls/platform_util.h"

#define RANDOM_LEN 8u
#define MAC_LEN 16u
#define PLAIN_MAX 2304u

static uint8_t plain[PLAIN_MAX];
static uint8_t blob[HSM_STORE_OBJ_MAX];

static const uint8_t oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};

static int cmac(const uint8_t kmac[32], const uint8_t *in, size_t len, uint8_t mac[16])
{
    const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_256_ECB);
    return mbedtls_cipher_cmac(ci, kmac, 256, in, len, mac) == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static int cbc(const uint8_t kenc[32], int mode, const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t iv[16] = {0};
    mbedtls_aes_context aes;
    mbedtls_aes_init(&aes);
    int m = mode == MBEDTLS_AES_ENCRYPT ? mbedtls_aes_setkey_enc(&aes, kenc, 256)
                                        : mbedtls_aes_setkey_dec(&aes, kenc, 256);
    if (m == 0) {
        m = mbedtls_aes_crypt_cbc(&aes, mode, len, iv, in, out);
    }
    mbedtls_aes_free(&aes);
    return m == 0 ? HSM_OK : HSM_ERR_EXEC;
}

int hsm_cmd_wrap_key(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint8_t kcv[8], kenc[32], kmac[32];
    hsm_key_export_info info;
    size_t n;
    if (a->p2 != 0x92) {
        return HSM_ERR_WRONG_P1P2;
    }
    int rc = hsm_key_export_blob_plain(c->s, a->p1, &info, plain + RANDOM_LEN,
                                       sizeof(plain) - RANDOM_LEN - 16, &n);
    if (rc == HSM_OK) {
        rc = hsm_dkek_expose_keys(c->s, info.domain, kcv, kenc, kmac);
    }
    if (rc == HSM_OK) {
        rc = hsm_rng_bytes(plain, RANDOM_LEN);
    }
    if (rc != HSM_OK) {
        goto out;
    }
    n += RANDOM_LEN;
    if (n % 16 != 0) {
        plain[n++] = 0x80;
        while (n % 16 != 0) {
            plain[n++] = 0x00;
        }
    }
    const uint8_t *oid = info.blob_type == HSM_BLOB_RSA ? oid_rsa
                         : info.blob_type == HSM_BLOB_EC ? oid_ec : oid_aes;
    const size_t oid_len = info.blob_type == HSM_BLOB_AES ? sizeof(oid_aes) : sizeof(oid_rsa);
    const size_t head = 8 + 1 + 2 + oid_len + 2 + info.nalgs + 2 + 2;
    if (hsm_cmd_room(c) < head + n + MAC_LEN) {
        rc = HSM_ERR_WRONG_LENGTH;
        goto out;
    }
    uint8_t *o = c->out + c->out_len, *p = o;
    memcpy(p, kcv, 8), p += 8;
    *p++ = info.blob_type;
    *p++ = 0x00, *p++ = (uint8_t)oid_len;
    memcpy(p, oid, oid_len), p += oid_len;
    *p++ = 0x00, *p++ = info.nalgs;
    memcpy(p, info.algs, info.nalgs), p += info.nalgs;
    *p++ = 0x00, *p++ = 0x00; /* access conditions */
    *p++ = 0x00, *p++ = 0x00; /* key OID */
    if ((rc = cbc(kenc, MBEDTLS_AES_ENCRYPT, plain, n, p)) == HSM_OK &&
        (rc = cmac(kmac, o, head + n, p + n)) == HSM_OK) {
        c->out_len += head + n + MAC_LEN;
    }
out:
    mbedtls_platform_zeroize(plain, sizeof(plain));
    mbedtls_platform_zeroize(kenc, sizeof(kenc));
    mbedtls_platform_zeroize(kmac, sizeof(kmac));
    return rc;
}

/* Reads a 2-byte length-prefixed field of the outer layout. */
static int field(const uint8_t **p, const uint8_t *end, const uint8_t **v, size_t *len)
{
    if (end - *p < 2) return HSM_ERR_DATA;
    size_t l = ((size_t)(*p)[0] << 8) | (*p)[1];
    *p += 2;
    if ((size_t)(end - *p) < l) return HSM_ERR_DATA;
    *v = *p, *len = l, *p += l;
    return HSM_OK;
}

static int unwrap(hsm_cmd *c, const uint8_t *in, size_t len, uint8_t *type_out)
{
    uint8_t kenc[32], kmac[32], kcv[8], mac[16], domain;
    const uint8_t *p = in + 9, *end, *oid, *algs, *skip;
    size_t oid_len, nalgs, skip_len;
    if (len < 9 + 8 + 16 + MAC_LEN) {
        return HSM_ERR_DATA;
    }
    end = in + len - MAC_LEN;
    int rc = hsm_dkek_find_kcv(c->s, in, &domain);
    if (rc == HSM_OK) {
        rc = hsm_dkek_expose_keys(c->s, domain, kcv, kenc, kmac);
    }
    if (rc == HSM_OK && (rc = cmac(kmac, in, len - MAC_LEN, mac)) == HSM_OK) {
        uint8_t diff = 0;
        for (size_t i = 0; i < MAC_LEN; i++) {
            diff |= (uint8_t)(mac[i] ^ end[i]);
        }
        rc = diff == 0 ? HSM_OK : HSM_ERR_DATA;
    }
    const uint8_t type = in[8];
    *type_out = type;
    if (rc == HSM_OK && (rc = field(&p, end, &oid, &oid_len)) == HSM_OK) {
        if (type == HSM_BLOB_AES) {
            rc = oid_len == sizeof(oid_aes) && memcmp(oid, oid_aes, oid_len) == 0 ? HSM_OK : HSM_ERR_DATA;
        } else if (type == HSM_BLOB_RSA || type == HSM_BLOB_RSA_CRT) {
            rc = oid_len == sizeof(oid_rsa) && memcmp(oid, oid_rsa, oid_len) == 0 ? HSM_OK : HSM_ERR_DATA;
        } else if (type == HSM_BLOB_EC) {
            rc = oid_len == sizeof(oid_ec) && memcmp(oid, oid_ec, oid_len) == 0 ? HSM_OK : HSM_ERR_DATA;
        } else {
            rc = HSM_ERR_DATA;
        }
    }
    if (rc == HSM_OK) rc = field(&p, end, &algs, &nalgs);
    if (rc == HSM_OK && nalgs > HSM_KEY_ALGS_MAX) rc = HSM_ERR_DATA;
    if (rc == HSM_OK) rc = field(&p, end, &skip, &skip_len); /* access conditions */
    if (rc == HSM_OK) rc = field(&p, end, &skip, &skip_len); /* key OID */
    size_t n = (size_t)(end - p);
    if (rc == HSM_OK && (n == 0 || n % 16 != 0 || n > sizeof(plain) || n < RANDOM_LEN + 2)) {
        rc = HSM_ERR_DATA;
    }
    if (rc == HSM_OK) rc = cbc(kenc, MBEDTLS_AES_DECRYPT, p, n, plain);
    if (rc == HSM_OK) {
        rc = hsm_key_import(c->s, c->apdu->p1, type, plain + RANDOM_LEN, n - RANDOM_LEN, domain,
                            algs, nalgs);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    mbedtls_platform_zeroize(kenc, sizeof(kenc));
    mbedtls_platform_zeroize(kmac, sizeof(kmac));
    return rc;
}

/* CE<id> = the unwrapped key's authenticated request, signed by the device key (ext. spec
 * 5.4), as for a generated key; not answered (OpenSC sends UNWRAP without Le). Built in `blob`,
 * which holds nothing secret by now. */
static int keep_attestation(hsm_cmd *c, uint8_t type)
{
    hsm_tlv_writer w;
    hsm_tlv_writer_init(&w, blob, sizeof(blob));
    const uint8_t *oid = type == HSM_BLOB_EC ? oid_ec : oid_rsa;
    int rc = hsm_attest_request(c->s, c->apdu->p1, oid, sizeof(oid_rsa), NULL, NULL, &w);
    if (rc == HSM_OK) {
        rc = hsm_store_write((uint16_t)((HSM_PREFIX_EE_CERT << 8) | c->apdu->p1), blob, w.len, 0);
    }
    return rc;
}

int hsm_cmd_unwrap_key(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint8_t type = 0;
    int rc;
    if (a->p2 != 0x93) {
        return HSM_ERR_WRONG_P1P2;
    }
    if (a->nc > 0) {
        rc = unwrap(c, a->data, a->nc, &type);
    } else {
        size_t n;
        rc = hsm_store_read(HSM_ID_UNWRAP_EF, 0, blob, sizeof(blob), &n);
        if (rc == HSM_OK) {
            rc = unwrap(c, blob, n, &type);
        }
        if (rc == HSM_OK) {
            (void)hsm_store_delete(HSM_ID_UNWRAP_EF); /* the key is in; a leftover blob is harmless */
        }
        mbedtls_platform_zeroize(blob, sizeof(blob));
    }
    if (rc == HSM_OK && (type == HSM_BLOB_EC || type == HSM_BLOB_RSA || type == HSM_BLOB_RSA_CRT)) {
        rc = keep_attestation(c, type);
        if (rc != HSM_OK) {
            /* No key without its attestation, as for key generation. */
            (void)hsm_store_delete((uint16_t)((HSM_PREFIX_KEY << 8) | a->p1));
        }
    }
    return rc;
}
