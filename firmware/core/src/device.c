/*
 * device.c — (de)serialisation of the device record; layout in device.h.
 */
#include "device.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/store.h"
#include "ids.h"
#include "mbedtls/platform_util.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int hsm_device_load(hsm_device *d)
{
    uint8_t b[HSM_DEVICE_RECORD_SIZE];
    size_t n;
    int rc = hsm_store_read(HSM_ID_DEVICE, 0, b, sizeof(b), &n);
    if (rc == HSM_ERR_NOT_FOUND) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (rc != HSM_OK) {
        return rc;
    }
    if (n != sizeof(b) || b[0] != 1) {
        return HSM_ERR_INTERNAL;
    }
    d->flags = b[1];
    d->options = (uint16_t)((b[2] << 8) | b[3]);
    d->user_max = b[4], d->user_left = b[5], d->so_left = b[6], d->user_len = b[7];
    d->dkek_shares = b[8], d->pka_total = b[9], d->pka_required = b[10], d->key_domains = b[11];
    d->kdf_iterations = get32(b + 12);
    memcpy(d->salt, b + 16, 32);
    memcpy(d->user_wrap, b + 48, HSM_WRAP_SIZE);
    memcpy(d->so_wrap, b + 108, HSM_WRAP_SIZE);
    if (d->user_len < HSM_PIN_MIN || d->user_len > HSM_PIN_MAX || d->kdf_iterations == 0 ||
        d->user_left > d->user_max || d->so_left > HSM_SO_PIN_TRIES) {
        return HSM_ERR_INTERNAL;
    }
    return HSM_OK;
}

int hsm_device_save(const hsm_device *d, bool wipe)
{
    uint8_t b[HSM_DEVICE_RECORD_SIZE];
    b[0] = 1;
    b[1] = d->flags;
    b[2] = (uint8_t)(d->options >> 8), b[3] = (uint8_t)d->options;
    b[4] = d->user_max, b[5] = d->user_left, b[6] = d->so_left, b[7] = d->user_len;
    b[8] = d->dkek_shares, b[9] = d->pka_total, b[10] = d->pka_required, b[11] = d->key_domains;
    put32(b + 12, d->kdf_iterations);
    memcpy(b + 16, d->salt, 32);
    memcpy(b + 48, d->user_wrap, HSM_WRAP_SIZE);
    memcpy(b + 108, d->so_wrap, HSM_WRAP_SIZE);
    int rc = hsm_store_write(HSM_ID_DEVICE, b, sizeof(b), wipe ? HSM_STORE_WIPE : 0);
    mbedtls_platform_zeroize(b, sizeof(b));
    return rc;
}

bool hsm_device_initialised(void)
{
    size_t n;
    return hsm_store_size(HSM_ID_DEVICE, &n) == HSM_OK;
}
