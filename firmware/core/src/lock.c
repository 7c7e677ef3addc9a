/*
 * lock.c — secure lock; see lock.h for the scheme. The agreement (K and the host point) is the
 * only state of this file: RAM, one command at a time, wiped when used.
 */
#include "lock.h"

#include <string.h>

#include "device.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "ids.h"
#include "mbedtls/chachapoly.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "pin.h"

static struct {
    bool agreed;
    uint8_t host_pub[HSM_LOCK_POINT_SIZE];
    uint8_t k[44]; /* nonce 12 | key 32 */
} agreement;

static void forget_agreement(void)
{
    mbedtls_platform_zeroize(&agreement, sizeof(agreement));
}

bool hsm_lock_active(void)
{
    hsm_device d;
    return hsm_device_load(&d) == HSM_OK && (d.options & HSM_LOCK_OPTION) != 0;
}

static void xor32(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    for (size_t i = 0; i < 32; i++) {
        out[i] = a[i] ^ b[i];
    }
}

int hsm_lock_open_keys(hsm_session *s, const uint8_t w[32])
{
    uint8_t m[32];
    int rc = HSM_OK;
    if (!hsm_lock_active()) {
        rc = hsm_session_open_keys(s, w);
    } else if (s->lock_mask_set) {
        xor32(m, w, s->lock_mask);
        rc = hsm_session_open_keys(s, m);
    } else {
        mbedtls_platform_zeroize(s->objkey, sizeof(s->objkey));
        s->keys_open = false; /* the PIN was right, but the keys need the host's secret */
    }
    mbedtls_platform_zeroize(m, sizeof(m));
    if (rc == HSM_OK) {
        memcpy(s->mkek, w, 32);
        s->mkek_held = true;
    }
    return rc;
}

int hsm_lock_agree(const uint8_t *host_pub, size_t len, uint8_t dev_pub[HSM_LOCK_POINT_SIZE])
{
    mbedtls_ecp_group grp;
    mbedtls_mpi d, z;
    mbedtls_ecp_point q, peer;
    uint8_t zb[32];
    size_t olen = 0;
    int rc = HSM_OK;

    forget_agreement();
    if (len != HSM_LOCK_POINT_SIZE || host_pub[0] != 0x04) {
        return HSM_ERR_WRONG_LENGTH;
    }
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&peer);
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0) {
        rc = HSM_ERR_EXEC;
        goto out;
    }
    if (mbedtls_ecp_point_read_binary(&grp, &peer, host_pub, len) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &peer) != 0) {
        rc = HSM_ERR_WRONG_LENGTH; /* spec 3.8: an invalid point is 6700 */
        goto out;
    }
    if (mbedtls_ecdh_gen_public(&grp, &d, &q, hsm_rng_mbedtls, NULL) != 0 ||
        mbedtls_ecdh_compute_shared(&grp, &z, &peer, &d, hsm_rng_mbedtls, NULL) != 0 ||
        mbedtls_mpi_write_binary(&z, zb, sizeof(zb)) != 0 ||
        mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, dev_pub,
                                       HSM_LOCK_POINT_SIZE) != 0 ||
        olen != HSM_LOCK_POINT_SIZE ||
        mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), NULL, 0, zb, sizeof(zb),
                     host_pub, len, agreement.k, sizeof(agreement.k)) != 0) {
        rc = HSM_ERR_EXEC;
        goto out;
    }
    memcpy(agreement.host_pub, host_pub, len);
    agreement.agreed = true;
out:
    if (rc != HSM_OK) {
        forget_agreement();
    }
    mbedtls_platform_zeroize(zb, sizeof(zb));
    mbedtls_mpi_free(&d);
    mbedtls_mpi_free(&z);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_point_free(&peer);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

int hsm_lock_open_envelope(const uint8_t *env, size_t len, uint8_t secret[HSM_LOCK_SECRET_SIZE])
{
    if (!agreement.agreed) {
        return HSM_ERR_NOT_ALLOWED;
    }
    if (len != HSM_LOCK_ENVELOPE_SIZE) {
        forget_agreement();
        return HSM_ERR_WRONG_LENGTH;
    }
    mbedtls_chachapoly_context ctx;
    mbedtls_chachapoly_init(&ctx);
    int rc = HSM_OK;
    if (mbedtls_chachapoly_setkey(&ctx, agreement.k + 12) != 0) {
        rc = HSM_ERR_EXEC;
    } else if (mbedtls_chachapoly_auth_decrypt(&ctx, HSM_LOCK_SECRET_SIZE, agreement.k,
                                               agreement.host_pub, HSM_LOCK_POINT_SIZE,
                                               env + HSM_LOCK_SECRET_SIZE, env, secret) != 0) {
        rc = HSM_ERR_WRONG_LENGTH; /* spec 3.8: an envelope that does not authenticate */
    }
    mbedtls_chachapoly_free(&ctx);
    forget_agreement();
    if (rc != HSM_OK) {
        mbedtls_platform_zeroize(secret, HSM_LOCK_SECRET_SIZE);
    }
    return rc;
}

static int check_value(const uint8_t secret[HSM_LOCK_SECRET_SIZE], uint8_t out[32])
{
    static const char label[] = "pico-hsm/lock/v1";
    uint8_t uid[8];
    hsm_port_unique_id(uid);
    mbedtls_sha256_context h;
    mbedtls_sha256_init(&h);
    int rc = mbedtls_sha256_starts(&h, 0) != 0 ||
                     mbedtls_sha256_update(&h, (const uint8_t *)label, sizeof(label) - 1) != 0 ||
                     mbedtls_sha256_update(&h, uid, sizeof(uid)) != 0 ||
                     mbedtls_sha256_update(&h, secret, HSM_LOCK_SECRET_SIZE) != 0 ||
                     mbedtls_sha256_finish(&h, out) != 0
                 ? HSM_ERR_EXEC
                 : HSM_OK;
    mbedtls_sha256_free(&h);
    return rc;
}

/* HSM_OK when secret is the one the lock was enabled with. */
static int check_secret(const uint8_t secret[HSM_LOCK_SECRET_SIZE])
{
    uint8_t want[32], got[32];
    size_t len = 0;
    int rc = hsm_store_read(HSM_ID_LOCK_CHECK, 0, want, sizeof(want), &len);
    if (rc == HSM_OK && len != sizeof(want)) {
        rc = HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) {
        rc = check_value(secret, got);
    }
    if (rc == HSM_OK && mbedtls_ct_memcmp(want, got, sizeof(got)) != 0) {
        rc = HSM_ERR_SECURITY;
    }
    mbedtls_platform_zeroize(got, sizeof(got));
    return rc;
}

/* Both PIN wraps of d := w, with the KEKs this session's VERIFYs kept. */
static int rewrap(const hsm_session *s, hsm_device *d, const uint8_t w[32])
{
    int rc = hsm_pin_wrap_kek(HSM_PIN_ROLE_USER, s->kek_user, w, d->user_wrap);
    if (rc == HSM_OK) {
        rc = hsm_pin_wrap_kek(HSM_PIN_ROLE_SO, s->kek_so, w, d->so_wrap);
    }
    return rc;
}

static bool can_rewrap(const hsm_session *s)
{
    return s->mkek_held && s->user_verified && s->kek_user_set && s->kek_so_set;
}

int hsm_lock_enable(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE])
{
    hsm_device d;
    uint8_t w[32], c[32];
    int rc = hsm_device_load(&d);
    if (rc != HSM_OK || (d.options & HSM_LOCK_OPTION)) {
        return rc; /* already locked: no effect */
    }
    if (!can_rewrap(s) || !s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    xor32(w, s->mkek, secret); /* unlocked: s->mkek is M */
    if ((rc = rewrap(s, &d, w)) != HSM_OK || (rc = check_value(secret, c)) != HSM_OK ||
        (rc = hsm_store_write(HSM_ID_LOCK_CHECK, c, sizeof(c), 0)) != HSM_OK) {
        goto out;
    }
    d.options |= HSM_LOCK_OPTION;
    if ((rc = hsm_device_save(&d, false)) != HSM_OK) {
        goto out;
    }
    memcpy(s->mkek, w, 32);
    memcpy(s->lock_mask, secret, HSM_LOCK_SECRET_SIZE);
    s->lock_mask_set = true;
out:
    mbedtls_platform_zeroize(w, sizeof(w));
    mbedtls_platform_zeroize(&d, sizeof(d));
    return rc;
}

int hsm_lock_unlock(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE])
{
    if (!hsm_lock_active()) {
        return HSM_OK; /* no effect */
    }
    int rc = check_secret(secret);
    if (rc != HSM_OK) {
        return rc;
    }
    memcpy(s->lock_mask, secret, HSM_LOCK_SECRET_SIZE);
    s->lock_mask_set = true;
    if (s->mkek_held) {
        uint8_t w[32];
        memcpy(w, s->mkek, 32);
        rc = hsm_lock_open_keys(s, w);
        mbedtls_platform_zeroize(w, sizeof(w));
    }
    return rc;
}

int hsm_lock_disable(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE])
{
    hsm_device d;
    uint8_t m[32];
    int rc = hsm_device_load(&d);
    if (rc != HSM_OK || !(d.options & HSM_LOCK_OPTION)) {
        return rc; /* not locked: no effect */
    }
    if ((rc = check_secret(secret)) != HSM_OK) {
        return rc;
    }
    if (!can_rewrap(s)) {
        return HSM_ERR_SECURITY;
    }
    xor32(m, s->mkek, secret);
    if ((rc = rewrap(s, &d, m)) != HSM_OK) {
        goto out;
    }
    d.options &= (uint16_t)~HSM_LOCK_OPTION;
    if ((rc = hsm_device_save(&d, false)) != HSM_OK) {
        goto out;
    }
    (void)hsm_store_delete(HSM_ID_LOCK_CHECK); /* stale once unlocked; INITIALIZE wipes it too */
    mbedtls_platform_zeroize(s->lock_mask, sizeof(s->lock_mask));
    s->lock_mask_set = false;
    rc = hsm_lock_open_keys(s, m);
out:
    mbedtls_platform_zeroize(m, sizeof(m));
    mbedtls_platform_zeroize(&d, sizeof(d));
    return rc;
}
