/*
 * dkek.c — DKEK shares, sealed DKEK records and the key-domain table; see dkek.h for what
 * persists where and the power-loss behaviour.
 *
 * RAM state (`ram`, owned here): per domain the XOR accumulator, the number of shares imported
 * since the last INITIALIZE / clear, and whether the accumulator is a complete DKEK waiting to
 * be sealed (then `kcv` holds its KCV). A domain's accumulator is wiped as soon as its DKEK is
 * stored. Every local copy of a DKEK is wiped before the function returns.
 */
#include "dkek.h"

#include <stdbool.h>
#include <string.h>

#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "ids.h"
#include "keys.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "secret.h"

#define RECORD_SIZE (HSM_DKEK_KCV_SIZE + HSM_DKEK_SIZE + HSM_SEALED_OVERHEAD)

static struct {
    uint8_t acc[HSM_DKEK_DOMAINS][HSM_DKEK_SIZE];
    uint8_t kcv[HSM_DKEK_DOMAINS][HSM_DKEK_KCV_SIZE];
    uint8_t imported[HSM_DKEK_DOMAINS];
    bool pending[HSM_DKEK_DOMAINS];
} ram;

static uint16_t record_id(uint8_t domain)
{
    return (uint16_t)(HSM_ID_DKEK_FIRST + domain);
}

static void ram_forget(uint8_t d)
{
    mbedtls_platform_zeroize(ram.acc[d], sizeof(ram.acc[d]));
    mbedtls_platform_zeroize(ram.kcv[d], sizeof(ram.kcv[d]));
    ram.imported[d] = 0;
    ram.pending[d] = false;
}

void hsm_dkek_forget_ram(void)
{
    for (uint8_t d = 0; d < HSM_DKEK_DOMAINS; d++) {
        ram_forget(d);
    }
}

static void kcv_of(const uint8_t dkek[32], uint8_t kcv[8])
{
    uint8_t h[32];
    mbedtls_sha256(dkek, HSM_DKEK_SIZE, h, 0);
    memcpy(kcv, h, HSM_DKEK_KCV_SIZE);
    mbedtls_platform_zeroize(h, sizeof(h));
}

/* ---- the domain table ------------------------------------------------------------------ */

static int table_load(uint8_t tbl[HSM_DKEK_DOMAINS], size_t *n)
{
    int rc = hsm_store_read(HSM_ID_KEY_DOMAINS, 0, tbl, HSM_DKEK_DOMAINS, n);
    if (rc != HSM_ERR_NOT_FOUND) {
        return rc == HSM_OK && *n == 0 ? HSM_ERR_INTERNAL : rc;
    }
    hsm_device dev;
    if ((rc = hsm_device_load(&dev)) != HSM_OK) {
        return rc;
    }
    if (dev.key_domains > 0) {
        *n = dev.key_domains < HSM_DKEK_DOMAINS ? dev.key_domains : HSM_DKEK_DOMAINS;
        memset(tbl, HSM_DKEK_NOT_CREATED, *n);
    } else {
        *n = 1;
        tbl[0] = dev.dkek_shares == 0xFF ? 0 : dev.dkek_shares == 0 ? 1 : dev.dkek_shares;
    }
    return HSM_OK;
}

/* The domain's total shares; the errors of hsm_dkek_status(). */
static int domain_total(uint8_t domain, uint8_t *total, uint8_t tbl[HSM_DKEK_DOMAINS], size_t *n)
{
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_WRONG_P1P2;
    }
    int rc = table_load(tbl, n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (domain >= *n) {
        return HSM_ERR_P1P2;
    }
    *total = tbl[domain];
    return HSM_OK;
}

static bool stored(uint8_t domain, uint8_t kcv[8])
{
    size_t n;
    return hsm_store_read(record_id(domain), 0, kcv, HSM_DKEK_KCV_SIZE, &n) == HSM_OK &&
           n == HSM_DKEK_KCV_SIZE;
}

/* ---- sealing ---------------------------------------------------------------------------- */

static int seal_store(const hsm_session *s, uint8_t d)
{
    uint8_t rec[RECORD_SIZE];
    size_t n;
    memcpy(rec, ram.kcv[d], HSM_DKEK_KCV_SIZE);
    int rc = hsm_secret_seal(s, record_id(d), ram.acc[d], HSM_DKEK_SIZE, rec + HSM_DKEK_KCV_SIZE,
                             sizeof(rec) - HSM_DKEK_KCV_SIZE, &n);
    if (rc == HSM_OK) {
        rc = hsm_store_write(record_id(d), rec, HSM_DKEK_KCV_SIZE + n, 0);
    }
    if (rc == HSM_OK) {
        ram_forget(d);
    }
    mbedtls_platform_zeroize(rec, sizeof(rec));
    return rc;
}

int hsm_dkek_flush(const hsm_session *s)
{
    int rc = HSM_OK;
    if (!s->keys_open) {
        return HSM_OK;
    }
    for (uint8_t d = 0; d < HSM_DKEK_DOMAINS; d++) {
        if (ram.pending[d]) {
            int r = seal_store(s, d);
            rc = rc == HSM_OK ? r : rc;
        }
    }
    return rc;
}

int hsm_dkek_on_initialize(const hsm_device *d)
{
    for (uint8_t i = 0; i < HSM_DKEK_DOMAINS; i++) {
        ram_forget(i);
    }
    if (d == NULL || d->key_domains != 0 || d->dkek_shares != 0) {
        return HSM_OK;
    }
    /* 92 = 0: a random DKEK nobody knows; blobs re-import only into this device. */
    int rc = hsm_rng_bytes(ram.acc[0], HSM_DKEK_SIZE);
    if (rc != HSM_OK) {
        ram_forget(0);
        return rc;
    }
    kcv_of(ram.acc[0], ram.kcv[0]);
    ram.imported[0] = 1;
    ram.pending[0] = true;
    return HSM_OK;
}

/* ---- status and import ------------------------------------------------------------------ */

int hsm_dkek_status(const hsm_session *s, uint8_t domain, uint8_t out[HSM_DKEK_STATUS_SIZE])
{
    uint8_t tbl[HSM_DKEK_DOMAINS], total;
    size_t n;
    (void)hsm_dkek_flush(s);
    int rc = domain_total(domain, &total, tbl, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total == HSM_DKEK_NOT_CREATED) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    memset(out, 0, HSM_DKEK_STATUS_SIZE);
    out[0] = total;
    if (stored(domain, out + 2)) {
        out[1] = 0;
    } else if (ram.pending[domain]) {
        memcpy(out + 2, ram.kcv[domain], HSM_DKEK_KCV_SIZE);
    } else {
        out[1] = (uint8_t)(total > ram.imported[domain] ? total - ram.imported[domain] : 0);
    }
    return HSM_OK;
}

int hsm_dkek_import_share(const hsm_session *s, uint8_t domain, const uint8_t share[32])
{
    uint8_t tbl[HSM_DKEK_DOMAINS], total, kcv[8];
    size_t n;
    int rc = domain_total(domain, &total, tbl, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total == 0 || total == HSM_DKEK_NOT_CREATED || ram.pending[domain] ||
        ram.imported[domain] >= total || stored(domain, kcv)) {
        return HSM_ERR_NOT_ALLOWED;
    }
    for (size_t i = 0; i < HSM_DKEK_SIZE; i++) {
        ram.acc[domain][i] ^= share[i];
    }
    if (++ram.imported[domain] == total) {
        kcv_of(ram.acc[domain], ram.kcv[domain]);
        ram.pending[domain] = true;
        (void)hsm_dkek_flush(s); /* stays pending if the keys are not open */
    }
    return HSM_OK;
}

/* ---- key domains ------------------------------------------------------------------------ */

static int forget_dkek(uint8_t domain)
{
    ram_forget(domain);
    int rc = hsm_store_delete(record_id(domain));
    return rc == HSM_ERR_NOT_FOUND ? HSM_OK : rc;
}

int hsm_dkek_create_domain(uint8_t domain, uint8_t shares)
{
    uint8_t tbl[HSM_DKEK_DOMAINS], total;
    size_t n;
    int rc = domain_total(domain, &total, tbl, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total != HSM_DKEK_NOT_CREATED || shares == HSM_DKEK_NOT_CREATED) {
        return HSM_ERR_P1P2;
    }
    if ((rc = forget_dkek(domain)) != HSM_OK) {
        return rc;
    }
    tbl[domain] = shares;
    return hsm_store_write(HSM_ID_KEY_DOMAINS, tbl, n, 0);
}

int hsm_dkek_delete_domain(const hsm_session *s, uint8_t domain)
{
    uint8_t tbl[HSM_DKEK_DOMAINS], total;
    size_t n;
    bool used;
    int rc = domain_total(domain, &total, tbl, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total == HSM_DKEK_NOT_CREATED) {
        return HSM_ERR_P1P2;
    }
    if ((rc = hsm_key_domain_in_use(s, domain, &used)) != HSM_OK) {
        return rc;
    }
    if (used) {
        return HSM_ERR_EXISTS;
    }
    /* DKEK first: a cut between the two leaves a domain without DKEK, never a stale DKEK. */
    if ((rc = forget_dkek(domain)) != HSM_OK) {
        return rc;
    }
    tbl[domain] = HSM_DKEK_NOT_CREATED;
    return hsm_store_write(HSM_ID_KEY_DOMAINS, tbl, n, 0);
}

int hsm_dkek_clear(const hsm_session *s, uint8_t domain)
{
    uint8_t tbl[HSM_DKEK_DOMAINS], total;
    size_t n;
    (void)s;
    int rc = domain_total(domain, &total, tbl, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (total == HSM_DKEK_NOT_CREATED) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    return forget_dkek(domain);
}

/* ---- the keys of a blob ----------------------------------------------------------------- */

int hsm_dkek_expose_keys(const hsm_session *s, uint8_t domain, uint8_t kcv[8], uint8_t kenc[32],
                         uint8_t kmac[32])
{
    uint8_t rec[RECORD_SIZE], buf[HSM_DKEK_SIZE + 4];
    size_t n, pn;
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    (void)hsm_dkek_flush(s);
    int rc = hsm_store_read(record_id(domain), 0, rec, sizeof(rec), &n);
    if (rc == HSM_ERR_NOT_FOUND) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (rc == HSM_OK && n < HSM_DKEK_KCV_SIZE) {
        rc = HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) {
        rc = hsm_secret_expose(s, record_id(domain), rec + HSM_DKEK_KCV_SIZE, n - HSM_DKEK_KCV_SIZE,
                               buf, HSM_DKEK_SIZE, &pn);
    }
    if (rc == HSM_OK && pn != HSM_DKEK_SIZE) {
        rc = HSM_ERR_INTERNAL;
    }
    if (rc == HSM_OK) {
        memcpy(kcv, rec, HSM_DKEK_KCV_SIZE);
        buf[32] = 0, buf[33] = 0, buf[34] = 0, buf[35] = 1;
        mbedtls_sha256(buf, sizeof(buf), kenc, 0);
        buf[35] = 2;
        mbedtls_sha256(buf, sizeof(buf), kmac, 0);
    }
    mbedtls_platform_zeroize(buf, sizeof(buf));
    mbedtls_platform_zeroize(rec, sizeof(rec));
    return rc;
}

int hsm_dkek_find_kcv(const hsm_session *s, const uint8_t kcv[8], uint8_t *domain)
{
    bool any = false;
    (void)hsm_dkek_flush(s);
    for (uint8_t d = 0; d < HSM_DKEK_DOMAINS; d++) {
        uint8_t k[HSM_DKEK_KCV_SIZE];
        if (!stored(d, k)) {
            continue;
        }
        any = true;
        if (memcmp(k, kcv, HSM_DKEK_KCV_SIZE) == 0) { /* the KCV is public: no timing concern */
            *domain = d;
            return HSM_OK;
        }
    }
    return any ? HSM_ERR_DATA : HSM_ERR_REF_NOT_FOUND;
}

/* ---- XKEK (extensions spec 4.3): the DKEK that comes from a key agreement ----------------- */

int hsm_dkek_table_total(uint8_t domain, uint8_t *total)
{
    uint8_t tbl[HSM_DKEK_DOMAINS];
    size_t n;
    return domain_total(domain, total, tbl, &n);
}

int hsm_dkek_stored_kcv(uint8_t domain, uint8_t kcv[8])
{
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    return stored(domain, kcv) ? HSM_OK : HSM_ERR_NOT_FOUND;
}

int hsm_dkek_forget(uint8_t domain)
{
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    return forget_dkek(domain);
}

int hsm_dkek_store(const hsm_session *s, uint8_t domain, const uint8_t dkek[32])
{
    if (domain >= HSM_DKEK_DOMAINS) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (!s->keys_open) {
        return HSM_ERR_SECURITY;
    }
    ram_forget(domain);
    memcpy(ram.acc[domain], dkek, HSM_DKEK_SIZE);
    kcv_of(ram.acc[domain], ram.kcv[domain]);
    int rc = seal_store(s, domain); /* wipes the RAM copy when stored */
    ram_forget(domain);
    return rc;
}
