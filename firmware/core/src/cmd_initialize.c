/*
 * cmd_initialize.c — INITIALIZE DEVICE (50), spec 2.9.
 *
 * Data: BER-TLV in any order, unknown tags ignored: 80 options (2), 81 user PIN (6..16),
 * 82 SO-PIN (8), 91 user retry maximum (1..15, default 3), 92 DKEK shares, 93 PKA keys
 * (total, required), 97 key domains. 81 and 82 are required.
 *
 * A device initialised before must be given its current SO-PIN in 82; it is checked through
 * hsm_pin_check() (a wrong one costs an SO-PIN try; a blocked SO-PIN can never re-initialise).
 * The new state — fresh salt, fresh MKEK wrapped under both PINs — is one device-record write
 * with HSM_STORE_WIPE, so keys and files of the old state disappear in the same atomic step:
 * a power cut leaves either the old device or the new, empty one.
 *
 * Without data (Pico HSM extension) it reports: free store bytes (4, big-endian), 00, version.
 */
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "dkek.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "hsm/version.h"
#include "mbedtls/platform_util.h"
#include "lock.h"
#include "pin.h"
#include "pka.h"

#define OPT_TRANSPORT_PIN 0x0002u

typedef struct {
    const uint8_t *user, *so;
    size_t user_len;
    uint16_t options;
    uint8_t retries, dkek_shares, pka_total, pka_required, key_domains;
} init_params;

static int parse(const hsm_apdu *a, init_params *p)
{
    memset(p, 0, sizeof(*p));
    p->options = 0x0001;
    p->retries = 3;
    p->dkek_shares = 0xFF;
    hsm_tlv_reader r;
    hsm_tlv t;
    int rc;
    hsm_tlv_reader_init(&r, a->data, a->nc);
    while ((rc = hsm_tlv_next(&r, &t)) == 1) {
        switch (t.tag) {
        case 0x80:
            if (t.len != 2) return HSM_ERR_DATA;
            p->options = (uint16_t)((t.value[0] << 8) | t.value[1]);
            break;
        case 0x81:
            if (t.len < HSM_PIN_MIN || t.len > HSM_PIN_MAX) return HSM_ERR_DATA;
            p->user = t.value, p->user_len = t.len;
            break;
        case 0x82:
            if (t.len != HSM_SO_PIN_LEN) return HSM_ERR_DATA;
            p->so = t.value;
            break;
        case 0x91:
            if (t.len != 1 || t.value[0] < 1 || t.value[0] > 15) return HSM_ERR_DATA;
            p->retries = t.value[0];
            break;
        case 0x92:
            if (t.len != 1) return HSM_ERR_DATA;
            p->dkek_shares = t.value[0];
            break;
        case 0x93:
            if (t.len != 2 || t.value[1] > t.value[0] || t.value[0] > HSM_PKA_MAX ||
                (t.value[0] > 0 && t.value[1] == 0)) {
                return HSM_ERR_DATA;
            }
            p->pka_total = t.value[0], p->pka_required = t.value[1];
            break;
        case 0x97:
            if (t.len != 1) return HSM_ERR_DATA;
            p->key_domains = t.value[0];
            break;
        default:
            break;
        }
    }
    if (rc < 0 || p->user == NULL || p->so == NULL) {
        return HSM_ERR_DATA;
    }
    return HSM_OK;
}

static int report(hsm_cmd *c)
{
    hsm_store_stats st;
    hsm_store_get_stats(&st);
    uint32_t free_bytes = st.capacity > st.live_bytes ? st.capacity - st.live_bytes : 0;
    const uint8_t out[7] = {(uint8_t)(free_bytes >> 24), (uint8_t)(free_bytes >> 16),
                            (uint8_t)(free_bytes >> 8), (uint8_t)free_bytes, 0x00,
                            HSM_APP_VERSION_MAJOR, HSM_APP_VERSION_MINOR};
    return hsm_cmd_out(c, out, sizeof(out));
}

int hsm_cmd_initialize(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p1 != 0 || a->p2 != 0) {
        return HSM_ERR_P1P2;
    }
    if (a->nc == 0) {
        return report(c);
    }
    init_params p;
    int rc = parse(a, &p);
    if (rc != HSM_OK) {
        return rc;
    }
    uint8_t mkek[HSM_MKEK_SIZE], old_mkek[HSM_MKEK_SIZE];
    bool reinit = false;
    hsm_device d;
    rc = hsm_device_load(&d);
    if (rc == HSM_OK) {
        /* Re-initialisation: the current SO-PIN is the authorisation. Its MKEK is kept until
         * the device key is re-sealed under the new one (devid.h). While the secure lock is
         * on, only a session holding the host's secret may re-initialise (lock.h); the SO-PIN
         * then yields MKEK xor secret. */
        const bool locked = (d.options & HSM_LOCK_OPTION) != 0;
        uint8_t mask[HSM_LOCK_SECRET_SIZE];
        if (locked && !c->s->lock_mask_set) {
            return HSM_ERR_SECURITY;
        }
        memcpy(mask, c->s->lock_mask, sizeof(mask));
        hsm_session_clear(c->s);
        c->s->app_selected = true;
        rc = hsm_pin_check(&d, HSM_PIN_ROLE_SO, p.so, HSM_SO_PIN_LEN, old_mkek, &c->tries);
        for (size_t i = 0; locked && i < sizeof(old_mkek); i++) {
            old_mkek[i] ^= mask[i];
        }
        mbedtls_platform_zeroize(mask, sizeof(mask));
        if (rc != HSM_OK) {
            mbedtls_platform_zeroize(old_mkek, sizeof(old_mkek));
            return rc;
        }
        reinit = true;
    } else if (rc != HSM_ERR_REF_NOT_FOUND) {
        return rc;
    }

    memset(&d, 0, sizeof(d));
    d.flags = (p.options & OPT_TRANSPORT_PIN) ? HSM_DEV_TRANSPORT_PIN : 0;
    d.options = (uint16_t)(p.options & ~HSM_LOCK_OPTION); /* locking is 3A 02's alone */
    d.user_max = d.user_left = p.retries;
    d.so_left = HSM_SO_PIN_TRIES;
    d.user_len = (uint8_t)p.user_len;
    d.dkek_shares = p.dkek_shares;
    d.pka_total = p.pka_total, d.pka_required = p.pka_required;
    d.key_domains = p.key_domains;
    d.kdf_iterations = HSM_PIN_KDF_ITERATIONS;
    if ((rc = hsm_rng_bytes(d.salt, sizeof(d.salt))) != HSM_OK ||
        (rc = hsm_rng_bytes(mkek, sizeof(mkek))) != HSM_OK) {
        goto out;
    }
    if ((rc = hsm_pin_wrap(&d, HSM_PIN_ROLE_USER, p.user, p.user_len, mkek, d.user_wrap)) != HSM_OK ||
        (rc = hsm_pin_wrap(&d, HSM_PIN_ROLE_SO, p.so, HSM_SO_PIN_LEN, mkek, d.so_wrap)) != HSM_OK) {
        goto out;
    }
    if ((rc = hsm_device_save(&d, true)) != HSM_OK) {
        goto out;
    }
    /* The device key survives (re-sealed) or is created with its self-signed chain. */
    if ((rc = hsm_devid_on_initialize(reinit ? old_mkek : NULL, mkek)) != HSM_OK) {
        goto out;
    }
    /* Shares of the old state are forgotten; 92 = 0 makes a random DKEK, pending until the
     * grant below seals it (dkek.h). */
    if ((rc = hsm_dkek_on_initialize(&d)) != HSM_OK) {
        goto out;
    }
    /* 93: n registrable public keys, m required (pka.h); the slots start empty. */
    if ((rc = hsm_pka_on_initialize(d.pka_total, d.pka_required)) != HSM_OK) {
        goto out;
    }
    /* The new device starts logged in as its user (as Pico HSM does), unless the user PIN is
     * a transport PIN that must be changed first. */
    hsm_session_clear(c->s);
    c->s->app_selected = true;
    if (!(d.flags & HSM_DEV_TRANSPORT_PIN)) {
        rc = hsm_session_grant(c->s, HSM_PIN_ROLE_USER, mkek);
        c->s->pka_ok = true; /* spec 0.4: INITIALIZE authenticates, with or without PKA */
    }
out:
    mbedtls_platform_zeroize(mkek, sizeof(mkek));
    mbedtls_platform_zeroize(old_mkek, sizeof(old_mkek));
    return rc;
}
