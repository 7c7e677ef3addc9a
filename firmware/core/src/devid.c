/*
 * devid.c — the device identity; the formats, the serial scheme and the current limitation
 * (ephemeral key) are stated in devid.h.
 *
 * State (this file only): `devkey` holds the private key from init for the program's life;
 * `ready` is set only after every part was built, and a failure frees the key and leaves
 * `ready` clear. The two *_obtain() functions are the only places that change when the key is
 * persisted and the certificate comes from the user's CA.
 */
#include "hsm/devid.h"

#include <stdbool.h>
#include <string.h>

#include "hsm/cvc.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/rng.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/sha256.h"

static const char serial_prefix[] = "ZZP";
static const char sequence[] = "00001";
static const uint8_t date_effective[6] = {2, 6, 0, 1, 0, 1}; /* 2026-01-01 */
static const uint8_t date_expiry[6] = {9, 9, 1, 2, 3, 1};    /* 2099-12-31 */

static mbedtls_ecp_keypair devkey;
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

/* Today: a fresh secp256r1 key in RAM. Later: key CC00 from the store, created on first boot. */
static int devkey_obtain(mbedtls_ecp_keypair *key)
{
    int ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, key, hsm_rng_mbedtls, NULL);
    if (ret == MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED || ret == MBEDTLS_ERR_ECP_RANDOM_FAILED) {
        return HSM_ERR_ENTROPY;
    }
    return ret == 0 ? HSM_OK : HSM_ERR_EXEC;
}

/* Today: self-signed (CAR = CHR). Later: the chain the user's CA issued, from EF 2F02. */
static int c_devaut_obtain(const mbedtls_ecp_keypair *key, uint8_t *out, size_t cap,
                           size_t *len)
{
    return hsm_cvc_build_self_signed(key, chr, chr, date_effective, date_expiry, out, cap, len);
}

int hsm_devid_init(void)
{
    uint8_t uid[8];
    int rc;

    if (ready) {
        return HSM_OK;
    }
    mbedtls_ecp_keypair_init(&devkey);
    hsm_port_unique_id(uid);
    if ((rc = hsm_devid_serial_from_uid(uid, serial)) != HSM_OK) {
        goto exit;
    }
    memcpy(chr, serial, HSM_DEVID_SERIAL_LEN);
    memcpy(chr + HSM_DEVID_SERIAL_LEN, sequence, sizeof(sequence)); /* with the NUL */
    if ((rc = devkey_obtain(&devkey)) != HSM_OK ||
        (rc = c_devaut_obtain(&devkey, c_devaut, sizeof(c_devaut), &c_devaut_len)) != HSM_OK) {
        goto exit;
    }
    ready = true;

exit:
    if (rc != HSM_OK) {
        mbedtls_ecp_keypair_free(&devkey); /* wipes the private scalar */
        c_devaut_len = 0;
    }
    return rc;
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

int hsm_devid_sign(const uint8_t *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    if (!ready) {
        return HSM_ERR_INTERNAL;
    }
    return hsm_cvc_sign_ecdsa_sha256(&devkey, msg, len, sig, cap, sig_len);
}
