/*
 * otp_rp2350.c — port/otp.h on the RP2350: the device root in OTP page 60. Layout, states,
 * decisions and the write order are in firmware/board/otp_plan.h; this file only reads and
 * programs rows through the boot ROM's otp_access function.
 *
 * Core 1 only (the card): rp2_otp_boot() before hsm_card_init(), the port functions from
 * command handlers. State: `root` holds the secret in RAM from boot (or provisioning) to the
 * next reset; once it is there the page is also soft-locked (SW_LOCK60: no Secure or
 * Non-secure access until the next reset), so code that runs later — a bug, or anything an
 * attacker gets to execute without resetting the chip — cannot read the fuses again.
 */
#include <string.h>

#include "hardware/structs/otp.h"
#include "mbedtls/platform_util.h"
#include "pico/bootrom.h"

#include "hsm/err.h"
#include "hsm/port/otp.h"
#include "hsm/rng.h"
#include "otp_plan.h"
#include "rp2.h"

static uint8_t root[HSM_OTP_ROOT_SIZE];
static bool have_root;
static otp_state state = OTP_DAMAGED; /* until rp2_otp_boot() read the page */

static int otp_io(uint32_t row, bool write, bool ecc, void *buf, uint32_t len) {
    otp_cmd_t cmd = {.flags = (row & OTP_CMD_ROW_BITS) | (write ? OTP_CMD_WRITE_BITS : 0u) |
                              (ecc ? OTP_CMD_ECC_BITS : 0u)};
    return rom_func_otp_access((uint8_t *)buf, len, cmd) == BOOTROM_OK ? HSM_OK : HSM_ERR_FLASH;
}

static void read_page(otp_reading *r) {
    uint32_t lock = 0;
    memset(r, 0, sizeof *r);
    r->row_error = otp_io(OTP_PLAN_ROW_SECRET, false, true, r->rows, sizeof r->rows) != HSM_OK;
    if (otp_io(OTP_PLAN_LOCK1_ROW, false, false, &lock, sizeof lock) != HSM_OK)
        r->row_error = true;
    r->lock1 = lock & 0xFFFFFFu;
}

static int write_lock(uint32_t current) {
    uint32_t v = otp_plan_lock_value(current);
    return otp_io(OTP_PLAN_LOCK1_ROW, true, false, &v, sizeof v);
}

/* Keeps the secret of reading r in RAM and closes the page until the next reset. */
static void take_root(const otp_reading *r) {
    otp_plan_secret(r, root);
    have_root = true;
    otp_hw->sw_lock[OTP_PLAN_PAGE] =
        (OTP_SW_LOCK0_NSEC_VALUE_INACCESSIBLE << OTP_SW_LOCK0_NSEC_LSB) |
        (OTP_SW_LOCK0_SEC_VALUE_INACCESSIBLE << OTP_SW_LOCK0_SEC_LSB);
}

void rp2_otp_boot(void) {
    otp_reading r;
    read_page(&r);
    state = otp_plan_state(&r);
    switch (otp_plan_boot(state)) {
    case OTP_ACT_LOCK_USE:
        if (write_lock(r.lock1) != HSM_OK)
            break; /* stays UNLOCKED: no root this boot, retried at the next */
        state = OTP_READY;
        take_root(&r);
        break;
    case OTP_ACT_USE:
        take_root(&r);
        break;
    default:
        break;
    }
    mbedtls_platform_zeroize(&r, sizeof r);
}

hsm_otp_status hsm_port_otp_status(void) {
    if (have_root)
        return HSM_OTP_READY;
    switch (state) {
    case OTP_BLANK:
        return HSM_OTP_BLANK;
    case OTP_READY: /* written and locked, but not read at this boot */
    case OTP_UNLOCKED:
        return HSM_OTP_PENDING;
    default:
        return HSM_OTP_DAMAGED;
    }
}

int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE]) {
    if (!have_root) {
        memset(out, 0, HSM_OTP_ROOT_SIZE);
        return HSM_ERR_NOT_FOUND;
    }
    memcpy(out, root, HSM_OTP_ROOT_SIZE);
    return HSM_OK;
}

int hsm_port_otp_provision(bool so_pin_verified) {
    otp_action act;
    int rc = otp_plan_provision(state, so_pin_verified, &act);
    if (rc != HSM_OK || act != OTP_ACT_PROVISION)
        return rc;

    uint8_t secret[HSM_OTP_ROOT_SIZE];
    uint16_t rows[OTP_PLAN_ROWS];
    otp_reading back;
    rc = hsm_rng_bytes(secret, sizeof secret);
    if (rc == HSM_OK)
        rc = otp_plan_rows(secret, rows);
    if (rc != HSM_OK)
        goto out;
    /* From the first write on, the page is no longer BLANK whatever happens next. */
    state = OTP_DAMAGED;
    /* 1. the secret, then read it back */
    rc = otp_io(OTP_PLAN_ROW_SECRET, true, true, rows, 2 * OTP_PLAN_SECRET_ROWS);
    if (rc == HSM_OK)
        rc = otp_io(OTP_PLAN_ROW_SECRET, false, true, back.rows, 2 * OTP_PLAN_SECRET_ROWS);
    if (rc == HSM_OK && memcmp(back.rows, rows, 2 * OTP_PLAN_SECRET_ROWS) != 0)
        rc = HSM_ERR_FLASH;
    /* 2. the check, 3. the marker (the commit point), 4. the lock */
    if (rc == HSM_OK)
        rc = otp_io(OTP_PLAN_ROW_CHECK, true, true, &rows[OTP_PLAN_ROW_CHECK - OTP_PLAN_ROW_SECRET], 4);
    if (rc == HSM_OK)
        rc = otp_io(OTP_PLAN_ROW_MARKER, true, true, &rows[OTP_PLAN_ROW_MARKER - OTP_PLAN_ROW_SECRET], 2);
    if (rc != HSM_OK)
        goto out;
    read_page(&back);
    state = otp_plan_state(&back);
    if (state != OTP_UNLOCKED) {
        rc = HSM_ERR_FLASH;
        goto out;
    }
    rc = write_lock(back.lock1);
    if (rc != HSM_OK)
        goto out; /* UNLOCKED: the next boot finishes the lock */
    state = OTP_READY;
    take_root(&back);

out:
    mbedtls_platform_zeroize(secret, sizeof secret);
    mbedtls_platform_zeroize(rows, sizeof rows);
    mbedtls_platform_zeroize(&back, sizeof back);
    return rc;
}
