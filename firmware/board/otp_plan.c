/*
 * otp_plan.c — the RP2350 OTP device root's states and decisions; see otp_plan.h.
 */
#include "otp_plan.h"

#include <string.h>

#include "hsm/err.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

uint8_t otp_plan_lock_byte(uint32_t raw24)
{
    uint8_t a = (uint8_t)raw24, b = (uint8_t)(raw24 >> 8), c = (uint8_t)(raw24 >> 16);
    return (uint8_t)((a & b) | (a & c) | (b & c)); /* bitwise 2-of-3 */
}

int otp_plan_check(const uint8_t secret[32], uint16_t check[2])
{
    static const char label[] = "pico-hsm/otp-root/v1";
    uint8_t msg[sizeof(label) - 1 + 32];
    uint8_t h[32];
    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, secret, 32);
    int rc = mbedtls_sha256(msg, sizeof(msg), h, 0) == 0 ? HSM_OK : HSM_ERR_EXEC;
    check[0] = (uint16_t)(h[0] | h[1] << 8);
    check[1] = (uint16_t)(h[2] | h[3] << 8);
    mbedtls_platform_zeroize(msg, sizeof(msg));
    return rc;
}

void otp_plan_secret(const otp_reading *r, uint8_t secret[32])
{
    for (unsigned i = 0; i < OTP_PLAN_SECRET_ROWS; i++) {
        secret[2 * i] = (uint8_t)r->rows[i];
        secret[2 * i + 1] = (uint8_t)(r->rows[i] >> 8);
    }
}

static bool locked_as_wanted(uint8_t lock)
{
    return (lock & 0x30u) == 0x30u && (lock & 0x0Cu) == 0x0Cu && (lock & 0x03u) == 0x01u;
}

otp_state otp_plan_state(const otp_reading *r)
{
    if (r->row_error) {
        return OTP_DAMAGED;
    }
    uint8_t lock = otp_plan_lock_byte(r->lock1);
    bool blank = true;
    for (unsigned i = 0; i < OTP_PLAN_ROWS; i++) {
        blank = blank && r->rows[i] == 0;
    }
    if (blank) {
        /* writable by us (Secure) only while LOCK_S is 0 */
        return (lock & 0x03u) == 0 ? OTP_BLANK : OTP_LOCKED_OUT;
    }
    if (r->rows[OTP_PLAN_ROW_MARKER - OTP_PLAN_ROW_SECRET] != OTP_PLAN_MARKER) {
        return OTP_DAMAGED;
    }
    uint8_t secret[32];
    uint16_t check[2];
    otp_plan_secret(r, secret);
    bool zero = true;
    for (unsigned i = 0; i < 32; i++) {
        zero = zero && secret[i] == 0;
    }
    int rc = otp_plan_check(secret, check);
    mbedtls_platform_zeroize(secret, sizeof(secret));
    const uint16_t *stored = &r->rows[OTP_PLAN_ROW_CHECK - OTP_PLAN_ROW_SECRET];
    if (rc != HSM_OK || zero || check[0] != stored[0] || check[1] != stored[1]) {
        return OTP_DAMAGED;
    }
    if (locked_as_wanted(lock)) {
        return OTP_READY;
    }
    /* Secure write still possible (S 0) and not stricter than wanted anywhere: finish it */
    return (lock & 0x03u) <= 0x01u ? OTP_UNLOCKED : OTP_DAMAGED;
}

otp_action otp_plan_boot(otp_state s)
{
    switch (s) {
    case OTP_READY:
        return OTP_ACT_USE;
    case OTP_UNLOCKED:
        return OTP_ACT_LOCK_USE;
    default:
        return OTP_ACT_NONE;
    }
}

int otp_plan_provision(otp_state s, bool so_pin_verified, otp_action *act)
{
    *act = OTP_ACT_NONE;
    if (!so_pin_verified) {
        return HSM_ERR_SECURITY;
    }
    switch (s) {
    case OTP_BLANK:
        *act = OTP_ACT_PROVISION;
        return HSM_OK;
    case OTP_READY:
    case OTP_UNLOCKED:
        return HSM_ERR_CONDITIONS;
    default:
        return HSM_ERR_NOT_ALLOWED;
    }
}

int otp_plan_rows(const uint8_t secret[32], uint16_t rows[OTP_PLAN_ROWS])
{
    for (unsigned i = 0; i < OTP_PLAN_SECRET_ROWS; i++) {
        rows[i] = (uint16_t)(secret[2 * i] | secret[2 * i + 1] << 8);
    }
    rows[OTP_PLAN_ROW_MARKER - OTP_PLAN_ROW_SECRET] = OTP_PLAN_MARKER;
    return otp_plan_check(secret, &rows[OTP_PLAN_ROW_CHECK - OTP_PLAN_ROW_SECRET]);
}

uint32_t otp_plan_lock_value(uint32_t current_raw24)
{
    uint32_t b = OTP_PLAN_LOCK1_WANTED;
    return (current_raw24 | b | b << 8 | b << 16) & 0xFFFFFFu;
}
