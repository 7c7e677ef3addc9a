/*
 * devid.c — the device identity; the formats, the serial scheme and the key's life cycle are
 * stated in devid.h.
 *
 * State (this file only): serial, CHR and `c_devaut`, the RAM copy of the chain (stored chain
 * or boot placeholder); `ready` is set once hsm_devid_init() built them. The private key lives
 * only in local key pairs and the static `plain` buffer, both wiped before every return.
 */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS /* the key pair's d and Q, as keys.c */
#include "hsm/devid.h"

#include <stdbool.h>
#include <string.h>

#include "cmd.h"
#include "hsm/cvc.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "ids.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "secret.h"

static const char serial_prefix[] = "ZZP";
static const char sequence[] = "00001";
static const uint8_t date_effective[6] = {2, 6, 0, 1, 0, 1}; /* 2026-01-01 */
static const uint8_t date_expiry[6] = {9, 9, 1, 2, 3, 1};    /* 2099-12-31 */

/* Plaintext of HSM_ID_DEVKEY: 81 d (32) | 82 Q (65): 2 + 32 + 2 + 65 bytes. */
#define DEVKEY_PLAIN_LEN 101u
#define DEVKEY_SEALED_LEN (DEVKEY_PLAIN_LEN + HSM_SEALED_OVERHEAD)

static char serial[HSM_DEVID_SERIAL_LEN + 1];
static char chr[HSM_DEVID_CHR_LEN + 1];
static uint8_t c_devaut[HSM_DEVID_C_DEVAUT_MAX];
static size_t c_devaut_len;
static bool ready;

int hsm_devid_serial_from_uid(const uint8_t uid[8], char out[HSM_DEVID_SERIAL_LEN + 1])
{
    static const char label[] = "pico-hsm/devid/serial/v1";
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const size_t plen = sizeof(serial_prefix) - 1;
    uint8_t msg[sizeof(label) - 1 + 8];
    uint8_t hash[32];

    if (uid == NULL || out == NULL) {
        return HSM_ERR_INTERNAL;
    }
    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, uid, 8);
    if (mbedtls_sha256(msg, sizeof(msg), hash, 0) != 0) {
        return HSM_ERR_EXEC;
    }
    /* 40 bits = hash[0..4], five bits per character, most significant first. */
    uint64_t bits = 0;
    for (size_t i = 0; i < 5; i++) {
        bits = (bits << 8) | hash[i];
    }
    memcpy(out, serial_prefix, plen);
    for (size_t i = 0; i < HSM_DEVID_SERIAL_LEN - plen; i++) {
        out[plen + i] = b32[(bits >> (35 - 5 * i)) & 0x1F];
    }
    out[HSM_DEVID_SERIAL_LEN] = '\0';
    return HSM_OK;
}

static int from_mbedtls(int ret)
{
    if (ret == MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED || ret == MBEDTLS_ERR_ECP_RANDOM_FAILED) {
        return HSM_ERR_ENTROPY;
    }
    return ret == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* Before the first INITIALIZE: a self-signed certificate over a key discarded at once. */
static int build_placeholder(void)
{
    mbedtls_ecp_keypair k;
    mbedtls_ecp_keypair_init(&k);
    int rc = from_mbedtls(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &k, hsm_rng_mbedtls, NULL));
    if (rc == HSM_OK) {
        rc = hsm_cvc_build_self_signed(&k, chr, chr, date_effective, date_expiry, c_devaut,
                                       sizeof(c_devaut), &c_devaut_len);
    }
    mbedtls_ecp_keypair_free(&k); /* wipes the private scalar */
    return rc;
}

/* Loads the sealed device key. HSM_ERR_NOT_FOUND when there is none, HSM_ERR_EXEC when it does
 * not open under this session's keys. */
static int key_load(const hsm_session *s, mbedtls_ecp_keypair *key)
{
    uint8_t sealed[DEVKEY_SEALED_LEN + 16], plain[DEVKEY_PLAIN_LEN];
    size_t sn = 0, pn = 0;
    hsm_tlv d, q;
    int rc = hsm_store_read(HSM_ID_DEVKEY, 0, sealed, sizeof(sealed), &sn);
    if (rc != HSM_OK) {
        return rc;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    rc = hsm_secret_expose(s, HSM_ID_DEVKEY, sealed, sn, plain, sizeof(plain), &pn);
    if (rc == HSM_OK) {
        if (hsm_tlv_find(plain, pn, 0x81, &d) != 1 || hsm_tlv_find(plain, pn, 0x82, &q) != 1 ||
            mbedtls_ecp_read_key(MBEDTLS_ECP_DP_SECP256R1, key, d.value, d.len) != 0 ||
            mbedtls_ecp_point_read_binary(&key->grp, &key->Q, q.value, q.len) != 0) {
            rc = HSM_ERR_EXEC;
        }
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    return rc;
}

static int key_store(const hsm_session *s, const mbedtls_ecp_keypair *key)
{
    uint8_t plain[DEVKEY_PLAIN_LEN], sealed[DEVKEY_SEALED_LEN];
    size_t qlen = 0, n = 0;
    int rc = HSM_ERR_EXEC;
    plain[0] = 0x81, plain[1] = 32;
    plain[34] = 0x82, plain[35] = 65;
    if (mbedtls_mpi_write_binary(&key->d, plain + 2, 32) == 0 &&
        mbedtls_ecp_point_write_binary(&key->grp, &key->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &qlen,
                                       plain + 36, 65) == 0 && qlen == 65) {
        rc = hsm_secret_seal(s, HSM_ID_DEVKEY, plain, sizeof(plain), sealed, sizeof(sealed), &n);
    }
    if (rc == HSM_OK) {
        rc = hsm_store_write(HSM_ID_DEVKEY, sealed, n, 0);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    return rc;
}

/* A new device key, sealed, with a self-signed chain (stored and in RAM). */
static int provision(const hsm_session *s, mbedtls_ecp_keypair *key)
{
    uint8_t cert[HSM_DEVID_C_DEVAUT_MAX];
    size_t len = 0;
    int rc = from_mbedtls(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, key, hsm_rng_mbedtls, NULL));
    if (rc == HSM_OK) {
        rc = hsm_cvc_build_self_signed(key, chr, chr, date_effective, date_expiry, cert,
                                       sizeof(cert), &len);
    }
    /* The chain first: a cut before the key is written leaves a chain without key, which the
     * next use or INITIALIZE replaces; never a stored key whose chain names another key. */
    if (rc == HSM_OK) {
        rc = hsm_store_write(HSM_ID_DEVCHAIN, cert, len, 0);
    }
    if (rc == HSM_OK) {
        rc = key_store(s, key);
    }
    if (rc == HSM_OK) {
        memcpy(c_devaut, cert, len);
        c_devaut_len = len;
    }
    return rc;
}

int hsm_devid_init(void)
{
    uint8_t uid[8];
    size_t n = 0;
    int rc;

    if (ready) {
        return HSM_OK;
    }
    hsm_port_unique_id(uid);
    if ((rc = hsm_devid_serial_from_uid(uid, serial)) != HSM_OK) {
        return rc;
    }
    memcpy(chr, serial, HSM_DEVID_SERIAL_LEN);
    memcpy(chr + HSM_DEVID_SERIAL_LEN, sequence, sizeof(sequence)); /* with the NUL */
    /* A stored chain is only ever written whole (store writes are atomic). Any read failure
     * falls back to the placeholder so that the card still answers. */
    if (hsm_store_read(HSM_ID_DEVCHAIN, 0, c_devaut, sizeof(c_devaut), &n) == HSM_OK && n > 0) {
        c_devaut_len = n;
    } else if ((rc = build_placeholder()) != HSM_OK) {
        c_devaut_len = 0;
        return rc;
    }
    ready = true;
    return HSM_OK;
}

void hsm_devid_forget(void)
{
    ready = false;
    c_devaut_len = 0;
    mbedtls_platform_zeroize(c_devaut, sizeof(c_devaut));
}

int hsm_devid_on_initialize(const uint8_t *old_mkek, const uint8_t new_mkek[32])
{
    hsm_session old, neu;
    mbedtls_ecp_keypair key;
    int rc = HSM_ERR_NOT_FOUND;

    memset(&old, 0, sizeof(old));
    memset(&neu, 0, sizeof(neu));
    mbedtls_ecp_keypair_init(&key);
    if ((rc = hsm_session_open_keys(&neu, new_mkek)) != HSM_OK) {
        goto exit;
    }
    rc = HSM_ERR_NOT_FOUND;
    if (old_mkek != NULL && hsm_session_open_keys(&old, old_mkek) == HSM_OK) {
        rc = key_load(&old, &key);
    }
    if (rc == HSM_OK) {
        rc = key_store(&neu, &key);
    } else {
        mbedtls_ecp_keypair_free(&key);
        mbedtls_ecp_keypair_init(&key);
        rc = provision(&neu, &key);
    }

exit:
    mbedtls_ecp_keypair_free(&key);
    hsm_session_clear(&old);
    hsm_session_clear(&neu);
    return rc;
}

int hsm_devid_install(const hsm_session *s, const uint8_t *data, size_t len)
{
    mbedtls_ecp_keypair key;
    hsm_cvc_cert first, c;
    hsm_tlv q;
    uint8_t pub[65];
    size_t used = 0, qlen = 0;
    int rc;

    if (len == 0 || len > HSM_DEVID_C_DEVAUT_MAX) {
        return len == 0 ? HSM_ERR_DATA : HSM_ERR_NO_SPACE;
    }
    if (hsm_cvc_parse(data, len, &first, &used) != HSM_OK) {
        return HSM_ERR_DATA;
    }
    for (size_t off = used; off < len; off += used) {
        if (hsm_cvc_parse(data + off, len - off, &c, &used) != HSM_OK) {
            return HSM_ERR_DATA;
        }
    }
    if (first.chr.len != strlen(chr) || memcmp(first.chr.value, chr, first.chr.len) != 0 ||
        hsm_tlv_find(first.pubkey.value, first.pubkey.len, 0x86, &q) != 1) {
        return HSM_ERR_CONDITIONS;
    }
    mbedtls_ecp_keypair_init(&key);
    rc = key_load(s, &key);
    if (rc == HSM_OK &&
        mbedtls_ecp_point_write_binary(&key.grp, &key.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &qlen, pub,
                                       sizeof(pub)) != 0) {
        rc = HSM_ERR_EXEC;
    }
    mbedtls_ecp_keypair_free(&key);
    if (rc == HSM_ERR_NOT_FOUND) {
        return HSM_ERR_CONDITIONS; /* no device key yet: nothing can be certified */
    }
    if (rc != HSM_OK) {
        return rc;
    }
    if (q.len != qlen || memcmp(q.value, pub, qlen) != 0) {
        return HSM_ERR_CONDITIONS;
    }
    if ((rc = hsm_store_write(HSM_ID_DEVCHAIN, data, len, 0)) != HSM_OK) {
        return rc;
    }
    memcpy(c_devaut, data, len);
    c_devaut_len = len;
    return HSM_OK;
}

const char *hsm_devid_serial(void)
{
    return ready ? serial : NULL;
}

const char *hsm_devid_chr(void)
{
    return ready ? chr : NULL;
}

int hsm_devid_c_devaut(const uint8_t **data, size_t *len)
{
    if (data == NULL || len == NULL) {
        return HSM_ERR_INTERNAL;
    }
    if (!ready) {
        return HSM_ERR_NOT_FOUND;
    }
    *data = c_devaut;
    *len = c_devaut_len;
    return HSM_OK;
}

int hsm_devid_sign(const hsm_session *s, const uint8_t *msg, size_t len, uint8_t *sig,
                   size_t cap, size_t *sig_len)
{
    mbedtls_ecp_keypair key;
    if (!ready || s == NULL) {
        return HSM_ERR_INTERNAL;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    mbedtls_ecp_keypair_init(&key);
    int rc = key_load(s, &key);
    if (rc == HSM_ERR_NOT_FOUND) {
        mbedtls_ecp_keypair_free(&key);
        mbedtls_ecp_keypair_init(&key);
        rc = provision(s, &key);
    }
    if (rc == HSM_OK) {
        rc = hsm_cvc_sign_ecdsa_sha256(&key, msg, len, sig, cap, sig_len);
    }
    mbedtls_ecp_keypair_free(&key); /* wipes the private scalar */
    return rc;
}

int hsm_devid_ecdh(const hsm_session *s, const uint8_t *peer, size_t peer_len, uint8_t z[32])
{
    mbedtls_ecp_keypair key;
    mbedtls_ecp_point p, shared;
    if (!ready || s == NULL) {
        return HSM_ERR_INTERNAL;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    mbedtls_ecp_keypair_init(&key);
    mbedtls_ecp_point_init(&p);
    mbedtls_ecp_point_init(&shared);
    int rc = key_load(s, &key);
    if (rc == HSM_ERR_NOT_FOUND) {
        mbedtls_ecp_keypair_free(&key);
        mbedtls_ecp_keypair_init(&key);
        rc = provision(s, &key);
    }
    if (rc == HSM_OK && (peer_len != 65 || peer[0] != 0x04 ||
                         mbedtls_ecp_point_read_binary(&key.grp, &p, peer, peer_len) != 0 ||
                         mbedtls_ecp_check_pubkey(&key.grp, &p) != 0)) {
        rc = HSM_ERR_DATA;
    }
    if (rc == HSM_OK) {
        rc = from_mbedtls(mbedtls_ecp_mul(&key.grp, &shared, &key.d, &p, hsm_rng_mbedtls, NULL));
    }
    if (rc == HSM_OK && mbedtls_mpi_write_binary(&shared.X, z, 32) != 0) {
        rc = HSM_ERR_EXEC;
    }
    mbedtls_ecp_point_free(&shared); /* the shared point is secret too: free wipes it */
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_keypair_free(&key);
    return rc;
}
